package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// ReportingCurrency converts every group's cost into one currency at rates
// finance sets for the year (budget rates), for an organization-wide total.
// Nothing is added across currencies without a rate.
type ReportingCurrency struct {
	// Currency is the currency the totals are reported in (ISO 4217).
	Currency string `yaml:"currency"`
	// RatesAsOf is the date the rates were set, YYYY-MM-DD.
	RatesAsOf string `yaml:"rates_as_of"`
	// Rates are what one unit of each other currency is worth in Currency.
	Rates map[string]float64 `yaml:"rates"`
}

// Rate is what one unit of currency cur is worth in the reporting
// currency: 1 for the reporting currency itself; ok is false without a
// rate.
func (r *ReportingCurrency) Rate(cur string) (rate float64, ok bool) {
	if cur == r.Currency {
		return 1, true
	}
	rate, ok = r.Rates[cur]
	return rate, ok
}

// AllRates is every currency's rate, the reporting currency's own (1)
// included.
func (r *ReportingCurrency) AllRates() map[string]float64 {
	out := maps.Clone(r.Rates)
	if out == nil {
		out = map[string]float64{}
	}
	out[r.Currency] = 1
	return out
}

// AsOf is RatesAsOf as a time: 00:00 UTC of that day.
func (r *ReportingCurrency) AsOf() time.Time {
	t, _ := time.Parse(time.DateOnly, r.RatesAsOf) // validated at load
	return t
}

// check validates r and that every budget of groups is in a currency it
// has a rate for, appending one error per problem to errs.
func (r *ReportingCurrency) check(groups []BillingGroup, errs []error) []error {
	if r == nil {
		return errs
	}
	const path = "reporting_currency"
	switch {
	case r.Currency == "":
		errs = append(errs, keyError(path+".currency", "required (3 upper-case letters, e.g. USD)"))
	case !currencyCode.MatchString(r.Currency):
		errs = append(errs, keyError(path+".currency", "%q is not a currency code (want 3 upper-case letters, e.g. USD)", r.Currency))
	}
	if r.RatesAsOf == "" {
		errs = append(errs, keyError(path+".rates_as_of", "required (the date the rates were set, YYYY-MM-DD)"))
	} else if _, err := time.Parse(time.DateOnly, r.RatesAsOf); err != nil {
		errs = append(errs, keyError(path+".rates_as_of", "%q is not a YYYY-MM-DD date", r.RatesAsOf))
	}
	codes := make([]string, 0, len(r.Rates))
	for c := range r.Rates {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		key := fmt.Sprintf("%s.rates.%s", path, c)
		v := r.Rates[c]
		switch {
		case !currencyCode.MatchString(c):
			errs = append(errs, keyError(key, "%q is not a currency code (want 3 upper-case letters, e.g. EUR)", c))
		case !(v > 0) || math.IsInf(v, 0):
			errs = append(errs, keyError(key, "must be a number greater than 0 (what one %s is worth in %s), got %v", c, r.Currency, v))
		case c == r.Currency && v != 1:
			errs = append(errs, keyError(key, "is the reporting currency itself, worth 1; leave it out"))
		}
	}
	for i, g := range groups {
		for _, b := range []struct {
			key    string
			budget *Budget
		}{{"budget", g.Budget}, {"annual_budget", g.AnnualBudget}} {
			if b.budget == nil || !currencyCode.MatchString(b.budget.Currency) || !currencyCode.MatchString(r.Currency) {
				continue
			}
			if _, ok := r.Rate(b.budget.Currency); !ok {
				errs = append(errs, keyError(fmt.Sprintf("billing_groups[%d].%s.currency", i, b.key),
					"%s has no rate in reporting_currency.rates (add %s: what one %s is worth in %s)", b.budget.Currency, b.budget.Currency, b.budget.Currency, r.Currency))
			}
		}
	}
	return errs
}
