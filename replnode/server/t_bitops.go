package server

import (
	"math/bits"

	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- bit operations
//
// SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP as Redis 7.0's bitops.c. Bit 0
// is the most significant bit of the first byte. (Registered in
// t_string.go.)

// bitOffset parses a bit offset argument, as getBitOffsetFromArgument.
func bitOffset(ctx *Ctx, i int) (int64, bool) {
	n, ok := resp.ParseInt(ctx.Args[i])
	if !ok || n < 0 || (n>>3) >= ctx.S.Config.Int("proto-max-bulk-len") {
		ctx.Error("ERR bit offset is not an integer or out of range")
		return 0, false
	}
	return n, true
}

func setbitCommand(ctx *Ctx) {
	key := ctx.Args[1]
	offset, ok := bitOffset(ctx, 2)
	if !ok {
		return
	}
	on, ok := resp.ParseInt(ctx.Args[3])
	if !ok || on&^1 != 0 {
		ctx.Error("ERR bit is not an integer or out of range")
		return
	}
	v, ok := ctx.LookupWriteKind(key, store.KindString)
	if !ok {
		return
	}
	// As lookupStringForBitCommand: the value is raw from here on, and
	// the data changed only if the key was created, grew or the bit flips.
	byteIdx := int(offset >> 3)
	var sv *store.String
	changed := false
	if v == nil {
		sv = store.NewRawString(make([]byte, byteIdx+1))
		ctx.SetKey(key, sv, false)
		changed = true
	} else {
		sv = v.(*store.String)
		sv.Enc = store.EncRaw
		if len(sv.B) <= byteIdx {
			sv.B = append(sv.B, make([]byte, byteIdx+1-len(sv.B))...)
			changed = true
		}
	}
	mask := byte(1) << (7 - uint(offset&7))
	old := sv.B[byteIdx]&mask != 0
	if changed || old != (on == 1) {
		if on == 1 {
			sv.B[byteIdx] |= mask
		} else {
			sv.B[byteIdx] &^= mask
		}
		ctx.S.signalModifiedKey(ctx.DBNum, key)
		ctx.Notify(NotifyString, "setbit", key)
		ctx.Modified(1)
	}
	if old {
		ctx.W.Int(1)
	} else {
		ctx.W.Int(0)
	}
}

func getbitCommand(ctx *Ctx) {
	offset, ok := bitOffset(ctx, 2)
	if !ok {
		return
	}
	sv, ok := getStringValue(ctx, ctx.Args[1])
	if !ok {
		return
	}
	byteIdx := int(offset >> 3)
	if sv == nil || byteIdx >= len(sv.B) {
		ctx.W.Int(0)
		return
	}
	ctx.W.Int(int64(sv.B[byteIdx]>>(7-uint(offset&7))) & 1)
}

// bitAt returns bit i of b.
func bitAt(b []byte, i int64) int { return int(b[i>>3]>>(7-uint(i&7))) & 1 }

// normalizeRange applies Redis's start/end rules to a length; empty is
// true when the range selects nothing.
func normalizeRange(start, end, total int64) (int64, int64, bool) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= total {
		end = total - 1
	}
	return start, end, start > end
}

// parseBitUnit reads the optional BYTE|BIT argument.
func parseBitUnit(ctx *Ctx, i int) (isBit bool, ok bool) {
	switch {
	case ctx.ArgIs(i, "byte"):
		return false, true
	case ctx.ArgIs(i, "bit"):
		return true, true
	}
	ctx.Error(ErrSyntax)
	return false, false
}

func bitcountCommand(ctx *Ctx) {
	v := ctx.Lookup(ctx.Args[1])
	if v == nil {
		ctx.W.Int(0)
		return
	}
	sv, isStr := v.(*store.String)
	if !isStr {
		ctx.Error(ErrWrongType)
		return
	}
	b := sv.B
	n := len(ctx.Args)
	if n == 2 {
		ctx.W.Int(popcount(b))
		return
	}
	if n != 4 && n != 5 {
		ctx.Error(ErrSyntax)
		return
	}
	start, ok := ctx.Int(2)
	if !ok {
		return
	}
	end, ok := ctx.Int(3)
	if !ok {
		return
	}
	// An empty negative range answers 0 before the unit is looked at.
	if start < 0 && end < 0 && start > end {
		ctx.W.Int(0)
		return
	}
	isBit := false
	if n == 5 {
		if isBit, ok = parseBitUnit(ctx, 4); !ok {
			return
		}
	}
	total := int64(len(b))
	if isBit {
		total <<= 3
	}
	start, end, empty := normalizeRange(start, end, total)
	if empty {
		ctx.W.Int(0)
		return
	}
	if !isBit {
		ctx.W.Int(popcount(b[start : end+1]))
		return
	}
	var count int64
	for i := start; i <= end; {
		if i&7 == 0 && i+7 <= end {
			count += int64(bits.OnesCount8(b[i>>3]))
			i += 8
			continue
		}
		count += int64(bitAt(b, i))
		i++
	}
	ctx.W.Int(count)
}

func popcount(b []byte) int64 {
	var n int
	for len(b) >= 8 {
		n += bits.OnesCount64(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
		b = b[8:]
	}
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return int64(n)
}

func bitposCommand(ctx *Ctx) {
	bit, ok := resp.ParseInt(ctx.Args[2])
	if !ok {
		ctx.Error(ErrNotInteger)
		return
	}
	if bit != 0 && bit != 1 {
		ctx.Error("ERR The bit argument must be 1 or 0.")
		return
	}
	v := ctx.Lookup(ctx.Args[1])
	if v == nil {
		if bit == 1 {
			ctx.W.Int(-1)
		} else {
			ctx.W.Int(0)
		}
		return
	}
	sv, isStr := v.(*store.String)
	if !isStr {
		ctx.Error(ErrWrongType)
		return
	}
	b := sv.B
	n := len(ctx.Args)
	isBit, endGiven := false, false
	start, end := int64(0), int64(len(b))-1
	if n > 3 {
		if n > 6 {
			ctx.Error(ErrSyntax)
			return
		}
		if start, ok = ctx.Int(3); !ok {
			return
		}
		if n == 6 {
			if isBit, ok = parseBitUnit(ctx, 5); !ok {
				return
			}
		}
		total := int64(len(b))
		if isBit {
			total <<= 3
		}
		end = total - 1
		if n >= 5 {
			if end, ok = ctx.Int(4); !ok {
				return
			}
			endGiven = true
		}
		var empty bool
		start, end, empty = normalizeRange(start, end, total)
		if empty {
			ctx.W.Int(-1)
			return
		}
	} else if start > end {
		ctx.W.Int(-1)
		return
	}
	// Work in bits from here.
	if !isBit {
		start, end = start*8, end*8+7
	}
	for i := start; i <= end; i++ {
		if int64(bitAt(b, i)) == bit {
			ctx.W.Int(i)
			return
		}
	}
	if bit == 1 || endGiven {
		ctx.W.Int(-1)
		return
	}
	// Looking for a clear bit with no explicit end: the string is
	// considered padded with zeros on the right.
	ctx.W.Int(int64(len(b)) * 8)
}

func bitopCommand(ctx *Ctx) {
	var op byte
	switch {
	case ctx.ArgIs(1, "and"):
		op = '&'
	case ctx.ArgIs(1, "or"):
		op = '|'
	case ctx.ArgIs(1, "xor"):
		op = '^'
	case ctx.ArgIs(1, "not"):
		op = '~'
	default:
		ctx.Error(ErrSyntax)
		return
	}
	dest, srcKeys := ctx.Args[2], ctx.Args[3:]
	if op == '~' && len(srcKeys) != 1 {
		ctx.Error("ERR BITOP NOT must be called with a single source key.")
		return
	}
	srcs := make([][]byte, len(srcKeys))
	maxLen := 0
	for i, k := range srcKeys {
		v := ctx.Lookup(k)
		if v == nil {
			continue
		}
		sv, isStr := v.(*store.String)
		if !isStr {
			ctx.Error(ErrWrongType)
			return
		}
		srcs[i] = sv.B
		maxLen = max(maxLen, len(sv.B))
	}
	var res []byte
	if maxLen > 0 {
		res = make([]byte, maxLen)
		for j := 0; j < maxLen; j++ {
			at := func(s []byte) byte {
				if j < len(s) {
					return s[j]
				}
				return 0
			}
			out := at(srcs[0])
			if op == '~' {
				out = ^out
			}
			for _, s := range srcs[1:] {
				switch op {
				case '&':
					out &= at(s)
				case '|':
					out |= at(s)
				case '^':
					out ^= at(s)
				}
			}
			res[j] = out
		}
	}
	if maxLen > 0 {
		ctx.SetKey(dest, store.NewRawString(res), false)
		ctx.Notify(NotifyString, "set", dest)
	} else if ctx.DeleteKey(dest) {
		ctx.Notify(NotifyGeneric, "del", dest)
	}
	ctx.Modified(1)
	ctx.W.Int(int64(maxLen))
}
