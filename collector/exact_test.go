package collector

import (
	"math/big"
	"strconv"
	"testing"
)

// exactSums adds the decimal texts of amounts per series with math/big, a
// way independent of twilio.Decimal, for the figures a test expects.
type exactSums map[string]*big.Rat

// add adds the amount text v to series k.
func (s exactSums) add(t *testing.T, k, v string) {
	t.Helper()
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		t.Fatalf("%s: amount %q is not a decimal", k, v)
	}
	if s[k] == nil {
		s[k] = new(big.Rat)
	}
	s[k].Add(s[k], r)
}

// addFloat adds a price as the simulator sends it: the shortest decimal of
// its float64, as encoding/json writes it.
func (s exactSums) addFloat(t *testing.T, k string, v float64) {
	t.Helper()
	s.add(t, k, strconv.FormatFloat(v, 'f', -1, 64))
}

// floats returns each sum as the float64 nearest to it: what the exporter
// must serve.
func (s exactSums) floats() map[string]float64 {
	out := make(map[string]float64, len(s))
	for k, r := range s {
		out[k], _ = r.Float64()
	}
	return out
}
