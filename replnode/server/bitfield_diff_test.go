package server_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialBitfield compares BITFIELD and BITFIELD_RO with
// redis-server 7.0: every type width, # offsets, the overflow modes at
// their limits, the errors, and the resulting strings and digest.
func TestDifferentialBitfield(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		{"BITFIELD"},
		{"BITFIELD", "bf"},
		{"EXISTS", "bf"},
		{"BITFIELD", "bf", "GET", "u8", "0"},
		{"EXISTS", "bf"},
		{"BITFIELD", "bf", "GET", "u64", "0"},
		{"BITFIELD", "bf", "GET", "i65", "0"},
		{"BITFIELD", "bf", "GET", "i0", "0"},
		{"BITFIELD", "bf", "GET", "x8", "0"},
		{"BITFIELD", "bf", "GET", "u", "0"},
		{"BITFIELD", "bf", "GET", "u+8", "0"},
		{"BITFIELD", "bf", "GET", "u08", "0"},
		{"BITFIELD", "bf", "GET", "", "0"},
		{"BITFIELD", "bf", "GET", "u8", "-1"},
		{"BITFIELD", "bf", "GET", "u8", "#-1"},
		{"BITFIELD", "bf", "GET", "u8", "#"},
		{"BITFIELD", "bf", "GET", "u8", "4294967296"},
		{"BITFIELD", "bf", "GET", "u8", "x"},
		{"BITFIELD", "bf", "GET", "u8"},
		{"BITFIELD", "bf", "SET", "u8", "0"},
		{"BITFIELD", "bf", "SET", "u8", "0", "x"},
		{"BITFIELD", "bf", "INCRBY", "u8", "0", "1.5"},
		{"BITFIELD", "bf", "NOPE", "u8", "0"},
		{"BITFIELD", "bf", "OVERFLOW"},
		{"BITFIELD", "bf", "OVERFLOW", "MAYBE", "GET", "u8", "0"},
		{"BITFIELD", "bf", "GET", "u8", "0", "OVERFLOW", "MAYBE"},
		{"EXISTS", "bf"},
		{"BITFIELD", "bf", "SET", "i8", "0", "-100", "GET", "u4", "0", "GET", "i4", "4"},
		{"GET", "bf"},
		{"BITFIELD", "bf", "SET", "u8", "#3", "255", "GET", "u8", "24", "GET", "i64", "0"},
		{"GET", "bf"},
		{"BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"},
		{"BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5", "INCRBY", "i5", "100", "-40", "SET", "u3", "7", "8"},
		{"BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i5", "100", "-40", "INCRBY", "i5", "100", "100", "SET", "i4", "0", "-9", "SET", "u4", "0", "99"},
		{"BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "i5", "100", "-40", "INCRBY", "i5", "100", "100", "SET", "i4", "0", "-9", "SET", "u4", "0", "99"},
		{"BITFIELD", "big", "SET", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1", "GET", "i64", "0"},
		{"BITFIELD", "big", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-9223372036854775808"},
		{"BITFIELD", "big", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "64", "-1"},
		{"BITFIELD", "big", "SET", "u63", "1", "9223372036854775807", "INCRBY", "u63", "1", "1", "OVERFLOW", "SAT", "INCRBY", "u63", "1", "-5", "INCRBY", "u63", "1", "-9223372036854775808"},
		{"BITFIELD", "big", "GET", "u63", "1", "GET", "i1", "0", "GET", "u1", "0", "GET", "i64", "3"},
		{"GET", "big"},
		{"BITFIELD", "big", "SET", "u8", "0", "0", "SET", "u8", "0", "0"},
		{"BITFIELD", "nochange", "SET", "u8", "0", "0"},
		{"GET", "nochange"},
		{"BITFIELD", "nochange", "SET", "u8", "0", "0"},
		{"BITFIELD", "nochange", "OVERFLOW", "FAIL", "SET", "u8", "100", "256"},
		{"GET", "nochange"},
		{"BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i16", "#1", "GET", "u8", "1000"},
		{"BITFIELD_RO", "bf", "SET", "u8", "0", "1"},
		{"BITFIELD_RO", "bf", "INCRBY", "u8", "0", "1"},
		{"BITFIELD_RO", "nokey", "GET", "u8", "0"},
		{"BITFIELD_RO", "bf"},
		{"LPUSH", "l", "a"},
		{"BITFIELD", "l", "GET", "u8", "0"},
		{"BITFIELD", "l", "SET", "u8", "0", "1"},
		{"BITFIELD_RO", "l", "GET", "u8", "0"},
		{"SET", "n", "12345"},
		{"BITFIELD", "n", "GET", "u8", "0", "INCRBY", "u8", "0", "1"},
		{"GET", "n"},
	} {
		d.Do(s...)
	}
	// Random operations over all widths and modes.
	rng := rand.New(rand.NewPCG(3, 5))
	modes := []string{"WRAP", "SAT", "FAIL"}
	for i := 0; i < 500; i++ {
		args := []string{"BITFIELD", "r" + strconv.Itoa(i%5)}
		for k := 0; k < 1+rng.IntN(4); k++ {
			typ := "i" + strconv.Itoa(1+rng.IntN(64))
			if rng.IntN(2) == 0 {
				typ = "u" + strconv.Itoa(1+rng.IntN(63))
			}
			off := strconv.Itoa(rng.IntN(200))
			if rng.IntN(4) == 0 {
				off = "#" + strconv.Itoa(rng.IntN(5))
			}
			val := strconv.FormatInt(int64(rng.Uint64()), 10)
			if rng.IntN(2) == 0 {
				val = strconv.Itoa(rng.IntN(600) - 300)
			}
			switch rng.IntN(4) {
			case 0:
				args = append(args, "GET", typ, off)
			case 1:
				args = append(args, "SET", typ, off, val)
			case 2:
				args = append(args, "INCRBY", typ, off, val)
			case 3:
				args = append(args, "OVERFLOW", modes[rng.IntN(3)])
			}
		}
		d.Do(args...)
	}
	for i := 0; i < 5; i++ {
		d.Do("GET", "r"+strconv.Itoa(i))
	}
	d.Do("DEBUG", "DIGEST")
}
