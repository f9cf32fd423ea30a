package server

import (
	"strings"

	"github.com/replnode/replnode/replnode/store"
)

// The blocking list commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP. Each
// first behaves like its non-blocking form when a key has data (and is
// propagated as that form), and otherwise parks the client (blocking.go).

// nullArrayReply is the timeout (and CLIENT UNBLOCK) reply of every
// blocking list command, BLMOVE and BRPOPLPUSH included: Redis 7.0's
// replyToBlockedClientTimedOut answers *-1 for them all, while the same
// commands answer a null bulk when they cannot block (inside MULTI).
func nullArrayReply(ctx *Ctx) { ctx.W.NullArray() }

// ---------------------------------------------------------------- BLPOP BRPOP

// popOneWithKey pops one element of key's list and replies [key, element],
// propagating LPOP/RPOP key.
func popOneWithKey(ctx *Ctx, key []byte, l *store.List, end listEnd) {
	ctx.W.ArrayLen(2)
	ctx.W.Bulk(key)
	popReply(ctx, l, end)
	listPopped(ctx, key, l, end)
	ctx.Rewrite([]byte(end.popCmd()), key)
}

// blockingPopGeneric implements BLPOP and BRPOP.
func blockingPopGeneric(ctx *Ctx, end listEnd) {
	deadline, ok := parseBlockTimeout(ctx, len(ctx.Args)-1)
	if !ok {
		return
	}
	keys := ctx.Args[1 : len(ctx.Args)-1]
	for _, k := range keys {
		l, ok := listForWrite(ctx, k)
		if !ok {
			return
		}
		if l != nil {
			popOneWithKey(ctx, k, l, end)
			return
		}
	}
	if !canBlock(ctx) {
		ctx.W.NullArray()
		return
	}
	block(ctx, keys, deadline, blockOnList, func(sctx *Ctx, key []byte) bool {
		l, ok := listForWrite(sctx, key)
		if !ok || l == nil {
			return false
		}
		popOneWithKey(sctx, key, l, end)
		return true
	}, nullArrayReply)
}

func blpopCommand(ctx *Ctx) { blockingPopGeneric(ctx, listHead) }
func brpopCommand(ctx *Ctx) { blockingPopGeneric(ctx, listTail) }

// ---------------------------------------------------------------- BLMOVE BRPOPLPUSH

// blmoveGeneric implements BLMOVE and BRPOPLPUSH (legacy names the
// propagated form RPOPLPUSH).
func blmoveGeneric(ctx *Ctx, from, to listEnd, timeoutArg int, legacy bool) {
	deadline, ok := parseBlockTimeout(ctx, timeoutArg)
	if !ok {
		return
	}
	src, dst := ctx.Args[1], ctx.Args[2]
	// Served at once, BLMOVE propagates as LMOVE with the directions as
	// the client wrote them; served after blocking, with Redis's shared
	// lowercase "left"/"right" (serveClientBlockedOnList).
	rewrite := func(c *Ctx, fromArg, toArg []byte) {
		if legacy {
			c.Rewrite([]byte("RPOPLPUSH"), src, dst)
		} else {
			c.Rewrite([]byte("LMOVE"), src, dst, fromArg, toArg)
		}
	}
	l, ok := listForWrite(ctx, src)
	if !ok {
		return
	}
	if l != nil {
		if lmoveOnce(ctx, src, dst, from, to) {
			if legacy {
				rewrite(ctx, nil, nil)
			} else {
				rewrite(ctx, ctx.Args[3], ctx.Args[4])
			}
		}
		return
	}
	if !canBlock(ctx) {
		ctx.W.Null()
		return
	}
	src, dst = append([]byte(nil), src...), append([]byte(nil), dst...)
	block(ctx, [][]byte{src}, deadline, blockOnList, func(sctx *Ctx, key []byte) bool {
		// A destination of another type ends the wait with -WRONGTYPE
		// and leaves the element in src for the next waiter, as Redis
		// 7.0's serveClientBlockedOnList.
		if v := sctx.Lookup(dst); v != nil && v.Kind() != store.KindList {
			sctx.Error(ErrWrongType)
			return true
		}
		if !lmoveOnce(sctx, src, dst, from, to) {
			return false
		}
		rewrite(sctx, []byte(strings.ToLower(from.name())), []byte(strings.ToLower(to.name())))
		return true
	}, nullArrayReply)
}

func blmoveCommand(ctx *Ctx) {
	from, ok1 := parseListEnd(ctx.Args[3])
	to, ok2 := parseListEnd(ctx.Args[4])
	if !ok1 || !ok2 {
		ctx.Error(ErrSyntax)
		return
	}
	blmoveGeneric(ctx, from, to, 5, false)
}

func brpoplpushCommand(ctx *Ctx) { blmoveGeneric(ctx, listTail, listHead, 3, true) }

// ---------------------------------------------------------------- BLMPOP

func blmpopCommand(ctx *Ctx) {
	a, ok := parseMpop(ctx, 2, isListEnd)
	if !ok {
		return
	}
	deadline, ok := parseBlockTimeout(ctx, 1)
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
	if !canBlock(ctx) {
		ctx.W.NullArray()
		return
	}
	count := a.count
	block(ctx, a.keys, deadline, blockOnList, func(sctx *Ctx, key []byte) bool {
		l, ok := listForWrite(sctx, key)
		if !ok || l == nil {
			return false
		}
		popRangeWithKey(sctx, key, l, end, count)
		return true
	}, nullArrayReply)
}
