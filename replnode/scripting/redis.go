package scripting

import (
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// redisTable builds the redis.* API of Redis 7.0 (luaRegisterRedisAPI).
func (e *Engine) redisTable() *lua.LTable {
	L := e.L
	t := L.NewTable()
	fns := map[string]lua.LGFunction{
		"call":         func(L *lua.LState) int { return e.redisCall(L, true) },
		"pcall":        func(L *lua.LState) int { return e.redisCall(L, false) },
		"log":          e.redisLog,
		"setresp":      e.redisSetResp,
		"sha1hex":      redisSha1hex,
		"error_reply":  redisErrorReply,
		"status_reply": redisStatusReply,
		"set_repl":     e.redisSetRepl,
		"replicate_commands": func(L *lua.LState) int {
			// Effects replication is the only mode in 7.0.
			L.Push(lua.LTrue)
			return 1
		},
		"breakpoint": func(L *lua.LState) int {
			L.Push(lua.LFalse)
			return 1
		},
		"debug": func(L *lua.LState) int { return 0 },
		"acl_check_cmd": func(L *lua.LState) int {
			if e.run == nil {
				raiseRedisError(L, "redis.acl_check_cmd can only be called inside a script invocation")
			}
			args, errText := luaCommandArgs(L)
			if errText != "" {
				raiseRedisError(L, errText)
			}
			allowed, known := e.run.host.ACLCheckCmd(args)
			if !known {
				raiseRedisError(L, "Invalid command passed to redis.acl_check_cmd()")
			}
			L.Push(lua.LBool(allowed))
			return 1
		},
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	for name, v := range map[string]int{
		"LOG_DEBUG": LogDebug, "LOG_VERBOSE": LogVerbose, "LOG_NOTICE": LogNotice, "LOG_WARNING": LogWarning,
		"REPL_NONE": ReplNone, "REPL_AOF": ReplAOF, "REPL_SLAVE": ReplReplica, "REPL_REPLICA": ReplReplica, "REPL_ALL": ReplAll,
		"REDIS_VERSION_NUM": VersionNum,
	} {
		t.RawSetString(name, lua.LNumber(v))
	}
	t.RawSetString("REDIS_VERSION", lua.LString(Version))
	return t
}

// errorTable is Redis's luaPushErrorBuff: "-CODE msg" keeps its code,
// anything else gets ERR; the result is {err="CODE msg"}.
func errorTable(L *lua.LState, text string) *lua.LTable {
	var code, msg string
	if strings.HasPrefix(text, "-") {
		if i := strings.IndexByte(text, ' '); i >= 0 {
			code, msg = text[1:i], text[i+1:]
		} else {
			code, msg = "ERR", text[1:]
		}
	} else {
		code, msg = "ERR", text
	}
	msg = strings.Trim(msg, "\r\n")
	t := L.NewTable()
	t.RawSetString("err", lua.LString(code+" "+msg))
	return t
}

// raiseRedisError raises {err=...} as a Lua error (luaPushError +
// luaError).
func raiseRedisError(L *lua.LState, text string) {
	L.Error(errorTable(L, text), 0)
}

// luaCommandArgs converts the Lua arguments of redis.call and
// redis.acl_check_cmd to a command (Redis's luaArgsToRedisArgv), or
// returns the error text.
func luaCommandArgs(L *lua.LState) ([][]byte, string) {
	n := L.GetTop()
	if n == 0 {
		return nil, "Please specify at least one argument for this redis lib call"
	}
	args := make([][]byte, n)
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LNumber:
			args[i-1] = []byte(formatG17(float64(v)))
		case lua.LString:
			args[i-1] = []byte(string(v))
		default:
			return nil, "Lua redis lib command arguments must be strings or integers"
		}
	}
	return args, ""
}

// redisCall is luaRedisGenericCommand: raise is redis.call, !raise
// redis.pcall.
func (e *Engine) redisCall(L *lua.LState, raise bool) int {
	if e.run == nil {
		raiseRedisError(L, "redis.call/pcall can only be called inside a script invocation")
	}
	args, errText := luaCommandArgs(L)
	if errText != "" {
		return e.callFailed(L, raise, errorTable(L, errText))
	}
	L.SetTop(0)
	reply := e.run.host.Call(args, e.run.proto)
	v, _ := e.fromRESP(reply)
	if raise && len(reply) > 0 && reply[0] == '-' {
		L.Error(v, 0)
	}
	L.Push(v)
	return 1
}

// callFailed answers a redis.call/pcall refused before it ran a command.
func (e *Engine) callFailed(L *lua.LState, raise bool, errT *lua.LTable) int {
	if raise {
		L.Error(errT, 0)
	}
	L.SetTop(0)
	L.Push(errT)
	return 1
}

// formatG17 formats a number as C's "%.17g" (luaArgsToRedisArgv).
func formatG17(f float64) string { return formatCg(f, 17) }

func (e *Engine) redisLog(L *lua.LState) int {
	n := L.GetTop()
	if n < 2 {
		raiseRedisError(L, "redis.log() requires two arguments or more.")
	}
	lv, ok := L.Get(1).(lua.LNumber)
	if !ok {
		if s, isStr := L.Get(1).(lua.LString); isStr {
			f, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
			ok, lv = err == nil, lua.LNumber(f)
		}
	}
	if !ok {
		raiseRedisError(L, "First argument must be a number (log level).")
	}
	level := int(lv)
	if level < LogDebug || level > LogWarning {
		raiseRedisError(L, "Invalid debug level.")
	}
	var b strings.Builder
	for i := 2; i <= n; i++ {
		v := L.Get(i)
		if !lua.LVCanConvToString(v) {
			continue
		}
		if i != 2 {
			b.WriteByte(' ')
		}
		b.WriteString(lua.LVAsString(v))
	}
	if e.run != nil {
		e.run.host.Log(level, b.String())
	}
	return 0
}

func (e *Engine) redisSetResp(L *lua.LState) int {
	if e.run == nil {
		raiseRedisError(L, "redis.setresp can only be called inside a script invocation")
	}
	if L.GetTop() != 1 {
		raiseRedisError(L, "redis.setresp() requires one argument.")
	}
	p := int(toNumber(L.Get(1)))
	if p != 2 && p != 3 {
		raiseRedisError(L, "RESP version must be 2 or 3.")
	}
	e.run.proto = p
	return 0
}

func (e *Engine) redisSetRepl(L *lua.LState) int {
	if e.run == nil {
		raiseRedisError(L, "redis.set_repl can only be called inside a script invocation")
	}
	if L.GetTop() != 1 {
		raiseRedisError(L, "redis.set_repl() requires two arguments.")
	}
	flags := int(toNumber(L.Get(1)))
	if flags&^ReplAll != 0 {
		raiseRedisError(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
	}
	e.run.host.SetRepl(flags)
	return 0
}

// toNumber is lua_tonumber: numbers and numeric strings, else 0.
func toNumber(v lua.LValue) float64 {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x)
	case lua.LString:
		if f, err := strconv.ParseFloat(strings.TrimSpace(string(x)), 64); err == nil {
			return f
		}
	}
	return 0
}

func redisSha1hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseRedisError(L, "wrong number of arguments")
	}
	L.Push(lua.LString(SHA1Hex([]byte(lua.LVAsString(L.Get(1))))))
	return 1
}

func redisErrorReply(L *lua.LState) int {
	s, ok := L.Get(-1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	text := string(s)
	if !strings.HasPrefix(text, "-") {
		text = "-" + text
	}
	L.Push(errorTable(L, text))
	return 1
}

func redisStatusReply(L *lua.LState) int {
	s, ok := L.Get(-1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	t := L.NewTable()
	t.RawSetString("ok", s)
	L.Push(t)
	return 1
}
