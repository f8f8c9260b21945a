package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

func TestReloadEndpoint(t *testing.T) {
	sim, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	ex := newTestExporter(t, path)

	scrape := func() string {
		_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
		return body
	}
	if body := scrape(); !strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) {
		t.Fatalf("first scrape lacks support up 1:\n%s", grepTwilio(body))
	}
	fetches := sim.Stats().RecordsRequests

	code, body, hdr := request(t, http.MethodGet, ex.server.URL+"/-/reload")
	if code != http.StatusMethodNotAllowed || hdr.Get("Allow") != http.MethodPost || body != "This endpoint requires a POST request.\n" {
		t.Fatalf("GET /-/reload = %d %q (Allow %q), want 405 with Allow: POST", code, body, hdr.Get("Allow"))
	}

	// A bad config is rejected, the error is returned, the old config stays.
	if err := os.WriteFile(path, []byte("twilio:\n  clinet_id: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body, _ = request(t, http.MethodPost, ex.server.URL+"/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, `Failed to reload config: config: line 2: unknown key "clinet_id" in twilio`) {
		t.Fatalf("POST /-/reload with a bad config = %d %q", code, body)
	}
	if err := testutil.GatherAndCompare(ex.gatherer, strings.NewReader(`# HELP twilio_exporter_config_last_reload_successful 1 if the latest configuration reload succeeded, else 0.
# TYPE twilio_exporter_config_last_reload_successful gauge
twilio_exporter_config_last_reload_successful 0
`), "twilio_exporter_config_last_reload_successful"); err != nil {
		t.Fatal(err)
	}
	if body := scrape(); !strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) || !strings.Contains(body, `twilio_billing_group_up{billing_group="marketing"} 1`) {
		t.Fatalf("after a bad reload the old groups should still be served:\n%s", grepTwilio(body))
	}

	// A good config renames one group and drops the other: the renamed group
	// keeps its cache (no new fetch), the dropped one disappears.
	writeConfig(t, path, inst, "  - id: "+usagesim.DemoGroups()[1].ID+"\n    name: helpdesk\n")
	code, body, _ = request(t, http.MethodPost, ex.server.URL+"/-/reload")
	if code != http.StatusOK || body != "Configuration reloaded.\n" {
		t.Fatalf("POST /-/reload with a good config = %d %q", code, body)
	}
	after := scrape()
	if !strings.Contains(after, `twilio_billing_group_up{billing_group="helpdesk"} 1`) || strings.Contains(after, `billing_group="marketing"`) || strings.Contains(after, `billing_group="support"`) {
		t.Fatalf("after a good reload want only helpdesk:\n%s", grepTwilio(after))
	}
	if got := sim.Stats().RecordsRequests; got != fetches {
		t.Fatalf("records requests after reload = %d, want %d (cache kept)", got, fetches)
	}
	if !strings.Contains(after, "twilio_exporter_config_last_reload_successful 1") {
		t.Fatalf("reload success gauge not back to 1:\n%s", grepTwilio(after))
	}
	if strings.Contains(ex.logs.String(), testSecret) {
		t.Fatalf("logs contain the client secret:\n%s", ex.logs.String())
	}
}

// TestReloadAppliesPageSize: page_size is a client setting, so a reload that
// changes it changes the pageSize of the next requests.
func TestReloadAppliesPageSize(t *testing.T) {
	sim := usagesim.New(usagesim.Options{ClientID: "test-client", ClientSecret: testSecret})
	var mu sync.Mutex
	var sizes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Records") {
			body, _ := io.ReadAll(r.Body)
			var params struct {
				PageSize int `json:"pageSize"`
			}
			_ = json.Unmarshal(body, &params)
			mu.Lock()
			sizes = append(sizes, strconv.Itoa(params.PageSize))
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	inst := &usagesim.Instance{URL: srv.URL, TokenURL: srv.URL + "/v2/token"}
	path := filepath.Join(t.TempDir(), "config.yml")
	group := "  - id: " + usagesim.DemoGroups()[1].ID + "\n    periods: {yesterday: {enabled: false}, last_month: {enabled: false}, this_year: {enabled: false}}\n"
	writeConfig(t, path, inst, group)
	withPageSize := func(n int) {
		// An explicit encoding: auto would send pageSize 1 to learn it.
		beforeGroups(t, path, fmt.Sprintf("  request_encoding: json\n  page_size: %d\n", n))
	}
	withPageSize(5)
	clk := testsupport.NewClock(time.Now())
	o := testOptions()
	o.now = clk.Now
	o.cacheTTL = time.Second // the simulator's data is dated by the real clock
	ex := newTestExporterWith(t, path, o)
	request(t, http.MethodGet, ex.server.URL+"/metrics")
	writeConfig(t, path, inst, group)
	withPageSize(500)
	if code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	clk.Add(o.cacheTTL) // the next scrape refreshes
	request(t, http.MethodGet, ex.server.URL+"/metrics")
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) < 2 || sizes[0] != "5" || sizes[len(sizes)-1] != "500" {
		t.Fatalf("pageSize sent: %v, want 5s before the reload and 500 after", sizes)
	}
}

// writeAtomically replaces path with body, so that a concurrent reload reads
// either the old or the new file, never half of one.
func writeAtomically(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// configText is a valid config for inst with the given groups section.
func configText(inst *usagesim.Instance, groups string) string {
	return fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s\n  client_id: test-client\n  client_secret: %s\nbilling_groups:\n%s",
		inst.URL, inst.TokenURL, testSecret, groups)
}

// TestFaultReloadDuringConcurrentScrapes reloads good and bad configs while
// scrapers scrape: every scrape answers 200 with exactly the groups of one
// good config, a bad config never takes effect, and nothing races (-race).
func TestFaultReloadDuringConcurrentScrapes(t *testing.T) {
	checkLeaks(t)
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	g := usagesim.DemoGroups()
	configs := []string{
		configText(inst, groupsAB),
		configText(inst, fmt.Sprintf("  - id: %s\n    name: marketing\n  - id: %s\n    name: platform\n", g[0].ID, g[2].ID)),
		configText(inst, "  - id: commerce_billingprofile_bad-id\n"),
		configText(inst, fmt.Sprintf("  - id: %s\n    name: marketing\n    product_categories: {include: \"^sms-\"}\n  - id: %s\n    name: support\n", g[0].ID, g[1].ID)),
	}
	valid := map[string]bool{"marketing=1 support=1": true, "marketing=1 platform=1": true}
	writeAtomically(t, path, configs[0])
	ex := newTestExporter(t, path)

	const scrapers, scrapes, reloads = 4, 30, 40
	var wg sync.WaitGroup
	errs := make(chan string, scrapers*scrapes)
	for range scrapers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range scrapes {
				resp, err := http.Get(ex.server.URL + "/metrics")
				if err != nil {
					errs <- err.Error()
					return
				}
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				resp.Body.Close()
				// A group that was just added may still be fetching: its
				// up is 0 until the first refresh, so accept 0 too.
				got := strings.ReplaceAll(upValues(b.String()), "=0", "=1")
				if resp.StatusCode != http.StatusOK || !valid[got] {
					errs <- fmt.Sprintf("scrape %d with groups %q", resp.StatusCode, upValues(b.String()))
				}
			}
		}()
	}
	failed := 0
	for i := range reloads {
		c := configs[i%len(configs)]
		writeAtomically(t, path, c)
		code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload")
		bad := strings.Contains(c, "bad-id")
		if bad {
			failed++
		}
		if (code == http.StatusOK) == bad {
			t.Errorf("reload %d = %d %q", i, code, body)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := strings.Count(ex.logs.String(), "Configuration reload failed"); n != failed {
		t.Errorf("%d reload failure lines, want %d (one per failed reload)", n, failed)
	}
}
