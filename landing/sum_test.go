package landing

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// randomDecimal is a decimal of up to 12 significant digits with 0 to 8
// decimals, like an amount or a rate, sometimes negative (a credit).
func randomDecimal(r *rand.Rand) string {
	s := strconv.FormatInt(r.Int64N(1_000_000_000_000), 10)
	if d := r.IntN(9); d > 0 {
		s = strings.Repeat("0", max(0, d+1-len(s))) + s
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if r.IntN(10) == 0 {
		s = "-" + s
	}
	return s
}

// exactSum is the sum big.Rat makes of the decimals, and formatAmount
// rounds a decimal as big.Rat's FloatString does (a half away from zero),
// in any order of terms and for any mix of scales.
func TestExactSumAndRoundingAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var s exactSum
		want := new(big.Rat)
		for range 1 + r.IntN(6) {
			a, rate := randomDecimal(r), "1"
			if r.IntN(2) == 0 {
				rate = randomDecimal(r)
			}
			af, _ := strconv.ParseFloat(a, 64)
			rf, _ := strconv.ParseFloat(rate, 64)
			s.add(af, rf)
			ar, _ := new(big.Rat).SetString(a)
			rr, _ := new(big.Rat).SetString(rate)
			want.Add(want, ar.Mul(ar, rr))
		}
		wf, _ := want.Float64()
		if got := s.float64(); got != wf {
			t.Fatalf("case %d: sum %v, want %v (%s)", i, got, wf, want.FloatString(20))
		}
		// A decimal of at most 15 significant digits is its float64's
		// shortest decimal, so rounding it must agree with big.Rat.
		d := randomDecimal(r)
		f, _ := strconv.ParseFloat(d, 64)
		dr, _ := new(big.Rat).SetString(d)
		for _, places := range []int{0, 2, 3} {
			want := new(big.Rat).Abs(dr).FloatString(places)
			if dr.Sign() < 0 && strings.Trim(want, "0.") != "" {
				want = "-" + want
			}
			if got := strings.ReplaceAll(formatAmount(f, places), ",", ""); got != want {
				t.Fatalf("formatAmount(%s, %d) = %s, want %s", d, places, got, want)
			}
		}
	}
}
