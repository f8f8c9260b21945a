package usagesim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestStartAndClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := New(Options{Groups: testGroups(), Now: func() time.Time { return midMarch }})
	in, err := Start(s, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(in.URL, "http://127.0.0.1:") || in.TokenURL != in.URL+"/v2/token" || in.Server != s {
		t.Errorf("URL %q TokenURL %q", in.URL, in.TokenURL)
	}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	resp, err := client.PostForm(in.TokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenAnswer
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v %+v", err, tok)
	}
	post := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, in.URL+recordsPath(groupA), strings.NewReader(`{"timePeriod":"THIS_MONTH"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return client.Do(req)
	}
	resp, err = post()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := s.Records(groupA, "THIS_MONTH")
	var pg WirePage
	if err := json.Unmarshal(body, &pg); err != nil || len(pg.Records) != len(want) {
		t.Fatalf("records: %v, %d records, want %d", err, len(pg.Records), len(want))
	}

	// A request stuck in a Slow fault must not hold up Close.
	s.InjectFault(Fault{Kind: Slow, Delay: time.Minute})
	errc := make(chan error, 1)
	go func() {
		resp, err := post()
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		errc <- err
	}()
	for s.Stats().RecordsRequests < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := in.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v with a slow request in flight", d)
	}
	if err := <-errc; err == nil {
		t.Error("the slow request succeeded after Close, want an error")
	}
	if err := in.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := post(); err == nil {
		t.Error("request after Close succeeded")
	}
}

func TestStartBadAddress(t *testing.T) {
	_, err := Start(New(Options{}), "256.0.0.1:0")
	if err == nil || !strings.HasPrefix(err.Error(), "usagesim: listen on 256.0.0.1:0: ") {
		t.Errorf("error %v, want it to start with usagesim: listen on 256.0.0.1:0: ", err)
	}
}
