package scripting

import (
	"bytes"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"github.com/replnode/replnode/replnode/resp"
)

// fromRESP converts the reply at the start of b to a Lua value as Redis's
// redisProtocolToLuaType and returns it with the bytes used.
func (e *Engine) fromRESP(b []byte) (lua.LValue, int) {
	L := e.L
	if len(b) == 0 {
		return lua.LNil, 0
	}
	nl := bytes.Index(b, []byte("\r\n"))
	if nl < 0 {
		return lua.LNil, len(b)
	}
	line := b[1:nl]
	pos := nl + 2
	switch b[0] {
	case ':':
		n, _ := strconv.ParseInt(string(line), 10, 64)
		return lua.LNumber(n), pos
	case '$', '=':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, pos
		}
		s := b[pos : pos+n]
		if b[0] == '=' {
			t := L.NewTable()
			v := L.NewTable()
			v.RawSetString("string", lua.LString(s[4:]))
			v.RawSetString("format", lua.LString(s[:3]))
			t.RawSetString("verbatim_string", v)
			return t, pos + n + 2
		}
		return lua.LString(s), pos + n + 2
	case '+':
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(line))
		return t, pos
	case '-':
		t := errorTable(L, "-"+string(line))
		t.RawSetString("ignore_error_stats_update", lua.LTrue)
		return t, pos
	case '*', '~', '%', '>':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, pos
		}
		inner := L.CreateTable(n, 0)
		for i := 0; i < n; i++ {
			k, used := e.fromRESP(b[pos:])
			pos += used
			switch b[0] {
			case '%':
				v, used := e.fromRESP(b[pos:])
				pos += used
				inner.RawSet(k, v)
			case '~':
				inner.RawSet(k, lua.LTrue)
			default:
				inner.RawSetInt(i+1, k)
			}
		}
		switch b[0] {
		case '%':
			t := L.NewTable()
			t.RawSetString("map", inner)
			return t, pos
		case '~':
			t := L.NewTable()
			t.RawSetString("set", inner)
			return t, pos
		}
		return inner, pos
	case '|':
		n, _ := strconv.Atoi(string(line))
		for i := 0; i < 2*n; i++ {
			_, used := e.fromRESP(b[pos:])
			pos += used
		}
		v, used := e.fromRESP(b[pos:])
		return v, pos + used
	case '_':
		return lua.LNil, pos
	case '#':
		return lua.LBool(len(line) > 0 && line[0] == 't'), pos
	case ',':
		f, ok := parseRESPDouble(string(line))
		if !ok {
			f = 0
		}
		t := L.NewTable()
		t.RawSetString("double", lua.LNumber(f))
		return t, pos
	case '(':
		t := L.NewTable()
		t.RawSetString("big_number", lua.LString(line))
		return t, pos
	}
	return lua.LNil, len(b)
}

func parseRESPDouble(s string) (float64, bool) {
	switch s {
	case "inf":
		return math.Inf(1), true
	case "-inf":
		return math.Inf(-1), true
	case "nan", "-nan":
		return math.NaN(), true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// luaMaxCStack is LUAI_MAXCSTACK: the Lua stack slots a conversion may
// use. Redis's luaReplyToRedisReply needs 4 free at each level, so a
// table nested too deep (or containing itself) ends in an error reply;
// top counts the slots Redis's would hold at that point (2 at the start:
// the error handler and the result).
const luaMaxCStack = 8000

// toRESP writes v as Redis's luaReplyToRedisReply; proto is the script
// client's protocol (redis.setresp), which decides how booleans go out.
func (e *Engine) toRESP(w *resp.Writer, v lua.LValue, proto int) { e.toRESPAt(w, v, proto, 2) }

func (e *Engine) toRESPAt(w *resp.Writer, v lua.LValue, proto int, top int) {
	if top+4 > luaMaxCStack {
		w.Error("ERR reached lua stack limit")
		return
	}
	switch x := v.(type) {
	case lua.LString:
		w.BulkString(string(x))
	case lua.LBool:
		switch {
		case proto == 3:
			w.Bool(bool(x))
		case bool(x):
			w.Int(1)
		default:
			w.Null()
		}
	case lua.LNumber:
		w.Int(luaToInt64(float64(x)))
	case *lua.LTable:
		e.tableToRESP(w, x, proto, top)
	default:
		w.Null()
	}
}

// luaToInt64 is C's (long long) cast of a double on x86-64.
func luaToInt64(f float64) int64 {
	if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
		return math.MinInt64
	}
	return int64(f)
}

func (e *Engine) tableToRESP(w *resp.Writer, t *lua.LTable, proto int, top int) {
	if s, ok := t.RawGetString("err").(lua.LString); ok {
		msg, _ := runError("", withoutPosition(t, s))
		ignore, _ := t.RawGetString("ignore_error_stats_update").(lua.LBool)
		if e.run != nil {
			e.run.host.ErrorReplied(msg, !bool(ignore))
		}
		w.Error(msg)
		return
	}
	if s, ok := t.RawGetString("ok").(lua.LString); ok {
		w.SimpleString(string(bytes.Map(crlfToSpace, []byte(s))))
		return
	}
	if d, ok := t.RawGetString("double").(lua.LNumber); ok {
		w.Double(float64(d))
		return
	}
	if s, ok := t.RawGetString("big_number").(lua.LString); ok {
		w.BigNumber(string(bytes.Map(crlfToSpace, []byte(s))))
		return
	}
	if vt, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		f, fok := vt.RawGetString("format").(lua.LString)
		s, sok := vt.RawGetString("string").(lua.LString)
		if fok && sok {
			w.Verbatim(string(f), string(s))
			return
		}
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		d := w.Deferred()
		n := 0
		m.ForEach(func(k, v lua.LValue) {
			e.toRESPAt(w, k, proto, top+4)
			e.toRESPAt(w, v, proto, top+3)
			n++
		})
		w.SetMapLen(d, n)
		return
	}
	if s, ok := t.RawGetString("set").(*lua.LTable); ok {
		d := w.Deferred()
		n := 0
		s.ForEach(func(k, _ lua.LValue) {
			e.toRESPAt(w, k, proto, top+3)
			n++
		})
		w.SetSetLen(d, n)
		return
	}
	d := w.Deferred()
	n := 0
	for {
		v := t.RawGetInt(n + 1)
		if v == lua.LNil {
			break
		}
		e.toRESPAt(w, v, proto, top+1)
		n++
	}
	w.SetArrayLen(d, n)
}

// withoutPosition is an error table's text alone: a returned error table
// is replied as its err field (source and line are not appended).
func withoutPosition(t *lua.LTable, s lua.LString) *lua.LTable {
	out := &lua.LTable{}
	out.RawSetString("err", s)
	return out
}

func crlfToSpace(r rune) rune {
	if r == '\r' || r == '\n' {
		return ' '
	}
	return r
}
