package server

import (
	"bytes"
	"math"
	"sort"
	"strconv"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// Sorted set commands, after Redis's t_zset.c, including the blocking
// BZPOPMIN, BZPOPMAX and BZMPOP.

func init() {
	register(
		&Command{Name: "zadd", Arity: -4, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zaddCommand},
		&Command{Name: "zincrby", Arity: 4, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zincrbyCommand},
		&Command{Name: "zrem", Arity: -3, Flags: FlagWrite | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zremCommand},
		&Command{Name: "zcard", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zcardCommand},
		&Command{Name: "zcount", Arity: 4, Flags: FlagReadOnly | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zcountCommand},
		&Command{Name: "zlexcount", Arity: 4, Flags: FlagReadOnly | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zlexcountCommand},
		&Command{Name: "zscore", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zscoreCommand},
		&Command{Name: "zmscore", Arity: -3, Flags: FlagReadOnly | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zmscoreCommand},
		&Command{Name: "zrank", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrankCommand},
		&Command{Name: "zrevrank", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrevrankCommand},
		&Command{Name: "zrange", Arity: -4, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrangeCommand},
		&Command{Name: "zrangestore", Arity: -5, Flags: FlagWrite | FlagDenyOOM, Group: "sorted-set", FirstKey: 1, LastKey: 2, Step: 1, Handler: zrangestoreCommand},
		&Command{Name: "zrangebyscore", Arity: -4, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrangebyscoreCommand},
		&Command{Name: "zrevrangebyscore", Arity: -4, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrevrangebyscoreCommand},
		&Command{Name: "zrangebylex", Arity: -4, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrangebylexCommand},
		&Command{Name: "zrevrangebylex", Arity: -4, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrevrangebylexCommand},
		&Command{Name: "zrevrange", Arity: -4, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrevrangeCommand},
		&Command{Name: "zremrangebyrank", Arity: 4, Flags: FlagWrite, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zremrangebyrankCommand},
		&Command{Name: "zremrangebyscore", Arity: 4, Flags: FlagWrite, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zremrangebyscoreCommand},
		&Command{Name: "zremrangebylex", Arity: 4, Flags: FlagWrite, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zremrangebylexCommand},
		&Command{Name: "zpopmin", Arity: -2, Flags: FlagWrite | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zpopminCommand},
		&Command{Name: "zpopmax", Arity: -2, Flags: FlagWrite | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zpopmaxCommand},
		&Command{Name: "bzpopmin", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: -2, Step: 1, Handler: bzpopminCommand},
		&Command{Name: "bzpopmax", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking | FlagFast, Group: "sorted-set", FirstKey: 1, LastKey: -2, Step: 1, Handler: bzpopmaxCommand},
		&Command{Name: "zmpop", Arity: -4, Flags: FlagWrite | FlagMovableKeys, Group: "sorted-set", GetKeys: numkeysAt(1), Handler: zmpopCommand},
		&Command{Name: "bzmpop", Arity: -5, Flags: FlagWrite | FlagBlocking | FlagMovableKeys, Group: "sorted-set", GetKeys: numkeysAt(2), Handler: bzmpopCommand},
		&Command{Name: "zrandmember", Arity: -2, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zrandmemberCommand},
		&Command{Name: "zunion", Arity: -3, Flags: FlagReadOnly | FlagMovableKeys, Group: "sorted-set", GetKeys: numkeysAt(1), Handler: zunionCommand},
		&Command{Name: "zinter", Arity: -3, Flags: FlagReadOnly | FlagMovableKeys, Group: "sorted-set", GetKeys: numkeysAt(1), Handler: zinterCommand},
		&Command{Name: "zdiff", Arity: -3, Flags: FlagReadOnly | FlagMovableKeys, Group: "sorted-set", GetKeys: numkeysAt(1), Handler: zdiffCommand},
		&Command{Name: "zunionstore", Arity: -4, Flags: FlagWrite | FlagDenyOOM | FlagMovableKeys, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, GetKeys: storeKeys, Handler: zunionstoreCommand},
		&Command{Name: "zinterstore", Arity: -4, Flags: FlagWrite | FlagDenyOOM | FlagMovableKeys, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, GetKeys: storeKeys, Handler: zinterstoreCommand},
		&Command{Name: "zdiffstore", Arity: -4, Flags: FlagWrite | FlagDenyOOM | FlagMovableKeys, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, GetKeys: storeKeys, Handler: zdiffstoreCommand},
		&Command{Name: "zintercard", Arity: -3, Flags: FlagReadOnly | FlagMovableKeys, Group: "sorted-set", GetKeys: numkeysAt(1), Handler: zintercardCommand},
		&Command{Name: "zscan", Arity: -3, Flags: FlagReadOnly, Group: "sorted-set", FirstKey: 1, LastKey: 1, Step: 1, Handler: zscanCommand},
	)
}

// storeKeys locates the keys of ZUNIONSTORE-like commands: the destination
// then numkeys sources.
func storeKeys(args [][]byte) []int {
	src := numkeysAt(2)(args)
	if src == nil {
		return nil
	}
	return append([]int{1}, src...)
}

// ---------------------------------------------------------------- ZSET ACCESS AND REPLIES

// zsetForRead returns the sorted set under key (nil if missing); ok is false
// after a WRONGTYPE reply.
func zsetForRead(ctx *Ctx, key []byte) (*store.ZSet, bool) {
	return lookupAs[*store.ZSet](ctx, key, store.KindZSet)
}

// zsetForWrite returns the sorted set under key ready for modification, nil
// if missing; ok is false after a WRONGTYPE reply.
func zsetForWrite(ctx *Ctx, key []byte) (*store.ZSet, bool) {
	return lookupWriteAs[*store.ZSet](ctx, key, store.KindZSet)
}

// d2string formats a score as Redis's d2string (ZSCAN, SORT): integers
// within ±2^52 without a decimal part, "%.17g" otherwise.
func d2string(d float64) []byte {
	switch {
	case math.IsInf(d, 1):
		return []byte("inf")
	case math.IsInf(d, -1):
		return []byte("-inf")
	case d == 0:
		if math.Signbit(d) {
			return []byte("-0")
		}
		return []byte("0")
	}
	if d > -4503599627370495 && d < 4503599627370496 && d == math.Trunc(d) {
		return strconv.AppendInt(nil, int64(d), 10)
	}
	return resp.AppendDouble(nil, d)
}

// zentry is one member with its score.
type zentry struct {
	member []byte
	score  float64
}

// writeZEntries replies with members, with scores when withScores: a flat
// array in RESP2, an array of [member, score] pairs in RESP3, as Redis 7.0.
func writeZEntries(ctx *Ctx, es []zentry, withScores bool) {
	members := make([][]byte, len(es))
	for i, e := range es {
		members[i] = e.member
	}
	writePairs(ctx, members, withScores, func(i int) { ctx.W.Double(es[i].score) })
}

// ---------------------------------------------------------------- RANGE PARSING

// parseScoreBound parses one end of a score range as zslParseRange: "("
// makes it exclusive, then strtod must reach the end of the C string (so
// "", "(" and " 1" are accepted, "" meaning 0); only NaN is refused.
func parseScoreBound(b []byte) (float64, bool, bool) {
	ex := false
	if len(b) > 0 && b[0] == '(' {
		ex, b = true, b[1:]
	}
	f, n, _ := strtod(b)
	if n < len(b) && b[n] != 0 {
		return 0, ex, false
	}
	return f, ex, !math.IsNaN(f)
}

// parseScoreRange parses min and max, replying Redis's error on failure.
func parseScoreRange(ctx *Ctx, min, max []byte) (store.ScoreRange, bool) {
	var r store.ScoreRange
	var ok1, ok2 bool
	r.Min, r.MinEx, ok1 = parseScoreBound(min)
	r.Max, r.MaxEx, ok2 = parseScoreBound(max)
	if !ok1 || !ok2 {
		ctx.Error("ERR min or max is not a float")
		return r, false
	}
	return r, true
}

// parseLexBound parses "-", "+", "[value" or "(value".
func parseLexBound(b []byte) (store.LexBound, bool) {
	if len(b) == 0 {
		return store.LexBound{}, false
	}
	switch b[0] {
	case '-':
		if len(b) == 1 {
			return store.LexBound{NegInf: true}, true
		}
	case '+':
		if len(b) == 1 {
			return store.LexBound{PosInf: true}, true
		}
	case '[':
		return store.LexBound{Value: b[1:]}, true
	case '(':
		return store.LexBound{Value: b[1:], Exclusive: true}, true
	}
	return store.LexBound{}, false
}

// parseLexRange parses min and max, replying Redis's error on failure.
func parseLexRange(ctx *Ctx, min, max []byte) (store.LexRange, bool) {
	lo, ok1 := parseLexBound(min)
	hi, ok2 := parseLexBound(max)
	if !ok1 || !ok2 {
		ctx.Error("ERR min or max not valid string range item")
		return store.LexRange{}, false
	}
	return store.LexRange{Min: lo, Max: hi}, true
}

// ---------------------------------------------------------------- ZADD ZINCRBY

func zaddCommand(ctx *Ctx) { zaddGeneric(ctx, false) }

// zincrbyCommand is ZADD key INCR increment member.
func zincrbyCommand(ctx *Ctx) { zaddGeneric(ctx, true) }

// zaddGeneric implements ZADD and ZINCRBY.
func zaddGeneric(ctx *Ctx, incrCmd bool) {
	var nx, xx, gt, lt, ch bool
	incr := incrCmd
	scoreIdx := 2
	if !incrCmd {
		for ; scoreIdx < len(ctx.Args); scoreIdx++ {
			switch a := ctx.Args[scoreIdx]; {
			case equalFold(a, "nx"):
				nx = true
			case equalFold(a, "xx"):
				xx = true
			case equalFold(a, "gt"):
				gt = true
			case equalFold(a, "lt"):
				lt = true
			case equalFold(a, "ch"):
				ch = true
			case equalFold(a, "incr"):
				incr = true
			default:
				goto parsed
			}
		}
	}
parsed:
	elements := len(ctx.Args) - scoreIdx
	if elements%2 != 0 || elements == 0 {
		ctx.Error(ErrSyntax)
		return
	}
	elements /= 2
	if nx && xx {
		ctx.Error("ERR XX and NX options at the same time are not compatible")
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		ctx.Error("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if incr && elements > 1 {
		ctx.Error("ERR INCR option supports a single increment-element pair")
		return
	}
	scores := make([]float64, elements)
	for i := range scores {
		f, ok := ctx.Float(scoreIdx + 2*i)
		if !ok {
			return
		}
		scores[i] = f
	}
	key := ctx.Args[1]
	z, ok := zsetForWrite(ctx, key)
	if !ok {
		return
	}
	if z == nil {
		if xx {
			if incr {
				ctx.W.Null()
			} else {
				ctx.W.Int(0)
			}
			return
		}
		z = ctx.S.limits.NewZSet()
		ctx.DB.Set(string(key), z, false)
		ctx.S.notifyNewKey(key, ctx.DBNum)
	}
	var added, updated, processed int
	var newScore float64
	var failed bool
	for i := 0; i < elements; i++ {
		member := ctx.Args[scoreIdx+2*i+1]
		score := scores[i]
		cur, exists := z.Score(member)
		if exists {
			if nx {
				continue
			}
			if incr {
				score += cur
				if math.IsNaN(score) {
					ctx.Error("ERR resulting score is not a number (NaN)")
					failed = true
					break
				}
			}
			if (lt && score >= cur) || (gt && score <= cur) {
				continue
			}
			newScore = score
			processed++
			if score != cur {
				z.Add(member, score)
				updated++
			}
			continue
		}
		if xx {
			continue
		}
		z.Add(bytes.Clone(member), score)
		newScore = score
		added++
		processed++
	}
	if z.Len() == 0 {
		ctx.DB.Delete(string(key))
	}
	if added+updated > 0 {
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.S.SignalKeyAsReady(ctx.DBNum, key)
		if incr {
			ctx.Notify(NotifyZSet, "zincr", key)
		} else {
			ctx.Notify(NotifyZSet, "zadd", key)
		}
		ctx.Modified(int64(added + updated))
	}
	if failed {
		return
	}
	switch {
	case incr && processed > 0:
		ctx.W.Double(newScore)
	case incr:
		ctx.W.Null()
	case ch:
		ctx.W.Int(int64(added + updated))
	default:
		ctx.W.Int(int64(added))
	}
}

// ---------------------------------------------------------------- SIMPLE READS AND ZREM

func zremCommand(ctx *Ctx) {
	key := ctx.Args[1]
	z, ok := zsetForWrite(ctx, key)
	if !ok {
		return
	}
	if z == nil {
		ctx.W.Int(0)
		return
	}
	removed := 0
	for _, m := range ctx.Args[2:] {
		if z.Remove(m) {
			removed++
			if z.Len() == 0 {
				break
			}
		}
	}
	if removed > 0 {
		ctx.Notify(NotifyZSet, "zrem", key)
		deleteIfEmpty(ctx, key, z.Len())
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Modified(int64(removed))
	}
	ctx.W.Int(int64(removed))
}

func zcardCommand(ctx *Ctx) {
	replyLength(ctx, store.KindZSet, func(z *store.ZSet) int64 { return int64(z.Len()) })
}

func zcountCommand(ctx *Ctx) {
	r, ok := parseScoreRange(ctx, ctx.Args[2], ctx.Args[3])
	if !ok {
		return
	}
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if z == nil {
		ctx.W.Int(0)
		return
	}
	ctx.W.Int(int64(z.CountByScore(r)))
}

func zlexcountCommand(ctx *Ctx) {
	r, ok := parseLexRange(ctx, ctx.Args[2], ctx.Args[3])
	if !ok {
		return
	}
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if z == nil {
		ctx.W.Int(0)
		return
	}
	ctx.W.Int(int64(z.CountByLex(r)))
}

// zsetScore is member's score in z, a sorted set that may be missing (nil).
func zsetScore(z *store.ZSet, member []byte) (float64, bool) {
	if z == nil {
		return 0, false
	}
	return z.Score(member)
}

func zscoreCommand(ctx *Ctx) {
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if s, found := zsetScore(z, ctx.Args[2]); found {
		ctx.W.Double(s)
		return
	}
	ctx.W.Null()
}

func zmscoreCommand(ctx *Ctx) {
	replyEachMemberScore(ctx, func(s float64, found bool) {
		if found {
			ctx.W.Double(s)
		} else {
			ctx.W.Null()
		}
	})
}

// replyEachMemberScore replies an array with one reply per member named
// after the key (ZMSCORE, GEOHASH, GEOPOS): reply gets the member's score
// and whether the sorted set, which may be missing, holds it.
func replyEachMemberScore(ctx *Ctx, reply func(score float64, found bool)) {
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	ctx.W.ArrayLen(len(ctx.Args) - 2)
	for _, m := range ctx.Args[2:] {
		reply(zsetScore(z, m))
	}
}

func zrankGeneric(ctx *Ctx, reverse bool) {
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if z != nil {
		if r, found := z.Rank(ctx.Args[2], reverse); found {
			ctx.W.Int(int64(r))
			return
		}
	}
	ctx.W.Null()
}

func zrankCommand(ctx *Ctx)    { zrankGeneric(ctx, false) }
func zrevrankCommand(ctx *Ctx) { zrankGeneric(ctx, true) }

// ---------------------------------------------------------------- ZRANGE FAMILY

// rangeType is how ZRANGE interprets start and stop.
type rangeType int

const (
	rangeAuto rangeType = iota
	rangeRank
	rangeScore
	rangeLex
)

// zrangeGeneric implements ZRANGE, ZRANGESTORE and the legacy range
// commands, as Redis 7.0's zrangeGenericCommand: argStart is the index of
// the key, dst the ZRANGESTORE destination (nil otherwise).
func zrangeGeneric(ctx *Ctx, argStart int, dst []byte, rtype rangeType, reverse, autoDir bool) {
	var withScores bool
	offset, limit := int64(0), int64(-1)
	for j := argStart + 3; j < len(ctx.Args); j++ {
		left := len(ctx.Args) - j - 1
		switch {
		case dst == nil && ctx.ArgIs(j, "withscores"):
			withScores = true
		case ctx.ArgIs(j, "limit") && left >= 2:
			o, ok := ctx.Int(j + 1)
			if !ok {
				return
			}
			l, ok := ctx.Int(j + 2)
			if !ok {
				return
			}
			offset, limit = o, l
			j += 2
		case autoDir && ctx.ArgIs(j, "rev"):
			reverse, autoDir = true, false
		case rtype == rangeAuto && ctx.ArgIs(j, "bylex"):
			rtype = rangeLex
		case rtype == rangeAuto && ctx.ArgIs(j, "byscore"):
			rtype = rangeScore
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	if rtype == rangeAuto {
		rtype = rangeRank
	}
	// As zrangeGenericCommand: a LIMIT whose count is -1 (no limit) is
	// accepted by rank, and this check comes first.
	if limit != -1 && rtype == rangeRank {
		ctx.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && rtype == rangeLex {
		ctx.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	minArg, maxArg := ctx.Args[argStart+1], ctx.Args[argStart+2]
	if reverse && rtype != rangeRank {
		minArg, maxArg = maxArg, minArg
	}
	var start, stop int64
	var sr store.ScoreRange
	var lr store.LexRange
	var ok bool
	switch rtype {
	case rangeRank:
		if start, ok = ctx.Int(argStart + 1); !ok {
			return
		}
		if stop, ok = ctx.Int(argStart + 2); !ok {
			return
		}
	case rangeScore:
		if sr, ok = parseScoreRange(ctx, minArg, maxArg); !ok {
			return
		}
	case rangeLex:
		if lr, ok = parseLexRange(ctx, minArg, maxArg); !ok {
			return
		}
	}
	z, ok := zsetForRead(ctx, ctx.Args[argStart])
	if !ok {
		return
	}
	var es []zentry
	collect := func(m []byte, s float64) bool { es = append(es, zentry{m, s}); return true }
	if z != nil {
		switch rtype {
		case rangeRank:
			if from, to, empty := store.NormalizeRange(start, stop, z.Len()); !empty {
				z.RangeByRank(from, to, reverse, collect)
			}
		case rangeScore, rangeLex:
			if offset >= 0 {
				lim := int(min(limit, math.MaxInt32))
				off := int(min(offset, math.MaxInt32))
				if rtype == rangeScore {
					z.RangeByScore(sr, reverse, off, lim, collect)
				} else {
					z.RangeByLex(lr, reverse, off, lim, collect)
				}
			}
		}
	}
	if dst == nil {
		writeZEntries(ctx, es, withScores)
		return
	}
	res := ctx.S.limits.NewZSet()
	for _, e := range es {
		res.Add(e.member, e.score)
	}
	storeZSetResult(ctx, dst, res, "zrangestore")
}

// storeZSetResult stores res under dst (deleting dst when res is empty)
// and replies with its size, for ZRANGESTORE and ZUNIONSTORE-like commands.
func storeZSetResult(ctx *Ctx, dst []byte, res *store.ZSet, event string) {
	storeZSetResultCounting(ctx, dst, res, event, 1, int64(res.Len()))
}

// storeZSetResultCounting is storeZSetResult with the dirty count of a
// stored result and the reply given: GEOSEARCHSTORE and GEORADIUS STORE
// count and reply the items they found (geo.c returned_items).
func storeZSetResultCounting(ctx *Ctx, dst []byte, res *store.ZSet, event string, dirty, reply int64) {
	if res.Len() > 0 {
		res.ShrinkIfSmall()
		ctx.SetKey(dst, res, false)
		ctx.S.SignalKeyAsReady(ctx.DBNum, dst)
		ctx.Notify(NotifyZSet, event, dst)
		ctx.Modified(dirty)
	} else if ctx.DeleteKey(dst) {
		ctx.Notify(NotifyGeneric, "del", dst)
		ctx.Modified(1)
	}
	ctx.W.Int(reply)
}

func zrangeCommand(ctx *Ctx) { zrangeGeneric(ctx, 1, nil, rangeAuto, false, true) }
func zrangestoreCommand(ctx *Ctx) {
	zrangeGeneric(ctx, 2, ctx.Args[1], rangeAuto, false, true)
}
func zrangebyscoreCommand(ctx *Ctx)    { zrangeGeneric(ctx, 1, nil, rangeScore, false, false) }
func zrevrangebyscoreCommand(ctx *Ctx) { zrangeGeneric(ctx, 1, nil, rangeScore, true, false) }
func zrangebylexCommand(ctx *Ctx)      { zrangeGeneric(ctx, 1, nil, rangeLex, false, false) }
func zrevrangebylexCommand(ctx *Ctx)   { zrangeGeneric(ctx, 1, nil, rangeLex, true, false) }
func zrevrangeCommand(ctx *Ctx)        { zrangeGeneric(ctx, 1, nil, rangeRank, true, false) }

// ---------------------------------------------------------------- ZREMRANGEBY*

// zremrangeGeneric implements ZREMRANGEBYRANK, ZREMRANGEBYSCORE and
// ZREMRANGEBYLEX.
func zremrangeGeneric(ctx *Ctx, rtype rangeType) {
	key := ctx.Args[1]
	var start, stop int64
	var sr store.ScoreRange
	var lr store.LexRange
	var ok bool
	var event string
	switch rtype {
	case rangeRank:
		event = "zremrangebyrank"
		if start, ok = ctx.Int(2); !ok {
			return
		}
		if stop, ok = ctx.Int(3); !ok {
			return
		}
	case rangeScore:
		event = "zremrangebyscore"
		if sr, ok = parseScoreRange(ctx, ctx.Args[2], ctx.Args[3]); !ok {
			return
		}
	case rangeLex:
		event = "zremrangebylex"
		if lr, ok = parseLexRange(ctx, ctx.Args[2], ctx.Args[3]); !ok {
			return
		}
	}
	z, ok := zsetForWrite(ctx, key)
	if !ok {
		return
	}
	if z == nil {
		ctx.W.Int(0)
		return
	}
	removed := 0
	switch rtype {
	case rangeRank:
		if from, to, empty := store.NormalizeRange(start, stop, z.Len()); !empty {
			removed = z.RemoveRangeByRank(from, to)
		}
	case rangeScore:
		removed = z.RemoveRangeByScore(sr)
	case rangeLex:
		removed = z.RemoveRangeByLex(lr)
	}
	if removed > 0 {
		ctx.Notify(NotifyZSet, event, key)
		deleteIfEmpty(ctx, key, z.Len())
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Modified(int64(removed))
	}
	ctx.W.Int(int64(removed))
}

func zremrangebyrankCommand(ctx *Ctx)  { zremrangeGeneric(ctx, rangeRank) }
func zremrangebyscoreCommand(ctx *Ctx) { zremrangeGeneric(ctx, rangeScore) }
func zremrangebylexCommand(ctx *Ctx)   { zremrangeGeneric(ctx, rangeLex) }

// ---------------------------------------------------------------- POPS

// zpopFrom pops count members of key's set from the low end (or high with
// max), with the notification and deletion of an emptied set.
func zpopFrom(ctx *Ctx, key []byte, z *store.ZSet, count int, max bool) []zentry {
	members, scores := z.Pop(count, max)
	es := make([]zentry, len(members))
	for i := range members {
		es[i] = zentry{members[i], scores[i]}
	}
	if max {
		ctx.Notify(NotifyZSet, "zpopmax", key)
	} else {
		ctx.Notify(NotifyZSet, "zpopmin", key)
	}
	deleteIfEmpty(ctx, key, z.Len())
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Modified(1)
	return es
}

// zpopGeneric implements ZPOPMIN and ZPOPMAX.
func zpopGeneric(ctx *Ctx, max bool) {
	if len(ctx.Args) > 3 {
		ctx.Error(ErrSyntax)
		return
	}
	count := int64(1)
	hasCount := len(ctx.Args) == 3
	if hasCount {
		n, ok := resp.ParseInt(ctx.Args[2])
		if !ok || n < 0 {
			ctx.Error(ErrPositive)
			return
		}
		count = n
	}
	key := ctx.Args[1]
	z, ok := zsetForWrite(ctx, key)
	if !ok {
		return
	}
	if z == nil || count == 0 {
		ctx.W.ArrayLen(0)
		return
	}
	es := zpopFrom(ctx, key, z, int(min(count, math.MaxInt32)), max)
	if !hasCount {
		ctx.W.ArrayLen(2)
		ctx.W.Bulk(es[0].member)
		ctx.W.Double(es[0].score)
		return
	}
	writeZEntries(ctx, es, true)
}

func zpopminCommand(ctx *Ctx) { zpopGeneric(ctx, false) }
func zpopmaxCommand(ctx *Ctx) { zpopGeneric(ctx, true) }

// zpopName is the command that propagates a pop from one end.
func zpopName(max bool) []byte {
	if max {
		return []byte("ZPOPMAX")
	}
	return []byte("ZPOPMIN")
}

// bzpopOne pops one member of key and replies [key, member, score],
// propagating ZPOPMIN/ZPOPMAX key.
func bzpopOne(ctx *Ctx, key []byte, z *store.ZSet, max bool) {
	es := zpopFrom(ctx, key, z, 1, max)
	ctx.W.ArrayLen(3)
	ctx.W.Bulk(key)
	ctx.W.Bulk(es[0].member)
	ctx.W.Double(es[0].score)
	ctx.Rewrite(zpopName(max), key)
}

// bzpopGeneric implements BZPOPMIN and BZPOPMAX.
func bzpopGeneric(ctx *Ctx, max bool) {
	deadline, ok := parseBlockTimeout(ctx, len(ctx.Args)-1)
	if !ok {
		return
	}
	keys := ctx.Args[1 : len(ctx.Args)-1]
	for _, k := range keys {
		z, ok := zsetForWrite(ctx, k)
		if !ok {
			return
		}
		if z != nil {
			bzpopOne(ctx, k, z, max)
			return
		}
	}
	if !canBlock(ctx) {
		ctx.W.NullArray()
		return
	}
	block(ctx, keys, deadline, blockOnZSet, func(sctx *Ctx, key []byte) bool {
		z, ok := zsetForWrite(sctx, key)
		if !ok || z == nil {
			return false
		}
		bzpopOne(sctx, key, z, max)
		return true
	}, nullArrayReply)
}

func bzpopminCommand(ctx *Ctx) { bzpopGeneric(ctx, false) }
func bzpopmaxCommand(ctx *Ctx) { bzpopGeneric(ctx, true) }

func isMinMax(b []byte) bool { return equalFold(b, "min") || equalFold(b, "max") }

// zmpopWithKey pops up to count members and replies [key, [[m, s]...]],
// propagating ZPOPMIN/ZPOPMAX key count.
func zmpopWithKey(ctx *Ctx, key []byte, z *store.ZSet, max bool, count int64) {
	es := zpopFrom(ctx, key, z, int(min(count, math.MaxInt32)), max)
	ctx.W.ArrayLen(2)
	ctx.W.Bulk(key)
	ctx.W.ArrayLen(len(es))
	for _, e := range es {
		ctx.W.ArrayLen(2)
		ctx.W.Bulk(e.member)
		ctx.W.Double(e.score)
	}
	ctx.Rewrite(zpopName(max), key, []byte(itoa(int64(len(es)))))
}

// zmpopGeneric implements ZMPOP and BZMPOP (blocking, with the timeout at
// argument 1).
func zmpopGeneric(ctx *Ctx, blocking bool) {
	numIdx := 1
	if blocking {
		numIdx = 2
	}
	a, ok := parseMpop(ctx, numIdx, isMinMax)
	if !ok {
		return
	}
	var deadline int64
	if blocking {
		if deadline, ok = parseBlockTimeout(ctx, 1); !ok {
			return
		}
	}
	max := equalFold(a.where, "max")
	for _, k := range a.keys {
		z, ok := zsetForWrite(ctx, k)
		if !ok {
			return
		}
		if z != nil {
			zmpopWithKey(ctx, k, z, max, a.count)
			return
		}
	}
	if !blocking || !canBlock(ctx) {
		ctx.W.NullArray()
		return
	}
	count := a.count
	block(ctx, a.keys, deadline, blockOnZSet, func(sctx *Ctx, key []byte) bool {
		z, ok := zsetForWrite(sctx, key)
		if !ok || z == nil {
			return false
		}
		zmpopWithKey(sctx, key, z, max, count)
		return true
	}, nullArrayReply)
}

func zmpopCommand(ctx *Ctx)  { zmpopGeneric(ctx, false) }
func bzmpopCommand(ctx *Ctx) { zmpopGeneric(ctx, true) }

// ---------------------------------------------------------------- ZRANDMEMBER

func zrandmemberCommand(ctx *Ctx) {
	if len(ctx.Args) >= 3 {
		withScores := false
		if len(ctx.Args) == 4 {
			if !ctx.ArgIs(3, "withscores") {
				ctx.Error(ErrSyntax)
				return
			}
			withScores = true
		} else if len(ctx.Args) > 4 {
			ctx.Error(ErrSyntax)
			return
		}
		count, ok := rangeCount(ctx, 2, withScores)
		if !ok {
			return
		}
		z, ok := zsetForRead(ctx, ctx.Args[1])
		if !ok {
			return
		}
		if z == nil || count == 0 {
			ctx.W.ArrayLen(0)
			return
		}
		members, scores := z.Random(typeRand, count)
		writePairs(ctx, members, withScores, func(i int) { ctx.W.Double(scores[i]) })
		return
	}
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if z == nil {
		ctx.W.Null()
		return
	}
	members, _ := z.Random(typeRand, 1)
	ctx.W.Bulk(members[0])
}

// ---------------------------------------------------------------- ZUNION ZINTER ZDIFF

// zsetOp is the set operation of zunionInterDiff.
type zsetOp int

const (
	opUnion zsetOp = iota
	opInter
	opDiff
)

// zinput is one source of a set operation: a sorted set or a plain set
// (whose members score 1), with its weight.
type zinput struct {
	z      *store.ZSet
	s      *store.Set
	weight float64
}

// size is the input's cardinality.
func (in zinput) size() int {
	switch {
	case in.z != nil:
		return in.z.Len()
	case in.s != nil:
		return in.s.Len()
	}
	return 0
}

// score returns member's score in the input.
func (in zinput) score(m []byte) (float64, bool) {
	if in.z != nil {
		return in.z.Score(m)
	}
	if in.s != nil && in.s.Contains(m) {
		return 1, true
	}
	return 0, false
}

// each walks the input's members.
func (in zinput) each(fn func(m []byte, s float64)) {
	if in.z != nil {
		in.z.Range(func(m []byte, s float64) bool { fn(m, s); return true })
	} else if in.s != nil {
		in.s.Range(func(m []byte) bool { fn(m, 1); return true })
	}
}

// aggregate combines scores as AGGREGATE SUM|MIN|MAX does, with Redis's
// rule that a NaN sum (inf + -inf) is 0.
func aggregate(kind string, acc, v float64) float64 {
	switch kind {
	case "min":
		return math.Min(acc, v)
	case "max":
		return math.Max(acc, v)
	}
	s := acc + v
	if math.IsNaN(s) {
		return 0
	}
	return s
}

// parseZNumKeys parses the numkeys of ZUNION, ZINTER, ZDIFF, their STORE
// forms and ZINTERCARD, with their messages.
func parseZNumKeys(ctx *Ctx, i int) (int, bool) {
	n, ok := ctx.Int(i)
	if !ok {
		return 0, false
	}
	if n < 1 {
		ctx.Errorf("ERR at least 1 input key is needed for '%s' command", ctx.Cmd.FullName())
		return 0, false
	}
	if n > int64(len(ctx.Args)-i-1) {
		ctx.Error(ErrSyntax)
		return 0, false
	}
	return int(n), true
}

// lookupZInputs looks up the inputs of ZUNION, ZINTER, ZDIFF and
// ZINTERCARD, sorted sets or sets, weight 1: before the options are parsed,
// so WRONGTYPE wins over a syntax error, as zunionInterDiffGenericCommand.
func lookupZInputs(ctx *Ctx, keys [][]byte) ([]zinput, bool) {
	inputs := make([]zinput, len(keys))
	for i, k := range keys {
		inputs[i].weight = 1
		v := ctx.Lookup(k)
		if v == nil {
			continue
		}
		switch v.Kind() {
		case store.KindZSet:
			inputs[i].z = v.(*store.ZSet)
		case store.KindSet:
			inputs[i].s = v.(*store.Set)
		default:
			ctx.Error(ErrWrongType)
			return nil, false
		}
	}
	return inputs, true
}

// zunionInterDiff implements ZUNION, ZINTER, ZDIFF and their STORE forms,
// and ZINTERCARD's input handling: numIdx is the index of numkeys, dst the
// destination for STORE (nil otherwise).
func zunionInterDiff(ctx *Ctx, numIdx int, dst []byte, op zsetOp) {
	numkeys, ok := parseZNumKeys(ctx, numIdx)
	if !ok {
		return
	}
	n := int64(numkeys)
	inputs, ok := lookupZInputs(ctx, ctx.Args[numIdx+1:numIdx+1+int(n)])
	if !ok {
		return
	}
	agg := "sum"
	withScores := false
	for j := numIdx + 1 + int(n); j < len(ctx.Args); j++ {
		left := len(ctx.Args) - j - 1
		switch {
		case op != opDiff && ctx.ArgIs(j, "weights") && left >= int(n):
			for i := range inputs {
				w, ok := ParseFloat(ctx.Args[j+1+i])
				if !ok {
					ctx.Error("ERR weight value is not a float")
					return
				}
				inputs[i].weight = w
			}
			j += int(n)
		case op != opDiff && ctx.ArgIs(j, "aggregate") && left >= 1:
			a := ctx.Args[j+1]
			switch {
			case equalFold(a, "sum"):
				agg = "sum"
			case equalFold(a, "min"):
				agg = "min"
			case equalFold(a, "max"):
				agg = "max"
			default:
				ctx.Error(ErrSyntax)
				return
			}
			j++
		case dst == nil && ctx.ArgIs(j, "withscores"):
			withScores = true
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	res := computeZSetOp(ctx.S.limits, inputs, op, agg)
	if dst != nil {
		storeZSetResult(ctx, dst, res, map[zsetOp]string{opUnion: "zunionstore", opInter: "zinterstore", opDiff: "zdiffstore"}[op])
		return
	}
	var es []zentry
	res.Range(func(m []byte, s float64) bool { es = append(es, zentry{m, s}); return true })
	writeZEntries(ctx, es, withScores)
}

// computeZSetOp builds the result of a set operation as a new sorted set
// converting at the node's lim.
func computeZSetOp(lim *store.Limits, inputs []zinput, op zsetOp, agg string) *store.ZSet {
	// Built as a skiplist like Redis's dstzset (a -0 score stays -0 in the
	// reply); storeZSetResult shrinks it to a listpack when it fits.
	res := lim.NewZSet()
	res.ToSkiplist()
	weighted := func(in zinput, s float64) float64 {
		v := s * in.weight
		if math.IsNaN(v) {
			return 0
		}
		return v
	}
	switch op {
	case opUnion:
		acc := map[string]float64{}
		var order []string
		for _, in := range inputs {
			in.each(func(m []byte, s float64) {
				v := weighted(in, s)
				if cur, ok := acc[string(m)]; ok {
					acc[string(m)] = aggregate(agg, cur, v)
				} else {
					acc[string(m)] = v
					order = append(order, string(m))
				}
			})
		}
		for _, m := range order {
			res.Add([]byte(m), acc[m])
		}
	case opInter:
		sorted := append([]zinput(nil), inputs...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].size() < sorted[j].size() })
		if sorted[0].size() == 0 {
			return res
		}
		sorted[0].each(func(m []byte, s float64) {
			score := weighted(sorted[0], s)
			for _, other := range sorted[1:] {
				os, ok := other.score(m)
				if !ok {
					return
				}
				score = aggregate(agg, score, weighted(other, os))
			}
			res.Add(m, score)
		})
	case opDiff:
		inputs[0].each(func(m []byte, s float64) {
			for _, other := range inputs[1:] {
				if _, ok := other.score(m); ok {
					return
				}
			}
			res.Add(m, s)
		})
	}
	return res
}

func zunionCommand(ctx *Ctx)      { zunionInterDiff(ctx, 1, nil, opUnion) }
func zinterCommand(ctx *Ctx)      { zunionInterDiff(ctx, 1, nil, opInter) }
func zdiffCommand(ctx *Ctx)       { zunionInterDiff(ctx, 1, nil, opDiff) }
func zunionstoreCommand(ctx *Ctx) { zunionInterDiff(ctx, 2, ctx.Args[1], opUnion) }
func zinterstoreCommand(ctx *Ctx) { zunionInterDiff(ctx, 2, ctx.Args[1], opInter) }
func zdiffstoreCommand(ctx *Ctx)  { zunionInterDiff(ctx, 2, ctx.Args[1], opDiff) }

func zintercardCommand(ctx *Ctx) {
	numkeys, ok := parseZNumKeys(ctx, 1)
	if !ok {
		return
	}
	inputs, ok := lookupZInputs(ctx, ctx.Args[2:2+numkeys])
	if !ok {
		return
	}
	limit, ok := parseIntercardLimit(ctx, 2+numkeys)
	if !ok {
		return
	}
	sorted := append([]zinput(nil), inputs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].size() < sorted[j].size() })
	count := int64(0)
	if sorted[0].size() > 0 {
		done := false
		sorted[0].each(func(m []byte, _ float64) {
			if done {
				return
			}
			for _, other := range sorted[1:] {
				if _, ok := other.score(m); !ok {
					return
				}
			}
			count++
			if limit > 0 && count >= limit {
				done = true
			}
		})
	}
	ctx.W.Int(count)
}

// ---------------------------------------------------------------- ZSCAN

func zscanCommand(ctx *Ctx) {
	cursor, ok := parseScanCursorOrReply(ctx, 2)
	if !ok {
		return
	}
	z, ok := zsetForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if z == nil {
		writeScanReply(ctx, 0, nil)
		return
	}
	opts, ok := parseScanOptions(ctx, 3)
	if !ok {
		return
	}
	var out [][]byte
	next := z.Scan(cursor, opts.count, func(m []byte, s float64) {
		if opts.matches(m) {
			out = append(out, m, d2string(s))
		}
	})
	writeScanReply(ctx, next, out)
}
