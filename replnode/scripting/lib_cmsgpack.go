package scripting

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// lua-cmsgpack 0.4.0 (deps/lua/src/lua_cmsgpack.c) as Redis ships it:
// pack, unpack, unpack_one, unpack_limit, with its encodings (integers in
// the smallest form, floats as float32 when exact, tables as arrays only
// when their keys are exactly 1..n, nesting past 16 packed as nil) and
// its errors.

const cmsgpackMaxNesting = 16

func openCmsgpack(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(mpPack))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int { return mpUnpackFull(L, 0, 0) }))
	t.RawSetString("unpack_one", L.NewFunction(func(L *lua.LState) int {
		offset := L.OptInt64(2, 0)
		L.SetTop(1)
		return mpUnpackFull(L, 1, offset)
	}))
	t.RawSetString("unpack_limit", L.NewFunction(func(L *lua.LState) int {
		limit := L.CheckInt64(2)
		offset := L.OptInt64(3, 0)
		L.SetTop(1)
		return mpUnpackFull(L, limit, offset)
	}))
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	t.RawSetString("_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	t.RawSetString("_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
	return t
}

func mpPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "MessagePack pack needs input.")
	}
	var buf []byte
	for i := 1; i <= n; i++ {
		buf = mpEncode(buf, L.Get(i), 0)
	}
	L.Push(lua.LString(buf))
	return 1
}

func mpEncode(buf []byte, v lua.LValue, level int) []byte {
	switch x := v.(type) {
	case lua.LString:
		return mpBytes(buf, string(x))
	case lua.LBool:
		if x {
			return append(buf, 0xc3)
		}
		return append(buf, 0xc2)
	case lua.LNumber:
		f := float64(x)
		if !math.IsInf(f, 0) && !math.IsNaN(f) && f >= -9.223372036854775808e18 && f < 9.223372036854775807e18 && float64(int64(f)) == f {
			return mpInt(buf, int64(f))
		}
		if float64(float32(f)) == f || math.IsNaN(f) {
			buf = append(buf, 0xca)
			return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(f)))
		}
		buf = append(buf, 0xcb)
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(f))
	case *lua.LTable:
		if level == cmsgpackMaxNesting {
			return append(buf, 0xc0)
		}
		if n, ok := mpArrayLen(x); ok {
			buf = mpHeader(buf, n, 0x90, 0xdc, 0xdd)
			for i := 1; i <= n; i++ {
				buf = mpEncode(buf, x.RawGetInt(i), level+1)
			}
			return buf
		}
		n := 0
		x.ForEach(func(_, _ lua.LValue) { n++ })
		buf = mpHeader(buf, n, 0x80, 0xde, 0xdf)
		x.ForEach(func(k, val lua.LValue) {
			buf = mpEncode(buf, k, level+1)
			buf = mpEncode(buf, val, level+1)
		})
		return buf
	}
	return append(buf, 0xc0)
}

// mpArrayLen is table_is_an_array: every key a positive integer and the
// largest equal to the count.
func mpArrayLen(t *lua.LTable) (int, bool) {
	count, max := 0, 0
	ok := true
	t.ForEach(func(k, _ lua.LValue) {
		n, isNum := k.(lua.LNumber)
		f := float64(n)
		if !isNum || f <= 0 || f != math.Trunc(f) || f > math.MaxInt32 {
			ok = false
			return
		}
		if int(f) > max {
			max = int(f)
		}
		count++
	})
	return max, ok && max == count
}

func mpHeader(buf []byte, n int, fix, b16, b32 byte) []byte {
	switch {
	case n <= 15:
		return append(buf, fix|byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(buf, b16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(buf, b32), uint32(n))
}

func mpBytes(buf []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		buf = append(buf, 0xa0|byte(n))
	case n <= 0xff:
		buf = append(buf, 0xd9, byte(n))
	case n <= 0xffff:
		buf = binary.BigEndian.AppendUint16(append(buf, 0xda), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint32(append(buf, 0xdb), uint32(n))
	}
	return append(buf, s...)
}

func mpInt(buf []byte, n int64) []byte {
	if n >= 0 {
		switch {
		case n <= 127:
			return append(buf, byte(n))
		case n <= 0xff:
			return append(buf, 0xcc, byte(n))
		case n <= 0xffff:
			return binary.BigEndian.AppendUint16(append(buf, 0xcd), uint16(n))
		case n <= 0xffffffff:
			return binary.BigEndian.AppendUint32(append(buf, 0xce), uint32(n))
		}
		return binary.BigEndian.AppendUint64(append(buf, 0xcf), uint64(n))
	}
	switch {
	case n >= -32:
		return append(buf, byte(int8(n)))
	case n >= -128:
		return append(buf, 0xd0, byte(int8(n)))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(buf, 0xd1), uint16(int16(n)))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(buf, 0xd2), uint32(int32(n)))
	}
	return binary.BigEndian.AppendUint64(append(buf, 0xd3), uint64(n))
}

// errMissing and errBadFormat are mp_cur's errors.
type mpError string

const (
	errMissing   mpError = "Missing bytes in input."
	errBadFormat mpError = "Bad data format in input."
)

func mpUnpackFull(L *lua.LState, limit, offset int64) int {
	s := L.CheckString(1)
	decodeAll := limit == 0 && offset == 0
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", int(offset), len(s))
	}
	if offset > int64(len(s)) {
		L.RaiseError("Start offset %d greater than input length %d.", int(offset), len(s))
	}
	if decodeAll {
		limit = math.MaxInt32
	}
	d := &mpDecoder{L: L, b: []byte(s[offset:])}
	var out []lua.LValue
	for cnt := int64(0); len(d.b) > 0 && cnt < limit; cnt++ {
		v, err := d.decode()
		if err != "" {
			L.RaiseError("%s", string(err))
		}
		out = append(out, v)
	}
	if !decodeAll {
		next := int64(len(s) - len(d.b))
		if len(d.b) == 0 {
			next = -1
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range out {
		L.Push(v)
	}
	if decodeAll {
		return len(out)
	}
	return len(out) + 1
}

type mpDecoder struct {
	L *lua.LState
	b []byte
}

func (d *mpDecoder) need(n int) bool { return len(d.b) >= n }

func (d *mpDecoder) decode() (lua.LValue, mpError) {
	b := d.b
	if len(b) == 0 {
		return lua.LNil, errMissing
	}
	num := func(size int, f func([]byte) lua.LValue) (lua.LValue, mpError) {
		if !d.need(1 + size) {
			return lua.LNil, errMissing
		}
		v := f(b[1 : 1+size])
		d.b = b[1+size:]
		return v, ""
	}
	str := func(hdr, n int) (lua.LValue, mpError) {
		if !d.need(hdr + n) {
			return lua.LNil, errMissing
		}
		v := lua.LString(b[hdr : hdr+n])
		d.b = b[hdr+n:]
		return v, ""
	}
	be16 := func(p []byte) int { return int(binary.BigEndian.Uint16(p)) }
	be32 := func(p []byte) int { return int(binary.BigEndian.Uint32(p)) }
	switch c := b[0]; {
	case c == 0xcc:
		return num(1, func(p []byte) lua.LValue { return lua.LNumber(p[0]) })
	case c == 0xd0:
		return num(1, func(p []byte) lua.LValue { return lua.LNumber(int8(p[0])) })
	case c == 0xcd:
		return num(2, func(p []byte) lua.LValue { return lua.LNumber(binary.BigEndian.Uint16(p)) })
	case c == 0xd1:
		return num(2, func(p []byte) lua.LValue { return lua.LNumber(int16(binary.BigEndian.Uint16(p))) })
	case c == 0xce:
		return num(4, func(p []byte) lua.LValue { return lua.LNumber(binary.BigEndian.Uint32(p)) })
	case c == 0xd2:
		return num(4, func(p []byte) lua.LValue { return lua.LNumber(int32(binary.BigEndian.Uint32(p))) })
	case c == 0xcf:
		return num(8, func(p []byte) lua.LValue { return lua.LNumber(binary.BigEndian.Uint64(p)) })
	case c == 0xd3:
		return num(8, func(p []byte) lua.LValue { return lua.LNumber(int64(binary.BigEndian.Uint64(p))) })
	case c == 0xc0:
		d.b = b[1:]
		return lua.LNil, ""
	case c == 0xc3, c == 0xc2:
		d.b = b[1:]
		return lua.LBool(c == 0xc3), ""
	case c == 0xca:
		return num(4, func(p []byte) lua.LValue { return lua.LNumber(math.Float32frombits(binary.BigEndian.Uint32(p))) })
	case c == 0xcb:
		return num(8, func(p []byte) lua.LValue { return lua.LNumber(math.Float64frombits(binary.BigEndian.Uint64(p))) })
	case c == 0xd9:
		if !d.need(2) {
			return lua.LNil, errMissing
		}
		return str(2, int(b[1]))
	case c == 0xda:
		if !d.need(3) {
			return lua.LNil, errMissing
		}
		return str(3, be16(b[1:]))
	case c == 0xdb:
		if !d.need(5) {
			return lua.LNil, errMissing
		}
		return str(5, be32(b[1:]))
	case c == 0xdc, c == 0xdd, c&0xf0 == 0x90:
		n, hdr := int(c&0xf), 1
		if c == 0xdc {
			if !d.need(3) {
				return lua.LNil, errMissing
			}
			n, hdr = be16(b[1:]), 3
		} else if c == 0xdd {
			if !d.need(5) {
				return lua.LNil, errMissing
			}
			n, hdr = be32(b[1:]), 5
		}
		d.b = b[hdr:]
		t := d.L.NewTable()
		for i := 1; i <= n; i++ {
			v, err := d.decode()
			if err != "" {
				return lua.LNil, err
			}
			t.RawSetInt(i, v)
		}
		return t, ""
	case c == 0xde, c == 0xdf, c&0xf0 == 0x80:
		n, hdr := int(c&0xf), 1
		if c == 0xde {
			if !d.need(3) {
				return lua.LNil, errMissing
			}
			n, hdr = be16(b[1:]), 3
		} else if c == 0xdf {
			if !d.need(5) {
				return lua.LNil, errMissing
			}
			n, hdr = be32(b[1:]), 5
		}
		d.b = b[hdr:]
		t := d.L.NewTable()
		for i := 0; i < n; i++ {
			k, err := d.decode()
			if err != "" {
				return lua.LNil, err
			}
			v, err := d.decode()
			if err != "" {
				return lua.LNil, err
			}
			if k != lua.LNil {
				t.RawSet(k, v)
			}
		}
		return t, ""
	case c&0x80 == 0:
		d.b = b[1:]
		return lua.LNumber(c), ""
	case c&0xe0 == 0xe0:
		d.b = b[1:]
		return lua.LNumber(int8(c)), ""
	case c&0xe0 == 0xa0:
		return str(1, int(c&0x1f))
	}
	return lua.LNil, errBadFormat
}
