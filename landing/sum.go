package landing

import (
	"math"
	"math/big"
	"strconv"
)

// The page adds and rounds the decimals the exporter serves, not binary
// floats. An amount reaches the page as a float64; the decimal it stands
// for is its shortest decimal: the text the exposition serves it as and,
// for a figure the API reported, the API's own decimal. A total of those
// decimals does not depend on the order of its terms, and rounds as money
// is rounded: 29.476 + 33.126 + 17.233 is 79.835, so 79.84, though the
// float64 sum, in any order, is a little less.

// shortestDecimal is the decimal a finite a stands for, as m × 10^e with m
// below 10^17.
func shortestDecimal(a float64) (m uint64, e int, neg bool) {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], a, 'e', -1, 64) // [-]d[.ddd]e±dd
	if b[0] == '-' {
		neg, b = true, b[1:]
	}
	digits, i := 0, 0
	for ; b[i] != 'e'; i++ {
		if b[i] != '.' {
			m = m*10 + uint64(b[i]-'0')
			digits++
		}
	}
	exp, expNeg := 0, b[i+1] == '-'
	for _, c := range b[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if expNeg {
		exp = -exp
	}
	return m, exp - (digits - 1), neg
}

// smallPow10 are 10^0 to 10^40, the scales amounts and rates have.
var smallPow10 = func() []*big.Int {
	p := make([]*big.Int, 41)
	p[0] = big.NewInt(1)
	for i := 1; i < len(p); i++ {
		p[i] = new(big.Int).Mul(p[i-1], big.NewInt(10))
	}
	return p
}()

func pow10(n int) *big.Int {
	if n < len(smallPow10) {
		return smallPow10[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// exactSum adds amounts exactly, as the decimals they stand for, and
// yields the float64 nearest to the total. A term that is not finite
// (never a figure the exporter serves) makes the total what float addition
// would. The zero value is an empty sum; it must not be copied once used.
type exactSum struct {
	acc    big.Int // the sum is acc × 10^scale
	scale  int
	term   big.Int // scratch
	rate   big.Int // scratch
	inf    float64 // the sum of the terms that are not finite
	hasInf bool
}

// add adds a × rate.
func (s *exactSum) add(a, rate float64) {
	if math.IsNaN(a) || math.IsInf(a, 0) || math.IsNaN(rate) || math.IsInf(rate, 0) {
		s.inf += a * rate
		s.hasInf = true
		return
	}
	m, e, neg := shortestDecimal(a)
	s.term.SetUint64(m)
	if rate != 1 {
		mr, er, negr := shortestDecimal(rate)
		s.term.Mul(&s.term, s.rate.SetUint64(mr))
		e, neg = e+er, neg != negr
	}
	if neg {
		s.term.Neg(&s.term)
	}
	switch {
	case s.acc.Sign() == 0:
		s.scale = e
	case e < s.scale:
		s.acc.Mul(&s.acc, pow10(s.scale-e))
		s.scale = e
	case e > s.scale:
		s.term.Mul(&s.term, pow10(e-s.scale))
	}
	s.acc.Add(&s.acc, &s.term)
}

func (s *exactSum) float64() float64 {
	if s.hasInf {
		return s.inf
	}
	var r big.Rat
	if s.scale >= 0 {
		r.SetInt(new(big.Int).Mul(&s.acc, pow10(s.scale)))
	} else {
		r.SetFrac(&s.acc, pow10(-s.scale))
	}
	f, _ := r.Float64()
	return f
}
