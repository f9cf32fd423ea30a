package server

import (
	"strconv"
	"strings"
	"testing"
)

func TestZSetCommandsDiff(t *testing.T) {
	script := diffScript{
		c("ZADD", "z", "1", "a", "2", "b", "3", "c", "1.1", "d", "-inf", "lo", "+inf", "hi"),
		c("ZRANGE", "z", "0", "-1", "WITHSCORES"), c("ZCARD", "z"), c("ZCARD", "nokey"),
		// a count covering the set replies with all of it, highest score first
		c("ZADD", "zr", "3", "c", "1", "a", "2", "b"), c("ZRANDMEMBER", "zr", "3", "WITHSCORES"), c("ZRANDMEMBER", "zr", "10"),
		c("ZADD", "zr", "0", strings.Repeat("m", 65)), c("OBJECT", "ENCODING", "zr"), c("ZRANDMEMBER", "zr", "10", "WITHSCORES"),
		c("ZADD", "z", "NX", "XX", "1", "a"), c("ZADD", "z", "GT", "LT", "1", "a"), c("ZADD", "z", "GT", "NX", "1", "a"),
		c("ZADD", "z", "INCR", "1", "a", "2", "b"), c("ZADD", "z", "1", "a", "2"), c("ZADD", "z", "x", "a"),
		c("ZADD", "z", "1", "a", "INCR"), c("ZADD", "z", "XX", "INCR", "1", "nokey"), c("ZADD", "nokey", "XX", "1", "a"),
		c("ZADD", "z", "NX", "INCR", "1", "a"), c("ZADD", "z", "CH", "5", "a", "2", "b", "9", "new"),
		c("ZADD", "z", "GT", "CH", "1", "a", "10", "b"), c("ZADD", "z", "LT", "CH", "1", "a", "20", "b"),
		c("ZADD", "z", "INCR", "0.5", "a"), c("ZADD", "z", "GT", "INCR", "-1", "a"), c("ZINCRBY", "z", "2.25", "c"),
		c("ZINCRBY", "z", "x", "c"), c("ZINCRBY", "z", "-inf", "hi"), c("ZINCRBY", "z", "1", "fresh"),
		c("ZRANGE", "z", "0", "-1", "WITHSCORES"),
		c("ZSCORE", "z", "d"), c("ZSCORE", "z", "nope"), c("ZSCORE", "z", "lo"), c("ZMSCORE", "z", "a", "nope", "hi"), c("ZMSCORE", "nokey", "a"),
		c("ZRANK", "z", "c"), c("ZREVRANK", "z", "c"), c("ZRANK", "z", "nope"), c("ZRANK", "nokey", "a"),
		c("ZCOUNT", "z", "1", "3"), c("ZCOUNT", "z", "(1", "3"), c("ZCOUNT", "z", "-inf", "+inf"), c("ZCOUNT", "z", "x", "3"), c("ZCOUNT", "z", "3", "1"),
		c("ZRANGE", "z", "1", "3"), c("ZRANGE", "z", "-2", "-1", "WITHSCORES"), c("ZRANGE", "z", "0", "1", "REV"),
		c("ZRANGE", "z", "1", "3", "BYSCORE"), c("ZRANGE", "z", "(1", "3", "BYSCORE", "WITHSCORES"),
		c("ZRANGE", "z", "3", "1", "BYSCORE", "REV"), c("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"),
		c("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"),
		c("ZRANGE", "z", "0", "1", "BYLEX"), c("ZRANGE", "z", "(a", "[b", "BYLEX", "WITHSCORES"), c("ZRANGE", "z", "0", "1", "LIMIT", "0", "1"),
		c("ZRANGE", "z", "0", "1", "LIMIT"), c("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"), c("ZRANGE", "z", "x", "1"),
		c("ZRANGE", "z", "-inf", "inf", "BYSCORE", "LIMIT", "-1", "2"), c("ZRANGE", "z", "-inf", "inf", "BYSCORE", "LIMIT", "0", "-1"),
		c("ZRANGEBYSCORE", "z", "(1", "x"), c("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0"),
		c("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", "1", "foo"), c("ZRANGEBYSCORE", "z", "2", "10", "WITHSCORES", "LIMIT", "1", "5"),
		c("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", "1", "1"), c("ZREVRANGEBYSCORE", "z", "(3", "1"),
		c("ZREVRANGE", "z", "0", "2", "WITHSCORES"), c("ZREVRANGE", "z", "0", "2", "LIMIT", "0", "1"),
		c("ZRANGESTORE", "dst", "z", "0", "1"), c("ZRANGE", "dst", "0", "-1", "WITHSCORES"), c("ZRANGESTORE", "dst", "z", "0", "1", "WITHSCORES"),
		c("ZRANGESTORE", "dst", "nokey", "0", "1"), c("ZCARD", "dst"), c("ZRANGESTORE", "dst", "z", "5", "1", "BYSCORE", "REV", "LIMIT", "0", "2"),
		c("ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f"),
		c("ZRANGEBYLEX", "lex", "-", "+"), c("ZRANGEBYLEX", "lex", "[b", "(e"), c("ZRANGEBYLEX", "lex", "a", "b"),
		c("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "2", "2"), c("ZREVRANGEBYLEX", "lex", "+", "[c"), c("ZREVRANGEBYLEX", "lex", "(e", "-", "LIMIT", "1", "2"),
		c("ZRANGEBYLEX", "lex", "+", "-"), c("ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"),
		c("ZLEXCOUNT", "lex", "-", "+"), c("ZLEXCOUNT", "lex", "(a", "[c"), c("ZLEXCOUNT", "lex", "x", "[c"),
		c("ZREMRANGEBYLEX", "lex", "[b", "[c"), c("ZRANGE", "lex", "0", "-1"), c("ZREMRANGEBYLEX", "lex", "x", "y"),
		c("ZREMRANGEBYRANK", "lex", "0", "0"), c("ZREMRANGEBYRANK", "lex", "x", "1"), c("ZRANGE", "lex", "0", "-1"),
		c("ZREMRANGEBYSCORE", "z", "(2", "5"), c("ZREMRANGEBYSCORE", "z", "a", "5"), c("ZRANGE", "z", "0", "-1", "WITHSCORES"),
		c("ZREMRANGEBYRANK", "lex", "0", "-1"), c("ZCARD", "lex"),
		c("ZREM", "z", "lo", "nope"), c("ZREM", "nokey", "a"),
		c("ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d"),
		c("ZPOPMIN", "p"), c("ZPOPMAX", "p", "2"), c("ZPOPMIN", "p", "-1"), c("ZPOPMIN", "p", "0"), c("ZPOPMIN", "nokey"), c("ZPOPMIN", "p", "1", "2"),
		c("ZPOPMIN", "p", "10"), c("ZCARD", "p"),
		c("ZADD", "p", "1", "a", "2", "b", "3", "c"),
		c("ZMPOP", "2", "nokey", "p", "MAX", "COUNT", "2"), c("ZMPOP", "1", "p", "foo"), c("ZMPOP", "1", "p", "MIN", "COUNT", "0"),
		c("ZMPOP", "1", "nokey", "MIN"), c("ZMPOP", "0", "p", "MIN"), c("ZADD", "p", "7", "q", "8", "r"), c("BZMPOP", "0", "1", "p", "MIN"), c("BZPOPMAX", "nokey", "p", "0"),
		c("BZPOPMIN", "p", "x"),
		c("ZADD", "s1", "1", "a", "2", "b", "3", "c"), c("ZADD", "s2", "10", "b", "20", "c", "30", "d"), c("SADD", "plain", "c", "d", "e"),
		c("ZUNION", "2", "s1", "s2", "WITHSCORES"), c("ZUNION", "3", "s1", "s2", "plain", "WITHSCORES"),
		c("ZUNION", "2", "s1", "s2", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX", "WITHSCORES"),
		c("ZUNION", "2", "s1", "s2", "AGGREGATE", "MIN", "WITHSCORES"), c("ZINTER", "2", "s1", "s2", "WITHSCORES"),
		c("ZINTER", "3", "s1", "s2", "plain", "WITHSCORES"), c("ZDIFF", "2", "s1", "s2", "WITHSCORES"), c("ZDIFF", "1", "s1"),
		c("ZUNION", "1", "s1", "WEIGHTS", "inf", "WITHSCORES"), c("ZUNION", "2", "s1", "s2", "WEIGHTS", "1"),
		c("ZUNION", "2", "s1", "s2", "WEIGHTS", "1", "x"), c("ZUNION", "2", "s1", "s2", "AGGREGATE", "foo"), c("ZUNION", "0", "s1"),
		c("ZUNION", "3", "s1", "s2"), c("ZUNION", "x", "s1"), c("ZDIFF", "2", "s1", "s2", "WEIGHTS", "1", "1"),
		c("ZUNIONSTORE", "out", "2", "s1", "s2"), c("ZRANGE", "out", "0", "-1", "WITHSCORES"), c("ZUNIONSTORE", "out", "0", "s1"),
		c("ZINTERSTORE", "out", "2", "s1", "nokey"), c("ZCARD", "out"), c("ZDIFFSTORE", "out", "2", "s2", "s1"), c("ZRANGE", "out", "0", "-1", "WITHSCORES"),
		c("ZUNIONSTORE", "out", "2", "s1", "s2", "WITHSCORES"),
		c("ZINTERCARD", "2", "s1", "s2"), c("ZINTERCARD", "2", "s1", "s2", "LIMIT", "1"), c("ZINTERCARD", "0", "s1"), c("ZINTERCARD", "3", "s1"), c("ZINTERCARD", "1", "s1", "LIMIT", "-1"), c("ZINTERCARD", "2", "s1", "plain"),
		c("SET", "str", "v"), c("ZADD", "str", "1", "a"), c("ZUNION", "2", "s1", "str"), c("ZRANGE", "str", "0", "1"), c("ZSCORE", "str", "a"),
		c("ZRANDMEMBER", "nokey"), c("ZRANDMEMBER", "nokey", "2"), c("ZRANDMEMBER", "s1", "0"), c("ZRANDMEMBER", "s1", "1", "2"),
		u("ZRANDMEMBER", "s1", "10"), c("ZRANDMEMBER", "s1", "x"), c("ZRANDMEMBER", "s1", "-9223372036854775807", "withscores"),
		c("ZADD", "one", "1.5", "m"), c("ZRANDMEMBER", "one", "-2", "WITHSCORES"),
		c("ZSCAN", "s2", "0"), c("ZSCAN", "one", "0"), c("ZSCAN", "s2", "0", "MATCH", "c*"), c("ZSCAN", "nokey", "0"), c("ZSCAN", "s2", "x"),
		x("HELLO", "3"),
		c("ZRANGE", "s2", "0", "-1", "WITHSCORES"), c("ZSCORE", "s2", "b"), c("ZPOPMIN", "s2"), c("ZPOPMIN", "s2", "1"),
		c("ZMPOP", "1", "s2", "MAX"), c("ZRANDMEMBER", "one", "1", "WITHSCORES"), c("ZUNION", "1", "s1", "WITHSCORES"), c("BZPOPMIN", "s1", "0"),
		c("ZMSCORE", "s1", "b", "zz"), c("ZINCRBY", "s1", "1", "b"), c("ZADD", "s1", "INCR", "1", "b"),
	}
	var big []string
	for i := 0; i < 130; i++ {
		big = append(big, strconv.Itoa(i), "m"+strconv.Itoa(i))
	}
	script = append(script, x("HELLO", "2"), c(append([]string{"ZADD", "big"}, big...)...), c("ZRANGE", "big", "100", "105", "WITHSCORES"),
		c("ZRANK", "big", "m77"), c("ZCOUNT", "big", "10", "(20"), c("ZREMRANGEBYSCORE", "big", "0", "99"), c("ZRANGE", "big", "0", "-1"),
		c("ZADD", "longm", "1", strings.Repeat("y", 70)), c("ZRANGE", "longm", "0", "-1"))
	runDiff(t, script)
}
