package server

import (
	"strconv"
	"strings"
	"testing"
)

func TestHashCommandsDiff(t *testing.T) {
	long := strings.Repeat("x", 65)
	script := diffScript{
		c("HSET", "h", "c", "1", "a", "2", "b", "3"), c("HSET", "h", "a", "20", "d", "4"),
		c("HGETALL", "h"), c("HKEYS", "h"), c("HVALS", "h"), c("HLEN", "h"),
		c("HSET", "h", "x"), c("HMSET", "h", "x", "1"), c("HMSET", "h", "e", "5"),
		c("HGET", "h", "a"), c("HGET", "h", "nope"), c("HGET", "nokey", "a"),
		c("HMGET", "h", "a", "nope", "b"), c("HMGET", "nokey", "a"),
		c("HSETNX", "h", "a", "x"), c("HSETNX", "h", "f", "6"), c("HSETNX", "new", "f", "6"),
		c("HSTRLEN", "h", "a"), c("HSTRLEN", "h", "nope"), c("HEXISTS", "h", "a"), c("HEXISTS", "h", "nope"),
		c("HDEL", "h", "a", "nope", "b"), c("HGETALL", "h"), c("HDEL", "nokey", "a"),
		c("HDEL", "new", "f"), c("HLEN", "new"),
		c("HINCRBY", "h", "c", "5"), c("HINCRBY", "h", "n", "-3"), c("HINCRBY", "h", "c", "x"),
		c("HSET", "h", "s", "abc"), c("HINCRBY", "h", "s", "1"), c("HINCRBY", "h", "c", "9223372036854775807"),
		c("HINCRBYFLOAT", "h", "f", "1.5"), c("HINCRBYFLOAT", "h", "f", "0.1"), c("HINCRBYFLOAT", "h", "g", "1e20"),
		c("HINCRBYFLOAT", "h", "g", "-1e20"), c("HINCRBYFLOAT", "h", "s", "1"), c("HINCRBYFLOAT", "h", "f", "inf"),
		c("HINCRBYFLOAT", "h", "f", "x"), c("HINCRBYFLOAT", "fresh", "f", "3.0"), c("HGETALL", "fresh"),
		c("HGETALL", "h"),
		c("HRANDFIELD", "nokey"), c("HRANDFIELD", "nokey", "3"), c("HRANDFIELD", "h", "0"),
		c("HRANDFIELD", "h", "x"), c("HRANDFIELD", "h", "1", "withvalue"), c("HRANDFIELD", "h", "1", "withvalues", "x"),
		c("HRANDFIELD", "h", "-9223372036854775807", "withvalues"),
		u("HRANDFIELD", "h", "100"), c("HRANDFIELD", "fresh", "-3"), c("HRANDFIELD", "fresh", "-2", "WITHVALUES"),
		c("HSCAN", "h", "0"), c("HSCAN", "h", "0", "MATCH", "[cf]"), c("HSCAN", "h", "x"), c("HSCAN", "h", "0", "COUNT", "0"),
		c("HSCAN", "nokey", "0", "COUNT", "0"), c("HSCAN", "h", "0", "TYPE", "hash"), c("HSCAN", "h", "0", "COUNT"),
		c("SET", "str", "v"), c("HGET", "str", "a"), c("HSET", "str", "a", "1"), c("HGETALL", "str"),
		c("HSET", "big", "f", long), u("HGETALL", "big"),
	}
	var args []string
	for i := 0; i < 130; i++ {
		args = append(args, "f"+strconv.Itoa(i), strconv.Itoa(i))
	}
	script = append(script, c(append([]string{"HSET", "many"}, args...)...), c("HLEN", "many"), u("HKEYS", "many"))
	script = append(script, x("HELLO", "3"), c("HGETALL", "fresh"), c("HRANDFIELD", "fresh", "1", "WITHVALUES"), c("HSCAN", "fresh", "0"))
	runDiff(t, script)
}

// TestHashScanLargeWalk checks a full HSCAN of a hashtable hash returns
// every field once when nothing changes.
func TestHashScanLargeWalk(t *testing.T) {
	n := newCoreNode(t)
	for i := 0; i < 300; i++ {
		n.do("HSET", "h", "f"+strconv.Itoa(i), "v")
	}
	seen := map[string]int{}
	cursor := "0"
	for rounds := 0; rounds < 1000; rounds++ {
		out := n.do("HSCAN", "h", cursor, "COUNT", "7")
		// ["next", [f, v, f, v...]]
		inner := strings.TrimSuffix(strings.TrimPrefix(out, "["), "]")
		i := strings.Index(inner, ", [")
		cursor = strings.Trim(inner[:i], `"`)
		for j, p := range strings.Split(strings.TrimSuffix(inner[i+3:], "]"), ", ") {
			if j%2 == 0 && p != "" {
				seen[p]++
			}
		}
		if cursor == "0" {
			break
		}
	}
	if len(seen) != 300 {
		t.Fatalf("saw %d fields", len(seen))
	}
}
