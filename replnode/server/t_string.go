package server

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- strings
//
// String commands as Redis 7.0's t_string.c. Values live in *store.String;
// bytes from ctx.Args are always copied before they are stored.

func init() {
	const wr = FlagWrite | FlagDenyOOM
	register(
		&Command{Name: "get", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: getCommand},
		&Command{Name: "set", Arity: -3, Flags: wr, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: setCommand},
		&Command{Name: "setnx", Arity: 3, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: setnxCommand},
		&Command{Name: "setex", Arity: 4, Flags: wr, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: setexCommand},
		&Command{Name: "psetex", Arity: 4, Flags: wr, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: psetexCommand},
		&Command{Name: "getset", Arity: 3, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: getsetCommand},
		&Command{Name: "getdel", Arity: 2, Flags: FlagWrite | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: getdelCommand},
		&Command{Name: "getex", Arity: -2, Flags: FlagWrite | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: getexCommand},
		&Command{Name: "append", Arity: 3, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: appendCommand},
		&Command{Name: "strlen", Arity: 2, Flags: FlagReadOnly | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: strlenCommand},
		&Command{Name: "incr", Arity: 2, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: incrCommand},
		&Command{Name: "decr", Arity: 2, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: decrCommand},
		&Command{Name: "incrby", Arity: 3, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: incrbyCommand},
		&Command{Name: "decrby", Arity: 3, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: decrbyCommand},
		&Command{Name: "incrbyfloat", Arity: 3, Flags: wr | FlagFast, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: incrbyfloatCommand},
		&Command{Name: "mget", Arity: -2, Flags: FlagReadOnly | FlagFast, Group: "string", FirstKey: 1, LastKey: -1, Step: 1, Handler: mgetCommand},
		&Command{Name: "mset", Arity: -3, Flags: wr, Group: "string", FirstKey: 1, LastKey: -1, Step: 2, Handler: msetCommand},
		&Command{Name: "msetnx", Arity: -3, Flags: wr, Group: "string", FirstKey: 1, LastKey: -1, Step: 2, Handler: msetnxCommand},
		&Command{Name: "setrange", Arity: 4, Flags: wr, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: setrangeCommand},
		&Command{Name: "getrange", Arity: 4, Flags: FlagReadOnly, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: getrangeCommand},
		&Command{Name: "substr", Arity: 4, Flags: FlagReadOnly, Group: "string", FirstKey: 1, LastKey: 1, Step: 1, Handler: getrangeCommand},
		&Command{Name: "lcs", Arity: -3, Flags: FlagReadOnly, Group: "string", FirstKey: 1, LastKey: 2, Step: 1, Handler: lcsCommand},
		&Command{Name: "setbit", Arity: 4, Flags: wr, Group: "bitmap", FirstKey: 1, LastKey: 1, Step: 1, Handler: setbitCommand},
		&Command{Name: "getbit", Arity: 3, Flags: FlagReadOnly | FlagFast, Group: "bitmap", FirstKey: 1, LastKey: 1, Step: 1, Handler: getbitCommand},
		&Command{Name: "bitcount", Arity: -2, Flags: FlagReadOnly, Group: "bitmap", FirstKey: 1, LastKey: 1, Step: 1, Handler: bitcountCommand},
		&Command{Name: "bitpos", Arity: -3, Flags: FlagReadOnly, Group: "bitmap", FirstKey: 1, LastKey: 1, Step: 1, Handler: bitposCommand},
		&Command{Name: "bitop", Arity: -4, Flags: wr, Group: "bitmap", FirstKey: 2, LastKey: -1, Step: 1, Handler: bitopCommand},
	)
}

// getStringValue reads key as a string: (nil, true) when missing, ok false
// (WRONGTYPE sent) when it holds another type.
func getStringValue(ctx *Ctx, key []byte) (*store.String, bool) {
	v, ok := ctx.LookupKind(key, store.KindString)
	if !ok || v == nil {
		return nil, ok
	}
	return v.(*store.String), true
}

// checkStringLength refuses a string of size+add bytes beyond
// proto-max-bulk-len, the sum overflowing included, as Redis's
// checkStringLength. Our master is obeyed whatever it sends.
func checkStringLength(ctx *Ctx, size, add int64) bool {
	if ctx.C.flags&ClientMaster == 0 && !store.LengthWithin(size, add, ctx.S.hot.protoMaxBulk) {
		ctx.Error(ErrStringTooBig)
		return false
	}
	return true
}

func getCommand(ctx *Ctx) {
	b, found, ok := ctx.LookupStringBytes(ctx.Args[1])
	if !ok {
		return
	}
	if !found {
		ctx.W.Null()
		return
	}
	ctx.W.Bulk(b)
}

// ---------------------------------------------------------------- SET and friends

const (
	setNX = 1 << iota
	setXX
	setGet
	setKeepTTL
	setPersist
	setEX
	setPX
	setEXAT
	setPXAT
)

const expireFlags = setEX | setPX | setEXAT | setPXAT

// parseExtendedStringArgs parses SET's (isSet) or GETEX's options from
// position start, as Redis's parseExtendedStringArgumentsOrReply. It
// returns the flags and the index of the expire argument (0 if none).
func parseExtendedStringArgs(ctx *Ctx, start int, isSet bool) (flags int, expireArg int, ok bool) {
	args := ctx.Args
	for j := start; j < len(args); j++ {
		hasNext := j+1 < len(args)
		switch {
		case ctx.ArgIs(j, "nx") && flags&setXX == 0 && isSet:
			flags |= setNX
		case ctx.ArgIs(j, "xx") && flags&setNX == 0 && isSet:
			flags |= setXX
		case ctx.ArgIs(j, "get") && isSet:
			flags |= setGet
		case ctx.ArgIs(j, "keepttl") && flags&(setPersist|expireFlags) == 0 && isSet:
			flags |= setKeepTTL
		case ctx.ArgIs(j, "persist") && !isSet && flags&(expireFlags|setKeepTTL) == 0:
			flags |= setPersist
		case ctx.ArgIs(j, "ex") && flags&(setKeepTTL|setPersist|setEXAT|setPX|setPXAT) == 0 && hasNext:
			flags |= setEX
			expireArg = j + 1
			j++
		case ctx.ArgIs(j, "px") && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPXAT) == 0 && hasNext:
			flags |= setPX
			expireArg = j + 1
			j++
		case ctx.ArgIs(j, "exat") && flags&(setKeepTTL|setPersist|setEX|setPX|setPXAT) == 0 && hasNext:
			flags |= setEXAT
			expireArg = j + 1
			j++
		case ctx.ArgIs(j, "pxat") && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPX) == 0 && hasNext:
			flags |= setPXAT
			expireArg = j + 1
			j++
		default:
			ctx.Error(ErrSyntax)
			return 0, 0, false
		}
	}
	return flags, expireArg, true
}

// expireErr is Redis's addReplyErrorExpireTime.
func expireErr(ctx *Ctx) {
	ctx.Errorf("ERR invalid expire time in '%s' command", ctx.Cmd.FullName())
}

// expireMillis turns an EX/PX/EXAT/PXAT argument into an absolute unix ms
// time, as getExpireMillisecondsOrReply.
func expireMillis(ctx *Ctx, arg []byte, flags int) (int64, bool) {
	ms, ok := resp.ParseInt(arg)
	if !ok {
		ctx.Error(ErrNotInteger)
		return 0, false
	}
	seconds := flags&(setEX|setEXAT) != 0
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		expireErr(ctx)
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if flags&(setEX|setPX) != 0 {
		if ms > math.MaxInt64-ctx.NowMs {
			expireErr(ctx)
			return 0, false
		}
		ms += ctx.NowMs
	}
	return ms, true
}

// setGeneric is Redis's setGenericCommand. nxReply/xx: what NX/XX failure
// replies when GET is absent (nil for SET, 0 for SETNX).
func setGeneric(ctx *Ctx, flags int, key, val []byte, expireArg []byte, okReply func(), abortReply func()) {
	var when int64
	if expireArg != nil {
		ms, ok := expireMillis(ctx, expireArg, flags)
		if !ok {
			return
		}
		when = ms
	}
	if flags&setGet != 0 {
		sv, ok := getStringValue(ctx, key)
		if !ok {
			return
		}
		if sv == nil {
			ctx.W.Null()
		} else {
			ctx.W.Bulk(sv.B)
		}
	}
	if flags&(setNX|setXX) != 0 {
		found := ctx.Exists(key)
		if (flags&setNX != 0 && found) || (flags&setXX != 0 && !found) {
			if flags&setGet == 0 {
				abortReply()
			}
			return
		}
	} else {
		// Only lazy expiry matters here (Redis's lookupKeyWrite): the
		// store finds the key itself, once.
		ctx.expired(key)
	}
	ctx.SetStringKey(key, val, flags&setKeepTTL != 0)
	ctx.Modified(1)
	ctx.Notify(NotifyString, "set", key)
	if expireArg != nil {
		ctx.DB.SetExpireAt(string(key), when)
		ctx.Notify(NotifyGeneric, "expire", key)
		// Propagate an absolute time so replicas expire at the same
		// instant whatever their clock or the link delay. Redis 7.0
		// rewrites every form, SET ... PXAT included (dropping NX, XX
		// and GET).
		ctx.Rewrite([]byte("SET"), key, val, []byte("PXAT"), strconv.AppendInt(nil, when, 10))
	} else if flags&setGet != 0 {
		// Propagated without GET (which may be repeated), as Redis.
		var args [][]byte
		for j, a := range ctx.Args {
			if j >= 3 && ctx.ArgIs(j, "get") {
				continue
			}
			args = append(args, a)
		}
		ctx.Rewrite(args...)
	}
	if flags&setGet == 0 {
		okReply()
	}
}

func setCommand(ctx *Ctx) {
	flags, expireAt, ok := parseExtendedStringArgs(ctx, 3, true)
	if !ok {
		return
	}
	var exp []byte
	if expireAt > 0 {
		exp = ctx.Args[expireAt]
	}
	setGeneric(ctx, flags, ctx.Args[1], ctx.Args[2], exp, ctx.W.OK, ctx.W.Null)
}

func setnxCommand(ctx *Ctx) {
	setGeneric(ctx, setNX, ctx.Args[1], ctx.Args[2], nil, func() { ctx.W.Int(1) }, func() { ctx.W.Int(0) })
}

func setexCommand(ctx *Ctx) {
	setGeneric(ctx, setEX, ctx.Args[1], ctx.Args[3], ctx.Args[2], ctx.W.OK, ctx.W.Null)
}

func psetexCommand(ctx *Ctx) {
	setGeneric(ctx, setPX, ctx.Args[1], ctx.Args[3], ctx.Args[2], ctx.W.OK, ctx.W.Null)
}

func getsetCommand(ctx *Ctx) {
	sv, ok := getStringValue(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if sv == nil {
		ctx.W.Null()
	} else {
		ctx.W.Bulk(sv.B)
	}
	ctx.SetStringKey(ctx.Args[1], ctx.Args[2], false)
	ctx.Notify(NotifyString, "set", ctx.Args[1])
	ctx.Modified(1)
	ctx.Rewrite([]byte("SET"), ctx.Args[1], ctx.Args[2])
}

func getdelCommand(ctx *Ctx) {
	sv, ok := getStringValue(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if sv == nil {
		ctx.W.Null()
		return
	}
	ctx.W.Bulk(sv.B)
	ctx.DeleteKey(ctx.Args[1])
	ctx.Notify(NotifyGeneric, "del", ctx.Args[1])
	ctx.Modified(1)
	ctx.Rewrite([]byte("DEL"), ctx.Args[1])
}

func getexCommand(ctx *Ctx) {
	flags, expireAt, ok := parseExtendedStringArgs(ctx, 2, false)
	if !ok {
		return
	}
	// As getexCommand: options, then the key (nil, WRONGTYPE), then the
	// expire value.
	key := ctx.Args[1]
	sv, ok := getStringValue(ctx, key)
	if !ok {
		return
	}
	if sv == nil {
		ctx.W.Null()
		return
	}
	var when int64
	if expireAt > 0 {
		if when, ok = expireMillis(ctx, ctx.Args[expireAt], flags); !ok {
			return
		}
	}
	ctx.W.Bulk(sv.B)
	switch {
	case expireAt > 0 && when <= ctx.NowMs && !ctx.S.Loading && !ctx.S.IsReplica():
		// An absolute time in the past deletes the key, as Redis does.
		ctx.DeleteKey(key)
		ctx.Notify(NotifyGeneric, "del", key)
		ctx.Modified(1)
		ctx.Rewrite([]byte("DEL"), key)
	case expireAt > 0:
		ctx.DB.SetExpireAt(string(key), when)
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(NotifyGeneric, "expire", key)
		ctx.Modified(1)
		ctx.Rewrite([]byte("PEXPIREAT"), key, strconv.AppendInt(nil, when, 10))
	case flags&setPersist != 0:
		if ctx.DB.Persist(string(key)) {
			ctx.S.signalModifiedKey(ctx.DBNum, key)
			ctx.Notify(NotifyGeneric, "persist", key)
			ctx.Modified(1)
			ctx.Rewrite([]byte("PERSIST"), key)
		}
	}
}

// ---------------------------------------------------------------- APPEND, STRLEN, ranges

func appendCommand(ctx *Ctx) {
	key, add := ctx.Args[1], ctx.Args[2]
	v, ok := ctx.LookupWriteKind(key, store.KindString)
	if !ok {
		return
	}
	var total int
	if v == nil {
		ctx.SetStringKey(key, add, false)
		total = len(add)
	} else {
		sv := v.(*store.String)
		if !checkStringLength(ctx, int64(len(sv.B)), int64(len(add))) {
			return
		}
		sv.B = append(sv.B, add...)
		sv.Enc = store.EncRaw
		total = len(sv.B)
		ctx.S.signalModifiedKey(ctx.DBNum, key)
	}
	ctx.Notify(NotifyString, "append", key)
	ctx.Modified(1)
	ctx.W.Int(int64(total))
}

func strlenCommand(ctx *Ctx) {
	sv, ok := getStringValue(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if sv == nil {
		ctx.W.Int(0)
		return
	}
	ctx.W.Int(int64(len(sv.B)))
}

func setrangeCommand(ctx *Ctx) {
	key, val := ctx.Args[1], ctx.Args[3]
	offset, ok := ctx.Int(2)
	if !ok {
		return
	}
	if offset < 0 {
		ctx.Error("ERR offset is out of range")
		return
	}
	v, ok := ctx.LookupWriteKind(key, store.KindString)
	if !ok {
		return
	}
	if v == nil {
		if len(val) == 0 {
			ctx.W.Int(0)
			return
		}
		if !checkStringLength(ctx, offset, int64(len(val))) {
			return
		}
		b := make([]byte, int(offset)+len(val))
		copy(b[offset:], val)
		ctx.SetKey(key, store.NewRawString(b), false)
		ctx.Notify(NotifyString, "setrange", key)
		ctx.Modified(1)
		ctx.W.Int(int64(len(b)))
		return
	}
	sv := v.(*store.String)
	if len(val) == 0 {
		ctx.W.Int(int64(len(sv.B)))
		return
	}
	if !checkStringLength(ctx, offset, int64(len(val))) {
		return
	}
	if need := int(offset) + len(val); need > len(sv.B) {
		sv.B = append(sv.B, make([]byte, need-len(sv.B))...)
	}
	copy(sv.B[offset:], val)
	sv.Enc = store.EncRaw
	ctx.S.signalModifiedKey(ctx.DBNum, key)
	ctx.Notify(NotifyString, "setrange", key)
	ctx.Modified(1)
	ctx.W.Int(int64(len(sv.B)))
}

func getrangeCommand(ctx *Ctx) {
	start, ok := ctx.Int(2)
	if !ok {
		return
	}
	end, ok := ctx.Int(3)
	if !ok {
		return
	}
	sv, ok := getStringValue(ctx, ctx.Args[1])
	if !ok {
		return
	}
	if sv == nil {
		ctx.W.BulkString("")
		return
	}
	n := int64(len(sv.B))
	if start < 0 && end < 0 && start > end {
		ctx.W.BulkString("")
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		ctx.W.BulkString("")
		return
	}
	ctx.W.Bulk(sv.B[start : end+1])
}

// ---------------------------------------------------------------- counters

// incrDecr adds by to the integer under key, as incrDecrCommand. The
// result replaces the value as a new int-encoded string (the key keeps its
// expiry, as dbOverwrite), written into the keyspace's compact storage:
// nothing is allocated.
func incrDecr(ctx *Ctx, by int64) {
	key := ctx.Args[1]
	b, found, ok := ctx.lookupWriteStringBytes(key)
	if !ok {
		return
	}
	var cur int64
	if found {
		n, ok := resp.ParseInt(b)
		if !ok {
			ctx.Error(ErrNotInteger)
			return
		}
		cur = n
	}
	if (by < 0 && cur < 0 && by < math.MinInt64-cur) || (by > 0 && cur > 0 && by > math.MaxInt64-cur) {
		ctx.Error(ErrOverflow)
		return
	}
	cur += by
	var digits [20]byte
	nb := strconv.AppendInt(digits[:0], cur, 10)
	if found {
		ctx.DB.SetString(key, nb, store.EncTried, true, ctx.NowMs)
		ctx.S.signalModifiedKey(ctx.DBNum, key)
	} else {
		ctx.SetStringKey(key, nb, false)
	}
	ctx.Notify(NotifyString, "incrby", key)
	ctx.Modified(1)
	ctx.W.Int(cur)
}

func incrCommand(ctx *Ctx) { incrDecr(ctx, 1) }
func decrCommand(ctx *Ctx) { incrDecr(ctx, -1) }

func incrbyCommand(ctx *Ctx) {
	if by, ok := ctx.Int(2); ok {
		incrDecr(ctx, by)
	}
}

func decrbyCommand(ctx *Ctx) {
	by, ok := ctx.Int(2)
	if !ok {
		return
	}
	if by == math.MinInt64 {
		ctx.Error("ERR decrement would overflow")
		return
	}
	incrDecr(ctx, -by)
}

// longDoublePrec is the mantissa of x87 long double, which Redis uses for
// INCRBYFLOAT: computing with it makes results print like Redis's.
const longDoublePrec = 64

// maxLongDoubleChars is string2ld's buffer: longer input is refused.
const maxLongDoubleChars = 5 * 1024

// parseLongDouble parses as strtold for INCRBYFLOAT (no spaces, no NaN).
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars || isSpaceByte(b[0]) || isSpaceByte(b[len(b)-1]) {
		return nil, false
	}
	s := string(b)
	switch strings.ToLower(strings.TrimPrefix(s, "+")) {
	case "inf", "infinity":
		return new(big.Float).SetInf(false), true
	case "-inf", "-infinity":
		return new(big.Float).SetInf(true), true
	}
	if strings.ContainsAny(s, "_pP") && !strings.HasPrefix(strings.ToLower(strings.TrimLeft(s, "+-")), "0x") {
		return nil, false
	}
	f, _, err := big.ParseFloat(s, 0, longDoublePrec, big.ToNearestEven)
	if err != nil {
		return nil, false
	}
	// strtold underflows to 0 below the smallest subnormal long double,
	// 2^-16445, and overflows to HUGE_VALL from 2^16384: both ERANGE,
	// refused by string2ld.
	if exp := f.MantExp(nil); f.Sign() != 0 && !f.IsInf() && (exp < -16444 || exp > 16384) {
		return nil, false
	}
	return f, true
}

// formatLongDouble prints as Redis's ld2string in human mode: %.17Lf with
// trailing zeros (and a trailing dot) removed.
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func incrbyfloatCommand(ctx *Ctx) {
	key := ctx.Args[1]
	// The key's type, then its value, then the increment, as Redis.
	v, ok := ctx.LookupWriteKind(key, store.KindString)
	if !ok {
		return
	}
	cur := new(big.Float).SetPrec(longDoublePrec)
	if v != nil {
		c, ok := parseLongDouble(v.(*store.String).B)
		if !ok {
			ctx.Error(ErrNotFloat)
			return
		}
		cur = c
	}
	incr, ok := parseLongDouble(ctx.Args[2])
	if !ok {
		ctx.Error(ErrNotFloat)
		return
	}
	if cur.IsInf() || incr.IsInf() {
		ctx.Error("ERR increment would produce NaN or Infinity")
		return
	}
	sum := new(big.Float).SetPrec(longDoublePrec).Add(cur, incr)
	// Beyond long double's range the C sum would be inf.
	if exp := sum.MantExp(nil); exp > 16384 {
		ctx.Error("ERR increment would produce NaN or Infinity")
		return
	}
	out := []byte(formatLongDouble(sum))
	// createStringObjectFromLongDouble: embstr or raw, never int.
	if v != nil {
		*v.(*store.String) = store.String{B: out, Enc: store.EncNoInt}
		ctx.S.signalModifiedKey(ctx.DBNum, key)
	} else {
		ctx.SetKey(key, &store.String{B: out, Enc: store.EncNoInt}, false)
	}
	ctx.Notify(NotifyString, "incrbyfloat", key)
	ctx.Modified(1)
	ctx.W.Bulk(out)
	// Float arithmetic may differ between hosts: replicate the result.
	ctx.Rewrite([]byte("SET"), key, out, []byte("KEEPTTL"))
}

// ---------------------------------------------------------------- multi-key

func mgetCommand(ctx *Ctx) {
	ctx.W.ArrayLen(len(ctx.Args) - 1)
	for _, k := range ctx.Args[1:] {
		v := ctx.Lookup(k)
		if sv, ok := v.(*store.String); ok {
			ctx.W.Bulk(sv.B)
		} else {
			ctx.W.Null()
		}
	}
}

// msetGeneric implements MSET and MSETNX.
func msetGeneric(ctx *Ctx, nx bool) {
	if len(ctx.Args)%2 == 0 {
		ctx.ArityError()
		return
	}
	if nx {
		for j := 1; j < len(ctx.Args); j += 2 {
			if ctx.Exists(ctx.Args[j]) {
				ctx.W.Int(0)
				return
			}
		}
	}
	for j := 1; j < len(ctx.Args); j += 2 {
		if !nx {
			// Lazy expiry first, as setKey's lookupKeyWrite: an expired
			// key is deleted (DEL propagated, `expired` event) before the
			// new value goes in. MSETNX's Exists did it already.
			ctx.expired(ctx.Args[j])
		}
		ctx.SetStringKey(ctx.Args[j], ctx.Args[j+1], false)
		ctx.Notify(NotifyString, "set", ctx.Args[j])
	}
	ctx.Modified(int64(len(ctx.Args)-1) / 2)
	if nx {
		ctx.W.Int(1)
	} else {
		ctx.W.OK()
	}
}

func msetCommand(ctx *Ctx)   { msetGeneric(ctx, false) }
func msetnxCommand(ctx *Ctx) { msetGeneric(ctx, true) }

// ---------------------------------------------------------------- LCS

// lcsLength is the length of the longest common subsequence of a and b,
// keeping two rows of the dynamic programming table.
func lcsLength(a, b []byte) uint32 {
	prev, cur := make([]uint32, len(b)+1), make([]uint32, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] > cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func lcsCommand(ctx *Ctx) {
	var a, b []byte
	for i, k := range ctx.Args[1:3] {
		v := ctx.Lookup(k)
		if v == nil {
			continue
		}
		sv, ok := v.(*store.String)
		if !ok {
			ctx.Error("ERR The specified keys must contain string values")
			return
		}
		if i == 0 {
			a = sv.B
		} else {
			b = sv.B
		}
	}
	getLen, getIdx, withLen := false, false, false
	var minLen int64
	for j := 3; j < len(ctx.Args); j++ {
		switch {
		case ctx.ArgIs(j, "idx"):
			getIdx = true
		case ctx.ArgIs(j, "len"):
			getLen = true
		case ctx.ArgIs(j, "withmatchlen"):
			withLen = true
		case ctx.ArgIs(j, "minmatchlen") && j+1 < len(ctx.Args):
			n, ok := ctx.Int(j + 1)
			if !ok {
				return
			}
			if n < 0 {
				n = 0
			}
			minLen = n
			j++
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	if getLen && getIdx {
		ctx.Error("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	// Redis refuses when its (len(a)+1)*(len(b)+1) table of uint32 would
	// exceed proto-max-bulk-len, whatever was asked for; LEN alone then
	// needs only two rows here.
	if len(a) >= math.MaxUint32-1 || len(b) >= math.MaxUint32-1 {
		ctx.Error("ERR String too long for LCS")
		return
	}
	cells := uint64(len(a)+1) * uint64(len(b)+1)
	if cells > uint64(ctx.S.hot.protoMaxBulk)/4 {
		ctx.Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
		return
	}
	if getLen {
		ctx.W.Int(int64(lcsLength(a, b)))
		return
	}
	// Dynamic programming table, as Redis: lcs[i][j] is the LCS length of
	// a[:i] and b[:j]. The walk back through it picks the same LCS as
	// Redis when several exist.
	w := len(b) + 1
	tbl := make([]uint32, (len(a)+1)*w)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				tbl[i*w+j] = tbl[(i-1)*w+j-1] + 1
			} else if x, y := tbl[(i-1)*w+j], tbl[i*w+j-1]; x > y {
				tbl[i*w+j] = x
			} else {
				tbl[i*w+j] = y
			}
		}
	}
	idx := int(tbl[len(a)*w+len(b)])
	result := make([]byte, idx)
	type match struct{ a0, a1, b0, b1 int }
	var matches []match
	i, j := len(a), len(b)
	arangeStart, arangeEnd, brangeStart, brangeEnd := len(a), 0, 0, 0
	for i > 0 && j > 0 {
		emitRange := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if arangeStart == len(a) {
				arangeStart, arangeEnd = i-1, i-1
				brangeStart, brangeEnd = j-1, j-1
			} else if arangeStart == i && brangeStart == j {
				arangeStart--
				brangeStart--
			} else {
				emitRange = true
			}
			if arangeStart == 0 || brangeStart == 0 {
				emitRange = true
			}
			idx--
			i--
			j--
		} else {
			if tbl[(i-1)*w+j] > tbl[i*w+j-1] {
				i--
			} else {
				j--
			}
			if arangeStart != len(a) {
				emitRange = true
			}
		}
		if emitRange {
			if int64(arangeEnd-arangeStart+1) >= minLen && getIdx {
				matches = append(matches, match{arangeStart, arangeEnd, brangeStart, brangeEnd})
			}
			arangeStart = len(a)
		}
	}
	if !getIdx {
		ctx.W.Bulk(result)
		return
	}
	ctx.W.MapLen(2)
	ctx.W.BulkString("matches")
	ctx.W.ArrayLen(len(matches))
	for _, m := range matches {
		if withLen {
			ctx.W.ArrayLen(3)
		} else {
			ctx.W.ArrayLen(2)
		}
		ctx.W.ArrayLen(2)
		ctx.W.Int(int64(m.a0))
		ctx.W.Int(int64(m.a1))
		ctx.W.ArrayLen(2)
		ctx.W.Int(int64(m.b0))
		ctx.W.Int(int64(m.b1))
		if withLen {
			ctx.W.Int(int64(m.a1 - m.a0 + 1))
		}
	}
	ctx.W.BulkString("len")
	ctx.W.Int(int64(len(result)))
}
