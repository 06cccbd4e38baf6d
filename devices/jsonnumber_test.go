package devices

import (
	"math"
	"strconv"
	"testing"
)

// numberSeeds are the shapes devices send and the edges of the fast paths.
var numberSeeds = []string{
	"0", "-0", "1", "-1", "42", "007", "12.5", "-3.25", "0.1", "0.000", "-0.0", "21.7",
	"1733480000000", "-1733480000000", "9007199254740993", "999999999999999999",
	"1000000000000000000", "18446744073709551615", "18446744073709551616", "-9223372036854775808",
	"123456789012345", "1234567890123456", "12345678901234.5", "1.23456789012345", "0.123456789012345",
	"1e3", "1E-3", "-2.5e+2", "1.", ".5", "-", "", "+1", "1.2.3", "--1", "1_000", "0x10", "NaN", "Inf",
	"1e400", "4.9e-324", "179769313486231570000000000000000000000000000000000",
}

// FuzzParseNumbers holds parseUint, parseInt and parseFloat to strconv's
// answers, bit for bit, errors included, for any input.
func FuzzParseNumbers(f *testing.F) {
	for _, s := range numberSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkNumber(t, s)
	})
}

func TestParseNumbersSeeds(t *testing.T) {
	for _, s := range numberSeeds {
		checkNumber(t, s)
	}
}

func checkNumber(t *testing.T, s string) {
	t.Helper()
	u, err := parseUint([]byte(s))
	wu, werr := strconv.ParseUint(s, 10, 64)
	if u != wu || (err == nil) != (werr == nil) {
		t.Errorf("parseUint(%q) = %d, %v; strconv: %d, %v", s, u, err, wu, werr)
	}
	i, err := parseInt([]byte(s))
	wi, werr := strconv.ParseInt(s, 10, 64)
	if i != wi || (err == nil) != (werr == nil) {
		t.Errorf("parseInt(%q) = %d, %v; strconv: %d, %v", s, i, err, wi, werr)
	}
	v, err := parseFloat([]byte(s))
	wv, werr := strconv.ParseFloat(s, 64)
	if math.Float64bits(v) != math.Float64bits(wv) || (err == nil) != (werr == nil) {
		t.Errorf("parseFloat(%q) = %v (%#x), %v; strconv: %v (%#x), %v", s, v, math.Float64bits(v), err, wv, math.Float64bits(wv), werr)
	}
}
