package server

import (
	"bytes"
	"math"
	"sort"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// Set commands, after Redis's t_set.c.

func init() {
	register(
		&Command{Name: "sadd", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: saddCommand},
		&Command{Name: "srem", Arity: -3, Flags: FlagWrite | FlagFast, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: sremCommand},
		&Command{Name: "smembers", Arity: 2, Flags: FlagReadOnly, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: smembersCommand},
		&Command{Name: "sismember", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: sismemberCommand},
		&Command{Name: "smismember", Arity: -3, Flags: FlagReadOnly | FlagFast, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: smismemberCommand},
		&Command{Name: "scard", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: scardCommand},
		&Command{Name: "spop", Arity: -2, Flags: FlagWrite | FlagFast, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: spopCommand},
		&Command{Name: "srandmember", Arity: -2, Flags: FlagReadOnly, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: srandmemberCommand},
		&Command{Name: "smove", Arity: 4, Flags: FlagWrite | FlagFast, Group: "set", FirstKey: 1, LastKey: 2, Step: 1, Handler: smoveCommand},
		&Command{Name: "sinter", Arity: -2, Flags: FlagReadOnly, Group: "set", FirstKey: 1, LastKey: -1, Step: 1, Handler: sinterCommand},
		&Command{Name: "sintercard", Arity: -3, Flags: FlagReadOnly | FlagMovableKeys, Group: "set", GetKeys: numkeysAt(1), Handler: sintercardCommand},
		&Command{Name: "sinterstore", Arity: -3, Flags: FlagWrite | FlagDenyOOM, Group: "set", FirstKey: 1, LastKey: -1, Step: 1, Handler: sinterstoreCommand},
		&Command{Name: "sunion", Arity: -2, Flags: FlagReadOnly, Group: "set", FirstKey: 1, LastKey: -1, Step: 1, Handler: sunionCommand},
		&Command{Name: "sunionstore", Arity: -3, Flags: FlagWrite | FlagDenyOOM, Group: "set", FirstKey: 1, LastKey: -1, Step: 1, Handler: sunionstoreCommand},
		&Command{Name: "sdiff", Arity: -2, Flags: FlagReadOnly, Group: "set", FirstKey: 1, LastKey: -1, Step: 1, Handler: sdiffCommand},
		&Command{Name: "sdiffstore", Arity: -3, Flags: FlagWrite | FlagDenyOOM, Group: "set", FirstKey: 1, LastKey: -1, Step: 1, Handler: sdiffstoreCommand},
		&Command{Name: "sscan", Arity: -3, Flags: FlagReadOnly, Group: "set", FirstKey: 1, LastKey: 1, Step: 1, Handler: sscanCommand},
	)
}

// numkeysAt returns a GetKeys for commands whose argument at position i is
// a key count followed by the keys (SINTERCARD, ZUNION, LMPOP...).
func numkeysAt(i int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if i >= len(args) {
			return nil
		}
		n, ok := resp.ParseInt(args[i])
		if !ok || n <= 0 || n > int64(len(args)-i-1) {
			return nil
		}
		out := make([]int, n)
		for j := range out {
			out[j] = i + 1 + j
		}
		return out
	}
}

// ---------------------------------------------------------------- SET ACCESS

// setForRead returns the set under key (nil if missing); ok is false after
// a WRONGTYPE reply.
func setForRead(ctx *Ctx, key []byte) (*store.Set, bool) {
	return lookupAs[*store.Set](ctx, key, store.KindSet)
}

// setForWrite returns the set under key ready for modification, nil if
// missing; ok is false after a WRONGTYPE reply.
func setForWrite(ctx *Ctx, key []byte) (*store.Set, bool) {
	return lookupWriteAs[*store.Set](ctx, key, store.KindSet)
}

// ---------------------------------------------------------------- ADD AND REMOVE

func saddCommand(ctx *Ctx) {
	key := ctx.Args[1]
	s, ok := setForWrite(ctx, key)
	if !ok {
		return
	}
	if s == nil {
		s = ctx.S.limits.NewSet()
		ctx.DB.Set(string(key), s, false)
		ctx.S.notifyNewKey(key, ctx.DBNum)
	}
	added := 0
	for _, m := range ctx.Args[2:] {
		if s.Add(m) {
			added++
		}
	}
	if added > 0 {
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(NotifySet, "sadd", key)
		ctx.Modified(int64(added))
	}
	ctx.W.Int(int64(added))
}

func sremCommand(ctx *Ctx) {
	key := ctx.Args[1]
	s, ok := setForWrite(ctx, key)
	if !ok {
		return
	}
	if s == nil {
		ctx.W.Int(0)
		return
	}
	removed := 0
	for _, m := range ctx.Args[2:] {
		if s.Remove(m) {
			removed++
			if s.Len() == 0 {
				break
			}
		}
	}
	if removed > 0 {
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(NotifySet, "srem", key)
		deleteIfEmpty(ctx, key, s.Len())
		ctx.Modified(int64(removed))
	}
	ctx.W.Int(int64(removed))
}

func smoveCommand(ctx *Ctx) {
	src, dst, member := ctx.Args[1], ctx.Args[2], ctx.Args[3]
	// Both keys are looked up (expiring them) before any type check, as
	// smoveCommand does.
	ctx.Exists(src)
	dv := ctx.Lookup(dst)
	srcSet, ok := setForRead(ctx, src)
	if !ok {
		return
	}
	if srcSet == nil {
		ctx.W.Int(0)
		return
	}
	if dv != nil && dv.Kind() != store.KindSet {
		ctx.Error(ErrWrongType)
		return
	}
	if bytes.Equal(src, dst) {
		if srcSet.Contains(member) {
			ctx.W.Int(1)
		} else {
			ctx.W.Int(0)
		}
		return
	}
	srcSet, _ = setForWrite(ctx, src)
	if !srcSet.Remove(member) {
		ctx.W.Int(0)
		return
	}
	ctx.Notify(NotifySet, "srem", src)
	deleteIfEmpty(ctx, src, srcSet.Len())
	dstSet, _ := setForWrite(ctx, dst)
	if dstSet == nil {
		dstSet = ctx.S.limits.NewSet()
		ctx.DB.Set(string(dst), dstSet, false)
		ctx.S.notifyNewKey(dst, ctx.DBNum)
	}
	ctx.S.signalModifiedKey(ctx.DBNum, src)
	ctx.Modified(1)
	// The destination changed (WATCH, tracking, dirty) only when the
	// member was added to it, as in smoveCommand.
	if dstSet.Add(member) {
		ctx.Modified(1)
		ctx.S.signalModifiedKey(ctx.DBNum, dst)
		ctx.Notify(NotifySet, "sadd", dst)
	}
	ctx.W.Int(1)
}

// ---------------------------------------------------------------- READS

func smembersCommand(ctx *Ctx) {
	s, ok := setForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if s == nil {
		ctx.W.SetLen(0)
		return
	}
	ctx.W.SetLen(s.Len())
	s.Range(func(m []byte) bool { ctx.W.Bulk(m); return true })
}

func sismemberCommand(ctx *Ctx) {
	s, ok := setForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if s != nil && s.Contains(ctx.Args[2]) {
		ctx.W.Int(1)
	} else {
		ctx.W.Int(0)
	}
}

func smismemberCommand(ctx *Ctx) {
	s, ok := setForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	ctx.W.ArrayLen(len(ctx.Args) - 2)
	for _, m := range ctx.Args[2:] {
		if s != nil && s.Contains(m) {
			ctx.W.Int(1)
		} else {
			ctx.W.Int(0)
		}
	}
}

func scardCommand(ctx *Ctx) {
	replyLength(ctx, store.KindSet, func(s *store.Set) int64 { return int64(s.Len()) })
}

// ---------------------------------------------------------------- RANDOM

// spopBatch is how many members one propagated SREM carries.
const spopBatch = 1024

func spopCommand(ctx *Ctx) {
	key := ctx.Args[1]
	if len(ctx.Args) > 3 {
		ctx.Error(ErrSyntax)
		return
	}
	if len(ctx.Args) == 3 {
		count, ok := resp.ParseInt(ctx.Args[2])
		if !ok || count < 0 {
			ctx.Error(ErrPositive)
			return
		}
		s, ok := setForWrite(ctx, key)
		if !ok {
			return
		}
		if s == nil || count == 0 {
			ctx.W.SetLen(0)
			return
		}
		if count >= int64(s.Len()) {
			// The whole set goes: replicate as DEL.
			members := s.Members()
			ctx.W.SetLen(len(members))
			for _, m := range members {
				ctx.W.Bulk(m)
			}
			ctx.DB.Delete(string(key))
			ctx.Notify(NotifySet, "spop", key)
			ctx.Notify(NotifyGeneric, "del", key)
			ctx.S.signalModifiedKey(ctx.DBNum, key)
			ctx.Modified(1)
			ctx.Rewrite([]byte("DEL"), key)
			return
		}
		popped := s.Pop(typeRand, int(count))
		ctx.W.SetLen(len(popped))
		for _, m := range popped {
			ctx.W.Bulk(m)
		}
		for i := 0; i < len(popped); i += spopBatch {
			batch := popped[i:min(i+spopBatch, len(popped))]
			ctx.Propagate(append([][]byte{[]byte("SREM"), key}, batch...)...)
		}
		ctx.Notify(NotifySet, "spop", key)
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Modified(int64(len(popped)))
		ctx.NoPropagate()
		return
	}
	s, ok := setForWrite(ctx, key)
	if !ok {
		return
	}
	if s == nil {
		ctx.W.Null()
		return
	}
	m := s.Pop(typeRand, 1)[0]
	ctx.W.Bulk(m)
	ctx.Notify(NotifySet, "spop", key)
	deleteIfEmpty(ctx, key, s.Len())
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Modified(1)
	ctx.Rewrite([]byte("SREM"), key, m)
}

func srandmemberCommand(ctx *Ctx) {
	if len(ctx.Args) > 3 {
		ctx.Error(ErrSyntax)
		return
	}
	if len(ctx.Args) == 3 {
		count, ok := rangeCount(ctx, 2, false)
		if !ok {
			return
		}
		s, ok := setForRead(ctx, ctx.Args[1])
		if !ok {
			return
		}
		if s == nil || count == 0 {
			ctx.W.ArrayLen(0)
			return
		}
		members := s.Random(typeRand, count)
		ctx.W.ArrayLen(len(members))
		for _, m := range members {
			ctx.W.Bulk(m)
		}
		return
	}
	s, ok := setForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if s == nil {
		ctx.W.Null()
		return
	}
	ctx.W.Bulk(s.Random(typeRand, 1)[0])
}

// ---------------------------------------------------------------- ALGEBRA

// loadSets looks up keys as sets in order: a missing key is a nil entry, a
// key of another type gets WRONGTYPE (ok false), as sinterGenericCommand
// and sunionDiffGenericCommand check every key first.
func loadSets(ctx *Ctx, keys [][]byte) ([]*store.Set, bool) {
	sets := make([]*store.Set, len(keys))
	for i, k := range keys {
		s, ok := setForRead(ctx, k)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// interSets returns the intersection, walking the smallest set and probing
// the others, as Redis does (so the result follows the smallest set's
// order). limit > 0 stops early (SINTERCARD).
func interSets(sets []*store.Set, limit int) [][]byte {
	for _, s := range sets {
		if s == nil {
			return nil
		}
	}
	ordered := append([]*store.Set(nil), sets...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Len() < ordered[j].Len() })
	var out [][]byte
	ordered[0].Range(func(m []byte) bool {
		for _, o := range ordered[1:] {
			if !o.Contains(m) {
				return true
			}
		}
		out = append(out, m)
		return limit <= 0 || len(out) < limit
	})
	return out
}

// unionDiff builds SUNION or SDIFF into a new set, as Redis builds its
// result set (so integer results come out ascending, as from an intset),
// converting at the node's lim.
func unionDiff(lim *store.Limits, sets []*store.Set, diff bool) *store.Set {
	res := lim.NewSet()
	if diff {
		if sets[0] == nil {
			return res
		}
		sets[0].Range(func(m []byte) bool {
			for _, o := range sets[1:] {
				if o != nil && o.Contains(m) {
					return true
				}
			}
			res.Add(m)
			return true
		})
		return res
	}
	for _, s := range sets {
		if s == nil {
			continue
		}
		s.Range(func(m []byte) bool { res.Add(m); return true })
	}
	return res
}

// writeMembers replies with members as a RESP3 set (array in RESP2).
func writeMembers(ctx *Ctx, members [][]byte) {
	ctx.W.SetLen(len(members))
	for _, m := range members {
		ctx.W.Bulk(m)
	}
}

// storeSetResult stores res (or deletes dst when empty) for the *STORE
// variants and replies with its size.
func storeSetResult(ctx *Ctx, dst []byte, res *store.Set, event string) {
	if res.Len() > 0 {
		ctx.SetKey(dst, res, false)
		ctx.Notify(NotifySet, event, dst)
		ctx.Modified(1)
	} else if ctx.DeleteKey(dst) {
		ctx.Notify(NotifyGeneric, "del", dst)
		ctx.Modified(1)
	}
	ctx.W.Int(int64(res.Len()))
}

func sinterCommand(ctx *Ctx) {
	sets, ok := loadSets(ctx, ctx.Args[1:])
	if !ok {
		return
	}
	writeMembers(ctx, interSets(sets, 0))
}

func sinterstoreCommand(ctx *Ctx) {
	sets, ok := loadSets(ctx, ctx.Args[2:])
	if !ok {
		return
	}
	res := ctx.S.limits.NewSet()
	for _, m := range interSets(sets, 0) {
		res.Add(m)
	}
	storeSetResult(ctx, ctx.Args[1], res, "sinterstore")
}

func sintercardCommand(ctx *Ctx) {
	numkeys, ok := parseNumKeys(ctx, 1)
	if !ok {
		return
	}
	keys := ctx.Args[2 : 2+numkeys]
	limit, ok := parseIntercardLimit(ctx, 2+numkeys)
	if !ok {
		return
	}
	sets, ok := loadSets(ctx, keys)
	if !ok {
		return
	}
	if limit > math.MaxInt32 {
		limit = math.MaxInt32
	}
	ctx.W.Int(int64(len(interSets(sets, int(limit)))))
}

// parseNumKeys parses the numkeys argument at i: at least 1 and no more than
// the arguments that follow, with Redis's messages.
// parseIntercardLimit parses SINTERCARD's and ZINTERCARD's options from
// index from: LIMIT n, 0 (the default) meaning no limit.
func parseIntercardLimit(ctx *Ctx, from int) (int64, bool) {
	limit := int64(0)
	for i := from; i < len(ctx.Args); i += 2 {
		if ctx.ArgIs(i, "limit") && i+1 < len(ctx.Args) {
			n, ok := ctx.IntMsg(i+1, "ERR LIMIT can't be negative")
			if !ok {
				return 0, false
			}
			if n < 0 {
				ctx.Error("ERR LIMIT can't be negative")
				return 0, false
			}
			limit = n
			continue
		}
		ctx.Error(ErrSyntax)
		return 0, false
	}
	return limit, true
}

func parseNumKeys(ctx *Ctx, i int) (int, bool) {
	n, ok := resp.ParseInt(ctx.Args[i])
	if !ok || n <= 0 {
		ctx.Error("ERR numkeys should be greater than 0")
		return 0, false
	}
	if n > int64(len(ctx.Args)-i-1) {
		ctx.Error("ERR Number of keys can't be greater than number of args")
		return 0, false
	}
	return int(n), true
}

func sunionCommand(ctx *Ctx) {
	sets, ok := loadSets(ctx, ctx.Args[1:])
	if !ok {
		return
	}
	writeMembers(ctx, unionDiff(ctx.S.limits, sets, false).Members())
}

func sunionstoreCommand(ctx *Ctx) {
	sets, ok := loadSets(ctx, ctx.Args[2:])
	if !ok {
		return
	}
	storeSetResult(ctx, ctx.Args[1], unionDiff(ctx.S.limits, sets, false), "sunionstore")
}

func sdiffCommand(ctx *Ctx) {
	sets, ok := loadSets(ctx, ctx.Args[1:])
	if !ok {
		return
	}
	writeMembers(ctx, unionDiff(ctx.S.limits, sets, true).Members())
}

func sdiffstoreCommand(ctx *Ctx) {
	sets, ok := loadSets(ctx, ctx.Args[2:])
	if !ok {
		return
	}
	storeSetResult(ctx, ctx.Args[1], unionDiff(ctx.S.limits, sets, true), "sdiffstore")
}

func sscanCommand(ctx *Ctx) {
	cursor, ok := parseScanCursorOrReply(ctx, 2)
	if !ok {
		return
	}
	s, ok := setForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if s == nil {
		writeScanReply(ctx, 0, nil)
		return
	}
	opts, ok := parseScanOptions(ctx, 3)
	if !ok {
		return
	}
	var out [][]byte
	next := s.Scan(cursor, opts.count, func(m []byte) {
		if opts.matches(m) {
			out = append(out, m)
		}
	})
	writeScanReply(ctx, next, out)
}
