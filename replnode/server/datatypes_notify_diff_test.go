package server_test

import (
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialDataTypeNotifications compares the keyspace events of
// the HyperLogLog, BITFIELD and GEO commands with redis-server 7.0: after
// each command a marker message ends the events it fired, so a missing or
// extra event shows as a mismatch.
func TestDifferentialDataTypeNotifications(t *testing.T) {
	real := redistest.StartRedis(t, "notify-keyspace-events KEA")
	ours := redistest.StartInProcess(t, "notify-keyspace-events KEA")
	sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	cmd := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	sub.Do("PSUBSCRIBE", "__key*@0__:*")
	for _, args := range [][]string{
		{"PFADD", "h", "a", "b"},
		{"PFADD", "h", "a"},
		{"PFCOUNT", "h"},
		{"PFMERGE", "h2", "h"},
		{"PFDEBUG", "TODENSE", "h"},
		{"BITFIELD", "bf", "SET", "u8", "0", "1"},
		{"BITFIELD", "bf", "SET", "u8", "0", "1"},
		{"BITFIELD", "bf", "GET", "u8", "0"},
		{"BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"},
		{"GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
		{"GEOADD", "g", "XX", "13.361389", "38.115556", "Palermo"},
		{"GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
		{"GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"},
		{"GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gr"},
		{"GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "gr"},
	} {
		cmd.Do(args...)
		cmd.Do("PUBLISH", "__keyspace@0__:marker", "end")
		for {
			r := sub.Receive()
			if strings.Contains(r.String(), "marker") {
				break
			}
		}
	}
}
