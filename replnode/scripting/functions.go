package scripting

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replnode/replnode/replnode/resp"
)

// Function is one function a library registered (redis.register_function).
type Function struct {
	Name        string
	Description string // "" when none was given
	Flags       Flags
	Library     *Library
	fn          *lua.LFunction
}

// Library is a loaded FUNCTION library.
type Library struct {
	Name      string
	Code      string
	Functions map[string]*Function
}

// Functions is Redis 7.0's function store with its Lua engine
// (functions.c, function_lua.c): its own interpreter, separate from the
// EVAL one, as in Redis.
type Functions struct {
	e       *Engine
	libs    map[string]*Library
	funcs   map[string]*Function
	loadAPI *lua.LTable
	// loading is the library FUNCTION LOAD is building.
	loading *Library
}

// NewFunctions returns an empty function store.
func NewFunctions() *Functions {
	f := &Functions{e: New()}
	f.reset()
	return f
}

func (f *Functions) reset() {
	f.libs = map[string]*Library{}
	f.funcs = map[string]*Function{}
	L := f.e.L
	// The globals a library's code sees while it loads: only a redis
	// table with register_function, log and the version.
	api := L.NewTable()
	redis := L.NewTable()
	redis.RawSetString("register_function", L.NewFunction(f.registerFunction))
	full := f.e.globals.RawGetString("redis").(*lua.LTable).Metatable.(*lua.LTable).RawGetString("__index").(*lua.LTable)
	for _, k := range []string{"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"} {
		redis.RawSetString(k, full.RawGetString(k))
	}
	api.RawSetString("redis", newReadOnlyProxy(L, protectedIndex(L, func() *lua.LTable { return redis }), false))
	f.loadAPI = api
}

// Flush deletes every library (FUNCTION FLUSH).
func (f *Functions) Flush() {
	f.e.reset()
	f.reset()
}

// Get returns the function called name, or nil.
func (f *Functions) Get(name string) *Function { return f.funcs[funcKey(name)] }

// funcKey is a function's key in the store: function names are
// case-insensitive (functionDictType), library names are not.
func funcKey(name string) string { return strings.ToLower(name) }

// Libraries returns the libraries sorted by name.
func (f *Functions) Libraries() []*Library {
	out := make([]*Library, 0, len(f.libs))
	for _, l := range f.libs {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NumFunctions counts the registered functions.
func (f *Functions) NumFunctions() int { return len(f.funcs) }

// Delete removes the library called name (FUNCTION DELETE).
func (f *Functions) Delete(name string) bool {
	l := f.libs[name]
	if l == nil {
		return false
	}
	for fn := range l.Functions {
		delete(f.funcs, funcKey(fn))
	}
	delete(f.libs, name)
	return true
}

// Kill stops the running function (FUNCTION KILL).
func (f *Functions) Kill() { f.e.Kill() }

// validName is functionsVerifyName: letters, digits and underscores.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Load is FUNCTION LOAD: it returns the library's name, or Redis's error
// text.
func (f *Functions) Load(code []byte, replace bool) (string, string) {
	return f.LoadTimeout(code, replace, 0)
}

// LoadTimeout is Load with a bound on how long the library's code may run
// (0: none), as FUNCTION LOAD's: past it the load fails with Redis's
// "FUNCTION LOAD timeout" instead of hanging the server.
func (f *Functions) LoadTimeout(code []byte, replace bool, timeout time.Duration) (string, string) {
	if !bytes.HasPrefix(code, []byte("#!")) {
		return "", "ERR Missing library metadata"
	}
	end := bytes.IndexByte(code, '\n')
	if end < 0 {
		return "", "ERR Invalid library metadata"
	}
	parts, _, ok := resp.SplitArgs(code[:end], nil, nil)
	if !ok || len(parts) == 0 {
		return "", "ERR Invalid library metadata"
	}
	engine := string(parts[0][2:])
	name := ""
	for _, p := range parts[1:] {
		s := string(p)
		if strings.HasPrefix(s, "name=") {
			if name != "" {
				return "", "ERR Invalid metadata value, name argument was given multiple times"
			}
			name = s[len("name="):]
			continue
		}
		return "", "ERR Invalid metadata value given: " + s
	}
	if name == "" {
		return "", "ERR Library name was not given"
	}
	if !validName(name) {
		return "", "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
	}
	if !strings.EqualFold(engine, "lua") {
		return "", "ERR Engine '" + engine + "' not found"
	}
	old := f.libs[name]
	if old != nil && !replace {
		return "", "ERR Library '" + name + "' already exists"
	}
	L := f.e.L
	fn, err := L.Load(bytes.NewReader(code[end:]), "user_function")
	if err != nil {
		return "", "ERR Error compiling function: " + strings.Replace(compileError(err, code[end:]), "user_script:", "user_function:", 1)
	}
	fn.Env = f.e.proxyGlobals
	lib := &Library{Name: name, Code: string(code), Functions: map[string]*Function{}}
	f.loading = lib
	f.e.lookup = f.loadAPI
	var ctx context.Context
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), timeout)
		defer cancel()
		L.SetContext(ctx)
	}
	L.Push(fn)
	perr := L.PCall(0, 0, nil)
	if ctx != nil {
		L.RemoveContext()
	}
	f.e.lookup = f.e.globals
	f.loading = nil
	if perr != nil && ctx != nil && ctx.Err() != nil {
		return "", "ERR Error registering functions: ERR FUNCTION LOAD timeout"
	}
	if perr != nil {
		var obj lua.LValue = lua.LString(perr.Error())
		if ae, ok := perr.(*lua.ApiError); ok && ae.Object != nil {
			obj = ae.Object
		}
		msg := ""
		if t, ok := obj.(*lua.LTable); ok {
			msg = lua.LVAsString(t.RawGetString("err"))
		} else {
			msg = "ERR " + lua.LVAsString(obj)
		}
		return "", "ERR Error registering functions: " + msg
	}
	if len(lib.Functions) == 0 {
		return "", "ERR No functions registered"
	}
	for fname := range lib.Functions {
		if other := f.funcs[funcKey(fname)]; other != nil && other.Library != old {
			return "", "ERR Function " + fname + " already exists"
		}
	}
	if old != nil {
		f.Delete(name)
	}
	f.libs[name] = lib
	for fname, fun := range lib.Functions {
		f.funcs[funcKey(fname)] = fun
	}
	return name, ""
}

// registerFunction is redis.register_function.
func (f *Functions) registerFunction(L *lua.LState) int {
	if f.loading == nil {
		raiseRedisError(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	var fun Function
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			raiseRedisError(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		msg := ""
		t.ForEach(func(k, v lua.LValue) {
			if msg != "" {
				return
			}
			ks, ok := k.(lua.LString)
			if !ok {
				if _, isNum := k.(lua.LNumber); !isNum {
					msg = "named argument key given to redis.register_function is not a string"
					return
				}
			}
			switch strings.ToLower(lua.LVAsString(k)) {
			case "function_name":
				if !lua.LVCanConvToString(v) {
					msg = "function_name argument given to redis.register_function must be a string"
					return
				}
				fun.Name = lua.LVAsString(v)
			case "description":
				if !lua.LVCanConvToString(v) {
					msg = "description argument given to redis.register_function must be a string"
					return
				}
				fun.Description = lua.LVAsString(v)
			case "callback":
				cb, ok := v.(*lua.LFunction)
				if !ok {
					msg = "callback argument given to redis.register_function must be a function"
					return
				}
				fun.fn = cb
			case "flags":
				ft, ok := v.(*lua.LTable)
				if !ok {
					msg = "flags argument to redis.register_function must be a table representing function flags"
					return
				}
				ft.ForEach(func(_, fv lua.LValue) {
					found := false
					if s, ok := fv.(lua.LString); ok {
						for _, fn := range flagNames {
							if strings.EqualFold(fn.name, string(s)) {
								fun.Flags |= fn.f
								found = true
							}
						}
					}
					if !found && msg == "" {
						msg = "unknown flag given"
					}
				})
			default:
				_ = ks
				msg = "unknown argument given to redis.register_function"
			}
		})
		if msg == "" && fun.Name == "" {
			msg = "redis.register_function must get a function name argument"
		}
		if msg == "" && fun.fn == nil {
			msg = "redis.register_function must get a callback argument"
		}
		if msg != "" {
			raiseRedisError(L, msg)
		}
	case 2:
		if !lua.LVCanConvToString(L.Get(1)) {
			raiseRedisError(L, "first argument to redis.register_function must be a string")
		}
		cb, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			raiseRedisError(L, "second argument to redis.register_function must be a function")
		}
		fun.Name, fun.fn = lua.LVAsString(L.Get(1)), cb
	default:
		raiseRedisError(L, "wrong number of arguments to redis.register_function")
	}
	if !validName(fun.Name) {
		raiseRedisError(L, "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
	}
	if f.loading.Functions[fun.Name] != nil {
		raiseRedisError(L, "Function already exists in the library")
	}
	fun.Library = f.loading
	f.loading.Functions[fun.Name] = &fun
	return 0
}

// Call runs a function with its keys and arguments (FCALL), as Run.
func (f *Functions) Call(fun *Function, h Host, w *resp.Writer, keys, args [][]byte) (string, bool) {
	L := f.e.L
	msg, count := f.e.call(fun.fn, fun.Name, h, w, stringArray(L, keys), stringArray(L, args))
	if f.e.broken {
		// A fresh interpreter with the same libraries.
		codes := f.Libraries()
		f.Flush()
		for _, l := range codes {
			f.Load([]byte(l.Code), false)
		}
	}
	return msg, count
}

// Restore is FUNCTION RESTORE's join: the libraries of codes with those
// of f under policy ("flush", "append", "replace"), built in a new store
// so a failure changes nothing. It returns the store to use instead of f,
// or Redis's error text.
func (f *Functions) Restore(codes [][]byte, policy string) (*Functions, string) {
	incoming := NewFunctions()
	for _, code := range codes {
		if _, msg := incoming.Load(code, false); msg != "" {
			return nil, msg
		}
	}
	if policy == "flush" {
		return incoming, ""
	}
	kept := map[string]*Library{}
	for name, l := range f.libs {
		kept[name] = l
	}
	for name := range incoming.libs {
		if kept[name] != nil {
			if policy != "replace" {
				return nil, "ERR Library " + name + " already exists"
			}
			delete(kept, name)
		}
	}
	for key, fun := range incoming.funcs {
		for _, l := range kept {
			for fname := range l.Functions {
				if funcKey(fname) == key {
					return nil, "ERR Function " + fun.Name + " already exists"
				}
			}
		}
	}
	for _, l := range kept {
		if _, msg := incoming.Load([]byte(l.Code), false); msg != "" {
			return nil, msg
		}
	}
	return incoming, ""
}
