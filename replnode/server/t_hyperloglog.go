package server

import (
	"github.com/replnode/replnode/replnode/hll"
	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- HyperLogLog
//
// PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST as Redis 7.0's
// hyperloglog.c. An HLL is a string value; its encoding lives in package
// hll, these handlers only look keys up, reply and propagate.

func init() {
	register(
		&Command{Name: "pfadd", Arity: -2, Flags: FlagWrite | FlagDenyOOM | FlagFast, Group: "hyperloglog", FirstKey: 1, LastKey: 1, Step: 1, Handler: pfaddCommand},
		&Command{Name: "pfcount", Arity: -2, Flags: FlagReadOnly | FlagMayReplicate, Group: "hyperloglog", FirstKey: 1, LastKey: -1, Step: 1, Handler: pfcountCommand},
		&Command{Name: "pfmerge", Arity: -2, Flags: FlagWrite | FlagDenyOOM, Group: "hyperloglog", FirstKey: 1, LastKey: -1, Step: 1, Handler: pfmergeCommand},
		&Command{Name: "pfdebug", Arity: 3, Flags: FlagWrite | FlagDenyOOM | FlagAdmin, Group: "hyperloglog", FirstKey: 2, LastKey: 2, Step: 1, Handler: pfdebugCommand},
		&Command{Name: "pfselftest", Arity: 1, Flags: FlagAdmin, Group: "hyperloglog", Handler: pfselftestCommand},
	)
}

const errNotHLL = "WRONGTYPE Key is not a valid HyperLogLog string value."

// hllValue checks that v (a live value) is a valid HLL string, replying
// Redis's error otherwise (isHLLObjectOrReply).
func hllValue(ctx *Ctx, v store.Value) (*store.String, bool) {
	if v.Kind() != store.KindString {
		ctx.Error(ErrWrongType)
		return nil, false
	}
	sv := v.(*store.String)
	if !hll.Valid(sv.B) {
		ctx.Error(errNotHLL)
		return nil, false
	}
	return sv, true
}

func hllSparseMaxBytes(ctx *Ctx) int { return int(ctx.S.Config.Int("hll-sparse-max-bytes")) }

func pfaddCommand(ctx *Ctx) {
	key := ctx.Args[1]
	updated := 0
	var sv *store.String
	if v := ctx.LookupWrite(key); v == nil {
		sv = store.NewString(hll.New())
		ctx.SetKey(key, sv, false)
		updated++
	} else {
		var ok bool
		if sv, ok = hllValue(ctx, v); !ok {
			return
		}
	}
	maxBytes := hllSparseMaxBytes(ctx)
	for _, ele := range ctx.Args[2:] {
		b, changed, err := hll.Add(sv.B, ele, maxBytes)
		sv.B = b // Redis edits in place: keep what was done before an error
		if err != nil {
			ctx.Error(err.Error())
			return
		}
		if changed {
			updated++
		}
	}
	if updated > 0 {
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(notifyString, "pfadd", key)
		ctx.Modified(int64(updated))
		hll.InvalidateCache(sv.B)
		ctx.W.Int(1)
		return
	}
	ctx.W.Int(0)
}

// mergeHLLKeys merges the registers of the HyperLogLogs at keys (missing
// keys skipped) into max, for PFCOUNT of several keys and PFMERGE; dense
// reports whether any of them was dense.
func mergeHLLKeys(ctx *Ctx, keys [][]byte, max *[hll.Registers]uint8) (dense, ok bool) {
	for _, key := range keys {
		v := ctx.Lookup(key)
		if v == nil {
			continue
		}
		sv, ok := hllValue(ctx, v)
		if !ok {
			return false, false
		}
		if !hll.IsSparse(sv.B) {
			dense = true
		}
		if err := hll.Merge(max, sv.B); err != nil {
			ctx.Error(err.Error())
			return false, false
		}
	}
	return dense, true
}

func pfcountCommand(ctx *Ctx) {
	if len(ctx.Args) > 2 {
		var max [hll.Registers]uint8
		if _, ok := mergeHLLKeys(ctx, ctx.Args[1:], &max); !ok {
			return
		}
		ctx.W.Int(int64(hll.CountRegisters(&max)))
		return
	}
	key := ctx.Args[1]
	v := ctx.Lookup(key)
	if v == nil {
		ctx.W.Int(0)
		return
	}
	if _, ok := hllValue(ctx, v); !ok {
		return
	}
	sv := ctx.LookupWrite(key).(*store.String)
	card, rewrote, err := hll.Count(sv.B)
	if err != nil {
		ctx.Error(err.Error())
		return
	}
	if rewrote {
		// A read-only command that changed the string's cached
		// cardinality: Redis propagates it as is (may-replicate).
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Modified(1)
		ctx.Propagate(ctx.Args...)
	}
	ctx.W.Int(int64(card))
}

func pfmergeCommand(ctx *Ctx) {
	var max [hll.Registers]uint8
	useDense, ok := mergeHLLKeys(ctx, ctx.Args[1:], &max)
	if !ok {
		return
	}
	dest := ctx.Args[1]
	var sv *store.String
	if v := ctx.LookupWrite(dest); v == nil {
		sv = store.NewString(hll.New())
		ctx.SetKey(dest, sv, false)
	} else {
		sv = v.(*store.String) // checked while merging
	}
	if useDense {
		b, err := hll.SparseToDense(sv.B)
		if err != nil {
			ctx.Error(err.Error())
			return
		}
		sv.B = b
	}
	maxBytes := hllSparseMaxBytes(ctx)
	for j, m := range max {
		if m == 0 {
			continue
		}
		// Errors are ignored as Redis does: the destination was
		// validated while merging.
		sv.B, _, _ = hll.Set(sv.B, j, m, maxBytes)
	}
	hll.InvalidateCache(sv.B)
	ctx.S.signalModifiedKey(ctx.DBNum, dest)
	ctx.Notify(notifyString, "pfadd", dest)
	ctx.Modified(1)
	ctx.W.OK()
}

func pfselftestCommand(ctx *Ctx) {
	if err := hll.SelfTest(ctx.S.rand.Uint32, hllSparseMaxBytes(ctx)); err != nil {
		ctx.Error(err.Error())
		return
	}
	ctx.W.OK()
}

func pfdebugCommand(ctx *Ctx) {
	sub := ctx.Arg(1)
	key := ctx.Args[2]
	if _, found := ctx.lookup(key); !found {
		ctx.Error("ERR The specified key does not exist")
		return
	}
	v := ctx.LookupWrite(key)
	sv, ok := hllValue(ctx, v)
	if !ok {
		return
	}
	toDense := func() (bool, bool) {
		if !hll.IsSparse(sv.B) {
			return false, true
		}
		b, err := hll.SparseToDense(sv.B)
		if err != nil {
			ctx.Error(err.Error())
			return false, false
		}
		sv.B = b
		ctx.Modified(1) // force propagation of the encoding change
		return true, true
	}
	switch {
	case equalFold(ctx.Args[1], "getreg"):
		if _, ok := toDense(); !ok {
			return
		}
		regs := hll.DenseRegisters(sv.B)
		ctx.W.ArrayLen(len(regs))
		for _, r := range regs {
			ctx.W.Int(int64(r))
		}
	case equalFold(ctx.Args[1], "decode"):
		if !hll.IsSparse(sv.B) {
			ctx.Error("ERR HLL encoding is not sparse")
			return
		}
		ctx.W.BulkString(hll.DecodeSparse(sv.B))
	case equalFold(ctx.Args[1], "encoding"):
		if hll.IsSparse(sv.B) {
			ctx.W.SimpleString("sparse")
		} else {
			ctx.W.SimpleString("dense")
		}
	case equalFold(ctx.Args[1], "todense"):
		conv, ok := toDense()
		if !ok {
			return
		}
		if conv {
			ctx.W.Int(1)
		} else {
			ctx.W.Int(0)
		}
	default:
		ctx.Errorf("ERR Unknown PFDEBUG subcommand '%s'", sub)
	}
}
