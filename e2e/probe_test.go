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
	addsUp := regexp.MustCompile(`(?m)^  (this_month|yesterday|last_month|this_year): records add up exactly: every row inside the period, none overlapping$`)
	for _, tc := range []struct {
		name   string
		sim    func(*usagesim.Options)
		config string // appended to the twilio section
		secret string // the client secret configured; probeSecret if empty
		extra  string // an extra billing group
		code   int
		want   []string
	}{
		{name: "parameters anywhere", code: 0, want: []string{
			"Token endpoint %TOKEN%: OK: HTTP 200, a Bearer token valid for 1h0m0s",
			"  request encoding: json (json: meta.pageSize 1)",
			"  page token parameter: pageToken, with the query's parameters repeated",
			"  request_encoding: json   # configured now: auto",
			"  page_token_param: pageToken",
			"Result: OK: all 2 billing groups answered",
		}},
		{name: "query string only", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly }, code: 0, want: []string{
			"  request encoding: query (json: HTTP 400: code 20001: Either timePeriod or both startDate and endDate are required; query: meta.pageSize 1)",
			"  request_encoding: query   # configured now: auto",
			"Result: OK: all 2 billing groups answered",
		}},
		{name: "query string only, no period means this month", sim: func(o *usagesim.Options) {
			o.Params = usagesim.ParamsQueryOnly
			o.DefaultTimePeriod = "THIS_MONTH"
		}, code: 0, want: []string{
			"  request encoding: query (json: meta.pageSize 50; query: meta.pageSize 1)",
			"Result: OK: all 2 billing groups answered",
		}},
		{name: "JSON body only", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsJSONOnly },
			config: "  request_encoding: query\n", code: 0, want: []string{
				"  request encoding: json (json: meta.pageSize 1)",
				"  request_encoding: json   # configured now: query",
				"Result: OK: all 2 billing groups answered",
			}},
		{name: "form body only", sim: func(o *usagesim.Options) { o.Params = usagesim.ParamsFormOnly }, code: 0, want: []string{
			"  request encoding: form (json: HTTP 400: code 20001: Unsupported Content-Type: send application/json or application/x-www-form-urlencoded; " +
				"query: HTTP 400: code 20001: Either timePeriod or both startDate and endDate are required; form: meta.pageSize 1)",
			"  request_encoding: form   # configured now: auto",
		}},
		{name: "page token named otherwise", sim: func(o *usagesim.Options) { o.PageTokenParam = "nextPageToken" }, code: 0, want: []string{
			"  page token parameter: nextPageToken, with the query's parameters repeated",
			"  page_token_param: nextPageToken   # configured now: pageToken",
			"Result: OK: all 2 billing groups answered",
		}},
		{name: "continuation carries the token alone", sim: func(o *usagesim.Options) { o.TokenAlone = true }, code: 0, want: []string{
			"  page token parameter: pageToken, sent alone (with the query repeated: HTTP 400, Twilio error 20001: Invalid request: a page token must be sent alone, it carries the query's parameters)",
			"  # continuations carry the page token alone: the exporter learns that by itself",
			"Result: OK: all 2 billing groups answered",
		}},
		{name: "the same usage twice: daily rows beside roll-ups", sim: func(o *usagesim.Options) { o.Shapes = usagesim.Shapes{OverlappingRollups: true} }, code: 1, want: []string{
			"  this_month: REFUSED by the exporter's rules, it would export up 0: page 1 record 0 (",
			"  last_month: REFUSED by the exporter's rules, it would export up 0: page 1 record 0 (",
			"Result: FAILED: 0 of 2 billing groups answered",
		}},
		{name: "wrong credentials", secret: wrongSecret, code: 1, want: []string{
			`Token endpoint %TOKEN%: REFUSED: twilio: get OAuth token: token endpoint rejected the credentials of client ID "probe-client" (HTTP 401: invalid_client Client authentication failed: unknown client_id or wrong client_secret): check client_id and client_secret`,
			"Result: no billing group probed; fix the credentials or twilio.token_url first",
		}},
		{name: "unknown billing group", extra: "  - id: commerce_billingprofile_NOSUCHGROUP\n", code: 1, want: []string{
			// Without a name the ID is the label; every other mention,
			// even one the API echoes, is masked.
			"Billing group commerce_billingprofile_NOSUCHGROUP (commerce_billingprofile_…ROUP)\n" +
				"  request encoding: no answer: HTTP 404, Twilio error 20404: The requested resource /v2/Usage/BillingGroups/commerce_billingprofile_…ROUP/Records was not found\n" +
				"  this_month: first page: HTTP 404, Twilio error 20404: The requested resource /v2/Usage/BillingGroups/commerce_billingprofile_…ROUP/Records was not found\n",
			"Result: FAILED: 2 of 3 billing groups answered",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := usagesim.Options{ClientID: probeClientID, ClientSecret: probeSecret}
			if tc.sim != nil {
				tc.sim(&opts)
			}
			inst, err := usagesim.Start(usagesim.New(opts), "127.0.0.1:0")
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
