// Command generate writes the bundled Grafana dashboards as JSON into every
// directory that commits them (dashboards.Dirs):
//
//	go run ./dashboards/generate
//
// Run it from the repository root, or name the root with -root.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/dashboards"
)

func main() {
	root := flag.String("root", ".", "the repository root, which dashboards.Dirs are relative to")
	flag.Parse()
	files, err := dashboards.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, dir := range dashboards.Dirs {
		for _, name := range names {
			path := filepath.Join(*root, dir, name)
			if err := os.WriteFile(path, files[name], 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "generate: writing %s: %v\n", path, err)
				os.Exit(1)
			}
			fmt.Println(path)
		}
	}
}
