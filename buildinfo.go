package main

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// buildFields is the build information --version, the landing page, the
// start-up log line and twilio_exporter_build_info report.
type buildFields struct {
	Version, Revision, Branch, BuildUser, BuildDate string
}

// fromBuildInfo fills the fields of f that are empty (the Makefile sets them
// with -ldflags; `go build`, `go install` and `go run` do not) from what the Go
// toolchain records in every binary: the module version and, when built in a
// git checkout, the commit, its time and whether the tree was modified. A
// field it cannot learn reads "unknown" rather than nothing.
func fromBuildInfo(f buildFields, bi *debug.BuildInfo) buildFields {
	var mainVersion, rev, date string
	modified := false
	if bi != nil {
		mainVersion = bi.Main.Version
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
	}
	// "(devel)" is Go's word for a build outside a tagged module version;
	// without the parentheses it is a valid User-Agent product version.
	mainVersion = strings.Trim(mainVersion, "()")
	if rev != "" && modified {
		rev += "-modified" // as prometheus/common/version says it
	}
	fill := func(field *string, value string) {
		if *field == "" {
			*field = value
		}
		if *field == "" {
			*field = "unknown"
		}
	}
	fill(&f.Version, mainVersion)
	fill(&f.Revision, rev)
	fill(&f.Branch, "")
	fill(&f.BuildUser, "")
	fill(&f.BuildDate, date)
	return f
}

// setBuildInfo completes prometheus/common/version's fields from the
// binary's build information. main calls it once, before anything reads them.
func setBuildInfo() {
	bi, _ := debug.ReadBuildInfo()
	f := fromBuildInfo(buildFields{
		Version: version.Version, Revision: version.Revision, Branch: version.Branch,
		BuildUser: version.BuildUser, BuildDate: version.BuildDate,
	}, bi)
	version.Version, version.Revision, version.Branch = f.Version, f.Revision, f.Branch
	version.BuildUser, version.BuildDate = f.BuildUser, f.BuildDate
}
