package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-kit/log"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// --twilio.probe: first contact with the Usage API. Twilio's docs leave the
// host, where parameters travel and how the page token goes back open; the
// probe asks the API itself and prints what it answered and the config lines
// that match, without ever printing a secret or a token.

// tokenParamCandidates are the page token parameter names the probe tries
// after the configured one: the names Twilio's and other REST APIs use.
var tokenParamCandidates = []string{"pageToken", "PageToken", "nextToken", "nextPageToken", "page_token", "token"}

// probe is one run of --twilio.probe.
type probe struct {
	cfg      *config.Config
	timeout  time.Duration // --twilio.timeout
	monthTTL time.Duration // --cache.ttl
	out      io.Writer
	clients  map[clientKey]*twilio.Client
}

// runProbe loads the configuration, checks the token endpoint and probes
// every billing group, printing a report to stdout. It returns 0 only when
// every group answered every period completely.
func runProbe(o options, load func() (*config.Config, error), stdout, stderr io.Writer) int {
	cfg, err := load()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	p := &probe{
		cfg: cfg, timeout: o.twilioTimeout, monthTTL: o.cacheTTL, out: stdout,
		clients: map[clientKey]*twilio.Client{},
	}
	return p.run()
}

// client returns a client of the configuration with the given encoding and
// page token parameter, one per pair so that each keeps what it learns.
func (p *probe) client(enc twilio.Encoding, param string) (*twilio.Client, error) {
	k := clientKey{enc, param}
	if c, ok := p.clients[k]; ok {
		return c, nil
	}
	cfg := *p.cfg
	cfg.Twilio.RequestEncoding, cfg.Twilio.PageTokenParam = enc, param
	// Built exactly as the exporter builds its client.
	c, err := newClient(&cfg, p.timeout, nil, log.NewNopLogger())
	if err != nil {
		return nil, err
	}
	p.clients[k] = c
	return c, nil
}

// clientKey names a probe client: its encoding and page token parameter.
type clientKey struct {
	enc   twilio.Encoding
	param string
}

// finding is what the API showed about its transport for one group.
type finding struct {
	enc      twilio.Encoding
	honoured bool   // false: no encoding was honoured
	param    string // the page token parameter honoured
	alone    bool   // continuations must carry the token alone
}

func (p *probe) run() int {
	t := p.cfg.Twilio
	fmt.Fprintf(p.out, "Probing the Usage API at %s for %d billing groups (client ID %q)\n\n", t.APIURL, len(p.cfg.BillingGroups), t.ClientID)
	base, err := p.client(t.RequestEncoding, t.PageTokenParam)
	if err != nil {
		fmt.Fprintf(p.out, "Cannot build a client: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	info, err := base.CheckToken(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(p.out, "Token endpoint %s: REFUSED: %v\n\n", t.TokenURL, err)
		fmt.Fprintln(p.out, "Result: no billing group probed; fix the credentials or twilio.token_url first")
		return 1
	}
	answer := fmt.Sprintf("HTTP 200, a %s token", info.Type)
	if !info.Expiry.IsZero() {
		answer += fmt.Sprintf(" valid for %s", time.Until(info.Expiry).Round(time.Minute))
	}
	if info.Scope != "" {
		answer += fmt.Sprintf(", scope %q", info.Scope)
	}
	fmt.Fprintf(p.out, "Token endpoint %s: OK: %s\n", t.TokenURL, answer)

	answered := 0
	var findings []finding
	for _, g := range collectorGroups(p.cfg, p.monthTTL) {
		ok, f := p.group(base, g)
		if ok {
			answered++
			findings = append(findings, f)
		}
	}
	p.configLines(findings)
	n := len(p.cfg.BillingGroups)
	if answered < n {
		fmt.Fprintf(p.out, "\nResult: FAILED: %d of %d billing groups answered\n", answered, n)
		return 1
	}
	fmt.Fprintf(p.out, "\nResult: OK: all %d billing groups answered\n", n)
	return 0
}

// group probes one billing group and reports whether it answered: an
// encoding learnt (or the JSON fallback), and every period fetched to the
// end.
func (p *probe) group(base *twilio.Client, g collector.Group) (bool, finding) {
	fmt.Fprintf(p.out, "\nBilling group %s (%s)\n", g.Label, twilio.MaskBillingGroupID(g.ID))
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	d, err := base.Detect(ctx, g.ID)
	if err != nil {
		// The periods are still asked, as configured, to show what the
		// API answers them; the group has not answered.
		fmt.Fprintf(p.out, "  request encoding: no answer: %s\n", describeErr(err))
		f := finding{enc: twilio.Encoding(p.cfg.Twilio.RequestEncoding), param: p.cfg.Twilio.PageTokenParam}
		if f.enc == twilio.EncodingAuto {
			f.enc = twilio.EncodingJSON
		}
		p.periods(ctx, g, f)
		return false, f
	}
	f := finding{enc: d.Encoding, honoured: d.Honoured}
	if d.Honoured {
		fmt.Fprintf(p.out, "  request encoding: %s (%s)\n", d.Encoding, trials(d))
	} else {
		fmt.Fprintf(p.out, "  request encoding: NONE honoured pageSize (%s); JSON is sent\n", trials(d))
	}

	ok := p.pageToken(ctx, base, g.ID, &f)
	return p.periods(ctx, g, f) && ok, f
}

// periods reports each period of g that the exporter fetches, sending as f
// says, and whether every one answered to the end.
func (p *probe) periods(ctx context.Context, g collector.Group, f finding) bool {
	c, err := p.client(f.enc, f.param)
	if err != nil {
		fmt.Fprintf(p.out, "  cannot build a client: %v\n", err)
		return false
	}
	ok := true
	for period, ttl := range g.TTL {
		if ttl == 0 {
			continue
		}
		ok = p.period(ctx, c, g.ID, collector.Period(period), f) && ok
	}
	return ok
}

// pageToken finds the page token parameter the API honours, and whether a
// continuation must carry the token alone, from last month's first two
// pages of one record each. It reports whether the API answered.
func (p *probe) pageToken(ctx context.Context, c *twilio.Client, id string, f *finding) bool {
	f.param = p.cfg.Twilio.PageTokenParam
	q := twilio.Query{TimePeriod: twilio.LastMonth, PageSize: 1}
	first, err := c.FetchPage(ctx, id, q, twilio.PageOptions{Encoding: f.enc})
	if err != nil {
		fmt.Fprintf(p.out, "  page token parameter: not checked: %s\n", describeErr(err))
		return false
	}
	if first.NextToken == "" {
		fmt.Fprintf(p.out, "  page token parameter: not exercised (last month fits on one page of 1 record); keeping %s\n", f.param)
		return true
	}
	names := []string{f.param}
	for _, n := range tokenParamCandidates {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var ignored []string
	for _, name := range names {
		o := twilio.PageOptions{Encoding: f.enc, TokenParam: name, Token: first.NextToken}
		next, err := c.FetchPage(ctx, id, q, o)
		if err == nil && advanced(first, next) {
			f.param = name
			fmt.Fprintf(p.out, "  page token parameter: %s, with the query's parameters repeated\n", name)
			return true
		}
		if err == nil {
			ignored = append(ignored, name+" (page 1 again)")
			continue
		}
		if !isStatus(err, http.StatusBadRequest) {
			fmt.Fprintf(p.out, "  page token parameter: not checked: %s\n", describeErr(err))
			return false
		}
		o.Continuation.TokenAlone = true
		alone, aloneErr := c.FetchPage(ctx, id, q, o)
		if aloneErr == nil && advanced(first, alone) {
			f.param, f.alone = name, true
			fmt.Fprintf(p.out, "  page token parameter: %s, sent alone (with the query repeated: %s)\n", name, describeErr(err))
			return true
		}
		ignored = append(ignored, fmt.Sprintf("%s (%s)", name, describeErr(err)))
	}
	fmt.Fprintf(p.out, "  page token parameter: NONE honoured: %s\n", strings.Join(ignored, "; "))
	return false
}

// advanced reports whether next is a later page than first.
func advanced(first, next *twilio.Page) bool {
	if next.NextToken != first.NextToken || len(next.Records) != len(first.Records) {
		return true
	}
	for i := range first.Records {
		a, b := first.Records[i], next.Records[i]
		if a.ProductName != b.ProductName || a.ProductCategory != b.ProductCategory ||
			!a.StartDate.Equal(b.StartDate) || !a.EndDate.Equal(b.EndDate) || a.UsageUnit != b.UsageUnit {
			return true
		}
	}
	return false
}

// period reports one period's first page, whether its pagination completes
// and whether the exporter's rules accept the records, and returns whether
// all three held.
func (p *probe) period(ctx context.Context, c *twilio.Client, id string, period collector.Period, f finding) bool {
	q := period.Query()
	q.PageSize = p.cfg.Twilio.PageSize
	first, err := c.FetchPage(ctx, id, q, twilio.PageOptions{Encoding: f.enc, TokenParam: f.param})
	if err != nil {
		fmt.Fprintf(p.out, "  %s: first page: %s\n", period, describeErr(err))
		return false
	}
	fmt.Fprintf(p.out, "  %s: first page: HTTP 200, %s\n", period, describePage(first))
	start, end := period.Bounds(time.Now())
	u, err := c.FetchRecords(ctx, id, q)
	if err != nil {
		fmt.Fprintf(p.out, "  %s: pagination FAILED: %s\n", period, describeErr(err))
		return false
	}
	fmt.Fprintf(p.out, "  %s: pagination complete: %d records in %d %s\n", period, len(u.Records), u.Pages, plural(u.Pages, "page"))
	// The exporter's own money rule, so that an answer it would refuse (a
	// row outside the period, rows that overlap) shows here, not as up 0
	// after the first refresh.
	if _, err := collector.Sum(u.Records, start, end); err != nil {
		fmt.Fprintf(p.out, "  %s: REFUSED by the exporter's rules, it would export up 0: %v\n", period, err)
		return false
	}
	fmt.Fprintf(p.out, "  %s: records add up exactly: every row inside the period, none overlapping\n", period)
	return true
}

// describePage summarises a page: records, asOf, dates and currencies.
func describePage(pg *twilio.Page) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d records", len(pg.Records))
	if pg.AsOf.IsZero() {
		b.WriteString(", no asOf")
	} else {
		fmt.Fprintf(&b, ", asOf %s", pg.AsOf.Format(twilio.DateLayout))
	}
	var first, last time.Time
	var currencies []string
	for _, r := range pg.Records {
		if !r.StartDate.IsZero() && (first.IsZero() || r.StartDate.Before(first)) {
			first = r.StartDate
		}
		if r.EndDate.After(last) {
			last = r.EndDate
		}
		if !slices.Contains(currencies, r.Currency) {
			currencies = append(currencies, r.Currency)
		}
	}
	if !first.IsZero() || !last.IsZero() {
		fmt.Fprintf(&b, ", dates %s to %s", first.Format(twilio.DateLayout), last.Format(twilio.DateLayout))
	}
	if len(currencies) > 0 {
		slices.Sort(currencies)
		fmt.Fprintf(&b, ", currencies %s", strings.Join(currencies, " "))
	}
	if pg.NextToken != "" {
		b.WriteString(", more pages")
	}
	return b.String()
}

// describeErr names what the API answered: the HTTP status, Twilio's error
// code and message, or that no answer came.
func describeErr(err error) string {
	var ae *twilio.APIError
	if errors.As(err, &ae) {
		s := fmt.Sprintf("HTTP %d", ae.StatusCode)
		if ae.Code != 0 {
			s += fmt.Sprintf(", Twilio error %d", ae.Code)
		}
		if ae.Message != "" {
			s += ": " + ae.Message
		}
		return s
	}
	return err.Error()
}

// isStatus reports whether err is an API answer with HTTP status code.
func isStatus(err error, code int) bool {
	var ae *twilio.APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

// configLines prints the twilio settings matching what the groups that
// answered showed.
func (p *probe) configLines(fs []finding) {
	if len(fs) == 0 {
		return
	}
	t := p.cfg.Twilio
	fmt.Fprintln(p.out, "\nConfig lines matching these answers (in the twilio section):")
	f := fs[0]
	for _, g := range fs[1:] {
		if g.enc != f.enc || g.param != f.param {
			fmt.Fprintln(p.out, "  # billing groups answered differently; these are the first group's findings")
			break
		}
	}
	note := func(configured string) string {
		if configured == "" {
			return ""
		}
		return fmt.Sprintf("   # configured now: %s", configured)
	}
	if f.honoured {
		enc := ""
		if t.RequestEncoding != f.enc {
			enc = string(t.RequestEncoding)
		}
		fmt.Fprintf(p.out, "  request_encoding: %s%s\n", f.enc, note(enc))
	} else {
		fmt.Fprintln(p.out, "  # request_encoding: no encoding was honoured; see the answers above")
	}
	param := ""
	if t.PageTokenParam != f.param {
		param = t.PageTokenParam
	}
	fmt.Fprintf(p.out, "  page_token_param: %s%s\n", f.param, note(param))
	if f.alone {
		fmt.Fprintln(p.out, "  # continuations carry the page token alone: the exporter learns that by itself")
	}
}

// plural is noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
