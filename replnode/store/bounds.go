package store

import "math"

// Offset, length and count arithmetic on client-supplied int64s, in one
// place: every command that adds an offset to a length, turns a count into
// a window end or negates a count goes through these, so none of them can
// wrap around at ±2^63 (Redis gets the same results through unsigned
// casts and explicit overflow tests).

// LengthWithin reports whether a string of size+add bytes fits in max, as
// Redis's checkStringLength: false when the sum overflows.
func LengthWithin(size, add, max int64) bool {
	if size < 0 || add < 0 {
		return false
	}
	return size <= max && add <= max-size
}

// SaturatingAdd returns a+b clamped to [MinInt64, MaxInt64].
func SaturatingAdd(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// CountMagnitude returns |n| as an unsigned count: -MinInt64 is 2^63, not
// MinInt64 again (LREM's "remove from the tail" count, random-pick counts).
func CountMagnitude(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}
