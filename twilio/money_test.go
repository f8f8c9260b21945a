package twilio

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		f        float64
	}{
		{"0", "0", 0},
		{"-0.000", "0", 0},
		{"0e999999999999", "0", 0},
		{"12", "12", 12},
		{"100.50", "100.5", 100.5},
		{"-1.5E-2", "-0.015", -0.015},
		{"1e3", "1000", 1000},
		{"2.5e+2", "250", 250},
		{"0.0079", "0.0079", 0.0079},
		{"123456789012345678", "123456789012345678", 123456789012345678},
		{"1234567890123456789012", "1234567890123456789012", 1234567890123456789012},
		{"1e300", "1" + fmt.Sprintf("%0300d", 0), 1e300},
		{"1e-30", "0." + fmt.Sprintf("%029d", 0) + "1", 1e-30},
		{"-9223372036854775808", "-9223372036854775808", -9223372036854775808},
	}
	for _, tt := range tests {
		d, err := ParseDecimal(tt.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("ParseDecimal(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if got := d.Float64(); got != tt.f {
			t.Errorf("ParseDecimal(%q).Float64() = %v, want %v", tt.in, got, tt.f)
		}
	}
	for in, want := range map[string]string{
		"":        `"" is not a number`,
		"1.":      `"1." is not a number`,
		"+1":      `"+1" is not a number`,
		"NaN":     `"NaN" is not a number`,
		"1e400":   `"1e400" is out of range`,
		"1e-31":   `"1e-31" has more than 30 decimal places`,
		"0.1e-30": `"0.1e-30" has more than 30 decimal places`,
	} {
		if _, err := ParseDecimal(in); err == nil || err.Error() != want {
			t.Errorf("ParseDecimal(%q) error %v, want %s", in, err, want)
		}
	}
}

// TestDecimalSumIsExact is the reason Decimal exists: float64 sums of
// two-decimal amounts grow digits the API never sent.
func TestDecimalSumIsExact(t *testing.T) {
	amounts := []string{"0.02", "271.15"}
	var f float64
	var d Decimal
	for _, a := range amounts {
		v, _ := strconv.ParseFloat(a, 64)
		f += v
		d = d.Add(mustDecimal(a))
	}
	if got := strconv.FormatFloat(f, 'f', -1, 64); got == "271.17" {
		t.Fatalf("float64 sum %s is exact: pick amounts that show the problem", got)
	}
	if got := d.String(); got != "271.17" {
		t.Errorf("decimal sum %s, want 271.17", got)
	}
	if got := strconv.FormatFloat(d.Float64(), 'f', -1, 64); got != "271.17" {
		t.Errorf("decimal sum as float64 prints %s, want 271.17", got)
	}

	// A thousand one-cent amounts and a thousand 0.001 usage amounts.
	var cents, milli Decimal
	for range 1000 {
		cents = cents.Add(mustDecimal("0.01"))
		milli = milli.Add(mustDecimal("0.001"))
	}
	if cents.Float64() != 10 || milli.Float64() != 1 {
		t.Errorf("1000 x 0.01 = %s, 1000 x 0.001 = %s, want 10 and 1", cents, milli)
	}
}

func TestDecimalAddOverflowsIntoBig(t *testing.T) {
	largest := mustDecimal(strconv.FormatInt(math.MaxInt64, 10))
	sum := largest.Add(mustDecimal("1"))
	if got := sum.String(); got != "9223372036854775808" {
		t.Errorf("MaxInt64 + 1 = %s", got)
	}
	if got := sum.Add(mustDecimal("-1")).Add(mustDecimal("0.5")).String(); got != "9223372036854775807.5" {
		t.Errorf("back down and a half: %s", got)
	}
	// Aligning scales can overflow too: 9e17 at 2 decimals is 9e19.
	if got := mustDecimal("900000000000000000").Add(mustDecimal("0.01")).String(); got != "900000000000000000.01" {
		t.Errorf("scale alignment overflow: %s", got)
	}
	smallest := mustDecimal(strconv.FormatInt(math.MinInt64, 10))
	if got := smallest.Add(mustDecimal("-1")).String(); got != "-9223372036854775809" {
		t.Errorf("MinInt64 - 1 = %s", got)
	}
	if smallest.Add(mustDecimal("-1")).Cmp(smallest) != -1 || mustDecimal("1.50").Cmp(mustDecimal("1.5")) != 0 {
		t.Error("Cmp is wrong")
	}
	if !mustDecimal("1").Add(mustDecimal("-1.00")).IsZero() || (Decimal{}).String() != "0" {
		t.Error("IsZero or the zero value is wrong")
	}
}

// mustDecimal is ParseDecimal for a test's literals.
func mustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic("mustDecimal: " + err.Error())
	}
	return d
}
