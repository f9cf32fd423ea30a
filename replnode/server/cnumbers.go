// C library number parsing as Redis calls it (strtod, strtoul): which
// prefix is taken and what errno says decide Redis's replies, so they are
// emulated here, once, for the handlers that need them.

package server

import (
	"math"
	"strconv"
	"strings"
)

// strtod parses the longest prefix of b that C's strtod (glibc) accepts:
// leading white space, an optional sign, then a decimal or hexadecimal
// ("0x", optional "p" exponent) number, "inf", "infinity" or "nan". It
// returns the value, how many bytes were consumed (0 when there is no
// number, as strtod's endptr == nptr) and erange when strtod would set
// errno to ERANGE (overflow, or a non-zero number that underflows).
// Redis checks what follows and what errno said differently per caller, so
// the callers decide.
func strtod(b []byte) (f float64, n int, erange bool) {
	i := 0
	for i < len(b) && isSpaceByte(b[i]) {
		i++
	}
	start := i
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	rest := strings.ToLower(string(b[i:min(len(b), i+8)]))
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return signed(math.Inf(1), neg), i + 8, false
	case strings.HasPrefix(rest, "inf"):
		return signed(math.Inf(1), neg), i + 3, false
	case strings.HasPrefix(rest, "nan"):
		j := i + 3
		if j < len(b) && b[j] == '(' {
			k := j + 1
			for k < len(b) && (isAlnumByte(b[k]) || b[k] == '_') {
				k++
			}
			if k < len(b) && b[k] == ')' {
				j = k + 1
			}
		}
		return math.NaN(), j, false
	}
	if i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') {
		if end, nonzero, ok := scanMantissa(b, i+2, isHexByte); ok {
			text := string(b[start:end])
			end, text = scanExponent(b, end, 'p', text)
			if !strings.ContainsAny(text[i-start+2:], "pP") {
				text += "p0" // Go requires the binary exponent
			}
			return parsedFloat(text, nonzero, end)
		}
		// "0x" without hex digits is the number 0 followed by "x".
		return signed(0, neg), i + 1, false
	}
	end, nonzero, ok := scanMantissa(b, i, isDigitByte)
	if !ok {
		return 0, 0, false
	}
	end, text := scanExponent(b, end, 'e', string(b[start:end]))
	return parsedFloat(text, nonzero, end)
}

// scanMantissa scans digits [ "." digits ] from i; ok needs one digit.
func scanMantissa(b []byte, i int, digit func(byte) bool) (end int, nonzero, ok bool) {
	digits := 0
	for ; i < len(b) && digit(b[i]); i++ {
		digits++
		nonzero = nonzero || b[i] != '0'
	}
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for ; j < len(b) && digit(b[j]); j++ {
			digits++
			nonzero = nonzero || b[j] != '0'
		}
		if digits > 0 {
			i = j
		}
	}
	return i, nonzero, digits > 0
}

// scanExponent appends an exponent (mark, optional sign, digits) at i to
// text when one is there in full; strtod ignores an incomplete one.
func scanExponent(b []byte, i int, mark byte, text string) (int, string) {
	if i < len(b) && (b[i]|0x20) == mark {
		j := i + 1
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for k < len(b) && isDigitByte(b[k]) {
			k++
		}
		if k > j {
			return k, text + string(b[i:k])
		}
	}
	return i, text
}

func parsedFloat(text string, nonzero bool, end int) (float64, int, bool) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !math.IsInf(f, 0) {
		// Not expected for a scanned number; treat as no conversion.
		return 0, 0, false
	}
	// glibc reports ERANGE on overflow and on underflow (a result that is
	// 0 or subnormal).
	erange := math.IsInf(f, 0) || (nonzero && math.Abs(f) < 0x1p-1022)
	return f, end, erange
}

func signed(f float64, neg bool) float64 {
	if neg {
		return -f
	}
	return f
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

func isHexByte(c byte) bool {
	return isDigitByte(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

func isAlnumByte(c byte) bool { return isDigitByte(c) || (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// parseScanCursorOrReply parses a SCAN cursor as Redis 7.0 does, with
// strtoul: "" is 0, a leading '-' negates modulo 2^64 ("-1" is 2^64-1),
// but leading space, trailing bytes (up to a NUL) and overflow are an
// invalid cursor.
func parseScanCursorOrReply(ctx *Ctx, i int) (uint64, bool) {
	b := ctx.Args[i]
	if len(b) > 0 && isSpaceByte(b[0]) {
		ctx.Error("ERR invalid cursor")
		return 0, false
	}
	j, neg := 0, false
	if j < len(b) && (b[j] == '+' || b[j] == '-') {
		neg = b[j] == '-'
		j++
	}
	digits := j
	var n uint64
	overflow := false
	for ; j < len(b) && isDigitByte(b[j]); j++ {
		d := uint64(b[j] - '0')
		if n > (math.MaxUint64-d)/10 {
			overflow = true
		}
		n = n*10 + d
	}
	if j == digits {
		j = 0 // no conversion: endptr is the start of the string
	}
	if (j < len(b) && b[j] != 0) || overflow {
		ctx.Error("ERR invalid cursor")
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
