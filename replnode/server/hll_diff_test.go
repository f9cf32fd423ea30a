package server_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialHyperLogLog requires the same replies, the same HLL
// bytes (GET) and the same DEBUG DIGEST as redis-server 7.0 after the same
// PFADD / PFMERGE / PFCOUNT / PFDEBUG sequence, through sparse→dense
// promotion at hll-sparse-max-bytes.
func TestDifferentialHyperLogLog(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		{"PFADD"},
		{"PFADD", "h"},
		{"GET", "h"},
		{"PFADD", "h"},
		{"PFADD", "h", "a", "b", "c"},
		{"PFADD", "h", "a"},
		{"PFCOUNT", "h"},
		{"GET", "h"},
		{"PFCOUNT", "h", "nokey"},
		{"PFCOUNT", "nokey"},
		{"PFDEBUG", "ENCODING", "h"},
		{"PFDEBUG", "DECODE", "h"},
		{"PFDEBUG", "NOPE", "h"},
		{"PFDEBUG", "ENCODING", "nokey"},
		{"PFDEBUG", "ENCODING"},
		{"SET", "s", "not an hll"},
		{"PFADD", "s", "x"},
		{"PFCOUNT", "s"},
		{"PFCOUNT", "h", "s"},
		{"PFMERGE", "h", "s"},
		{"PFDEBUG", "GETREG", "s"},
		{"LPUSH", "l", "x"},
		{"PFADD", "l", "x"},
		{"PFCOUNT", "l"},
		{"PFMERGE", "l"},
		{"PFMERGE", "m1"},
		{"GET", "m1"},
		{"PFMERGE", "m2", "h", "nokey"},
		{"GET", "m2"},
	} {
		d.Do(s...)
	}
	// Grow a sparse HLL element by element, comparing its bytes, until it
	// is promoted; then a dense one, and merges of every mix.
	d.Do("CONFIG", "SET", "hll-sparse-max-bytes", "400")
	for i := 0; i < 300; i++ {
		d.Do("PFADD", "grow", "e"+strconv.Itoa(i), "f"+strconv.Itoa(i*7))
		d.Do("GET", "grow")
		if i%17 == 0 {
			d.Do("PFCOUNT", "grow")
			d.Do("PFDEBUG", "ENCODING", "grow")
		}
	}
	d.Do("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
	args := []string{"PFADD", "big"}
	for i := 0; i < 20000; i++ {
		args = append(args, "big"+strconv.Itoa(i))
	}
	d.Do(args...)
	d.Do("PFCOUNT", "big")
	d.Do("PFDEBUG", "ENCODING", "big")
	d.Do("GET", "big")
	d.Do("PFADD", "small", "x", "y", "z", "big1")
	d.Do("PFMERGE", "sm", "small", "h")
	d.Do("GET", "sm")
	d.Do("PFDEBUG", "ENCODING", "sm")
	d.Do("PFMERGE", "bm", "small", "big")
	d.Do("GET", "bm")
	d.Do("PFMERGE", "small", "grow")
	d.Do("GET", "small")
	d.Do("PFCOUNT", "small", "big", "h", "grow", "nokey")
	d.Do("PFCOUNT", "bm")
	d.Do("PFDEBUG", "TODENSE", "h")
	d.Do("PFDEBUG", "TODENSE", "h")
	d.Do("PFDEBUG", "DECODE", "h")
	// PFDEBUG GETREG's 16384-element reply is too slow for the test
	// client's parser: compare its effect (the dense conversion) instead.
	d.Do("PFDEBUG", "ENCODING", "m2")
	d.Do("PFDEBUG", "DECODE", "m2")
	d.Do("DEBUG", "DIGEST")
	d.Do("PFSELFTEST")
	d.Do("PFSELFTEST", "x")
}

// TestDifferentialHyperLogLogCorrupt corrupts HLL strings the way Redis's
// own tests do and at random, and requires Redis's errors and replies: an
// invalid HLL is reported, never trusted, and nothing crashes.
func TestDifferentialHyperLogLogCorrupt(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	for _, s := range [][]string{
		// Additional data at the tail of a sparse HLL.
		{"PFADD", "hll", "a", "b", "c"},
		{"APPEND", "hll", "hello"},
		{"PFCOUNT", "hll"},
		{"PFADD", "hll", "d"},
		// Broken magic and unknown encoding.
		{"SETRANGE", "magic", "0", "0123456789abcdef"},
		{"PFCOUNT", "magic"},
		{"PFADD", "enc", "a"},
		{"SETRANGE", "enc", "4", "x"},
		{"PFCOUNT", "enc"},
		// A dense HLL of the wrong length.
		{"PFADD", "dense", "a"},
		{"PFDEBUG", "TODENSE", "dense"},
		{"APPEND", "dense", "x"},
		{"PFCOUNT", "dense"},
		{"PFMERGE", "x", "dense"},
		// A sparse HLL covering too few registers.
		{"SET", "short", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\x00"},
		{"PFCOUNT", "short"},
		{"PFCOUNT", "short", "nokey"},
		{"PFMERGE", "x", "short"},
		{"PFADD", "short", "a", "b", "c"},
		{"GET", "short"},
		{"PFDEBUG", "GETREG", "short"},
		{"PFDEBUG", "TODENSE", "short"},
		{"PFDEBUG", "DECODE", "short"},
		// A truncated XZERO opcode.
		{"SET", "trunc", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f"},
		{"PFADD", "trunc", "a"},
		{"PFCOUNT", "trunc"},
		{"GET", "trunc"},
	} {
		d.Do(s...)
	}
	d.Do("DEBUG", "DIGEST")

	// Random corruption of sparse HLLs: the same mutations on both servers.
	rng := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 200; round++ {
		key := "fz" + strconv.Itoa(round)
		args := []string{"PFADD", key}
		for i := 0; i < 1+rng.IntN(60); i++ {
			args = append(args, strconv.Itoa(rng.IntN(100000)))
		}
		d.Do(args...)
		val := d.Do("GET", key).Str
		for k := 0; k < 1+rng.IntN(4); k++ {
			off := 16 + rng.IntN(len(val)-16+2)
			d.Do("SETRANGE", key, strconv.Itoa(off), string([]byte{byte(rng.IntN(256))}))
		}
		switch rng.IntN(4) {
		case 0:
			d.Do("PFCOUNT", key)
		case 1:
			d.Do("PFADD", key, "a", "b", "c", strconv.Itoa(round))
		case 2:
			d.Do("PFMERGE", "dst"+strconv.Itoa(round), key)
		case 3:
			d.Do("PFCOUNT", key, "fz0")
		}
		d.Do("GET", key)
		d.Do("PFDEBUG", "DECODE", key)
	}
	d.Do("DEBUG", "DIGEST")
}
