package landing

import (
	"math"
	"strconv"
	"strings"
)

// minorUnits are the ISO 4217 exponents that differ from 2: how many digits
// an amount in the currency has after the decimal point.
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// decimals is how many digits after the decimal point currency's amounts
// are shown with: its ISO 4217 exponent, 2 for a currency not listed.
func decimals(currency string) int {
	if d, ok := minorUnits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// Money is an amount in one currency. Amounts in different currencies are
// never added: every total the page shows is per currency.
type Money struct {
	Amount   float64
	Currency string // ISO 4217 code, as the API or the configuration names it
}

// String formats m with its currency's usual decimals and thousands
// separators, after the currency code: "USD 1,234.50", "JPY 1,235".
func (m Money) String() string {
	return strings.ToUpper(m.Currency) + " " + formatAmount(m.Amount, decimals(m.Currency))
}

// formatAmount rounds a to d decimals, halves away from zero as money is
// rounded (not to even, as strconv does on exact halves), and groups the
// integer digits by three. It rounds the decimal a stands for, its shortest
// decimal, so 1.005 rounds up though its float64 is a little less. Minus
// zero, and an amount that rounds to zero, show as zero.
func formatAmount(a float64, d int) string {
	if math.IsNaN(a) || math.IsInf(a, 0) {
		return strconv.FormatFloat(a, 'f', -1, 64)
	}
	intPart, frac := roundDecimal(strconv.FormatFloat(math.Abs(a), 'f', -1, 64), d)
	neg := a < 0 && strings.Trim(intPart+frac, "0") != ""
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// roundDecimal rounds the plain decimal s (digits, an optional point and
// more digits) to d decimals, a half away from zero, and returns its
// integer digits and its d decimals.
func roundDecimal(s string, d int) (intPart, frac string) {
	intPart, frac, _ = strings.Cut(s, ".")
	if len(frac) <= d {
		return intPart, frac + strings.Repeat("0", d-len(frac))
	}
	up := frac[d] >= '5' // the digits after it only add to a half or more
	digits := []byte(intPart + frac[:d])
	for i := len(digits) - 1; up && i >= 0; i-- {
		if digits[i] == '9' {
			digits[i] = '0'
			continue
		}
		digits[i]++
		up = false
	}
	if up {
		digits = append([]byte{'1'}, digits...)
	}
	n := len(digits) - d
	return string(digits[:n]), string(digits[n:])
}
