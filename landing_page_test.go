package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/landing/pagetest"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/server"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// getLanding fetches the landing page at url and parses it.
func getLanding(t *testing.T, url string) *html.Node {
	t.Helper()
	code, body, hdr := request(t, http.MethodGet, url)
	if code != http.StatusOK || hdr.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET %s = %d %s:\n%s", url, code, hdr.Get("Content-Type"), body)
	}
	if strings.Contains(body, testSecret) {
		t.Fatal("the landing page shows the client secret")
	}
	return pagetest.Parse(t, strings.NewReader(body))
}

// monthCostByCurrency is a group's month-to-date spend per currency: the
// exact sum of the figures the metrics serve.
func monthCostByCurrency(t *testing.T, families map[string]*dto.MetricFamily, group string) testsupport.ExactSums {
	return costByCurrency(t, families, "twilio_billing_group_cost", group)
}

// costByCurrency is a group's spend per currency in one cost family, the
// exact sum of the decimals its series are served as.
func costByCurrency(t *testing.T, families map[string]*dto.MetricFamily, family, group string) testsupport.ExactSums {
	sums := testsupport.ExactSums{}
	for _, m := range families[family].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["billing_group"] == group {
			sums.AddFloat(t, labels["currency"], m.GetGauge().GetValue())
		}
	}
	return sums
}

// The page shows what the cache holds, without ever calling the API: before
// the first refresh every group waits for it; after a scrape, a healthy
// group shows the same spend as the metrics and a failing one its error.
func TestLandingPageShowsTheCache(t *testing.T) {
	sim, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	// support has an annual budget beside the year to date (on by default).
	writeConfig(t, path, inst, groupsAB+"    annual_budget: {amount: 1000000, currency: EUR}\n"+
		"  - id: commerce_billingprofile_0000000000000000000000000000dead\n    name: <script>alert(1)</script>\n")
	ex := newTestExporter(t, path)

	doc := getLanding(t, ex.server.URL+"/")
	if got, want := pagetest.Groups(doc), []string{"marketing", "support", "<script>alert(1)</script>"}; !slices.Equal(got, want) {
		t.Fatalf("groups = %q, want %q", got, want)
	}
	for _, g := range pagetest.Groups(doc) {
		if got := pagetest.Status(t, pagetest.Group(t, doc, g)); got != "pending" {
			t.Errorf("%s before any refresh: status %q, want pending", g, got)
		}
	}
	if n := sim.Stats().RecordsRequests; n != 0 {
		t.Fatalf("the landing page made %d records requests, want none", n)
	}

	families, err := testsupport.ScrapeFamilies(ex.server.URL + "/metrics") // waits for the refreshes
	if err != nil {
		t.Fatal(err)
	}
	fetches := sim.Stats().RecordsRequests
	doc = getLanding(t, ex.server.URL+"/")
	if n := sim.Stats().RecordsRequests; n != fetches {
		t.Fatalf("the landing page made %d records requests, want none", n-fetches)
	}
	if n := pagetest.FindAll(doc, pagetest.Tag("script")); len(n) != 0 {
		t.Fatal("a billing group name became a script element")
	}
	for _, name := range []string{"marketing", "support"} {
		card := pagetest.Group(t, doc, name)
		if got := pagetest.Status(t, card); got != "up" {
			t.Errorf("%s: status %q, want up", name, got)
		}
		var want []string
		for cur, v := range monthCostByCurrency(t, families, name).Floats() {
			want = append(want, landing.Money{Amount: v, Currency: cur}.String())
		}
		slices.Sort(want)
		if got := pagetest.Lines(t, card, "spent"); len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: spent %q, want the metrics' %q", name, got, want)
		}
	}
	// The year to date and the annual budget come from the same cache.
	support := pagetest.Group(t, doc, "support")
	var wantYear []string
	for cur, v := range costByCurrency(t, families, "twilio_billing_group_this_year_cost", "support").Floats() {
		wantYear = append(wantYear, landing.Money{Amount: v, Currency: cur}.String())
	}
	if got := pagetest.Lines(t, support, "year"); len(wantYear) != 1 || !slices.Equal(got, wantYear) {
		t.Errorf("support: year to date %q, want the metrics' %q", got, wantYear)
	}
	if b := pagetest.FindAll(support, pagetest.WithAttr("data-budget", "Annual budget")); len(b) != 1 ||
		!strings.Contains(pagetest.Text(b[0]), " of EUR 1,000,000.00; forecast ") {
		t.Errorf("support: annual budget %v, want a bar against EUR 1,000,000.00 with its forecast", b)
	}
	if b := pagetest.FindAll(pagetest.Group(t, doc, "marketing"), pagetest.WithAttr("data-budget", "Annual budget")); len(b) != 0 {
		t.Error("marketing: an annual budget is shown though none is configured")
	}

	card := pagetest.Group(t, doc, "<script>alert(1)</script>")
	if got := pagetest.Status(t, card); got != "failing" {
		t.Errorf("unknown group: status %q, want failing", got)
	}
	errText := pagetest.Field(t, card, "error")
	if !strings.HasPrefix(errText, "Latest refresh failed: ") || !strings.Contains(errText, "404") {
		t.Errorf("unknown group: error %q, want the API's 404 in words", errText)
	}
	if got := pagetest.Field(t, doc, "reload"); !strings.HasPrefix(got, "loaded ") || !strings.HasSuffix(got, " UTC") {
		t.Errorf("reload status %q, want loaded ... ago, at ... UTC", got)
	}

	// A rejected reload is said, and the running configuration kept.
	if err := os.WriteFile(path, []byte("twilio:\n  client_secret: "+testSecret+"\n  clinet_id: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusInternalServerError {
		t.Fatalf("POST /-/reload with a bad config = %d %q", code, body)
	}
	doc = getLanding(t, ex.server.URL+"/")
	if got := pagetest.Field(t, doc, "reload"); !strings.HasPrefix(got, "latest reload failed ") || !strings.Contains(got, "; running the configuration loaded ") {
		t.Errorf("reload status after a bad reload %q, want it to say so", got)
	}
	if got := len(pagetest.Groups(doc)); got != 3 {
		t.Errorf("%d groups after a bad reload, want the 3 running", got)
	}
}

// TestLandingPageSaysWhatToDo: a Twilio error in any of its shapes reaches
// the landing page with its code, message and what to do about it.
func TestLandingPageSaysWhatToDo(t *testing.T) {
	for _, shape := range []usagesim.ErrorShape{usagesim.ErrorsAsSent, usagesim.ErrorsNewer, usagesim.ErrorsList} {
		t.Run(shape.String(), func(t *testing.T) {
			sim, inst := simulatorWith(t, func(o *usagesim.Options) { o.ErrorShape = shape })
			sim.InjectFault(usagesim.Fault{Kind: usagesim.SubjectNotEligible, BillingGroup: usagesim.DemoGroups()[1].ID})
			path := filepath.Join(t.TempDir(), "config.yml")
			writeConfig(t, path, inst, groupsAB)
			ex := newTestExporter(t, path)
			if _, err := testsupport.ScrapeFamilies(ex.server.URL + "/metrics"); err != nil { // waits for the refreshes
				t.Fatal(err)
			}
			card := pagetest.Group(t, getLanding(t, ex.server.URL+"/"), "support")
			errText := pagetest.Field(t, card, "error")
			for _, want := range []string{"HTTP 403: code 71002: Subject not eligible for the usage export functionality",
				"ask Twilio support to enable them"} {
				if !strings.Contains(errText, want) {
					t.Errorf("error %q lacks %q", errText, want)
				}
			}
		})
	}
}

// With the metrics at "/" there is no landing page: "/" serves metrics.
func TestTelemetryPathAtRootServesMetrics(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	o := testOptions()
	o.telemetryPath = "/"
	ex := newTestExporterWith(t, path, o)
	code, body, hdr := request(t, http.MethodGet, ex.server.URL+"/")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || !strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) {
		t.Fatalf("GET / = %d %s, want the metrics:\n%s", code, hdr.Get("Content-Type"), grepTwilio(body))
	}
}

// The landing page is behind --web.config.file's basic auth, like every path.
func TestLandingPageNeedsWebConfigAuth(t *testing.T) {
	_, inst := simulator(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yml")
	writeConfig(t, path, inst, groupsAB)
	const user, password = "finops", "landing-page-password-93c1"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webConfig, fmt.Appendf(nil, "basic_auth_users:\n  %s: %s\n", user, hash), 0o600); err != nil {
		t.Fatal(err)
	}

	ex := newTestExporter(t, path)
	o := testOptions()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &[]string{l.Addr().String()}, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}
	srv := server.HTTPServer(ex.srv.Handler(), o.server())
	served := make(chan error, 1)
	go func() { served <- web.Serve(l, srv, flags, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("server: %v", err)
		}
	})

	get := func(user, password string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+l.Addr().String()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, _ := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("GET / without credentials = %d, want 401", code)
	}
	if code, _ := get(user, password+"x"); code != http.StatusUnauthorized {
		t.Errorf("GET / with a wrong password = %d, want 401", code)
	}
	code, body := get(user, password)
	if code != http.StatusOK {
		t.Fatalf("GET / with credentials = %d, want 200:\n%s", code, body)
	}
	if got, want := pagetest.Groups(pagetest.Parse(t, strings.NewReader(body))), []string{"marketing", "support"}; !slices.Equal(got, want) {
		t.Errorf("groups = %q, want %q", got, want)
	}
}

// On a clock the test moves: the page's month-end forecast is the alert
// rules' (cost / max(time() - period start, 1h) * (period end - period
// start), from the exposition's own series), ages follow the clock, and a
// page opened long after the cache lifetime still calls no API.
func TestLandingForecastMatchesTheRules(t *testing.T) {
	clk := testsupport.NewClock(time.Date(2027, time.February, 10, 6, 0, 0, 0, time.UTC)) // a 28-day month
	sim, inst := simulatorWith(t, func(o *usagesim.Options) { o.Now = clk.Now })
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	o := testOptions()
	o.now = clk.Now
	ex := newTestExporterWith(t, path, o)
	families, err := testsupport.ScrapeFamilies(ex.server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	byGroup := func(name string) map[string]float64 {
		out := map[string]float64{}
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "billing_group" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
		return out
	}
	starts, ends := byGroup("twilio_billing_group_period_start_timestamp_seconds"), byGroup("twilio_billing_group_period_end_timestamp_seconds")
	now := float64(clk.Now().Unix())
	doc := getLanding(t, ex.server.URL+"/")
	for _, name := range []string{"marketing", "support"} {
		if ends[name]-starts[name] != 28*86400 {
			t.Fatalf("%s: period %v to %v, want February's 28 days", name, starts[name], ends[name])
		}
		var want []string
		for cur, cost := range monthCostByCurrency(t, families, name).Floats() {
			forecast := cost / max(now-starts[name], 3600) * (ends[name] - starts[name])
			want = append(want, landing.Money{Amount: forecast, Currency: cur}.String())
		}
		slices.Sort(want)
		card := pagetest.Group(t, doc, name)
		if got := pagetest.Lines(t, card, "forecast"); len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: forecast %q, want the rules' %q", name, got, want)
		}
		if got, want := pagetest.Field(t, card, "last-success"), "less than a minute ago, at 06:00 UTC"; got != want {
			t.Errorf("%s: last success %q, want %q", name, got, want)
		}
	}

	fetches := sim.Stats().RecordsRequests
	clk.Add(90 * time.Minute) // far past the 15m cache lifetime
	doc = getLanding(t, ex.server.URL+"/")
	if n := sim.Stats().RecordsRequests; n != fetches {
		t.Errorf("the landing page made %d records requests, want none", n-fetches)
	}
	if got, want := pagetest.Field(t, pagetest.Group(t, doc, "support"), "last-success"), "1 hour 30 minutes ago, at 06:00 UTC"; got != want {
		t.Errorf("last success %q, want %q", got, want)
	}
}
