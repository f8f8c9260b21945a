package usagesim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Group is one simulated billing group and the shape of its usage.
type Group struct {
	// ID is the billing group ID: "commerce_billingprofile_" and alphanumerics.
	ID string
	// Name is a human name; demo mode uses it as the billing group label.
	Name string
	// Currency is the ISO 4217 code of every price, e.g. USD, EUR, GBP.
	Currency string
	// Categories is how many product categories the group uses; 0 means all
	// of the catalog's. More than the catalog holds adds synthetic categories
	// of one product each (synthetic-001, ...), for load tests of large
	// organizations. Some categories hold more than one product, so there
	// are more records.
	Categories int
	// Scale sets the spend: a month costs of the order of Scale*1000 currency
	// units. 0 means 1.
	Scale float64
	// Seed makes the group's data deterministic.
	Seed int64
	// Launches are product categories the group starts using part-way: no
	// usage (and no records) before their From, steady spend after it. A
	// launched category is never one of the group's other categories.
	Launches []Launch
}

// Launch is a product category of the catalog that a group starts using at
// From, at a steady Daily spend in the group's currency: a new product going
// live, or one being abused.
type Launch struct {
	Category string
	From     time.Time
	Daily    float64
}

// groupIDPrefix starts every billing group ID.
const groupIDPrefix = "commerce_billingprofile_"

// DemoGroups returns the billing groups served by default: marketing (USD, 40
// categories), support (EUR) and platform (GBP).
func DemoGroups() []Group {
	return []Group{
		{ID: "commerce_billingprofile_DEMO01MARKETING", Name: "marketing", Currency: "USD", Categories: 40, Scale: 12, Seed: 101},
		{ID: "commerce_billingprofile_DEMO02SUPPORT", Name: "support", Currency: "EUR", Categories: 15, Scale: 20, Seed: 202},
		{ID: "commerce_billingprofile_DEMO03PLATFORM", Name: "platform", Currency: "GBP", Categories: 25, Scale: 7.5, Seed: 303},
	}
}

// product is one line of the simulated product catalog.
type product struct {
	name       string
	category   string
	unit       string
	fractional bool    // usage is reported with decimals (minutes, GB, hours)
	daily      float64 // typical usage per day before scaling
	unitPrice  float64 // typical price of one unit before scaling
}

// catalog lists every simulated product, grouped by category. The first two
// categories are always served: sms-outbound holds two products in the same
// unit, and whatsapp-outbound holds two products in different units, so
// consumers must sum and split records by category and unit.
var catalog = [...]product{
	{"United States-Outbound-SMS", "sms-outbound", "segments", false, 40000, 0.0079},
	{"Canada-Outbound-SMS", "sms-outbound", "segments", false, 6000, 0.0075},
	{"WhatsApp-Business-Initiated-Conversations", "whatsapp-outbound", "conversations", false, 800, 0.0147},
	{"WhatsApp-Outbound-Messages", "whatsapp-outbound", "messages", false, 5000, 0.005},
	{"United States-Inbound-SMS", "sms-inbound", "segments", false, 9000, 0.0079},
	{"United States-Outbound-LC-MMS", "mms-outbound", "segments", false, 3000, 0.02},
	{"United States-Inbound-MMS", "mms-inbound", "segments", false, 500, 0.02},
	{"United Kingdom-Outbound-SMS", "sms-outbound-international", "segments", false, 2000, 0.0524},
	{"Germany-Outbound-SMS", "sms-outbound-international", "segments", false, 1200, 0.0946},
	{"United States-Short-Code-Outbound-SMS", "short-code-sms-outbound", "segments", false, 5000, 0.0079},
	{"A2P-10DLC-Carrier-Fees", "a2p-10dlc-carrier-fees", "segments", false, 30000, 0.003},
	{"RCS-Business-Messages", "rcs-outbound", "messages", false, 1000, 0.0083},
	{"Facebook-Messenger-Messages", "messenger-outbound", "messages", false, 300, 0.005},
	{"United States-Outbound-Local-Voice", "voice-outbound-local", "minutes", true, 7000, 0.014},
	{"United States-Inbound-Local-Voice", "voice-inbound-local", "minutes", true, 5000, 0.0085},
	{"United States-Inbound-TollFree-Voice", "voice-inbound-tollfree", "minutes", true, 3000, 0.022},
	{"United States-Outbound-TollFree-Voice", "voice-outbound-tollfree", "minutes", true, 800, 0.014},
	{"United Kingdom-Outbound-Mobile-Voice", "voice-outbound-international", "minutes", true, 400, 0.0405},
	{"Elastic-SIP-Trunking-Termination", "voice-sip-trunking", "minutes", true, 2000, 0.0045},
	{"Conference-Participant-Minutes", "voice-conference", "minutes", true, 1500, 0.0018},
	{"Answering-Machine-Detection", "voice-amd", "calls", false, 800, 0.0075},
	{"Voice-Recordings", "recordings", "minutes", true, 3000, 0.0025},
	{"Voice-Recordings-Storage", "recordings-storage", "GB", true, 0.8, 0.1},
	{"Voice-Transcriptions", "transcriptions", "minutes", true, 500, 0.05},
	{"Voice-Intelligence-Transcription", "voice-intelligence", "minutes", true, 400, 0.035},
	{"Voice-Insights-Advanced-Features", "voice-insights", "minutes", true, 2000, 0.004},
	{"United States-Local-Phone-Numbers", "phone-numbers-local", "numbers", false, 2, 1.15},
	{"United States-TollFree-Phone-Numbers", "phone-numbers-tollfree", "numbers", false, 1, 2.15},
	{"United Kingdom-Mobile-Phone-Numbers", "phone-numbers-mobile", "numbers", false, 0.5, 1},
	{"Verify-SMS-Verifications", "verify-sms", "verifications", false, 1500, 0.05},
	{"Verify-Voice-Verifications", "verify-voice", "verifications", false, 100, 0.05},
	{"Verify-Email-Verifications", "verify-email", "verifications", false, 300, 0.05},
	{"Conversations-Monthly-Active-Users", "conversations-active-users", "users", false, 200, 0.05},
	{"Lookup-Line-Type-Intelligence", "lookups", "requests", false, 2000, 0.008},
	{"Lookup-Caller-Name", "lookups-caller-name", "requests", false, 300, 0.01},
	{"Video-Group-Rooms-Participant-Minutes", "video-group-rooms", "minutes", true, 1000, 0.004},
	{"Video-Recordings-Compositions", "video-compositions", "minutes", true, 100, 0.01},
	{"Flex-Active-User-Hours", "flex-active-user-hours", "hours", true, 80, 0.1},
	{"Studio-Flow-Executions", "studio-executions", "requests", false, 1200, 0.001},
	{"Serverless-Functions-Invocations", "functions-invocations", "requests", false, 20000, 0.0001},
	{"Sync-Actions", "sync-actions", "requests", false, 10000, 0.0003},
	{"TaskRouter-Tasks", "taskrouter-tasks", "requests", false, 600, 0.0025},
	{"Proxy-Active-Sessions", "proxy-sessions", "sessions", false, 50, 0.1},
	{"Notify-Push-Notifications", "notify-push", "requests", false, 8000, 0.0001},
	{"Link-Shortening-Clicks", "link-shortening", "requests", false, 2000, 0.0002},
	{"Messaging-Media-Storage", "media-storage", "GB", true, 0.05, 0.1},
	{"Super-SIM-Data", "super-sim-data", "GB", true, 2, 0.1},
	{"Super-SIM-Active-SIMs", "super-sim-active", "sims", false, 3, 0.1},
	{"Trust-Hub-Business-Profile-Vetting", "trust-hub", "requests", false, 1, 4},
}

// catalogCategories returns the categories of the catalog in catalog order.
func catalogCategories() []string {
	var cats []string
	for i, p := range catalog {
		if i == 0 || catalog[i-1].category != p.category {
			cats = append(cats, p.category)
		}
	}
	return cats
}

// fixedCategories is how many leading catalog categories every group serves.
const fixedCategories = 2

// Usage curve parameters: usage per day swings weekly and over a longer,
// group-specific period, never dropping to zero.
const (
	weeklyAmplitude = 0.25
	slowAmplitude   = 0.15
)

// curveEpochUnix is day zero of every usage curve, 2020-01-01T00:00:00Z. A
// nearby epoch keeps the cumulative curves small enough for exact float
// arithmetic.
const curveEpochUnix = 1577836800

// series is one product's usage curve in one group.
type series struct {
	product    product
	daily      float64 // mean usage per day
	unitPrice  float64
	weekPhase  float64
	slowPhase  float64
	slowPeriod float64 // days
	// launch, when set, is when a launched product starts: no usage
	// before, a steady daily rate after.
	launch time.Time
}

// cumulative is the usage from day zero to t: the integral of the daily
// rate daily*(1 + a1*sin(2πd/7+p1) + a2*sin(2πd/P+p2)), or of the steady
// rate from its launch.
func (c *series) cumulative(t time.Time) float64 {
	const secondsPerDay = 86400
	days := func(t time.Time) float64 {
		return float64(t.Unix()-curveEpochUnix)/secondsPerDay + float64(t.Nanosecond())/(secondsPerDay*1e9)
	}
	d := days(t)
	if !c.launch.IsZero() {
		return c.daily * max(0, d-days(c.launch))
	}
	const week = 7.0
	w := weeklyAmplitude * week / (2 * math.Pi) * math.Cos(2*math.Pi*d/week+c.weekPhase)
	s := slowAmplitude * c.slowPeriod / (2 * math.Pi) * math.Cos(2*math.Pi*d/c.slowPeriod+c.slowPhase)
	return c.daily * (d - w - s)
}

// usageUnits is the cumulative usage at t in the smallest reported unit:
// whole units for counts, thousandths for fractional units.
func (c *series) usageUnits(t time.Time) int64 {
	u := c.cumulative(t)
	if c.product.fractional {
		u *= 1000
	}
	return int64(math.Floor(u))
}

// priceCents is the cumulative price at t in hundredths of the currency: the
// reported cumulative usage times the unit price, so no usage costs nothing.
func (c *series) priceCents(t time.Time) int64 {
	units := float64(c.usageUnits(t))
	if c.product.fractional {
		units /= 1000
	}
	return int64(math.Floor(units * c.unitPrice * 100))
}

// record is the usage and price of the series over [from, to): differences of
// the floored cumulative curves, so that records of adjacent ranges add up to
// the record of their union exactly.
func (c *series) record(from, to time.Time, startDate, endDate, currency string) WireRecord {
	units := c.usageUnits(to) - c.usageUnits(from)
	cents := c.priceCents(to) - c.priceCents(from)
	amount := strconv.FormatInt(units, 10)
	if c.product.fractional {
		amount = strconv.FormatFloat(float64(units)/1000, 'f', -1, 64)
	}
	return WireRecord{
		ProductName:     c.product.name,
		ProductCategory: c.product.category,
		StartDate:       startDate,
		EndDate:         endDate,
		Usage:           WireUsage{Amount: amount, Unit: c.product.unit},
		Price:           WirePrice{Amount: float64(cents) / 100, Currency: currency},
	}
}

// groupData is a group with its usage curves, sorted by category and name.
type groupData struct {
	group  Group
	series []series
}

// mix returns a well-spread 64-bit value for a seed and two keys (SplitMix64).
func mix(seed int64, a, b uint64) uint64 {
	x := uint64(seed) ^ (a+1)*0x9e3779b97f4a7c15 ^ (b+1)*0xc2b2ae3d27d4eb4f
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit01 returns a deterministic value in [0, 1) for a seed and two keys.
func unit01(seed int64, a, b uint64) float64 {
	return float64(mix(seed, a, b)>>11) / (1 << 53)
}

// validateGroup reports why g cannot be served, or nil.
func validateGroup(g Group) error {
	rest, ok := strings.CutPrefix(g.ID, groupIDPrefix)
	if !ok || rest == "" {
		return fmt.Errorf("ID %q must be %q followed by letters and digits", g.ID, groupIDPrefix)
	}
	for _, r := range rest {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("ID %q must be %q followed by letters and digits", g.ID, groupIDPrefix)
		}
	}
	if len(g.Currency) != 3 || strings.ToUpper(g.Currency) != g.Currency || strings.ContainsFunc(g.Currency, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return fmt.Errorf("group %s: currency %q is not an ISO 4217 code", g.ID, g.Currency)
	}
	if g.Categories < 0 || g.Scale < 0 || math.IsNaN(g.Scale) || math.IsInf(g.Scale, 0) {
		return fmt.Errorf("group %s: Categories and Scale must not be negative", g.ID)
	}
	cats := catalogCategories()
	for i, l := range g.Launches {
		switch {
		case !slices.Contains(cats[fixedCategories:], l.Category):
			return fmt.Errorf("group %s: Launches[%d].Category %q is not a catalog category other than %s", g.ID, i, l.Category, strings.Join(cats[:fixedCategories], ", "))
		case l.From.IsZero():
			return fmt.Errorf("group %s: Launches[%d].From is not set", g.ID, i)
		case !(l.Daily > 0) || math.IsInf(l.Daily, 0):
			return fmt.Errorf("group %s: Launches[%d].Daily must be greater than 0", g.ID, i)
		}
	}
	return nil
}

// buildGroup derives the usage curves of g: the fixed leading categories, then
// a seed-ordered choice of the rest, scaled so a 30-day month costs about
// Scale*1000.
func buildGroup(g Group) groupData {
	cats := catalogCategories()
	n := g.Categories
	if n == 0 || n > len(cats) {
		n = len(cats)
	}
	products := catalog[:]
	for i := range g.Categories - n {
		cat := fmt.Sprintf("synthetic-%03d", i+1)
		products = append(products, product{"Synthetic-Product-" + cat[len("synthetic-"):], cat, "requests", false, 1000, 0.001})
		cats = append(cats, cat)
	}
	n = max(n, g.Categories)
	launched := map[string]Launch{}
	for _, l := range g.Launches {
		launched[l.Category] = l
	}
	var rest []string
	for _, c := range cats[fixedCategories:] {
		if _, ok := launched[c]; !ok {
			rest = append(rest, c)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool {
		return mix(g.Seed, hashString(rest[i]), 5) < mix(g.Seed, hashString(rest[j]), 5)
	})
	chosen := map[string]bool{}
	for i, c := range append(cats[:fixedCategories:fixedCategories], rest...) {
		if i >= n {
			break
		}
		chosen[c] = true
	}
	scale := g.Scale
	if scale == 0 {
		scale = 1
	}
	var out []series
	dailySpend := 0.0
	for i, p := range products {
		if !chosen[p.category] {
			continue
		}
		k := uint64(i)
		c := series{
			product:    p,
			daily:      p.daily * (0.5 + unit01(g.Seed, k, 0)),
			unitPrice:  p.unitPrice * (0.9 + 0.2*unit01(g.Seed, k, 1)),
			weekPhase:  2 * math.Pi * unit01(g.Seed, k, 2),
			slowPhase:  2 * math.Pi * unit01(g.Seed, k, 3),
			slowPeriod: 17 + 20*unit01(g.Seed, k, 4),
		}
		dailySpend += c.daily * c.unitPrice
		out = append(out, c)
	}
	factor := scale * 1000 / 30 / dailySpend
	for i := range out {
		out[i].daily *= factor
	}
	// Launched products: the category's spend split evenly between its
	// products, each at its catalog unit price.
	for _, cat := range slices.Sorted(maps.Keys(launched)) {
		l := launched[cat]
		var ps []product
		for _, p := range products {
			if p.category == cat {
				ps = append(ps, p)
			}
		}
		for _, p := range ps {
			out = append(out, series{product: p, unitPrice: p.unitPrice, daily: l.Daily / float64(len(ps)) / p.unitPrice, launch: l.From.UTC()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].product.category != out[j].product.category {
			return out[i].product.category < out[j].product.category
		}
		return out[i].product.name < out[j].product.name
	})
	return groupData{group: g, series: out}
}

// hashString is FNV-1a over s.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
