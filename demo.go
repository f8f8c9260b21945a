package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/config"
	"github.com/twilio-billing-exporter/twilio_billing_exporter/usagesim"
)

// demo is the simulated Usage API that --demo runs on loopback, and the
// configuration that points the exporter at it.
type demo struct {
	inst *usagesim.Instance
	yaml []byte
}

// startDemo starts the simulator and writes a configuration for its groups.
// Budgets are set from each group's simulated last month so that the demo
// shows one group forecast over budget and one comfortably under it.
func startDemo() (*demo, error) {
	opts := usagesim.Options{ClientID: "demo-client-id", ClientSecret: "demo-client-secret"}
	sim := usagesim.New(opts)
	inst, err := usagesim.Start(sim, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "twilio:\n  api_url: %q\n  token_url: %q\n  client_id: %q\n  client_secret: %q\n  page_size: 25\nbilling_groups:\n",
		inst.URL, inst.TokenURL, opts.ClientID, opts.ClientSecret)
	for i, g := range usagesim.DemoGroups() {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n", g.ID, g.Name)
		records, _ := sim.Records(g.ID, "LAST_MONTH")
		var total float64
		for _, r := range records {
			total += r.Price.Amount
		}
		factor := []float64{0.8, 1.5}
		if i < len(factor) && total > 0 {
			fmt.Fprintf(&b, "    budget: {amount: %g, currency: %s}\n", math.Round(total*factor[i]), g.Currency)
		}
	}
	return &demo{inst: inst, yaml: []byte(b.String())}, nil
}

// load parses the demo configuration, through the same validation as a file.
func (d *demo) load() (*config.Config, error) {
	return config.Parse(d.yaml, func(string) (string, bool) { return "", false })
}

func (d *demo) close() { _ = d.inst.Close() }
