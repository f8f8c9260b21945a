package twilio

import (
	"net/url"
	"slices"
	"testing"
)

func TestQueryValidate(t *testing.T) {
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"time period", Query{TimePeriod: ThisMonth}, "<nil>"},
		{"every time period", Query{TimePeriod: ThisYear, AggregationPeriod: Daily, PageSize: 100}, "<nil>"},
		{"date range", Query{StartDate: "2025-01-01", EndDate: "2025-01-31", AggregationPeriod: Monthly}, "<nil>"},
		{"single day", Query{StartDate: "2025-01-01", EndDate: "2025-01-01"}, "<nil>"},
		{"365 days", Query{StartDate: "2025-01-01", EndDate: "2025-12-31"}, "<nil>"},
		{"365 days over leap day", Query{StartDate: "2024-03-01", EndDate: "2025-02-28"}, "<nil>"},
		{"empty", Query{}, "twilio: query: set timePeriod, or startDate and endDate"},
		{"only filters", Query{ProductCategory: "sms", PageSize: 5}, "twilio: query: set timePeriod, or startDate and endDate"},
		{"period and start", Query{TimePeriod: ThisMonth, StartDate: "2025-01-01"},
			"twilio: query: timePeriod cannot be combined with startDate/endDate"},
		{"period and range", Query{TimePeriod: LastMonth, StartDate: "2025-01-01", EndDate: "2025-01-02"},
			"twilio: query: timePeriod cannot be combined with startDate/endDate"},
		{"start only", Query{StartDate: "2025-01-01"}, "twilio: query: startDate and endDate must be set together"},
		{"end only", Query{EndDate: "2025-01-01"}, "twilio: query: startDate and endDate must be set together"},
		{"end before start", Query{StartDate: "2025-02-01", EndDate: "2025-01-31"},
			"twilio: query: endDate 2025-01-31 is before startDate 2025-02-01"},
		{"366 days", Query{StartDate: "2025-01-01", EndDate: "2026-01-01"},
			"twilio: query: startDate 2025-01-01 to endDate 2026-01-01 spans 366 days, more than the 365 the API allows in one request (FetchRecords fetches such a range in parts)"},
		{"366 days with leap day", Query{StartDate: "2024-01-01", EndDate: "2024-12-31"},
			"twilio: query: startDate 2024-01-01 to endDate 2024-12-31 spans 366 days, more than the 365 the API allows in one request (FetchRecords fetches such a range in parts)"},
		{"impossible date", Query{StartDate: "2025-02-30", EndDate: "2025-03-01"},
			`twilio: query: startDate: "2025-02-30" is not a YYYY-MM-DD date`},
		{"short month", Query{StartDate: "2025-1-05", EndDate: "2025-03-01"},
			`twilio: query: startDate: "2025-1-05" is not a YYYY-MM-DD date`},
		{"timestamp end", Query{StartDate: "2025-01-01", EndDate: "2025-01-02T00:00:00Z"},
			`twilio: query: endDate: "2025-01-02T00:00:00Z" is not a YYYY-MM-DD date`},
		{"unknown period", Query{TimePeriod: "LAST_WEEK"},
			`twilio: query: unknown timePeriod "LAST_WEEK" (want YESTERDAY, THIS_MONTH, LAST_MONTH or THIS_YEAR)`},
		{"lower-case period", Query{TimePeriod: "this_month"},
			`twilio: query: unknown timePeriod "this_month" (want YESTERDAY, THIS_MONTH, LAST_MONTH or THIS_YEAR)`},
		{"unknown aggregation", Query{TimePeriod: Yesterday, AggregationPeriod: "WEEKLY"},
			`twilio: query: unknown aggregationPeriod "WEEKLY" (want DAILY or MONTHLY)`},
		{"negative page size", Query{TimePeriod: Yesterday, PageSize: -1}, "twilio: query: pageSize -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertErr(t, tt.q.Validate(), tt.want)
		})
	}
}

func TestQueryJSONBody(t *testing.T) {
	tests := []struct {
		name  string
		q     Query
		param string
		token string
		want  string
	}{
		{"period", Query{TimePeriod: ThisMonth}, "pageToken", "", `{"timePeriod":"THIS_MONTH"}`},
		{"everything", Query{StartDate: "2025-01-01", EndDate: "2025-01-31", ProductCategory: "sms",
			AggregationPeriod: Daily, PageSize: 50}, "pageToken", "tok/1=",
			`{"startDate":"2025-01-01","endDate":"2025-01-31","productCategory":"sms","aggregationPeriod":"DAILY","pageSize":50,"pageToken":"tok/1="}`},
		{"custom token name", Query{TimePeriod: Yesterday}, "PageToken", "x\"y",
			`{"timePeriod":"YESTERDAY","PageToken":"x\"y"}`},
		{"token only", Query{}, "pageToken", "t", `{"pageToken":"t"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.jsonBody(tt.param, tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestValidateBillingGroupID: a bad ID is refused saying what is wrong,
// and shown only masked: it may be a real ID with a typo, a credential.
func TestValidateBillingGroupID(t *testing.T) {
	const want = " (want commerce_billingprofile_ followed by letters and digits)"
	tests := []struct {
		id, want string
	}{
		{"commerce_billingprofile_ABC123", "<nil>"},
		{"commerce_billingprofile_x", "<nil>"},
		{"commerce_billingprofile_", `twilio: commerce_billingprofile_… is not a billing group ID: has nothing after commerce_billingprofile_` + want},
		{"", `twilio: the billing group ID is empty` + want},
		{"billingprofile_ABC", `twilio: … is not a billing group ID: does not start with commerce_billingprofile_` + want},
		{"Commerce_billingprofile_ABC", `twilio: … is not a billing group ID: does not start with commerce_billingprofile_` + want},
		{"commerce_billingprofile_AB/../x", `twilio: commerce_billingprofile_… is not a billing group ID: '/' at byte 26 is not a letter or digit` + want},
		{"commerce_billingprofile_AB C", `twilio: commerce_billingprofile_… is not a billing group ID: ' ' at byte 26 is not a letter or digit` + want},
		{"commerce_billingprofile_AB_C", `twilio: commerce_billingprofile_… is not a billing group ID: '_' at byte 26 is not a letter or digit` + want},
		{"commerce_billingprofile_ÄB", `twilio: commerce_billingprofile_… is not a billing group ID: '\u00c4' at byte 24 is not a letter or digit` + want},
		{"commerce_billingprofile_ABC\n", `twilio: commerce_billingprofile_… is not a billing group ID: '\n' at byte 27 is not a letter or digit` + want},
		{"commerce_billingprofile_SECRETTAIL1234-", `twilio: commerce_billingprofile_… is not a billing group ID: '-' at byte 38 is not a letter or digit` + want},
		{"commerce_billingprofile_SECRET\u202eTAIL1234", `twilio: commerce_billingprofile_…1234 is not a billing group ID: '\u202e' at byte 30 is not a letter or digit` + want},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			assertErr(t, ValidateBillingGroupID(tt.id), tt.want)
		})
	}
}

// TestMaskBillingGroupID: the prefix and the last four letters or digits,
// never more than all but two of the rest; nothing of a tail that is not
// letters and digits.
func TestMaskBillingGroupID(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"commerce_billingprofile_ABC123", "commerce_billingprofile_…C123"},
		{"commerce_billingprofile_01JABCDEFGHJKMNPQRSTVWXYZ9", "commerce_billingprofile_…XYZ9"},
		{"commerce_billingprofile_ABCDE", "commerce_billingprofile_…"},
		{"commerce_billingprofile_A1", "commerce_billingprofile_…"},
		{"commerce_billingprofile_", "commerce_billingprofile_…"},
		{"commerce_billingprofile_SECRETTAIL1234\x1b", "commerce_billingprofile_…"},
		{"x", "…"},
		{"", "…"},
	} {
		if got := MaskBillingGroupID(tc.id); got != tc.want {
			t.Errorf("MaskBillingGroupID(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestRecordsURL(t *testing.T) {
	tests := []struct {
		base, id, want string
	}{
		{"https://api.example.test", testID, "https://api.example.test/v2/Usage/BillingGroups/" + testID + "/Records"},
		{"https://api.example.test/", testID, "https://api.example.test/v2/Usage/BillingGroups/" + testID + "/Records"},
		{"http://127.0.0.1:8080/prefix", testID, "http://127.0.0.1:8080/prefix/v2/Usage/BillingGroups/" + testID + "/Records"},
		{"http://127.0.0.1:8080/prefix/", testID, "http://127.0.0.1:8080/prefix/v2/Usage/BillingGroups/" + testID + "/Records"},
		{"https://h.test/a%2Fb/", "x", "https://h.test/a%2Fb/v2/Usage/BillingGroups/x/Records"},
		// Validation rejects these IDs; escaping is the second line of defence.
		{"https://h.test", "a/../b c?d#e", "https://h.test/v2/Usage/BillingGroups/a%2F..%2Fb%20c%3Fd%23e/Records"},
	}
	for _, tt := range tests {
		t.Run(tt.base+" "+tt.id, func(t *testing.T) {
			base, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			if got := recordsURL(base, tt.id).String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// A range over 365 days is split into parts the API accepts, each but the
// last ending on a month's last day: a MONTHLY row never straddles two parts.
func TestQueryParts(t *testing.T) {
	tests := []struct {
		start, end string
		want       []string // start..end of each part
	}{
		{"2024-01-01", "2024-12-30", []string{"2024-01-01..2024-12-30"}},
		{"2024-01-01", "2024-12-31", []string{"2024-01-01..2024-11-30", "2024-12-01..2024-12-31"}},
		// A fiscal year from 1 March, to date on its 366th day.
		{"2023-03-01", "2024-02-29", []string{"2023-03-01..2024-01-31", "2024-02-01..2024-02-29"}},
		{"2023-03-01", "2024-02-28", []string{"2023-03-01..2024-02-28"}},
		{"2023-03-15", "2024-03-20", []string{"2023-03-15..2024-02-29", "2024-03-01..2024-03-20"}},
		// 365 days that end on a month's last day stay one part.
		{"2020-12-01", "2021-11-30", []string{"2020-12-01..2021-11-30"}},
		{"2020-01-01", "2022-06-30", []string{"2020-01-01..2020-11-30", "2020-12-01..2021-11-30", "2021-12-01..2022-06-30"}},
	}
	for _, tt := range tests {
		q := Query{StartDate: tt.start, EndDate: tt.end, AggregationPeriod: Monthly}
		var got []string
		for _, p := range q.Parts() {
			if p.AggregationPeriod != Monthly {
				t.Errorf("%s..%s: part %s..%s lost its aggregationPeriod", tt.start, tt.end, p.StartDate, p.EndDate)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("%s..%s: part %s..%s: %v", tt.start, tt.end, p.StartDate, p.EndDate, err)
			}
			got = append(got, p.StartDate+".."+p.EndDate)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s..%s split into %q, want %q", tt.start, tt.end, got, tt.want)
		}
	}
	// Every range from 1 to 1100 days from a few starts: parts follow one
	// another without a gap, each at most 365 days, each but the last ending
	// on a month's last day.
	for _, start := range []string{"2023-01-01", "2023-03-01", "2023-07-17", "2024-02-29"} {
		from, _ := parseDate(start)
		for n := 1; n <= 1100; n++ {
			end := from.AddDate(0, 0, n-1)
			parts := Query{StartDate: start, EndDate: end.Format(DateLayout)}.Parts()
			next := from
			for i, p := range parts {
				ps, _ := parseDate(p.StartDate)
				pe, _ := parseDate(p.EndDate)
				switch {
				case !ps.Equal(next):
					t.Fatalf("%s + %d days: part %d starts %s, want %s", start, n, i+1, p.StartDate, next.Format(DateLayout))
				case pe.Before(ps) || rangeDays(ps, pe) > maxRangeDays:
					t.Fatalf("%s + %d days: part %d is %s..%s", start, n, i+1, p.StartDate, p.EndDate)
				case i < len(parts)-1 && pe.AddDate(0, 0, 1).Day() != 1:
					t.Fatalf("%s + %d days: part %d ends on %s, not a month's last day", start, n, i+1, p.EndDate)
				}
				next = pe.AddDate(0, 0, 1)
			}
			if !next.Equal(end.AddDate(0, 0, 1)) {
				t.Fatalf("%s + %d days: parts end %s, want %s", start, n, next.AddDate(0, 0, -1).Format(DateLayout), end.Format(DateLayout))
			}
		}
	}
}
