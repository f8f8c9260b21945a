package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
)

// TestOneLogLineFormat: the exporter's own lines and exporter-toolkit's
// (which log through the slog bridge) share one shape in both formats: keys
// level, caller, time, msg first and in that order, one time key and no ts,
// the time in UTC RFC 3339 even when the record's time is in another zone.
func TestOneLogLineFormat(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			logger, slogger := newLoggers(&buf, "info", format)
			before := time.Now()
			level.Info(logger).Log("msg", "Starting twilio_billing_exporter", "version", "x")
			slogger.Info("Listening on", "address", "127.0.0.1:10117") // as exporter-toolkit logs
			// A record stamped in a zone other than UTC, as slog stamps
			// them on a machine whose local zone is not UTC.
			var pcs [1]uintptr
			runtime.Callers(1, pcs[:])
			r := slog.NewRecord(time.Now().In(time.FixedZone("CET", 3600)), slog.LevelInfo, "TLS is disabled.", pcs[0])
			if err := slogger.Handler().Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("want 3 lines, got:\n%s", buf.String())
			}
			for i, line := range lines {
				keys, values := logKeyvals(t, format, line)
				got := keys[:min(len(keys), 4)]
				if format == "json" {
					// go-kit writes JSON keys sorted: only which keys matters.
					order := map[string]int{"level": 1, "caller": 2, "time": 3, "msg": 4}
					got = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return order[k] == 0 })
					slices.SortFunc(got, func(a, b string) int { return order[a] - order[b] })
				}
				if want := "level caller time msg"; strings.Join(got, " ") != want {
					t.Errorf("line %d begins with keys %v, want %s:\n%s", i+1, got, want, line)
				}
				if strings.Count(" "+strings.Join(keys, " ")+" ", " time ") != 1 || strings.Contains(" "+strings.Join(keys, " ")+" ", " ts ") {
					t.Errorf("line %d: want one time key and no ts, got keys %v", i+1, keys)
				}
				ts, err := time.Parse(time.RFC3339Nano, values["time"])
				if err != nil || !strings.HasSuffix(values["time"], "Z") || ts.Before(before.Add(-time.Second)) {
					t.Errorf("line %d: time %q, want the current time in UTC RFC 3339 (%v)", i+1, values["time"], err)
				}
			}
		})
	}
}

// logfmtPair matches one key=value of a logfmt line, the value bare or quoted.
var logfmtPair = regexp.MustCompile(`(?:^| )([a-z_]+)=("(?:[^"\\]|\\.)*"|[^ ]*)`)

// logKeyvals returns the keys of one log line in order and their values.
func logKeyvals(t *testing.T, format, line string) ([]string, map[string]string) {
	t.Helper()
	var keys []string
	values := map[string]string{}
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, line)
		}
		for k, v := range m {
			keys = append(keys, k)
			values[k], _ = v.(string)
		}
		return keys, values
	}
	for _, m := range logfmtPair.FindAllStringSubmatch(line, -1) {
		keys = append(keys, m[1])
		v := m[2]
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		values[m[1]] = v
	}
	return keys, values
}
