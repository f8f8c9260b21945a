package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim/simtest"
)

// simulatorWith starts a simulated Usage API accepting testSecret, with
// edited options.
func simulatorWith(t *testing.T, edit func(*usagesim.Options)) (*usagesim.Server, *usagesim.Instance) {
	t.Helper()
	opts := usagesim.Options{ClientID: "test-client", ClientSecret: testSecret}
	edit(&opts)
	sim := usagesim.New(opts)
	inst := simtest.Start(t, sim)
	return sim, inst
}

const encodingInfoHelp = `# HELP twilio_exporter_request_encoding_info Where the Usage API request parameters travel: setting is twilio.request_encoding; encoding is the one in use (unknown until auto has learnt it); detection is configured, pending, found or none_honoured (no encoding was honoured and JSON is sent).
# TYPE twilio_exporter_request_encoding_info gauge
`

// TestRequestEncodingLearnt: against an API that reads the query string
// only, the default (auto) learns it on the first refresh, logs it once,
// exports it, serves every group, and learns again after a reload that
// changes the twilio section, not after one that does not.
func TestRequestEncodingLearnt(t *testing.T) {
	sim, inst := simulatorWith(t, func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly })
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	// Month to date only, so that every scrape refreshes everything.
	beforeGroups(t, path, "periods: {yesterday: {enabled: false}, last_month: {enabled: false}, this_year: {enabled: false}}\n")
	o := testOptions()
	o.cacheTTL = time.Millisecond // every scrape refreshes every group
	ex := newTestExporterWith(t, path, o)
	info := func(want string) {
		t.Helper()
		if err := testutil.GatherAndCompare(ex.gatherer, strings.NewReader(encodingInfoHelp+want), "twilio_exporter_request_encoding_info"); err != nil {
			t.Error(err)
		}
	}
	learnt := func() int {
		return strings.Count(ex.logs.String(), `msg="Learnt where the Usage API reads request parameters"`)
	}
	info("twilio_exporter_request_encoding_info{detection=\"pending\",encoding=\"unknown\",setting=\"auto\"} 1\n")

	// Learnt once per client, not per scrape: the first scrape costs two
	// requests more than the next ones (JSON refused, query honoured).
	var requests []int
	for range 3 {
		sim.ResetStats()
		_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
		for _, g := range []string{"marketing", "support"} {
			if !strings.Contains(body, `twilio_billing_group_up{billing_group="`+g+`"} 1`) {
				t.Fatalf("%s is not up:\n%s", g, grepTwilio(body))
			}
		}
		requests = append(requests, sim.Stats().RecordsRequests)
	}
	if requests[0] != requests[1]+2 || requests[1] != requests[2] {
		t.Errorf("records requests per scrape %v, want the first two more than the others", requests)
	}
	info("twilio_exporter_request_encoding_info{detection=\"found\",encoding=\"query\",setting=\"auto\"} 1\n")
	if n := learnt(); n != 1 || !strings.Contains(ex.logs.String(), `request_encoding=query answers="json: HTTP 400: code 20001: Either timePeriod or both startDate and endDate are required; query: meta.pageSize 1"`) {
		t.Errorf("logged %d times, want once with what each encoding got:\n%s", n, ex.logs.String())
	}

	// A new name is not a new twilio section: nothing to learn again.
	writeConfig(t, path, inst, strings.Replace(groupsAB, "name: support", "name: helpdesk", 1))
	if code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	info("twilio_exporter_request_encoding_info{detection=\"found\",encoding=\"query\",setting=\"auto\"} 1\n")

	// A new page size is: the new client learns again, once.
	writeConfig(t, path, inst, groupsAB)
	beforeGroups(t, path, "  page_size: 7\n")
	sim.ResetStats()
	if code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	// The reload starts a refresh in the background, so the new client may
	// already have learnt by now: what proves it learnt again is the second
	// log line below, after a scrape that waits for that refresh.
	_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
	if !strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) {
		t.Fatalf("support is not up after the reload:\n%s", grepTwilio(body))
	}
	info("twilio_exporter_request_encoding_info{detection=\"found\",encoding=\"query\",setting=\"auto\"} 1\n")
	if n := learnt(); n != 2 {
		t.Errorf("logged %d times in all, want twice (start and the reload)", n)
	}

	// An explicit encoding is exported as configured; nothing is learnt.
	writeConfig(t, path, inst, groupsAB)
	beforeGroups(t, path, "  request_encoding: query\n")
	if code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	info("twilio_exporter_request_encoding_info{detection=\"configured\",encoding=\"query\",setting=\"query\"} 1\n")
	if strings.Contains(ex.logs.String(), testSecret) {
		t.Error("logs contain the client secret")
	}
}

// TestTokenAloneLogged: an API that wants continuations to carry the token
// alone is served exactly, and the finding is logged once.
func TestTokenAloneLogged(t *testing.T) {
	_, inst := simulatorWith(t, func(o *usagesim.Options) { o.TokenAlone = true })
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	beforeGroups(t, path, "  page_size: 7\n")
	ex := newTestExporter(t, path)
	_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
	for _, g := range []string{"marketing", "support"} {
		if !strings.Contains(body, `twilio_billing_group_up{billing_group="`+g+`"} 1`) {
			t.Fatalf("%s is not up:\n%s", g, grepTwilio(body))
		}
	}
	refusal := "HTTP 400: code 20001: Invalid request: a page token must be sent alone, it carries the query's parameters"
	msg := `msg="The Usage API refused how continuations were sent; they are sent with the page token alone, the token also in the query string from now on" refusal="` +
		refusal + `; sent again with the query's parameters repeated, the token only where the encoding puts parameters: ` + refusal + `"`
	if n := strings.Count(ex.logs.String(), msg); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, ex.logs.String())
	}
}
