package server

import (
	"net"
	"strings"
	"testing"
	"time"
)

// notifyScenario runs data-type commands on a server at port with every
// keyspace event enabled and returns the key events a subscriber saw.
func notifyScenario(t *testing.T, port int) []string {
	sub, cl := dialTCP(t, port), dialTCP(t, port)
	cl.do("CONFIG", "SET", "notify-keyspace-events", "KEA")
	sub.do("PSUBSCRIBE", "__keyevent@0__:*")
	cmds := [][]string{
		{"RPUSH", "l", "a", "b", "c"}, {"LPUSH", "l", "z"}, {"LPOP", "l"}, {"RPOP", "l", "2"}, {"LINSERT", "l", "BEFORE", "b", "x"},
		{"LSET", "l", "0", "y"}, {"LTRIM", "l", "0", "0"}, {"LREM", "l", "0", "y"}, {"RPUSH", "l", "1", "2"},
		{"LMOVE", "l", "l2", "LEFT", "RIGHT"}, {"RPOPLPUSH", "l", "l2"}, {"LMPOP", "1", "l2", "LEFT", "COUNT", "5"},
		{"HSET", "h", "a", "1"}, {"HSETNX", "h", "b", "2"}, {"HINCRBY", "h", "a", "1"}, {"HINCRBYFLOAT", "h", "a", "1.5"}, {"HDEL", "h", "a", "b"},
		{"SADD", "s", "1", "2", "3"}, {"SREM", "s", "1"}, {"SMOVE", "s", "s2", "2"}, {"SPOP", "s"}, {"SINTERSTORE", "d", "s2", "s2"},
		{"SUNIONSTORE", "d", "s2"}, {"SDIFFSTORE", "d", "s2", "s2"}, {"SADD", "s3", "a", "b"}, {"SPOP", "s3", "5"},
		{"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"}, {"ZINCRBY", "z", "1", "a"}, {"ZREM", "z", "a"}, {"ZPOPMIN", "z"},
		{"ZREMRANGEBYSCORE", "z", "0", "3"}, {"ZADD", "z", "1", "m", "2", "n"}, {"ZREMRANGEBYRANK", "z", "0", "0"}, {"ZREMRANGEBYLEX", "z", "-", "+"},
		{"ZADD", "z", "1", "a"}, {"ZUNIONSTORE", "zu", "1", "z"}, {"ZINTERSTORE", "zu", "1", "z"}, {"ZRANGESTORE", "zr", "z", "0", "-1"},
		{"ZDIFFSTORE", "zu", "1", "nokey"}, {"ZMPOP", "1", "z", "MAX"},
		{"RPUSH", "sl", "3", "1"}, {"SORT", "sl", "STORE", "sorted"},
	}
	for _, c := range cmds {
		cl.do(c...)
	}
	cl.do("SET", "marker", "end")
	var events []string
	for {
		msg := sub.read(20 * time.Second)
		if msg == "" {
			t.Fatal("no more events before the marker")
		}
		if strings.Contains(msg, "psubscribe") {
			continue
		}
		events = append(events, msg)
		if strings.Contains(msg, `"marker"`) {
			return events
		}
	}
}

func TestKeyspaceEventsDiff(t *testing.T) {
	n := startNode(t)
	ours := notifyScenario(t, n.port)
	r := startTypesRedis(t)
	theirs := notifyScenario(t, r.conn.RemoteAddr().(*net.TCPAddr).Port)
	if len(theirs) < 40 {
		t.Fatalf("only %d events from redis-server", len(theirs))
	}
	for i := 0; i < max(len(ours), len(theirs)); i++ {
		var a, b string
		if i < len(ours) {
			a = ours[i]
		}
		if i < len(theirs) {
			b = theirs[i]
		}
		if a != b {
			t.Errorf("event %d:\n replnode %s\n redis    %s", i, a, b)
		}
	}
}
