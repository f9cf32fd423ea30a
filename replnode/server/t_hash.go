package server

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// Hash commands, after Redis's t_hash.c. The shared SCAN option parsing for
// HSCAN, SSCAN and ZSCAN lives here too.

func init() {
	register(
		&Command{Name: "hset", Arity: -4, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hsetCommand},
		&Command{Name: "hsetnx", Arity: 4, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hsetnxCommand},
		&Command{Name: "hmset", Arity: -4, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hsetCommand},
		&Command{Name: "hget", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hgetCommand},
		&Command{Name: "hmget", Arity: -3, Flags: FlagReadOnly | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hmgetCommand},
		&Command{Name: "hdel", Arity: -3, Flags: FlagWrite | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hdelCommand},
		&Command{Name: "hlen", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hlenCommand},
		&Command{Name: "hstrlen", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hstrlenCommand},
		&Command{Name: "hexists", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hexistsCommand},
		&Command{Name: "hkeys", Arity: 2, Flags: FlagReadOnly, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hkeysCommand},
		&Command{Name: "hvals", Arity: 2, Flags: FlagReadOnly, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hvalsCommand},
		&Command{Name: "hgetall", Arity: 2, Flags: FlagReadOnly, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hgetallCommand},
		&Command{Name: "hincrby", Arity: 4, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hincrbyCommand},
		&Command{Name: "hincrbyfloat", Arity: 4, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hincrbyfloatCommand},
		&Command{Name: "hrandfield", Arity: -2, Flags: FlagReadOnly, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hrandfieldCommand},
		&Command{Name: "hscan", Arity: -3, Flags: FlagReadOnly, Group: "hash", FirstKey: 1, LastKey: 1, Step: 1, Handler: hscanCommand},
	)
}

// typeRand is the randomness behind HRANDFIELD, SRANDMEMBER, SPOP and
// ZRANDMEMBER. Several servers may live in one process (tests, in-process
// replicas), each with its own executor, so the source is locked.
var typeRand = rand.New(&lockedSource{src: rand.NewPCG(rand.Uint64(), rand.Uint64())})

// lockedSource makes a rand.Source safe for concurrent use.
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

// Uint64 returns the next value of the wrapped source.
func (l *lockedSource) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src.Uint64()
}

// ---------------------------------------------------------------- HASH ACCESS

// hashForRead returns the hash under key (nil if missing); ok is false after
// a WRONGTYPE reply.
func hashForRead(ctx *Ctx, key []byte) (*store.Hash, bool) {
	return lookupAs[*store.Hash](ctx, key, store.KindHash)
}

// hashForWrite returns the hash under key ready for modification, creating
// it if create is set; ok is false after a WRONGTYPE reply.
func hashForWrite(ctx *Ctx, key []byte, create bool) (h *store.Hash, ok bool) {
	v, ok := ctx.LookupWriteKind(key, store.KindHash)
	if !ok {
		return nil, false
	}
	if v != nil {
		return v.(*store.Hash), true
	}
	if !create {
		return nil, true
	}
	h = ctx.S.limits.NewHash()
	ctx.DB.Set(string(key), h, false)
	ctx.S.notifyNewKey(key, ctx.DBNum)
	return h, true
}

// deleteIfEmpty removes key when its aggregate became empty, as every Redis
// command that removes elements does, and fires the "del" notification.
func deleteIfEmpty(ctx *Ctx, key []byte, n int) bool {
	if n > 0 {
		return false
	}
	ctx.DB.Delete(string(key))
	ctx.Notify(NotifyGeneric, "del", key)
	return true
}

// ---------------------------------------------------------------- HSET FAMILY

// hsetCommand implements HSET and HMSET: HSET replies with the number of
// new fields, HMSET with OK.
func hsetCommand(ctx *Ctx) {
	if len(ctx.Args)%2 != 0 {
		ctx.ArityError()
		return
	}
	key := ctx.Args[1]
	h, ok := hashForWrite(ctx, key, true)
	if !ok {
		return
	}
	h.ConvertIfNeeded(ctx.Args[2:])
	created := 0
	for i := 2; i < len(ctx.Args); i += 2 {
		if h.Set(ctx.Args[i], ctx.Args[i+1]) {
			created++
		}
	}
	if equalFold(ctx.Args[0], "hmset") {
		ctx.W.OK()
	} else {
		ctx.W.Int(int64(created))
	}
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Notify(NotifyHash, "hset", key)
	ctx.Modified(int64(len(ctx.Args)-2) / 2)
}

// hsetnxCommand sets a field only if it does not exist.
func hsetnxCommand(ctx *Ctx) {
	key := ctx.Args[1]
	h, ok := hashForWrite(ctx, key, false)
	if !ok {
		return
	}
	if h != nil {
		if _, exists := h.Get(ctx.Args[2]); exists {
			ctx.W.Int(0)
			return
		}
	} else {
		h, _ = hashForWrite(ctx, key, true)
	}
	h.ConvertIfNeeded(ctx.Args[2:4])
	h.Set(ctx.Args[2], ctx.Args[3])
	ctx.W.Int(1)
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Notify(NotifyHash, "hset", key)
	ctx.Modified(1)
}

// ---------------------------------------------------------------- READS

func hgetCommand(ctx *Ctx) {
	h, ok := hashForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if h == nil {
		ctx.W.Null()
		return
	}
	if v, found := h.Get(ctx.Args[2]); found {
		ctx.W.Bulk(v)
		return
	}
	ctx.W.Null()
}

func hmgetCommand(ctx *Ctx) {
	h, ok := hashForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	ctx.W.ArrayLen(len(ctx.Args) - 2)
	for _, f := range ctx.Args[2:] {
		if h != nil {
			if v, found := h.Get(f); found {
				ctx.W.Bulk(v)
				continue
			}
		}
		ctx.W.Null()
	}
}

func hlenCommand(ctx *Ctx) {
	replyLength(ctx, store.KindHash, func(h *store.Hash) int64 { return int64(h.Len()) })
}

func hstrlenCommand(ctx *Ctx) {
	h, ok := hashForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	var n int
	if h != nil {
		v, _ := h.Get(ctx.Args[2])
		n = len(v)
	}
	ctx.W.Int(int64(n))
}

func hexistsCommand(ctx *Ctx) {
	h, ok := hashForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	found := false
	if h != nil {
		_, found = h.Get(ctx.Args[2])
	}
	if found {
		ctx.W.Int(1)
	} else {
		ctx.W.Int(0)
	}
}

// hgetallGeneric replies with keys, values or both, in the hash's order.
func hgetallGeneric(ctx *Ctx, fields, values bool) {
	h, ok := hashForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	n := 0
	if h != nil {
		n = h.Len()
	}
	switch {
	case fields && values:
		ctx.W.MapLen(n)
	default:
		ctx.W.ArrayLen(n)
	}
	if h == nil {
		return
	}
	h.Range(func(f, v []byte) bool {
		if fields {
			ctx.W.Bulk(f)
		}
		if values {
			ctx.W.Bulk(v)
		}
		return true
	})
}

func hkeysCommand(ctx *Ctx)   { hgetallGeneric(ctx, true, false) }
func hvalsCommand(ctx *Ctx)   { hgetallGeneric(ctx, false, true) }
func hgetallCommand(ctx *Ctx) { hgetallGeneric(ctx, true, true) }

// ---------------------------------------------------------------- DELETE AND INCREMENT

func hdelCommand(ctx *Ctx) {
	key := ctx.Args[1]
	h, ok := hashForWrite(ctx, key, false)
	if !ok {
		return
	}
	if h == nil {
		ctx.W.Int(0)
		return
	}
	deleted := 0
	keyRemoved := false
	for _, f := range ctx.Args[2:] {
		if h.Delete(f) {
			deleted++
			if h.Len() == 0 {
				keyRemoved = true
				break
			}
		}
	}
	if deleted > 0 {
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(NotifyHash, "hdel", key)
		if keyRemoved {
			deleteIfEmpty(ctx, key, 0)
		}
		ctx.Modified(int64(deleted))
	}
	ctx.W.Int(int64(deleted))
}

func hincrbyCommand(ctx *Ctx) {
	key := ctx.Args[1]
	incr, ok := ctx.Int(3)
	if !ok {
		return
	}
	h, ok := hashForWrite(ctx, key, true)
	if !ok {
		return
	}
	var cur int64
	if v, found := h.Get(ctx.Args[2]); found {
		n, ok := resp.ParseInt(v)
		if !ok {
			ctx.Error("ERR hash value is not an integer")
			deleteIfEmptyNew(ctx, key, h)
			return
		}
		cur = n
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		ctx.Error(ErrOverflow)
		deleteIfEmptyNew(ctx, key, h)
		return
	}
	cur += incr
	h.ConvertIfNeeded(ctx.Args[2:3])
	var digits [20]byte // Set copies the value
	h.Set(ctx.Args[2], strconv.AppendInt(digits[:0], cur, 10))
	ctx.W.Int(cur)
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Notify(NotifyHash, "hincrby", key)
	ctx.Modified(1)
}

// deleteIfEmptyNew drops a hash created by a failing increment, so a bad
// argument leaves no empty key behind.
func deleteIfEmptyNew(ctx *Ctx, key []byte, h *store.Hash) {
	if h.Len() == 0 {
		ctx.DB.Delete(string(key))
	}
}

func hincrbyfloatCommand(ctx *Ctx) {
	key := ctx.Args[1]
	incr, ok := parseLongDouble(ctx.Args[3])
	if !ok {
		ctx.Error(ErrNotFloat)
		return
	}
	if incr.IsInf() {
		ctx.Error("ERR value is NaN or Infinity")
		return
	}
	h, ok := hashForWrite(ctx, key, true)
	if !ok {
		return
	}
	cur := new(big.Float).SetPrec(longDoublePrec)
	if v, found := h.Get(ctx.Args[2]); found {
		c, ok := parseLongDouble(v)
		if !ok {
			ctx.Error("ERR hash value is not a float")
			deleteIfEmptyNew(ctx, key, h)
			return
		}
		cur = c
	}
	if cur.IsInf() {
		ctx.Error("ERR increment would produce NaN or Infinity")
		deleteIfEmptyNew(ctx, key, h)
		return
	}
	sum := new(big.Float).SetPrec(longDoublePrec).Add(cur, incr)
	if exp := sum.MantExp(nil); exp > 16384 {
		ctx.Error("ERR increment would produce NaN or Infinity")
		deleteIfEmptyNew(ctx, key, h)
		return
	}
	out := []byte(formatLongDouble(sum))
	field := bytes.Clone(ctx.Args[2])
	h.ConvertIfNeeded([][]byte{field, out})
	h.Set(field, out)
	ctx.W.Bulk(out)
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Notify(NotifyHash, "hincrbyfloat", key)
	ctx.Modified(1)
	// Float arithmetic may differ between hosts: replicate the result.
	ctx.Rewrite([]byte("HSET"), key, field, out)
}

// ---------------------------------------------------------------- HRANDFIELD

func hrandfieldCommand(ctx *Ctx) {
	if len(ctx.Args) >= 3 {
		withValues := false
		if len(ctx.Args) == 4 {
			if !ctx.ArgIs(3, "withvalues") {
				ctx.Error(ErrSyntax)
				return
			}
			withValues = true
		} else if len(ctx.Args) > 4 {
			ctx.Error(ErrSyntax)
			return
		}
		count, ok := rangeCount(ctx, 2, withValues)
		if !ok {
			return
		}
		h, ok := hashForRead(ctx, ctx.Args[1])
		if !ok {
			return
		}
		if h == nil || count == 0 {
			ctx.W.ArrayLen(0)
			return
		}
		fields, values := h.Random(typeRand, count)
		writePairs(ctx, fields, withValues, func(i int) { ctx.W.Bulk(values[i]) })
		return
	}
	h, ok := hashForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if h == nil {
		ctx.W.Null()
		return
	}
	fields, _ := h.Random(typeRand, 1)
	ctx.W.Bulk(fields[0])
}

// rangeCount parses the count of HRANDFIELD/ZRANDMEMBER/SRANDMEMBER: an
// integer within ±LONG_MAX (±LONG_MAX/2 when values double the reply).
func rangeCount(ctx *Ctx, i int, withValues bool) (int64, bool) {
	n, ok := ctx.Int(i)
	if !ok {
		return 0, false
	}
	// getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX), then the
	// WITHVALUES check with its shorter message.
	if n == math.MinInt64 {
		ctx.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return 0, false
	}
	if withValues && (n < -math.MaxInt64/2 || n > math.MaxInt64/2) {
		ctx.Error("ERR value is out of range")
		return 0, false
	}
	if n < -maxRandomPicks {
		ctx.Error("ERR value is out of range")
		return 0, false
	}
	return n, true
}

// maxRandomPicks bounds a negative (repeating) random count. Redis 7.0
// starts writing -count replies and only stops when the client's output
// buffer limit closes it, which for normal clients (no limit) means it
// runs out of memory or never finishes; the node instead refuses a count
// whose reply could not be built, so one command cannot take it down.
// 2^24 picks is a reply of at least 100 MB.
const maxRandomPicks = 1 << 24

// writePairs writes members, each followed by its value when withValues: a
// flat array in RESP2, an array of pairs in RESP3, as Redis 7.0.
func writePairs(ctx *Ctx, members [][]byte, withValues bool, value func(i int)) {
	if !withValues {
		ctx.W.ArrayLen(len(members))
		for _, m := range members {
			ctx.W.Bulk(m)
		}
		return
	}
	if ctx.W.Proto() == 3 {
		ctx.W.ArrayLen(len(members))
	} else {
		ctx.W.ArrayLen(2 * len(members))
	}
	for i, m := range members {
		if ctx.W.Proto() == 3 {
			ctx.W.ArrayLen(2)
		}
		ctx.W.Bulk(m)
		value(i)
	}
}

// ---------------------------------------------------------------- SCAN HELPERS

// scanOptions are the parsed MATCH and COUNT of HSCAN, SSCAN and ZSCAN.
type scanOptions struct {
	pattern []byte
	count   int
}

// parseScanOptions parses [MATCH pattern] [COUNT n] from argument i on.
func parseScanOptions(ctx *Ctx, i int) (scanOptions, bool) {
	opts := scanOptions{count: 10}
	for ; i < len(ctx.Args); i += 2 {
		if i+1 >= len(ctx.Args) {
			ctx.Error(ErrSyntax)
			return opts, false
		}
		switch {
		case ctx.ArgIs(i, "count"):
			n, ok := ctx.Int(i + 1)
			if !ok {
				return opts, false
			}
			if n < 1 {
				ctx.Error(ErrSyntax)
				return opts, false
			}
			if n > math.MaxInt32 {
				n = math.MaxInt32
			}
			opts.count = int(n)
		case ctx.ArgIs(i, "match"):
			opts.pattern = ctx.Args[i+1]
			if len(opts.pattern) == 1 && opts.pattern[0] == '*' {
				opts.pattern = nil
			}
		default:
			ctx.Error(ErrSyntax)
			return opts, false
		}
	}
	return opts, true
}

// matches applies MATCH.
func (o scanOptions) matches(s []byte) bool {
	return o.pattern == nil || globMatch(o.pattern, s, false)
}

// writeScanReply writes [cursor, [elements...]].
func writeScanReply(ctx *Ctx, cursor uint64, elems [][]byte) {
	ctx.W.ArrayLen(2)
	ctx.W.Bulk(strconv.AppendUint(nil, cursor, 10))
	ctx.W.ArrayLen(len(elems))
	for _, e := range elems {
		ctx.W.Bulk(e)
	}
}

func hscanCommand(ctx *Ctx) {
	cursor, ok := parseScanCursorOrReply(ctx, 2)
	if !ok {
		return
	}
	h, ok := hashForRead(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if h == nil {
		writeScanReply(ctx, 0, nil)
		return
	}
	opts, ok := parseScanOptions(ctx, 3)
	if !ok {
		return
	}
	var out [][]byte
	next := h.Scan(cursor, opts.count, func(f, v []byte) {
		if opts.matches(f) {
			out = append(out, f, v)
		}
	})
	writeScanReply(ctx, next, out)
}
