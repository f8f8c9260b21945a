package twilio

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func date(s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDecodePage(t *testing.T) {
	jan := Record{ProductName: "Product mms", ProductCategory: "mms", StartDate: date("2025-01-01"),
		EndDate: date("2025-01-31"), UsageUnit: "segments", Currency: "USD"}
	withAmounts := func(r Record, index int, usage, price string) Record {
		r.Index, r.UsageAmount, r.PriceAmount = index, mustDecimal(usage), mustDecimal(price)
		return r
	}
	tests := []struct {
		name string
		body string
		want page
	}{
		{
			name: "documented example",
			body: `{"asOf":"2025-01-31","records":[{"productName":"United States-Outbound-LC-MMS",` +
				`"productCategory":"united-states-outbound-lc-mms","startDate":"2025-01-01","endDate":"2025-01-31",` +
				`"usage":{"amount":"66505","unit":"segments"},"price":{"amount":100.5,"currency":"USD"}}],` +
				`"meta":{"key":"items","pageSize":20,"previousToken":"p","nextToken":"n"}}`,
			want: page{asOf: date("2025-01-31"), nextToken: "n", records: []Record{{
				ProductName: "United States-Outbound-LC-MMS", ProductCategory: "united-states-outbound-lc-mms",
				StartDate: date("2025-01-01"), EndDate: date("2025-01-31"),
				UsageAmount: mustDecimal("66505"), UsageUnit: "segments", PriceAmount: mustDecimal("100.5"), Currency: "USD"}}},
		},
		{
			name: "swapped number shapes",
			body: pageJSON("2025-01-31", "", recordJSON("mms", "12.5", `"0.25"`)),
			want: page{asOf: date("2025-01-31"), records: []Record{withAmounts(jan, 0, "12.5", "0.25")}},
		},
		{
			name: "exponents, negatives and zero",
			body: pageJSON("2025-01-31", "", recordJSON("mms", `"1e3"`, "-1.5E-2"), recordJSON("mms", `"0"`, "0")),
			want: page{asOf: date("2025-01-31"), records: []Record{withAmounts(jan, 0, "1000", "-0.015"), withAmounts(jan, 1, "0", "0")}},
		},
		{
			name: "RFC 3339 asOf, unknown fields, null token",
			body: `{"asOf":"2025-01-31T13:14:15+02:00","extra":{"x":[1,2]},"records":[],"meta":{"nextToken":null}}`,
			want: page{asOf: time.Date(2025, 1, 31, 11, 14, 15, 0, time.UTC), records: []Record{}},
		},
		{
			name: "no asOf, no meta, no dates",
			body: `{"records":[{"usage":{"amount":"1"},"price":{"amount":2,"currency":"USD"}}]}`,
			want: page{records: []Record{{UsageAmount: mustDecimal("1"), PriceAmount: mustDecimal("2"), Currency: "USD"}}},
		},
		{
			name: "lower-case currency",
			body: `{"records":[{"usage":{"amount":"1"},"price":{"amount":2,"currency":"eur"}}]}`,
			want: page{records: []Record{{UsageAmount: mustDecimal("1"), PriceAmount: mustDecimal("2"), Currency: "EUR"}}},
		},
		{
			name: "records under the key meta.key names, before meta",
			body: `{"asOf":"2025-01-31","items":[` + recordJSON("mms", `"1"`, "2") + `,` + recordJSON("mms", `"12.5"`, `"0.25"`) +
				`],"other":[1,{"a":[]}],"meta":{"key":"items","nextToken":"n"}}`,
			want: page{asOf: date("2025-01-31"), nextToken: "n",
				records: []Record{withAmounts(jan, 0, "1", "2"), withAmounts(jan, 1, "12.5", "0.25")}},
		},
		{
			name: "records under records though meta.key names items",
			body: `{"meta":{"key":"items"},"records":[` + recordJSON("mms", `"1"`, "2") + `],"items":null}`,
			want: page{records: []Record{withAmounts(jan, 0, "1", "2")}},
		},
		{
			name: "a bad array elsewhere is not read as records",
			body: `{"records":[` + recordJSON("mms", `"1"`, "2") + `],"warnings":["x",{"usage":5}]}`,
			want: page{records: []Record{withAmounts(jan, 0, "1", "2")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePage([]byte(tt.body))
			if err != nil {
				t.Fatalf("decodePage: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestDecodePageErrors(t *testing.T) {
	good := recordJSON("sms", `"1"`, "1")
	tests := []struct {
		name string
		body string
		want string
	}{
		{"empty", "", "response body is empty"},
		{"blank", " \n", "response body is empty"},
		{"html", "<html>Bad gateway</html>", "response is not valid JSON: invalid character '<' looking for beginning of value"},
		{"trailing garbage", `{"records":[]} x`, "response is not valid JSON: invalid character 'x' after top-level value"},
		{"truncated", `{"asOf":"2025-01-31","records":[{"usage":{"amount":"1"`,
			"response is truncated JSON (ends after 54 bytes)"},
		{"array", `[]`, "response: is a JSON array, want an object"},
		{"no records", `{"asOf":"2025-01-31","meta":{}}`, "response has no records array"},
		{"null records", `{"records":null}`, "response has no records array"},
		{"records object", `{"records":{}}`, "response: records: is a JSON object, want an array"},
		{"asOf number", `{"asOf":20250131,"records":[]}`, "response: asOf: is a JSON number, want a string"},
		{"asOf text", `{"asOf":"yesterday","records":[]}`, `asOf: "yesterday" is not a YYYY-MM-DD date or RFC 3339 timestamp`},
		{"nextToken number", `{"records":[],"meta":{"nextToken":3}}`, "response: meta.nextToken: is a JSON number, want a string"},
		{"usage amount text", pageJSON("2025-01-31", "", good, recordJSON("sms", `"abc"`, "1")),
			`record 1: usage.amount: "abc" is not a number`},
		{"usage amount empty", pageJSON("2025-01-31", "", recordJSON("sms", `""`, "1")),
			`record 0: usage.amount: "" is not a number`},
		{"usage amount NaN", pageJSON("2025-01-31", "", recordJSON("sms", `"NaN"`, "1")),
			`record 0: usage.amount: "NaN" is not a number`},
		{"usage amount Inf", pageJSON("2025-01-31", "", recordJSON("sms", `"-Inf"`, "1")),
			`record 0: usage.amount: "-Inf" is not a number`},
		{"usage amount hex", pageJSON("2025-01-31", "", recordJSON("sms", `"0x1p3"`, "1")),
			`record 0: usage.amount: "0x1p3" is not a number`},
		{"usage amount spaces", pageJSON("2025-01-31", "", recordJSON("sms", `" 1"`, "1")),
			`record 0: usage.amount: " 1" is not a number`},
		{"usage amount overflow", pageJSON("2025-01-31", "", recordJSON("sms", `"1e400"`, "1")),
			`record 0: usage.amount: "1e400" is out of range`},
		{"usage amount bool", pageJSON("2025-01-31", "", recordJSON("sms", `true`, "1")),
			`record 0: usage.amount: true is not a number`},
		{"usage amount missing", pageJSON("2025-01-31", "", `{"usage":{"unit":"x"},"price":{"amount":1}}`),
			`record 0: usage.amount: missing`},
		{"usage amount null", pageJSON("2025-01-31", "", recordJSON("sms", `null`, "1")),
			`record 0: usage.amount: missing`},
		{"price amount overflow", pageJSON("2025-01-31", "", recordJSON("sms", `"1"`, "-1e999")),
			`record 0: price.amount: "-1e999" is out of range`},
		{"price amount text", pageJSON("2025-01-31", "", good, good, recordJSON("sms", `"1"`, `"12,5"`)),
			`record 2: price.amount: "12,5" is not a number`},
		{"price amount object", pageJSON("2025-01-31", "", recordJSON("sms", `"1"`, `{"v":1}`)),
			`record 0: price.amount: {"v":1} is not a number`},
		{"price amount long", pageJSON("2025-01-31", "", recordJSON("sms", `"1"`, `"`+strings.Repeat("9", 70)+`x"`)),
			`record 0: price.amount: "` + strings.Repeat("9", 64) + `"… is not a number`},
		{"price missing", pageJSON("2025-01-31", "", `{"usage":{"amount":"1"}}`), `record 0: price.amount: missing`},
		{"start date", pageJSON("2025-01-31", "", `{"startDate":"2025-13-01","usage":{"amount":"1"},"price":{"amount":1}}`),
			`record 0: startDate: "2025-13-01" is not a YYYY-MM-DD date`},
		{"end date", pageJSON("2025-01-31", "", `{"endDate":"31/01/2025","usage":{"amount":"1"},"price":{"amount":1}}`),
			`record 0: endDate: "31/01/2025" is not a YYYY-MM-DD date`},
		{"unit number", pageJSON("2025-01-31", "", `{"usage":{"amount":"1","unit":5},"price":{"amount":1}}`),
			`record 0: usage.unit: is a JSON number, want a string`},
		{"record number", pageJSON("2025-01-31", "", good, `7`), `record 1: is a JSON number, want an object`},
		{"record null", pageJSON("2025-01-31", "", `null`), `record 0: usage.amount: missing`},
		{"currency missing", pageJSON("2025-01-31", "", good, `{"usage":{"amount":"1"},"price":{"amount":1}}`),
			`record 1: price.currency: missing`},
		{"currency symbol", pageJSON("2025-01-31", "", `{"usage":{"amount":"1"},"price":{"amount":1,"currency":"$"}}`),
			`record 0: price.currency: "$" is not an ISO 4217 currency code (3 letters)`},
		{"currency name", pageJSON("2025-01-31", "", `{"usage":{"amount":"1"},"price":{"amount":1,"currency":"US1"}}`),
			`record 0: price.currency: "US1" is not an ISO 4217 currency code (3 letters)`},
		{"amount too precise", pageJSON("2025-01-31", "", recordJSON("sms", `"1e-31"`, "1")),
			`record 0: usage.amount: "1e-31" has more than 30 decimal places`},
		{"amount exponent beyond int32", pageJSON("2025-01-31", "", recordJSON("sms", `"1"`, "1e-9999999999")),
			`record 0: price.amount: "1e-9999999999" has more than 30 decimal places`},
		{"items under meta.key, bad record", `{"items":[` + good + `,{"usage":{"amount":"x"}}],"meta":{"key":"items"}}`,
			`record 1: usage.amount: "x" is not a number`},
		{"items under meta.key is an object", `{"items":{},"meta":{"key":"items"}}`,
			`response: items: is a JSON object, want an array`},
		{"no array under meta.key", `{"meta":{"key":"items"}}`,
			`response has no records array (neither "records" nor "items", named by meta.key)`},
		{"two records arrays", `{"records":[],"items":[],"meta":{"key":"items"}}`,
			`response has two records arrays, "records" and "items" (named by meta.key)`},
		{"meta not an object", `{"records":[],"meta":3}`, "response: meta: is a JSON number, want an object"},
		{"record type error in the middle", pageJSON("2025-01-31", "", good, `{"usage":[]}`, good), `record 1: usage: is a JSON array, want an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePage([]byte(tt.body))
			if got != nil {
				t.Errorf("got a page %+v with the error", got)
			}
			assertErr(t, err, tt.want)
		})
	}
}

// FuzzDecodePage checks that the decoder never panics and that every amount
// it accepts is finite.
func FuzzDecodePage(f *testing.F) {
	seeds := []string{
		pageJSON("2025-01-31", "next", recordJSON("mms", `"66505"`, "100.5")),
		pageJSON("2025-01-31", "", recordJSON("mms", `66505`, `"100.5"`), recordJSON("sms", `"1e3"`, "-0.5")),
		`{"asOf":"2025-01-31T10:00:00Z","records":[],"meta":{"nextToken":null}}`,
		`{"asOf":"2025-01-31","records":[{"usage":{"amount":"abc"},"price":{"amount":1}}]}`,
		`{"asOf":"2025-01-31","records":[{"usage":{"amount":"NaN"},"price":{"amount":1}}]}`,
		`{"asOf":"2025-01-31","records":[{"usage":{"amount":"1"},"price":{"amount":1e400}}]}`,
		`{"asOf":"2025-01-31","records":[{"usage":{"amount":"1"`,
		`{"records":{}}`,
		`[]`,
		`<html></html>`,
		``,
		`null`,
		`{"records":[null,7,"x",[]]}`,
		`{"items":[{"usage":{"amount":"0.1"},"price":{"amount":"1e-30","currency":"usd"}}],"meta":{"key":"items"}}`,
		`{"records":[],"items":[],"meta":{"key":"items","nextToken":"t"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePage(body)
		if err != nil {
			if p != nil {
				t.Fatalf("page returned with error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		for i, r := range p.records {
			for _, v := range []float64{r.UsageAmount.Float64(), r.PriceAmount.Float64()} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("record %d: non-finite amount %v", i, v)
				}
			}
			if r.StartDate.Location() != time.UTC || r.EndDate.Location() != time.UTC {
				t.Fatalf("record %d: dates not UTC", i)
			}
			if r.Index != i {
				t.Fatalf("record %d has Index %d", i, r.Index)
			}
			if len(r.Currency) != 3 || strings.ToUpper(r.Currency) != r.Currency {
				t.Fatalf("record %d: currency %q is not 3 upper-case letters", i, r.Currency)
			}
			// The exact amount and its float64 agree.
			for _, d := range []Decimal{r.UsageAmount, r.PriceAmount} {
				if f, err := strconv.ParseFloat(d.String(), 64); err != nil || f != d.Float64() {
					t.Fatalf("record %d: amount %s converts to %v, strconv says %v (%v)", i, d, d.Float64(), f, err)
				}
			}
		}
		if p.asOf.Location() != time.UTC {
			t.Fatal("asOf not UTC")
		}
	})
}
