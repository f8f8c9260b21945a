package twilio

import (
	"fmt"
	"testing"
)

// BenchmarkPageHardening measures what the hostile-input defences add to a
// page of 1,000 ordinary records: decode is the baseline (decodePage alone),
// hardened adds the bearer-token redaction scan of the body and the label
// text cleaning FetchRecords does, and defences-only times those two alone.
// Compare ns/op within one run.
func BenchmarkPageHardening(b *testing.B) {
	records := make([]string, 1000)
	for i := range records {
		records[i] = recordJSON(fmt.Sprintf("sms-outbound-%d", i), `"1234.5"`, "12.34")
	}
	body := []byte(pageJSON("2025-01-31", "next", records...))
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJPUXRlc3RjbGllbnQifQ.c2lnbmF0dXJlLW5vdC1yZWFs"
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := decodePage(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("defences-only", func(b *testing.B) {
		p, err := decodePage(body)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			_ = redactBytes(body, token, false)
			cleanRecords(p.records)
		}
	})
	b.Run("hardened", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			p, err := decodePage(redactBytes(body, token, false))
			if err != nil {
				b.Fatal(err)
			}
			cleanRecords(p.records)
		}
	})
}
