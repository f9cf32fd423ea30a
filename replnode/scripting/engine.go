package scripting

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/replnode/replnode/replnode/resp"
)

// Version is what redis.REDIS_VERSION and REDIS_VERSION_NUM report.
const (
	Version    = "7.0.15"
	VersionNum = 0x0007000f
)

// Flags are a script's shebang flags (#!lua flags=...).
type Flags uint32

const (
	FlagNoWrites Flags = 1 << iota
	FlagAllowOOM
	FlagAllowStale
	FlagNoCluster
	FlagAllowCrossSlot
	// FlagEvalCompat marks a script without a shebang: 7.0 runs it with
	// the flags of the commands it calls, as 6.x did.
	FlagEvalCompat
)

var flagNames = []struct {
	name string
	f    Flags
}{
	{"no-writes", FlagNoWrites}, {"allow-oom", FlagAllowOOM}, {"allow-stale", FlagAllowStale},
	{"no-cluster", FlagNoCluster}, {"allow-cross-slot-keys", FlagAllowCrossSlot},
}

// Log levels of redis.log, as Redis's LL_*.
const (
	LogDebug = iota
	LogVerbose
	LogNotice
	LogWarning
)

// Replication targets of redis.set_repl, as Redis's PROPAGATE_*.
const (
	ReplNone    = 0
	ReplAOF     = 1
	ReplReplica = 2
	ReplAll     = ReplAOF | ReplReplica
)

// Host is the engine's only way out: the server implements it for one
// script run.
type Host interface {
	// Call runs a command the script called through the server's
	// dispatch, as the script's client speaking protocol proto (2 or 3),
	// and returns the RESP reply, an error reply included ("-ERR ...").
	Call(args [][]byte, proto int) []byte
	// SetRepl is redis.set_repl: where the effects of the following
	// commands go (Repl* bits).
	SetRepl(flags int)
	// Log writes a redis.log line at level (Log*), if the server's
	// verbosity lets it through.
	Log(level int, msg string)
	// ErrorReplied tells that the script's reply holds the error msg (an
	// error table it returned): counted says whether it goes into the
	// error statistics (not when it is a command's error the script
	// passed on, counted when it happened); either way the call failed.
	ErrorReplied(msg string, counted bool)
	// ACLCheckCmd is redis.acl_check_cmd: whether the script's caller's
	// ACL user may run the command; known is false for an unknown
	// command.
	ACLCheckCmd(args [][]byte) (allowed, known bool)
}

// Script is a cached EVAL script.
type Script struct {
	SHA   string
	Body  []byte
	Flags Flags
	fn    *lua.LFunction
}

// Engine is one Lua interpreter with its script cache. It is not safe for
// concurrent use: the server uses it on its executor only.
type Engine struct {
	L       *lua.LState
	scripts map[string]*Script
	// bodyBytes is the size of the cached bodies (used_memory_scripts).
	bodyBytes int64
	run       *runState
	rng       lrand48
	globals   *lua.LTable
	// killMu guards cancel and killed, which Kill sets from another
	// goroutine while the script runs.
	// broken is set when a run panicked past gopher-lua (see pcall).
	broken bool
	killMu sync.Mutex
	cancel context.CancelFunc
	killed bool
	// proxyGlobals is the read-only view of globals scripts run in;
	// lookup is the table it reads (globals, or the library API while
	// FUNCTION LOAD runs a library's code).
	proxyGlobals *lua.LTable
	lookup       *lua.LTable
	errFunc      *lua.LFunction
}

// runState is what the redis.* functions need during one run.
type runState struct {
	host  Host
	proto int
}

// New returns an engine with an empty script cache.
func New() *Engine {
	e := &Engine{rng: newLrand48()}
	e.reset()
	return e
}

// reset makes a fresh interpreter and forgets every script (SCRIPT FLUSH).
func (e *Engine) reset() {
	if e.L != nil {
		e.L.Close()
	}
	// Lua 5.1's limits: 20000 nested calls (LUAI_MAXCALLS); the data
	// stack grows on demand instead of overflowing gopher-lua's default.
	e.L = lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 20000, MinimizeStackMemory: true,
		RegistrySize: 1024 * 20, RegistryMaxSize: 1024 * 1024, RegistryGrowStep: 1024})
	e.scripts = map[string]*Script{}
	e.bodyBytes = 0
	e.broken = false
	e.initSandbox()
}

// Flush empties the script cache (SCRIPT FLUSH).
func (e *Engine) Flush() { e.reset() }

// Len is the number of cached scripts.
func (e *Engine) Len() int { return len(e.scripts) }

// BodyBytes is the memory the cached scripts' bodies take.
func (e *Engine) BodyBytes() int64 { return e.bodyBytes }

// Get returns the cached script with sha (lower or upper case hex), or nil.
func (e *Engine) Get(sha string) *Script { return e.scripts[strings.ToLower(sha)] }

// SHA1Hex is Redis's sha1hex.
func SHA1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// ParseShebang reads the flags of body's "#!lua" line, as Redis 7.0's
// evalExtractShebangFlags. A body without a shebang gets FlagEvalCompat.
// n is the length of the shebang line (the newline is kept in the code).
func ParseShebang(body []byte) (flags Flags, n int, err string) {
	if !bytes.HasPrefix(body, []byte("#!")) {
		return FlagEvalCompat, 0, ""
	}
	end := bytes.IndexByte(body, '\n')
	if end < 0 {
		return 0, 0, "Invalid script shebang"
	}
	parts, _, ok := resp.SplitArgs(body[:end], nil, nil)
	if !ok || len(parts) == 0 {
		return 0, 0, "Invalid engine in script shebang"
	}
	if string(parts[0]) != "#!lua" {
		return 0, 0, "Unexpected engine in script shebang: " + string(parts[0])
	}
	for _, p := range parts[1:] {
		opt := string(p)
		if !strings.HasPrefix(opt, "flags=") {
			return 0, 0, "Unknown lua shebang option: " + opt
		}
		for _, name := range strings.Split(opt[len("flags="):], ",") {
			if name == "" && opt == "flags=" {
				// sdssplitlen of an empty string yields no element.
				break
			}
			found := false
			for _, fn := range flagNames {
				if fn.name == name {
					flags |= fn.f
					found = true
					break
				}
			}
			if !found {
				return 0, 0, "Unexpected flag in script shebang: " + name
			}
		}
	}
	return flags, end, ""
}

// Load compiles body and caches it (EVAL, SCRIPT LOAD); a cached body is
// returned as is. err is Redis's error reply text.
func (e *Engine) Load(body []byte) (*Script, string) {
	sha := SHA1Hex(body)
	if s := e.scripts[sha]; s != nil {
		return s, ""
	}
	flags, n, serr := ParseShebang(body)
	if serr != "" {
		return nil, "ERR " + serr
	}
	fn, err := e.L.Load(bytes.NewReader(body[n:]), "user_script")
	if err != nil {
		return nil, "ERR Error compiling script (new function): " + compileError(err, body[n:])
	}
	fn.Env = e.proxyGlobals
	s := &Script{SHA: sha, Body: bytes.Clone(body), Flags: flags, fn: fn}
	e.scripts[sha] = s
	e.bodyBytes += int64(len(body)) + 40
	return s, ""
}

// compileError words a gopher-lua syntax error as Lua 5.1's
// "user_script:<line>: <message> near '<token>'".
func compileError(err error, code []byte) string {
	var pe *parse.Error
	if ae, ok := err.(*lua.ApiError); ok && ae.Cause != nil {
		err = ae.Cause
	}
	if !errors.As(err, &pe) {
		return strings.TrimSpace(err.Error())
	}
	line, tok := pe.Pos.Line, pe.Token
	if line == parse.EOF {
		line, tok = bytes.Count(code, []byte("\n"))+1, "<eof>"
	}
	msg := pe.Message
	switch msg {
	case "syntax error":
		msg = "unexpected symbol"
	case "unterminated string":
		msg = "unfinished string"
	}
	return "user_script:" + strconv.Itoa(line) + ": " + msg + " near '" + tok + "'"
}

// Run runs a cached script with KEYS and ARGV and writes its reply to w,
// converted as Redis's luaReplyToRedisReply. When the script fails it
// writes nothing and returns the error text (with its code, no "-") and
// whether the error still has to be counted in the error statistics (a
// command's error the script re-raised was counted when it happened).
func (e *Engine) Run(s *Script, h Host, w *resp.Writer, keys, args [][]byte) (errMsg string, countErr bool) {
	e.globals.RawSetString("KEYS", stringArray(e.L, keys))
	e.globals.RawSetString("ARGV", stringArray(e.L, args))
	msg, count := e.call(s.fn, s.SHA, h, w)
	if e.broken {
		e.Rebuild()
	}
	return msg, count
}

// call runs fn with args under the error handler, as luaCallFunction:
// name is what errors call the script (the sha, the function name).
func (e *Engine) call(fn *lua.LFunction, name string, h Host, w *resp.Writer, args ...lua.LValue) (errMsg string, countErr bool) {
	e.run = &runState{host: h, proto: 2}
	ctx, cancel := context.WithCancel(context.Background())
	e.killMu.Lock()
	e.cancel, e.killed = cancel, false
	e.killMu.Unlock()
	L := e.L
	L.SetContext(ctx)
	defer func() {
		L.RemoveContext()
		e.killMu.Lock()
		e.cancel = nil
		e.killMu.Unlock()
		cancel()
		e.run = nil
	}()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	err := e.pcall(len(args))
	if err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
			obj = ae.Object
		}
		if e.wasKilled() {
			obj = e.killedError(obj)
		}
		return runError(name, obj)
	}
	ret := L.Get(-1)
	L.Pop(1)
	e.toRESP(w, ret, e.run.proto)
	return "", false
}

// pcall is PCall with the error handler, turning a panic that escapes
// gopher-lua's own recovery (an error inside the error handler) into an
// error instead of a crash; the interpreter is rebuilt afterwards.
func (e *Engine) pcall(nargs int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.broken = true
			err = &lua.ApiError{Type: lua.ApiErrorPanic, Object: lua.LString(fmt.Sprint(r))}
		}
	}()
	return e.L.PCall(nargs, 1, e.errFunc)
}

// Broken reports whether the last run left the interpreter unusable
// (see pcall): the owner must rebuild it.
func (e *Engine) Broken() bool { return e.broken }

// Rebuild makes a fresh interpreter and compiles the cached scripts again.
func (e *Engine) Rebuild() {
	scripts := e.scripts
	e.broken = false
	e.reset()
	for _, sc := range scripts {
		e.Load(sc.Body)
	}
}

// Kill stops the running script (SCRIPT KILL): it fails at its next
// instruction, and pcall cannot catch it. Safe from any goroutine.
func (e *Engine) Kill() {
	e.killMu.Lock()
	defer e.killMu.Unlock()
	if e.cancel != nil {
		e.killed = true
		e.cancel()
	}
}

func (e *Engine) wasKilled() bool {
	e.killMu.Lock()
	defer e.killMu.Unlock()
	return e.killed
}

// killedError is the error of a killed script, at the line it reached.
func (e *Engine) killedError(obj lua.LValue) lua.LValue {
	t := e.L.NewTable()
	t.RawSetString("err", lua.LString("ERR Script killed by user with SCRIPT KILL..."))
	if old, ok := obj.(*lua.LTable); ok {
		t.RawSetString("source", old.RawGetString("source"))
		t.RawSetString("line", old.RawGetString("line"))
	}
	return t
}

// runError words a failed run as luaCallFunction does.
func runError(sha string, obj lua.LValue) (string, bool) {
	if str, ok := obj.(lua.LString); ok {
		// The error handler could not run (the call stack was full):
		// word the error as it would have.
		obj = handledError(string(str))
	}
	t, ok := obj.(*lua.LTable)
	if !ok {
		msg := "execution failure"
		if lua.LVCanConvToString(obj) {
			msg = lua.LVAsString(obj)
		}
		if len(msg) > 100 {
			msg = msg[:100]
		}
		return "ERR Error running script " + sha + ", " + msg + "\n", true
	}
	msg := ""
	if v := t.RawGetString("err"); lua.LVCanConvToString(v) {
		msg = lua.LVAsString(v)
	}
	if src, line := t.RawGetString("source"), t.RawGetString("line"); lua.LVCanConvToString(src) && lua.LVCanConvToString(line) {
		msg += " script: " + sha + ", on " + lua.LVAsString(src) + ":" + lua.LVAsString(line) + "."
	}
	count := true
	if b, ok := t.RawGetString("ignore_error_stats_update").(lua.LBool); ok && bool(b) {
		count = false
	}
	return msg, count
}

// handledError is what the error handler makes of a plain error message:
// {err="ERR msg"}, with the source and line of a "chunk:line:" prefix.
func handledError(msg string) *lua.LTable {
	t := &lua.LTable{}
	t.RawSetString("err", lua.LString("ERR "+msg))
	if i := strings.IndexByte(msg, ':'); i > 0 {
		rest := msg[i+1:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			if line, err := strconv.Atoi(rest[:j]); err == nil {
				t.RawSetString("source", lua.LString("@"+msg[:i]))
				t.RawSetString("line", lua.LString(strconv.Itoa(line)))
			}
		}
	}
	return t
}

// stringArray is Redis's luaCreateArray.
func stringArray(L *lua.LState, elems [][]byte) *lua.LTable {
	t := L.CreateTable(len(elems), 0)
	for i, e := range elems {
		t.RawSetInt(i+1, lua.LString(e))
	}
	return t
}
