// Command generate writes the bundled Grafana dashboards as JSON:
//
//	go run ./dashboards/generate
//
// It writes into the directory given by -out (default dashboards).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/dashboards"
)

func main() {
	out := flag.String("out", "dashboards", "directory to write the dashboard JSON files into")
	flag.Parse()
	files, err := dashboards.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, body := range files {
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "generate: writing %s: %v\n", path, err)
			os.Exit(1)
		}
		fmt.Println(path)
	}
}
