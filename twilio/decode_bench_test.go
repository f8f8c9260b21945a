package twilio

import (
	"fmt"
	"testing"
)

// BenchmarkDecodePage decodes a page of 1000 records, amounts as the docs
// show them (usage a string, price a number). Compare runs of the same
// machine, see BENCHMARKS.md.
func BenchmarkDecodePage(b *testing.B) {
	records := make([]string, 1000)
	for i := range records {
		records[i] = recordJSON(fmt.Sprintf("category-%03d", i%50), fmt.Sprintf(`"%d.%03d"`, 1000+i, i%1000), fmt.Sprintf("%d.%02d", i, i%100))
	}
	body := []byte(pageJSON("2025-01-31", "next", records...))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodePage(body); err != nil {
			b.Fatal(err)
		}
	}
}
