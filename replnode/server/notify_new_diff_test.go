package server_test

import (
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialNewKeyNotifications: the "new" event (class n), which
// Redis's dbAdd fires for every key it creates, whatever the command (and
// not for a value replacing another), with the other events around it in
// the same order as redis-server 7.0.
func TestDifferentialNewKeyNotifications(t *testing.T) {
	for _, flags := range []string{"En", "KEA"} {
		t.Run(flags, func(t *testing.T) {
			real := redistest.StartRedis(t, "notify-keyspace-events "+flags)
			ours := redistest.StartInProcess(t, "notify-keyspace-events "+flags)
			sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
			cmd := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
			sub.Do("PSUBSCRIBE", "*")
			for _, args := range [][]string{
				{"SET", "s", "1"},
				{"SET", "s", "2"},
				{"INCR", "n"},
				{"APPEND", "a", "x"},
				{"SETRANGE", "r", "3", "x"},
				{"MSET", "m1", "1", "m2", "2", "s", "3"},
				{"HSET", "h", "f", "v"},
				{"HSET", "h", "g", "v"},
				{"LPUSH", "l", "a"},
				{"RPUSH", "l", "b"},
				{"LMOVE", "l", "l2", "LEFT", "RIGHT"},
				{"SADD", "st", "a", "b"},
				{"SMOVE", "st", "st2", "a"},
				{"SUNIONSTORE", "st3", "st", "st2"},
				{"ZADD", "z", "1", "a"},
				{"ZADD", "z", "2", "b"},
				{"ZUNIONSTORE", "z2", "1", "z"},
				{"PFADD", "hll", "a"},
				{"SETBIT", "b", "7", "1"},
				{"BITOP", "OR", "b2", "b", "b"},
				{"GEOADD", "g", "13.361389", "38.115556", "Palermo"},
				{"COPY", "s", "s-copy"},
				{"COPY", "s", "s-copy", "REPLACE"},
				{"RENAME", "s-copy", "s-renamed"},
				{"RENAME", "s-renamed", "s"},
				{"MOVE", "s", "1"},
				{"SORT", "l2", "ALPHA", "STORE", "sorted"},
				{"EVAL", "redis.call('set', 'from-script', 1) return redis.call('set', 'from-script', 2)", "0"},
				{"DEL", "s"},
				{"SET", "s", "again"},
			} {
				cmd.Do(args...)
				cmd.Do("PUBLISH", "marker", "end")
				for {
					r := sub.Receive()
					if strings.Contains(r.String(), "marker") {
						break
					}
				}
			}
		})
	}
}
