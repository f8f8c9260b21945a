package config

import "time"

// FiscalYearStart makes the year period (periods.this_year) a fiscal year:
// from 00:00 UTC on the 1st of Month to the same moment a year later. The
// annual budgets, their alerts and the backfill follow it.
type FiscalYearStart struct {
	// Month is the month the fiscal year starts in, 1 (January: the
	// calendar year) to 12. A fiscal year starts on the 1st of a month.
	Month int `yaml:"month"`
}

// YearStart is the month the year period starts in: the fiscal year's first
// month, or January without fiscal_year_start.
func (c *Config) YearStart() time.Month {
	if c.FiscalYearStart == nil {
		return time.January
	}
	return time.Month(c.FiscalYearStart.Month)
}

// check validates f, appending one error per problem to errs.
func (f *FiscalYearStart) check(errs []error) []error {
	const key = "fiscal_year_start.month"
	switch {
	case f == nil:
	case f.Month == 0:
		errs = append(errs, keyError(key, "required (the number of the month the fiscal year starts in, 1 for January to 12 for December)"))
	case f.Month < 1 || f.Month > 12:
		errs = append(errs, keyError(key, "must be the number of the month the fiscal year starts in, 1 for January to 12 for December, got %d", f.Month))
	}
	return errs
}
