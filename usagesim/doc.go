// Package usagesim is a simulated Twilio Billing Usage API: the OAuth 2.0
// client-credentials token endpoint (POST /v2/token) and the billing group
// usage records endpoint (POST /v2/Usage/BillingGroups/{billingGroupId}/Records).
//
// It serves deterministic, month-to-date data that grows with an injected
// clock, paginates with opaque query-bound tokens, validates parameters with
// Twilio-shaped error bodies, and can inject faults (rate limits, server
// errors, slow or broken answers, token endpoint failures) at run time.
// The exporter's demo mode serves it on loopback, and the tests of the client,
// the collector and the end-to-end tests use it as a stand-in for Twilio.
//
// Where the public description of the API is silent, the simulator makes one
// choice by default and documents it: request parameters are accepted from a
// JSON body, a form body or the query string; the page token travels as
// pageToken beside the query's parameters; the largest pageSize is 1000. The
// other answers the docs allow are Options, so that a client's guesses are
// tested against something other than themselves: parameters read from one
// place only (Options.Params), the page token under another name
// (Options.PageTokenParam), continuations that must carry the token alone
// (Options.TokenAlone), the page token read from the query string only
// (Options.TokenInQuery), a query string refused beside a body
// (Options.RefuseQueryWithBody), and a request naming no period answered for
// a default one (Options.DefaultTimePeriod). Faults include an export not
// generated yet (ExportNotFound) and a data update landing mid-pagination
// (StaleData), each scoped to a billing group, page or timePeriod; errors
// come in any of Twilio's three body shapes (Options.ErrorShape).
package usagesim
