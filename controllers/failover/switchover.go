package failover

import (
	"fmt"
	"time"
)

// ------ MANUAL SWITCHOVER ------
//
// A switchover moves the master role to a named replica without losing a
// write: pause writes on the master, wait until the target holds every byte
// the master has, make the old master a replica of the target and promote
// the target right after (as Redis's FAILOVER does, so every member keeps
// PSYNC), repoint the others, disconnect the old master's clients, unpause. A reconcile can be interrupted anywhere, so this is a state
// machine: the state lives in the group's status, and StepSwitchover is
// called with it and a fresh observation on every pass. The caller runs the
// returned actions in order and persists Next only if all of them succeeded
// (a failed VerifyRole counts as failure); otherwise it keeps the old state
// and the same step is computed again on the next pass. Every action is
// idempotent, so running a step twice is harmless.

// SwitchoverPhase is where a switchover stands.
type SwitchoverPhase string

const (
	// SwitchoverIdle: no switchover under way.
	SwitchoverIdle SwitchoverPhase = ""
	// SwitchoverWaitingForSync: targetMaster is set and the master's writes
	// are paused; waiting until the target's offset equals the master's.
	SwitchoverWaitingForSync SwitchoverPhase = "WaitingForSync"
	// SwitchoverPromoted: the old master was made a replica of the target
	// and REPLICAOF NO ONE was sent to the target, which answered ROLE
	// master; the old master is still paused and still holds the label.
	SwitchoverPromoted SwitchoverPhase = "Promoted"
)

// SwitchoverState is the persisted state of a switchover.
type SwitchoverState struct {
	Phase SwitchoverPhase
	// From is the master being replaced, To the member being promoted.
	From, To string
	// StartedAt is when the switchover began; PausedAt when writes were last paused.
	StartedAt, PausedAt time.Time
	// RetryAfter, set by an abort on an otherwise idle state, holds off the
	// next attempt so a target that cannot catch up does not keep the master
	// paused most of the time.
	RetryAfter time.Time
}

// Active reports whether a switchover is under way.
func (s SwitchoverState) Active() bool { return s.Phase != SwitchoverIdle }

// SwitchoverResult summarises what a step did.
type SwitchoverResult string

const (
	// SwitchoverNothing: no switchover requested, or the requested member is already master.
	SwitchoverNothing SwitchoverResult = "Nothing"
	// SwitchoverRejected: the request cannot be honoured now; Reason says why.
	SwitchoverRejected SwitchoverResult = "Rejected"
	// SwitchoverStarted: writes are being paused and the target recorded.
	SwitchoverStarted SwitchoverResult = "Started"
	// SwitchoverWaiting: waiting for the target to catch up or to answer.
	SwitchoverWaiting SwitchoverResult = "Waiting"
	// SwitchoverPromoting: the target is being promoted.
	SwitchoverPromoting SwitchoverResult = "Promoting"
	// SwitchoverCompleted: the target is master and recorded as such.
	SwitchoverCompleted SwitchoverResult = "Completed"
	// SwitchoverAborted: the switchover was given up and the master unpaused.
	SwitchoverAborted SwitchoverResult = "Aborted"
)

// SwitchoverStep is the result of StepSwitchover.
type SwitchoverStep struct {
	// Next is the state to persist once Actions all succeeded.
	Next SwitchoverState
	// Actions are to be run in order.
	Actions []Action
	// Result, Reason and Message describe the step for conditions and events.
	Result          SwitchoverResult
	Reason, Message string
	// RequeueAfter asks for the next step after this long (0: immediately).
	RequeueAfter time.Duration
	// Resyncs predicts, at the hand-over, how the old master and the other
	// replicas will resync with the promoted target.
	Resyncs map[string]ResyncPrediction
}

// SwitchoverPollInterval is the longest a started or waiting switchover
// sleeps between looks at the target's offset: writes are paused all that
// time, and the target usually holds the master's last bytes within
// milliseconds of the pause (issue 12 "Done when" c: pauses ≤ 1s). A step
// that asks to be called again within it depends only on the members'
// state: a caller may observe them again and take the next step at once,
// in the same pass (the reconciler does, see runFailoverPass).
const SwitchoverPollInterval = 100 * time.Millisecond

// switchoverPromotedRequeue is how soon the pass after the promotion comes:
// it releases the old master and moves the label, so writes resume then.
const switchoverPromotedRequeue = 10 * time.Millisecond

// StepSwitchover advances a switchover by one step. requested is the member
// the user asked to be master (spec.master or the annotation; "" for none).
func StepSwitchover(state SwitchoverState, requested string, obs Observation) SwitchoverStep {
	if state.Active() && (state.From == "" || state.To == "" || state.From == state.To ||
		(state.Phase != SwitchoverWaitingForSync && state.Phase != SwitchoverPromoted)) {
		return dropInvalidSwitchover(state, obs)
	}
	switch state.Phase {
	case SwitchoverWaitingForSync:
		return stepWaitingForSync(state, requested, obs)
	case SwitchoverPromoted:
		return stepPromoted(state, obs)
	default:
		return stepIdle(requested, state.RetryAfter, obs)
	}
}

// pauseFor is how long a switchover pauses the master's writes: the time
// allowed to catch up plus the pause timeout as a budget for promotion and
// repointing. The pause expires on its own if the operator dies.
func pauseFor(s Settings) time.Duration { return s.SwitchoverTimeout + s.PauseTimeout }

// switchoverRetryBackoff is how long an aborted switchover waits before the
// next attempt: twice the catch-up timeout, at least a minute.
func switchoverRetryBackoff(s Settings) time.Duration {
	return max(time.Minute, 2*s.SwitchoverTimeout)
}

// stepIdle validates a new request and starts the switchover, unless an
// aborted attempt's backoff (retryAfter) has not passed.
func stepIdle(requested string, retryAfter time.Time, obs Observation) SwitchoverStep {
	cur := obs.Status.CurrentMaster
	if requested == "" || requested == cur {
		return SwitchoverStep{Result: SwitchoverNothing, Reason: "NoSwitchoverRequested",
			Message: "no switchover requested"}
	}
	reject := func(reason, format string, args ...any) SwitchoverStep {
		return SwitchoverStep{Result: SwitchoverRejected, Reason: reason,
			Next:    SwitchoverState{RetryAfter: retryAfter},
			Message: fmt.Sprintf("switchover to %s refused: ", requested) + fmt.Sprintf(format, args...)}
	}
	if cur == "" {
		return reject("NoCurrentMaster", "the group has no recorded master")
	}
	if obs.Now.Before(retryAfter) {
		step := reject("SwitchoverBackoff", "the last attempt was aborted; next attempt at %s",
			retryAfter.UTC().Format(time.RFC3339))
		step.RequeueAfter = retryAfter.Sub(obs.Now)
		return step
	}
	// A targetMaster equal to the request is this switchover's own start,
	// interrupted before its state was saved: starting again is idempotent.
	if t := obs.Status.TargetMaster; t != "" && t != cur && t != requested {
		return reject("FailoverInProgress", "a failover to %s is in progress", t)
	}
	from := obs.member(cur)
	if from == nil || !from.Reachable || from.Repl.Role != RoleMaster {
		return reject("MasterNotAvailable", "master %s does not answer as master; automatic failover handles a failed master", cur)
	}
	to := obs.member(requested)
	if to == nil {
		return reject("UnknownMember", "no member is named %s", requested)
	}
	if why := switchoverTargetProblem(to, from); why != "" {
		return reject("TargetNotEligible", "%s", why)
	}
	msg := fmt.Sprintf("switching master from %s to %s: pausing writes on %s for up to %s", cur, requested, cur, pauseFor(obs.Settings))
	return SwitchoverStep{
		Next: SwitchoverState{Phase: SwitchoverWaitingForSync, From: cur, To: requested,
			StartedAt: obs.Now, PausedAt: obs.Now},
		Actions: []Action{setTarget(requested), pauseWrites(cur, pauseFor(obs.Settings)),
			event(EventNormal, "SwitchoverStarted", msg)},
		Result: SwitchoverStarted, Reason: "SwitchoverStarted", Message: msg,
		RequeueAfter: SwitchoverPollInterval,
	}
}

// switchoverTargetProblem says why to cannot take over from from, or "".
func switchoverTargetProblem(to, from *Member) string {
	switch {
	case !to.podRunning():
		return fmt.Sprintf("%s's pod is not running", to.Name)
	case !to.Ready:
		return fmt.Sprintf("%s is not ready", to.Name)
	case !to.Reachable:
		return fmt.Sprintf("%s is unreachable", to.Name)
	case to.Fenced || to.FencedByHand:
		return fmt.Sprintf("%s is fenced", to.Name)
	case to.Repl.Role != RoleReplica:
		return fmt.Sprintf("%s reports role %q, not slave", to.Name, string(to.Repl.Role))
	case to.Repl.SyncInProgress || to.Repl.LinkStatus != LinkUp:
		return fmt.Sprintf("%s is not linked to its master (master_link_status:%s)", to.Name, to.Repl.LinkStatus)
	}
	if _, ok := to.Repl.PositionIn(from.Repl.ReplID); !ok {
		return fmt.Sprintf("%s's history %s does not contain master %s's history %s",
			to.Name, shortID(to.Repl.ReplID), from.Name, shortID(from.Repl.ReplID))
	}
	return ""
}

// stepWaitingForSync waits, with the master paused, until the target holds
// all of the master's bytes, then hands over the way Redis's FAILOVER does:
// the master is made a replica of the target (it stops taking writes and
// stops sending replication PINGs, so its offset cannot run past the
// target's) and the target is promoted right after; the old master then
// continues with a partial resync. "All" is >=: the master still sends a
// PING every repl-ping-replica-period while paused, so the target, read
// after the master, may be one PING ahead. The hand-over happens only while
// the pause provably still holds (waited < SwitchoverTimeout leaves at least
// PauseTimeout of it); past that the switchover aborts, since writes may
// have landed that the target never saw. It also aborts when the request is
// withdrawn or either side is lost.
func stepWaitingForSync(state SwitchoverState, requested string, obs Observation) SwitchoverStep {
	if requested != state.To {
		return abortSwitchover(state, obs, "SwitchoverCancelled",
			fmt.Sprintf("the requested master changed from %s to %q before promotion", state.To, requested))
	}
	from, to := obs.member(state.From), obs.member(state.To)
	if to == nil || !to.Reachable || !to.podRunning() {
		return abortSwitchover(state, obs, "TargetLost", fmt.Sprintf("target %s is unreachable", state.To))
	}
	if to.Repl.Role == RoleMaster {
		// Promoted on an earlier pass whose state was not saved.
		state.Phase = SwitchoverPromoted
		return stepPromoted(state, obs)
	}
	demoted := demotedTo(from, to)
	if from == nil || !from.Reachable || (from.Repl.Role != RoleMaster && !demoted) {
		return abortSwitchover(state, obs, "MasterLost", fmt.Sprintf("master %s stopped answering as master", state.From))
	}
	pos, ok := to.Repl.PositionIn(from.Repl.ReplID)
	if !ok {
		return abortSwitchover(state, obs, "TargetHistoryChanged",
			fmt.Sprintf("target %s's history %s no longer contains master %s's history %s",
				state.To, shortID(to.Repl.ReplID), state.From, shortID(from.Repl.ReplID)))
	}
	waited := obs.Now.Sub(state.PausedAt)
	if waited >= obs.Settings.SwitchoverTimeout {
		return abortSwitchover(state, obs, "SwitchoverTimedOut",
			fmt.Sprintf("target %s reached offset %d of %d (%d bytes behind) while the pause on %s held (%s)",
				state.To, pos, from.Repl.Offset, max(0, from.Repl.Offset-pos), state.From, obs.Settings.SwitchoverTimeout))
	}
	if pos >= from.Repl.Offset {
		msg := fmt.Sprintf("target %s caught up with %s at offset %d after %s; demoting %s and promoting %s",
			state.To, state.From, pos, waited, state.From, state.To)
		next := state
		next.Phase, next.PausedAt = SwitchoverPromoted, obs.Now
		after := AfterPromotion(to.Repl)
		resyncs := map[string]ResyncPrediction{state.From: PredictResync(from.Repl, after)}
		acts := []Action{pauseWrites(state.From, pauseFor(obs.Settings)), replicaOf(state.From, state.To)}
		for _, m := range sortedMembers(obs.Members) {
			if m.Name != state.From && m.Name != state.To && m.Reachable && m.Repl.Role == RoleReplica {
				// The other replicas follow the target before it is
				// promoted too (-NOMASTERLINK until then, a partial
				// resync right after), so the new master has its
				// min-replicas-to-write replicas the moment the label
				// moves.
				resyncs[m.Name] = PredictResync(m.Repl, after)
				acts = append(acts, replicaOf(m.Name, state.To))
			}
		}
		acts = append(acts, promote(state.To), verifyMaster(state.To))
		return SwitchoverStep{Next: next, Actions: acts,
			Result: SwitchoverPromoting, Reason: "SwitchoverPromoting", Message: msg, Resyncs: resyncs,
			RequeueAfter: switchoverPromotedRequeue}
	}
	return SwitchoverStep{Next: state, Result: SwitchoverWaiting, Reason: "SwitchoverWaitingForSync",
		Message:      fmt.Sprintf("target %s at offset %d, master %s at %d", state.To, pos, state.From, from.Repl.Offset),
		RequeueAfter: min(SwitchoverPollInterval, obs.Settings.SwitchoverTimeout-waited)}
}

// demotedTo reports whether from answers as a replica of to: the hand-over
// made it one (possibly in a pass that was cut short).
func demotedTo(from, to *Member) bool {
	return from != nil && to != nil && from.Reachable && from.Repl.Role == RoleReplica &&
		(to.Host == "" || from.Repl.MasterHost == to.Host)
}

// stepPromoted finishes a switchover once the target answers as master:
// every other reachable member follows it, the old master is made its
// replica (if the hand-over had not already), its clients are disconnected
// and it is unpaused, the label and status move. Before anything is
// repointed, an old master that still answers as master must not have taken
// a write the target lacks: its pause must still hold or its offset be at
// most the promotion point; otherwise the switchover aborts and keeps its
// writes (no client could write to the target: the label never moved). A
// target that is no longer master (it restarted, or vanished) aborts the
// switchover too, and the failover policy takes over from the old master's
// state: it never retries the promotion blindly.
func stepPromoted(state SwitchoverState, obs Observation) SwitchoverStep {
	from, to := obs.member(state.From), obs.member(state.To)
	if to != nil && !to.Reachable && to.Phase == PodRunning && !to.ProcessDown {
		// It may be master and writable with the replicas the hand-over
		// pointed at it: promoting the old master back now could leave two
		// masters. Wait until it answers or its process is provably gone.
		return SwitchoverStep{Next: state, Result: SwitchoverWaiting, Reason: "SwitchoverTargetUnreachable",
			Message: fmt.Sprintf("target %s does not answer after its promotion; it may be master, so the switchover waits for it to answer or for its process to be gone",
				state.To),
			RequeueAfter: SwitchoverPollInterval}
	}
	if to == nil || !to.Reachable || !to.podRunning() {
		return abortSwitchover(state, obs, "TargetLostAfterPromotion",
			fmt.Sprintf("target %s became unreachable after promotion, before taking any write", state.To))
	}
	if to.Repl.Role != RoleMaster {
		return abortSwitchover(state, obs, "TargetNoLongerMaster",
			fmt.Sprintf("target %s answers as a replica again after its promotion, before taking any write", state.To))
	}
	if from != nil && from.Reachable && from.Repl.Role == RoleMaster {
		point, ok := promotionPoint(to.Repl, from.Repl.ReplID)
		pauseHolds := obs.Now.Before(state.PausedAt.Add(pauseFor(obs.Settings)))
		if !ok || (!pauseHolds && from.Repl.Offset > point) {
			return abortSwitchover(state, obs, "OldMasterWroteAfterPromotion", fmt.Sprintf(
				"master %s is at offset %d, past the %d bytes %s was promoted with, and its pause may have expired: keeping its writes",
				state.From, from.Repl.Offset, point, state.To))
		}
	}

	var acts []Action
	for _, m := range sortedMembers(obs.Members) {
		if m.Name != state.To && m.Name != state.From && m.Reachable {
			acts = append(acts, replicaOf(m.Name, state.To))
		}
	}
	if from != nil && from.Reachable {
		acts = append(acts, demote(state.From, state.To, false)...)
	} else {
		acts = append(acts, fenceActions(obs, state.From, state.To)...)
	}
	msg := fmt.Sprintf("master moved from %s to %s at offset %d in %s", state.From, state.To, to.Repl.Offset,
		obs.Now.Sub(state.StartedAt))
	acts = append(acts,
		Action{Kind: ActMoveMasterLabel, Target: state.To},
		Action{Kind: ActSetCurrentMaster, Target: state.To},
		event(EventNormal, "SwitchoverCompleted", msg))
	return SwitchoverStep{Next: SwitchoverState{}, Actions: acts, Result: SwitchoverCompleted,
		Reason: "SwitchoverCompleted", Message: msg}
}

// promotionPoint is how many bytes of history replid the promoted node
// took with it: its offset at the switch when replid is its replid2.
func promotionPoint(promoted Replication, replid string) (int64, bool) {
	if hasReplID(replid) && promoted.ReplID2 == replid && promoted.SecondReplOffset > 0 {
		return promoted.SecondReplOffset - 1, true
	}
	return 0, false
}

// abortSwitchover gives a switchover up: the target is made a replica of the
// old master again if it was promoted; an old master the hand-over already
// demoted (while the target was not promoted) is promoted back, which loses
// nothing since every other member follows it and the target took no write;
// the old master is unpaused if it answers (else its pause simply expires),
// targetMaster is cleared, and the next attempt is held off by
// switchoverRetryBackoff.
func abortSwitchover(state SwitchoverState, obs Observation, reason, why string) SwitchoverStep {
	var acts []Action
	from, to := obs.member(state.From), obs.member(state.To)
	toIsMaster := to != nil && to.Reachable && to.Repl.Role == RoleMaster
	switch {
	case toIsMaster && from != nil && from.Reachable && from.Repl.Role == RoleMaster:
		acts = append(acts, replicaOf(state.To, state.From))
	case !toIsMaster && demotedTo(from, to):
		acts = append(acts, promote(state.From), verifyMaster(state.From))
		// The hand-over pointed the other replicas at the target: back to
		// the old master, which holds everything they have.
		for _, m := range obs.Members {
			if m.Name != state.From && m.Name != state.To && m.Reachable && m.Repl.Role == RoleReplica &&
				(from == nil || from.Host == "" || m.Repl.MasterHost != from.Host) {
				acts = append(acts, replicaOf(m.Name, state.From))
			}
		}
	}
	if from != nil && from.Reachable {
		acts = append(acts, unpause(state.From))
	}
	msg := fmt.Sprintf("switchover from %s to %s aborted: %s", state.From, state.To, why)
	acts = append(acts, Action{Kind: ActClearTargetMaster}, event(EventWarning, reason, msg))
	next := SwitchoverState{RetryAfter: obs.Now.Add(switchoverRetryBackoff(obs.Settings))}
	return SwitchoverStep{Next: next, Actions: acts, Result: SwitchoverAborted, Reason: reason, Message: msg}
}

// dropInvalidSwitchover discards a persisted switchover state that this
// machine could not have produced (an unknown phase, a missing side, or the
// same member on both sides, as a hand-edited status might hold): any named
// member answering as master is unpaused, the target is cleared, and a
// Warning says what was dropped.
func dropInvalidSwitchover(state SwitchoverState, obs Observation) SwitchoverStep {
	var acts []Action
	for _, name := range []string{state.From, state.To} {
		if m := obs.member(name); m != nil && m.Reachable && m.Repl.Role == RoleMaster &&
			(len(acts) == 0 || acts[0].Member != name) {
			acts = append(acts, unpause(name))
		}
	}
	msg := fmt.Sprintf("dropped an invalid switchover state (phase %q, from %q, to %q)", state.Phase, state.From, state.To)
	acts = append(acts, Action{Kind: ActClearTargetMaster}, event(EventWarning, "InvalidSwitchoverState", msg))
	return SwitchoverStep{Next: SwitchoverState{}, Actions: acts, Result: SwitchoverAborted,
		Reason: "InvalidSwitchoverState", Message: msg}
}
