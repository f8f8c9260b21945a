package exporter

import (
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/collector"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// Name is the exporter's name: its binary, its default config file's stem
// and the start of its User-Agent.
const Name = "twilio_billing_exporter"

// NewClient builds a Usage API client from the twilio section of cfg, for
// the exporter, the probe and backfill alike: timeout is --twilio.timeout;
// observe (may be nil) is told of every request; logger hears what the
// client learns about the API.
func NewClient(cfg *config.Config, timeout time.Duration, observe twilio.RequestObserver, logger log.Logger) (*twilio.Client, error) {
	t := cfg.Twilio
	return twilio.New(twilio.Config{
		SecretSource: secretSource(t.ClientSecretFile),
		APIURL:       t.APIURL,
		TokenURL:     t.TokenURL,
		ClientID:     t.ClientID,
		ClientSecret: t.ClientSecret.Reveal(),
		Scopes:       t.Scopes,
		Encoding:     t.RequestEncoding,
		PageSize:     t.PageSize,
		MaxPages:     t.MaxPages,
		MaxRecords:   t.MaxRecords,
		HTTPClient:   &http.Client{Timeout: min(timeout, 60*time.Second)},
		Observer:     observe,
		UserAgent:    Name + "/" + version.Version,

		// What Twilio's docs leave open: named by the config, or learnt.
		PageTokenParam: t.PageTokenParam,
		Learned:        logLearned(logger),
		Waiting:        logWaiting(logger),
	})
}

// collectorBudget is b as the collector sees it; nil when b is.
func collectorBudget(b *config.Budget) *collector.Budget {
	if b == nil {
		return nil
	}
	return &collector.Budget{Amount: b.Amount, Currency: b.Currency}
}

// Groups maps the configured billing groups to the collector's
// view; monthTTL is --cache.ttl, month to date's lifetime.
func Groups(cfg *config.Config, monthTTL time.Duration) []collector.Group {
	groups := make([]collector.Group, 0, len(cfg.BillingGroups))
	for _, bg := range cfg.BillingGroups {
		g := collector.Group{ID: bg.ID, Label: bg.Label(), MaxSeries: cfg.Twilio.MaxSeries, PlannedCategories: bg.PlannedCategories, Labels: bg.Labels, YearStart: cfg.YearStart()}
		g.TTL[collector.ThisMonth] = monthTTL
		ttls := cfg.PeriodTTLs(bg)
		for p := collector.ThisMonth + 1; p < collector.NumPeriods; p++ {
			g.TTL[p] = ttls[p.String()]
		}
		g.Budget, g.AnnualBudget = collectorBudget(bg.Budget), collectorBudget(bg.AnnualBudget)
		if bg.Budget != nil {
			th := bg.AlertThresholds()
			g.Thresholds = &collector.Thresholds{Nearly: th.Nearly, Warning: th.Warning, Critical: th.Critical}
		}
		if f := bg.ProductCategories; f != nil {
			if f.Include != nil {
				g.Include = f.Include.Regexp
			}
			if f.Exclude != nil {
				g.Exclude = f.Exclude.Regexp
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// logWarnings logs what is risky but valid in cfg, at every (re)load.
func logWarnings(logger log.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings() {
		level.Warn(logger).Log("msg", w)
	}
}

// secretSource returns the client secret read from file, again for every new
// token, so that a Secret rotated in place is used without a restart or a
// reload; nil when the secret does not come from a file.
func secretSource(file string) func() (string, error) {
	if file == "" {
		return nil
	}
	return func() (string, error) {
		s, err := config.ReadSecretFile(file)
		return s.Reveal(), err
	}
}
