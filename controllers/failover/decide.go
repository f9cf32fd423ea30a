package failover

import (
	"fmt"
	"sort"
	"time"
)

// ------ DECISIONS ------

// DecisionKind says what kind of answer Decide gave.
type DecisionKind string

const (
	// KindNone: the master is healthy and nothing needs doing.
	KindNone DecisionKind = "None"
	// KindWait: the master is not answering yet not for long enough; requeue.
	KindWait DecisionKind = "Wait"
	// KindHold: the master looks down to the operator only; do not fail over.
	KindHold DecisionKind = "Hold"
	// KindRefuse: the master is failed but failing over is not allowed or not possible.
	KindRefuse DecisionKind = "Refuse"
	// KindFailover: promote Decision.To in place of Decision.From.
	KindFailover DecisionKind = "Failover"
	// KindResume: finish an interrupted failover to status.targetMaster.
	KindResume DecisionKind = "ResumeFailover"
	// KindAbandon: give up an interrupted failover whose target is no longer usable.
	KindAbandon DecisionKind = "AbandonFailover"
	// KindRepairTwoMasters: more than one member claims master; demote all but one.
	KindRepairTwoMasters DecisionKind = "RepairTwoMasters"
	// KindRejoin: a fenced member is back; make it a replica of the master.
	KindRejoin DecisionKind = "Rejoin"
	// KindAdopt: status names no master and exactly one member is master; record it.
	KindAdopt DecisionKind = "AdoptMaster"
	// KindNoMaster: status names no master and no single member claims it;
	// bootstrap belongs to the operator's topology.
	KindNoMaster DecisionKind = "NoMaster"
	// KindDeferToSwitchover: a manual switchover is in progress; step it with StepSwitchover.
	KindDeferToSwitchover DecisionKind = "DeferToSwitchover"
	// KindRestoreMaster: the master restarted as a replica and every
	// replica's position is known and none holds more of its history (or
	// accept-data-loss is set); make it master again.
	KindRestoreMaster DecisionKind = "RestoreMaster"
)

// ConditionMasterAvailable is the condition type Decision.Condition fills.
const ConditionMasterAvailable = "MasterAvailable"

// Condition is a status condition ready for meta.SetStatusCondition.
type Condition struct {
	Type, Status, Reason, Message string
}

// Decision is the result of Decide.
type Decision struct {
	Kind DecisionKind
	// Reason is UpperCamelCase, fit for a condition or event reason.
	Reason string
	// Message explains the decision with the facts behind it.
	Message string
	// Detection is the master health verdict the decision rests on.
	Detection Detection
	// Choice is the candidate ranking, when one was made.
	Choice *Choice
	// From is the master being replaced or kept; To is the master after the plan.
	From, To string
	// Actions are to be executed in order; stop at the first error or failed
	// VerifyRole and requeue: the next Decide resumes from status.
	Actions []Action
	// Resyncs predicts, for each member the plan points at To, how it will resync.
	Resyncs map[string]ResyncPrediction
	// RequeueAfter asks for the next look after this long (0: the normal resync period).
	RequeueAfter time.Duration
}

// Condition renders the decision as the MasterAvailable condition.
func (d Decision) Condition() Condition {
	status := "True"
	switch d.Kind {
	case KindWait, KindHold, KindFailover, KindResume, KindAbandon, KindRepairTwoMasters, KindDeferToSwitchover, KindRestoreMaster:
		status = "Unknown"
	case KindRefuse, KindNoMaster:
		status = "False"
	}
	return Condition{Type: ConditionMasterAvailable, Status: status, Reason: d.Reason, Message: d.Message}
}

// Decide is the failover policy: from one observation of the group it
// decides what, if anything, must happen to its master. In order:
// a manual switchover in progress owns the group; no recorded master is
// adopted or left to bootstrap; two masters are repaired; an interrupted
// failover is resumed or abandoned; otherwise the master's health is judged
// (Detect) and a failed master is replaced by the best candidate
// (ChooseCandidate) with the old one fenced, once the rules allow it
// (promotionBlocked; a restarted master goes through decideRestarted); a
// healthy group takes back fenced members as replicas.
func Decide(obs Observation, switchover SwitchoverState) Decision {
	if switchover.Active() {
		return Decision{Kind: KindDeferToSwitchover, Reason: "SwitchoverInProgress",
			Message: fmt.Sprintf("switchover from %s to %s is %s", switchover.From, switchover.To, switchover.Phase),
			From:    switchover.From, To: switchover.To}
	}
	if obs.Status.CurrentMaster == "" {
		return decideNoMaster(obs)
	}
	if d, ok := decideTwoMasters(obs); ok {
		return d
	}
	if t := obs.Status.TargetMaster; t != "" && t != obs.Status.CurrentMaster {
		return decideInFlight(obs)
	}

	det := Detect(obs)
	d := Decision{Detection: det, Reason: det.Reason, Message: det.Message, From: obs.Status.CurrentMaster}
	switch det.Health {
	case HealthHealthy:
		d.To, d.RequeueAfter = obs.Status.CurrentMaster, det.RequeueAfter
		return decideRejoin(obs, d)
	case HealthSuspect:
		d.Kind, d.RequeueAfter = KindWait, det.RequeueAfter
		return d
	case HealthIsolated:
		// Look again soon: the replicas' votes mature by the second.
		d.Kind, d.RequeueAfter = KindHold, det.RequeueAfter
		return d
	}

	// The master is failed.
	choice := ChooseCandidate(obs, obs.Status.CurrentMaster)
	d.Choice = &choice
	if det.Reason == reasonMasterRestarted {
		return decideRestarted(obs, d, choice)
	}
	if !obs.Settings.Enabled {
		d.Kind, d.Reason = KindRefuse, "FailoverDisabled"
		d.Message = det.Message + "; automatic failover is disabled"
		return d
	}
	return decideFailover(obs, d, choice, "")
}

// decideFailover promotes the best candidate in place of the failed master,
// unless promotionBlocked says it must not happen yet. note, when set, is
// added to the FailedOver event.
func decideFailover(obs Observation, d Decision, choice Choice, note string) Decision {
	if blocked, ok := promotionBlocked(obs, d, choice); ok {
		return blocked
	}
	d.Kind, d.To = KindFailover, choice.Best.Name
	d.Reason = "FailingOver"
	d.Message = fmt.Sprintf("%s; promoting %s, the most advanced replica at offset %d of history %s",
		d.Detection.Message, choice.Best.Name, choice.Best.Position, shortID(choice.Reference.ReplID))
	d.Actions, d.Resyncs = failoverPlan(obs, d.From, d.To, false, d.Detection.Reason)
	if note != "" {
		d.Actions = append(d.Actions, event(EventWarning, "MasterRestartedBehind", note))
	}
	if w := dataLossWaiver(obs, d.Detection.Evidence, choice); w != "" {
		d.Actions = append(d.Actions, event(EventWarning, "AcceptedDataLoss", w))
	}
	return d
}

// promotionBlocked returns a Wait or Refuse decision, and true, when no
// replica may be promoted in place of the failed master yet:
//
//   - R3: the old master is not contained (its pod deletion has not
//     completed and its guard has not provably expired);
//   - no candidate is eligible at all;
//   - R2: fewer than N-w+1 replicas gave fresh positions, so the replica
//     holding a WAIT-acknowledged write may be among those not heard from;
//   - R2: a replica that is more advanced than the best candidate cannot be
//     promoted (not ready, fenced...), so promoting the candidate would lose
//     what only that replica holds.
//
// The last two yield to the accept-data-loss annotation; the first never does.
func promotionBlocked(obs Observation, d Decision, choice Choice) (Decision, bool) {
	det, ev := d.Detection, d.Detection.Evidence
	wait := func(reason, format string, args ...any) (Decision, bool) {
		d.Kind, d.Reason, d.RequeueAfter = KindWait, reason, pollWhileSuspect
		d.Message = det.Message + "; " + fmt.Sprintf(format, args...)
		return d, true
	}
	if !det.Contained {
		return wait("OldMasterNotContained",
			"not promoting anyone until it provably cannot accept writes: its process must be confirmed gone (pod ended, container not running), or its guard expire (%s)", ev.VoteSummary())
	}
	if choice.Best == nil {
		d.Kind, d.Reason = KindRefuse, "NoEligibleReplica"
		d.Message = fmt.Sprintf("%s; no replica can be promoted (%s)", det.Message, choice.RejectionSummary())
		return d, true
	}
	if obs.Settings.AcceptDataLoss {
		return d, false
	}
	if !ev.PositionsKnown() {
		return wait("ReplicaPositionsUnknown",
			"waiting for %s: a write acknowledged by WAIT %d may be only on replicas the operator cannot ask (set %s: \"true\" to promote %s anyway)",
			ev.PositionSummary(), max(ev.MinReplicasToWrite, 1), AnnotationAcceptDataLoss, choice.Best.Name)
	}
	if len(ev.Unplaced) > 0 {
		return wait("ReplicaPositionUnplaced",
			"%v hold data whose place in the master's history %s cannot be shown (they may hold more of it than %s's %d bytes) (set %s: \"true\" to promote %s anyway)",
			ev.Unplaced, shortID(choice.Reference.ReplID), choice.Best.Name, choice.Best.Position, AnnotationAcceptDataLoss, choice.Best.Name)
	}
	if ev.MostAdvanced > choice.Best.Position {
		ahead := ""
		for _, r := range ev.Reports {
			if r.Position == ev.MostAdvanced {
				ahead = r.Name
				break
			}
		}
		return wait("MostAdvancedReplicaNotEligible",
			"%s holds %d bytes of the master's history, more than the best candidate %s (%d), and cannot be promoted (%s)",
			ahead, ev.MostAdvanced, choice.Best.Name, choice.Best.Position, choice.RejectionSummary())
	}
	return d, false
}

// AnnotationAcceptDataLoss is the group annotation with which the user lets
// the operator promote or restore a member that is not proven to hold every
// write (Settings.AcceptDataLoss).
const AnnotationAcceptDataLoss = "replnode.io/accept-data-loss"

// dataLossWaiver returns the Warning text for a promotion that only the
// accept-data-loss annotation allowed, or "" when the rules allowed it.
func dataLossWaiver(obs Observation, ev Evidence, choice Choice) string {
	if !obs.Settings.AcceptDataLoss || choice.Best == nil {
		return ""
	}
	switch {
	case !ev.PositionsKnown() || len(ev.Unplaced) > 0:
		return fmt.Sprintf("promoting %s with only %s, because %s is set: acknowledged writes held only by the others may be lost",
			choice.Best.Name, ev.PositionSummary(), AnnotationAcceptDataLoss)
	case ev.MostAdvanced > choice.Best.Position:
		return fmt.Sprintf("promoting %s at offset %d although a replica that cannot be promoted holds %d, because %s is set: %d bytes will be lost",
			choice.Best.Name, choice.Best.Position, ev.MostAdvanced, AnnotationAcceptDataLoss, ev.MostAdvanced-choice.Best.Position)
	}
	return ""
}

// ------ RESTARTED MASTER ------

// decideRestarted handles a master that answers as a replica (Detect's
// MasterRestarted: its process restarted, possibly from an older dump, or
// it was demoted outside the operator). Its data must not replace a
// replica's unless its history provably contains that replica's (R1):
//
//   - a replica holds more of the master's history: that replica is
//     promoted and the restarted member rejoins as its replica, even with
//     failover disabled (the master already lost its role; the Warning says
//     so); when none can be promoted it refuses (NoEligibleReplica), unless
//     accept-data-loss is set, which restores it with a Warning;
//   - every one of the N replicas gave a fresh position and none is ahead:
//     it is made master again (RestoreMaster);
//   - some replica's position is unknown: wait, unless accept-data-loss is
//     set, which restores it with a Warning.
//
// While it is still loading its files its own position is not known yet
// (it comes back at the end of the load): wait for it, rather than take it
// for holding nothing.
func decideRestarted(obs Observation, d Decision, choice Choice) Decision {
	name := obs.Status.CurrentMaster
	master := obs.member(name)
	ev := d.Detection.Evidence
	if master.Repl.Loading {
		d.Kind, d.Reason, d.RequeueAfter = KindWait, "RestartedMasterLoading", pollWhileSuspect
		d.Message = fmt.Sprintf("%s; waiting for it to finish loading its data from disk, which gives back its position", d.Detection.Message)
		return d
	}
	held, ok := choice.Reference.Position(master.Repl)
	if !ok {
		held = -1
	}
	if !ok && !mayDiscard(obs, master.Repl) {
		// Its data is on a history that is neither the reference nor one
		// the reference moved on from: it may have replicated from a
		// master status never recorded and hold writes WAIT confirmed
		// there. Promoting a replica would make it
		// a replica of one that does not contain them, and its node keeps
		// them only while that master's offset is below its own (R1;
		// fault-model seed 11330).
		d.Kind, d.Reason, d.RequeueAfter = KindWait, "RestartedMasterUnplaced", pollWhileSuspect
		d.Message = fmt.Sprintf("%s; it holds %d bytes of history %s, which cannot be placed in the master's history %s: it may hold writes acknowledged there, so no replica is promoted over it (set %s: \"true\" to promote the most advanced replica anyway)",
			d.Detection.Message, master.Repl.Offset, shortID(master.Repl.ReplID), shortID(choice.Reference.ReplID), AnnotationAcceptDataLoss)
		return d
	}
	behind := ev.MostAdvanced > held
	if behind && (choice.Best != nil || !obs.Settings.AcceptDataLoss) {
		note := ""
		if !obs.Settings.Enabled {
			note = fmt.Sprintf("automatic failover is disabled, but master %s restarted holding %d bytes of history %s while a replica holds %d: "+
				"it already lost its role, so the replica is promoted rather than letting the restarted master wipe it",
				name, max(held, 0), shortID(choice.Reference.ReplID), ev.MostAdvanced)
		}
		return decideFailover(obs, d, choice, note)
	}
	// R1 is about the restarted member's data replacing theirs: every
	// replica it would become the sync source of must be contained in it,
	// not merely be placed behind it. A replica that moved on to a later
	// history (a failover promoted someone from the master's history and
	// status never recorded it) may hold writes acknowledged there.
	var movedOn []string
	for _, r := range obs.Members {
		if r.Name != name && r.Reachable && r.Repl.Role == RoleReplica && !r.Repl.SyncInProgress && !r.Repl.Loading &&
			!choice.Reference.Contains(r.Repl, held) {
			if pos, ok := choice.Reference.Position(r.Repl); ok && pos <= held {
				movedOn = append(movedOn, r.Name)
			}
		}
	}
	sort.Strings(movedOn)
	why := ""
	switch {
	case len(movedOn) > 0 && !obs.Settings.AcceptDataLoss:
		d.Kind, d.Reason, d.RequeueAfter = KindWait, "ReplicaOnLaterHistory", pollWhileSuspect
		d.Message = fmt.Sprintf("%s; not making it master again: %v moved on from its history %s to a later one and may hold writes acknowledged there that its %d bytes lack (set %s: \"true\" to restore it anyway)",
			d.Detection.Message, movedOn, shortID(choice.Reference.ReplID), max(held, 0), AnnotationAcceptDataLoss)
		return d
	case behind:
		// A replica holds more but none can be promoted (fenced with a
		// diverged tail, not ready...): the user accepted the loss, and
		// the restarted member is the only one that can serve.
		why = fmt.Sprintf("a replica holds %d bytes of history %s, more than its %d, but none can be promoted (%s), and %s is set: data only the others hold will be replaced",
			ev.MostAdvanced, shortID(choice.Reference.ReplID), max(held, 0), choice.RejectionSummary(), AnnotationAcceptDataLoss)
	case ev.Known >= ev.Replicas:
		why = fmt.Sprintf("it holds %d bytes of history %s and none of the %d replicas holds more", max(held, 0),
			shortID(choice.Reference.ReplID), ev.Replicas)
	case obs.Settings.AcceptDataLoss:
		why = fmt.Sprintf("only %d of the %d replicas gave a position on its history, and %s is set: data only the others hold will be replaced",
			ev.Known, ev.Replicas, AnnotationAcceptDataLoss)
	default:
		d.Kind, d.Reason, d.RequeueAfter = KindWait, "ReplicaPositionsUnknown", pollWhileSuspect
		d.Message = fmt.Sprintf("%s; not making it master again: only %d of the %d replicas gave a fresh position on its history, and another may hold more than its %d bytes (set %s: \"true\" to restore it anyway)",
			d.Detection.Message, ev.Known, ev.Replicas, max(held, 0), AnnotationAcceptDataLoss)
		return d
	}
	d.Kind, d.Reason, d.To = KindRestoreMaster, "MasterRestored", name
	d.Message = fmt.Sprintf("%s; making it master again: %s", d.Detection.Message, why)
	d.Actions = []Action{promote(name), verifyMaster(name),
		{Kind: ActMoveMasterLabel, Target: name}}
	if master.Fenced {
		// An abandoned failover away from it marked it fenced; as the
		// master again it must lose the mark, or a later failover away
		// from it would believe it already fenced and skip fencing it.
		d.Actions = append(d.Actions, Action{Kind: ActClearFenced, Member: name})
	}
	d.Actions = append(d.Actions, event(EventWarning, "MasterRestored", d.Message))
	return d
}

// ------ NO RECORDED MASTER ------

// decideNoMaster handles a status without currentMaster: exactly one member
// answering as master is adopted; anything else is left to the operator's
// bootstrap, which knows which members are new.
func decideNoMaster(obs Observation) Decision {
	masters := reachableMasters(obs)
	if len(masters) == 1 {
		name := masters[0].Name
		return Decision{Kind: KindAdopt, Reason: "MasterAdopted", To: name,
			Message: fmt.Sprintf("%s is the only member answering as master; recording it", name),
			Actions: []Action{setTarget(name), verifyMaster(name),
				{Kind: ActMoveMasterLabel, Target: name}, {Kind: ActSetCurrentMaster, Target: name}}}
	}
	return Decision{Kind: KindNoMaster, Reason: "NoCurrentMaster",
		Message: fmt.Sprintf("status names no master and %d members answer as master; bootstrap decides", len(masters))}
}

// ------ TWO MASTERS ------

// decideTwoMasters repairs a group where several reachable members answer as
// master. The member in status wins: targetMaster when it is one of them (a
// failover got as far as promoting it, and the old master was fenced first),
// else currentMaster; when status names neither, the one holding most of the
// reference history wins, ties to the lowest ordinal. Every other master is
// paused, made a replica of the winner and unpaused, with a Warning that says
// how many of its bytes will be lost.
func decideTwoMasters(obs Observation) (Decision, bool) {
	masters := reachableMasters(obs)
	if len(masters) < 2 {
		return Decision{}, false
	}
	var winner *Member
	for _, name := range []string{obs.Status.TargetMaster, obs.Status.CurrentMaster} {
		for i := range masters {
			if name != "" && masters[i].Name == name && winner == nil {
				winner = &masters[i]
			}
		}
	}
	how := "named in status"
	if winner == nil {
		ref := ReferenceHistory(obs)
		var bestPos int64 = -1
		for i := range masters {
			if pos, ok := masters[i].Repl.PositionIn(ref.ReplID); ok && pos > bestPos {
				winner, bestPos = &masters[i], pos
			}
		}
		how = fmt.Sprintf("most advanced on history %s", shortID(ref.ReplID))
		if winner == nil {
			names := make([]string, 0, len(masters))
			for _, m := range masters {
				names = append(names, m.Name)
			}
			return Decision{Kind: KindRefuse, Reason: "AmbiguousMasters",
				Message: fmt.Sprintf("members %v all answer as master, none is named in status and none holds the master's history; refusing to pick", names)}, true
		}
	}

	d := Decision{Kind: KindRepairTwoMasters, Reason: "TwoMastersRepaired", From: obs.Status.CurrentMaster,
		To: winner.Name, Resyncs: map[string]ResyncPrediction{}}
	if winner.Name != obs.Status.CurrentMaster && winner.Name != obs.Status.TargetMaster {
		d.Actions = append(d.Actions, setTarget(winner.Name))
	}
	losers := ""
	for _, m := range masters {
		if m.Name == winner.Name {
			continue
		}
		p := PredictResync(m.Repl, winner.Repl)
		d.Resyncs[m.Name] = p
		d.Actions = append(d.Actions, pauseWrites(m.Name, obs.Settings.PauseTimeout))
		d.Actions = append(d.Actions, markFencedUnlessFenced(m, winner.Name)...)
		d.Actions = append(d.Actions, demote(m.Name, winner.Name, mayDiscard(obs, m.Repl))...)
		d.Actions = append(d.Actions,
			event(EventWarning, "TwoMastersRepaired", fmt.Sprintf(
				"%s also answered as master; made it a replica of %s (%s). %s resync: %s; %s",
				m.Name, winner.Name, how, p.Mode, p.Reason, divergenceText(p))))
		losers += " " + m.Name
	}
	if winner.Name != obs.Status.CurrentMaster {
		d.Actions = append(d.Actions, verifyMaster(winner.Name),
			Action{Kind: ActMoveMasterLabel, Target: winner.Name},
			Action{Kind: ActSetCurrentMaster, Target: winner.Name})
	}
	d.Message = fmt.Sprintf("%d members answer as master; keeping %s (%s), demoting%s", len(masters), winner.Name, how, losers)
	return d, true
}

// divergenceText renders a prediction's lost bytes for a message.
func divergenceText(p ResyncPrediction) string {
	if !p.DivergenceKnown {
		return "diverged bytes unknown (no shared history)"
	}
	return fmt.Sprintf("%d diverged bytes will be discarded", p.DivergedBytes)
}

// reachableMasters lists the reachable members answering ROLE master, by ordinal.
func reachableMasters(obs Observation) []Member {
	var out []Member
	for _, m := range sortedMembers(obs.Members) {
		if m.Reachable && m.Repl.Role == RoleMaster {
			out = append(out, m)
		}
	}
	return out
}

// ------ INTERRUPTED FAILOVER ------

// decideInFlight handles status.targetMaster != currentMaster: a failover was
// decided and possibly partly carried out. If the old master answers as
// master again while the target was never promoted, the attempt is abandoned
// (and the old master unpaused). If the target is already master, the same
// plan is recomputed and run again: every action is idempotent. Before the
// promotion the candidates are ranked again: a target that is no longer
// eligible or that another replica has overtaken is abandoned so the next
// pass chooses again, and the conditions of a new failover (old master
// contained, enough fresh positions) must still hold.
func decideInFlight(obs Observation) Decision {
	from, to := obs.Status.CurrentMaster, obs.Status.TargetMaster
	d := Decision{From: from, To: to}
	target := obs.member(to)
	targetIsMaster := target != nil && target.Reachable && target.Repl.Role == RoleMaster && target.podRunning()

	if target != nil && !target.Reachable && target.podRunning() && !target.ProcessDown {
		// Its pod runs but it does not answer (a pause, a cut between the
		// operator and it): it may already be master, with writes that
		// replicas acknowledged. Abandoning now could demote it later
		// under the old master and lose them; wait until it answers or
		// its process is provably gone. This comes before the old
		// master's recovery: the plan repointed the voting replicas at the
		// target before promoting it, so they no longer report losing the
		// old master, which then looks healthy while the target may
		// already be master with those replicas.
		d.Kind, d.Reason = KindWait, "FailoverTargetUnreachable"
		d.Message = fmt.Sprintf("failover target %s does not answer; it may already be master, so the failover from %s waits for it to answer or for its process to be gone",
			to, from)
		d.RequeueAfter = pollWhileSuspect
		return d
	}

	old := obs.member(from)
	if !targetIsMaster && old != nil && old.Reachable && old.Repl.Role == RoleMaster && !old.Fenced &&
		Detect(obs).Health == HealthHealthy {
		d.Kind, d.Reason = KindAbandon, "MasterRecovered"
		d.Message = fmt.Sprintf("master %s answers again before %s was promoted; abandoning the failover", from, to)
		d.Actions = []Action{unpause(from), {Kind: ActClearTargetMaster},
			event(EventNormal, "FailoverAbandoned", d.Message)}
		return d
	}
	if targetIsMaster {
		// Promoted already: finish pointing everyone at it.
		d.Kind, d.Reason = KindResume, "ResumingFailover"
		d.Message = fmt.Sprintf("resuming the failover from %s to %s", from, to)
		d.Actions, d.Resyncs = failoverPlan(obs, from, to, true, "Resumed")
		return d
	}
	// Not promoted yet: the choice is made again from this observation, as
	// if the failover were starting now, and the target kept only while it
	// is still the best candidate.
	choice := ChooseCandidate(obs, from)
	d.Choice = &choice
	var ranked *Candidate
	for i := range choice.Ranked {
		if choice.Ranked[i].Name == to {
			ranked = &choice.Ranked[i]
		}
	}
	switch {
	case ranked == nil:
		d.Kind, d.Reason = KindAbandon, "FailoverTargetLost"
		d.Message = fmt.Sprintf("failover target %s can no longer be promoted; choosing again", to)
		d.Actions = []Action{{Kind: ActClearTargetMaster}, event(EventWarning, "FailoverTargetLost", d.Message)}
		return d
	case choice.Best.Position > ranked.Position:
		d.Kind, d.Reason = KindAbandon, "FailoverTargetOvertaken"
		d.Message = fmt.Sprintf("failover target %s holds %d bytes but %s now holds %d; choosing again",
			to, ranked.Position, choice.Best.Name, choice.Best.Position)
		d.Actions = []Action{{Kind: ActClearTargetMaster}, event(EventNormal, "FailoverTargetOvertaken", d.Message)}
		return d
	}
	if old != nil && old.Reachable && old.Repl.Role == RoleReplica {
		// The old master restarted (it answers as a replica) before the
		// target was promoted. It is no candidate, but it may hold more
		// than the target — writes WAIT confirmed that only it kept —
		// or data nobody can place: decideRestarted weighs it, so the
		// attempt is dropped (fault-model seed 67512: the target had
		// restarted from an old dump, the old master held the write).
		pos, placed := choice.Reference.Position(old.Repl)
		if placed && pos > ranked.Position || !placed && !mayDiscard(obs, old.Repl) {
			d.Kind, d.Reason = KindAbandon, "FailoverTargetBehindOldMaster"
			d.Message = fmt.Sprintf("failover target %s holds %d bytes of history %s but the old master %s restarted holding %s; choosing again",
				to, ranked.Position, shortID(choice.Reference.ReplID), from, positionText(pos, placed))
			d.Actions = []Action{{Kind: ActClearTargetMaster}, event(EventWarning, "FailoverTargetBehindOldMaster", d.Message)}
			return d
		}
	}
	// Keep the target on a tie rather than flip between equals.
	choice.Best = ranked
	d.Detection = Detect(obs)
	if blocked, ok := promotionBlocked(obs, d, choice); ok {
		return blocked
	}
	d.Kind, d.Reason = KindResume, "ResumingFailover"
	d.Message = fmt.Sprintf("resuming the failover from %s to %s", from, to)
	d.Actions, d.Resyncs = failoverPlan(obs, from, to, true, "Resumed")
	if w := dataLossWaiver(obs, d.Detection.Evidence, choice); w != "" {
		d.Actions = append(d.Actions, event(EventWarning, "AcceptedDataLoss", w))
	}
	return d
}

// ------ FAILOVER PLAN ------

// failoverPlan is the ordered promotion of to in place of from: record the
// target, fence the old master (pause its writes when it answers, else delete
// its pod and mark it fenced so it can only return as a replica), point every
// other reachable member at to, promote it, verify ROLE, demote the old
// master (then unpause it), move the master label, record the new master.
// resume skips what an earlier pass already made true.
//
// The replicas are pointed at to before it is promoted, not after: the old
// master's guard expired because N-w+1 of them stopped acknowledging it (or
// it is paused), and both can end while the plan runs — a cut heals, the
// pause lapses, the operator dies between Promote and the REPLICAOFs. A
// replica that follows to no longer acknowledges the old master, so once the
// voters follow to, the old master has at most w-1 replicas left and its
// guard cannot revive. Until to is promoted they get -NOMASTERLINK from it
// and retry (to's own link to a dead master is down); they then continue
// with a partial resync on its new history.
func failoverPlan(obs Observation, from, to string, resume bool, reason string) ([]Action, map[string]ResyncPrediction) {
	var acts []Action
	if !resume {
		acts = append(acts, setTarget(to))
	}
	acts = append(acts, fenceActions(obs, from, to)...)

	target := obs.member(to)
	after := target.Repl
	if target.Repl.Role != RoleMaster {
		after = AfterPromotion(target.Repl)
	}
	resyncs := map[string]ResyncPrediction{}
	var oldMaster *Member
	var repoint []Action
	for _, m := range sortedMembers(obs.Members) {
		if m.Name == to || !m.Reachable {
			continue
		}
		if m.Name == from {
			mm := m
			oldMaster = &mm
			continue
		}
		resyncs[m.Name] = PredictResync(m.Repl, after)
		// A replica ahead of to keeps its data (its node refuses the
		// full sync, R1) unless the user accepted the loss.
		a := replicaOf(m.Name, to)
		a.DiscardData = obs.Settings.AcceptDataLoss
		repoint = append(repoint, a)
	}
	if target.Repl.Role != RoleMaster {
		acts = append(acts, repoint...)
		acts = append(acts, promote(to), verifyMaster(to))
	} else {
		// Promoted by an earlier pass: nothing to order against.
		acts = append(acts, verifyMaster(to))
		acts = append(acts, repoint...)
	}
	if target.Fenced {
		// A mark left from an earlier failover away from to (it was an old
		// master, fenced, then came back and is promoted now) must not
		// outlive its promotion: the next failover away from it would
		// believe it fenced already, skip deleting its pod, and wait for
		// a containment that never comes (fault-model seed 172430).
		acts = append(acts, Action{Kind: ActClearFenced, Member: to})
	}
	if oldMaster != nil {
		resyncs[from] = PredictResync(oldMaster.Repl, after)
		acts = append(acts, markFencedUnlessFenced(*oldMaster, to)...)
		acts = append(acts, demote(from, to, mayDiscard(obs, oldMaster.Repl))...)
	}
	acts = append(acts,
		Action{Kind: ActMoveMasterLabel, Target: to},
		Action{Kind: ActSetCurrentMaster, Target: to},
		event(EventWarning, "FailedOver", fmt.Sprintf("master moved from %s to %s (%s)", from, to, reason)))
	return acts, resyncs
}

// positionText renders a position for a message.
func positionText(pos int64, placed bool) string {
	if !placed {
		return "data that cannot be placed in it"
	}
	return fmt.Sprintf("%d", pos)
}

// mayDiscard reports whether the policy lets an old master's data past
// its new master's be replaced (Action.DiscardData): the user accepted data
// loss, or it holds nothing, or its history is the reference history or
// one the reference descends from. Its bytes past the switch are then a
// tail it wrote as master after a replica took over, which no WAIT
// acknowledged (R2 at the promotion, R3 since). On another or a later
// history — it replicated from a master status never recorded, or lost the
// lineage in a full sync — it may hold writes acknowledged there: its node
// keeps them (replica-keep-newer-data) until the user accepts the loss
// (fault-model seed 11330).
func mayDiscard(obs Observation, r Replication) bool {
	if obs.Settings.AcceptDataLoss || r.Offset == 0 {
		return true
	}
	parents := switches(obs)
	seen := map[string]bool{}
	next := []string{ReferenceHistory(obs).ReplID}
	for depth := 0; depth <= MaxHistoryLinks && len(next) > 0; depth++ {
		var up []string
		for _, h := range next {
			if !hasReplID(h) || seen[h] {
				continue
			}
			if r.ReplID == h {
				return true
			}
			seen[h] = true
			for p := range parents[h] {
				up = append(up, p)
			}
		}
		next = up
	}
	return false
}

// markFencedUnlessFenced marks m, an old master about to be demoted with the
// grant to lose its newer data, fenced towards target, so that decideRejoin
// follows it until it has synced: the grant lasts one epoch and a restart,
// and a node that missed it (its link to target was down, it restarted)
// refuses target's full sync for good unless it is sent again.
func markFencedUnlessFenced(m Member, target string) []Action {
	if m.Fenced {
		return nil
	}
	return []Action{{Kind: ActMarkFenced, Member: m.Name, Target: target}}
}

// fenceActions makes sure the old master cannot take writes any more: a
// reachable one is paused for writes (it becomes a replica later in the
// plan); an unreachable one has its pod deleted and is marked fenced, so the
// operator recreates it only as a replica; one whose pod or process is
// already gone is only marked. Already fenced: nothing to do.
func fenceActions(obs Observation, from, to string) []Action {
	old := obs.member(from)
	switch {
	case old == nil:
		return []Action{{Kind: ActMarkFenced, Member: from, Target: to}}
	case old.Reachable:
		return []Action{pauseWrites(from, obs.Settings.PauseTimeout)}
	case old.Fenced:
		return nil
	case old.Phase == PodMissing || old.Deleted || old.ProcessDown || old.Phase == PodFailed || old.Phase == PodSucceeded:
		// Already going or gone (the plan runs only once it is contained),
		// or its containers ended: deleting it again proves nothing more.
		// A restarted process comes back as a replica (its pod arguments
		// say so) and rejoins; the topology recreates an ended pod once
		// another member is recorded as master.
		return []Action{{Kind: ActMarkFenced, Member: from, Target: to}}
	default:
		return []Action{{Kind: ActDeletePod, Member: from}, {Kind: ActMarkFenced, Member: from, Target: to}}
	}
}

// promotedReplID stands for the fresh replid a promoted node will pick; it
// matches no real replid (those are 40 hex digits).
const promotedReplID = "(new history)"

// AfterPromotion predicts a replica's replication state right after REPLICAOF
// NO ONE: Redis starts a new history and keeps the old one as replid2 up to
// offset+1, with the backlog unchanged.
func AfterPromotion(r Replication) Replication {
	r.Role = RoleMaster
	r.ReplID2 = r.ReplID
	r.ReplID = promotedReplID
	r.SecondReplOffset = r.Offset + 1
	r.LinkStatus, r.MasterHost, r.MasterPort, r.SyncInProgress = LinkUnknown, "", 0, false
	return r
}

// ------ REJOIN ------

// decideRejoin takes back fenced members once the master is healthy (and
// clears a fenced mark left on the master itself): one that
// already follows the master's history with its link up is unfenced; one
// already pointed at the master's host but still on the history it came back
// with gets the Warning only, and is otherwise left to finish its sync; one that
// answers otherwise (still master, or on another history) is pointed at the
// master, with a Warning predicting partial or full resync and the bytes it
// will lose.
func decideRejoin(obs Observation, d Decision) Decision {
	master := obs.member(obs.Status.CurrentMaster)
	d.Kind = KindNone
	if master.Fenced {
		// A healthy master carrying the fenced mark (left by a failover
		// that was abandoned in its favour) would not be fenced by the next
		// failover away from it (fenceActions skips fenced members).
		d.Actions = append(d.Actions, Action{Kind: ActClearFenced, Member: master.Name})
	}
	for _, m := range sortedMembers(obs.Members) {
		if !m.Fenced || !m.Reachable || m.Name == master.Name {
			continue
		}
		if m.Repl.Role == RoleReplica && m.Repl.LinkStatus == LinkUp && m.Repl.ReplID == master.Repl.ReplID {
			d.Actions = append(d.Actions, Action{Kind: ActClearFenced, Member: m.Name},
				event(EventNormal, "FencedMemberRejoined", fmt.Sprintf("%s follows master %s again", m.Name, master.Name)))
			continue
		}
		p := PredictResync(m.Repl, master.Repl)
		if d.Resyncs == nil {
			d.Resyncs = map[string]ResyncPrediction{}
		}
		if m.Repl.Role == RoleReplica && master.Host != "" && m.Repl.MasterHost == master.Host {
			// Already pointed at the master (its pod was recreated with
			// --replicaof) and not yet synced. Once it holds the master's
			// history there is nothing to say; before, it still shows the
			// history it came back with, so warn what the sync will cost.
			// The message holds only stable numbers, so the repeats while a
			// full sync runs aggregate into one event.
			if m.Repl.ReplID != master.Repl.ReplID {
				d.Resyncs[m.Name] = p
				if m.Repl.LinkStatus != LinkUp && !m.Repl.SyncInProgress && refusesFullSyncFrom(master.Repl, m.Repl) {
					// Its node refuses the full sync from a master whose
					// history does not contain its data
					// (replica-keep-newer-data) unless told, in this
					// epoch, that its newer bytes may go: they are an old
					// master's, which no WAIT acknowledged. Repeating
					// REPLICAOF to the master it already follows changes
					// nothing else.
					if mayDiscard(obs, m.Repl) {
						d.Actions = append(d.Actions, replicaOfDiscarding(m.Name, master.Name))
					}
				}
				d.Actions = append(d.Actions, event(EventWarning, "OldMasterRejoining", fmt.Sprintf(
					"%s returned as a replica of %s: %s resync; %s", m.Name, master.Name, p.Mode, divergenceText(p))))
			}
			continue
		}
		d.Resyncs[m.Name] = p
		if m.Repl.Role == RoleMaster {
			d.Actions = append(d.Actions, pauseWrites(m.Name, obs.Settings.PauseTimeout))
			d.Actions = append(d.Actions, demote(m.Name, master.Name, mayDiscard(obs, m.Repl))...)
		} else {
			d.Actions = append(d.Actions, replicaOf(m.Name, master.Name))
			d.Actions[len(d.Actions)-1].DiscardData = mayDiscard(obs, m.Repl)
		}
		d.Actions = append(d.Actions, event(EventWarning, "OldMasterRejoining", fmt.Sprintf(
			"%s returns as a replica of %s: %s resync expected (%s); %s",
			m.Name, master.Name, p.Mode, p.Reason, divergenceText(p))))
	}
	if len(d.Actions) > 0 {
		d.Kind, d.Reason = KindRejoin, "FencedMemberReturned"
		d.Message = fmt.Sprintf("%s; taking back fenced members as replicas", d.Message)
	}
	return d
}
