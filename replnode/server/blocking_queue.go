package server

import "math"

// This file holds the bookkeeping of blocking commands (BLPOP, BRPOP, BLMOVE,
// BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, XREAD, XREADGROUP) with no I/O and no clock:
// which clients wait on which keys, in what order, until when, and which
// keys became ready since the last time they were served. The executor
// drives it (see blocking.go): it registers waiters, signals keys that
// received data, asks for the ready keys after each command or transaction,
// and expires waiters with the time it passes in.
//
// Redis's order is kept: waiters on one key are served first come, first
// served; keys are served in the order they became ready; a waiter is
// removed from every key it waited on as soon as it is served.

// blockedKeyRef names a key in one database.
type blockedKeyRef struct {
	db  int
	key string
}

// blockedWaiter is one blocked command.
type blockedWaiter struct {
	// owner is the server's handle for the blocked client.
	owner any
	db    int
	keys  []string
	// deadlineMs is the absolute unix ms at which the wait times out;
	// 0 means forever.
	deadlineMs int64
	// kind tells which value type can serve the waiter: a list waiter is
	// not served by a sorted set and stays blocked, as in Redis 7.0.
	kind blockKind
	// serve performs the command on the ready key (pop, reply,
	// propagation) and reports whether it could; a waiter that could not
	// stays blocked. Set by the handler that blocked.
	serve func(key string) bool
	// timeout writes the reply for a wait that ran out and resumes the
	// client. Set by the handler that blocked.
	timeout func()
	// gone, when set, ends the wait with an error once the key no longer
	// holds the kind of value the waiter needs (XREADGROUP on a deleted
	// stream).
	gone func()
	// seq orders waiters by the time they blocked.
	seq uint64
	// call is the blocked command (for its statistics).
	call blockedCall
}

// blockKind is the value type a waiter needs.
type blockKind uint8

const (
	blockOnList blockKind = iota + 1
	blockOnZSet
	blockOnStream
)

// blockQueues is the registry of waiters.
type blockQueues struct {
	byKey   map[blockedKeyRef][]*blockedWaiter
	byOwner map[any]*blockedWaiter
	ready   []blockedKeyRef
	isReady map[blockedKeyRef]bool
	seq     uint64
}

// newBlockQueues returns an empty registry.
func newBlockQueues() *blockQueues {
	return &blockQueues{
		byKey:   make(map[blockedKeyRef][]*blockedWaiter),
		byOwner: make(map[any]*blockedWaiter),
		isReady: make(map[blockedKeyRef]bool),
	}
}

// add registers w at the tail of the queue of each of its keys. An owner
// blocks on at most one command at a time; a second add for it replaces
// the first.
func (q *blockQueues) add(w *blockedWaiter) {
	if old, ok := q.byOwner[w.owner]; ok {
		q.remove(old.owner)
	}
	q.seq++
	w.seq = q.seq
	q.byOwner[w.owner] = w
	seen := make(map[string]bool, len(w.keys))
	for _, k := range w.keys {
		if seen[k] { // BLPOP k k 0 waits once on k
			continue
		}
		seen[k] = true
		ref := blockedKeyRef{w.db, k}
		q.byKey[ref] = append(q.byKey[ref], w)
	}
}

// remove unregisters the waiter of owner (served, timed out, disconnected or
// CLIENT UNBLOCKed) and reports whether there was one.
func (q *blockQueues) remove(owner any) bool {
	w, ok := q.byOwner[owner]
	if !ok {
		return false
	}
	delete(q.byOwner, owner)
	for _, k := range w.keys {
		ref := blockedKeyRef{w.db, k}
		list := q.byKey[ref]
		for i, x := range list {
			if x == w {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(q.byKey, ref)
		} else {
			q.byKey[ref] = list
		}
	}
	return true
}

// waiting reports whether owner is blocked.
func (q *blockQueues) waiting(owner any) bool {
	_, ok := q.byOwner[owner]
	return ok
}

// count is the number of blocked clients (INFO's blocked_clients).
func (q *blockQueues) count() int { return len(q.byOwner) }

// keyCount is the number of keys someone waits on.
func (q *blockQueues) keyCount() int { return len(q.byKey) }

// signal marks key as having received data. Only keys somebody waits on are
// remembered, and each at most once until served, as Redis's
// signalKeyAsReady does.
func (q *blockQueues) signal(db int, key string) {
	ref := blockedKeyRef{db, key}
	if _, waited := q.byKey[ref]; !waited || q.isReady[ref] {
		return
	}
	q.isReady[ref] = true
	q.ready = append(q.ready, ref)
}

// hasReady reports whether serveReady has work.
func (q *blockQueues) hasReady() bool { return len(q.ready) > 0 }

// serveReady serves waiters on the keys that became ready, in signal order,
// each key's waiters first come first served, until the key is gone
// (emptied lists and sorted sets are deleted). kindOf reports the type of
// the value now under a key (0 if none); waiters needing another type are
// skipped and stay blocked. Serving may signal more keys (BLMOVE pushes to its
// destination); they are served in the same call, as Redis loops until no
// key is ready.
func (q *blockQueues) serveReady(kindOf func(db int, key string) blockKind) {
	for len(q.ready) > 0 {
		batch := q.ready
		q.ready = nil
		for _, ref := range batch {
			delete(q.isReady, ref)
		}
		for _, ref := range batch {
			q.serveKey(ref, kindOf)
		}
	}
}

// serveKey serves the waiters of one ready key.
func (q *blockQueues) serveKey(ref blockedKeyRef, kindOf func(db int, key string) blockKind) {
	// Walk a copy of the queue: serving removes waiters from it.
	waiters := append([]*blockedWaiter(nil), q.byKey[ref]...)
	for _, w := range waiters {
		if q.byOwner[w.owner] != w {
			continue
		}
		kind := kindOf(ref.db, ref.key)
		if w.gone != nil && kind != w.kind {
			q.remove(w.owner)
			w.gone()
			continue
		}
		if kind == 0 || w.kind != kind {
			continue
		}
		// A waiter that could not be served (its connection is gone)
		// is skipped and the next one is tried; one that got an error
		// instead of the value (BLMOVE to a destination of another
		// type) counts as served.
		if !w.serve(ref.key) {
			continue
		}
		q.remove(w.owner)
	}
}

// expired removes and returns the waiters whose deadline is at or before
// nowMs, oldest first.
func (q *blockQueues) expired(nowMs int64) []*blockedWaiter {
	var out []*blockedWaiter
	for _, w := range q.byOwner {
		if w.deadlineMs != 0 && w.deadlineMs <= nowMs {
			out = append(out, w)
		}
	}
	sortWaiters(out)
	for _, w := range out {
		q.remove(w.owner)
	}
	return out
}

// nextDeadline returns the earliest deadline of any waiter, or 0 if every
// waiter waits forever, so the executor knows when to wake up.
func (q *blockQueues) nextDeadline() int64 {
	var next int64
	for _, w := range q.byOwner {
		if w.deadlineMs != 0 && (next == 0 || w.deadlineMs < next) {
			next = w.deadlineMs
		}
	}
	return next
}

// sortWaiters orders waiters by blocking time (insertion sort: the slices
// are short).
func sortWaiters(ws []*blockedWaiter) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && ws[j].seq < ws[j-1].seq; j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// blockTimeoutMs turns a parsed timeout in seconds into an absolute
// deadline, as Redis 7.0's getTimeoutFromObjectOrReply does: milliseconds
// rounded up (so -0.0001 is 0, forever), 0 meaning forever. Infinite or
// overflowing values become LLONG_MIN in Redis's cast and so are "negative";
// a huge positive deadline saturates. It returns Redis's error text on
// failure.
func blockTimeoutMs(seconds float64, nowMs int64) (int64, string) {
	if math.IsNaN(seconds) {
		return 0, "timeout is not a float or out of range"
	}
	ms := math.Ceil(seconds * 1000)
	if ms >= math.MaxInt64 || ms < math.MinInt64 {
		return 0, "timeout is negative"
	}
	t := int64(ms)
	if t < 0 {
		return 0, "timeout is negative"
	}
	if t == 0 {
		return 0, ""
	}
	if t > math.MaxInt64-nowMs {
		return math.MaxInt64, ""
	}
	return t + nowMs, ""
}
