package server

import (
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// List commands, after Redis's t_list.c. The blocking variants park the
// client through blocking.go when every key is empty.

func init() {
	register(
		&Command{Name: "lpush", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lpushCommand},
		&Command{Name: "rpush", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: rpushCommand},
		&Command{Name: "lpushx", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lpushxCommand},
		&Command{Name: "rpushx", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: rpushxCommand},
		&Command{Name: "lpop", Arity: -2, Flags: FlagWrite | FlagFast, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lpopCommand},
		&Command{Name: "rpop", Arity: -2, Flags: FlagWrite | FlagFast, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: rpopCommand},
		&Command{Name: "llen", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: llenCommand},
		&Command{Name: "lindex", Arity: 3, Flags: FlagReadOnly, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lindexCommand},
		&Command{Name: "linsert", Arity: 5, Flags: FlagWrite | FlagDenyOOM, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: linsertCommand},
		&Command{Name: "lrange", Arity: 4, Flags: FlagReadOnly, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lrangeCommand},
		&Command{Name: "lrem", Arity: 4, Flags: FlagWrite, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lremCommand},
		&Command{Name: "lset", Arity: 4, Flags: FlagWrite | FlagDenyOOM, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lsetCommand},
		&Command{Name: "ltrim", Arity: 4, Flags: FlagWrite, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: ltrimCommand},
		&Command{Name: "lpos", Arity: -3, Flags: FlagReadOnly, Group: "list", FirstKey: 1, LastKey: 1, Step: 1, Handler: lposCommand},
		&Command{Name: "lmove", Arity: 5, Flags: FlagWrite | FlagDenyOOM, Group: "list", FirstKey: 1, LastKey: 2, Step: 1, Handler: lmoveCommand},
		&Command{Name: "rpoplpush", Arity: 3, Flags: FlagWrite | FlagDenyOOM, Group: "list", FirstKey: 1, LastKey: 2, Step: 1, Handler: rpoplpushCommand},
		&Command{Name: "lmpop", Arity: -4, Flags: FlagWrite | FlagMovableKeys, Group: "list", GetKeys: numkeysAt(1), Handler: lmpopCommand},
		&Command{Name: "blpop", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking, Group: "list", FirstKey: 1, LastKey: -2, Step: 1, Handler: blpopCommand},
		&Command{Name: "brpop", Arity: -3, Flags: FlagWrite | FlagNoScript | FlagBlocking, Group: "list", FirstKey: 1, LastKey: -2, Step: 1, Handler: brpopCommand},
		&Command{Name: "blmove", Arity: 6, Flags: FlagWrite | FlagDenyOOM | FlagNoScript | FlagBlocking, Group: "list", FirstKey: 1, LastKey: 2, Step: 1, Handler: blmoveCommand},
		&Command{Name: "blmpop", Arity: -5, Flags: FlagWrite | FlagBlocking | FlagMovableKeys, Group: "list", GetKeys: numkeysAt(2), Handler: blmpopCommand},
		&Command{Name: "brpoplpush", Arity: 4, Flags: FlagWrite | FlagDenyOOM | FlagNoScript | FlagBlocking, Group: "list", FirstKey: 1, LastKey: 2, Step: 1, Handler: brpoplpushCommand},
	)
}

// listEnd is the head (LEFT) or tail (RIGHT) of a list.
type listEnd bool

const (
	listHead listEnd = false
	listTail listEnd = true
)

// name is the end as LMOVE spells it.
func (e listEnd) name() string {
	if e == listHead {
		return "LEFT"
	}
	return "RIGHT"
}

// popCmd is the non-blocking pop that propagates a pop from this end.
func (e listEnd) popCmd() string {
	if e == listHead {
		return "LPOP"
	}
	return "RPOP"
}

// parseListEnd parses LEFT or RIGHT.
func parseListEnd(b []byte) (listEnd, bool) {
	switch {
	case equalFold(b, "left"):
		return listHead, true
	case equalFold(b, "right"):
		return listTail, true
	}
	return false, false
}

// ---------------------------------------------------------------- LIST ACCESS

// listForRead returns the list under key (nil if missing); ok is false after
// a WRONGTYPE reply.
func listForRead(ctx *Ctx, key []byte) (*store.List, bool) {
	return lookupAs[*store.List](ctx, key, store.KindList)
}

// listForWrite returns the list under key ready for modification, nil if
// missing; ok is false after a WRONGTYPE reply.
func listForWrite(ctx *Ctx, key []byte) (*store.List, bool) {
	return lookupWriteAs[*store.List](ctx, key, store.KindList)
}

// createList stores a new empty list under key. A list appearing under a
// key may wake clients blocked on it.
func createList(ctx *Ctx, key []byte) *store.List {
	l := store.NewList()
	ctx.DB.Set(string(key), l, false)
	ctx.S.notifyNewKey(key, ctx.DBNum)
	return l
}

// push adds a copy of elem at one end.
func push(l *store.List, end listEnd, elem []byte) {
	if end == listHead {
		l.PushFront(elem)
	} else {
		l.PushBack(elem)
	}
}

// pop removes an element from one end.
func pop(l *store.List, end listEnd) ([]byte, bool) {
	if end == listHead {
		return l.PopFront()
	}
	return l.PopBack()
}

// popReply replies with the element at end and removes it. The reply takes
// the bytes where they lie, before they move: popping a packed list copies
// nothing (pop returns a copy the caller owns).
func popReply(ctx *Ctx, l *store.List, end listEnd) {
	i := 0
	if end == listTail {
		i = l.Len() - 1
	}
	ctx.W.Bulk(l.Index(i))
	l.RemoveAt(i)
}

// ---------------------------------------------------------------- PUSH

// pushGeneric implements LPUSH, RPUSH, LPUSHX and RPUSHX.
func pushGeneric(ctx *Ctx, end listEnd, onlyIfExists bool) {
	key := ctx.Args[1]
	l, ok := listForWrite(ctx, key)
	if !ok {
		return
	}
	if l == nil {
		if onlyIfExists {
			ctx.W.Int(0)
			return
		}
		l = createList(ctx, key)
	}
	for _, e := range ctx.Args[2:] {
		push(l, end, e) // the list copies it
	}
	ctx.W.Int(int64(l.Len()))
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	signalListReady(ctx, key)
	if end == listHead {
		ctx.Notify(NotifyList, "lpush", key)
	} else {
		ctx.Notify(NotifyList, "rpush", key)
	}
	ctx.Modified(int64(len(ctx.Args) - 2))
}

func lpushCommand(ctx *Ctx)  { pushGeneric(ctx, listHead, false) }
func rpushCommand(ctx *Ctx)  { pushGeneric(ctx, listTail, false) }
func lpushxCommand(ctx *Ctx) { pushGeneric(ctx, listHead, true) }
func rpushxCommand(ctx *Ctx) { pushGeneric(ctx, listTail, true) }

// ---------------------------------------------------------------- POP

// popGeneric implements LPOP and RPOP with an optional count.
func popGeneric(ctx *Ctx, end listEnd) {
	if len(ctx.Args) > 3 {
		ctx.ArityError()
		return
	}
	hasCount := len(ctx.Args) == 3
	var count int64 = 1
	if hasCount {
		n, ok := resp.ParseInt(ctx.Args[2])
		if !ok || n < 0 {
			ctx.Error(ErrPositive)
			return
		}
		count = n
	}
	key := ctx.Args[1]
	l, ok := listForWrite(ctx, key)
	if !ok {
		return
	}
	if l == nil {
		if hasCount {
			ctx.W.NullArray()
		} else {
			ctx.W.Null()
		}
		return
	}
	if hasCount && count == 0 {
		ctx.W.ArrayLen(0)
		return
	}
	if !hasCount {
		popReply(ctx, l, end)
	} else {
		n := int(min(count, int64(l.Len())))
		ctx.W.ArrayLen(n)
		for i := 0; i < n; i++ {
			popReply(ctx, l, end)
		}
	}
	listPopped(ctx, key, l, end)
}

// listPopped does the bookkeeping after elements were popped from key:
// notification, deletion of an emptied list, WATCH and dirty.
func listPopped(ctx *Ctx, key []byte, l *store.List, end listEnd) {
	if end == listHead {
		ctx.Notify(NotifyList, "lpop", key)
	} else {
		ctx.Notify(NotifyList, "rpop", key)
	}
	deleteIfEmpty(ctx, key, l.Len())
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Modified(1)
}

func lpopCommand(ctx *Ctx) { popGeneric(ctx, listHead) }
func rpopCommand(ctx *Ctx) { popGeneric(ctx, listTail) }

// ---------------------------------------------------------------- READS

func llenCommand(ctx *Ctx) {
	replyLength(ctx, store.KindList, func(l *store.List) int64 { return int64(l.Len()) })
}

func lindexCommand(ctx *Ctx) {
	l, ok := listForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if l == nil { // before the index is parsed, as lindexCommand
		ctx.W.Null()
		return
	}
	idx, ok := ctx.Int(2)
	if !ok {
		return
	}
	i, in := store.NormalizeIndex(idx, l.Len())
	if !in {
		ctx.W.Null()
		return
	}
	ctx.W.Bulk(l.Index(i))
}

func lrangeCommand(ctx *Ctx) {
	start, ok := ctx.Int(2)
	if !ok {
		return
	}
	stop, ok := ctx.Int(3)
	if !ok {
		return
	}
	l, ok := listForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if l == nil {
		ctx.W.ArrayLen(0)
		return
	}
	from, to, empty := store.NormalizeRange(start, stop, l.Len())
	if empty {
		ctx.W.ArrayLen(0)
		return
	}
	ctx.W.ArrayLen(to - from + 1)
	for c, i := l.CursorAt(from), from; i <= to; i++ {
		ctx.W.Bulk(c.Next())
	}
}

func lposCommand(ctx *Ctx) {
	var rank, count, maxlen int64 = 1, -1, 0
	for i := 3; i < len(ctx.Args); i += 2 {
		if i+1 >= len(ctx.Args) {
			ctx.Error(ErrSyntax)
			return
		}
		switch {
		case ctx.ArgIs(i, "rank"):
			n, ok := ctx.Int(i + 1)
			if !ok {
				return
			}
			if n == 0 {
				ctx.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = n
		case ctx.ArgIs(i, "count"):
			n, ok := ctx.IntMsg(i+1, "ERR COUNT can't be negative") // getPositiveLongFromObjectOrReply
			if !ok {
				return
			}
			if n < 0 {
				ctx.Error("ERR COUNT can't be negative")
				return
			}
			count = n
		case ctx.ArgIs(i, "maxlen"):
			n, ok := ctx.IntMsg(i+1, "ERR MAXLEN can't be negative") // getPositiveLongFromObjectOrReply
			if !ok {
				return
			}
			if n < 0 {
				ctx.Error("ERR MAXLEN can't be negative")
				return
			}
			maxlen = n
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	l, ok := listForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if l == nil {
		if count != -1 {
			ctx.W.ArrayLen(0)
		} else {
			ctx.W.Null()
		}
		return
	}
	want := count
	if count == -1 {
		want = 1
	}
	pos := l.Positions(ctx.Args[2], rank, want, maxlen)
	if count == -1 {
		if len(pos) == 0 {
			ctx.W.Null()
		} else {
			ctx.W.Int(int64(pos[0]))
		}
		return
	}
	ctx.W.ArrayLen(len(pos))
	for _, p := range pos {
		ctx.W.Int(int64(p))
	}
}

// ---------------------------------------------------------------- IN-PLACE EDITS

func linsertCommand(ctx *Ctx) {
	var after bool
	switch {
	case ctx.ArgIs(2, "after"):
		after = true
	case ctx.ArgIs(2, "before"):
	default:
		ctx.Error(ErrSyntax)
		return
	}
	key := ctx.Args[1]
	l, ok := listForWrite(ctx, key)
	if !ok {
		return
	}
	if l == nil {
		ctx.W.Int(0)
		return
	}
	i := l.Find(ctx.Args[3])
	if i < 0 {
		ctx.W.Int(-1)
		return
	}
	if after {
		i++
	}
	l.Insert(i, ctx.Args[4])
	ctx.Notify(NotifyList, "linsert", key)
	ctx.Touched(key)
	ctx.W.Int(int64(l.Len()))
}

func lsetCommand(ctx *Ctx) {
	key := ctx.Args[1]
	l, ok := listForWrite(ctx, key)
	if !ok {
		return
	}
	if l == nil {
		ctx.Error(ErrNoSuchKey)
		return
	}
	idx, ok := ctx.Int(2)
	if !ok {
		return
	}
	i, in := store.NormalizeIndex(idx, l.Len())
	if !in {
		ctx.Error(ErrOutOfRange)
		return
	}
	l.Set(i, ctx.Args[3])
	ctx.W.OK()
	ctx.Notify(NotifyList, "lset", key)
	ctx.Touched(key)
}

func ltrimCommand(ctx *Ctx) {
	start, ok := ctx.Int(2)
	if !ok {
		return
	}
	stop, ok := ctx.Int(3)
	if !ok {
		return
	}
	key := ctx.Args[1]
	l, ok := listForWrite(ctx, key)
	if !ok {
		return
	}
	if l == nil {
		ctx.W.OK()
		return
	}
	from, to, empty := store.NormalizeRange(start, stop, l.Len())
	if empty {
		l.Trim(1, 0)
	} else {
		l.Trim(from, to)
	}
	ctx.Notify(NotifyList, "ltrim", key)
	deleteIfEmpty(ctx, key, l.Len())
	ctx.Touched(key)
	ctx.W.OK()
}

func lremCommand(ctx *Ctx) {
	count, ok := ctx.Int(2)
	if !ok {
		return
	}
	key := ctx.Args[1]
	l, ok := listForWrite(ctx, key)
	if !ok {
		return
	}
	if l == nil {
		ctx.W.Int(0)
		return
	}
	removed := l.Remove(ctx.Args[3], count)
	if removed > 0 {
		ctx.Notify(NotifyList, "lrem", key)
		deleteIfEmpty(ctx, key, l.Len())
		ctx.Touched(key)
	}
	ctx.W.Int(removed)
}

// ---------------------------------------------------------------- MOVE

// lmoveOnce pops from src and pushes to dst, replying with the element. It
// returns false (with the reply written) when src is missing or a key has
// the wrong type. Both LMOVE and served BLMOVE clients use it.
func lmoveOnce(ctx *Ctx, src, dst []byte, from, to listEnd) bool {
	sl, ok := listForWrite(ctx, src)
	if !ok {
		return false
	}
	if sl == nil {
		ctx.W.Null()
		return false
	}
	dv, ok := ctx.LookupWriteKind(dst, store.KindList)
	if !ok {
		return false
	}
	elem, _ := pop(sl, from)
	var dl *store.List
	// With src == dst the lookup above found sl itself, still stored even
	// if the pop emptied it, so rotation needs no special case.
	if dv != nil {
		dl = dv.(*store.List)
	} else {
		dl = createList(ctx, dst)
	}
	push(dl, to, elem)
	ctx.S.signalModifiedKey(ctx.DBNum, dst)
	signalListReady(ctx, dst)
	if to == listHead {
		ctx.Notify(NotifyList, "lpush", dst)
	} else {
		ctx.Notify(NotifyList, "rpush", dst)
	}
	if from == listHead {
		ctx.Notify(NotifyList, "lpop", src)
	} else {
		ctx.Notify(NotifyList, "rpop", src)
	}
	deleteIfEmpty(ctx, src, sl.Len())
	ctx.S.signalModifiedKey(ctx.DBNum, src)
	ctx.Modified(1)
	ctx.W.Bulk(elem)
	return true
}

func lmoveCommand(ctx *Ctx) {
	from, ok1 := parseListEnd(ctx.Args[3])
	to, ok2 := parseListEnd(ctx.Args[4])
	if !ok1 || !ok2 {
		ctx.Error(ErrSyntax)
		return
	}
	lmoveOnce(ctx, ctx.Args[1], ctx.Args[2], from, to)
}

func rpoplpushCommand(ctx *Ctx) {
	lmoveOnce(ctx, ctx.Args[1], ctx.Args[2], listTail, listHead)
}

// ---------------------------------------------------------------- LMPOP

// mpopArgs are the parsed arguments of LMPOP/BLMPOP/ZMPOP/BZMPOP.
type mpopArgs struct {
	keys  [][]byte
	where []byte // LEFT/RIGHT or MIN/MAX as given
	count int64
}

// parseMpop parses "numkeys key... where [COUNT n]" starting at numkeys
// position i, with Redis's messages. isWhere validates the direction word.
func parseMpop(ctx *Ctx, i int, isWhere func([]byte) bool) (mpopArgs, bool) {
	var a mpopArgs
	n, ok := resp.ParseInt(ctx.Args[i])
	if !ok || n <= 0 {
		ctx.Error("ERR numkeys should be greater than 0")
		return a, false
	}
	if n > int64(len(ctx.Args)-i-2) {
		ctx.Error(ErrSyntax)
		return a, false
	}
	a.keys = ctx.Args[i+1 : i+1+int(n)]
	j := i + 1 + int(n)
	if !isWhere(ctx.Args[j]) {
		ctx.Error(ErrSyntax)
		return a, false
	}
	a.where = ctx.Args[j]
	a.count = 1
	seenCount := false
	for j++; j < len(ctx.Args); j += 2 {
		if !seenCount && ctx.ArgIs(j, "count") && j+1 < len(ctx.Args) {
			c, ok := resp.ParseInt(ctx.Args[j+1])
			if !ok || c <= 0 {
				ctx.Error("ERR count should be greater than 0")
				return a, false
			}
			a.count = c
			seenCount = true
			continue
		}
		ctx.Error(ErrSyntax)
		return a, false
	}
	return a, true
}

func isListEnd(b []byte) bool { _, ok := parseListEnd(b); return ok }

// popRangeWithKey pops up to count elements from key's list and replies
// [key, [elements]], propagating "LPOP/RPOP key count".
func popRangeWithKey(ctx *Ctx, key []byte, l *store.List, end listEnd, count int64) {
	n := int(min(count, int64(l.Len())))
	ctx.W.ArrayLen(2)
	ctx.W.Bulk(key)
	ctx.W.ArrayLen(n)
	for i := 0; i < n; i++ {
		popReply(ctx, l, end)
	}
	listPopped(ctx, key, l, end)
	ctx.Rewrite([]byte(end.popCmd()), key, []byte(itoa(int64(n))))
}

func lmpopCommand(ctx *Ctx) {
	a, ok := parseMpop(ctx, 1, isListEnd)
	if !ok {
		return
	}
	end, _ := parseListEnd(a.where)
	for _, k := range a.keys {
		l, ok := listForWrite(ctx, k)
		if !ok {
			return
		}
		if l != nil {
			popRangeWithKey(ctx, k, l, end, a.count)
			return
		}
	}
	ctx.W.NullArray()
}
