package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackfillCommandRefusesBadDates runs the backfill command as a user
// would: a range that is not over yet, or reversed, is refused with an error
// naming the flag, before any request, and nothing is created.
func TestBackfillCommandRefusesBadDates(t *testing.T) {
	sim, inst := simulator(t)
	cfg := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, cfg, inst, "  - id: commerce_billingprofile_DEMO01MARKETING\n")
	today := time.Now().UTC().Format("2006-01-02")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from=2020-01-01", "--to=" + today}, "--to=" + today + " is not in the past"},
		{[]string{"--from=2020-02-01", "--to=2020-01-31"}, "--from=2020-02-01 is after --to=2020-01-31"},
		{[]string{"--from=2099-01-01"}, "--from=2099-01-01 is after --to="},
		{[]string{"--from=2020-13-01"}, `--from=\"2020-13-01\" is not a YYYY-MM-DD date`},
	} {
		out := filepath.Join(t.TempDir(), "blocks")
		args := append([]string{"backfill", "--config.file=" + cfg, "--output.dir=" + out,
			"--label=job=twilio_billing", "--label=instance=exporter:10117"}, tc.args...)
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 1 {
			t.Errorf("%v: exit code %d, want 1; stderr:\n%s", tc.args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), "nothing was written") {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, stderr.String())
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v: %s was created", tc.args, out)
		}
		if strings.Contains(stderr.String(), testSecret) {
			t.Errorf("%v: stderr shows the client secret", tc.args)
		}
	}
	if n := sim.Stats().RecordsRequests; n != 0 {
		t.Errorf("%d records requests, want none", n)
	}
}
