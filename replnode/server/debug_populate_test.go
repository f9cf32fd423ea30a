package server_test

import (
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDebugPopulateDiff checks DEBUG POPULATE against redis-server 7.0: the
// keys and values it creates (with and without size, which pads with zero
// bytes or cuts), that existing keys are kept, the digest of the result,
// and its argument errors.
func TestDebugPopulateDiff(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	d.Do("SET", "key:3", "mine")
	d.Do("DEBUG", "POPULATE", "10")
	d.Do("DBSIZE")
	d.Do("GET", "key:3")
	d.Do("GET", "key:9")
	d.Do("DEBUG", "POPULATE", "5", "pad", "12")
	d.Do("GET", "pad:4")
	d.Do("STRLEN", "pad:4")
	d.Do("DEBUG", "POPULATE", "5", "cut", "3")
	d.Do("GET", "cut:1")
	d.Do("DEBUG", "POPULATE", "0")
	d.Do("DEBUG", "DIGEST")
	d.Do("DEBUG", "POPULATE", "-1")
	d.Do("DEBUG", "POPULATE", "x")
	d.Do("DEBUG", "POPULATE", "1", "k", "-5")
	d.Do("DEBUG", "POPULATE")
	d.Do("DEBUG", "POPULATE", "1", "a", "1", "extra")
	d.Do("DBSIZE")
}
