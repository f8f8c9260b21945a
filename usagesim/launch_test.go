package usagesim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLaunchedCategory: a launched category has no records before its
// launch, then a steady spend every day, and is none of the group's other
// categories; the rest of the group is as without it.
func TestLaunchedCategory(t *testing.T) {
	launch := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	g := Group{ID: groupB, Currency: "EUR", Categories: 3, Seed: 2,
		Launches: []Launch{{Category: "verify-sms", From: launch, Daily: 150}}}
	s := New(Options{Groups: []Group{g}, Now: func() time.Time { return midMarch }})
	plain := New(Options{Groups: []Group{{ID: groupB, Currency: "EUR", Categories: 3, Seed: 2}}, Now: func() time.Time { return midMarch }})

	for _, r := range s.DailyRecords(groupB, "2026-01-01", "2026-02-28") {
		if r.ProductCategory == "verify-sms" {
			t.Fatalf("a record of verify-sms before its launch: %+v", r)
		}
	}
	if last, _ := s.Records(groupB, "LAST_MONTH"); strings.Contains(fmt.Sprint(last), "verify-sms") {
		t.Errorf("LAST_MONTH names verify-sms, launched on the 1st: %+v", last)
	}
	days := 0
	for _, r := range s.DailyRecords(groupB, "2026-03-01", "2026-03-14") {
		if r.ProductCategory != "verify-sms" {
			continue
		}
		days++
		if r.Price.Amount < 149.9 || r.Price.Amount > 150.1 || r.Usage.Unit != "verifications" {
			t.Errorf("%s: %v %s for %s, want a steady 150 EUR a day", r.StartDate, r.Price.Amount, r.Usage.Unit, r.Usage.Amount)
		}
	}
	if days != 14 {
		t.Errorf("verify-sms has %d days of records from the 1st to the 14th, want 14", days)
	}
	// The other categories are untouched.
	strip := func(recs []WireRecord) []WireRecord {
		var out []WireRecord
		for _, r := range recs {
			if r.ProductCategory != "verify-sms" {
				out = append(out, r)
			}
		}
		return out
	}
	got, _ := s.Records(groupB, "THIS_YEAR")
	want, _ := plain.Records(groupB, "THIS_YEAR")
	if fmt.Sprint(strip(got)) != fmt.Sprint(want) || len(got) == len(want) {
		t.Errorf("THIS_YEAR with the launch: %d records, %d without verify-sms; without the launch %d", len(got), len(strip(got)), len(want))
	}
}

func TestLaunchRefused(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		l    Launch
		want string
	}{
		{Launch{Category: "sms-outbound", From: from, Daily: 1}, `group commerce_billingprofile_TESTB2: Launches[0].Category "sms-outbound" is not a catalog category other than sms-outbound, whatsapp-outbound`},
		{Launch{Category: "no-such", From: from, Daily: 1}, `group commerce_billingprofile_TESTB2: Launches[0].Category "no-such" is not a catalog category other than sms-outbound, whatsapp-outbound`},
		{Launch{Category: "verify-sms", Daily: 1}, `group commerce_billingprofile_TESTB2: Launches[0].From is not set`},
		{Launch{Category: "verify-sms", From: from}, `group commerce_billingprofile_TESTB2: Launches[0].Daily must be greater than 0`},
	} {
		err := validateGroup(Group{ID: groupB, Currency: "EUR", Launches: []Launch{tc.l}})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: %v, want %s", tc.l, err, tc.want)
		}
	}
}
