package server

import (
	"bytes"
	"math"
	"strings"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- handler context

// Ctx is what a handler works with. It is reused between commands of a
// client: handlers must not keep it, nor keep Args (they alias the
// client's read buffer): copy bytes that go into the keyspace
// (bytes.Clone).
type Ctx struct {
	S     *Server
	C     *Client
	DB    *store.DB
	DBNum int
	Args  [][]byte
	W     *resp.Writer
	// NowMs is the command's time in unix ms; expiry decisions use it.
	NowMs int64
	Cmd   *Command

	// propagation of this command (see Propagate/Rewrite/NoPropagate)
	changes     int64
	rewritten   [][]byte
	noPropagate bool
	forceReply  bool
	errors      int
	// redacted lists the arguments the slow log and MONITOR show as
	// "(redacted)" (see Redact).
	redacted []int
}

// init binds a context to its client.
func (ctx *Ctx) init(s *Server, c *Client) {
	ctx.S, ctx.C, ctx.W = s, c, c.w
}

// reset prepares the context for one command.
func (ctx *Ctx) reset(cmd *Command, args [][]byte, now int64) {
	ctx.Cmd, ctx.Args, ctx.NowMs = cmd, args, now
	ctx.DBNum = ctx.C.DBNum
	ctx.DB = ctx.S.Keyspace.DBs[ctx.DBNum]
	ctx.DB.ResetLookupHint()
	ctx.W = ctx.C.w
	ctx.changes, ctx.rewritten, ctx.noPropagate, ctx.forceReply, ctx.errors = 0, nil, false, false, 0
	ctx.redacted = ctx.redacted[:0]
}

// Redact hides argument i (a password) from the slow log and MONITOR, as
// Redis's redactClientCommandArgument: handlers call it while parsing, so
// a command refused before that point is logged as sent.
func (ctx *Ctx) Redact(i int) {
	if i < len(ctx.Args) {
		ctx.redacted = append(ctx.redacted, i)
	}
}

// loggedArgs are the arguments as the slow log and MONITOR show them.
func (ctx *Ctx) loggedArgs() [][]byte {
	if len(ctx.redacted) == 0 {
		return ctx.Args
	}
	out := append([][]byte(nil), ctx.Args...)
	for _, i := range ctx.redacted {
		out[i] = []byte("(redacted)")
	}
	return out
}

// SelectDB switches the client (and the context) to database n; the caller
// checked the range.
func (ctx *Ctx) SelectDB(n int) {
	ctx.C.DBNum = n
	ctx.DBNum = n
	ctx.DB = ctx.S.Keyspace.DBs[n]
}

// ---------------------------------------------------------------- replies and errors

// Shared error texts, as Redis's shared.* objects.
const (
	ErrSyntax       = "ERR syntax error"
	ErrWrongType    = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrNotInteger   = "ERR value is not an integer or out of range"
	ErrNotFloat     = "ERR value is not a valid float"
	ErrNoSuchKey    = "ERR no such key"
	ErrOutOfRange   = "ERR index out of range"
	ErrDBIndex      = "ERR DB index is out of range"
	ErrOverflow     = "ERR increment or decrement would overflow"
	ErrStringTooBig = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	ErrNoAuth       = "NOAUTH Authentication required."
	ErrReadOnly     = "READONLY You can't write against a read only replica."
	ErrNoReplicas   = "NOREPLICAS Not enough good replicas to write."
	ErrOOM          = "OOM command not allowed when used memory > 'maxmemory'."
	ErrLoading      = "LOADING Redis is loading the dataset in memory"
	ErrMasterDown   = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
	ErrSameObject   = "ERR source and destination objects are the same"
	ErrPositive     = "ERR value is out of range, must be positive"
)

// Error replies with an error; msg starts with its code ("ERR ...").
// Errors are counted for INFO errorstats and failed_calls.
func (ctx *Ctx) Error(msg string) {
	ctx.errors++
	ctx.S.countError(msg)
	ctx.W.Error(msg)
}

// Errorf formats an "ERR ..." style message.
//
// String and []byte arguments end at their first NUL, as C's %s does with
// the argument strings Redis formats into its errors.
func (ctx *Ctx) Errorf(format string, args ...any) {
	for i, a := range args {
		switch v := a.(type) {
		case []byte:
			if j := bytes.IndexByte(v, 0); j >= 0 {
				args[i] = v[:j]
			}
		case string:
			if j := strings.IndexByte(v, 0); j >= 0 {
				args[i] = v[:j]
			}
		}
	}
	ctx.Error(sprintf(format, args...))
}

// ArityError replies with Redis's wrong-number-of-arguments error for the
// current command (for commands whose arity depends on options).
func (ctx *Ctx) ArityError() {
	ctx.Error("ERR wrong number of arguments for '" + ctx.Cmd.FullName() + "' command")
}

// countError updates the error statistics with msg's code.
func (s *Server) countError(msg string) {
	s.stats.ErrorReplies++
	code := msg
	if i := strings.IndexByte(msg, ' '); i >= 0 {
		code = msg[:i]
	}
	if len(s.stats.ErrorCodes) < 128 || s.stats.ErrorCodes[code] > 0 {
		s.stats.ErrorCodes[code]++
	}
}

// ---------------------------------------------------------------- argument parsing

// Arg returns argument i as a string (allocates; for options, not hot paths).
func (ctx *Ctx) Arg(i int) string { return string(ctx.Args[i]) }

// ArgIs reports whether argument i equals word, ignoring case.
func (ctx *Ctx) ArgIs(i int, word string) bool {
	return i < len(ctx.Args) && equalFold(ctx.Args[i], word)
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Int parses argument i as Redis's string2ll; on failure it replies
// "value is not an integer or out of range" and returns ok false.
func (ctx *Ctx) Int(i int) (int64, bool) {
	n, ok := resp.ParseInt(ctx.Args[i])
	if !ok {
		ctx.Error(ErrNotInteger)
	}
	return n, ok
}

// IntMsg is Int with a custom error text.
func (ctx *Ctx) IntMsg(i int, msg string) (int64, bool) {
	n, ok := resp.ParseInt(ctx.Args[i])
	if !ok {
		ctx.Error(msg)
	}
	return n, ok
}

// Float parses argument i as Redis's getDoubleFromObject (strtod, no
// spaces, no NaN); on failure it replies "value is not a valid float".
func (ctx *Ctx) Float(i int) (float64, bool) {
	f, ok := ParseFloat(ctx.Args[i])
	if !ok {
		ctx.Error(ErrNotFloat)
	}
	return f, ok
}

// ParseFloat parses b as Redis's getDoubleFromObject: strtod must take
// all of b (hex floats included), no leading space, no NaN, and no ERANGE
// that gave ±HUGE_VAL or 0.
func ParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || isSpaceByte(b[0]) {
		return 0, false
	}
	if f, ok := parseShortInteger(b); ok {
		return f, true
	}
	f, n, erange := strtod(b)
	if n != len(b) || math.IsNaN(f) || (erange && (math.IsInf(f, 0) || f == 0)) {
		return 0, false
	}
	return f, true
}

// parseShortInteger converts a decimal integer of at most 15 digits with an
// optional sign, the usual score ("0" in redis-benchmark's ZADD), without
// strtod: every such value is below 2^53, so the conversion is exact and
// equal to strtod's. "-0" is -0, as strtod reads it. Anything else reports
// false and goes through strtod.
func parseShortInteger(b []byte) (float64, bool) {
	neg := false
	digits := b
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		digits = b[1:]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	f := float64(n)
	if neg {
		f = -f
	}
	return f, true
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// ---------------------------------------------------------------- key access

// lookup returns the value under key after lazy expiry: on a master an
// expired key is deleted (and a DEL propagated); on a replica it is hidden
// but kept, except from the master link, which sees every key.
func (ctx *Ctx) lookup(key []byte) (store.Value, bool) {
	if ctx.expired(key) {
		return nil, false
	}
	return ctx.DB.PeekTouch(string(key), ctx.NowMs)
}

// lookupNoTouch is lookup without updating the access time (OBJECT).
func (ctx *Ctx) lookupNoTouch(key []byte) (store.Value, bool) {
	if ctx.expired(key) {
		return nil, false
	}
	return ctx.DB.Peek(string(key))
}

// expired applies lazy expiry to key (expireIfNeeded) and reports whether
// the key must be treated as missing. Every lookup starts with it, as
// Redis's lookupKey; a write that replaces the value without reading it
// (SET, MSET) calls it alone, as setKey's lookupKeyWrite does.
func (ctx *Ctx) expired(key []byte) bool {
	// Inlined: most databases have no key with a TTL, and MSET asks for
	// each of its keys.
	return ctx.DB.ExpiresLen() > 0 && ctx.expiredSlow(key)
}

func (ctx *Ctx) expiredSlow(key []byte) bool {
	return ctx.DB.IsExpired(string(key), ctx.NowMs) && ctx.S.expireIfNeeded(ctx, ctx.DBNum, key)
}

// expireIfNeeded acts on a key known to be logically expired and reports
// whether it must be treated as missing.
func (s *Server) expireIfNeeded(ctx *Ctx, dbNum int, key []byte) bool {
	if s.replaying {
		// Nothing expires while the AOF is replayed (keyIsExpired while
		// loading): its commands ran on keys that were alive then.
		return false
	}
	if s.IsReplica() {
		if ctx != nil && ctx.C.flags&ClientMaster != 0 {
			return false
		}
		return true
	}
	if s.clientsPaused() {
		// The dataset stands still during a pause; the key expires
		// when it ends, or the new master sends the DEL after a failover.
		return true
	}
	s.deleteExpiredKey(dbNum, key)
	return true
}

// deleteExpiredKey removes an expired key and propagates a DEL.
func (s *Server) deleteExpiredKey(dbNum int, key []byte) {
	db := s.Keyspace.DBs[dbNum]
	db.Delete(string(key))
	s.stats.ExpiredKeys++
	s.notifyKeyspaceEvent(notifyExpired, "expired", key, dbNum)
	s.signalModifiedKey(dbNum, key)
	s.propagate(dbNum, [][]byte{[]byte("DEL"), key})
	s.Dirty++
}

// Lookup returns the live value under key for reading (nil if missing), and
// counts a keyspace hit or miss.
func (ctx *Ctx) Lookup(key []byte) store.Value {
	v, ok := ctx.lookup(key)
	if !ok {
		ctx.S.stats.KeyspaceMisses++
		ctx.S.notifyKeyspaceEvent(notifyKeyMiss, "keymiss", key, ctx.DBNum)
		return nil
	}
	ctx.S.stats.KeyspaceHits++
	return v
}

// LookupKind is Lookup with a type check: a value of another kind gets a
// WRONGTYPE reply and ok false. A missing key is (nil, true).
func (ctx *Ctx) LookupKind(key []byte, kind store.Kind) (v store.Value, ok bool) {
	v = ctx.Lookup(key)
	if v != nil && v.Kind() != kind {
		ctx.Error(ErrWrongType)
		return nil, false
	}
	return v, true
}

// LookupStringBytes is LookupKind(key, KindString) for a reader that only
// copies the string out (GET): no value object is built. b aliases the
// keyspace's storage and is valid until the keyspace next changes. found
// is false for a missing key; ok is false after a WRONGTYPE reply.
func (ctx *Ctx) LookupStringBytes(key []byte) (b []byte, found, ok bool) {
	return ctx.lookupStringBytes(key, true)
}

// lookupWriteStringBytes is LookupStringBytes for a command that replaces
// the string it read (INCR): like LookupWrite it counts no keyspace hit or
// miss and fires no keymiss event (Redis's lookupKeyWrite).
func (ctx *Ctx) lookupWriteStringBytes(key []byte) (b []byte, found, ok bool) {
	return ctx.lookupStringBytes(key, false)
}

// lookupStringBytes is LookupStringBytes, counting hits and misses only for
// a read.
func (ctx *Ctx) lookupStringBytes(key []byte, read bool) (b []byte, found, ok bool) {
	if !ctx.expired(key) {
		var kind store.Kind
		b, kind, found = ctx.DB.PeekStringTouch(key, ctx.NowMs)
		if found && kind != store.KindString {
			if read {
				ctx.S.stats.KeyspaceHits++
			}
			ctx.Error(ErrWrongType)
			return nil, false, false
		}
	}
	if !read {
		return b, found, true
	}
	if !found {
		ctx.S.stats.KeyspaceMisses++
		ctx.S.notifyKeyspaceEvent(notifyKeyMiss, "keymiss", key, ctx.DBNum)
		return nil, false, true
	}
	ctx.S.stats.KeyspaceHits++
	return b, true, true
}

// LookupWrite returns the live value under key in a form that may be
// modified in place (copy-on-write against snapshots), nil if missing.
func (ctx *Ctx) LookupWrite(key []byte) store.Value {
	if _, ok := ctx.lookup(key); !ok {
		return nil
	}
	v, _ := ctx.DB.Mutable(string(key))
	return v
}

// LookupWriteKind is LookupWrite with a type check (WRONGTYPE, ok false).
func (ctx *Ctx) LookupWriteKind(key []byte, kind store.Kind) (v store.Value, ok bool) {
	// One lookup (expiry, touch) serves the type check and the write, as
	// LookupWrite would repeat it.
	cur, found := ctx.lookup(key)
	if !found {
		return nil, true
	}
	if cur.Kind() != kind {
		ctx.Error(ErrWrongType)
		return nil, false
	}
	v, _ = ctx.DB.Mutable(string(key))
	return v, true
}

// lookupAs is LookupKind with the value as its concrete type V: nil for a
// missing key, ok false after a WRONGTYPE reply.
func lookupAs[V store.Value](ctx *Ctx, key []byte, kind store.Kind) (V, bool) {
	v, ok := ctx.LookupKind(key, kind)
	if !ok || v == nil {
		var missing V
		return missing, ok
	}
	return v.(V), true
}

// lookupWriteAs is LookupWriteKind with the value as its concrete type V:
// nil for a missing key, ok false after a WRONGTYPE reply.
func lookupWriteAs[V store.Value](ctx *Ctx, key []byte, kind store.Kind) (V, bool) {
	v, ok := ctx.LookupWriteKind(key, kind)
	if !ok || v == nil {
		var missing V
		return missing, ok
	}
	return v.(V), true
}

// replyLength replies the length of the value of kind under the first key,
// 0 when the key is missing: LLEN, SCARD, ZCARD, HLEN and XLEN.
func replyLength[V store.Value](ctx *Ctx, kind store.Kind, length func(V) int64) {
	v, ok := ctx.LookupKind(ctx.Args[1], kind)
	if !ok {
		return
	}
	if v == nil {
		ctx.W.Int(0)
		return
	}
	ctx.W.Int(length(v.(V)))
}

// Exists reports whether key is live (no hit/miss accounting).
func (ctx *Ctx) Exists(key []byte) bool {
	if ctx.expired(key) {
		return false
	}
	// As lookup, without building the value.
	return ctx.DB.Touch(key, ctx.NowMs)
}

// SetKey stores v under key (v must not alias Args), as Redis's setKey:
// the expiry is dropped unless keepTTL, WATCH is signalled, and clients
// blocked on key are signalled when v is a list or sorted set.
func (ctx *Ctx) SetKey(key []byte, v store.Value, keepTTL bool) {
	isNew := ctx.isNewKeyToNotify(key)
	ctx.DB.SetAt(key, v, keepTTL, ctx.NowMs)
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.S.signalIfBlockable(ctx.DBNum, key, v)
	if isNew {
		ctx.S.notifyNewKey(key, ctx.DBNum)
	}
}

// SetStringKey is SetKey for a string value given as bytes (SET, MSET,
// GETSET): the keyspace copies val into its compact storage, so no value
// object is built and val may alias Args.
func (ctx *Ctx) SetStringKey(key, val []byte, keepTTL bool) {
	isNew := ctx.isNewKeyToNotify(key)
	ctx.DB.SetString(key, val, store.EncTried, keepTTL, ctx.NowMs)
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	if isNew {
		ctx.S.notifyNewKey(key, ctx.DBNum)
	}
}

// isNewKeyToNotify reports whether a `new` keyspace event is due for
// storing key: the class is enabled and the key does not exist yet.
func (ctx *Ctx) isNewKeyToNotify(key []byte) bool {
	if ctx.S.notifyFlags()&notifyNew == 0 {
		return false
	}
	return !ctx.DB.Contains(key)
}

// DeleteKey removes key and signals WATCH; it reports whether it existed
// (after lazy expiry).
func (ctx *Ctx) DeleteKey(key []byte) bool {
	if !ctx.Exists(key) {
		return false
	}
	ctx.DB.Delete(string(key))
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	return true
}

// Modified records that the command changed the dataset n times: it
// bumps the dirty counter for persistence and makes the command propagate.
func (ctx *Ctx) Modified(n int64) {
	ctx.changes += n
	ctx.S.Dirty += n
}

// Touched signals WATCH for key and counts one change, the usual pair
// after an in-place modification.
func (ctx *Ctx) Touched(key []byte) {
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Modified(1)
}

// Notify fires a keyspace notification for key in the current database.
func (ctx *Ctx) Notify(class int, event string, key []byte) {
	ctx.S.notifyKeyspaceEvent(class, event, key, ctx.DBNum)
}

// ---------------------------------------------------------------- propagation

// Rewrite replaces what this command propagates (when it changed
// something), as Redis's rewriteClientCommandVector: SET EX becomes SET
// PXAT, INCRBYFLOAT becomes SET KEEPTTL. The args are copied.
func (ctx *Ctx) Rewrite(args ...[]byte) { ctx.rewritten = cloneArgs(args) }

// RewriteStrings is Rewrite with string arguments.
func (ctx *Ctx) RewriteStrings(args ...string) {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	ctx.rewritten = out
}

// Propagate sends an extra command to the replication stream now, before
// the command's own propagation (as alsoPropagate). The args are copied.
func (ctx *Ctx) Propagate(args ...[]byte) {
	ctx.S.propagate(ctx.DBNum, cloneArgs(args))
}

// NoPropagate stops the command itself from being propagated even though
// it changed the dataset (its effects were propagated with Propagate).
func (ctx *Ctx) NoPropagate() { ctx.noPropagate = true }

// ForceReply makes a reply reach a client whose replies are suppressed
// (the master link answering REPLCONF GETACK).
func (ctx *Ctx) ForceReply() { ctx.forceReply = true }

func cloneArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	arena := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		arena = append(arena, a...)
		out[i] = arena[len(arena)-len(a) : len(arena) : len(arena)]
	}
	return out
}

// propOp is one pending propagation.
type propOp struct {
	db   int
	args [][]byte
}

// propagate queues a command for the replication stream; the queue is
// flushed after the top-level command (wrapped in MULTI/EXEC when it holds
// more than one command, as Redis 7.0 does).
func (s *Server) propagate(db int, args [][]byte) {
	replicated := s.Propagator != nil && (s.Propagating == nil || s.Propagating())
	if (!replicated && s.aofFeed == nil) || s.replaying {
		// Nowhere to go (no replica, no backlog, no AOF): skip the copy,
		// as Redis's shouldPropagate does.
		return
	}
	if !s.inCall && len(s.pendingProp) == 0 {
		// Alone and at top level (a command's own propagation, an
		// expired key's DEL outside a command): it goes out now, and the
		// consumers encode it before returning, so no copy is needed.
		s.emitPropagated(db, args)
		return
	}
	s.pendingProp = append(s.pendingProp, propOp{db, cloneArgs(args)})
	if !s.inCall {
		s.flushPropagation()
	}
}

var (
	multiArgs = [][]byte{[]byte("MULTI")}
	execArgs  = [][]byte{[]byte("EXEC")}
)

// flushPropagation hands the queued commands to the Propagator.
func (s *Server) flushPropagation() {
	ops := s.pendingProp
	if len(ops) == 0 {
		return
	}
	s.pendingProp = s.pendingProp[:0]
	if s.Propagator == nil && s.aofFeed == nil {
		return
	}
	wrap := len(ops) > 1
	if wrap {
		s.emitPropagated(ops[0].db, multiArgs)
	}
	for _, op := range ops {
		s.emitPropagated(op.db, op.args)
	}
	if wrap {
		s.emitPropagated(ops[len(ops)-1].db, execArgs)
	}
}

// emitPropagated hands one command of the stream to the replication
// layer and the append-only file: both get the same commands, as Redis's
// propagateNow feeds feedAppendOnlyFile and replicationFeedSlaves.
func (s *Server) emitPropagated(db int, args [][]byte) {
	if s.aofFeed != nil {
		s.aofFeed(db, args)
	}
	if s.Propagator != nil {
		s.Propagator(db, args)
	}
}
