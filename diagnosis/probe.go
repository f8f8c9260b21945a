// Package diagnosis is --twilio.probe: first contact with the Usage API.
// Twilio's docs leave the host, where parameters travel and how the page
// token goes back open; the probe asks the API itself and prints what it
// answered and the config lines that match, without ever printing a secret
// or a token. Its verdict is the exporter's own refresh with the client the
// exporter builds from the same config.
package diagnosis

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
	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

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

// Run checks the token endpoint of cfg and probes every billing group,
// printing a report to out: timeout is --twilio.timeout, monthTTL
// --cache.ttl. It returns 0 only when the exporter, as configured, would
// serve every period of every group.
func Run(cfg *config.Config, timeout, monthTTL time.Duration, out io.Writer) int {
	p := &probe{cfg: cfg, timeout: timeout, monthTTL: monthTTL, out: out, clients: map[clientKey]*twilio.Client{}}
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
	c, err := exporter.NewClient(&cfg, p.timeout, nil, log.NewNopLogger())
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

// finding is what the API showed about how it wants requests shaped, for
// one group.
type finding struct {
	enc      twilio.Encoding
	honoured bool   // false: no encoding was honoured
	param    string // the page token parameter honoured
	cont     twilio.Continuation
}

func (p *probe) run() int {
	t := p.cfg.Twilio
	fmt.Fprintf(p.out, "Probing the Usage API at %s for %d billing groups (client ID %q)\n\n", t.APIURL, len(p.cfg.BillingGroups), t.ClientID)
	// The exporter's own client: the verdict is what it serves.
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

	served := 0
	var findings []finding
	for _, g := range exporter.Groups(p.cfg, p.monthTTL) {
		ok, f, diagnosed := p.group(base, g)
		if ok {
			served++
		}
		if diagnosed {
			findings = append(findings, f)
		}
	}
	differs := p.configLines(findings)
	n := len(p.cfg.BillingGroups)
	if served < n {
		fmt.Fprintf(p.out, "\nResult: FAILED: %d of %d billing groups served as configured; the exporter would export up 0 for the periods refused above\n", served, n)
		if differs {
			fmt.Fprintln(p.out, "Set the config lines above and run the probe again.")
		}
		return 1
	}
	fmt.Fprintf(p.out, "\nResult: OK: all %d billing groups served as configured\n", n)
	return 0
}

// group probes one billing group: how the API wants requests shaped,
// each period's first page sent as it showed, and then each period through
// the exporter's own refresh with the configured client. It reports whether
// every period would be served, what the API showed, and whether it showed
// anything (diagnosed).
func (p *probe) group(base *twilio.Client, g collector.Group) (served bool, f finding, diagnosed bool) {
	fmt.Fprintf(p.out, "\nBilling group %s (%s)\n", g.Label, twilio.MaskBillingGroupID(g.ID))
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	f = finding{enc: twilio.Encoding(p.cfg.Twilio.RequestEncoding), param: p.cfg.Twilio.PageTokenParam}
	if f.enc == twilio.EncodingAuto {
		f.enc = twilio.EncodingJSON
	}
	d, err := base.Detect(ctx, g.ID)
	switch {
	case err != nil:
		fmt.Fprintf(p.out, "  request encoding: no answer: %s\n", describeErr(err))
	case d.Honoured:
		f.enc, f.honoured = d.Encoding, true
		fmt.Fprintf(p.out, "  request encoding: %s (%s)\n", d.Encoding, d.Answers())
	case !anySeen(d):
		fmt.Fprintf(p.out, "  request encoding: no answer shows it (%s)\n", d.Answers())
	default:
		f.enc = d.Encoding
		fmt.Fprintf(p.out, "  request encoding: NONE honoured pageSize (%s); JSON is sent\n", d.Answers())
	}
	diagnosed = err == nil && p.pageToken(ctx, base, g.ID, &f)

	served = true
	for period, ttl := range g.TTL {
		if ttl == 0 {
			continue
		}
		p.firstPage(ctx, g, collector.Period(period), f)
		served = p.serve(base, g, collector.Period(period)) && served
	}
	return served, f, diagnosed
}

// anySeen reports whether an answer to detection said anything about the
// encodings: a 200, or a refusal of the parameters, not of the period or
// the group (404, 71003).
func anySeen(d *twilio.Detection) bool {
	for _, t := range d.Trials {
		switch t.Status {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			return true
		}
	}
	return false
}

// pageToken finds the page token parameter the API honours, and how a
// continuation must carry it, from the first two pages of one record each
// of this month (or last month). It reports whether the API answered.
func (p *probe) pageToken(ctx context.Context, c *twilio.Client, id string, f *finding) bool {
	// This month, or last month when this month is refused or fits on one
	// page, as detection asks.
	var q twilio.Query
	var first *twilio.Page
	var err error
	for _, period := range []twilio.TimePeriod{twilio.ThisMonth, twilio.LastMonth} {
		q = twilio.Query{TimePeriod: period, PageSize: 1}
		first, err = c.FetchPage(ctx, id, q, twilio.PageOptions{Encoding: f.enc})
		if err == nil && first.NextToken != "" {
			break
		}
	}
	if err != nil {
		fmt.Fprintf(p.out, "  page token parameter: not checked: %s\n", describeErr(err))
		return false
	}
	if first.NextToken == "" {
		fmt.Fprintf(p.out, "  page token parameter: not exercised (this month and last month fit on one page of 1 record); keeping %s\n", f.param)
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
		why, found, ok := p.tokenParam(ctx, c, id, q, first, name, f)
		if found || !ok {
			return ok
		}
		ignored = append(ignored, fmt.Sprintf("%s (%s)", name, why))
	}
	fmt.Fprintf(p.out, "  page token parameter: NONE honoured: %s\n", strings.Join(ignored, "; "))
	return false
}

// tokenParam tries name as the page token parameter, sent each way a
// continuation can be sent until one is not refused (HTTP 400). found says
// the API continued, and f holds the finding; ok is false when the API
// answered otherwise than 200 or 400. Else why says what it answered.
func (p *probe) tokenParam(ctx context.Context, c *twilio.Client, id string, q twilio.Query, first *twilio.Page, name string, f *finding) (why string, found, ok bool) {
	var refused []string
	for _, cont := range twilio.Continuations() {
		if f.enc == twilio.EncodingQuery && cont.TokenNotInQuery {
			continue // the same request as the one before
		}
		o := twilio.PageOptions{Encoding: f.enc, TokenParam: name, Token: first.NextToken, Continuation: cont}
		next, err := c.FetchPage(ctx, id, q, o)
		if err == nil && advanced(first, next) {
			f.param, f.cont = name, cont
			where := ""
			if cont == (twilio.Continuation{}) && f.enc != twilio.EncodingQuery {
				where = p.tokenPlace(ctx, c, id, q, first, o)
			}
			line := fmt.Sprintf("  page token parameter: %s, sent with %s%s", name, cont, where)
			if len(refused) > 0 {
				line += fmt.Sprintf(" (refused before: %s)", strings.Join(refused, "; "))
			}
			fmt.Fprintln(p.out, line)
			return "", true, true
		}
		if err == nil {
			return "page 1 again", false, true
		}
		var ae *twilio.APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
			fmt.Fprintf(p.out, "  page token parameter: not checked: %s\n", describeErr(err))
			return "", false, false
		}
		refused = append(refused, describeErr(err))
	}
	return strings.Join(refused, "; "), false, true
}

// tokenPlace says where the API reads the page token that o sends both in
// the query string and where the encoding puts parameters: sent only in
// the latter, does it still continue?
func (p *probe) tokenPlace(ctx context.Context, c *twilio.Client, id string, q twilio.Query, first *twilio.Page, o twilio.PageOptions) string {
	o.Continuation.TokenNotInQuery = true
	next, err := c.FetchPage(ctx, id, q, o)
	switch {
	case err == nil && advanced(first, next):
		return " (read where the encoding puts parameters too)"
	case err == nil:
		return " (read from the query string only, where Twilio's SDKs send it)"
	default:
		return ""
	}
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

// firstPage reports one period's first page, sent as f says.
func (p *probe) firstPage(ctx context.Context, g collector.Group, period collector.Period, f finding) {
	c, err := p.client(f.enc, f.param)
	if err != nil {
		fmt.Fprintf(p.out, "  cannot build a client: %v\n", err)
		return
	}
	// A fiscal year to date longer than the API accepts in one request is
	// fetched in parts: its first page is the first part's.
	q := period.Query(time.Now(), g.YearStart).Parts()[0]
	q.PageSize = p.cfg.Twilio.PageSize
	first, err := c.FetchPage(ctx, g.ID, q, twilio.PageOptions{Encoding: f.enc, TokenParam: f.param})
	if err != nil {
		fmt.Fprintf(p.out, "  %s: first page: %s\n", period, describeErr(err))
		return
	}
	fmt.Fprintf(p.out, "  %s: first page: HTTP 200, %s\n", period, describePage(first))
}

// serve runs one refresh of g's period through the exporter's own code
// (collector.Fetch: the fetch, the money rule and the series cap) with the
// configured client, under the exporter's refresh timeout, and reports
// whether the exporter would serve it.
func (p *probe) serve(c *twilio.Client, g collector.Group, period collector.Period) bool {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	snap, u, err := collector.Fetch(ctx, c, g, period, time.Now(), time.Now)
	if u == nil {
		fmt.Fprintf(p.out, "  %s: pagination FAILED as configured, the exporter would export up 0: %s\n", period, describeErr(err))
		return false
	}
	again := ""
	if u.Restarted {
		again = ", read again from the first page after the data changed while it was paged"
	}
	fmt.Fprintf(p.out, "  %s: pagination complete: %d records in %d %s%s\n", period, len(u.Records), u.Pages, plural(u.Pages, "page"), again)
	if err != nil {
		fmt.Fprintf(p.out, "  %s: REFUSED by the exporter's rules, it would export up 0: %v\n", period, err)
		return false
	}
	n := len(snap.Costs) + len(snap.Usages) + len(snap.Products)
	fmt.Fprintf(p.out, "  %s: records add up exactly: every row inside the period, none overlapping; %d series\n", period, n)
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
// code and message and what to do about it, or that no answer came.
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
		if h := ae.Hint(); h != "" {
			s += "; " + h
		}
		return s
	}
	return err.Error()
}

// configLines prints the twilio settings matching what the groups that
// answered showed, and reports whether they differ from the configured
// ones in a way the exporter does not learn by itself.
func (p *probe) configLines(fs []finding) bool {
	if len(fs) == 0 {
		return false
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
	differs := false
	if f.honoured {
		enc := ""
		if t.RequestEncoding != f.enc {
			enc = string(t.RequestEncoding)
			// auto learns it as the probe did.
			differs = t.RequestEncoding != twilio.EncodingAuto
		}
		fmt.Fprintf(p.out, "  request_encoding: %s%s\n", f.enc, note(enc))
	} else {
		fmt.Fprintln(p.out, "  # request_encoding: no encoding was honoured; see the answers above")
	}
	param := ""
	if t.PageTokenParam != f.param {
		param = t.PageTokenParam
		differs = true
	}
	fmt.Fprintf(p.out, "  page_token_param: %s%s\n", f.param, note(param))
	if f.cont != (twilio.Continuation{}) {
		fmt.Fprintf(p.out, "  # continuations are sent with %s: the exporter learns that by itself\n", f.cont)
	}
	return differs
}

// plural is noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
