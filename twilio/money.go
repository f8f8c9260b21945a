package twilio

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// MaxScale is the most decimal places an amount may have. Money and usage
// amounts carry a handful; the bound keeps a hostile "1e-999999999" from
// costing memory when sums align it with other amounts.
const MaxScale = 30

// Decimal is an exact decimal number, coefficient × 10^-scale: an amount as
// the Usage API sent it, or an exact sum of such amounts. The zero value is 0.
//
// Why not float64: summing binary approximations of 0.1 and 0.2 gives
// 0.30000000000000004, and a month of records gives sums like
// 271.16999999999996. Why not integer minor units: the API does not say how
// many decimals an amount has (usage has 0 to 3 in practice, prices may carry
// fractions of a cent), so any fixed unit would round some input. Why not a
// decimal library: addition is all we need, and an int64 coefficient with a
// math/big fallback on overflow keeps the common case free of allocations
// without a new dependency. Amounts become float64 once, when a sum is
// exported (Float64), which rounds the exact sum to the nearest float64: the
// sum of 0.02 and 271.15 prints as 271.17, not 271.16999999999996.
type Decimal struct {
	small int64    // the coefficient when big is nil
	big   *big.Int // the coefficient when it does not fit in an int64; never modified once set
	scale int32    // digits after the decimal point, 0..MaxScale
}

// pow10 holds the powers of ten that fit in an int64.
var pow10 = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// ParseDecimal parses a JSON number literal (such as "12", "-0.25" or
// "1.5E-2") exactly. It refuses other forms (NaN, Inf, hex, spaces), values
// beyond float64's range and more than MaxScale decimal places.
func ParseDecimal(s string) (Decimal, error) {
	if !isNumberLiteral(s) {
		return Decimal{}, fmt.Errorf("%s is not a number", quote(s))
	}
	if f, err := strconv.ParseFloat(s, 64); err != nil || math.IsInf(f, 0) {
		return Decimal{}, fmt.Errorf("%s is out of range", quote(s))
	}
	d, err := parseLiteral(s)
	if err != nil {
		return Decimal{}, fmt.Errorf("%s %w", quote(s), err)
	}
	return d, nil
}

// parseLiteral converts a valid JSON number literal within float64's range.
func parseLiteral(s string) (Decimal, error) {
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	mant, exp, hasExp := strings.Cut(s, "e")
	if !hasExp {
		mant, exp, _ = strings.Cut(s, "E")
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	all := intPart + frac
	trimmed := strings.TrimRight(all, "0")
	digits := strings.TrimLeft(trimmed, "0")
	if digits == "" {
		return Decimal{}, nil // zero, whatever its exponent
	}
	// The trailing zeros dropped from the digits go back into the
	// exponent: value = digits × 10^(exp + zeros - len(frac)).
	zeros := len(all) - len(trimmed)
	e := int64(0)
	if exp != "" {
		v, err := strconv.ParseInt(exp, 10, 32)
		if err != nil {
			// A value within float64's range with such an exponent has
			// far too many decimal places.
			return Decimal{}, fmt.Errorf("has more than %d decimal places", MaxScale)
		}
		e = v
	}
	e += int64(zeros) - int64(len(frac))
	if -e > MaxScale {
		return Decimal{}, fmt.Errorf("has more than %d decimal places", MaxScale)
	}
	var d Decimal
	if e < 0 {
		d.scale = int32(-e)
	}
	// Within float64's range, so at most 309 integer digits.
	if len(digits)+int(max(e, 0)) <= 18 {
		v, _ := strconv.ParseInt(digits, 10, 64)
		d.small = v * pow10[max(e, 0)]
		if neg {
			d.small = -d.small
		}
		return d, nil
	}
	b, _ := new(big.Int).SetString(digits, 10)
	if e > 0 {
		b.Mul(b, new(big.Int).Exp(big.NewInt(10), big.NewInt(e), nil))
	}
	if neg {
		b.Neg(b)
	}
	d.big = b
	return d, nil
}

// Add returns d + x, exactly.
func (d Decimal) Add(x Decimal) Decimal {
	scale := max(d.scale, x.scale)
	if d.big == nil && x.big == nil {
		a, okA := scaleSmall(d.small, scale-d.scale)
		b, okB := scaleSmall(x.small, scale-x.scale)
		if okA && okB {
			s := a + b // wraps on overflow
			// Overflow: both operands share a sign the sum lacks.
			if (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0) {
				return Decimal{small: s, scale: scale}
			}
			return Decimal{big: new(big.Int).Add(big.NewInt(a), big.NewInt(b)), scale: scale}
		}
	}
	sum := new(big.Int).Add(d.coef(scale), x.coef(scale))
	if sum.IsInt64() {
		return Decimal{small: sum.Int64(), scale: scale}
	}
	return Decimal{big: sum, scale: scale}
}

// scaleSmall returns v × 10^n unless it overflows an int64.
func scaleSmall(v int64, n int32) (int64, bool) {
	if n == 0 {
		return v, true
	}
	if int(n) >= len(pow10) {
		return 0, v == 0
	}
	p := pow10[n]
	if v > math.MaxInt64/p || v < math.MinInt64/p {
		return 0, false
	}
	return v * p, true
}

// coef returns d's coefficient at a scale at least d's, as a new big.Int.
func (d Decimal) coef(scale int32) *big.Int {
	c := new(big.Int)
	if d.big != nil {
		c.Set(d.big)
	} else {
		c.SetInt64(d.small)
	}
	if n := scale - d.scale; n > 0 {
		c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	}
	return c
}

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool {
	if d.big != nil {
		return d.big.Sign() == 0
	}
	return d.small == 0
}

// String returns d in plain decimal notation, with its scale's decimals.
func (d Decimal) String() string {
	var digits string
	neg := false
	if d.big != nil {
		digits = new(big.Int).Abs(d.big).String()
		neg = d.big.Sign() < 0
	} else {
		u := uint64(d.small)
		if d.small < 0 {
			u = -u
			neg = true
		}
		digits = strconv.FormatUint(u, 10)
	}
	if d.scale > 0 {
		if pad := int(d.scale) + 1 - len(digits); pad > 0 {
			digits = strings.Repeat("0", pad) + digits
		}
		cut := len(digits) - int(d.scale)
		digits = digits[:cut] + "." + digits[cut:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Float64 returns the float64 nearest to d: the one conversion an exact sum
// goes through before it is exported.
func (d Decimal) Float64() float64 {
	// Both operands exact in float64, so one division rounds correctly.
	const exact = 1 << 53
	if d.big == nil && d.scale < 23 && d.small <= exact && d.small >= -exact {
		return float64(d.small) / float64(pow10f[d.scale])
	}
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// pow10f holds the powers of ten float64 represents exactly.
var pow10f = func() [23]float64 {
	var p [23]float64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// Cmp compares d and x: -1 if d < x, 0 if equal (whatever their scales),
// +1 if d > x.
func (d Decimal) Cmp(x Decimal) int {
	scale := max(d.scale, x.scale)
	return d.coef(scale).Cmp(x.coef(scale))
}
