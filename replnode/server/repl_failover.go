package server

import (
	"math"
	"strings"

	"github.com/replnode/replnode/replnode/replication"
)

// ------ FAILOVER (coordinated switchover, Redis 7.0) ------
//
// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], as replication.c's
// failoverCommand/updateFailoverStatus: the master pauses writes, waits
// until a replica (the designated one, or any) has acknowledged its whole
// offset, then becomes a replica of it with PSYNC <replid> <offset>
// FAILOVER, on which the replica promotes itself and answers +CONTINUE.
// No replication PING moves the offset meanwhile (cron holds PINGs back
// while clients are paused), so the old master continues partially.

type failoverState int

const (
	noFailover failoverState = iota
	failoverWaitForSync
	failoverInProgress
)

// String is INFO's master_failover_state.
func (f failoverState) String() string {
	switch f {
	case failoverWaitForSync:
		return "waiting-for-sync"
	case failoverInProgress:
		return "failover-in-progress"
	}
	return "no-failover"
}

// failover is the state of a FAILOVER command in progress.
type failover struct {
	state      failoverState
	host       string // target replica, "" until chosen
	port       int
	endMs      int64 // 0: no timeout
	force      bool
	prevPause  int64 // the CLIENT PAUSE in force before ours, restored after
	prevWrites bool
}

func init() {
	register(&Command{Name: "failover", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagStale, Group: "server",
		Handler: func(ctx *Ctx) { ctx.S.repl().failoverCommand(ctx) }})
}

// failoverCommand is Redis 7.0's failoverCommand, checks in its order.
func (r *replState) failoverCommand(ctx *Ctx) {
	if len(ctx.Args) == 2 && ctx.ArgIs(1, "abort") {
		if r.fo.state == noFailover {
			ctx.Error("ERR No failover in progress.")
			return
		}
		r.abortFailover("Failover manually aborted")
		ctx.W.OK()
		return
	}
	var timeout, port int64
	var host string
	hasHost, force := false, false
	for j := 1; j < len(ctx.Args); j++ {
		switch {
		case ctx.ArgIs(j, "timeout") && j+1 < len(ctx.Args) && timeout == 0:
			t, ok := ctx.Int(j + 1)
			if !ok {
				return
			}
			if t <= 0 {
				ctx.Error("ERR FAILOVER timeout must be greater than 0")
				return
			}
			timeout = t
			j++
		case ctx.ArgIs(j, "to") && j+2 < len(ctx.Args) && !hasHost:
			p, ok := ctx.Int(j + 2)
			if !ok {
				return
			}
			host, port, hasHost = ctx.Arg(j+1), p, true
			j += 2
		case ctx.ArgIs(j, "force") && !force:
			force = true
		default:
			ctx.Error(ErrSyntax)
			return
		}
	}
	s := r.s
	switch {
	case r.fo.state != noFailover:
		ctx.Error("ERR FAILOVER already in progress.")
		return
	case s.IsReplica():
		ctx.Error("ERR FAILOVER is not valid when server is a replica.")
		return
	case r.replicas.Len() == 0:
		ctx.Error("ERR FAILOVER requires connected replicas.")
		return
	case force && (timeout == 0 || !hasHost):
		ctx.Error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
		return
	}
	fo := failover{state: failoverWaitForSync, force: force}
	if hasHost {
		rep := r.findReplica(host, int(port))
		if rep == nil {
			ctx.Error("ERR FAILOVER target HOST and PORT is not a replica.")
			return
		}
		if rep.State != replication.ReplicaOnline {
			ctx.Error("ERR FAILOVER target replica is not online.")
			return
		}
		fo.host, fo.port = host, int(port)
		s.Log.Noticef("FAILOVER requested to %s:%d.", host, port)
	} else {
		s.Log.Noticef("FAILOVER requested to any replica.")
	}
	if timeout > 0 {
		fo.endMs = ctx.NowMs + timeout
	}
	// Pause writes until the failover ends (Redis's PAUSE_DURING_FAILOVER).
	// An ALL pause in force stays ALL.
	fo.prevPause, fo.prevWrites = s.pausedUntilMs, s.pauseWrites
	if !s.clientsPaused() || s.pauseWrites {
		s.pauseWrites = true
	}
	s.pausedUntilMs = math.MaxInt64
	r.fo = fo
	ctx.W.OK()
}

// findReplica is the attached replica known as host:port.
func (r *replState) findReplica(host string, port int) *replication.Replica {
	return replication.FindReplica(r.replicas.List(), host, port)
}

// updateFailoverStatus acts on replication.DecideFailover while a FAILOVER
// waits: abort on timeout, or become the caught-up target's replica. Runs
// from cron and after commands (an ACK may have just arrived).
func (r *replState) updateFailoverStatus(now int64) {
	if r.fo.state != failoverWaitForSync {
		return
	}
	step, host, port := replication.DecideFailover(now,
		replication.FailoverWait{Host: r.fo.host, Port: r.fo.port, EndMs: r.fo.endMs, Force: r.fo.force},
		r.replicas.List(), r.id.Offset)
	switch step {
	case replication.FailoverAbort:
		r.abortFailover("Replica never caught up before timeout")
	case replication.FailoverStart:
		if r.fo.endMs != 0 && r.fo.endMs <= now {
			r.s.Log.Noticef("FAILOVER to %s:%d time out exceeded, failing over.", host, port)
		} else {
			r.s.Log.Noticef("Failover target %s:%d is synced, failing over.", host, port)
		}
		r.fo.host, r.fo.port = host, port
		r.startFailoverLink(now)
	}
}

// startFailoverLink makes us a replica of the target, asking it to take
// over in our PSYNC.
func (r *replState) startFailoverLink(now int64) {
	r.fo.state = failoverInProgress
	r.link.SetFailover(true)
	r.setMaster(r.fo.host, r.fo.port, now)
}

// clearFailoverState ends a failover (done or aborted) and lifts its pause.
func (r *replState) clearFailoverState() {
	s := r.s
	if s.pausedUntilMs == math.MaxInt64 {
		s.pausedUntilMs, s.pauseWrites = 0, false
		if r.fo.prevPause > s.clock() {
			s.pausedUntilMs, s.pauseWrites = r.fo.prevPause, r.fo.prevWrites
		}
	}
	r.fo = failover{}
	r.link.SetFailover(false)
}

// abortFailover is Redis's abortFailover: a failover already handing over
// turns us back into a master.
func (r *replState) abortFailover(reason string) {
	if r.fo.state == noFailover {
		return
	}
	if r.fo.host != "" {
		r.s.Log.Noticef("FAILOVER to %s:%d aborted: %s", r.fo.host, r.fo.port, reason)
	} else {
		r.s.Log.Noticef("FAILOVER to any replica aborted: %s", reason)
	}
	if r.fo.state == failoverInProgress {
		r.setNoOne()
	}
	r.clearFailoverState()
}

// psyncFailover handles PSYNC <replid> <offset> FAILOVER sent to us, a
// replica, by our master handing over: with our replid we become a master
// and the PSYNC then continues as any other. It reports false after an
// error reply.
func (r *replState) psyncFailover(ctx *Ctx) bool {
	r.s.Log.Warningf("Failover request received for replid %s.", ctx.Arg(1))
	if !r.s.IsReplica() {
		ctx.Error("ERR PSYNC FAILOVER can't be sent to a master.")
		return false
	}
	if !strings.EqualFold(ctx.Arg(1), r.id.ReplID) {
		ctx.Error("ERR PSYNC FAILOVER replid must match my replid.")
		return false
	}
	r.setNoOne()
	c := ctx.C
	r.s.Log.Noticef("MASTER MODE enabled (failover request from 'id=%d addr=%s laddr=%s name=%s')", c.ID, c.addr, c.laddr, c.Name)
	return true
}
