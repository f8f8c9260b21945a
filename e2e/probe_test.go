package e2e

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

const (
	probeClientID = "probe-client"
	probeSecret   = "probe-secret-never-printed-5d2a"
	wrongSecret   = "wrong-secret-never-printed-9b7e"
)

// TestProbe runs the real binary's --twilio.probe against simulators that
// answer as each API Twilio's docs allow, and against wrong credentials: the
// report names what the API answered and the config lines that match, the
// exit code says whether every group answered, and no secret is printed.
func TestProbe(t *testing.T) {
	bin := exporterBinary(t)
	groups := usagesim.DemoGroups()[:2]
	pagination := regexp.MustCompile(`(?m)^  (this_month|yesterday|last_month|this_year): pagination complete: \d+ records in \d+ pages?$`)
	addsUp := regexp.MustCompile(`(?m)^  (this_month|yesterday|last_month|this_year): records add up exactly: every row inside the period, none overlapping; \d+ series$`)
	for _, tc := range []struct {
		name   string
		sim    func(*usagesim.Options)
		config string // appended to the twilio section
		secret string // the client secret configured; probeSecret if empty
		extra  string // an extra billing group
		fault  *usagesim.Fault
		code   int
		want   []string
	}{
		{name: "parameters anywhere", code: 0, want: []string{
			"Token endpoint %TOKEN%: OK: HTTP 200, a Bearer token valid for 1h0m0s",
			"  request encoding: json (json: meta.pageSize 1)",
			"  page token parameter: pageToken, sent with the query's parameters repeated, the token also in the query string (read where the encoding puts parameters too)",
			"  request_encoding: json   # configured now: auto",
			"  page_token_param: pageToken",
			"Result: OK: all 2 billing groups served as configured",
		}},
		{name: "query string only", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly }, code: 0, want: []string{
			"  request encoding: query (json: HTTP 400: code 20001: Either timePeriod or both startDate and endDate are required; query: meta.pageSize 1)",
			"  request_encoding: query   # configured now: auto",
			"Result: OK: all 2 billing groups served as configured",
		}},
		{name: "query string only, no period means this month", sim: func(o *usagesim.Options) {
			o.Params = usagesim.ParamsQueryOnly
			o.DefaultTimePeriod = "THIS_MONTH"
		}, code: 0, want: []string{
			"  request encoding: query (json: meta.pageSize 50; query: meta.pageSize 1)",
			"Result: OK: all 2 billing groups served as configured",
		}},
		// Configured otherwise than the API reads: the exporter would
		// export up 0, so the probe fails and says what to set.
		{name: "JSON body only, query configured", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsJSONOnly },
			config: "  request_encoding: query\n", code: 1, want: []string{
				"  request encoding: json (json: meta.pageSize 1)",
				"  this_month: pagination FAILED as configured, the exporter would export up 0: HTTP 400, Twilio error 20001: Either timePeriod or both startDate and endDate are required",
				"  request_encoding: json   # configured now: query",
				"Result: FAILED: 0 of 2 billing groups served as configured; the exporter would export up 0 for the periods refused above\nSet the config lines above and run the probe again.",
			}},
		{name: "JSON body only", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsJSONOnly }, code: 0, want: []string{
			"  request encoding: json (json: meta.pageSize 1)",
			"  request_encoding: json   # configured now: auto",
			"Result: OK: all 2 billing groups served as configured",
		}},
		{name: "form body only", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsFormOnly }, code: 0, want: []string{
			"  request encoding: form (json: HTTP 400: code 20001: Unsupported Content-Type: send application/json or application/x-www-form-urlencoded; " +
				"query: HTTP 400: code 20001: Either timePeriod or both startDate and endDate are required; form: meta.pageSize 1)",
			"  request_encoding: form   # configured now: auto",
		}},
		{name: "page token named otherwise", sim: func(o *usagesim.Options) { o.PageTokenParam = "nextPageToken" }, code: 1, want: []string{
			"  page token parameter: nextPageToken, sent with the query's parameters repeated, the token also in the query string",
			"  this_month: pagination FAILED as configured, the exporter would export up 0: twilio: records for commerce_billingprofile_…TING: page 2: meta.nextToken repeats the one page 1 returned",
			"  page_token_param: nextPageToken   # configured now: pageToken",
			"Set the config lines above and run the probe again.",
		}},
		{name: "page token named otherwise, configured", sim: func(o *usagesim.Options) { o.PageTokenParam = "nextPageToken" },
			config: "  page_token_param: nextPageToken\n", code: 0, want: []string{
				"  page_token_param: nextPageToken\n",
				"Result: OK: all 2 billing groups served as configured",
			}},
		{name: "continuation carries the token alone", sim: func(o *usagesim.Options) { o.TokenAlone = true }, code: 0, want: []string{
			"  page token parameter: pageToken, sent with the page token alone, the token also in the query string (refused before: HTTP 400, Twilio error 20001: Invalid request: a page token must be sent alone, it carries the query's parameters; HTTP 400, Twilio error 20001: Invalid request: a page token must be sent alone, it carries the query's parameters)",
			"  # continuations are sent with the page token alone, the token also in the query string: the exporter learns that by itself",
			"Result: OK: all 2 billing groups served as configured",
		}},
		{name: "page token read from the query string only", sim: func(o *usagesim.Options) { o.TokenInQuery = true }, code: 0, want: []string{
			"  page token parameter: pageToken, sent with the query's parameters repeated, the token also in the query string (read from the query string only, where Twilio's SDKs send it)",
			"Result: OK: all 2 billing groups served as configured",
		}},
		{name: "last month's export not ready", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly }, fault: &usagesim.Fault{Kind: usagesim.ExportNotFound, TimePeriod: "LAST_MONTH"}, code: 1, want: []string{
			"  request encoding: query (json: HTTP 400: code 20001: Either timePeriod or both startDate and endDate are required; query: meta.pageSize 1)",
			"  last_month: pagination FAILED as configured, the exporter would export up 0: HTTP 404, Twilio error 71003: Usage export not found",
			"Result: FAILED: 0 of 2 billing groups served as configured",
		}},
		{name: "more series than max_series", config: "  max_series: 5\n", code: 1, want: []string{
			"  this_month: REFUSED by the exporter's rules, it would export up 0: collector: the records make ",
			"more than twilio.max_series (5)",
			"Result: FAILED: 0 of 2 billing groups served as configured",
		}},
		{name: "the same usage twice: daily rows beside roll-ups", sim: func(o *usagesim.Options) { o.Shapes = usagesim.Shapes{OverlappingRollups: true} }, code: 1, want: []string{
			"  this_month: REFUSED by the exporter's rules, it would export up 0: collector: this_month: page 1 record 0 (",
			"  last_month: REFUSED by the exporter's rules, it would export up 0: collector: last_month: page 1 record 0 (",
			"Result: FAILED: 0 of 2 billing groups served as configured",
		}},
		{name: "scope missing", fault: &usagesim.Fault{Kind: usagesim.ScopeMissing}, code: 1, want: []string{
			"  this_month: pagination FAILED as configured, the exporter would export up 0: HTTP 403, Twilio error 70051: Authorization error: the OAuth app is missing a required scope; " +
				"the OAuth app lacks a scope: grant it twilio/billing-insights/usage/read in the Twilio Console",
		}},
		{name: "scope refused by the token endpoint", fault: &usagesim.Fault{Kind: usagesim.TokenScopeRefused}, code: 1, want: []string{
			`Token endpoint %TOKEN%: REFUSED: twilio: get OAuth token: token endpoint refused the scope asked for by client ID "probe-client" (HTTP 400: invalid_scope ` +
				"The requested scope is invalid, unknown, or not granted to this client): the OAuth app lacks a scope: grant it twilio/billing-insights/usage/read",
		}},
		{name: "wrong credentials", secret: wrongSecret, code: 1, want: []string{
			`Token endpoint %TOKEN%: REFUSED: twilio: get OAuth token: token endpoint rejected the credentials of client ID "probe-client" (HTTP 401: invalid_client Client authentication failed: unknown client_id or wrong client_secret): check client_id and client_secret`,
			"Result: no billing group probed; fix the credentials or twilio.token_url first",
		}},
		{name: "unknown billing group", extra: "  - id: commerce_billingprofile_NOSUCHGROUP\n", code: 1, want: []string{
			// Without a name the ID is the label; every other mention,
			// even one the API echoes, is masked.
			"Billing group commerce_billingprofile_NOSUCHGROUP (commerce_billingprofile_…ROUP)\n" +
				"  request encoding: no answer shows it (json: HTTP 404: code 20404: The requested resource /v2/Usage/BillingGroups/commerce_billingprofile_…ROUP/Records was not found",
			"  this_month: first page: HTTP 404, Twilio error 20404: The requested resource /v2/Usage/BillingGroups/commerce_billingprofile_…ROUP/Records was not found\n" +
				"  this_month: pagination FAILED as configured, the exporter would export up 0: HTTP 404, Twilio error 20404: The requested resource /v2/Usage/BillingGroups/commerce_billingprofile_…ROUP/Records was not found\n",
			"Result: FAILED: 2 of 3 billing groups served as configured",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := usagesim.Options{ClientID: probeClientID, ClientSecret: probeSecret}
			if tc.sim != nil {
				tc.sim(&opts)
			}
			sim := usagesim.New(opts)
			if tc.fault != nil {
				sim.InjectFault(*tc.fault)
			}
			inst, err := usagesim.Start(sim, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = inst.Close() })
			secret := tc.secret
			if secret == "" {
				secret = probeSecret
			}
			cfg := fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s\n  client_id: %s\n  client_secret: %s\n  page_size: 10\n%sbilling_groups:\n",
				inst.URL, inst.TokenURL, probeClientID, secret, tc.config)
			for _, g := range groups {
				cfg += fmt.Sprintf("  - id: %s\n    name: %s\n", g.ID, g.Name)
			}
			cfg += tc.extra
			path := filepath.Join(t.TempDir(), "config.yml")
			writeTestFile(t, path, cfg)

			out, err := exec.Command(bin, "--twilio.probe", "--config.file="+path).CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			text := string(out)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "%TOKEN%", inst.TokenURL)
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, s := range []string{probeSecret, wrongSecret} {
				if strings.Contains(text, s) {
					t.Errorf("output contains a client secret")
				}
			}
			if tc.code == 0 {
				// Every period (this_month, yesterday, last_month,
				// this_year) of every group fetched to the end.
				if n := len(pagination.FindAllString(text, -1)); n != 4*len(groups) {
					t.Errorf("%d periods paginated to the end, want %d", n, 4*len(groups))
				}
				// and accepted by the exporter's money rule.
				if n := len(addsUp.FindAllString(text, -1)); n != 4*len(groups) {
					t.Errorf("%d periods add up, want %d", n, 4*len(groups))
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", text)
			}
		})
	}
}
