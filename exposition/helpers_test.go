package exposition

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/internal/testsupport"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	idA = "commerce_billingprofile_AAA111"
	idB = "commerce_billingprofile_BBB222"
)

// The groups of the tests: one with a name and a budget, one without.
var (
	groupA = collector.Group{ID: idA, Label: "marketing", Budget: &collector.Budget{Amount: 5000, Currency: "USD"}, TTL: monthToDate}
	groupB = collector.Group{ID: idB, Label: idB, TTL: monthToDate}
)

// monthToDate fetches month to date only, with a 15-minute lifetime.
var monthToDate = [collector.NumPeriods]time.Duration{collector.ThisMonth: 15 * time.Minute}

// answers is a fetcher that answers each group with what set last gave it.
type answers struct {
	mu    sync.Mutex
	usage map[string]*twilio.Usage
	errs  map[string]error
}

func (a *answers) set(id string, u *twilio.Usage, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.usage[id], a.errs[id] = u, err
}

// FetchRecords implements collector.Fetcher.
func (a *answers) FetchRecords(_ context.Context, id string, _ twilio.Query) (*twilio.Usage, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.usage[id], a.errs[id]
}

// harness is a cache of groups over answers, on a hand-moved clock.
type harness struct {
	fake  *answers
	clock *testsupport.Clock
	cache *collector.Cache
}

func newHarness(t *testing.T, groups []collector.Group) *harness {
	t.Helper()
	h := &harness{
		fake:  &answers{usage: map[string]*twilio.Usage{}, errs: map[string]error{}},
		clock: testsupport.NewClock(time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)),
	}
	h.cache = collector.NewCache(h.fake, groups, collector.CacheOptions{RetryInterval: time.Minute, Now: h.clock.Now, Concurrency: 2})
	t.Cleanup(h.cache.Close)
	return h
}

func day(s string) time.Time {
	t, err := time.Parse(twilio.DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// usageA has two products in one category and one category in two units.
func usageA(asOf string) *twilio.Usage {
	return &twilio.Usage{AsOf: day(asOf), Pages: 1, Records: []twilio.Record{
		{ProductName: "United States-Outbound-Voice", ProductCategory: "voice-outbound", UsageUnit: "minutes", UsageAmount: testsupport.Decimal("3000"), PriceAmount: testsupport.Decimal("42.1"), Currency: "USD"},
		{ProductName: "Mexico-Outbound-Voice", ProductCategory: "voice-outbound", UsageUnit: "minutes", UsageAmount: testsupport.Decimal("250"), PriceAmount: testsupport.Decimal("9.75"), Currency: "USD"},
		{ProductName: "Conversations-Storage", ProductCategory: "conversations", UsageUnit: "GB", UsageAmount: testsupport.Decimal("1.5"), PriceAmount: testsupport.Decimal("0.15"), Currency: "USD"},
		{ProductName: "Conversations-Users", ProductCategory: "conversations", UsageUnit: "users", UsageAmount: testsupport.Decimal("80"), PriceAmount: testsupport.Decimal("4"), Currency: "USD"},
	}}
}

// usageB is one category in EUR, costing cost.
func usageB(asOf string, cost string) *twilio.Usage {
	return &twilio.Usage{AsOf: day(asOf), Pages: 1, Records: []twilio.Record{
		{ProductName: "Verify-SMS", ProductCategory: "verify", UsageUnit: "verifications", UsageAmount: testsupport.Decimal("40"), PriceAmount: testsupport.Decimal(cost), Currency: "EUR"},
	}}
}

// registryFor is a pedantic registry of c alone.
func registryFor(c prometheus.Collector) *prometheus.Registry {
	r := prometheus.NewPedanticRegistry()
	r.MustRegister(c)
	return r
}
