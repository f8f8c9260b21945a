package twilio_test

import (
	"testing"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// TestSimulatorShapes runs the client against each way the simulator can
// differ from the docs' example. The client reads every shape; the rows it
// returns say where each was (page, index), so that the cache can name the
// rows it refuses to count twice.
func TestSimulatorShapes(t *testing.T) {
	const size = 7
	q := twilio.Query{TimePeriod: twilio.ThisMonth, PageSize: size}

	t.Run("lower-case currency, records under items", func(t *testing.T) {
		in := startSim(t)
		in.Server.SetShapes(usagesim.Shapes{LowerCaseCurrency: true, RecordsKey: "items"})
		c, _ := newSimClient(t, in, nil)
		want, asOf := expected(t, in, supportID, "THIS_MONTH")
		u, err := c.FetchRecords(t.Context(), supportID, q)
		if err != nil {
			t.Fatal(err)
		}
		checkUsage(t, "support", u, want, asOf, pagesFor(len(want), size))
		for i, r := range u.Records {
			if r.Currency != "EUR" || r.Page != i/size+1 || r.Index != i%size {
				t.Fatalf("record %d: currency %q, page %d index %d; want EUR, page %d index %d", i, r.Currency, r.Page, r.Index, i/size+1, i%size)
			}
		}
	})

	t.Run("DAILY rows by default", func(t *testing.T) {
		// The client asks for MONTHLY, so an API whose default is DAILY
		// answers with the month's roll-ups.
		in := startSim(t)
		in.Server.SetShapes(usagesim.Shapes{DefaultAggregation: "DAILY"})
		c, _ := newSimClient(t, in, nil)
		want, asOf := expected(t, in, supportID, "THIS_MONTH")
		u, err := c.FetchRecords(t.Context(), supportID, q)
		if err != nil {
			t.Fatal(err)
		}
		checkUsage(t, "support", u, want, asOf, pagesFor(len(want), size))
	})

	t.Run("DAILY rows whatever is asked", func(t *testing.T) {
		in := startSim(t)
		in.Server.SetShapes(usagesim.Shapes{DefaultAggregation: "DAILY", IgnoreAggregation: true})
		c, _ := newSimClient(t, in, nil)
		want, _ := expected(t, in, supportID, "THIS_MONTH")
		u, err := c.FetchRecords(t.Context(), supportID, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Records) != 15*len(want) {
			t.Fatalf("%d records, want %d products x 15 days", len(u.Records), len(want))
		}
		type sums struct{ usage, price twilio.Decimal }
		got := map[string]sums{}
		for _, r := range u.Records {
			if !r.StartDate.Equal(r.EndDate) {
				t.Fatalf("record %+v is not a DAILY row", r)
			}
			s := got[r.ProductName]
			s.usage, s.price = s.usage.Add(r.UsageAmount), s.price.Add(r.PriceAmount)
			got[r.ProductName] = s
		}
		for _, r := range want {
			if g := got[r.ProductName]; g.usage.Cmp(r.UsageAmount) != 0 || g.price.Cmp(r.PriceAmount) != 0 {
				t.Errorf("%s: DAILY rows sum to %s %s, the month is %s %s", r.ProductName, g.usage, g.price, r.UsageAmount, r.PriceAmount)
			}
		}
	})

	t.Run("MONTHLY roll-ups beside DAILY rows", func(t *testing.T) {
		in := startSim(t)
		in.Server.SetShapes(usagesim.Shapes{OverlappingRollups: true})
		c, _ := newSimClient(t, in, nil)
		want, _ := expected(t, in, supportID, "THIS_MONTH")
		u, err := c.FetchRecords(t.Context(), supportID, q)
		if err != nil {
			t.Fatal(err)
		}
		// The client returns what the API said; refusing it is the
		// cache's job (collector.Sum).
		if len(u.Records) != 16*len(want) {
			t.Fatalf("%d records, want %d roll-ups and %d DAILY rows", len(u.Records), len(want), 15*len(want))
		}
		checkRecords(t, "roll-ups", u.Records[:len(want)], want)
	})

	t.Run("offset pages repeat a row", func(t *testing.T) {
		in := startSim(t)
		in.Server.SetShapes(usagesim.Shapes{RepeatAcrossPages: true})
		c, _ := newSimClient(t, in, nil)
		want, _ := expected(t, in, supportID, "THIS_MONTH")
		u, err := c.FetchRecords(t.Context(), supportID, q)
		if err != nil {
			t.Fatal(err)
		}
		if pages := pagesFor(len(want)-1, size-1); u.Pages != pages || len(u.Records) != len(want)+pages-1 {
			t.Fatalf("%d pages, %d records; want %d pages, %d records", u.Pages, len(u.Records), pages, len(want)+pages-1)
		}
		last, first := u.Records[size-1], u.Records[size]
		if !recordEqual(last, first) || last.Page != 1 || last.Index != size-1 || first.Page != 2 || first.Index != 0 {
			t.Errorf("page 1's last record %+v, page 2's first %+v: want the same row at page 1 index %d and page 2 index 0", last, first, size-1)
		}
	})
}
