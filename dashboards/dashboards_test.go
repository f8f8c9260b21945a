package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestCommittedJSONMatchesGenerator fails when the committed dashboards drift
// from the generator: edit the Go code, then run `go run ./dashboards/generate`.
func TestCommittedJSONMatchesGenerator(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	if want := []string{"twilio-exporter-health.json", "twilio-spend-overview.json"}; !equal(names, want) {
		t.Fatalf("generator writes %v, want %v (other files reference these names)", names, want)
	}
	for _, name := range names {
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s: %v: run `go run ./dashboards/generate`", name, err)
			continue
		}
		if !bytes.Equal(committed, files[name]) {
			t.Errorf("dashboards/%s differs from what the generator produces: run `go run ./dashboards/generate` and commit the result", name)
		}
	}
	committed, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range committed {
		if _, ok := files[c]; !ok {
			t.Errorf("dashboards/%s is not produced by the generator: delete it or generate it", c)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
