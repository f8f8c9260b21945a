package twilio_test

import (
	"strings"
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// Page tokens are offsets into the data as it is when each page is asked
// for. A data update landing between two pages of one pagination (a first
// page as of yesterday, the later ones as of today) makes the pages of two
// states of the data; the client reads them again from the first page once,
// and refuses a second change.
func TestSimulatorDataUpdateMidPagination(t *testing.T) {
	in := startSim(t)
	c, _ := newSimClient(t, in, nil)
	q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: 7}
	want, asOf := expected(t, in, supportID, "THIS_MONTH")
	pages := pagesFor(len(want), 7)

	// The stale first page really is other data: served with the new pages
	// it would make a sum that no asOf had.
	in.Server.InjectFault(usagesim.Fault{Kind: usagesim.StaleData, Page: 1, Times: 1})
	stale, err := c.FetchPage(t.Context(), supportID, q, twilio.PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !stale.AsOf.Equal(asOf.AddDate(0, 0, -1)) {
		t.Fatalf("stale page asOf %s, want the day before %s", stale.AsOf, asOf)
	}
	same := len(stale.Records) == 7
	for i := 0; same && i < 7; i++ {
		same = stale.Records[i].UsageAmount.Cmp(want[i].UsageAmount) == 0 && stale.Records[i].PriceAmount.Cmp(want[i].PriceAmount) == 0
	}
	if same {
		t.Fatal("the stale first page holds today's figures: the test would not show a mix")
	}

	in.Server.ResetStats()
	in.Server.InjectFault(usagesim.Fault{Kind: usagesim.StaleData, Page: 1, Times: 1})
	u, err := c.FetchRecords(t.Context(), supportID, q)
	if err != nil {
		t.Fatal(err)
	}
	checkUsage(t, "after one update", u, want, asOf, pages)
	if !u.Restarted {
		t.Error("Restarted is false after the asOf moved")
	}
	checkStats(t, in, 0, 2+pages, 1) // the stale page and the new page 2, then the whole pagination

	// The data moves again after the restart: refused, naming the dates.
	in.Server.InjectFault(usagesim.Fault{Kind: usagesim.StaleData, Page: 1, Times: 2})
	_, err = c.FetchRecords(t.Context(), supportID, q)
	wantErr := "twilio: records for " + supportMasked + ": the data changed while it was paged, twice: asOf went from 2026-03-14 to 2026-03-15, and after starting again from the first page from 2026-03-14 to 2026-03-15"
	if !strings.HasPrefix(errText(err), wantErr) {
		t.Errorf("got %s\nwant %s...", errText(err), wantErr)
	}
}

// A period whose export is not ready (71003) is that period's problem:
// detection asks this month, so last month's refusal neither fails it nor
// blocks the other periods, which are exact.
func TestSimulatorExportNotFoundForOnePeriod(t *testing.T) {
	in := startSimWith(t, func(o *usagesim.Options) { o.Params = usagesim.ParamsQueryOnly })
	in.Server.InjectFault(usagesim.Fault{Kind: usagesim.ExportNotFound, TimePeriod: "LAST_MONTH"})
	c, _ := newSimClient(t, in, func(c *twilio.Config) { c.Encoding = twilio.EncodingAuto })

	_, err := c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: twilio.LastMonth})
	wantErr := "twilio: records for " + supportMasked + ": page 1: HTTP 404: code 71003: Usage export not found"
	if !strings.HasPrefix(errText(err), wantErr) {
		t.Errorf("last month: got %s\nwant %s...", errText(err), wantErr)
	}
	if tr := c.RequestShape(); tr.Encoding != twilio.EncodingQuery || !tr.Detection.Honoured {
		t.Fatalf("transport %+v: want query learnt from this month", tr)
	}
	for _, p := range []twilio.TimePeriod{twilio.ThisMonth, twilio.Yesterday, twilio.ThisYear} {
		u, err := c.FetchRecords(t.Context(), supportID, twilio.Query{TimePeriod: p, PageSize: 7})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want, asOf := expected(t, in, supportID, string(p))
		checkUsage(t, string(p), u, want, asOf, pagesFor(len(want), 7))
	}
}

// A leap year's 1 January to 31 December is 366 days, one more than the API
// accepts in one request: the client fetches it in two parts, never sends
// it whole, and the records are exactly the simulator's days.
func TestSimulatorLeapYearInParts(t *testing.T) {
	in := startSim(t)
	c, _ := newSimClient(t, in, nil)
	q := twilio.Query{StartDate: "2024-01-01", EndDate: "2024-12-31", AggregationPeriod: twilio.Daily, PageSize: 1000}
	if err := q.Validate(); err == nil || !strings.Contains(err.Error(), "spans 366 days") {
		t.Fatalf("Validate: %v, want the 366 days refused in one request", err)
	}
	u, err := c.FetchRecords(t.Context(), supportID, q)
	if err != nil {
		t.Fatal(err)
	}
	want := toRecords(t, in.Server.DailyRecords(supportID, "2024-01-01", "2024-12-31"))
	checkRecords(t, "leap year", u.Records, want)
	if st := in.Server.Stats(); st.RecordsRequests != u.Pages || u.Pages < 2 {
		t.Errorf("%d requests for %d pages: want every page once, the range in two parts", st.RecordsRequests, u.Pages)
	}
	first, last := u.Records[0], u.Records[len(u.Records)-1]
	if first.Page != 1 || last.Page != u.Pages {
		t.Errorf("pages numbered %d to %d, want 1 to %d across the parts", first.Page, last.Page, u.Pages)
	}

}
