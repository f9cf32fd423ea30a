package server

import (
	"syscall"
	"time"

	"github.com/replnode/replnode/replnode/store"
)

// This file connects the blocking-command registry (blocking_queue.go) to
// the executor: it parks clients, serves them after the command or
// transaction that gave their keys data, times them out from the cron, and
// forgets them when they disconnect.
//
// A served client's command runs on a fresh context bound to that client,
// writes its reply to the client's Writer, and propagates the non-blocking
// form (BLPOP → LPOP, BLMOVE → LMOVE, BZPOPMIN → ZPOPMIN...), or for
// XREADGROUP the XCLAIM / XGROUP commands of its group read, as Redis does.
// An XREADGROUP waiter whose stream is deleted or replaced ends with
// -UNBLOCKED (blockedWaiter.gone). A blocked command's call is counted when
// it blocks; its failure, when it ends with an error.

// blockingState is one server's blocked clients.
type blockingState struct {
	s *Server
	q *blockQueues
	// present remembers which kind of servable value each waited key
	// held at the last sweep (see serveReady).
	present map[blockedKeyRef]blockKind
	// goneKeys are the keys with a waiter that ends when the key stops
	// holding a stream (XREADGROUP): checked after every command whatever
	// the number of waited keys, as Redis signals every deleted or
	// overwritten stream (signalDeletedKeyAsReady).
	goneKeys map[blockedKeyRef]struct{}
}

func init() { onNewServer(initBlocking) }

// initBlocking installs the hooks for a new server.
func initBlocking(s *Server) {
	b := &blockingState{s: s, q: newBlockQueues(), present: make(map[blockedKeyRef]blockKind), goneKeys: make(map[blockedKeyRef]struct{})}
	s.blocking = b
	s.OnAfterCommand(b.serveReady)
	s.OnCron(b.expire)
	s.OnClientClose(func(c *Client) { b.q.remove(c) })
	s.OnSwapDB(b.swapped)
}

// blockingOf returns the server's blocking state.
func blockingOf(s *Server) *blockingState { return s.blocking }

// SignalKeyAsReady tells clients blocked on key (a list or sorted set that
// was just created or grew) that it may serve them after the current
// command, as Redis's signalKeyAsReady. Code that creates keys by other
// paths (RENAME, MOVE, RESTORE, SWAPDB, COPY, SORT STORE) calls it.
func (s *Server) SignalKeyAsReady(db int, key []byte) {
	q := blockingOf(s).q
	if q.keyCount() == 0 {
		// Nobody waits: return before the key becomes a string (an
		// allocation on every LPUSH and ZADD otherwise).
		return
	}
	q.signal(db, string(key))
}

// BlockedClients is the number of clients blocked on keys (INFO
// blocked_clients).
func (s *Server) BlockedClients() int { return blockingOf(s).q.count() }

// BlockingKeys is the number of keys clients are blocked on.
func (s *Server) BlockingKeys() int { return blockingOf(s).q.keyCount() }

// UnblockKeyWaiter ends the wait of a client blocked on keys, as CLIENT
// UNBLOCK does: with withError it replies -UNBLOCKED, otherwise as if the
// timeout had expired. It reports whether c was blocked on keys.
func (s *Server) UnblockKeyWaiter(c *Client, withError bool) bool {
	b := blockingOf(s)
	w, ok := b.q.byOwner[c]
	if !ok {
		return false
	}
	b.q.remove(c)
	// Redis 7.0's CLIENT UNBLOCK calls updateStatsOnUnblock with
	// had_errors set in both modes: the unblocked command counts as failed.
	s.cmdStats(w.call.cmd).failed++
	if withError {
		s.countError("UNBLOCKED")
		c.w.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
		c.BlockState = nil
		c.Unblock()
		return true
	}
	w.timeout()
	return true
}

// signalIfBlockable signals key when v is a type clients block on (a list
// or sorted set): Redis's dbAdd does this for every key it creates, so
// RENAME, MOVE, COPY, RESTORE and the *STORE commands serve waiters.
func (s *Server) signalIfBlockable(db int, key []byte, v store.Value) {
	switch v.Kind() {
	case store.KindList, store.KindZSet, store.KindStream:
		s.SignalKeyAsReady(db, key)
	}
}

// swapped is the SWAPDB hook: every waited key of the two databases may now
// hold data, as Redis's scanDatabaseForReadyKeys after swapping.
func (b *blockingState) swapped(x, y int) {
	for ref := range b.q.byKey {
		if (ref.db == x || ref.db == y) && b.kindOf(ref.db, ref.key) != 0 {
			b.q.signal(ref.db, ref.key)
		}
	}
}

// signalListReady signals a list key that received elements.
func signalListReady(ctx *Ctx, key []byte) { ctx.S.SignalKeyAsReady(ctx.DBNum, key) }

// kindOf reports which waiters the live value under key can serve.
func (b *blockingState) kindOf(db int, key string) blockKind {
	d := b.s.Keyspace.DBs[db]
	if d.IsExpired(key, b.s.clock()) {
		return 0
	}
	v, ok := d.Peek(key)
	if !ok {
		return 0
	}
	switch v.Kind() {
	case store.KindList:
		return blockOnList
	case store.KindZSet:
		return blockOnZSet
	case store.KindStream:
		return blockOnStream
	}
	return 0
}

// sweepLimit bounds the safety-net sweep of serveReady (see there).
const sweepLimit = 128

// serveReady is the after-command hook.
//
// Besides the keys signalled by the commands of this area, it sweeps the
// waited-on keys when there are few of them: a list or sorted set can also
// appear under a waited key by RENAME, MOVE, COPY, RESTORE or SWAPDB, which
// live in the core and may not signal. The sweep signals only keys that went from absent to present since
// the previous sweep, which is what such a command does; a key that stays
// present (no waiter left could take it) waits for a real signal, as in
// Redis. It is skipped
// for many keys to keep commands O(1).
func (b *blockingState) serveReady() {
	if b.q.keyCount() == 0 && len(b.present) == 0 && len(b.goneKeys) == 0 && !b.q.hasReady() {
		// Nobody waits: what every command pays when no client is
		// blocked (ranging over an empty map still costs an iterator).
		return
	}
	if n := b.q.keyCount(); n > 0 && n <= sweepLimit {
		for ref := range b.q.byKey {
			kind := b.kindOf(ref.db, ref.key)
			// A key that appeared, or a stream that went away (its
			// XREADGROUP waiters end, as after Redis's
			// signalDeletedKeyAsReady).
			if prev := b.present[ref]; kind != prev && (prev == 0 || prev == blockOnStream) {
				b.q.signal(ref.db, ref.key)
			}
			b.present[ref] = kind
		}
		for ref := range b.present {
			if _, waited := b.q.byKey[ref]; !waited {
				delete(b.present, ref)
			}
		}
	} else if len(b.present) > 0 {
		clear(b.present)
	}
	for ref := range b.goneKeys {
		if _, waited := b.q.byKey[ref]; !waited {
			delete(b.goneKeys, ref)
		} else if b.kindOf(ref.db, ref.key) != blockOnStream {
			b.q.signal(ref.db, ref.key)
		}
	}
	if !b.q.hasReady() {
		return
	}
	b.q.serveReady(b.kindOf)
}

// expire is the cron hook: waits past their deadline get their timeout
// reply.
func (b *blockingState) expire(nowMs int64) {
	if b.q.count() == 0 {
		return
	}
	for _, w := range b.q.expired(nowMs) {
		w.timeout()
	}
}

// canBlock reports whether the command may park its client: not inside
// EXEC (which runs queued commands on their own contexts) and not for the
// master link, where Redis answers as if the timeout expired at once.
func canBlock(ctx *Ctx) bool {
	if ctx != &ctx.C.ctx {
		return false
	}
	return ctx.C.flags&ClientMaster == 0
}

// parseBlockTimeout parses the timeout argument at i (float seconds) into
// an absolute deadline in ms, 0 for forever, replying Redis's errors.
func parseBlockTimeout(ctx *Ctx, i int) (int64, bool) {
	sec, ok := ParseFloat(ctx.Args[i])
	if !ok {
		ctx.Error("ERR timeout is not a float or out of range")
		return 0, false
	}
	deadline, msg := blockTimeoutMs(sec, ctx.NowMs)
	if msg != "" {
		ctx.Error("ERR " + msg)
		return 0, false
	}
	return deadline, true
}

// blockedCall is what a served or timed-out client needs to run its command
// later: a private copy of its arguments.
type blockedCall struct {
	cmd  *Command
	args [][]byte
}

// block parks the client of ctx on keys until deadline. serve runs the
// command on a ready key with a fresh context and reports whether it could;
// nullReply writes the timeout reply.
func block(ctx *Ctx, keys [][]byte, deadline int64, kind blockKind,
	serve func(sctx *Ctx, key []byte) bool, nullReply func(w *Ctx)) *blockedWaiter {
	s, c := ctx.S, ctx.C
	call := blockedCall{cmd: ctx.Cmd, args: cloneArgs(ctx.Args)}
	w := &blockedWaiter{owner: c, db: ctx.DBNum, deadlineMs: deadline, kind: kind, call: call}
	for _, k := range keys {
		w.keys = append(w.keys, string(k))
	}
	w.serve = func(key string) bool {
		// The parked reader does not watch the socket: make sure the
		// client is still there before giving it an element it would
		// lose. Redis notices the disconnect and never serves it.
		if connGone(c) {
			blockingOf(s).q.remove(c)
			c.BlockState = nil
			c.Kill()
			return false
		}
		sctx := servingCtx(s, c, call)
		if !serve(sctx, []byte(key)) {
			return false
		}
		finishServed(sctx)
		return true
	}
	w.timeout = func() {
		sctx := servingCtx(s, c, call)
		nullReply(sctx)
		c.BlockState = nil
		c.Unblock()
	}
	b := blockingOf(s)
	b.q.add(w)
	// What the keys hold now is the baseline of the safety-net sweep:
	// only a later change may serve the waiter.
	for _, k := range w.keys {
		ref := blockedKeyRef{w.db, k}
		if _, seen := b.present[ref]; !seen {
			b.present[ref] = b.kindOf(w.db, k)
		}
	}
	c.BlockState = w
	c.Block()
	b.armTimer(deadline)
	return w
}

// watchGone sets w's gone hook (see blockedWaiter.gone) and has its keys
// checked after every command.
func (b *blockingState) watchGone(w *blockedWaiter, gone func()) {
	w.gone = gone
	for _, k := range w.keys {
		b.goneKeys[blockedKeyRef{w.db, k}] = struct{}{}
	}
}

// goneHandler builds a waiter's gone hook (see blockedWaiter.gone): it
// replies on a serving context and resumes the client.
func goneHandler(ctx *Ctx, reply func(sctx *Ctx)) func() {
	s, c := ctx.S, ctx.C
	call := blockedCall{cmd: ctx.Cmd, args: cloneArgs(ctx.Args)}
	return func() {
		sctx := servingCtx(s, c, call)
		reply(sctx)
		finishServed(sctx)
	}
}

// armTimer wakes the executor at deadline to time out waiters, so a wait
// ends on time rather than at the next cron tick (Redis likewise sizes its
// event-loop sleep by the nearest deadline). The cron hook stays as a
// backstop; a timer firing after its waiter was served finds nothing due.
func (b *blockingState) armTimer(deadline int64) {
	if deadline == 0 {
		return
	}
	wait := time.Duration(deadline-b.s.clock()) * time.Millisecond
	if wait < 0 {
		wait = 0
	}
	s := b.s
	time.AfterFunc(wait, func() {
		s.Exec(func() { b.expire(s.clock()) })
	})
}

// servingCtx binds a fresh context to a blocked client for running its
// command later.
func servingCtx(s *Server, c *Client, call blockedCall) *Ctx {
	ctx := &Ctx{}
	ctx.init(s, c)
	ctx.reset(call.cmd, call.args, s.clock())
	return ctx
}

// finishServed propagates what a served command changed (its rewritten,
// non-blocking form) and resumes the client.
func finishServed(sctx *Ctx) {
	s := sctx.S
	if sctx.changes > 0 && !sctx.noPropagate && sctx.rewritten != nil {
		s.propagate(sctx.DBNum, sctx.rewritten)
	}
	// The call was counted when the command blocked (Redis's call()
	// counts calls whatever the outcome); the failure is counted now, as
	// updateStatsOnUnblock does.
	if sctx.errors > 0 {
		s.cmdStats(sctx.Cmd).failed++
	}
	sctx.C.BlockState = nil
	sctx.C.Unblock()
}

// connGone reports whether the peer of c's connection has closed it,
// without consuming pipelined input: it peeks at the socket (MSG_PEEK,
// non-blocking) and sees end-of-file. Clients without a socket are never
// gone.
func connGone(c *Client) bool {
	if c.conn == nil {
		return false
	}
	sc, ok := netConn(c.conn).(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	var buf [1]byte
	// Control, not Read: the blocked client's reader is parked in a Read
	// on this socket (waitUnblocked), holding its read lock.
	err = raw.Control(func(fd uintptr) {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case rerr == syscall.EAGAIN || rerr == syscall.EINTR:
		case rerr != nil:
			gone = true
		case n == 0:
			gone = true
		}
	})
	return gone || err != nil
}
