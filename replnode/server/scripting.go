package server

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	register(
		&Command{Name: "eval", Arity: -3, Flags: evalFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "evalsha", Arity: -3, Flags: evalFlags, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "eval_ro", Arity: -3, Flags: evalFlags | FlagReadOnly, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "evalsha_ro", Arity: -3, Flags: evalFlags | FlagReadOnly, Group: "scripting", GetKeys: numkeysAt(2), FlagsFor: evalFlagsFor, Handler: evalCommand},
		&Command{Name: "script", Arity: -2, Group: "scripting", Subcommands: []*Command{
			{Name: "debug", Arity: 3, Flags: FlagNoScript, Handler: scriptDebugCommand},
			{Name: "exists", Arity: -3, Flags: FlagNoScript, Handler: scriptExistsCommand},
			{Name: "flush", Arity: -2, Flags: FlagNoScript, Handler: scriptFlushCommand},
			{Name: "load", Arity: 3, Flags: FlagNoScript | FlagStale, Handler: scriptLoadCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: scriptHelpCommand},
			{Name: "kill", Arity: 2, Flags: FlagNoScript | FlagAllowBusy, Handler: scriptKillCommand},
		}},
	)
}

// scriptingState is a Server's scripting: the engine (made at first use),
// the script's client, and the run in progress.
type scriptingState struct {
	engine *scripting.Engine
	client *Client
	run    *scriptRun
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
	r.lendMu.Lock()
	r.inCall = false
	if r.timedOut && !r.lent {
		r.lendExecutor()
	}
	r.lendMu.Unlock()
	return out
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

// SetRepl implements scripting.Host.
func (r *scriptRun) SetRepl(flags int) { r.replFlags = flags }

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
	if numkeys > int64(len(ctx.Args)-3) {
		ctx.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	if numkeys < 0 {
		ctx.Error("ERR Number of keys can't be negative")
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
	s.scripts.run = run
	defer func() { s.scripts.run = nil }()
	keys := ctx.Args[3 : 3+numkeys]
	argv := ctx.Args[3+numkeys:]
	if ms := s.Config.Int("busy-reply-threshold"); ms > 0 && ctx.C.flags&ClientMaster == 0 {
		stop := run.watch(time.Duration(ms) * time.Millisecond)
		defer stop()
	}
	errMsg, count := e.Run(sc, run, ctx.W, keys, argv)
	run.reclaimExecutor(false)
	if errMsg != "" {
		ctx.errors++
		if count {
			s.countError(errMsg)
		}
		ctx.W.Error(errMsg)
	}
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
	run := &scriptRun{
		s: s, caller: caller, client: c, nowMs: ctx.NowMs,
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
	default:
		ctx.S.scripts.engine.Kill()
		ctx.W.OK()
	}
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
