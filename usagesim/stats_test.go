package usagesim

import (
	"net/http"
	"reflect"
	"sync"
	"testing"
)

func TestStats(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	h.token()
	q := map[string]any{"timePeriod": "THIS_MONTH"}
	h.post(groupA, tok, q)
	h.post(groupA, tok, q)
	h.post(groupB, "", q)                                        // 401 still counts
	h.post("commerce_billingprofile_NOPE", tok, q)               // 404 still counts
	h.do(h.request(http.MethodGet, recordsPath(groupC), "", "")) // 405 still counts
	h.do(h.request(http.MethodGet, "/v2/token", "", ""))
	h.do(h.request(http.MethodGet, "/elsewhere", "", "")) // counts nowhere
	h.s.InjectFault(Fault{Kind: RateLimit, Times: 1})
	h.post(groupA, tok, q)
	want := Stats{
		TokenRequests:   3,
		RecordsRequests: 6,
		ByGroup:         map[string]int{groupA: 3, groupB: 1, groupC: 1, "commerce_billingprofile_NOPE": 1},
		Faults:          1,
	}
	got := h.s.Stats()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Stats() = %+v\nwant      %+v", got, want)
	}
	got.ByGroup[groupA] = 100
	if h.s.Stats().ByGroup[groupA] != 3 {
		t.Error("changing the returned map changed the server's counts")
	}
	h.s.ResetStats()
	if got := h.s.Stats(); !reflect.DeepEqual(got, Stats{ByGroup: map[string]int{}}) {
		t.Errorf("after ResetStats: %+v", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.token()
	const workers, each = 8, 15
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			group := []string{groupA, groupB, groupC}[w%3]
			for i := 0; i < each; i++ {
				switch i % 5 {
				case 0:
					h.s.InjectFault(Fault{Kind: RateLimit, Times: 1, BillingGroup: group})
				case 1:
					h.s.ClearFaults()
				case 2:
					h.s.Stats()
				case 3:
					h.s.Records(group, "THIS_MONTH")
				}
				req := h.request(http.MethodPost, recordsPath(group), "application/json", `{"timePeriod":"THIS_MONTH","pageSize":3}`)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := h.ts.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 429 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}(w)
	}
	wg.Wait()
	st := h.s.Stats()
	if st.RecordsRequests != workers*each || st.ByGroup[groupA]+st.ByGroup[groupB]+st.ByGroup[groupC] != workers*each {
		t.Errorf("stats %+v, want %d records requests", st, workers*each)
	}
}
