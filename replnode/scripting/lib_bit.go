package scripting

import (
	"math"
	"math/bits"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openBit is LuaBitOp 1.0.2 (deps/lua/src/lua_bit.c) as Redis ships it.
func openBit(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	unary := func(f func(uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int { return bret(L, f(barg(L, 1))) }
	}
	fold := func(f func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := barg(L, 1)
			for i := L.GetTop(); i > 1; i-- {
				b = f(b, barg(L, i))
			}
			return bret(L, b)
		}
	}
	shift := func(f func(b uint32, n uint) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b, n := barg(L, 1), barg(L, 2)&31
			return bret(L, f(b, uint(n)))
		}
	}
	fns := map[string]lua.LGFunction{
		"tobit":  unary(func(b uint32) uint32 { return b }),
		"bnot":   unary(func(b uint32) uint32 { return ^b }),
		"band":   fold(func(a, b uint32) uint32 { return a & b }),
		"bor":    fold(func(a, b uint32) uint32 { return a | b }),
		"bxor":   fold(func(a, b uint32) uint32 { return a ^ b }),
		"lshift": shift(func(b uint32, n uint) uint32 { return b << n }),
		"rshift": shift(func(b uint32, n uint) uint32 { return b >> n }),
		"arshift": shift(func(b uint32, n uint) uint32 {
			return uint32(int32(b) >> n)
		}),
		"rol":   shift(func(b uint32, n uint) uint32 { return bits.RotateLeft32(b, int(n)) }),
		"ror":   shift(func(b uint32, n uint) uint32 { return bits.RotateLeft32(b, -int(n)) }),
		"bswap": unary(bits.ReverseBytes32),
		"tohex": bitTohex,
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	return t
}

// barg is LuaBitOp's barg: the number reduced modulo 2^32 with the
// rounding of its 2^52+2^51 addition trick.
func barg(L *lua.LState, i int) uint32 {
	f := float64(L.CheckNumber(i))
	f += 6755399441055744.0 // 2^52 + 2^51
	return uint32(math.Float64bits(f))
}

func bret(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

func bitTohex(L *lua.LState) int {
	b := barg(L, 1)
	n := int32(8)
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		n = int32(barg(L, 2))
	}
	digits := "0123456789abcdef"
	if n < 0 {
		n = -n
		digits = strings.ToUpper(digits)
	}
	if n > 8 {
		n = 8
	}
	buf := make([]byte, n)
	for i := int(n) - 1; i >= 0; i-- {
		buf[i] = digits[b&15]
		b >>= 4
	}
	L.Push(lua.LString(buf))
	return 1
}
