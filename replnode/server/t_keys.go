package server

import (
	"math"
	"strconv"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- keyspace
//
// Generic key commands as Redis 7.0's db.c and expire.c: DEL, UNLINK,
// EXISTS, TYPE, RENAME(NX), MOVE, COPY, KEYS, SCAN, RANDOMKEY, the EXPIRE
// family, TTL/PTTL/EXPIRETIME/PEXPIRETIME, PERSIST, TOUCH, OBJECT, DBSIZE,
// SWAPDB, FLUSHDB, FLUSHALL.

func init() {
	const k1 = 1
	register(
		&Command{Name: "del", Arity: -2, Flags: FlagWrite, Group: "keyspace", FirstKey: 1, LastKey: -1, Step: 1, Handler: delCommand},
		&Command{Name: "unlink", Arity: -2, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: -1, Step: 1, Handler: delCommand},
		&Command{Name: "exists", Arity: -2, Flags: FlagReadOnly | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: -1, Step: 1, Handler: existsCommand},
		&Command{Name: "touch", Arity: -2, Flags: FlagReadOnly | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: -1, Step: 1, Handler: existsCommand},
		&Command{Name: "type", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "keyspace", FirstKey: k1, LastKey: k1, Step: 1, Handler: typeCommand},
		&Command{Name: "rename", Arity: 3, Flags: FlagWrite, Group: "keyspace", FirstKey: 1, LastKey: 2, Step: 1, Handler: renameCommand},
		&Command{Name: "renamenx", Arity: 3, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 2, Step: 1, Handler: renamenxCommand},
		&Command{Name: "move", Arity: 3, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: moveCommand},
		&Command{Name: "copy", Arity: -3, Flags: FlagWrite | FlagDenyOOM, Group: "keyspace", FirstKey: 1, LastKey: 2, Step: 1, Handler: copyCommand},
		&Command{Name: "keys", Arity: 2, Flags: FlagReadOnly, Group: "keyspace", Handler: keysCommand},
		&Command{Name: "scan", Arity: -2, Flags: FlagReadOnly, Group: "keyspace", Handler: scanCommand},
		&Command{Name: "randomkey", Arity: 1, Flags: FlagReadOnly, Group: "keyspace", Handler: randomkeyCommand},
		&Command{Name: "expire", Arity: -3, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: expireCommand},
		&Command{Name: "pexpire", Arity: -3, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: pexpireCommand},
		&Command{Name: "expireat", Arity: -3, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: expireatCommand},
		&Command{Name: "pexpireat", Arity: -3, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: pexpireatCommand},
		&Command{Name: "ttl", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: func(ctx *Ctx) { ttlGeneric(ctx, false, false) }},
		&Command{Name: "pttl", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: func(ctx *Ctx) { ttlGeneric(ctx, true, false) }},
		&Command{Name: "expiretime", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: func(ctx *Ctx) { ttlGeneric(ctx, false, true) }},
		&Command{Name: "pexpiretime", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: func(ctx *Ctx) { ttlGeneric(ctx, true, true) }},
		&Command{Name: "persist", Arity: 2, Flags: FlagWrite | FlagFast, Group: "keyspace", FirstKey: 1, LastKey: 1, Step: 1, Handler: persistCommand},
		&Command{Name: "object", Arity: -2, Group: "keyspace", Subcommands: []*Command{
			{Name: "encoding", Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: objectEncodingCommand},
			{Name: "freq", Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: objectFreqCommand},
			{Name: "idletime", Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: objectIdletimeCommand},
			{Name: "refcount", Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: objectRefcountCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: objectHelpCommand},
		}},
		&Command{Name: "dbsize", Arity: 1, Flags: FlagReadOnly | FlagFast, Group: "server", Handler: func(ctx *Ctx) { ctx.W.Int(int64(ctx.DB.Len())) }},
		&Command{Name: "swapdb", Arity: 3, Flags: FlagWrite | FlagFast, Group: "keyspace", Handler: swapdbCommand},
		&Command{Name: "flushdb", Arity: -1, Flags: FlagWrite, Group: "keyspace", Handler: flushdbCommand},
		&Command{Name: "flushall", Arity: -1, Flags: FlagWrite, Group: "keyspace", Handler: flushallCommand},
	)
}

func delCommand(ctx *Ctx) {
	var n int64
	for _, k := range ctx.Args[1:] {
		if ctx.DeleteKey(k) {
			ctx.Notify(NotifyGeneric, "del", k)
			n++
		}
	}
	ctx.Modified(n)
	ctx.W.Int(n)
}

func existsCommand(ctx *Ctx) {
	var n int64
	for _, k := range ctx.Args[1:] {
		if ctx.Exists(k) {
			n++
			ctx.DB.PeekTouch(string(k), ctx.NowMs)
		}
	}
	ctx.W.Int(n)
}

func typeCommand(ctx *Ctx) {
	v, ok := ctx.lookup(ctx.Args[1])
	if !ok {
		ctx.W.SimpleString("none")
		return
	}
	ctx.W.SimpleString(v.Kind().String())
}

// ---------------------------------------------------------------- rename, move, copy

// renameGeneric implements RENAME and RENAMENX.
func renameGeneric(ctx *Ctx, nx bool) {
	src, dst := ctx.Args[1], ctx.Args[2]
	v, ok := ctx.lookup(src)
	if !ok {
		ctx.Error(ErrNoSuchKey)
		return
	}
	if string(src) == string(dst) {
		if nx {
			ctx.W.Int(0)
		} else {
			ctx.W.OK()
		}
		return
	}
	expireAt, hasExpire := ctx.DB.ExpireAt(string(src))
	if ctx.Exists(dst) {
		if nx {
			ctx.W.Int(0)
			return
		}
		ctx.DeleteKey(dst)
	}
	ctx.DB.Delete(string(src))
	// The value may be shared with a BGSAVE or full-sync snapshot:
	// SetMoved keeps it copy-on-write under its new name.
	ctx.DB.SetMoved(string(dst), v, ctx.NowMs)
	ctx.S.signalModifiedKey(ctx.DBNum, dst)
	ctx.S.signalIfBlockable(ctx.DBNum, dst, v)
	if hasExpire {
		ctx.DB.SetExpireAt(string(dst), expireAt)
	}
	ctx.S.signalModifiedKey(ctx.DBNum, src)
	ctx.Notify(NotifyGeneric, "rename_from", src)
	ctx.Notify(NotifyGeneric, "rename_to", dst)
	ctx.Modified(1)
	if nx {
		ctx.W.Int(1)
	} else {
		ctx.W.OK()
	}
}

func renameCommand(ctx *Ctx)   { renameGeneric(ctx, false) }
func renamenxCommand(ctx *Ctx) { renameGeneric(ctx, true) }

// parseDBIndex reads a database number argument.
func parseDBIndex(ctx *Ctx, i int) (int, bool) {
	n, ok := resp.ParseInt(ctx.Args[i])
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		ctx.Error(ErrNotInteger)
		return 0, false
	}
	if n < 0 || n >= int64(len(ctx.S.Keyspace.DBs)) {
		ctx.Error(ErrDBIndex)
		return 0, false
	}
	return int(n), true
}

func moveCommand(ctx *Ctx) {
	key := ctx.Args[1]
	dbNum, ok := parseDBIndex(ctx, 2)
	if !ok {
		return
	}
	if dbNum == ctx.DBNum {
		ctx.Error(ErrSameObject)
		return
	}
	v, found := ctx.lookup(key)
	if !found {
		ctx.W.Int(0)
		return
	}
	dst := ctx.S.Keyspace.DBs[dbNum]
	if _, exists := dst.Peek(string(key)); exists && !dst.IsExpired(string(key), ctx.NowMs) {
		ctx.W.Int(0)
		return
	} else if exists {
		ctx.S.expireIfNeeded(ctx, dbNum, key)
	}
	expireAt, hasExpire := ctx.DB.ExpireAt(string(key))
	ctx.DB.Delete(string(key))
	dst.SetMoved(string(key), v, ctx.NowMs) // copy-on-write kept, see RENAME
	if hasExpire {
		dst.SetExpireAt(string(key), expireAt)
	}
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.S.signalModifiedKey(dbNum, key)
	ctx.S.signalIfBlockable(dbNum, key, v)
	ctx.Notify(NotifyGeneric, "move_from", key)
	ctx.S.notifyKeyspaceEvent(NotifyGeneric, "move_to", key, dbNum)
	ctx.Modified(1)
	ctx.W.Int(1)
}

func copyCommand(ctx *Ctx) {
	src, dstKey := ctx.Args[1], ctx.Args[2]
	dbNum, replace := ctx.DBNum, false
	for j := 3; j < len(ctx.Args); j++ {
		switch {
		case ctx.ArgIs(j, "replace"):
			replace = true
		case ctx.ArgIs(j, "db") && j+1 < len(ctx.Args):
			n, ok := parseDBIndex(ctx, j+1)
			if !ok {
				return
			}
			dbNum = n
			j++
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	if dbNum == ctx.DBNum && string(src) == string(dstKey) {
		ctx.Error(ErrSameObject)
		return
	}
	v, found := ctx.lookup(src)
	if !found {
		ctx.W.Int(0)
		return
	}
	dst := ctx.S.Keyspace.DBs[dbNum]
	if dst.IsExpired(string(dstKey), ctx.NowMs) {
		ctx.S.expireIfNeeded(ctx, dbNum, dstKey)
	}
	if _, exists := dst.Peek(string(dstKey)); exists {
		if !replace {
			ctx.W.Int(0)
			return
		}
		dst.Delete(string(dstKey))
	}
	expireAt, hasExpire := ctx.DB.ExpireAt(string(src))
	dst.Set(string(dstKey), v.Clone(), false)
	if hasExpire {
		dst.SetExpireAt(string(dstKey), expireAt)
	}
	ctx.S.signalModifiedKey(dbNum, dstKey)
	ctx.S.signalIfBlockable(dbNum, dstKey, v)
	ctx.S.notifyKeyspaceEvent(NotifyGeneric, "copy_to", dstKey, dbNum)
	ctx.Modified(1)
	ctx.W.Int(1)
}

// ---------------------------------------------------------------- KEYS, SCAN, RANDOMKEY

func keysCommand(ctx *Ctx) {
	pattern := ctx.Args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	d := ctx.W.Deferred()
	n := 0
	db := ctx.DB
	db.Scan(0, db.Len(), func(key string) {
		if !all && !globMatch(pattern, []byte(key), false) {
			return
		}
		if db.IsExpired(key, ctx.NowMs) {
			return
		}
		ctx.W.BulkString(key)
		n++
	})
	ctx.W.SetArrayLen(d, n)
}

// typeByName maps SCAN TYPE names to kinds.
func typeByName(name string) (store.Kind, bool) {
	for _, k := range []store.Kind{store.KindString, store.KindList, store.KindSet, store.KindZSet, store.KindHash, store.KindStream} {
		if equalFold([]byte(name), k.String()) {
			return k, true
		}
	}
	return 0, false
}

func scanCommand(ctx *Ctx) {
	cursor, ok := parseScanCursorOrReply(ctx, 1)
	if !ok {
		return
	}
	count := 10
	var pattern []byte
	var typeFilter string
	hasType := false
	for j := 2; j < len(ctx.Args); j++ {
		more := j+1 < len(ctx.Args)
		switch {
		case ctx.ArgIs(j, "count") && more:
			n, ok := ctx.Int(j + 1)
			if !ok {
				return
			}
			if n < 1 {
				ctx.Error(ErrSyntax)
				return
			}
			if n > math.MaxInt32 {
				n = math.MaxInt32
			}
			count = int(n)
			j++
		case ctx.ArgIs(j, "match") && more:
			pattern = ctx.Args[j+1]
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
			j++
		case ctx.ArgIs(j, "type") && more:
			typeFilter, hasType = string(ctx.Args[j+1]), true
			j++
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	var keys []string
	next := ctx.DB.Scan(cursor, count, func(key string) { keys = append(keys, key) })
	wantKind, knownType := typeByName(typeFilter)
	out := keys[:0]
	for _, k := range keys {
		if pattern != nil && !globMatch(pattern, []byte(k), false) {
			continue
		}
		v, ok := ctx.lookup([]byte(k))
		if !ok {
			continue
		}
		if hasType && (!knownType || v.Kind() != wantKind) {
			continue
		}
		out = append(out, k)
	}
	ctx.W.ArrayLen(2)
	ctx.W.BulkString(strconv.FormatUint(next, 10))
	ctx.W.ArrayLen(len(out))
	for _, k := range out {
		ctx.W.BulkString(k)
	}
}

func randomkeyCommand(ctx *Ctx) {
	db := ctx.DB
	for tries := 0; db.Len() > 0; tries++ {
		key := db.KeyAt(ctx.S.rand.IntN(db.Len()))
		if db.IsExpired(key, ctx.NowMs) {
			if ctx.S.IsReplica() {
				// A replica cannot delete: after enough misses return an
				// expired key rather than loop forever, as Redis does.
				if tries >= 100 {
					ctx.W.BulkString(key)
					return
				}
				continue
			}
			ctx.S.deleteExpiredKey(ctx.DBNum, []byte(key))
			continue
		}
		ctx.W.BulkString(key)
		return
	}
	ctx.W.Null()
}

// ---------------------------------------------------------------- expiry

const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

// expireGeneric implements EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT as
// Redis's expireGenericCommand. base is added to the time (now for the
// relative forms); seconds selects the unit.
func expireGeneric(ctx *Ctx, base int64, seconds bool) {
	key := ctx.Args[1]
	flag := 0
	for j := 3; j < len(ctx.Args); j++ {
		switch {
		case ctx.ArgIs(j, "nx"):
			flag |= expireNX
		case ctx.ArgIs(j, "xx"):
			flag |= expireXX
		case ctx.ArgIs(j, "gt"):
			flag |= expireGT
		case ctx.ArgIs(j, "lt"):
			flag |= expireLT
		default:
			ctx.Errorf("ERR Unsupported option %s", ctx.Args[j])
			return
		}
	}
	if flag&expireNX != 0 && flag&(expireXX|expireGT|expireLT) != 0 {
		ctx.Error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flag&expireGT != 0 && flag&expireLT != 0 {
		ctx.Error("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := ctx.Int(2)
	if !ok {
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			expireErr(ctx)
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		expireErr(ctx)
		return
	}
	when += base
	if !ctx.Exists(key) {
		ctx.W.Int(0)
		return
	}
	if flag != 0 {
		cur, has := ctx.DB.ExpireAt(string(key))
		switch {
		case flag&expireNX != 0 && has,
			flag&expireXX != 0 && !has,
			flag&expireGT != 0 && (!has || when <= cur),
			flag&expireLT != 0 && has && when >= cur:
			ctx.W.Int(0)
			return
		}
	}
	if when <= ctx.NowMs && !ctx.S.Loading && !ctx.S.IsReplica() {
		ctx.DeleteKey(key)
		ctx.Notify(NotifyGeneric, "del", key)
		ctx.Modified(1)
		if ctx.S.Config.Bool("lazyfree-lazy-expire") {
			ctx.Rewrite([]byte("UNLINK"), key)
		} else {
			ctx.Rewrite([]byte("DEL"), key)
		}
		ctx.W.Int(1)
		return
	}
	ctx.DB.SetExpireAt(string(key), when)
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Notify(NotifyGeneric, "expire", key)
	ctx.Modified(1)
	if ctx.Cmd.Name != "pexpireat" {
		args := append([][]byte{[]byte("PEXPIREAT"), key, strconv.AppendInt(nil, when, 10)}, ctx.Args[3:]...)
		ctx.Rewrite(args...)
	}
	ctx.W.Int(1)
}

func expireCommand(ctx *Ctx)    { expireGeneric(ctx, ctx.NowMs, true) }
func pexpireCommand(ctx *Ctx)   { expireGeneric(ctx, ctx.NowMs, false) }
func expireatCommand(ctx *Ctx)  { expireGeneric(ctx, 0, true) }
func pexpireatCommand(ctx *Ctx) { expireGeneric(ctx, 0, false) }

// ttlGeneric implements TTL, PTTL, EXPIRETIME and PEXPIRETIME.
func ttlGeneric(ctx *Ctx, ms bool, absolute bool) {
	key := ctx.Args[1]
	if !ctx.Exists(key) {
		ctx.W.Int(-2)
		return
	}
	at, has := ctx.DB.ExpireAt(string(key))
	if !has {
		ctx.W.Int(-1)
		return
	}
	if absolute {
		if ms {
			ctx.W.Int(at)
		} else {
			ctx.W.Int(at / 1000)
		}
		return
	}
	ttl := at - ctx.NowMs
	if ttl < 0 {
		ttl = 0
	}
	if ms {
		ctx.W.Int(ttl)
	} else {
		ctx.W.Int((ttl + 500) / 1000)
	}
}

func persistCommand(ctx *Ctx) {
	key := ctx.Args[1]
	if !ctx.Exists(key) || !ctx.DB.Persist(string(key)) {
		ctx.W.Int(0)
		return
	}
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Notify(NotifyGeneric, "persist", key)
	ctx.Modified(1)
	ctx.W.Int(1)
}

// ---------------------------------------------------------------- OBJECT

// objectLookup finds OBJECT's key without touching its access time; a
// missing key replies null.
func objectLookup(ctx *Ctx) (store.Value, bool) {
	v, ok := ctx.lookupNoTouch(ctx.Args[2])
	if !ok {
		ctx.W.Null()
		return nil, false
	}
	return v, true
}

func objectEncodingCommand(ctx *Ctx) {
	if v, ok := objectLookup(ctx); ok {
		ctx.W.BulkString(v.Encoding())
	}
}

// lfuPolicy reports whether maxmemory-policy is one of the LFU ones.
func lfuPolicy(ctx *Ctx) bool {
	p := ctx.S.Config.String("maxmemory-policy")
	return p == "allkeys-lfu" || p == "volatile-lfu"
}

func objectFreqCommand(ctx *Ctx) {
	v, ok := objectLookup(ctx)
	if !ok {
		return
	}
	_ = v
	if !lfuPolicy(ctx) {
		ctx.Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		return
	}
	// replnode keeps no LFU counter (eviction ranks the LFU policies by
	// idle time, evict.go): every key reports the initial counter Redis
	// gives a new key (LFU_INIT_VAL).
	ctx.W.Int(5)
}

func objectIdletimeCommand(ctx *Ctx) {
	if _, ok := objectLookup(ctx); !ok {
		return
	}
	if lfuPolicy(ctx) {
		ctx.Error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		return
	}
	at, _ := ctx.DB.AccessTime(string(ctx.Args[2]))
	if at == 0 {
		at = ctx.S.startTime.UnixMilli()
	}
	idle := (ctx.NowMs - at) / 1000
	if idle < 0 {
		idle = 0
	}
	ctx.W.Int(idle)
}

func objectRefcountCommand(ctx *Ctx) {
	v, ok := objectLookup(ctx)
	if !ok {
		return
	}
	// Redis shares the integers 0..9999 between keys (OBJ_SHARED_INTEGERS)
	// unless an LRU/LFU policy needs per-key objects; shared objects
	// report INT_MAX.
	if sv, isStr := v.(*store.String); isStr && ctx.S.Config.String("maxmemory-policy") == "noeviction" {
		if n, ok := store.ParseCanonicalInt(sv.B); ok && n >= 0 && n < 10000 && sv.Encoding() == "int" && !sv.Copied {
			ctx.W.Int(math.MaxInt32)
			return
		}
	}
	ctx.W.Int(1)
}

func objectHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "OBJECT",
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.")
}

// ---------------------------------------------------------------- databases

func swapdbCommand(ctx *Ctx) {
	a, ok := resp.ParseInt(ctx.Args[1])
	if !ok {
		ctx.Error("ERR invalid first DB index")
		return
	}
	b, ok := resp.ParseInt(ctx.Args[2])
	if !ok {
		ctx.Error("ERR invalid second DB index")
		return
	}
	n := int64(len(ctx.S.Keyspace.DBs))
	if a < 0 || a >= n || b < 0 || b >= n {
		ctx.Error(ErrDBIndex)
		return
	}
	s := ctx.S
	s.touchAllWatchedKeysInDB(int(a), int(b))
	s.touchAllWatchedKeysInDB(int(b), int(a))
	s.Keyspace.Swap(int(a), int(b))
	ctx.DB = s.Keyspace.DBs[ctx.DBNum]
	for _, fn := range s.swapHooks {
		fn(int(a), int(b))
	}
	ctx.Modified(1)
	ctx.W.OK()
}

// OnSwapDB registers fn to run after SWAPDB (blocked clients may now be
// served from the swapped-in data).
func (s *Server) OnSwapDB(fn func(a, b int)) { s.swapHooks = append(s.swapHooks, fn) }

// parseFlushFlags reads FLUSHDB/FLUSHALL's optional ASYNC|SYNC.
func parseFlushFlags(ctx *Ctx) bool {
	if len(ctx.Args) > 2 {
		ctx.Error(ErrSyntax)
		return false
	}
	if len(ctx.Args) == 2 && !ctx.ArgIs(1, "async") && !ctx.ArgIs(1, "sync") {
		ctx.Error(ErrSyntax)
		return false
	}
	return true
}

func flushdbCommand(ctx *Ctx) {
	if !parseFlushFlags(ctx) {
		return
	}
	n := int64(ctx.DB.Len())
	ctx.S.touchAllWatchedKeysInDB(ctx.DBNum, -1)
	ctx.DB.Flush()
	ctx.S.trackingInvalidateKeysOnFlush()
	// A flush always propagates, even of an empty database.
	ctx.Modified(max(n, 1))
	ctx.W.OK()
}

func flushallCommand(ctx *Ctx) {
	if !parseFlushFlags(ctx) {
		return
	}
	s := ctx.S
	var n int64
	for i, db := range s.Keyspace.DBs {
		n += int64(db.Len())
		s.touchAllWatchedKeysInDB(i, -1)
	}
	s.Keyspace.FlushAll()
	s.trackingInvalidateKeysOnFlush()
	ctx.Modified(max(n, 1))
	for _, fn := range s.flushAllHooks {
		fn()
	}
	ctx.W.OK()
}

// OnFlushAll registers fn to run after FLUSHALL emptied the keyspace (the
// persistence code saves then when save points are configured, as Redis).
func (s *Server) OnFlushAll(fn func()) { s.flushAllHooks = append(s.flushAllHooks, fn) }
