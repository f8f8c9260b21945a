package main

import (
	"runtime/debug"
	"testing"
)

// TestBuildInfoFillsWhatLdflagsDidNot: a binary built with plain `go build`
// or `go run` reports the version and commit the toolchain recorded, and
// "unknown" where it recorded nothing, never an empty field; values set by
// the Makefile's -ldflags win.
func TestBuildInfoFillsWhatLdflagsDidNot(t *testing.T) {
	git := &debug.BuildInfo{
		Main: debug.Module{Version: "v0.0.0-20261201203000-bcc743a1b2c3+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "-buildmode", Value: "exe"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "bcc743a1b2c3d4e5f60718293a4b5c6d7e8f9012"},
			{Key: "vcs.time", Value: "2026-12-01T20:30:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	clean := &debug.BuildInfo{
		Main: debug.Module{Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-30T08:00:00Z"},
			{Key: "vcs.modified", Value: "false"},
		},
	}
	noVCS := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
	ldflags := buildFields{Version: "1.5.0", Revision: "fedcba", Branch: "main", BuildUser: "make", BuildDate: "20261201-20:30:00"}
	for _, tc := range []struct {
		name string
		set  buildFields
		bi   *debug.BuildInfo
		want buildFields
	}{
		{"go build in a modified checkout", buildFields{}, git, buildFields{
			Version: "v0.0.0-20261201203000-bcc743a1b2c3+dirty", Revision: "bcc743a1b2c3d4e5f60718293a4b5c6d7e8f9012-modified",
			Branch: "unknown", BuildUser: "unknown", BuildDate: "2026-12-01T20:30:00Z",
		}},
		{"go install of a tagged version", buildFields{}, clean, buildFields{
			Version: "v1.4.0", Revision: "0123456789abcdef0123456789abcdef01234567",
			Branch: "unknown", BuildUser: "unknown", BuildDate: "2026-11-30T08:00:00Z",
		}},
		{"go run, or a build without VCS stamping", buildFields{}, noVCS, buildFields{
			Version: "devel", Revision: "unknown", Branch: "unknown", BuildUser: "unknown", BuildDate: "unknown",
		}},
		{"no build info at all", buildFields{}, nil, buildFields{
			Version: "unknown", Revision: "unknown", Branch: "unknown", BuildUser: "unknown", BuildDate: "unknown",
		}},
		{"make build: -ldflags win", ldflags, git, ldflags},
	} {
		if got := fromBuildInfo(tc.set, tc.bi); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}
