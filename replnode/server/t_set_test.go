package server

import (
	"strconv"
	"strings"
	"testing"
)

func TestSetCommandsDiff(t *testing.T) {
	script := diffScript{
		c("SADD", "s", "3", "1", "2", "1"), c("SMEMBERS", "s"), c("SCARD", "s"),
		c("SADD", "t", "b", "a", "c", "2"), u("SMEMBERS", "t"), c("SMEMBERS", "nokey"),
		c("SISMEMBER", "s", "1"), c("SISMEMBER", "s", "9"), c("SISMEMBER", "nokey", "1"), c("SMISMEMBER", "s", "1", "9", "2"),
		c("SREM", "s", "1", "9"), c("SMEMBERS", "s"), c("SREM", "nokey", "1"),
		c("SINTER", "s", "t"), c("SINTER", "s", "nokey"), c("SINTERSTORE", "d", "s", "t"), c("SMEMBERS", "d"),
		c("SINTERSTORE", "d", "s", "nokey"), c("SCARD", "d"),
		c("SADD", "i1", "1", "2", "3", "4"), c("SADD", "i2", "3", "4", "5"), c("SADD", "i3", "4", "6"),
		c("SINTER", "i1", "i2"), c("SUNION", "i1", "i2", "i3"), c("SDIFF", "i1", "i2", "i3"), c("SDIFF", "nokey", "i1"),
		c("SUNIONSTORE", "u", "i1", "i3", "nokey"), c("SMEMBERS", "u"), c("SDIFFSTORE", "dd", "i1", "i2"), c("SMEMBERS", "dd"),
		c("SDIFFSTORE", "dd", "i1", "i1"), c("SCARD", "dd"),
		u("SUNION", "i1", "t"), u("SDIFF", "t", "i1"),
		c("SINTERCARD", "2", "i1", "i2"), c("SINTERCARD", "2", "i1", "i2", "LIMIT", "1"), c("SINTERCARD", "0", "i1"),
		c("SINTERCARD", "3", "i1"), c("SINTERCARD", "1", "i1", "LIMIT", "-1"), c("SINTERCARD", "1", "i1", "foo"),
		c("SINTERCARD", "x", "i1"), c("SINTERCARD", "2", "i1", "nokey"),
		c("SMOVE", "i1", "i3", "1"), c("SMEMBERS", "i3"), c("SMOVE", "i1", "i3", "99"), c("SMOVE", "nokey", "i3", "1"),
		c("SMOVE", "i1", "i1", "2"), c("SMOVE", "i1", "i1", "99"),
		c("SET", "str", "x"), c("SMOVE", "i1", "str", "2"), c("SMOVE", "str", "i1", "2"), c("SADD", "str", "a"),
		c("SINTER", "nokey", "str"), c("SUNION", "i1", "str"), c("SUNIONSTORE", "str", "i1"), c("SMEMBERS", "str"),
		c("SPOP", "nokey"), c("SPOP", "nokey", "2"), c("SPOP", "i1", "-1"), c("SPOP", "i1", "x"), c("SPOP", "i1", "1", "2"),
		c("SPOP", "i1", "0"), u("SPOP", "i2", "10"), c("SCARD", "i2"),
		c("SADD", "one", "x"), c("SPOP", "one"), c("SCARD", "one"),
		c("SRANDMEMBER", "nokey"), c("SRANDMEMBER", "nokey", "3"), c("SRANDMEMBER", "i3", "x"), c("SRANDMEMBER", "i3", "1", "2"),
		u("SRANDMEMBER", "i3", "100"), c("SRANDMEMBER", "i3", "0"), c("SADD", "solo", "z"), c("SRANDMEMBER", "solo", "-3"),
		c("SSCAN", "i3", "0"), c("SSCAN", "i3", "0", "MATCH", "4*"), c("SSCAN", "i3", "abc"), c("SSCAN", "nokey", "0"),
		x("HELLO", "3"), c("SMEMBERS", "i3"), c("SINTER", "i3", "u"), c("SPOP", "nokey", "1"), c("SRANDMEMBER", "solo", "1"),
	}
	var big []string
	for i := 0; i < 520; i++ {
		big = append(big, strconv.Itoa(i*7))
	}
	script = append(script, c(append([]string{"SADD", "big"}, big...)...), c("SCARD", "big"), c("SISMEMBER", "big", "7"))
	runDiff(t, script)
}

// TestEncodingsDiff compares OBJECT ENCODING through the conversions of
// every aggregate type, including thresholds changed with CONFIG SET.
func TestEncodingsDiff(t *testing.T) {
	long := strings.Repeat("v", 65)
	script := diffScript{
		c("RPUSH", "l", "a"), c("OBJECT", "ENCODING", "l"),
		c("HSET", "h", "f", "v"), c("OBJECT", "ENCODING", "h"), c("HSET", "h", "g", long), c("OBJECT", "ENCODING", "h"),
		c("HDEL", "h", "g"), c("OBJECT", "ENCODING", "h"),
		c("HSET", "h2", long, "v"), c("OBJECT", "ENCODING", "h2"),
		c("SADD", "s", "1", "2"), c("OBJECT", "ENCODING", "s"), c("SADD", "s", "x"), c("OBJECT", "ENCODING", "s"),
		c("SREM", "s", "x"), c("OBJECT", "ENCODING", "s"), c("SADD", "s2", "-0"), c("OBJECT", "ENCODING", "s2"),
		c("ZADD", "z", "1", "a"), c("OBJECT", "ENCODING", "z"), c("ZADD", "z", "2", long), c("OBJECT", "ENCODING", "z"),
		c("ZREM", "z", long), c("OBJECT", "ENCODING", "z"),
		c("ZUNIONSTORE", "zu", "1", "z"), c("OBJECT", "ENCODING", "zu"), c("ZRANGESTORE", "zr", "z", "0", "-1"), c("OBJECT", "ENCODING", "zr"),
		c("SUNIONSTORE", "su", "s"), c("OBJECT", "ENCODING", "su"),
		c("CONFIG", "SET", "hash-max-listpack-entries", "2"), c("CONFIG", "SET", "set-max-intset-entries", "2"),
		c("CONFIG", "SET", "zset-max-listpack-entries", "2"),
		c("HSET", "h3", "a", "1", "b", "2"), c("OBJECT", "ENCODING", "h3"), c("HSET", "h3", "c", "3"), c("OBJECT", "ENCODING", "h3"),
		c("SADD", "s3", "1", "2"), c("OBJECT", "ENCODING", "s3"), c("SADD", "s3", "3"), c("OBJECT", "ENCODING", "s3"),
		c("ZADD", "z3", "1", "a", "2", "b"), c("OBJECT", "ENCODING", "z3"), c("ZADD", "z3", "3", "c"), c("OBJECT", "ENCODING", "z3"),
		c("ZADD", "z4", "1", "a", "2", "b", "3", "c"), c("OBJECT", "ENCODING", "z4"),
		c("SORT", "z4", "ALPHA", "STORE", "sorted"), c("OBJECT", "ENCODING", "sorted"),
		// The real redis-server is shared by the differential tests: restore its defaults.
		c("CONFIG", "SET", "hash-max-listpack-entries", "128"), c("CONFIG", "SET", "set-max-intset-entries", "512"),
		c("CONFIG", "SET", "zset-max-listpack-entries", "128"),
	}
	runDiff(t, script)
}
