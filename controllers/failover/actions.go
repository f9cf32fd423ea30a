package failover

import (
	"fmt"
	"time"
)

// ------ ACTIONS ------

// ActionKind names one thing the caller must do. Each maps to one node client
// call, one API write or one event; every kind is safe to repeat, so a plan
// interrupted half way can simply be recomputed and run again.
type ActionKind string

const (
	// ActSetTargetMaster writes status.targetMaster = Target before anything else is touched.
	ActSetTargetMaster ActionKind = "SetTargetMaster"
	// ActClearTargetMaster writes status.targetMaster = status.currentMaster (abandons an attempt).
	ActClearTargetMaster ActionKind = "ClearTargetMaster"
	// ActPauseWrites sends CLIENT PAUSE <Timeout ms> WRITE to Member.
	ActPauseWrites ActionKind = "PauseWrites"
	// ActUnpause sends CLIENT UNPAUSE to Member.
	ActUnpause ActionKind = "Unpause"
	// ActDeletePod deletes Member's pod so it cannot keep serving as master.
	ActDeletePod ActionKind = "DeletePod"
	// ActMarkFenced records Member as fenced: it must come back only as a
	// replica of Target (its pod is recreated with --replicaof).
	ActMarkFenced ActionKind = "MarkFenced"
	// ActClearFenced removes the fenced mark once Member follows the master again.
	ActClearFenced ActionKind = "ClearFenced"
	// ActPromote sends REPLICAOF NO ONE to Member.
	ActPromote ActionKind = "Promote"
	// ActVerifyRole asks Member for ROLE; if it does not report Role the caller
	// stops executing the plan and requeues.
	ActVerifyRole ActionKind = "VerifyRole"
	// ActReplicaOf sends REPLICAOF <Target's address> to Member. With
	// DiscardData the node is first told that, in this failover epoch, it
	// may accept a full sync that replaces data it holds beyond the
	// master's offset (REPLNODE EPOCH <n> ACCEPT-DATA-LOSS): a replnode
	// node refuses such a sync otherwise (docs/failover.md, R1).
	ActReplicaOf ActionKind = "ReplicaOf"
	// ActKillClients sends CLIENT KILL TYPE normal to Member, a demoted
	// master, right after its REPLICAOF: no client that was writing to it
	// keeps a connection to it (they reconnect through the master Service).
	ActKillClients ActionKind = "KillClients"
	// ActMoveMasterLabel puts the role=master label on Target and role=replica on all others.
	ActMoveMasterLabel ActionKind = "MoveMasterLabel"
	// ActSetCurrentMaster writes status.currentMaster = Target (only after ActVerifyRole succeeded).
	ActSetCurrentMaster ActionKind = "SetCurrentMaster"
	// ActEvent emits an event of EventType with Reason and Message.
	ActEvent ActionKind = "Event"
)

// Event types, as Kubernetes spells them.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Action is one step of a plan.
type Action struct {
	Kind ActionKind
	// Member is the node acted on.
	Member string
	// Target is the master the action points at (SetTargetMaster, ReplicaOf,
	// MarkFenced, MoveMasterLabel, SetCurrentMaster).
	Target string
	// Role is the role VerifyRole expects.
	Role Role
	// Timeout is the CLIENT PAUSE duration.
	Timeout time.Duration
	// DiscardData (ReplicaOf): the policy decided Member's data past what
	// Target holds is to be discarded — Member is a demoted or fenced old
	// master whose extra bytes no WAIT acknowledged (R2 held when it was
	// replaced), or the user accepted data loss. Without it a replnode
	// node keeps data newer than its master's (R1).
	DiscardData bool
	// EventType, Reason and Message describe an ActEvent.
	EventType, Reason, Message string
}

// String renders the action on one line, as transcripts in tests and logs show it.
func (a Action) String() string {
	switch a.Kind {
	case ActSetTargetMaster, ActMoveMasterLabel, ActSetCurrentMaster:
		return fmt.Sprintf("%s %s", a.Kind, a.Target)
	case ActClearTargetMaster:
		return string(a.Kind)
	case ActPauseWrites:
		return fmt.Sprintf("%s %s %s", a.Kind, a.Member, a.Timeout)
	case ActReplicaOf:
		if a.DiscardData {
			return fmt.Sprintf("%s %s %s discarding its newer data", a.Kind, a.Member, a.Target)
		}
		return fmt.Sprintf("%s %s %s", a.Kind, a.Member, a.Target)
	case ActMarkFenced:
		return fmt.Sprintf("%s %s %s", a.Kind, a.Member, a.Target)
	case ActVerifyRole:
		return fmt.Sprintf("%s %s %s", a.Kind, a.Member, a.Role)
	case ActEvent:
		return fmt.Sprintf("%s %s %s", a.Kind, a.EventType, a.Reason)
	default:
		return fmt.Sprintf("%s %s", a.Kind, a.Member)
	}
}

// ------ ACTION CONSTRUCTORS ------

// setTarget returns ActSetTargetMaster for target.
func setTarget(target string) Action { return Action{Kind: ActSetTargetMaster, Target: target} }

// pauseWrites returns ActPauseWrites on member for d.
func pauseWrites(member string, d time.Duration) Action {
	return Action{Kind: ActPauseWrites, Member: member, Timeout: d}
}

// unpause returns ActUnpause on member.
func unpause(member string) Action { return Action{Kind: ActUnpause, Member: member} }

// promote returns ActPromote on member.
func promote(member string) Action { return Action{Kind: ActPromote, Member: member} }

// verifyMaster returns ActVerifyRole expecting member to report master.
func verifyMaster(member string) Action {
	return Action{Kind: ActVerifyRole, Member: member, Role: RoleMaster}
}

// replicaOf returns ActReplicaOf pointing member at target.
func replicaOf(member, target string) Action {
	return Action{Kind: ActReplicaOf, Member: member, Target: target}
}

// replicaOfDiscarding returns ActReplicaOf pointing member, an old master
// the policy demotes, at target, allowed to lose its data past target's.
func replicaOfDiscarding(member, target string) Action {
	return Action{Kind: ActReplicaOf, Member: member, Target: target, DiscardData: true}
}

// killClients returns ActKillClients on member.
func killClients(member string) Action { return Action{Kind: ActKillClients, Member: member} }

// demote is the sequence that turns member, a (possibly paused) master, into
// a replica of target: REPLICAOF, then CLIENT KILL TYPE normal so no client
// keeps writing to it, then CLIENT UNPAUSE so it applies the replication
// stream again. discard lets the REPLICAOF replace member's data past
// target's (a failed-over master: what it wrote after target took over no
// WAIT acknowledged); a switchover's old master never needs it, target
// holds all its bytes, so there the node's guard stays as a safety net.
func demote(member, target string, discard bool) []Action {
	return []Action{{Kind: ActReplicaOf, Member: member, Target: target, DiscardData: discard},
		killClients(member), unpause(member)}
}

// event returns an ActEvent.
func event(eventType, reason, message string) Action {
	return Action{Kind: ActEvent, EventType: eventType, Reason: reason, Message: message}
}
