package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

// TestCommittedJSONMatchesGenerator fails when the JSON committed in any of
// Dirs drifts from the generator: edit the Go code, then run `make dashboards`.
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
	if want := []string{"twilio-exporter-health.json", "twilio-spend-overview.json"}; !slices.Equal(names, want) {
		t.Fatalf("generator writes %v, want %v (other files reference these names)", names, want)
	}
	for _, dir := range Dirs {
		// The tests run in this package's directory, one below the root.
		onDisk := filepath.Join("..", dir)
		for _, name := range names {
			committed, err := os.ReadFile(filepath.Join(onDisk, name))
			if err != nil {
				t.Errorf("%s/%s: %v: run `make dashboards`", dir, name, err)
				continue
			}
			if !bytes.Equal(committed, files[name]) {
				t.Errorf("%s/%s differs from what the generator produces: run `make dashboards` and commit the result", dir, name)
			}
		}
		committed, err := filepath.Glob(filepath.Join(onDisk, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range committed {
			if _, ok := files[filepath.Base(c)]; !ok {
				t.Errorf("%s/%s is not produced by the generator: delete it or generate it", dir, filepath.Base(c))
			}
		}
	}
}
