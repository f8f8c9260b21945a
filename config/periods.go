package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Default cache lifetimes of the optional periods. Yesterday's figure is
// final-ish within hours; last month's moves slowly for days after the 1st;
// the year to date moves by a day's spend in a day, and answers with one
// row per product and month, so refreshing it every 6 hours costs a few
// pages where month to date costs 96 requests a day per page (at 15m).
const (
	DefaultYesterdayTTL = time.Hour
	DefaultLastMonthTTL = 6 * time.Hour
	DefaultThisYearTTL  = 6 * time.Hour
)

// Periods switches the optional reporting periods on or off and sets their
// cache lifetimes. Month to date is always exported. At the top level it sets
// the defaults for every group; in a billing group it overrides them.
type Periods struct {
	// Yesterday is the previous UTC day (timePeriod YESTERDAY).
	Yesterday *PeriodConfig `yaml:"yesterday,omitempty"`
	// LastMonth is the previous UTC month (timePeriod LAST_MONTH).
	LastMonth *PeriodConfig `yaml:"last_month,omitempty"`
	// ThisYear is 1 January (UTC) to date (timePeriod THIS_YEAR).
	ThisYear *PeriodConfig `yaml:"this_year,omitempty"`
}

// optionalPeriods lists the optional periods: their key and default cache
// lifetime, and where a Periods section sets them.
var optionalPeriods = []struct {
	name string
	ttl  time.Duration
	get  func(*Periods) *PeriodConfig
}{
	{"yesterday", DefaultYesterdayTTL, func(p *Periods) *PeriodConfig { return p.Yesterday }},
	{"last_month", DefaultLastMonthTTL, func(p *Periods) *PeriodConfig { return p.LastMonth }},
	{"this_year", DefaultThisYearTTL, func(p *Periods) *PeriodConfig { return p.ThisYear }},
}

// PeriodConfig is the setting of one optional period. Unset fields fall back
// to the top-level periods section, then to the defaults: enabled, with the
// period's Default...TTL.
type PeriodConfig struct {
	// Enabled fetches and exports the period.
	Enabled *bool `yaml:"enabled,omitempty"`
	// CacheTTL is how long the period's snapshot is served before it is
	// fetched again; greater than zero.
	CacheTTL *Duration `yaml:"cache_ttl,omitempty"`
}

// Duration is a time.Duration written as in Go, e.g. 90m or 6h.
type Duration time.Duration

// UnmarshalYAML parses a duration string. Its errors carry the node's line
// so that the loader can name the key.
func (d *Duration) UnmarshalYAML(value *yaml.Node) error {
	if value.Kind != yaml.ScalarNode {
		return newNodeError(value, "want a duration such as 1h or 30m, got %s", describe(value))
	}
	v, err := time.ParseDuration(value.Value)
	if err != nil {
		return newNodeError(value, "want a duration such as 1h or 30m, got %s", describe(value))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as Go prints it.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// PeriodTTLs returns the cache lifetimes of g's optional periods, by key
// (yesterday, last_month, this_year), after applying g's overrides, the
// top-level periods section and the defaults; 0 means the period is switched
// off.
func (c *Config) PeriodTTLs(g BillingGroup) map[string]time.Duration {
	ttls := make(map[string]time.Duration, len(optionalPeriods))
	for _, op := range optionalPeriods {
		enabled, ttl := true, op.ttl
		for _, p := range []*Periods{c.Periods, g.Periods} { // later wins
			if p == nil || op.get(p) == nil {
				continue
			}
			if pc := op.get(p); pc.Enabled != nil {
				enabled = *pc.Enabled
			}
			if pc := op.get(p); pc.CacheTTL != nil {
				ttl = time.Duration(*pc.CacheTTL)
			}
		}
		if !enabled {
			ttl = 0
		}
		ttls[op.name] = ttl
	}
	return ttls
}

// check validates p found at path, appending one error per problem to errs.
func (p *Periods) check(path string, errs []error) []error {
	if p == nil {
		return errs
	}
	for _, op := range optionalPeriods {
		if pc := op.get(p); pc != nil && pc.CacheTTL != nil && *pc.CacheTTL <= 0 {
			errs = append(errs, keyError(fmt.Sprintf("%s.%s.cache_ttl", path, op.name), "must be greater than 0, got %s", time.Duration(*pc.CacheTTL)))
		}
	}
	return errs
}
