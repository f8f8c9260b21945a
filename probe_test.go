package main

import (
	"bytes"
	"cmp"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/diagnosis"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// probeVerdicts reads the probe's verdict for each group and period from
// its report: "served" when the exporter's refresh accepted it, "up 0" when
// the report says the exporter would export up 0.
func probeVerdicts(report string) map[string]string {
	out := map[string]string{}
	group := ""
	for _, l := range strings.Split(report, "\n") {
		if rest, ok := strings.CutPrefix(l, "Billing group "); ok {
			group, _, _ = strings.Cut(rest, " (")
			continue
		}
		line, indented := strings.CutPrefix(l, "  ")
		period, rest, ok := strings.Cut(line, ": ")
		if !ok || !indented || group == "" || strings.Contains(period, " ") {
			continue
		}
		switch {
		case strings.HasPrefix(rest, "records add up exactly"):
			out[group+" "+period] = "served"
		case strings.Contains(rest, "would export up 0"):
			out[group+" "+period] = "up 0"
		}
	}
	return out
}

// exporterVerdicts scrapes an exporter once and reads each group's up
// series per period, in the probe's words.
func exporterVerdicts(t *testing.T, path string, labels []string) map[string]string {
	t.Helper()
	ex := newTestExporter(t, path)
	_, body, _ := request(t, "GET", ex.server.URL+"/metrics")
	samples := exposition(t, body)
	out := map[string]string{}
	for _, label := range labels {
		for p := range collector.NumPeriods {
			name := "twilio_billing_group_up"
			if p != collector.ThisMonth {
				name = "twilio_billing_group_" + p.String() + "_up"
			}
			v, ok := samples[fmt.Sprintf("%s{billing_group=%q}", name, label)]
			switch {
			case !ok:
				t.Fatalf("no %s for %s:\n%s", name, label, grepTwilio(body))
			case v == 1:
				out[label+" "+p.String()] = "served"
			default:
				out[label+" "+p.String()] = "up 0"
			}
		}
	}
	return out
}

// TestProbeAgreesWithExporter: --twilio.probe says "Result: OK" exactly when
// the exporter, given the same config against the same API, serves every
// group and period, and it names the same periods up 0 as the exporter
// exports: both run the same refresh (collector.Fetch) with the same
// client. Each case runs against an API of its own, so that neither run's
// requests (or the faults they use up) change the other's answers.
func TestProbeAgreesWithExporter(t *testing.T) {
	demo := usagesim.DemoGroups()
	for _, tc := range []struct {
		name   string
		sim    func(*usagesim.Options)
		fault  *usagesim.Fault
		twilio string // appended to the twilio section
		extra  string // another billing group
		top    string // appended to the file: a top-level key
		pages  int    // page_size; 7 if 0, so that most periods take several pages
		code   int    // the probe's exit code, so that both outcomes are covered
	}{
		{name: "as documented", code: 0},
		{name: "query string only, auto", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly }, code: 0},
		{name: "JSON only, query configured", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsJSONOnly }, twilio: "  request_encoding: query\n", code: 1},
		{name: "page token named otherwise", sim: func(o *usagesim.Options) { o.PageTokenParam = "nextPageToken" }, code: 1},
		{name: "page token named otherwise, configured", sim: func(o *usagesim.Options) { o.PageTokenParam = "nextPageToken" }, twilio: "  page_token_param: nextPageToken\n", code: 0},
		{name: "token alone", sim: func(o *usagesim.Options) { o.TokenAlone = true }, code: 0},
		{name: "token read from the query string only", sim: func(o *usagesim.Options) { o.TokenInQuery = true }, code: 0},
		{name: "no query string beside a body", sim: func(o *usagesim.Options) { o.RefuseQueryWithBody = true }, code: 0},
		{name: "overlapping roll-ups", sim: func(o *usagesim.Options) { o.Shapes = usagesim.Shapes{OverlappingRollups: true} }, pages: 500, code: 1},
		{name: "more series than max_series", twilio: "  max_series: 60\n", code: 1},
		{name: "last month not ready", fault: &usagesim.Fault{Kind: usagesim.ExportNotFound, TimePeriod: "LAST_MONTH"}, code: 1},
		{name: "data moving under every pagination", fault: &usagesim.Fault{Kind: usagesim.StaleData, Page: 1}, code: 1},
		{name: "an unknown group", extra: "  - id: commerce_billingprofile_NOSUCHGROUP\n    name: ghost\n", code: 1},
		// A fiscal year is asked as a range: the probe tries what the
		// exporter asks.
		{name: "a fiscal year", top: "fiscal_year_start: {month: 2}\n", code: 0},
		{name: "a fiscal year, more series than max_series", twilio: "  max_series: 60\n", top: "fiscal_year_start: {month: 2}\n", code: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := func() string {
				opts := usagesim.Options{ClientID: "test-client", ClientSecret: testSecret}
				if tc.sim != nil {
					tc.sim(&opts)
				}
				sim := usagesim.New(opts)
				if tc.fault != nil {
					sim.InjectFault(*tc.fault)
				}
				inst := simtest.Start(t, sim)
				path := filepath.Join(t.TempDir(), "config.yml")
				writeConfig(t, path, inst, fmt.Sprintf("  - id: %s\n    name: marketing\n  - id: %s\n    name: support\n%s%s", demo[0].ID, demo[1].ID, tc.extra, tc.top))
				beforeGroups(t, path, fmt.Sprintf("  page_size: %d\n%s", cmp.Or(tc.pages, 7), tc.twilio))
				return path
			}
			labels := []string{"marketing", "support"}
			if tc.extra != "" {
				labels = append(labels, "ghost")
			}

			path := start()
			var out bytes.Buffer
			cfg, err := config.Load(path, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			o := testOptions()
			code := diagnosis.Run(cfg, o.twilioTimeout, o.cacheTTL, &out)
			probe := probeVerdicts(out.String())
			exported := exporterVerdicts(t, start(), labels)

			if code != tc.code {
				t.Errorf("probe exit %d, want %d", code, tc.code)
			}
			allServed := true
			for k, v := range exported {
				if probe[k] != v {
					t.Errorf("%s: the probe says %q, the exporter %s", k, probe[k], v)
				}
				allServed = allServed && v == "served"
			}
			if len(probe) != len(exported) {
				t.Errorf("the probe judged %d periods, the exporter exports %d", len(probe), len(exported))
			}
			if (code == 0) != allServed {
				t.Errorf("probe exit %d, but the exporter serves every period: %v", code, allServed)
			}
			if strings.Contains(out.String(), testSecret) {
				t.Error("the report holds the secret")
			}
			if t.Failed() {
				t.Logf("probe report:\n%s", out.String())
			}
		})
	}
}
