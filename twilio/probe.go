package twilio

import (
	"context"
	"fmt"
	"time"
)

// What a first contact with the API needs beyond FetchRecords: the token
// endpoint's answer, and single pages sent exactly as asked.

// TokenInfo is what the token endpoint answered, without the token itself.
type TokenInfo struct {
	// Type is the token type, e.g. "Bearer".
	Type string
	// Expiry is when the token expires; zero when the endpoint did not say.
	Expiry time.Time
	// Scope is the granted scope, when the endpoint returned one.
	Scope string
}

// CheckToken gets a token (the cached one while it is valid) and reports the
// token endpoint's answer. Its errors are those of a fetch: an *AuthError
// when the credentials are refused.
func (c *Client) CheckToken(ctx context.Context) (TokenInfo, error) {
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("twilio: get OAuth token: %w", err)
	}
	info := TokenInfo{Type: tok.Type(), Expiry: tok.Expiry}
	if s, ok := tok.Extra("scope").(string); ok {
		info.Scope = s
	}
	return info, nil
}

// PageOptions say how FetchPage sends its request.
type PageOptions struct {
	// Encoding is where the parameters travel; the client's (learnt) one
	// when empty.
	Encoding Encoding
	// TokenParam carries Token; the client's when empty.
	TokenParam string
	// Token is the page token of a continuation; empty for a first page.
	Token string
	// Continuation says how a continuation is sent; the zero value is the
	// client's default, not what it has learnt.
	Continuation Continuation
}

// Page is one decoded Records page.
type Page struct {
	AsOf      time.Time
	Records   []Record
	NextToken string
}

// FetchPage fetches one page of billing group id's records, with the
// client's retries but sent exactly as o says: no detection, no resending
// of a refused continuation. An answer the API refused is an *APIError.
// Errors show id masked (MaskBillingGroupID).
func (c *Client) FetchPage(ctx context.Context, id string, q Query, o PageOptions) (*Page, error) {
	p, err := c.fetchOnePage(ctx, id, q, o)
	return p, maskID(err, id)
}

func (c *Client) fetchOnePage(ctx context.Context, id string, q Query, o PageOptions) (*Page, error) {
	q, err := c.prepare(id, q)
	if err != nil {
		return nil, err
	}
	if o.Encoding == "" || o.Encoding == EncodingAuto {
		enc, err := c.requestEncoding(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("twilio: records for %s: %w", id, err)
		}
		o.Encoding = enc
	}
	if o.TokenParam == "" {
		o.TokenParam = c.tokenParam
	}
	body, err := c.fetchPage(ctx, recordsURL(c.apiURL, id), pageRequest{
		id: id, q: q, enc: o.Encoding, tokenParam: o.TokenParam, token: o.Token, cont: o.Continuation,
	})
	if err != nil {
		return nil, fmt.Errorf("twilio: records for %s: %w", id, err)
	}
	p, err := decodePage(body)
	if err != nil {
		return nil, fmt.Errorf("twilio: records for %s: %w", id, err)
	}
	if err := checkRecordBudget(0, len(p.records), q.PageSize, c.maxRecords, 1); err != nil {
		return nil, fmt.Errorf("twilio: records for %s: %w", id, err)
	}
	cleanRecords(p.records)
	return &Page{AsOf: p.asOf, Records: p.records, NextToken: p.nextToken}, nil
}
