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
