package server_test

import (
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialLengthCommands: LLEN, SCARD, ZCARD, HLEN and XLEN (one
// replyLength) reply the length, 0 for a missing key, WRONGTYPE for a key
// of another type and an arity error, as redis-server 7.0.
func TestDifferentialLengthCommands(t *testing.T) {
	d := redistest.NewDiff(t, redistest.StartRedis(t), redistest.StartInProcess(t))
	for _, s := range [][]string{
		{"RPUSH", "l", "a", "b", "c"},
		{"SADD", "s", "a", "b"},
		{"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"},
		{"HSET", "h", "f", "v"},
		{"XADD", "x", "1-0", "f", "v"},
		{"XADD", "x", "2-0", "f", "v"},
		{"SET", "str", "v"},
	} {
		d.Do(s...)
	}
	for _, cmd := range []string{"LLEN", "SCARD", "ZCARD", "HLEN", "XLEN"} {
		for _, key := range []string{"l", "s", "z", "h", "x", "str", "nokey"} {
			d.Do(cmd, key)
		}
		d.Do(cmd)
		d.Do(cmd, "l", "s")
	}
}
