package e2e

import (
	"debug/buildinfo"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestVersionWithoutLdflags: a binary built with plain `go build` (as these
// tests build it, without the Makefile's -ldflags) reports the version and
// commit that the toolchain recorded in it, and "unknown" for what it did not
// record: no field of --version is empty.
func TestVersionWithoutLdflags(t *testing.T) {
	bin := exporterBinary(t)
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	rev, date, modified := "unknown", "unknown", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		rev += "-modified"
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		fmt.Sprintf("twilio_billing_exporter, version %s (branch: unknown, revision: %s)\n", strings.Trim(bi.Main.Version, "()"), rev),
		"  build user:       unknown\n",
		"  build date:       " + date + "\n",
		"  go version:       " + bi.GoVersion + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("--version lacks %q:\n%s", want, got)
		}
	}
}
