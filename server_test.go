package main

import (
	"github.com/twilio-billing-exporter/twilio_billing_exporter/server"

	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerDropsStalledAndIdleConnections: a POST that promises a body and
// never sends it, and a keep-alive connection left idle, are closed by the
// server. The timeouts are shortened here; server.TestServerTimeoutsCoverEveryScrape checks the real
// ones are set.
func TestServerDropsStalledAndIdleConnections(t *testing.T) {
	checkLeaks(t)
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	ex := newTestExporter(t, path)
	srv := server.HTTPServer(ex.srv.Handler(), testOptions().server())
	srv.ReadTimeout, srv.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	}()

	// closedWithin reports whether the server closes conn within d, after
	// whatever answer it sends.
	closedWithin := func(conn net.Conn, d time.Duration) (string, bool) {
		_ = conn.SetReadDeadline(time.Now().Add(d))
		got, err := io.ReadAll(conn)
		return string(got), err == nil // EOF from the server; a timeout is an error
	}
	for _, tc := range []struct{ name, request string }{
		{"POST with a body never sent", "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n"},
		{"idle keep-alive connection", "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, tc.request); err != nil {
			t.Fatal(err)
		}
		got, closed := closedWithin(conn, 10*time.Second)
		conn.Close()
		if !closed {
			t.Errorf("%s: the connection was still open after 10s", tc.name)
		}
		if resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: answer %q (err %v), want 200 before the close", tc.name, got, err)
		}
	}
}

// TestReloadEndpointNeedsLifecycleFlag: without --web.enable-lifecycle,
// POST /-/reload is refused with 403 and reloads nothing; SIGHUP's path
// (exporter.reload) still works.
func TestReloadEndpointNeedsLifecycleFlag(t *testing.T) {
	_, inst := simulator(t)
	path := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, path, inst, groupsAB)
	o := testOptions()
	o.lifecycle = false
	ex := newTestExporterWith(t, path, o)
	writeConfig(t, path, inst, "  - id: "+strings.Fields(groupsAB)[2]+"\n    name: helpdesk\n")
	code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload")
	if want := "Lifecycle API is not enabled: start with --web.enable-lifecycle, or send SIGHUP.\n"; code != http.StatusForbidden || body != want {
		t.Errorf("POST /-/reload = %d %q, want 403 %q", code, body, want)
	}
	if _, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics"); strings.Contains(body, "helpdesk") || !strings.Contains(body, `billing_group="support"`) {
		t.Errorf("the refused reload changed the configuration:\n%s", grepTwilio(body))
	}
	if err := ex.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics"); !strings.Contains(body, `billing_group="helpdesk"`) {
		t.Errorf("SIGHUP's reload did not apply the new configuration:\n%s", grepTwilio(body))
	}
}

// TestReloadNeverEchoesSecretFileValue: a secret pasted where the path of
// client_secret_file belongs appears neither in the POST /-/reload answer
// nor in the log; a secret file every user may read is warned about at start
// and at every reload.
func TestReloadNeverEchoesSecretFileValue(t *testing.T) {
	_, inst := simulator(t)
	dir := t.TempDir()
	path, secretPath := filepath.Join(dir, "config.yml"), filepath.Join(dir, "secret")
	if err := os.WriteFile(secretPath, []byte(testSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	withFile := func(file string) string {
		return fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s\n  client_id: test-client\n  client_secret_file: %s\nbilling_groups:\n%s",
			inst.URL, inst.TokenURL, file, groupsAB)
	}
	if err := os.WriteFile(path, []byte(withFile(secretPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	ex := newTestExporter(t, path)
	if err := os.WriteFile(path, []byte(withFile(testSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload")
	want := "Failed to reload config: config: twilio.client_secret_file: cannot read the file: no such file or directory (the value must be the path of a file holding the client secret)\n"
	if code != http.StatusInternalServerError || body != want {
		t.Errorf("POST /-/reload = %d %q, want 500 %q", code, body, want)
	}
	if err := os.WriteFile(path, []byte(withFile(secretPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := request(t, http.MethodPost, ex.server.URL+"/-/reload"); code != http.StatusOK {
		t.Errorf("good reload = %d %q", code, body)
	}
	logs := ex.logs.String()
	if strings.Contains(logs, testSecret) || strings.Contains(body, testSecret) {
		t.Errorf("the secret was echoed:\n%s", logs)
	}
	const warning = `level=warn msg="twilio.client_secret_file is readable by every user of this machine (mode 0644): restrict it, e.g. chmod 600 or 640"`
	if n := strings.Count(logs, warning); n != 2 {
		t.Errorf("%d warnings about the secret file's mode, want 2 (start and good reload):\n%s", n, logs)
	}
}

// TestLabelValuesFromAPICleaned: control and bidi-control characters the
// Usage API sends in product categories, product names and units reach no
// label value; each becomes U+FFFD, the same way on every scrape. (A
// currency that is not an ISO 4217 code is refused outright.)
func TestLabelValuesFromAPICleaned(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"hostile-api-token","token_type":"Bearer","expires_in":3600}`)
	})
	mux.HandleFunc("POST /v2/Usage/BillingGroups/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"records":[{"productName":"Refund\u202e\u0007","productCategory":"sms\u001b[2J\u0000","usage":{"amount":"1","unit":"seg\r\nments"},"price":{"amount":2,"currency":"USD"}}],"meta":{}}`)
	})
	api := httptest.NewServer(mux)
	defer api.Close()
	path := filepath.Join(t.TempDir(), "config.yml")
	cfg := fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s/v2/token\n  client_id: c\n  client_secret: %s\nperiods:\n  yesterday: {enabled: false}\n  last_month: {enabled: false}\n  this_year: {enabled: false}\nbilling_groups:\n  - id: commerce_billingprofile_A1\n    name: hostile\n",
		api.URL, api.URL, testSecret)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ex := newTestExporter(t, path)
	for range 2 {
		_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
		for _, want := range []string{
			`twilio_billing_group_cost{billing_group="hostile",currency="USD",product_category="sms` + "\uFFFD[2J\uFFFD" + `"} 2`,
			`twilio_billing_group_usage{billing_group="hostile",product_category="sms` + "\uFFFD[2J\uFFFD" + `",unit="seg` + "\uFFFD\uFFFD" + `ments"} 1`,
			`twilio_billing_group_product_info{product="Refund` + "\uFFFD\uFFFD" + `",product_category="sms` + "\uFFFD[2J\uFFFD" + `"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("exposition lacks %q:\n%s", want, grepTwilio(body))
			}
		}
		if strings.ContainsAny(body, "\x1b\x00\x07\r\u202e\u2028") || strings.Contains(body, `\r`) {
			t.Errorf("a control character reached the exposition:\n%q", grepTwilio(body))
		}
	}
}

// TestRotatedSecretFileUsedWithoutReload: the client secret file is read
// again for every new token, so a Secret rotated in place (Kubernetes
// updates a mounted Secret volume) is picked up without a restart or reload.
func TestRotatedSecretFileUsedWithoutReload(t *testing.T) {
	_, inst := simulator(t)
	dir := t.TempDir()
	path, secretPath := filepath.Join(dir, "config.yml"), filepath.Join(dir, "secret")
	if err := os.WriteFile(secretPath, []byte("the-old-revoked-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s\n  client_id: test-client\n  client_secret_file: %s\nbilling_groups:\n%s",
		inst.URL, inst.TokenURL, secretPath, groupsAB)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	o := testOptions()
	o.cacheTTL = 200 * time.Millisecond // and so the retry interval
	ex := newTestExporterWith(t, path, o)
	if _, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics"); !strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 0`) {
		t.Fatalf("with a rejected secret, want support up 0:\n%s", grepTwilio(body))
	}
	if err := os.WriteFile(secretPath, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body, _ := request(t, http.MethodGet, ex.server.URL+"/metrics")
		if strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated secret was not used within 10s:\n%s", grepTwilio(body))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(ex.logs.String(), "Reloaded") {
		t.Errorf("a reload happened; the test means to show none is needed")
	}
}

// TestConfigCheckWarnsAboutReadableSecretFile: --config.check accepts a
// configuration whose secret file every user may read, with a warning on
// stderr that names the key and the mode but not the file's content; and
// says of a group without a name that its ID becomes the label.
func TestConfigCheckWarnsAboutReadableSecretFile(t *testing.T) {
	dir := t.TempDir()
	path, secretPath := filepath.Join(dir, "config.yml"), filepath.Join(dir, "secret")
	if err := os.WriteFile(secretPath, []byte(testSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secretPath, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	cfg := "twilio:\n  api_url: https://usage.example.com\n  client_id: c\n  client_secret_file: " + secretPath +
		"\nbilling_groups:\n  - id: commerce_billingprofile_A1\n    name: a\n  - id: commerce_billingprofile_SECRETPART5678\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"--config.check", "--config.file", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// The group without a name is warned about too, its ID masked.
	want := "warning: billing_groups[1] has no name: its ID (commerce_billingprofile_…5678) will be exported in full as the billing_group label, and shown in logs and on the landing page; Twilio calls the ID a secure credential, so set name to export a name instead\n" +
		"warning: twilio.client_secret_file is readable by every user of this machine (mode 0644): restrict it, e.g. chmod 600 or 640\n"
	if stderr.String() != want || strings.Contains(stdout.String()+stderr.String(), testSecret) {
		t.Errorf("stderr %q, want %q (and no secret anywhere)", stderr.String(), want)
	}
}
