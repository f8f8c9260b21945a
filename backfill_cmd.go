package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/backfill"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
)

// backfillFlags are the flags of the backfill command; it also reads the
// exporter's --config.file, --demo, --twilio.* and --log.* flags.
type backfillFlags struct {
	cmd       *kingpin.CmdClause
	from, to  string
	outputDir string
	labels    map[string]string
	interval  time.Duration
}

// addBackfillCommand declares the backfill command on app.
func addBackfillCommand(app *kingpin.Application) *backfillFlags {
	f := &backfillFlags{labels: map[string]string{}}
	f.cmd = app.Command("backfill", "Write the billing groups' history from the Usage API as Prometheus TSDB blocks, with the exporter's metric names and labels.")
	f.cmd.Flag("from", "First UTC day to write, YYYY-MM-DD.").Required().StringVar(&f.from)
	f.cmd.Flag("to", "Last UTC day to write, YYYY-MM-DD; default yesterday, so the history ends where the running exporter's scrapes begin.").StringVar(&f.to)
	f.cmd.Flag("output.dir", "Empty or new directory that receives the blocks.").Required().StringVar(&f.outputDir)
	f.cmd.Flag("label", "NAME=VALUE added to every series (repeatable); job and instance are required: the labels Prometheus attaches to the exporter's scrape.").StringMapVar(&f.labels)
	f.cmd.Flag("sample.interval", "Spacing of the samples written; at most 5m, Prometheus' default lookback, so every instant finds a sample.").Default(backfill.DefaultInterval.String()).DurationVar(&f.interval)
	return f
}

// runBackfill runs the backfill command and returns the exit code.
func runBackfill(o exporter.Options, f *backfillFlags, load func() (*config.Config, error), logger log.Logger) int {
	fail := func(msg string, err error) int {
		level.Error(logger).Log("msg", msg, "err", err)
		return 1
	}
	from, err := backfill.ParseDate("--from", f.from)
	if err != nil {
		return fail("Backfill refused; nothing was written", err)
	}
	to := backfill.Yesterday(time.Now())
	if f.to != "" {
		if to, err = backfill.ParseDate("--to", f.to); err != nil {
			return fail("Backfill refused; nothing was written", err)
		}
	}
	cfg, err := load()
	if err != nil {
		return fail("Cannot load the configuration; nothing was written", err)
	}
	// The client is built exactly as the exporter builds it: same settings,
	// retries and limits.
	client, err := exporter.NewClient(cfg, o.TwilioTimeout, nil, logger)
	if err != nil {
		return fail("Cannot build the Usage API client; nothing was written", err)
	}
	var reporting *backfill.Reporting
	if rc := cfg.ReportingCurrency; rc != nil {
		reporting = &backfill.Reporting{Currency: rc.Currency, AsOf: rc.AsOf(), Rates: rc.AllRates()}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := backfill.Run(ctx, backfill.Options{
		Fetcher:      client,
		Groups:       exporter.Groups(cfg, o.CacheTTL),
		From:         from,
		To:           to,
		OutputDir:    f.outputDir,
		Labels:       f.labels,
		Interval:     f.interval,
		Concurrency:  o.Concurrency,
		FetchTimeout: o.TwilioTimeout,
		Reporting:    reporting,
		Logger:       logger,
	})
	if err != nil {
		return fail("Backfill failed; nothing was written", err)
	}
	level.Info(logger).Log("msg", fmt.Sprintf("Wrote %d blocks into %s: move them into Prometheus' data directory (see docs/backfill.md)", res.Blocks, f.outputDir))
	return 0
}
