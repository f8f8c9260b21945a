// Command twilio_billing_exporter exports Twilio Billing Group month-to-date
// cost and usage as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/diagnosis"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/exporter"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/server"
)

const exporterName = exporter.Name

// defaultListenAddress is outside 9100-9999, the range of Prometheus' default
// port allocations that is fully taken, and clear of Prometheus (9090),
// Pushgateway (9091), Alertmanager (9093), Grafana (3000), Loki (3100) and
// Thanos (109xx).
const defaultListenAddress = ":10117"

// options are the parsed command-line flags.
type options struct {
	configFile    string
	configCheck   bool
	probe         bool
	demo          bool
	telemetryPath string
	scrapeTimeout time.Duration
	timeoutOffset time.Duration
	cacheTTL      time.Duration
	twilioTimeout time.Duration
	concurrency   int
	lifecycle     bool
	maxRequests   int
	logLevel      string
	logFormat     string
	webFlags      *web.FlagConfig

	// now is the cache's clock; nil means time.Now. Not a flag: tests set
	// it to drive cache lifetimes by count instead of by waiting.
	now func() time.Time
}

func main() {
	setBuildInfo()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	o, cmd, bf, code := parseFlags(args, stderr)
	if code >= 0 {
		return code
	}
	logger, slogger := newLoggers(stderr, o.logLevel, o.logFormat)
	backfill := cmd == bf.cmd.FullCommand()

	load, stop, err := configSource(o, !o.configCheck && !o.probe && !backfill, logger)
	if err != nil {
		level.Error(logger).Log("msg", "Cannot start the simulated Usage API", "err", err)
		return 1
	}
	defer stop()

	switch {
	case o.configCheck:
		return checkConfig(load, stdout, stderr)
	case o.probe:
		cfg, err := load()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return diagnosis.Run(cfg, o.twilioTimeout, o.cacheTTL, stdout)
	case backfill:
		return runBackfill(o.exporter(), bf, load, logger)
	}
	return serve(o, load, logger, slogger)
}

// parseFlags declares and parses the flags and commands. It returns the
// options, the command chosen and the backfill command's flags, and an exit
// code of 0 or more when the process is to end at once (bad flags; --help and
// --version exit by themselves), else -1.
func parseFlags(args []string, stderr io.Writer) (o options, cmd string, bf *backfillFlags, code int) {
	app := kingpin.New(exporterName, "Prometheus exporter for Twilio Billing Group usage and cost (month to date).")
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	app.Flag("config.file", "Path to the YAML configuration file.").Default(exporterName + ".yml").StringVar(&o.configFile)
	app.Flag("config.check", "Validate the configuration, print it with secrets masked, and exit.").BoolVar(&o.configCheck)
	app.Flag("twilio.probe", "First contact: load the configuration, ask the token endpoint and every billing group how the Usage API answers, print the findings and the config lines to use, and exit (0 only when the exporter, as configured, would serve every period of every group).").BoolVar(&o.probe)
	app.Flag("demo", "Run against a built-in simulated Usage API on loopback with demo billing groups; no config file or credentials needed.").BoolVar(&o.demo)
	app.Flag("web.enable-lifecycle", "Enable reloading the configuration with POST /-/reload. SIGHUP always reloads.").BoolVar(&o.lifecycle)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&o.telemetryPath)
	app.Flag("web.scrape-timeout", "How long a scrape waits for refreshes when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.").Default("10s").DurationVar(&o.scrapeTimeout)
	app.Flag("web.scrape-timeout-offset", "Subtracted from the scrape timeout Prometheus sends, to leave time to write the response.").Default("500ms").DurationVar(&o.timeoutOffset)
	app.Flag("web.max-requests", "Maximum number of parallel scrape requests. Use 0 to disable.").Default("40").IntVar(&o.maxRequests)
	app.Flag("cache.ttl", "How long a billing group's usage is served from memory before it is fetched again.").Default("15m").DurationVar(&o.cacheTTL)
	app.Flag("twilio.timeout", "Upper bound on one refresh of one billing group: every page and retry.").Default("2m").DurationVar(&o.twilioTimeout)
	app.Flag("twilio.concurrency", "How many billing groups are refreshed at once.").Default("4").IntVar(&o.concurrency)
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").EnumVar(&o.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").EnumVar(&o.logFormat, "logfmt", "json")
	o.webFlags = kingpinflag.AddFlags(app, defaultListenAddress)
	app.Command("serve", "Serve metrics (the default).").Default()
	bf = addBackfillCommand(app)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	cmd, err := app.Parse(args)
	if err == nil {
		err = o.check()
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v, try --help\n", exporterName, err)
		return o, cmd, bf, 2
	}
	return o, cmd, bf, -1
}

// configSource chooses where the configuration comes from: the file, or with
// --demo the simulated Usage API it starts, which stop stops (a no-op for the
// file). announce logs where the demo serves, for the commands that serve.
func configSource(o options, announce bool, logger log.Logger) (load func() (*config.Config, error), stop func(), err error) {
	if !o.demo {
		return func() (*config.Config, error) { return config.Load(o.configFile, os.LookupEnv) }, func() {}, nil
	}
	d, err := startDemo(time.Now)
	if err != nil {
		return nil, nil, err
	}
	if announce {
		level.Info(logger).Log("msg", "Demo mode: exporting made-up usage from a simulated Usage API on loopback; no credentials are used",
			"simulated_api", d.inst.URL, "metrics", metricsURL((*o.webFlags.WebListenAddresses)[0], o.telemetryPath))
	}
	return d.load, d.close, nil
}

// checkConfig is --config.check: it prints the configuration with secrets
// masked, and its warnings.
func checkConfig(load func() (*config.Config, error), stdout, stderr io.Writer) int {
	cfg, err := load()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	fmt.Fprintf(stdout, "%s\n", cfg)
	return 0
}

// serve runs the exporter until SIGINT or SIGTERM, reloading on SIGHUP.
func serve(o options, load func() (*config.Config, error), logger log.Logger, slogger *slog.Logger) int {
	level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info())
	level.Info(logger).Log("build_context", version.BuildContext())

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector("twilio_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	ex, err := exporter.New(o.exporter(), load, reg, logger)
	if err != nil {
		level.Error(logger).Log("msg", "Cannot load the configuration; fix it and start again", "err", err)
		return 1
	}
	defer ex.Close()
	ex.Start()

	srv := server.HTTPServer(server.New(ex, reg, o.server(), logger).Handler(), o.server())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(srv, o.webFlags, slogger) }()
	for {
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("msg", "HTTP server failed", "err", err)
				return 1
			}
			return 0
		case s := <-sigs:
			if s == syscall.SIGHUP {
				_ = ex.Reload() // logged and counted by Reload
				continue
			}
			level.Info(logger).Log("msg", "Shutting down", "signal", s.String())
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := srv.Shutdown(ctx)
			cancel()
			if err != nil {
				level.Warn(logger).Log("msg", "HTTP server did not shut down cleanly", "err", err)
			}
			return 0
		}
	}
}

// exporter is what of o the exporter runs with.
func (o options) exporter() exporter.Options {
	return exporter.Options{TwilioTimeout: o.twilioTimeout, CacheTTL: o.cacheTTL, Concurrency: o.concurrency, Now: o.now}
}

// server is what of o the HTTP server runs with.
func (o options) server() server.Options {
	return server.Options{
		TelemetryPath: o.telemetryPath, ScrapeTimeout: o.scrapeTimeout, TimeoutOffset: o.timeoutOffset,
		TwilioTimeout: o.twilioTimeout, Lifecycle: o.lifecycle, MaxRequests: o.maxRequests, Demo: o.demo, Now: o.now,
	}
}

// check reports the first flag whose value cannot work, naming the flag, so
// that the process refuses to start rather than fail (or panic) later.
func (o *options) check() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--cache.ttl", o.cacheTTL}, {"--twilio.timeout", o.twilioTimeout}, {"--web.scrape-timeout", o.scrapeTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("%s=%s must be positive", d.flag, d.v)
		}
	}
	if o.timeoutOffset < 0 {
		return fmt.Errorf("--web.scrape-timeout-offset=%s must not be negative", o.timeoutOffset)
	}
	if o.maxRequests < 0 {
		return fmt.Errorf("--web.max-requests=%d must not be negative (0 means no limit)", o.maxRequests)
	}
	if o.concurrency < 1 {
		return fmt.Errorf("--twilio.concurrency=%d must be at least 1", o.concurrency)
	}
	if !validTelemetryPath(o.telemetryPath) {
		return fmt.Errorf("--web.telemetry-path=%q must be a path starting with / made of letters, digits and / - . _ ~", o.telemetryPath)
	}
	switch o.telemetryPath {
	case "/-/healthy", "/-/ready", "/-/reload":
		return fmt.Errorf("--web.telemetry-path=%q is one of the exporter's own endpoints", o.telemetryPath)
	}
	if f := *o.webFlags.WebConfigFile; f != "" && !o.configCheck && !o.probe {
		if err := web.Validate(f); err != nil {
			return fmt.Errorf("--web.config.file=%s: %w", f, err)
		}
	}
	return nil
}

// validTelemetryPath reports whether p is a plain URL path: anything else
// would be read as a pattern by http.ServeMux, which panics on a bad one.
func validTelemetryPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for _, c := range p {
		if !(c == '/' || c == '-' || c == '.' || c == '_' || c == '~' ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// newLoggers returns the go-kit logger the exporter logs through and an slog
// bridge to it for exporter-toolkit.
func newLoggers(w io.Writer, lvl, format string) (log.Logger, *slog.Logger) {
	var logger log.Logger
	if format == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	allow := map[string]level.Option{"debug": level.AllowDebug(), "info": level.AllowInfo(), "warn": level.AllowWarn(), "error": level.AllowError()}[lvl]
	slogLevel := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[lvl]
	logger = level.NewFilter(logger, allow)
	// slog records carry their own time and source, so the bridge gets the
	// logger before caller and time are added; both then write lines as
	// level, caller, time (UTC), msg.
	bridge := slog.New(utcHandler{sloggokit.NewGoKitHandler(logger, slogLevel)})
	return log.With(logger, "caller", log.DefaultCaller, "time", log.DefaultTimestampUTC), bridge
}

// metricsURL is where a person finds the metrics of a listen address.
func metricsURL(addr, path string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr + path
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + path
}

// utcHandler passes slog records on with their time in UTC, as the
// exporter's own lines have it, whatever the machine's time zone.
type utcHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h utcHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Time = r.Time.UTC()
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h utcHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return utcHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h utcHandler) WithGroup(name string) slog.Handler {
	return utcHandler{h.Handler.WithGroup(name)}
}
