package server

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replnode/replnode/replnode/acl"
	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/scripting"
)

// ---------------------------------------------------------------- scripting
//
// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, as Redis 7.0's eval.c and
// script.c. The interpreter, the script cache and the Lua ↔ RESP
// conversions are package scripting's; this file is the seam: it prepares
// a run (scriptPrepareForRun's refusals), gives the engine a Host whose
// Call goes through dispatch (callFromScript), and wires the commands.

func init() {
	evalFlags := FlagNoScript | FlagStale | FlagSkipMonitor | FlagNoMandatoryKeys | FlagMovableKeys | FlagMayReplicate
	// The _ro variants cannot replicate anything (no may_replicate).
	roFlags := evalFlags&^FlagMayReplicate | FlagReadOnly
	register(
		&Command{Name: "eval", Arity: -3, Flags: evalFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "evalsha", Arity: -3, Flags: evalFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "eval_ro", Arity: -3, Flags: roFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "evalsha_ro", Arity: -3, Flags: roFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "script", Arity: -2, Group: "scripting", Subcommands: []*Command{
			{Name: "debug", Arity: 3, Flags: FlagNoScript, Handler: scriptDebugCommand},
			{Name: "exists", Arity: -3, Flags: FlagNoScript, Handler: scriptExistsCommand},
			{Name: "flush", Arity: -2, Flags: FlagNoScript, Handler: scriptFlushCommand},
			{Name: "load", Arity: 3, Flags: FlagNoScript | FlagStale, Handler: scriptLoadCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: scriptHelpCommand},
			{Name: "kill", Arity: 2, Flags: FlagNoScript | FlagAllowBusy, Handler: scriptKillCommand},
		}},
		&Command{Name: "fcall", Arity: -3, Flags: evalFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: fcallFlagsFor, Handler: fcallCommand},
		&Command{Name: "fcall_ro", Arity: -3, Flags: roFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: fcallFlagsFor, Handler: fcallCommand},
		&Command{Name: "function", Arity: -2, Group: "scripting", Subcommands: []*Command{
			{Name: "load", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagNoScript, Handler: functionLoadCommand},
			{Name: "delete", Arity: 3, Flags: FlagWrite | FlagNoScript, Handler: functionDeleteCommand},
			{Name: "flush", Arity: -2, Flags: FlagWrite | FlagNoScript, Handler: functionFlushCommand},
			{Name: "list", Arity: -2, Flags: FlagNoScript, Handler: functionListCommand},
			{Name: "stats", Arity: 2, Flags: FlagNoScript | FlagAllowBusy, Handler: functionStatsCommand},
			{Name: "kill", Arity: 2, Flags: FlagNoScript | FlagAllowBusy, Handler: functionKillCommand},
			{Name: "dump", Arity: 2, Flags: FlagNoScript, Handler: functionDumpCommand},
			{Name: "restore", Arity: -3, Flags: FlagWrite | FlagDenyOOM | FlagNoScript, Handler: functionRestoreCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: functionHelpCommand},
		}},
	)
}

// scriptingState is a Server's scripting: the engine (made at first use),
// the script's client, and the run in progress.
type scriptingState struct {
	engine    *scripting.Engine
	functions *scripting.Functions
	client    *Client
	run       *scriptRun
	// lent is true while a script past busy-reply-threshold has lent the
	// executor to other clients (see lendExecutor): dispatch answers
	// -BUSY to everything but allow-busy commands, cron and Exec wait.
	lent atomic.Bool
	// preCommandOOM is whether memory was over maxmemory, with nothing
	// left to evict, when the current top-level command started.
	preCommandOOM bool
}

// scriptEngine returns s's engine, making it and the script client once.
func (s *Server) scriptEngine() *scripting.Engine {
	if s.scripts.engine == nil {
		s.scripts.engine = scripting.New()
		// The script client is not a connection: it is not in the
		// client list, as Redis's lua_client.
		c := &Client{ID: s.nextID.Add(1), s: s, w: resp.NewWriter(2), flags: ClientInternal, authenticated: true}
		c.ctx.init(s, c)
		s.scripts.client = c
	}
	return s.scripts.engine
}

// functionStore returns s's function store, made at first use.
func (s *Server) functionStore() *scripting.Functions {
	s.scriptEngine()
	if s.scripts.functions == nil {
		s.scripts.functions = scripting.NewFunctions()
	}
	return s.scripts.functions
}

// scriptRun is one script execution: the engine's Host.
type scriptRun struct {
	s      *Server
	caller *Client
	client *Client
	nowMs  int64
	// readOnly: EVAL_RO, or a no-writes script.
	readOnly bool
	allowOOM bool
	// writeDirty: the script has run a write command.
	writeDirty bool
	replFlags  int
	// failed: the script's reply holds an error (commandstats).
	failed bool
	// callerCmd and callerArgs are the EVAL/FCALL that runs the script
	// (client side caching remembers its declared keys).
	callerCmd  *Command
	callerArgs [][]byte
	// function is the FCALL being run, nil for EVAL.
	function *scripting.Function
	// name is the script's name in STATS (sha or function).
	name  string
	start time.Time

	// lendMu orders the watchdog and the script around the executor:
	// timedOut is set once busy-reply-threshold passed, lent while the
	// executor is lent, inCall during a redis.call, done at the end.
	lendMu                       sync.Mutex
	timedOut, lent, inCall, done bool
}

// Call implements scripting.Host: the command runs holding the executor,
// taken back if the script had lent it.
func (r *scriptRun) Call(args [][]byte, proto int) []byte {
	r.reclaimExecutor(true)
	r.client.w.SetProto(proto)
	r.client.w.Reset()
	r.s.callFromScript(r, args)
	out := append([]byte(nil), r.client.w.Bytes()...)
	r.client.w.Reset()
	r.releaseAfterCall()
	return out
}

// releaseAfterCall ends a call into the server: a script that ran past
// busy-reply-threshold lends the executor again.
func (r *scriptRun) releaseAfterCall() {
	r.lendMu.Lock()
	r.inCall = false
	if r.timedOut && !r.lent {
		r.lendExecutor()
	}
	r.lendMu.Unlock()
}

// lendExecutor lets other clients in while the script runs pure Lua past
// busy-reply-threshold, as Redis's processEventsWhileBlocked: they get
// -BUSY except for allow-busy commands (SCRIPT KILL, SHUTDOWN NOSAVE).
// The caller holds lendMu; the script's goroutine holds the executor.
func (r *scriptRun) lendExecutor() {
	r.lent = true
	r.s.scripts.lent.Store(true)
	r.s.mu.Unlock()
}

// reclaimExecutor takes the executor back before the script touches the
// server again (a redis.call, the end of the run).
func (r *scriptRun) reclaimExecutor(forCall bool) {
	r.lendMu.Lock()
	if r.lent {
		r.lendMu.Unlock()
		r.s.mu.Lock()
		r.lendMu.Lock()
		r.lent = false
		r.s.scripts.lent.Store(false)
	}
	r.inCall = forCall
	if !forCall {
		r.done = true
	}
	r.lendMu.Unlock()
}

// watch marks the run timed out after threshold and lends the executor
// unless a redis.call holds it (Call lends it when the call ends).
func (r *scriptRun) watch(threshold time.Duration) (stop func()) {
	timer := time.AfterFunc(threshold, func() {
		r.lendMu.Lock()
		defer r.lendMu.Unlock()
		if r.done {
			return
		}
		r.timedOut = true
		r.s.Log.Warningf("Slow script detected: still in execution after %d milliseconds. You can try killing the script using the SCRIPT KILL command.", threshold.Milliseconds())
		if !r.inCall && !r.lent {
			r.lendExecutor()
		}
	})
	return func() { timer.Stop() }
}

// ACLCheckCmd implements scripting.Host (redis.acl_check_cmd): the
// caller's user is checked as dispatch would, without logging.
func (r *scriptRun) ACLCheckCmd(args [][]byte) (allowed, known bool) {
	r.reclaimExecutor(true)
	defer r.releaseAfterCall()
	cmd := lookupCommandName(args[0])
	if cmd != nil && len(cmd.Subcommands) > 0 && len(args) >= 2 {
		cmd = cmd.subcommand(args[1])
	}
	if cmd == nil {
		return false, false
	}
	u := r.caller.user
	if u == nil || u.Unrestricted() {
		return true, true
	}
	res, _ := r.s.aclCheck(u, cmd, args)
	return res == acl.OK, true
}

// SetRepl implements scripting.Host.
func (r *scriptRun) SetRepl(flags int) { r.replFlags = flags }

// ErrorReplied implements scripting.Host.
func (r *scriptRun) ErrorReplied(msg string, counted bool) {
	if counted {
		r.s.countError(msg)
	}
	r.failed = true
}

// Log implements scripting.Host.
func (r *scriptRun) Log(level int, msg string) { r.s.Log.Logf(level, "%s", msg) }

// evalFlagsFor is getCommandFlags for the EVAL family: a cached script or
// a body with a shebang brings its declared flags (scriptFlagsToCmdFlags).
func evalFlagsFor(s *Server, args [][]byte) Flags {
	cmd := lookupCommandName(args[0])
	flags := cmd.Flags
	if len(args) < 3 {
		return flags
	}
	var sf scripting.Flags
	isSha := strings.HasPrefix(cmd.Name, "evalsha")
	if sc := s.scriptEngine().Get(string(args[1])); isSha || sc != nil {
		if sc == nil && isSha {
			return flags
		}
		if sc == nil {
			sc = s.scriptEngine().Get(scripting.SHA1Hex(args[1]))
		}
		if sc == nil {
			return flags
		}
		sf = sc.Flags
	} else {
		f, _, err := scripting.ParseShebang(args[1])
		if err != "" {
			return flags
		}
		sf = f
	}
	return scriptCommandFlags(flags, sf)
}

// scriptCommandFlags is scriptFlagsToCmdFlags: a script that declares
// flags runs with them instead of the command's.
func scriptCommandFlags(flags Flags, sf scripting.Flags) Flags {
	if sf&scripting.FlagEvalCompat != 0 {
		return flags
	}
	flags &^= FlagStale | FlagDenyOOM | FlagWrite | FlagMayReplicate
	if sf&(scripting.FlagAllowOOM|scripting.FlagNoWrites) == 0 {
		flags |= FlagDenyOOM
	}
	if sf&scripting.FlagNoWrites == 0 {
		flags |= FlagWrite
	}
	if sf&scripting.FlagAllowStale != 0 {
		flags |= FlagStale
	}
	return flags
}

// evalCommand is EVAL, EVALSHA, EVAL_RO and EVALSHA_RO.
// scriptNumKeysFit checks EVAL's and FCALL's numkeys against the
// arguments after it (evalGenericCommand, fcallCommandGeneric).
func scriptNumKeysFit(ctx *Ctx, numkeys int64) bool {
	if numkeys > int64(len(ctx.Args)-3) {
		ctx.Error("ERR Number of keys can't be greater than number of args")
		return false
	}
	if numkeys < 0 {
		ctx.Error("ERR Number of keys can't be negative")
		return false
	}
	return true
}

func evalCommand(ctx *Ctx) {
	s := ctx.S
	if len(s.monitors) > 0 {
		// MONITOR shows the script command before the commands it runs.
		s.feedMonitors(ctx.C, ctx.DBNum, ctx.Args)
	}
	numkeys, ok := ctx.Int(2)
	if !ok {
		return
	}
	if !scriptNumKeysFit(ctx, numkeys) {
		return
	}
	e := s.scriptEngine()
	var sc *scripting.Script
	name := ctx.Cmd.Name
	if strings.HasPrefix(name, "evalsha") {
		if len(ctx.Args[1]) == 40 {
			sc = e.Get(string(ctx.Args[1]))
		}
		if sc == nil {
			ctx.Error("NOSCRIPT No matching script. Please use EVAL.")
			return
		}
	} else {
		var msg string
		if sc, msg = e.Load(ctx.Args[1]); sc == nil {
			ctx.Error(msg)
			return
		}
	}
	ro := strings.HasSuffix(name, "_ro")
	run, msg := s.prepareScriptRun(ctx, sc.Flags, ro)
	if msg != "" {
		ctx.Error(msg)
		return
	}
	run.name = sc.SHA
	s.runScript(ctx, run, func() (string, bool) {
		return e.Run(sc, run, ctx.W, ctx.Args[3:3+numkeys], ctx.Args[3+numkeys:])
	})
}

// prepareScriptRun is Redis 7.0's scriptPrepareForRun: the refusals a
// script with a shebang gets before it starts, and the run's state.
func (s *Server) prepareScriptRun(ctx *Ctx, flags scripting.Flags, ro bool) (*scriptRun, string) {
	caller := ctx.C
	obey := caller.flags&ClientMaster != 0
	stale := s.IsReplica() && !s.MasterLinkUp && !s.hot.serveStale
	compat := flags&scripting.FlagEvalCompat != 0
	if !compat {
		if stale && flags&scripting.FlagAllowStale == 0 {
			return nil, "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script."
		}
		if flags&scripting.FlagNoWrites == 0 {
			if s.IsReplica() && s.hot.replicaReadOnly && !obey {
				return nil, "READONLY Can not run script with write flag on readonly replica"
			}
			if s.WriteError != nil && !s.IsReplica() && !obey {
				if msg := s.WriteError(); msg != "" {
					return nil, "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts."
				}
			}
			if ro {
				return nil, "ERR Can not execute a script with write flag using *_ro command."
			}
			if !s.IsReplica() && s.hot.minReplicas > 0 && s.goodReplicas() < int(s.hot.minReplicas) {
				return nil, ErrNoReplicas
			}
		}
		if s.scripts.preCommandOOM && s.hot.maxmemory > 0 && flags&(scripting.FlagAllowOOM|scripting.FlagNoWrites) == 0 {
			return nil, "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
		}
	} else if stale {
		return nil, ErrMasterDown
	}
	c := s.scripts.client
	c.DBNum = caller.DBNum
	c.fence = caller.fence
	// The script's commands are checked against the caller's ACL user.
	c.user = caller.user
	run := &scriptRun{
		s: s, caller: caller, client: c, nowMs: ctx.NowMs, callerCmd: ctx.Cmd, callerArgs: ctx.Args,
		readOnly:  ro || (!compat && flags&scripting.FlagNoWrites != 0),
		allowOOM:  !compat && flags&scripting.FlagAllowOOM != 0,
		replFlags: scripting.ReplAll,
	}
	return run, ""
}

// scriptLoadCommand is SCRIPT LOAD.
func scriptLoadCommand(ctx *Ctx) {
	sc, msg := ctx.S.scriptEngine().Load(ctx.Args[2])
	if sc == nil {
		ctx.Error(msg)
		return
	}
	ctx.W.BulkString(sc.SHA)
}

// scriptExistsCommand is SCRIPT EXISTS.
func scriptExistsCommand(ctx *Ctx) {
	e := ctx.S.scriptEngine()
	ctx.W.ArrayLen(len(ctx.Args) - 2)
	for _, sha := range ctx.Args[2:] {
		if e.Get(string(sha)) != nil {
			ctx.W.Int(1)
		} else {
			ctx.W.Int(0)
		}
	}
}

// scriptFlushCommand is SCRIPT FLUSH [ASYNC|SYNC].
func scriptFlushCommand(ctx *Ctx) {
	if len(ctx.Args) > 3 || (len(ctx.Args) == 3 && !ctx.ArgIs(2, "sync") && !ctx.ArgIs(2, "async")) {
		ctx.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	ctx.S.scriptEngine().Flush()
	ctx.W.OK()
}

// scriptKillCommand is SCRIPT KILL: it reaches a script only while the
// script lends the executor (past busy-reply-threshold).
func scriptKillCommand(ctx *Ctx) {
	run := ctx.S.scripts.run
	switch {
	case run == nil:
		ctx.Error("NOTBUSY No scripts in execution right now.")
	case run.caller.flags&ClientMaster != 0:
		ctx.Error("UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.")
	case run.writeDirty:
		ctx.Error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
	case run.function != nil:
		ctx.Error(ErrBusyFunction)
	default:
		ctx.S.scripts.engine.Kill()
		ctx.W.OK()
	}
}

// ErrBusyFunction is the reply to commands while a function is busy.
const ErrBusyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."

// busyError is the -BUSY reply for the script running now.
func (s *Server) busyError() string {
	if run := s.scripts.run; run != nil && run.function != nil {
		return ErrBusyFunction
	}
	return ErrBusyScript
}

// fcallFlagsFor is fcallGetCommandFlags: the function's declared flags.
func fcallFlagsFor(s *Server, args [][]byte) Flags {
	cmd := lookupCommandName(args[0])
	if len(args) < 3 {
		return cmd.Flags
	}
	fun := s.functionStore().Get(string(args[1]))
	if fun == nil {
		return cmd.Flags
	}
	return scriptCommandFlags(cmd.Flags, fun.Flags)
}

// fcallCommand is FCALL and FCALL_RO.
func fcallCommand(ctx *Ctx) {
	s := ctx.S
	if len(s.monitors) > 0 {
		s.feedMonitors(ctx.C, ctx.DBNum, ctx.Args)
	}
	fs := s.functionStore()
	fun := fs.Get(string(ctx.Args[1]))
	if fun == nil {
		ctx.Error("ERR Function not found")
		return
	}
	numkeys, ok := resp.ParseInt(ctx.Args[2])
	if !ok {
		ctx.Error("ERR Bad number of keys provided")
		return
	}
	if !scriptNumKeysFit(ctx, numkeys) {
		return
	}
	run, msg := s.prepareScriptRun(ctx, fun.Flags, strings.HasSuffix(ctx.Cmd.Name, "_ro"))
	if msg != "" {
		ctx.Error(msg)
		return
	}
	run.function, run.name = fun, fun.Name
	s.runScript(ctx, run, func() (string, bool) {
		return fs.Call(fun, run, ctx.W, ctx.Args[3:3+numkeys], ctx.Args[3+numkeys:])
	})
}

// runScript runs a prepared script (EVAL, FCALL) with the busy watchdog
// and replies its error, if any.
func (s *Server) runScript(ctx *Ctx, run *scriptRun, body func() (string, bool)) {
	s.scripts.run = run
	defer func() { s.scripts.run = nil }()
	run.start = time.Now()
	if ms := s.Config.Int("busy-reply-threshold"); ms > 0 && ctx.C.flags&ClientMaster == 0 {
		stop := run.watch(time.Duration(ms) * time.Millisecond)
		defer stop()
	}
	errMsg, count := body()
	run.reclaimExecutor(false)
	if run.failed {
		ctx.errors++
	}
	if errMsg != "" {
		ctx.errors++
		if count {
			s.countError(errMsg)
		}
		ctx.W.Error(errMsg)
	}
}

// functionLoadCommand is FUNCTION LOAD [REPLACE] code.
func functionLoadCommand(ctx *Ctx) {
	replace := false
	i := 2
	for ; i < len(ctx.Args)-1; i++ {
		if ctx.ArgIs(i, "replace") {
			replace = true
			continue
		}
		ctx.Errorf("ERR Unknown option given: %s", ctx.Args[i])
		return
	}
	if i >= len(ctx.Args) {
		ctx.Error("ERR Function code is missing")
		return
	}
	name, msg := ctx.S.functionStore().Load(ctx.Args[i], replace)
	if msg != "" {
		ctx.Error(msg)
		return
	}
	ctx.Modified(1)
	ctx.W.BulkString(name)
}

// functionDeleteCommand is FUNCTION DELETE library.
func functionDeleteCommand(ctx *Ctx) {
	if !ctx.S.functionStore().Delete(string(ctx.Args[2])) {
		ctx.Error("ERR Library not found")
		return
	}
	ctx.Modified(1)
	ctx.W.OK()
}

// functionFlushCommand is FUNCTION FLUSH [ASYNC|SYNC].
func functionFlushCommand(ctx *Ctx) {
	if len(ctx.Args) > 3 || (len(ctx.Args) == 3 && !ctx.ArgIs(2, "sync") && !ctx.ArgIs(2, "async")) {
		ctx.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	}
	ctx.S.functionStore().Flush()
	ctx.Modified(1)
	ctx.W.OK()
}

// functionListCommand is FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern].
func functionListCommand(ctx *Ctx) {
	withCode := false
	var pattern []byte
	for i := 2; i < len(ctx.Args); i++ {
		switch {
		case ctx.ArgIs(i, "withcode") && !withCode:
			withCode = true
		case ctx.ArgIs(i, "libraryname") && pattern == nil:
			if i+1 >= len(ctx.Args) {
				ctx.Error("ERR library name argument was not given")
				return
			}
			pattern = ctx.Args[i+1]
			i++
		default:
			ctx.Errorf("ERR Unknown argument %s", ctx.Args[i])
			return
		}
	}
	var libs []*scripting.Library
	for _, l := range ctx.S.functionStore().Libraries() {
		if pattern == nil || globMatch(pattern, []byte(l.Name), false) {
			libs = append(libs, l)
		}
	}
	w := ctx.W
	w.ArrayLen(len(libs))
	for _, l := range libs {
		n := 3
		if withCode {
			n = 4
		}
		w.MapLen(n)
		w.BulkString("library_name")
		w.BulkString(l.Name)
		w.BulkString("engine")
		w.BulkString("LUA")
		w.BulkString("functions")
		names := make([]string, 0, len(l.Functions))
		for name := range l.Functions {
			names = append(names, name)
		}
		sort.Strings(names)
		w.ArrayLen(len(names))
		for _, name := range names {
			f := l.Functions[name]
			w.MapLen(3)
			w.BulkString("name")
			w.BulkString(f.Name)
			w.BulkString("description")
			if f.Description == "" {
				w.Null()
			} else {
				w.BulkString(f.Description)
			}
			w.BulkString("flags")
			var flags []string
			for _, fl := range []struct {
				f    scripting.Flags
				name string
			}{{scripting.FlagNoWrites, "no-writes"}, {scripting.FlagAllowOOM, "allow-oom"}, {scripting.FlagAllowStale, "allow-stale"}, {scripting.FlagNoCluster, "no-cluster"}, {scripting.FlagAllowCrossSlot, "allow-cross-slot-keys"}} {
				if f.Flags&fl.f != 0 {
					flags = append(flags, fl.name)
				}
			}
			w.SetLen(len(flags))
			for _, fl := range flags {
				w.BulkString(fl)
			}
		}
		if withCode {
			w.BulkString("library_code")
			w.BulkString(l.Code)
		}
	}
}

// functionDumpCommand is FUNCTION DUMP.
func functionDumpCommand(ctx *Ctx) {
	ctx.W.Bulk(rdb.FunctionsDumpPayload(ctx.S.functionCodes()))
}

// functionRestoreCommand is FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE].
func functionRestoreCommand(ctx *Ctx) {
	if len(ctx.Args) > 4 {
		ctx.ArityError()
		return
	}
	policy := "append"
	if len(ctx.Args) == 4 {
		switch {
		case ctx.ArgIs(3, "append"), ctx.ArgIs(3, "replace"), ctx.ArgIs(3, "flush"):
			policy = strings.ToLower(ctx.Arg(3))
		default:
			ctx.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
			return
		}
	}
	codes, err := rdb.ParseFunctionsPayload(ctx.Args[2])
	switch {
	case errors.Is(err, rdb.ErrBadDumpPayload):
		ctx.Error("ERR DUMP payload version or checksum are wrong")
		return
	case errors.Is(err, rdb.ErrNotFunction):
		ctx.Error("ERR given type is not a function")
		return
	case err != nil:
		ctx.Error("ERR failed loading the given functions payload")
		return
	}
	next, msg := ctx.S.functionStore().Restore(codes, policy)
	if msg != "" {
		ctx.Error(msg)
		return
	}
	ctx.S.scripts.functions = next
	ctx.Modified(1)
	ctx.W.OK()
}

// functionStatsCommand is FUNCTION STATS.
func functionStatsCommand(ctx *Ctx) {
	s, w := ctx.S, ctx.W
	fs := s.functionStore()
	w.MapLen(2)
	w.BulkString("running_script")
	if run := s.scripts.run; run == nil {
		w.Null()
	} else {
		w.MapLen(3)
		w.BulkString("name")
		w.BulkString(run.name)
		w.BulkString("command")
		w.ArrayLen(0)
		w.BulkString("duration_ms")
		w.Int(time.Since(run.start).Milliseconds())
	}
	w.BulkString("engines")
	w.MapLen(1)
	w.BulkString("LUA")
	w.MapLen(2)
	w.BulkString("libraries_count")
	w.Int(int64(len(fs.Libraries())))
	w.BulkString("functions_count")
	w.Int(int64(fs.NumFunctions()))
}

// functionKillCommand is FUNCTION KILL.
func functionKillCommand(ctx *Ctx) {
	run := ctx.S.scripts.run
	switch {
	case run == nil:
		ctx.Error("NOTBUSY No scripts in execution right now.")
	case run.function == nil:
		ctx.Error(ErrBusyScript)
	case run.caller.flags&ClientMaster != 0:
		ctx.Error("UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.")
	case run.writeDirty:
		ctx.Error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
	default:
		ctx.S.scripts.functions.Kill()
		ctx.W.OK()
	}
}

// functionHelpCommand is FUNCTION HELP.
func functionHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "FUNCTION",
		"LOAD [REPLACE] <FUNCTION CODE>",
		"    Create a new library with the given library name and code.",
		"DELETE <LIBRARY NAME>",
		"    Delete the given library.",
		"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
		"    Return general information on all the libraries:",
		"    * Library name",
		"    * The engine used to run the Library",
		"    * Library description",
		"    * Functions list",
		"    * Library code (if WITHCODE is given)",
		"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
		"STATS",
		"    Return information about the current function running:",
		"    * Function name",
		"    * Command used to run the function",
		"    * Duration in MS that the function is running",
		"    If no function is running, return nil",
		"    In addition, returns a list of available engines.",
		"KILL",
		"    Kill the current running function.",
		"FLUSH [ASYNC|SYNC]",
		"    Delete all the libraries.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the libraries.",
		"    * SYNC: Synchronously flush the libraries.",
		"DUMP",
		"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
		"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
		"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
		"    control how to handle existing libraries (default APPEND):",
		"    * FLUSH: delete all existing libraries.",
		"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
		"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
		"      libraries with the new libraries (notice that even on this option there is a chance of failure",
		"      in case of functions name collision with another library).")
}

// ErrBusyScript is the reply to commands while a script is busy.
const ErrBusyScript = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."

// scriptDebugCommand is SCRIPT DEBUG: the Lua debugger is not available.
func scriptDebugCommand(ctx *Ctx) {
	switch {
	case ctx.ArgIs(2, "no"):
		ctx.W.OK()
	case ctx.ArgIs(2, "yes"), ctx.ArgIs(2, "sync"):
		ctx.Error("ERR SCRIPT DEBUG is not supported by replnode")
	default:
		ctx.Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
	}
}

// scriptHelpCommand is SCRIPT HELP.
func scriptHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "SCRIPT",
		"DEBUG (YES|SYNC|NO)",
		"    Set the debug mode for subsequent scripts executed.",
		"EXISTS <sha1> [<sha1> ...]",
		"    Return information about the existence of the scripts in the script cache.",
		"FLUSH [ASYNC|SYNC]",
		"    Flush the Lua scripts cache. Very dangerous on replicas.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the scripts cache.",
		"    * SYNC: Synchronously flush the scripts cache.",
		"KILL",
		"    Kill the currently executing Lua script.",
		"LOAD <script>",
		"    Load a script into the scripts cache without executing it.")
}

// functionCodes are the libraries' codes for an RDB (saves, full syncs).
func (s *Server) functionCodes() [][]byte {
	if s.scripts.functions == nil {
		return nil
	}
	var out [][]byte
	for _, l := range s.scripts.functions.Libraries() {
		out = append(out, []byte(l.Code))
	}
	return out
}

// restoreFunctions replaces the libraries with those of a loaded RDB.
func (s *Server) restoreFunctions(codes [][]byte) {
	if len(codes) == 0 && s.scripts.functions == nil {
		return
	}
	fs := s.functionStore()
	fs.Flush()
	for _, code := range codes {
		if _, msg := fs.Load(code, true); msg != "" {
			s.Log.Warningf("Failed loading library from RDB: %s", msg)
		}
	}
}

// scriptingMemoryInfo writes INFO memory's scripting fields, as Redis
// 7.0. The cache sizes are the scripts' and libraries' bytes; the Lua VM
// fields stay 0: gopher-lua allocates from the Go heap (counted in
// used_memory) and has no allocator of its own to measure.
func (s *Server) scriptingMemoryInfo(b *strings.Builder) {
	var evalBytes, nScripts, fnBytes, nFuncs, nLibs int64
	if e := s.scripts.engine; e != nil {
		evalBytes, nScripts = e.BodyBytes(), int64(e.Len())
	}
	if f := s.scripts.functions; f != nil {
		for _, l := range f.Libraries() {
			fnBytes += int64(len(l.Code) + len(l.Name))
			nLibs++
		}
		nFuncs = int64(f.NumFunctions())
	}
	infoLine(b, "used_memory_lua:0")
	infoLine(b, "used_memory_vm_eval:0")
	infoLine(b, "used_memory_lua_human:0B")
	infoLine(b, "used_memory_scripts_eval:%d", evalBytes)
	infoLine(b, "number_of_cached_scripts:%d", nScripts)
	infoLine(b, "number_of_functions:%d", nFuncs)
	infoLine(b, "number_of_libraries:%d", nLibs)
	infoLine(b, "used_memory_vm_functions:0")
	infoLine(b, "used_memory_vm_total:0")
	infoLine(b, "used_memory_vm_total_human:0B")
	infoLine(b, "used_memory_functions:%d", fnBytes)
	infoLine(b, "used_memory_scripts:%d", evalBytes+fnBytes)
	infoLine(b, "used_memory_scripts_human:%s", bytesHuman(evalBytes+fnBytes))
}

// trackingAfterScriptAwareCall is the client side caching step of
// call() in Redis 7.0: a read command remembers its keys for its client,
// but a read a script runs remembers the keys the script declared for the
// script's caller; EVAL_RO, EVALSHA_RO and FCALL_RO remember nothing by
// themselves.
func (s *Server) trackingAfterScriptAwareCall(c *Client, cmd *Command, args [][]byte) {
	if cmd.Flags&FlagReadOnly == 0 {
		return
	}
	switch cmd.Name {
	case "eval_ro", "evalsha_ro", "fcall_ro":
		return
	}
	if run := s.scripts.run; run != nil && c == run.client {
		s.trackingRememberKeys(run.caller, run.callerCmd, run.callerArgs)
		return
	}
	s.trackingRememberKeys(c, cmd, args)
}
