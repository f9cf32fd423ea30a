package server

import "testing"

func TestSortDiff(t *testing.T) {
	runDiff(t, diffScript{
		c("RPUSH", "l", "3", "1", "2", "10", "-5", "2.5"),
		c("SORT", "l"), c("SORT", "l", "DESC"), c("SORT", "l", "ALPHA"), c("SORT", "l", "ALPHA", "DESC"),
		c("SORT", "l", "LIMIT", "1", "2"), c("SORT", "l", "LIMIT", "-1", "2"), c("SORT", "l", "LIMIT", "4", "-1"),
		c("SORT", "l", "LIMIT", "10", "2"), c("SORT", "l", "LIMIT", "1"), c("SORT", "l", "LIMIT", "x", "1"),
		c("MSET", "w_3", "30", "w_1", "10", "w_2", "5", "w_10", "1", "o_3", "three", "o_1", "one"),
		c("SORT", "l", "BY", "w_*"), c("SORT", "l", "BY", "w_*", "GET", "o_*", "GET", "#"),
		c("SORT", "l", "BY", "w_*", "ALPHA"), c("SORT", "l", "BY", "nosort"), c("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"),
		c("SORT", "l", "BY", "nosort", "LIMIT", "1", "3"),
		c("HSET", "h_1", "f", "z"), c("HSET", "h_2", "f", "a"), c("HSET", "h_3", "f", "m"),
		c("SORT", "l", "BY", "h_*->f", "ALPHA", "GET", "#", "GET", "h_*->f"), c("SORT", "l", "GET", "h_*->"),
		c("RPUSH", "bad", "1", "x"), c("SORT", "bad"), c("SORT", "bad", "ALPHA"),
		c("RPUSH", "ties", "b", "a", "c"), c("SORT", "ties", "BY", "missing_*"), c("SORT", "ties", "BY", "missing_*", "DESC"),
		c("SADD", "s", "5", "3", "9"), c("SORT", "s"), c("SORT", "s", "DESC", "GET", "#"),
		c("SADD", "ws", "b", "a", "c"), c("SORT", "ws", "ALPHA"), c("SORT", "ws", "BY", "nosort", "STORE", "dst"), c("LRANGE", "dst", "0", "-1"),
		c("ZADD", "z", "1", "c", "2", "a", "3", "b"), c("SORT", "z", "ALPHA"), c("SORT", "z", "BY", "nosort"), c("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "0", "2"),
		c("SORT", "l", "STORE", "out"), c("LRANGE", "out", "0", "-1"), c("SORT", "l", "GET", "o_*", "STORE", "out"), c("LRANGE", "out", "0", "-1"),
		c("SORT", "nokey", "STORE", "out"), c("EXISTS", "out"), c("SORT", "nokey"),
		c("SORT_RO", "l", "STORE", "out"), c("SORT_RO", "l", "DESC", "LIMIT", "0", "3"),
		c("SET", "str", "v"), c("SORT", "str"), c("SORT", "l", "FOO"),
		c("HSET", "hh", "a", "1"), c("SORT", "hh"),
	})
}

// TestWrongTypeAndArityDiff runs every data-type command against a key of
// the wrong type and with too few arguments, comparing replies with
// redis-server 7.0.
func TestWrongTypeAndArityDiff(t *testing.T) {
	script := diffScript{c("SET", "str", "v"), c("RPUSH", "list", "a"), c("SADD", "set", "a"), c("ZADD", "zs", "1", "a"), c("HSET", "hash", "f", "v")}
	calls := [][]string{
		{"LPUSH", "str", "a"}, {"RPUSHX", "str", "a"}, {"LPOP", "str"}, {"LLEN", "str"}, {"LINDEX", "str", "0"},
		{"LINSERT", "str", "BEFORE", "a", "b"}, {"LRANGE", "str", "0", "1"}, {"LREM", "str", "0", "a"}, {"LSET", "str", "0", "a"},
		{"LTRIM", "str", "0", "1"}, {"LPOS", "str", "a"}, {"LMOVE", "str", "list", "LEFT", "LEFT"}, {"LMPOP", "1", "str", "LEFT"},
		{"BLPOP", "str", "0"}, {"BLMOVE", "str", "list", "LEFT", "LEFT", "0"}, {"BLMPOP", "0", "1", "str", "LEFT"},
		{"HSET", "str", "f", "v"}, {"HGET", "str", "f"}, {"HMGET", "str", "f"}, {"HDEL", "str", "f"}, {"HLEN", "str"},
		{"HSTRLEN", "str", "f"}, {"HEXISTS", "str", "f"}, {"HKEYS", "str"}, {"HVALS", "str"}, {"HGETALL", "str"},
		{"HINCRBY", "str", "f", "1"}, {"HINCRBYFLOAT", "str", "f", "1"}, {"HRANDFIELD", "str"}, {"HSCAN", "str", "0"},
		{"SADD", "str", "a"}, {"SREM", "str", "a"}, {"SMEMBERS", "str"}, {"SISMEMBER", "str", "a"}, {"SMISMEMBER", "str", "a"},
		{"SCARD", "str"}, {"SPOP", "str"}, {"SRANDMEMBER", "str"}, {"SMOVE", "str", "set", "a"}, {"SINTER", "set", "str"},
		{"SINTERCARD", "2", "set", "str"}, {"SINTERSTORE", "d", "set", "str"}, {"SUNION", "set", "str"}, {"SDIFF", "str", "set"},
		{"SSCAN", "str", "0"},
		{"ZADD", "str", "1", "a"}, {"ZINCRBY", "str", "1", "a"}, {"ZREM", "str", "a"}, {"ZCARD", "str"}, {"ZCOUNT", "str", "0", "1"},
		{"ZLEXCOUNT", "str", "-", "+"}, {"ZSCORE", "str", "a"}, {"ZMSCORE", "str", "a"}, {"ZRANK", "str", "a"}, {"ZRANGE", "str", "0", "1"},
		{"ZRANGESTORE", "d", "str", "0", "1"}, {"ZRANGEBYSCORE", "str", "0", "1"}, {"ZREMRANGEBYRANK", "str", "0", "1"},
		{"ZPOPMIN", "str"}, {"BZPOPMIN", "str", "0"}, {"ZMPOP", "1", "str", "MIN"}, {"ZRANDMEMBER", "str"}, {"ZUNION", "2", "zs", "str"},
		{"ZINTERSTORE", "d", "2", "zs", "hash"}, {"ZINTERCARD", "2", "zs", "list"}, {"ZSCAN", "str", "0"},
		{"SORT", "str"}, {"SORT", "hash"}, {"SORT_RO", "str"},
	}
	for _, call := range calls {
		script = append(script, c(call...))
		// The same command cut down to its name and first argument
		// trips the arity check (or parses as Redis would).
		script = append(script, c(call[0]))
		if len(call) > 2 {
			script = append(script, c(call[:2]...))
		}
	}
	runDiff(t, script)
}
