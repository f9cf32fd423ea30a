package server

import (
	"math"

	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- BITFIELD
//
// BITFIELD and BITFIELD_RO as Redis 7.0's bitfieldGeneric (bitops.c):
// integers of 1..64 bits (unsigned up to 63) at any bit offset, big-endian
// bit order as SETBIT, with WRAP / SAT / FAIL overflow. The integer
// helpers below are pure; the handler parses every operation before
// touching the key, as Redis does.

func init() {
	register(
		&Command{Name: "bitfield", Arity: -2, Flags: FlagWrite | FlagDenyOOM, Group: "bitmap", FirstKey: 1, LastKey: 1, Step: 1, Handler: bitfieldCommand},
		&Command{Name: "bitfield_ro", Arity: -2, Flags: FlagReadOnly | FlagFast, Group: "bitmap", FirstKey: 1, LastKey: 1, Step: 1, Handler: bitfieldROCommand},
	)
}

const (
	bfWrap = iota
	bfSat
	bfFail
)

const errBitfieldType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

// getUnsignedBitfield reads bits bits at bit offset of p (MSB first).
func getUnsignedBitfield(p []byte, offset, bits uint64) uint64 {
	var v uint64
	for j := uint64(0); j < bits; j++ {
		v = v<<1 | uint64(p[offset>>3]>>(7-offset&7))&1
		offset++
	}
	return v
}

func getSignedBitfield(p []byte, offset, bits uint64) int64 {
	v := int64(getUnsignedBitfield(p, offset, bits))
	if bits < 64 && v&(1<<(bits-1)) != 0 {
		v |= -1 << bits
	}
	return v
}

func setUnsignedBitfield(p []byte, offset, bits, value uint64) {
	for j := uint64(0); j < bits; j++ {
		bit := byte(value>>(bits-1-j)) & 1
		shift := 7 - offset&7
		p[offset>>3] = p[offset>>3]&^(1<<shift) | bit<<shift
		offset++
	}
}

// checkUnsignedBitfieldOverflow is Redis's: 0 if value+incr fits in bits,
// 1 on overflow, -1 on underflow, with limit the value to store for
// WRAP or SAT.
func checkUnsignedBitfieldOverflow(value uint64, incr int64, bits uint64, owtype int) (int, uint64) {
	max := uint64(1)<<bits - 1
	if bits == 64 {
		max = math.MaxUint64
	}
	maxincr := int64(max - value)
	minincr := -int64(value)
	wrap := func() (int, uint64) { return 1, (value + uint64(incr)) &^ (math.MaxUint64 << bits) }
	if value > max || (incr > 0 && incr > maxincr) {
		switch owtype {
		case bfWrap:
			return wrap()
		case bfSat:
			return 1, max
		}
		return 1, 0
	} else if incr < 0 && incr < minincr {
		switch owtype {
		case bfWrap:
			return wrap()
		case bfSat:
			return -1, 0
		}
		return -1, 0
	}
	return 0, 0
}

// checkSignedBitfieldOverflow is the signed counterpart.
func checkSignedBitfieldOverflow(value, incr int64, bits uint64, owtype int) (int, int64) {
	max := int64(1)<<(bits-1) - 1
	if bits == 64 {
		max = math.MaxInt64
	}
	min := -max - 1
	maxincr := int64(uint64(max) - uint64(value))
	minincr := min - value
	wrap := func() (int, int64) {
		c := uint64(value) + uint64(incr)
		if bits < 64 {
			mask := uint64(math.MaxUint64) << bits
			if c&(1<<(bits-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return 1, int64(c)
	}
	if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
		switch owtype {
		case bfWrap:
			return wrap()
		case bfSat:
			return 1, max
		}
		return 1, 0
	} else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
		switch owtype {
		case bfWrap:
			return wrap()
		case bfSat:
			return -1, min
		}
		return -1, 0
	}
	return 0, 0
}

// bitfieldOp is one parsed GET / SET / INCRBY.
type bitfieldOp struct {
	offset uint64
	i64    int64
	op     byte // 'g', 's', 'i'
	owtype int
	bits   uint64
	signed bool
}

// bitfieldType parses i1..i64 / u1..u63.
func bitfieldType(ctx *Ctx, arg []byte) (signed bool, bits uint64, ok bool) {
	if len(arg) == 0 || (arg[0] != 'i' && arg[0] != 'u') {
		ctx.Error(errBitfieldType)
		return false, 0, false
	}
	signed = arg[0] == 'i'
	n, nok := store.ParseCanonicalInt(arg[1:])
	if !nok || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		ctx.Error(errBitfieldType)
		return false, 0, false
	}
	return signed, uint64(n), true
}

// bitfieldOffset parses an offset, "#n" meaning n*bits.
func bitfieldOffset(ctx *Ctx, arg []byte, bits uint64) (uint64, bool) {
	useHash := len(arg) > 0 && arg[0] == '#'
	if useHash {
		arg = arg[1:]
	}
	n, ok := store.ParseCanonicalInt(arg)
	if ok && useHash {
		n *= int64(bits)
	}
	if !ok || n < 0 || (ctx.C.flags&ClientMaster == 0 && n>>3 >= ctx.S.hot.protoMaxBulk) {
		ctx.Error("ERR bit offset is not an integer or out of range")
		return 0, false
	}
	return uint64(n), true
}

func bitfieldCommand(ctx *Ctx)   { bitfieldGeneric(ctx, false) }
func bitfieldROCommand(ctx *Ctx) { bitfieldGeneric(ctx, true) }

func bitfieldGeneric(ctx *Ctx, readonlyCmd bool) {
	var ops []bitfieldOp
	owtype := bfWrap
	readonly := true
	var highest uint64
	args := ctx.Args
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		var op byte
		switch {
		case equalFold(args[j], "get") && rem >= 2:
			op = 'g'
		case equalFold(args[j], "set") && rem >= 3:
			op = 's'
		case equalFold(args[j], "incrby") && rem >= 3:
			op = 'i'
		case equalFold(args[j], "overflow") && rem >= 1:
			j++
			switch {
			case equalFold(args[j], "wrap"):
				owtype = bfWrap
			case equalFold(args[j], "sat"):
				owtype = bfSat
			case equalFold(args[j], "fail"):
				owtype = bfFail
			default:
				ctx.Error("ERR Invalid OVERFLOW type specified")
				return
			}
			continue
		default:
			ctx.Error(ErrSyntax)
			return
		}
		signed, bits, ok := bitfieldType(ctx, args[j+1])
		if !ok {
			return
		}
		offset, ok := bitfieldOffset(ctx, args[j+2], bits)
		if !ok {
			return
		}
		var i64 int64
		if op != 'g' {
			readonly = false
			if highest < offset+bits-1 {
				highest = offset + bits - 1
			}
			if i64, ok = ctx.Int(j + 3); !ok {
				return
			}
		}
		ops = append(ops, bitfieldOp{offset: offset, i64: i64, op: op, owtype: owtype, bits: bits, signed: signed})
		if op == 'g' {
			j += 2
		} else {
			j += 3
		}
	}

	key := args[1]
	var sv *store.String
	dirty := false
	if readonly {
		v, ok := ctx.LookupKind(key, store.KindString)
		if !ok {
			return
		}
		if v != nil {
			sv = v.(*store.String)
		}
	} else {
		if readonlyCmd {
			ctx.Error("ERR BITFIELD_RO only supports the GET subcommand")
			return
		}
		v, ok := ctx.LookupWriteKind(key, store.KindString)
		if !ok {
			return
		}
		need := int(highest>>3) + 1
		if v == nil {
			sv = store.NewString(make([]byte, need))
			ctx.SetKey(key, sv, false)
			dirty = true
		} else {
			sv = v.(*store.String)
			if len(sv.B) < need {
				sv.B = append(sv.B, make([]byte, need-len(sv.B))...)
				dirty = true
			}
		}
	}

	ctx.W.ArrayLen(len(ops))
	changes := 0
	for _, o := range ops {
		if o.op == 'g' {
			// Read through a zero-padded 9-byte window, as Redis.
			var buf [9]byte
			byteIdx := o.offset >> 3
			if sv != nil && byteIdx < uint64(len(sv.B)) {
				copy(buf[:], sv.B[byteIdx:])
			}
			off := o.offset - byteIdx*8
			if o.signed {
				ctx.W.Int(getSignedBitfield(buf[:], off, o.bits))
			} else {
				ctx.W.Int(int64(getUnsignedBitfield(buf[:], off, o.bits)))
			}
			continue
		}
		if o.signed {
			oldval := getSignedBitfield(sv.B, o.offset, o.bits)
			var newval, retval int64
			var overflow int
			var wrapped int64
			if o.op == 'i' {
				overflow, wrapped = checkSignedBitfieldOverflow(oldval, o.i64, o.bits, o.owtype)
				newval = oldval + o.i64
				if overflow != 0 {
					newval = wrapped
				}
				retval = newval
			} else {
				newval = o.i64
				if overflow, wrapped = checkSignedBitfieldOverflow(newval, 0, o.bits, o.owtype); overflow != 0 {
					newval = wrapped
				}
				retval = oldval
			}
			if overflow != 0 && o.owtype == bfFail {
				ctx.W.Null()
				continue
			}
			ctx.W.Int(retval)
			setUnsignedBitfield(sv.B, o.offset, o.bits, uint64(newval))
			if dirty || oldval != newval {
				changes++
			}
		} else {
			oldval := getUnsignedBitfield(sv.B, o.offset, o.bits)
			var newval, retval, wrapped uint64
			var overflow int
			if o.op == 'i' {
				newval = oldval + uint64(o.i64)
				if overflow, wrapped = checkUnsignedBitfieldOverflow(oldval, o.i64, o.bits, o.owtype); overflow != 0 {
					newval = wrapped
				}
				retval = newval
			} else {
				newval = uint64(o.i64)
				if overflow, wrapped = checkUnsignedBitfieldOverflow(newval, 0, o.bits, o.owtype); overflow != 0 {
					newval = wrapped
				}
				retval = oldval
			}
			if overflow != 0 && o.owtype == bfFail {
				ctx.W.Null()
				continue
			}
			ctx.W.Int(int64(retval))
			setUnsignedBitfield(sv.B, o.offset, o.bits, newval)
			if dirty || oldval != newval {
				changes++
			}
		}
	}
	if changes > 0 {
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(notifyString, "setbit", key)
		ctx.Modified(int64(changes))
	}
}
