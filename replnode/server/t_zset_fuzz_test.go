package server

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestRandomOpsDiff drives replnode and redis-server 7.0 with the same
// seeded random commands of every aggregate family (bounded: a few hundred
// per family) and compares every reply.
func TestRandomOpsDiff(t *testing.T) {
	for _, seed := range []uint64{3, 4, 42} {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) { runDiff(t, randomScript(seed)) })
	}
}

// randomScript builds the seeded command script of TestRandomOpsDiff.
func randomScript(seed uint64) diffScript {
	r := rand.New(rand.NewPCG(seed, 7))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	key := func(prefix string) string { return prefix + strconv.Itoa(r.IntN(3)) }
	member := func() string { return pick("a", "b", "c", "d", "e", "f", "1", "2", "10", "-3", "") }
	num := func() string { return strconv.Itoa(r.IntN(13) - 6) }
	score := func() string {
		return pick("0", "1", "2", "-1", "1.5", "3", "(1", "(2", "-inf", "+inf", "inf", "(-inf", "2.5e0")
	}
	lex := func() string { return pick("-", "+", "[a", "(a", "[c", "(c", "[e", "[", "(") }
	var script diffScript
	for i := 0; i < 400; i++ {
		k := key("l")
		switch r.IntN(12) {
		case 0, 1:
			script = append(script, c("RPUSH", k, member(), member()))
		case 2:
			script = append(script, c("LPUSH", k, member()))
		case 3:
			script = append(script, c("LRANGE", k, num(), num()))
		case 4:
			script = append(script, c("LREM", k, num(), member()))
		case 5:
			script = append(script, c("LTRIM", k, num(), num()))
		case 6:
			script = append(script, c("LINSERT", k, pick("BEFORE", "AFTER"), member(), member()))
		case 7:
			script = append(script, c("LPOS", k, member(), "RANK", pick("1", "-1", "2", "-2"), "COUNT", pick("0", "1", "2")))
		case 8:
			script = append(script, c("LMOVE", k, key("l"), pick("LEFT", "RIGHT"), pick("LEFT", "RIGHT")))
		case 9:
			script = append(script, c(pick("LPOP", "RPOP"), k, pick("1", "2", "5")))
		case 10:
			script = append(script, c("LSET", k, num(), member()))
		case 11:
			script = append(script, c("LINDEX", k, num()))
		}
	}
	for i := 0; i < 600; i++ {
		k := key("z")
		switch r.IntN(14) {
		case 0, 1, 2:
			script = append(script, c("ZADD", k, pick("0", "1", "2", "3", "1.5", "-2"), member(), pick("0", "1", "2"), member()))
		case 3:
			script = append(script, c("ZADD", k, pick("NX", "XX", "GT", "LT", "CH"), pick("0", "1", "2", "5"), member()))
		case 4:
			script = append(script, c("ZINCRBY", k, pick("1", "-1", "0.5"), member()))
		case 5:
			script = append(script, c("ZRANGE", k, num(), num(), "WITHSCORES"))
		case 6:
			script = append(script, c("ZRANGE", k, score(), score(), "BYSCORE", pick("REV", "WITHSCORES"), "LIMIT", pick("0", "1"), pick("-1", "2")))
		case 7:
			script = append(script, c("ZRANGEBYLEX", k, lex(), lex()))
		case 8:
			script = append(script, c("ZCOUNT", k, score(), score()))
		case 9:
			script = append(script, c(pick("ZRANK", "ZREVRANK", "ZSCORE"), k, member()))
		case 10:
			script = append(script, c(pick("ZREMRANGEBYSCORE", "ZREMRANGEBYRANK"), k, pick("0", "1", "-1"), pick("1", "2", "-1")))
		case 11:
			script = append(script, c(pick("ZPOPMIN", "ZPOPMAX"), k, pick("1", "2")))
		case 12:
			script = append(script, c(pick("ZUNION", "ZINTER", "ZDIFF"), "2", k, key("z"), "WITHSCORES"))
		case 13:
			script = append(script, c("ZREVRANGEBYSCORE", k, score(), score(), "WITHSCORES"))
		}
	}
	for i := 0; i < 300; i++ {
		k := key("s")
		switch r.IntN(6) {
		case 0, 1:
			script = append(script, c("SADD", k, member(), member(), member()))
		case 2:
			script = append(script, c("SREM", k, member()))
		case 3:
			script = append(script, u(pick("SINTER", "SUNION", "SDIFF"), k, key("s")))
		case 4:
			script = append(script, c(pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), key("s"), k, key("s")))
		case 5:
			script = append(script, u("SMEMBERS", k), c("SCARD", k), c("SMISMEMBER", k, member(), member()))
		}
	}
	for i := 0; i < 300; i++ {
		k := key("h")
		switch r.IntN(5) {
		case 0, 1:
			script = append(script, c("HSET", k, member(), num(), member(), num()))
		case 2:
			script = append(script, c("HDEL", k, member(), member()))
		case 3:
			script = append(script, c("HINCRBY", k, member(), num()))
		case 4:
			script = append(script, c("HGETALL", k), c("HLEN", k))
		}
	}
	return script
}
