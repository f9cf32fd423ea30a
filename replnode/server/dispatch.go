package server

import (
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"time"

	"github.com/replnode/replnode/replnode/acl"
	"github.com/replnode/replnode/replnode/scripting"
)

// ---------------------------------------------------------------- dispatch

var (
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// processCommand runs the checks every command shares, in Redis 7.0's
// order (processCommand in server.c), then queues the command (MULTI) or
// calls it. A command CLIENT PAUSE holds is processed again from the start
// when the pause ends or weakens, as Redis re-processes a postponed
// client: whatever changed meanwhile (the node became a replica, its
// replicas went away, memory filled up) decides its fate, not the state at
// the time it arrived. Runs on the executor.
func (s *Server) processCommand(c *Client, args [][]byte) {
	tracked := false
	defer func() {
		if tracked {
			s.trackingEndCommand(c, args)
		}
	}()
	for {
		if s.tracking.used {
			// Others may have run while the command was held: c is
			// the executing client (again).
			tracked = true
			s.tracking.current = c
		}
		if !s.processCommandOnce(c, args) {
			return
		}
	}
}

// processCommandOnce is one pass of processCommand. It reports true when
// CLIENT PAUSE held the command and the pause is over (or weaker) now: the
// command must be processed again. It reports false when the command was
// answered, queued or refused, or its client closed while held.
func (s *Server) processCommandOnce(c *Client, args [][]byte) (again bool) {
	// One reading of the clock serves both the command's time and the
	// start of its duration (slow log, commandstats). Inside a pipelined
	// batch it is where the previous command ended, so a command costs
	// one monotonic reading, not three wall-clock ones.
	start := s.batch.mark
	if !s.batch.active {
		start = time.Now()
	}
	now := start.UnixMilli()
	if s.fakeClock {
		now = s.clock()
	}
	c.lastInteraction = now
	ctx := &c.ctx

	if equalFold(args[0], "quit") {
		c.w.OK()
		c.flags |= ClientCloseAfterReply
		return false
	}
	cmd := lookupCommandName(args[0])
	ctx.reset(cmd, args, now)
	// CLIENT LIST's cmd= is the command looked up, before any check, as
	// processCommand sets c->lastcmd (NULL when unknown).
	c.lastCmd = ""
	if cmd != nil && (len(cmd.Subcommands) == 0 || len(args) < 2) {
		c.lastCmd = cmd.fullLow
	}
	if cmd == nil {
		var b strings.Builder
		for i := 1; i < len(args) && b.Len() < 128; i++ {
			room := 128 - b.Len()
			a := args[i]
			if len(a) > room {
				a = a[:room]
			}
			b.WriteByte('\'')
			b.Write(a)
			b.WriteString("' ")
		}
		s.reject(ctx, sprintf("ERR unknown command '%s', with args beginning with: %s", truncate(args[0], 128), b.String()))
		return false
	}
	if len(cmd.Subcommands) > 0 && len(args) >= 2 {
		sub := cmd.subcommand(args[1])
		if sub == nil {
			s.reject(ctx, sprintf("ERR unknown subcommand '%s'. Try %s HELP.", truncate(args[1], 128), strings.ToUpper(string(args[0]))))
			return false
		}
		cmd = sub
		ctx.Cmd = sub
		c.lastCmd = sub.fullLow
	}
	if (cmd.Arity > 0 && cmd.Arity != len(args)) || len(args) < -cmd.Arity || cmd.Handler == nil {
		s.reject(ctx, "ERR wrong number of arguments for '"+cmd.FullName()+"' command")
		return false
	}
	if cmd.Flags&FlagProtected != 0 {
		// DEBUG is behind enable-debug-command, MODULE LOAD/UNLOAD behind
		// enable-module-command, as Redis's allowProtectedAction.
		option, name := "enable-debug-command", "DEBUG"
		if cmd.parent != nil && cmd.parent.Name == "module" {
			option, name = "enable-module-command", "MODULE"
		}
		if !s.protectedAllowed(c, option) {
			s.reject(ctx, "ERR "+name+" command not allowed. If the "+option+" option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
			return false
		}
	}
	if cmd.Flags&FlagNoAuth == 0 && s.authRequired(c) {
		s.reject(ctx, ErrNoAuth)
		return false
	}
	if c.multi.active && cmd.Flags&FlagNoMulti != 0 {
		s.reject(ctx, "ERR Command not allowed inside a transaction")
		return false
	}
	if res, denied := s.aclDenied(c, cmd, args, aclLogContext(c)); denied {
		s.reject(ctx, noPermMessage(res, cmd))
		return false
	}
	isExec := cmd.Name == "exec" && cmd.parent == nil
	flags := cmd.Flags
	if cmd.FlagsFor != nil {
		flags = cmd.FlagsFor(s, args)
	}
	fenced := flags&FlagFenced != 0 || (isExec && c.multi.active && c.multi.flags&FlagFenced != 0)
	if msg := s.checkFence(c, fenced); msg != "" {
		s.reject(ctx, msg)
		return false
	}
	isWrite := flags&FlagWrite != 0 || (isExec && c.multi.active && c.multi.flags&FlagWrite != 0)
	denyOOM := flags&FlagDenyOOM != 0 || (isExec && c.multi.active && c.multi.flags&FlagDenyOOM != 0)
	isMaster := c.flags&ClientMaster != 0

	if maxmem := s.hot.maxmemory; maxmem > 0 && !isMaster && s.usedMemory.Load() > maxmem {
		// Redis's performEvictions runs before any command once used
		// memory exceeds maxmemory; only a command that may grow memory
		// (or one queued in MULTI) is refused if it could not free enough.
		inMultiQueue := c.multi.active && !isExec && cmd.Name != "discard" && cmd.Name != "quit" && cmd.Name != "reset"
		outOfMemory := !s.evictForCommand(now)
		if outOfMemory && (denyOOM || inMultiQueue) {
			s.reject(ctx, ErrOOM)
			return false
		}
		// A script decides its own commands' OOM from the state at its
		// start (Redis's pre_command_oom_state).
		s.scripts.preCommandOOM = outOfMemory
	} else {
		s.scripts.preCommandOOM = false
	}
	if s.tracking.clients > 0 {
		// Client side caching metadata is held to its limit before each
		// command, as Redis's processCommand does.
		s.trackingLimitBeforeCommand()
	}
	if isWrite && !isMaster {
		if msg := s.writeRefusal(); msg != "" {
			s.reject(ctx, msg)
			return false
		}
	}
	if c.flags&ClientPubSub != 0 && c.Proto() == 2 {
		switch cmd.FullName() {
		case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset":
		default:
			s.reject(ctx, sprintf("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", cmd.FullName()))
			return false
		}
	}
	// EXEC is refused on a stale replica when any queued command would
	// be (is_denystale_command).
	denyStale := flags&FlagStale == 0 || (isExec && c.multi.active && c.multi.invFlags&FlagStale != 0)
	// The AOF replayed at startup is not a client: Redis's loader runs
	// its commands without processCommand's refusals, and a replica
	// restarting with its link down must load its data all the same.
	if s.IsReplica() && !s.MasterLinkUp && !s.hot.serveStale && denyStale && !s.replaying {
		s.reject(ctx, ErrMasterDown)
		return false
	}
	if s.Loading && cmd.Flags&FlagLoading == 0 && !s.replaying {
		s.reject(ctx, ErrLoading)
		return false
	}
	if s.scripts.lent.Load() && flags&FlagAllowBusy == 0 {
		if isMaster {
			// Our master's stream waits for the script, as Redis
			// stops reading from its master meanwhile.
			return s.waitScript(c)
		}
		s.reject(ctx, s.busyError())
		return false
	}
	// CLIENT PAUSE comes last, after every refusal and before MULTI
	// queues the command, as in Redis 7.0: a client in MULTI is held when
	// it queues a write under PAUSE WRITE, not only at EXEC.
	mayReplicate := isWrite || flags&FlagMayReplicate != 0 || (isExec && c.multi.active && c.multi.flags&FlagMayReplicate != 0)
	if s.pausedFor(c, mayReplicate) {
		return s.waitPause(c, mayReplicate)
	}
	if c.multi.active {
		switch cmd.Name {
		case "exec", "discard", "multi", "watch", "quit", "reset":
			if cmd.parent == nil {
				break
			}
			fallthrough
		default:
			c.multi.queue(cmd, args)
			if c.flags&ClientNoReply == 0 {
				c.w.SimpleString("QUEUED")
			}
			return false
		}
	}
	s.callFrom(ctx, cmd, start)
	if s.batch.active {
		s.batch.mark = s.lastCallEnd
	}
	if s.scripts.lent.Load() {
		// An allow-busy command ran inside a busy script: the script's
		// pending effects are flushed when it ends, not here.
		return false
	}
	s.flushPropagation()
	s.runAfterCommand()
	return false
}

// waitScript holds a command while a busy script has lent the executor,
// releasing it meanwhile, then has it processed again.
func (s *Server) waitScript(c *Client) bool {
	s.endBatch()
	for s.scripts.lent.Load() {
		if c.closed || s.shuttingDown.Load() {
			return false
		}
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	return !c.closed && !s.shuttingDown.Load()
}

// writeRefusal is why a write may not run now, or "": MISCONF (the
// persistence's WriteError), min-replicas on a master, a read-only
// replica. Client commands and the commands scripts call both ask it; the
// caller skips it for the master link.
func (s *Server) writeRefusal() string {
	if s.IsReplica() {
		if s.hot.replicaReadOnly {
			return ErrReadOnly
		}
		return ""
	}
	if s.WriteError != nil {
		if msg := s.WriteError(); msg != "" {
			return msg
		}
	}
	if need := s.hot.minReplicas; need > 0 && s.goodReplicas() < int(need) {
		return ErrNoReplicas
	}
	return ""
}

// batchClock lets the commands of one pipelined batch share clock
// readings: the batch reads the wall clock once, and each command starts
// where the previous one ended (monotonic time added to that reading).
type batchClock struct {
	active bool
	mark   time.Time
}

// beginBatch starts a batch of commands run back to back on the executor
// (the caller holds it). The batch must end (endBatch) before the executor
// is released: the reader calls it after its batch, and the waits that
// release the executor mid-batch (waitUnblocked, waitPause) call it too.
func (s *Server) beginBatch() { s.batch = batchClock{active: true, mark: time.Now()} }

// endBatch ends the batch: later commands read the clock themselves.
func (s *Server) endBatch() {
	s.batch.active = false
	s.trackingEndBatch()
}

// truncate returns at most n bytes of b as a string.
func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// reject replies with a dispatch error. Inside MULTI it also marks the
// transaction so EXEC aborts; an EXEC refused here discards it with
// -EXECABORT, as Redis's rejectCommand.
func (s *Server) reject(ctx *Ctx, msg string) {
	c := ctx.C
	c.rejected++
	if ctx.Cmd != nil {
		s.cmdStats(ctx.Cmd).rejected++
	}
	if c.multi.active {
		if ctx.Cmd != nil && ctx.Cmd.Name == "exec" && ctx.Cmd.parent == nil {
			s.countError(msg)
			c.w.Error("EXECABORT Transaction discarded because of: " + msg)
			s.discardTransaction(c)
			return
		}
		c.multi.dirty = true
	}
	s.countError(msg)
	c.w.Error(msg)
}

// call executes a command that passed the checks: the handler runs,
// replies are kept or suppressed, statistics, slow log, MONITOR and
// propagation are updated. It is also how EXEC runs queued commands.
func (s *Server) call(ctx *Ctx, cmd *Command) { s.callFrom(ctx, cmd, time.Now()) }

// callFrom is call for a command whose execution began at start (dispatch
// passes the time it already read).
func (s *Server) callFrom(ctx *Ctx, cmd *Command, start time.Time) {
	c := ctx.C
	replyStart := c.w.Len()
	wasInCall := s.inCall
	s.inCall = true
	firstPush := len(c.pushSpans)
	c.callDepth++
	handled := s.runHandler(ctx, cmd)
	c.callDepth--
	if !handled {
		c.dropReplies(replyStart, firstPush)
		ctx.Errorf("ERR internal error in '%s'", cmd.FullName())
		ctx.noPropagate = true
	}
	if c.trk.flags&trackOn != 0 || s.scripts.run != nil {
		s.trackingAfterScriptAwareCall(c, cmd, ctx.Args)
	}
	dur := time.Since(start)
	s.lastCallEnd = start.Add(dur)
	s.inCall = wasInCall
	s.stats.CommandsProcessed++
	st := s.cmdStats(cmd)
	st.calls++
	st.usec += dur.Microseconds()
	s.recordLatency(c, st, dur.Microseconds())
	s.latencyMonitor(c, cmd, dur)
	if ctx.errors > 0 {
		st.failed++
	}

	// Suppressed replies: CLIENT REPLY OFF|SKIP and the master link.
	if c.flags&(ClientNoReply|ClientSkipReply|ClientMaster) != 0 && !ctx.forceReply {
		keep := cmd.FullName() == "client|reply" && c.flags&(ClientNoReply|ClientSkipReply) == 0
		if !keep {
			c.dropReplies(replyStart, firstPush)
		}
		if c.flags&ClientSkipReply != 0 && cmd.FullName() != "client|reply" {
			c.flags &^= ClientSkipReply
		}
	}

	if c.callDepth == 0 {
		c.pushSpans = c.pushSpans[:0]
	}

	if cmd.Flags&FlagSkipSlowlog == 0 {
		s.slowlog.record(s, ctx, dur)
	}
	if len(s.monitors) > 0 && cmd.Flags&(FlagSkipMonitor|FlagAdmin) == 0 {
		s.feedMonitors(c, ctx.DBNum, ctx.loggedArgs())
	}
	if ctx.changes > 0 {
		if !ctx.noPropagate && cmd.Flags&FlagWrite != 0 {
			if ctx.rewritten != nil {
				s.propagate(ctx.DBNum, ctx.rewritten)
			} else {
				s.propagate(ctx.DBNum, ctx.Args)
			}
		}
	}
}

// runHandler runs cmd's handler and recovers a panic in it: the command
// name and stack go to the log, the panic is counted (INFO stats
// command_panics, write_command_panics) and false is returned so the
// client gets an error instead of the node going down. Why this is safe
// enough, and what a panic in a write command leaves behind, is argued in
// doc.go ("A panic in a command").
func (s *Server) runHandler(ctx *Ctx, cmd *Command) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
			s.stats.CommandPanics++
			if cmd.Flags&FlagWrite != 0 {
				s.stats.WriteCommandPanics++
			}
			s.Log.Warningf("Panic in command '%s' (recovered, client gets an error): %v\n%s", cmd.FullName(), r, debug.Stack())
		}
	}()
	cmd.Handler(ctx)
	return true
}

// goodReplicas asks the replication code how many replicas are in time
// now (see Server.GoodReplicas).
func (s *Server) goodReplicas() int {
	if s.GoodReplicas == nil {
		return 0
	}
	return s.GoodReplicas()
}

// protectedAllowed applies a protected-command option (enable-debug-command,
// enable-module-command: yes, no or local) to a client.
func (s *Server) protectedAllowed(c *Client, option string) bool {
	switch s.Config.String(option) {
	case "yes":
		return true
	case "local":
		return c.conn == nil || isLocalAddr(c.conn.RemoteAddr())
	}
	return false
}

// Call runs one command for c as if it had arrived on c's connection, with
// every dispatch check. The caller holds the executor (inside Exec or a
// hook); replies accumulate in c's Writer.
func (s *Server) Call(c *Client, args [][]byte) { s.processCommand(c, args) }

// callFromScript runs a command a script called (redis.call/pcall) on the
// script's client, with the checks of Redis 7.0's scriptCall: the same
// refusals as a client's command (failover epoch, MISCONF, min-replicas,
// read-only replica, OOM), in the wording and order scripts get, decided
// from the run's state (a script that wrote already is not stopped half
// way; OOM is judged as at the script's start). The reply is left in the
// script client's Writer.
func (s *Server) callFromScript(run *scriptRun, args [][]byte) {
	c := run.client
	ctx := &Ctx{}
	ctx.init(s, c)
	ctx.reset(nil, args, run.nowMs)
	cmd := lookupCommandName(args[0])
	if cmd != nil && len(cmd.Subcommands) > 0 && len(args) >= 2 {
		cmd = cmd.subcommand(args[1])
	}
	if cmd == nil {
		s.reject(ctx, "ERR Unknown Redis command called from script")
		return
	}
	ctx.Cmd = cmd
	if (cmd.Arity > 0 && cmd.Arity != len(args)) || len(args) < -cmd.Arity || cmd.Handler == nil {
		s.reject(ctx, "ERR Wrong number of args calling Redis command from script")
		return
	}
	if cmd.Flags&FlagNoScript != 0 {
		s.reject(ctx, "ERR This Redis command is not allowed from script")
		return
	}
	if s.IsReplica() && !s.MasterLinkUp && !s.hot.serveStale && cmd.Flags&FlagStale == 0 {
		s.reject(ctx, "ERR Can not execute the command on a stale replica")
		return
	}
	if res, denied := s.aclDenied(c, cmd, args, "lua"); denied {
		s.reject(ctx, "ERR The user executing the script "+acl.ErrorMessage(res))
		return
	}
	if msg := s.checkFence(run.caller, cmd.Flags&FlagFenced != 0); msg != "" {
		s.reject(ctx, msg)
		return
	}
	obey := run.caller.flags&ClientMaster != 0
	if run.readOnly && cmd.Flags&(FlagWrite|FlagMayReplicate) != 0 {
		s.reject(ctx, "ERR Write commands are not allowed from read-only scripts.")
		return
	}
	if cmd.Flags&FlagWrite != 0 && !run.writeDirty && !obey {
		if msg := s.writeRefusal(); msg != "" {
			s.reject(ctx, msg)
			return
		}
	}
	if !run.allowOOM && s.hot.maxmemory > 0 && !obey && !run.writeDirty && s.scripts.preCommandOOM && cmd.Flags&FlagDenyOOM != 0 {
		s.reject(ctx, ErrOOM)
		return
	}
	if cmd.Flags&FlagWrite != 0 {
		run.writeDirty = true
	}
	ctx.noPropagate = run.replFlags&scripting.ReplReplica == 0
	s.call(ctx, cmd)
}
