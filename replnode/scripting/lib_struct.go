package scripting

import (
	"encoding/binary"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// Roberto Ierusalimschy's struct library (deps/lua/src/lua_struct.c) as
// Redis ships it on x86-64: native little endian, short 2, int 4, long and
// size_t 8, alignment up to 8 with '!', integers up to 32 bytes.

const (
	structMaxIntSize = 32
	structMaxAlign   = 8
)

type structHeader struct {
	little bool
	align  int
}

func openStruct(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	return t
}

// structNum is getnum: a decimal size after an option, or def.
func structNum(L *lua.LState, fmt string, i *int, def int) int {
	if *i >= len(fmt) || fmt[*i] < '0' || fmt[*i] > '9' {
		return def
	}
	a := 0
	for *i < len(fmt) && fmt[*i] >= '0' && fmt[*i] <= '9' {
		d := int(fmt[*i] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			L.RaiseError("integral size overflow")
		}
		a = a*10 + d
		*i++
	}
	return a
}

func structOptSize(L *lua.LState, opt byte, fmt string, i *int) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'x':
		return 1
	case 'c':
		return structNum(L, fmt, i, 1)
	case 'i', 'I':
		sz := structNum(L, fmt, i, 4)
		if sz > structMaxIntSize {
			L.RaiseError("integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

func structToAlign(n int, h *structHeader, opt byte, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (n & (size - 1))) & (size - 1)
}

func structControl(L *lua.LState, opt byte, fmt string, i *int, h *structHeader) {
	switch opt {
	case ' ':
	case '>':
		h.little = false
	case '<':
		h.little = true
	case '!':
		a := structNum(L, fmt, i, structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			L.RaiseError("alignment %d is not a power of 2", a)
		}
		h.align = a
	default:
		argError(L, 1, "invalid format option '"+string(opt)+"'")
	}
}

func structPack(L *lua.LState) int {
	fmt := L.CheckString(1)
	h := structHeader{little: true, align: 1}
	arg := 2
	var b []byte
	for i := 0; i < len(fmt); {
		opt := fmt[i]
		i++
		size := structOptSize(L, opt, fmt, &i)
		for pad := structToAlign(len(b), &h, opt, size); pad > 0; pad-- {
			b = append(b, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := float64(L.CheckNumber(arg))
			arg++
			var v uint64
			if n < 0 {
				v = uint64(int64(n))
			} else {
				v = uint64(n)
			}
			buf := make([]byte, size)
			for k := 0; k < size; k++ {
				idx := k
				if !h.little {
					idx = size - 1 - k
				}
				buf[idx] = byte(v)
				v >>= 8
			}
			b = append(b, buf...)
		case 'x':
			b = append(b, 0)
		case 'f':
			f := float32(L.CheckNumber(arg))
			arg++
			b = appendUint(b, uint64(math.Float32bits(f)), 4, h.little)
		case 'd':
			d := float64(L.CheckNumber(arg))
			arg++
			b = appendUint(b, math.Float64bits(d), 8, h.little)
		case 'c', 's':
			s := L.CheckString(arg)
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				argError(L, arg, "string too short")
			}
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
			}
		default:
			structControl(L, opt, fmt, &i, &h)
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func appendUint(b []byte, v uint64, size int, little bool) []byte {
	buf := make([]byte, 8)
	if little {
		binary.LittleEndian.PutUint64(buf, v)
		return append(b, buf[:size]...)
	}
	binary.BigEndian.PutUint64(buf, v)
	return append(b, buf[8-size:]...)
}

func readUint(p []byte, little bool) uint64 {
	var v uint64
	if little {
		for k := len(p) - 1; k >= 0; k-- {
			v = v<<8 | uint64(p[k])
		}
		return v
	}
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v
}

func structUnpack(L *lua.LState) int {
	fmt := L.CheckString(1)
	data := L.CheckString(2)
	pos := L.OptInt(3, 1)
	if pos <= 0 {
		argError(L, 3, "offset must be 1 or greater")
	}
	pos--
	h := structHeader{little: true, align: 1}
	var out []lua.LValue
	for i := 0; i < len(fmt); {
		opt := fmt[i]
		i++
		size := structOptSize(L, opt, fmt, &i)
		pos += structToAlign(pos, &h, opt, size)
		if size > len(data) || pos > len(data)-size {
			argError(L, 2, "data string too short")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			v := readUint([]byte(data[pos:pos+size]), h.little)
			signed := opt >= 'a' && opt <= 'z'
			if !signed {
				out = append(out, lua.LNumber(v))
			} else {
				mask := ^uint64(0) << (uint(size)*8 - 1)
				if size*8-1 >= 64 {
					mask = 0
				}
				if v&mask != 0 {
					v |= mask
				}
				out = append(out, lua.LNumber(int64(v)))
			}
		case 'x':
		case 'f':
			out = append(out, lua.LNumber(math.Float32frombits(uint32(readUint([]byte(data[pos:pos+4]), h.little)))))
		case 'd':
			out = append(out, lua.LNumber(math.Float64frombits(readUint([]byte(data[pos:pos+8]), h.little))))
		case 'c':
			if size == 0 {
				var prev lua.LNumber
				ok := false
				if len(out) > 0 {
					switch v := out[len(out)-1].(type) {
					case lua.LNumber:
						prev, ok = v, true
					case lua.LString:
						if f, err := strconv.ParseFloat(string(v), 64); err == nil {
							prev, ok = lua.LNumber(f), true
						}
					}
				}
				if !ok {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = int(prev)
				out = out[:len(out)-1]
				if size > len(data) || pos > len(data)-size {
					argError(L, 2, "data string too short")
				}
			}
			out = append(out, lua.LString(data[pos:pos+size]))
		case 's':
			end := -1
			for k := pos; k < len(data); k++ {
				if data[k] == 0 {
					end = k
					break
				}
			}
			if end < 0 {
				L.RaiseError("unfinished string in data")
			}
			size = end - pos + 1
			out = append(out, lua.LString(data[pos:end]))
		default:
			structControl(L, opt, fmt, &i, &h)
		}
		pos += size
	}
	for _, v := range out {
		L.Push(v)
	}
	L.Push(lua.LNumber(pos + 1))
	return len(out) + 1
}

func structSize(L *lua.LState) int {
	fmt := L.CheckString(1)
	h := structHeader{little: true, align: 1}
	pos := 0
	for i := 0; i < len(fmt); {
		opt := fmt[i]
		i++
		size := structOptSize(L, opt, fmt, &i)
		pos += structToAlign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "option 'c0' has no fixed size")
		}
		isAlnum := (opt >= 'a' && opt <= 'z') || (opt >= 'A' && opt <= 'Z') || (opt >= '0' && opt <= '9')
		if !isAlnum {
			structControl(L, opt, fmt, &i, &h)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
