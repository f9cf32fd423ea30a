package scripting

import (
	"errors"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The globals a script sees, as Redis 7.0.15's allow lists (script_lua.c)
// less getfenv, setfenv and newproxy, which 7.0.15 no longer exposes:
// anything else the libraries define is removed before the globals are
// locked.
var allowedGlobals = map[string]bool{
	// libraries
	"string": true, "cjson": true, "bit": true, "cmsgpack": true, "math": true, "table": true, "struct": true,
	// Redis API
	"redis": true, "__redis__err__handler": true,
	// Lua builtins
	"xpcall": true, "tostring": true, "setmetatable": true, "next": true, "assert": true,
	"tonumber": true, "rawequal": true, "collectgarbage": true, "getmetatable": true, "rawset": true,
	"pcall": true, "coroutine": true, "type": true, "_G": true, "select": true, "unpack": true,
	"gcinfo": true, "pairs": true, "rawget": true, "loadstring": true, "ipairs": true, "_VERSION": true,
	"load": true, "error": true,
}

// initSandbox builds the script environment: base, table, string and
// math plus cjson, cmsgpack, bit and struct, the redis table, Redis's
// pcall and math.random, the error handler, and read-only globals.
func (e *Engine) initSandbox() {
	L := e.L
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{"", lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	g.RawSetString("cjson", openCjson(L))
	g.RawSetString("bit", openBit(L))
	g.RawSetString("struct", openStruct(L))
	g.RawSetString("cmsgpack", openCmsgpack(L))
	g.RawSetString("pcall", L.NewFunction(e.luaPcall))
	g.RawSetString("error", L.NewFunction(luaError))
	g.RawSetString("tonumber", L.NewFunction(luaTonumber))
	g.RawSetString("unpack", L.NewFunction(luaUnpack))
	g.RawSetString("redis", e.redisTable())
	g.RawSetString("gcinfo", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(0))
		return 1
	}))
	if _, ok := g.RawGetString("coroutine").(*lua.LTable); !ok {
		L.Push(L.NewFunction(lua.OpenCoroutine))
		L.Push(lua.LString(lua.CoroutineLibName))
		L.Call(1, 0)
	}
	// string.dump gives a binary chunk, which loadstring refuses (it
	// takes source only): loadstring(string.dump(f)) is nil, as in Redis,
	// where gopher-lua's dump raises an error of its own.
	g.RawGetString("string").(*lua.LTable).RawSetString("dump", L.NewFunction(func(L *lua.LState) int {
		L.CheckFunction(1)
		L.Push(lua.LString("\x1bLua\x51\x00"))
		return 1
	}))
	// setmetatable on a read-only table fails as Redis's patched Lua.
	baseSetmetatable := g.RawGetString("setmetatable").(*lua.LFunction)
	g.RawSetString("setmetatable", L.NewFunction(func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && isReadOnly(t) {
			// Raised by lua_setmetatable itself: no position.
			L.Error(lua.LString("Attempt to modify a readonly table"), 0)
		}
		L.Push(baseSetmetatable)
		L.Push(L.Get(1))
		L.Push(L.Get(2))
		L.Call(2, 1)
		return 1
	}))
	// A read-only library table has no metatable, as in Redis.
	baseGetmetatable := g.RawGetString("getmetatable").(*lua.LFunction)
	g.RawSetString("getmetatable", L.NewFunction(func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && isReadOnly(t) && t.Metatable.(*lua.LTable).RawGetString("__metatable") == lua.LFalse {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(baseGetmetatable)
		L.Push(L.Get(1))
		L.Call(1, 1)
		return 1
	}))
	m := g.RawGetString("math").(*lua.LTable)
	m.RawSetString("random", L.NewFunction(e.mathRandom))
	m.RawSetString("randomseed", L.NewFunction(e.mathRandomseed))
	// HUGE_VAL, where gopher-lua has the largest finite double.
	m.RawSetString("huge", lua.LNumber(math.Inf(1)))
	// loadstring compiles with the chunk name of the string, as Lua's.
	var drop []lua.LValue
	g.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); !ok || !allowedGlobals[string(s)] {
			drop = append(drop, k)
		}
	})
	for _, k := range drop {
		g.RawSet(k, lua.LNil)
	}
	e.errFunc = L.NewFunction(errorHandler)
	g.RawSetString("__redis__err__handler", e.errFunc)

	// Lock: scripts read the real tables through read-only proxies.
	for _, name := range []string{"string", "cjson", "bit", "cmsgpack", "math", "table", "struct", "redis", "coroutine"} {
		if t, ok := g.RawGetString(name).(*lua.LTable); ok {
			g.RawSetString(name, readOnlyProxy(L, t, false))
		}
	}
	e.lookup = g
	proxy := e.globalsProxy()
	g.RawSetString("_G", proxy)
	e.globals = g
	e.proxyGlobals = proxy
}

// globalsProxy is the read-only global table scripts see: it reads
// e.lookup, and reading a missing name fails as Redis's
// luaProtectedTableError.
func (e *Engine) globalsProxy() *lua.LTable {
	// e.lookup is read at each access: FUNCTION LOAD swaps it.
	return newReadOnlyProxy(e.L, protectedIndex(e.L, func() *lua.LTable { return e.lookup }), true)
}

// readOnlyProxy returns an empty table that reads from t and refuses
// writes with Redis's "Attempt to modify a readonly table". For the
// globals (strict), reading a missing name fails as Redis's
// luaProtectedTableError.
func readOnlyProxy(L *lua.LState, t *lua.LTable, strict bool) *lua.LTable {
	var index lua.LValue = t
	if strict {
		index = protectedIndex(L, func() *lua.LTable { return t })
	}
	return newReadOnlyProxy(L, index, false)
}

// readOnlyMarker is the key under which a read-only proxy's metatable
// holds its marker: a userdata value no script can make, so isReadOnly
// cannot be fooled.
const readOnlyMarker = "\x00readonly"

// newReadOnlyProxy returns an empty table reading through index that
// refuses writes ("Attempt to modify a readonly table"). For the globals,
// getmetatable answers a read-only view of its metatable, as for Redis's
// _G (which has one, for the undefined-global errors): reading it works,
// writing it fails. Otherwise getmetatable answers nil, as for Redis's
// read-only library tables.
func newReadOnlyProxy(L *lua.LState, index lua.LValue, globals bool) *lua.LTable {
	p := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", index)
	refuse := L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	})
	mt.RawSetString("__newindex", refuse)
	mt.RawSetString(readOnlyMarker, L.NewUserData())
	mt.RawSetString("__metatable", lua.LFalse)
	if globals {
		view := L.NewTable()
		viewMT := L.NewTable()
		viewMT.RawSetString("__index", mt)
		viewMT.RawSetString("__newindex", refuse)
		viewMT.RawSetString("__metatable", lua.LFalse)
		viewMT.RawSetString(readOnlyMarker, L.NewUserData())
		L.SetMetatable(view, viewMT)
		mt.RawSetString("__metatable", view)
	}
	L.SetMetatable(p, mt)
	return p
}

// isReadOnly reports whether t is a read-only proxy (or the view of one's
// metatable).
func isReadOnly(t *lua.LTable) bool {
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		return false
	}
	_, ok = mt.RawGetString(readOnlyMarker).(*lua.LUserData)
	return ok
}

// protectedIndex is an __index reading table() where a missing name fails
// as Redis's luaProtectedTableError.
func protectedIndex(L *lua.LState, table func() *lua.LTable) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		k := L.Get(2)
		v := table().RawGet(k)
		if v == lua.LNil {
			L.RaiseError("Script attempted to access nonexistent global variable '%s'", lua.LVAsString(k))
		}
		L.Push(v)
		return 1
	})
}

// errorHandler is Redis's __redis__err__handler: the error becomes a
// table {err=..., source=..., line=...} naming the Lua code that failed.
func errorHandler(L *lua.LState) int {
	err := L.Get(1)
	t, ok := err.(*lua.LTable)
	if !ok {
		t = L.NewTable()
		t.RawSetString("err", lua.LString("ERR "+lua.LVAsString(L.ToStringMeta(err))))
	}
	for level := 0; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			break
		}
		if dbg.What == "G" || dbg.CurrentLine < 0 {
			continue
		}
		t.RawSetString("source", lua.LString("@"+strings.TrimPrefix(dbg.Source, "@")))
		t.RawSetString("line", lua.LString(strconv.Itoa(dbg.CurrentLine)))
		break
	}
	L.Push(t)
	return 1
}

// luaPcall is Redis's pcall: an error that is a table with an err field
// is returned as that table.
func (e *Engine) luaPcall(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 1, "value expected")
	}
	fn := L.Get(1)
	args := make([]lua.LValue, n-1)
	for i := 2; i <= n; i++ {
		args[i-2] = L.Get(i)
	}
	L.SetTop(0)
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), lua.MultRet, nil); err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
			obj = ae.Object
		}
		if t, ok := obj.(*lua.LTable); ok {
			if s, ok := t.RawGetString("err").(lua.LString); ok {
				// Redis's pcall hands back a redis.call error as its text.
				obj = s
			}
		}
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	top := L.GetTop()
	L.Insert(lua.LTrue, 1)
	return top + 1
}

// mathRandom is Redis's redis_math_random over redisLrand48.
func (e *Engine) mathRandom(L *lua.LState) int {
	r := float64(e.rng.next()%lrandMax) / float64(lrandMax)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := L.CheckInt(1)
		if u < 1 {
			argError(L, 1, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l, u := L.CheckInt(1), L.CheckInt(2)
		if l > u {
			argError(L, 2, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func (e *Engine) mathRandomseed(L *lua.LState) int {
	e.rng.seed(int32(L.CheckInt(1)))
	return 0
}

// luaError is Lua 5.1's error(message [, level]): a string or number
// message gets the position of the Lua function at level, none when that
// is a Go (C) function; error() raises nil.
func luaError(L *lua.LState) int {
	msg := L.Get(1)
	level := 1
	if L.GetTop() >= 2 {
		level = int(toNumber(L.Get(2)))
	}
	switch msg.(type) {
	case lua.LString, lua.LNumber:
		if level > 0 {
			if pos := luaWhere(L, level); pos != "" {
				msg = lua.LString(pos + lua.LVAsString(msg))
			}
		}
	}
	L.Error(msg, 0)
	return 0
}

// luaWhere is luaL_where: "chunk:line: " of the function at level, or ""
// for a Go function.
func luaWhere(L *lua.LState, level int) string {
	dbg, ok := L.GetStack(level)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil || dbg.What == "G" || dbg.CurrentLine <= 0 {
		return ""
	}
	return strings.TrimPrefix(dbg.Source, "@") + ":" + strconv.Itoa(dbg.CurrentLine) + ": "
}

// formatNumber is C's "%.14g", Lua 5.1's LUAI_NUMFFORMAT: how the engine
// turns a number into a string (tostring, .., the string functions), by
// gopher-lua's (replnode/scripting/gopher-lua) patched LNumber.String.
func formatNumber(f float64) string { return lua.LNumber(f).String() }

// formatCg formats a number as C's "%.<precision>g", with C's spelling
// of infinities and NaNs.
func formatCg(f float64, precision int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', precision, 64)
}

// argError is luaL_argerror's wording, "bad argument #n to 'name' (msg)",
// for the libraries written here (gopher-lua leaves the quotes out).
func argError(L *lua.LState, n int, msg string) {
	name := "?"
	if dbg, ok := L.GetStack(0); ok {
		if _, err := L.GetInfo("n", dbg, lua.LNil); err == nil && dbg.Name != "" {
			name = dbg.Name
		}
	}
	L.RaiseError("bad argument #%d to '%s' (%s)", n, name, msg)
}

// luaTonumber is Lua 5.1's tonumber: in base 10 what strtod reads
// (exponents, hexadecimal, surrounding spaces), else strtoul in base 2..36.
func luaTonumber(L *lua.LState) int {
	v := L.CheckAny(1)
	base := L.OptInt(2, 10)
	if base == 10 {
		switch x := v.(type) {
		case lua.LNumber:
			L.Push(x)
			return 1
		case lua.LString:
			if f, ok := str2d(string(x)); ok {
				L.Push(lua.LNumber(f))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}
	if base < 2 || base > 36 {
		argError(L, 2, "base out of range")
	}
	s := strings.TrimSpace(lua.LVAsString(v))
	neg := strings.HasPrefix(s, "-")
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "-"), base, 64)
	if err != nil || s == "" {
		L.Push(lua.LNil)
		return 1
	}
	f := float64(n)
	if neg {
		f = -f
	}
	L.Push(lua.LNumber(f))
	return 1
}

// str2d is luaO_str2d: strtod over the whole string but for surrounding
// spaces, with C's hexadecimal integers.
func str2d(s string) (float64, bool) {
	t := strings.Trim(s, " \t\n\r\v\f")
	if t == "" {
		return 0, false
	}
	body := strings.TrimLeft(t, "+-")
	if len(t)-len(body) > 1 {
		return 0, false
	}
	if strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X") {
		n, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		if strings.HasPrefix(t, "-") {
			return -float64(n), true
		}
		return float64(n), true
	}
	lower := strings.ToLower(body)
	if strings.HasPrefix(lower, "inf") || strings.HasPrefix(lower, "nan") {
		f, err := strconv.ParseFloat(t, 64)
		return f, err == nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// luaUnpack is Lua 5.1's unpack, with its limit of LUAI_MAXCSTACK (8000)
// stack slots: more results are "too many results to unpack".
func luaUnpack(L *lua.LState) int {
	tb := L.CheckTable(1)
	start := L.OptInt(2, 1)
	end := L.OptInt(3, tb.Len())
	if start > end {
		return 0
	}
	n := end - start + 1
	if n <= 0 || n+L.GetTop() > 8000 {
		L.RaiseError("too many results to unpack")
	}
	for i := start; i <= end; i++ {
		L.Push(tb.RawGetInt(i))
	}
	return n
}
