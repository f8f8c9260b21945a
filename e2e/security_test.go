package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// Known secrets the security tests search every byte of output for.
const (
	securityClientSecret = "oauth-client-secret-5b1d9e0c7a"
	securityWebUser      = "prometheus"
	securityWebPassword  = "web-basic-auth-password-8e41f2"
)

// tokenRecorder serves a simulated Usage API and remembers every bearer
// token its token endpoint issued.
type tokenRecorder struct {
	sim    *usagesim.Server
	mu     sync.Mutex
	tokens []string
}

func (tr *tokenRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/token") {
		tr.sim.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	tr.sim.ServeHTTP(rec, r)
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &answer) == nil && answer.AccessToken != "" {
		tr.mu.Lock()
		tr.tokens = append(tr.tokens, answer.AccessToken)
		tr.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (tr *tokenRecorder) issued() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.tokens...)
}

// recordedOutput collects every byte the exporter showed anyone: its own
// output and every HTTP answer, headers included.
type recordedOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *recordedOutput) add(what string, p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(&o.b, "\n--- %s\n", what)
	o.b.Write(p)
}

func (o *recordedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// call sends one request to the exporter and records its whole answer.
func (o *recordedOutput) call(t *testing.T, client *http.Client, method, url, user, password string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var hdr bytes.Buffer
	_ = resp.Header.Write(&hdr)
	o.add(method+" "+url+" "+resp.Status, append(hdr.Bytes(), body...))
	return resp.StatusCode, string(body)
}

// bcryptHash hashes password at the cheapest cost bcrypt allows.
func bcryptHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func writeTestFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecuritySecretsNeverInOutput runs the real binary, logging at debug
// level, through --config.check, start-up, scrapes (with and without basic
// auth), Usage API failures, token rotation and rejection, and good and bad
// reloads over HTTP and SIGHUP, and searches all of its output and every HTTP
// answer for the OAuth client secret, every bearer token the simulated API
// issued, and the web basic-auth password.
func TestSecuritySecretsNeverInOutput(t *testing.T) {
	bin := exporterBinary(t)
	sim := usagesim.New(usagesim.Options{ClientID: "security-client", ClientSecret: securityClientSecret})
	rec := &tokenRecorder{sim: sim}
	api := httptest.NewServer(rec)
	defer api.Close()
	groups := usagesim.DemoGroups()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yml")
	secretPath := filepath.Join(dir, "client_secret")
	writeTestFile(t, secretPath, securityClientSecret+"\n")
	inline := fmt.Sprintf("twilio:\n  api_url: %s\n  token_url: %s/v2/token\n  client_id: security-client\n  client_secret: %s\nbilling_groups:\n  - id: %s\n    name: marketing\n  - id: %s\n    name: support\n",
		api.URL, api.URL, securityClientSecret, groups[0].ID, groups[1].ID)
	fromFile := strings.Replace(inline, "client_secret: "+securityClientSecret, "client_secret_file: "+secretPath, 1)
	// Mistakes that put the secret next to the key in error: an unknown key
	// holding it, a wrong type, a missing client_id beside it, and the
	// secret pasted where the path of its file belongs.
	badConfigs := []string{
		strings.Replace(inline, "client_secret:", "client_secret_typo:", 1),
		strings.Replace(inline, "client_secret:", "client_secret_file:", 1),
		strings.Replace(inline, "client_secret: "+securityClientSecret, "client_secret: ["+securityClientSecret+"]", 1),
		strings.Replace(inline, "  client_id: security-client\n", "", 1),
	}
	webPath := filepath.Join(dir, "web.yml")
	writeTestFile(t, webPath, fmt.Sprintf("basic_auth_users:\n  %s: %s\n", securityWebUser, bcryptHash(t, securityWebPassword)))

	out := &recordedOutput{}
	// --config.check, good and bad.
	writeTestFile(t, cfgPath, inline)
	for i, c := range append([]string{inline, fromFile}, badConfigs...) {
		writeTestFile(t, cfgPath, c)
		cmd := exec.Command(bin, "--config.check", "--config.file="+cfgPath, "--log.level=debug")
		b, err := cmd.CombinedOutput()
		out.add(fmt.Sprintf("--config.check #%d (err %v)", i, err), b)
		if (err == nil) != (i < 2) {
			t.Errorf("--config.check #%d: err %v, output:\n%s", i, err, b)
		}
	}
	// A start-up refused for a bad config.
	writeTestFile(t, cfgPath, badConfigs[0])
	b, err := exec.Command(bin, "--config.file="+cfgPath, "--log.level=debug", "--web.listen-address="+freeAddr(t)).CombinedOutput()
	out.add(fmt.Sprintf("refused start-up (err %v)", err), b)
	if err == nil {
		t.Errorf("the exporter started with a bad config:\n%s", b)
	}

	writeTestFile(t, cfgPath, inline)
	addr := freeAddr(t)
	p := start(t, bin, "--config.file="+cfgPath, "--web.config.file="+webPath, "--web.listen-address="+addr, "--web.enable-lifecycle",
		"--log.level=debug", "--cache.ttl=1s")
	base := "http://" + addr
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	pollUntil(t, 20*time.Second, func() bool {
		resp, err := client.Get(base + "/-/healthy")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := out.call(t, client, http.MethodGet, base+"/metrics", securityWebUser, securityWebPassword)
		if code == http.StatusOK && strings.Count(body, "} 1\n") > 0 && strings.Contains(body, `twilio_billing_group_up{billing_group="support"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exporter did not serve support up 1 within 20s:\n%s", p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	scrape := func() {
		time.Sleep(1100 * time.Millisecond) // past --cache.ttl and the retry interval
		out.call(t, client, http.MethodGet, base+"/metrics", securityWebUser, securityWebPassword)
		out.call(t, client, http.MethodGet, base+"/metrics", securityWebUser, securityWebPassword)
	}
	for _, path := range []string{"/", "/metrics", "/-/healthy", "/-/ready"} {
		out.call(t, client, http.MethodGet, base+path, securityWebUser, securityWebPassword)
		if code, _ := out.call(t, client, http.MethodGet, base+path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials = %d, want 401", path, code)
		}
		if code, _ := out.call(t, client, http.MethodGet, base+path, securityWebUser, securityWebPassword+"x"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong password = %d, want 401", path, code)
		}
	}

	// Failures: throttling, a broken page, rotated tokens, rejected and
	// unreachable token endpoint.
	for _, f := range []usagesim.Fault{
		{Kind: usagesim.RateLimit, BillingGroup: groups[1].ID},
		{Kind: usagesim.BadRecord, BillingGroup: groups[0].ID},
		{Kind: usagesim.ExpiredToken, Page: 1, Times: 2},
	} {
		sim.InjectFault(f)
		scrape()
		sim.ClearFaults()
	}
	for _, k := range []usagesim.FaultKind{usagesim.TokenReject, usagesim.TokenDown} {
		sim.ExpireTokens()
		sim.InjectFault(usagesim.Fault{Kind: k})
		scrape()
		sim.ClearFaults()
	}
	sim.ExpireTokens()
	scrape()

	// Reloads: good (secret from a file) and bad over HTTP, then SIGHUP.
	writeTestFile(t, cfgPath, fromFile)
	if code, body := out.call(t, client, http.MethodPost, base+"/-/reload", securityWebUser, securityWebPassword); code != http.StatusOK {
		t.Errorf("good reload = %d %q", code, body)
	}
	if code, _ := out.call(t, client, http.MethodPost, base+"/-/reload", "", ""); code != http.StatusUnauthorized {
		t.Errorf("reload without credentials = %d, want 401", code)
	}
	for _, c := range badConfigs {
		writeTestFile(t, cfgPath, c)
		if code, body := out.call(t, client, http.MethodPost, base+"/-/reload", securityWebUser, securityWebPassword); code != http.StatusInternalServerError {
			t.Errorf("bad reload = %d %q, want 500", code, body)
		}
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	writeTestFile(t, cfgPath, inline)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sim.ExpireTokens()
	scrape()
	pollUntil(t, 10*time.Second, func() bool { return strings.Count(p.out.String(), "Reloaded configuration") >= 2 })

	stopAndDrain(t, p)
	out.add("exporter output", []byte(p.out.String()))

	tokens := rec.issued()
	if len(tokens) < 4 {
		t.Fatalf("the simulated API issued %d bearer tokens; the test needs several to prove anything", len(tokens))
	}
	all := out.String()
	for _, must := range []string{"Refresh failed", "Configuration reload failed", "<secret>", "401 Unauthorized", "level=debug"} {
		if !strings.Contains(all, must) {
			t.Errorf("the output lacks %q: the test did not go where it meant to", must)
		}
	}
	secrets := map[string]string{"the OAuth client secret": securityClientSecret, "the web basic-auth password": securityWebPassword}
	for i, tok := range tokens {
		secrets[fmt.Sprintf("bearer token #%d", i+1)] = tok
	}
	for what, s := range secrets {
		if i := strings.Index(all, s); i >= 0 {
			t.Errorf("%s appears in the output: ...%s...", what, all[max(0, i-300):i])
		}
	}
}

// stopAndDrain sends SIGTERM and waits, so that the output is complete.
func stopAndDrain(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 10*time.Second, func() bool { return strings.Contains(p.out.String(), "Shutting down") })
}

func pollUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "twilio_billing_exporter test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverCert issues a certificate for 127.0.0.1 and returns it and its key
// as PEM.
func (ca *testCA) serverCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestSecurityWebConfigTLSAndBasicAuth serves the exporter over TLS with basic
// auth from --web.config.file (certificates made here, a bcrypt hash for the
// password): a client that trusts the CA and sends the password gets the
// metrics; no or wrong credentials get 401, on every endpoint including
// reload; plain HTTP and clients that do not trust the CA are refused; and a
// real Prometheus scrapes it with tls_config and basic_auth.
func TestSecurityWebConfigTLSAndBasicAuth(t *testing.T) {
	bin := exporterBinary(t)
	dir := t.TempDir()
	ca := newTestCA(t)
	certPEM, keyPEM := ca.serverCert(t)
	caPath, certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeTestFile(t, caPath, string(ca.pem))
	writeTestFile(t, certPath, string(certPEM))
	writeTestFile(t, keyPath, string(keyPEM))
	webPath := filepath.Join(dir, "web.yml")
	writeTestFile(t, webPath, fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		certPath, keyPath, securityWebUser, bcryptHash(t, securityWebPassword)))

	addr := freeAddr(t)
	p := start(t, bin, "--demo", "--web.config.file="+webPath, "--web.listen-address="+addr, "--web.enable-lifecycle")
	base := "https://" + addr
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	trusting := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer trusting.CloseIdleConnections()
	out := &recordedOutput{}
	pollUntil(t, 20*time.Second, func() bool {
		resp, err := trusting.Get(base + "/-/healthy")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	})

	for _, tc := range []struct {
		method, path, user, password string
		want                         int
	}{
		{http.MethodGet, "/metrics", securityWebUser, securityWebPassword, http.StatusOK},
		{http.MethodGet, "/", securityWebUser, securityWebPassword, http.StatusOK},
		{http.MethodGet, "/metrics", "", "", http.StatusUnauthorized},
		{http.MethodGet, "/metrics", securityWebUser, "wrong", http.StatusUnauthorized},
		{http.MethodGet, "/metrics", "someone", securityWebPassword, http.StatusUnauthorized},
		{http.MethodGet, "/metrics", securityWebUser, "", http.StatusUnauthorized},
		{http.MethodGet, "/", "", "", http.StatusUnauthorized},
		{http.MethodGet, "/-/healthy", "", "", http.StatusUnauthorized},
		{http.MethodPost, "/-/reload", "", "", http.StatusUnauthorized},
		{http.MethodPost, "/-/reload", securityWebUser, "wrong", http.StatusUnauthorized},
		{http.MethodPost, "/-/reload", securityWebUser, securityWebPassword, http.StatusOK},
	} {
		code, body := out.call(t, trusting, tc.method, base+tc.path, tc.user, tc.password)
		if code != tc.want {
			t.Errorf("%s %s as %q/%q = %d, want %d", tc.method, tc.path, tc.user, tc.password, code, tc.want)
		}
		if code == http.StatusOK && tc.path == "/metrics" && !strings.Contains(body, "twilio_billing_group_up{") {
			t.Errorf("authenticated scrape lacks twilio_billing_group_up:\n%s", body)
		}
		if code == http.StatusUnauthorized && strings.Contains(body, "twilio_") {
			t.Errorf("%s %s without valid credentials leaked metrics:\n%s", tc.method, tc.path, body)
		}
	}

	// Plain HTTP to the TLS port is refused.
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "twilio_") {
		t.Errorf("plain HTTP to the TLS port = %d %q, want 400 without metrics", resp.StatusCode, body)
	}
	// A client that does not trust the test CA does not get through.
	distrusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	if _, err := distrusting.Get(base + "/metrics"); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("a client without the CA: err = %v, want an unknown authority error", err)
	}
	distrusting.CloseIdleConnections()

	// A real Prometheus scrapes it with tls_config and basic_auth.
	prometheus := tool(t, "PROMETHEUS", "prometheus")
	promCfg := filepath.Join(dir, "prometheus.yml")
	writeTestFile(t, promCfg, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: twilio_billing
    scheme: https
    tls_config:
      ca_file: %s
    basic_auth:
      username: %s
      password: %s
    static_configs:
      - targets: [%q]
  - job_name: no_credentials
    scheme: https
    tls_config:
      ca_file: %s
    static_configs:
      - targets: [%q]
`, caPath, securityWebUser, securityWebPassword, addr, caPath, addr))
	promAddr := freeAddr(t)
	start(t, prometheus, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	prom := "http://" + promAddr
	waitHTTP(t, prom+"/-/ready", 60*time.Second)
	pollUntil(t, 30*time.Second, func() bool {
		return len(promQuery(t, prom, `up{job="twilio_billing"} == 1`)) == 1 &&
			len(promQuery(t, prom, `up{job="no_credentials"} == 0`)) == 1 &&
			len(promQuery(t, prom, `twilio_billing_group_up{job="twilio_billing"}`)) == 3
	})
	if strings.Contains(p.out.String(), securityWebPassword) || strings.Contains(out.String(), securityWebPassword) {
		t.Errorf("the basic-auth password appears in the exporter's output or answers")
	}
}

// TestSecurityRunsAsNonRootWithoutWritableFiles runs the binary as the
// container's user (65532, not root) in a directory it cannot write, with no
// writable HOME or TMPDIR, through start-up, scrapes and reloads: it needs no
// writable file, so the image runs with a read-only root filesystem. Switching
// user needs root, which CI has.
func TestSecurityRunsAsNonRootWithoutWritableFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root; this test needs root to switch to the container's user")
		}
		t.Skip("needs root to run the binary as user 65532")
	}
	src := exporterBinary(t)
	dir, err := os.MkdirTemp("", "tbe-nonroot")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "twilio_billing_exporter")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, bin, string(data))
	work := filepath.Join(dir, "work")
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o755}, {bin, 0o555}} {
		if err := os.Chmod(c.path, c.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(work, 0o555); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	cmd := exec.Command(bin, "--demo", "--web.listen-address="+addr, "--web.enable-lifecycle")
	cmd.Dir = work
	cmd.Env = []string{"HOME=/nonexistent", "TMPDIR=/nonexistent", "PATH=/nonexistent"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	out := &testsupport.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	}()
	base := "http://" + addr
	waitHTTP(t, base+"/-/ready", 15*time.Second)
	pollUntil(t, 20*time.Second, func() bool {
		return strings.Count(string(get(t, base+"/metrics")), `twilio_billing_group_up{`) == 3 &&
			!strings.Contains(string(get(t, base+"/metrics")), `twilio_billing_group_up{billing_group="marketing"} 0`)
	})
	resp, err := http.Post(base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("reload as user 65532 = %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 10*time.Second, func() bool { return strings.Count(out.String(), "Reloaded configuration") == 2 })
	get(t, base+"/metrics")
	if strings.Contains(out.String(), "level=error") {
		t.Errorf("errors while running as a non-root user without writable files:\n%s", out.String())
	}
	entries, err := os.ReadDir(work)
	if err != nil || len(entries) != 0 {
		t.Errorf("the working directory holds %v (err %v), want nothing", entries, err)
	}
}
