package server

import (
	"math"
	"strconv"
	"testing"
)

// TestStrtod checks the strtod emulation against what glibc's strtod
// returns for each input (value, bytes consumed, ERANGE).
func TestStrtod(t *testing.T) {
	for _, tc := range []struct {
		in     string
		f      float64
		n      int
		erange bool
	}{
		{"", 0, 0, false},
		{" 1", 1, 2, false},
		{"1 ", 1, 1, false},
		{"\t-2.5x", -2.5, 5, false},
		{"0x10", 16, 4, false},
		{"0X1p-2", 0.25, 6, false},
		{"0x", 0, 1, false},
		{"0x1p", 1, 3, false},
		{"0x.8", 0.5, 4, false},
		{"1e", 1, 1, false},
		{"1e+", 1, 1, false},
		{"1e+2", 100, 4, false},
		{".5", 0.5, 2, false},
		{"5.", 5, 2, false},
		{".", 0, 0, false},
		{"+-1", 0, 0, false},
		{"-inf", math.Inf(-1), 4, false},
		{"INFINITY", math.Inf(1), 8, false},
		{"infinit", math.Inf(1), 3, false},
		{"1e400", math.Inf(1), 5, true},
		{"-1e400", math.Inf(-1), 6, true},
		{"1e-400", 0, 6, true},
		{"0e-400", 0, 6, false},
		{"1e-310", 1e-310, 6, true},
		{"1\x00x", 1, 1, false},
	} {
		f, n, erange := strtod([]byte(tc.in))
		if f != tc.f || n != tc.n || erange != tc.erange {
			t.Errorf("strtod(%q) = %v, %d, %v; want %v, %d, %v", tc.in, f, n, erange, tc.f, tc.n, tc.erange)
		}
	}
	for _, in := range []string{"nan", "-nan", "nan(x_1)", "NaN("} {
		f, n, _ := strtod([]byte(in))
		want := map[string]int{"nan": 3, "-nan": 4, "nan(x_1)": 8, "NaN(": 3}[in]
		if !math.IsNaN(f) || n != want {
			t.Errorf("strtod(%q) = %v, %d; want NaN, %d", in, f, n, want)
		}
	}
}

// TestParseFloatShortIntegerMatchesStrtod checks ParseFloat's integer fast
// path against the strtod path it bypasses: same value, same sign of zero,
// and the same refusals for what is not a plain integer.
func TestParseFloatShortIntegerMatchesStrtod(t *testing.T) {
	inputs := []string{"0", "-0", "+0", "1", "-1", "+7", "00", "007", "-007",
		"123456789012345", "-999999999999999", "1234567890123456", "9007199254740993",
		"-", "+", "--1", "1-", "1 ", "1.", "1e3", "0x10", "12a", "+-0", "١"}
	for i := 0; i < 2000; i++ {
		inputs = append(inputs, strconv.FormatInt(int64(i*i*7919)-1000000, 10))
	}
	for _, in := range inputs {
		got, gotOK := ParseFloat([]byte(in))
		f, n, erange := strtod([]byte(in))
		wantOK := n == len(in) && !math.IsNaN(f) && !(erange && (math.IsInf(f, 0) || f == 0))
		if !wantOK {
			f = 0
		}
		if gotOK != wantOK || math.Float64bits(got) != math.Float64bits(f) {
			t.Errorf("ParseFloat(%q) = %v, %v; strtod gives %v, %v", in, got, gotOK, f, wantOK)
		}
	}
}
