package failover

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ------ PLAN EXECUTION ------
//
// Execute is the one place where a plan meets the outside world, and it does
// so only through the two interfaces below, which the reconciler implements
// (NodeOperations over controllers/nodeclient, GroupOperations over the API
// client and event recorder). It performs no I/O of its own, starts no
// goroutine and takes the time from an injected function.

// NodeOperations are the node client calls failover needs. member is a
// member name; the implementation resolves its address.
type NodeOperations interface {
	// PauseWrites sends CLIENT PAUSE <d in ms> WRITE.
	PauseWrites(ctx context.Context, member string, d time.Duration) error
	// Unpause sends CLIENT UNPAUSE.
	Unpause(ctx context.Context, member string) error
	// ReplicaOfNoOne sends REPLICAOF NO ONE.
	ReplicaOfNoOne(ctx context.Context, member string) error
	// ReplicaOf sends REPLICAOF <master's address> <port>.
	ReplicaOf(ctx context.Context, member, master string) error
	// KillClients sends CLIENT KILL TYPE normal.
	KillClients(ctx context.Context, member string) error
	// Role sends ROLE and returns the role and replication offset it reports.
	Role(ctx context.Context, member string) (Role, int64, error)
}

// GroupOperations are the API writes and events failover needs.
type GroupOperations interface {
	// SetTargetMaster persists status.targetMaster (name) before returning;
	// "" means reset it to status.currentMaster.
	SetTargetMaster(ctx context.Context, name string) error
	// SetCurrentMaster persists status.currentMaster (and targetMaster) = name.
	SetCurrentMaster(ctx context.Context, name string) error
	// MoveMasterLabel labels name role=master and every other member role=replica.
	MoveMasterLabel(ctx context.Context, name string) error
	// DeletePod deletes member's pod.
	DeletePod(ctx context.Context, member string) error
	// SetFenced records (fenced=true, as a replica of target) or clears the fenced mark.
	SetFenced(ctx context.Context, member, target string, fenced bool) error
	// Event emits an event on the group.
	Event(eventType, reason, message string)
}

// ErrRoleMismatch is returned (wrapped) when VerifyRole finds another role:
// the plan stops and the next pass resumes it.
var ErrRoleMismatch = errors.New("role mismatch")

// Execution is the result of Execute.
type Execution struct {
	// Executed counts the actions that completed, in order.
	Executed int
	// Steps are the milestones reached, for BuildRecord.
	Steps []Step
	// Err is the first failure (nil when every action ran); it names the action.
	Err error
}

// Execute runs acts in order and stops at the first failure: an error from an
// operation, or a VerifyRole that sees another role (ErrRoleMismatch). It
// returns how far it got and the milestones reached, stamped with now().
// Running the same plan again after a failure is safe: every action is
// idempotent.
func Execute(ctx context.Context, acts []Action, nodes NodeOperations, group GroupOperations, now func() time.Time) Execution {
	var ex Execution
	for _, a := range acts {
		if err := ctx.Err(); err != nil {
			ex.Err = fmt.Errorf("%s: %w", a, err)
			return ex
		}
		var offset int64
		var err error
		switch a.Kind {
		case ActSetTargetMaster:
			err = group.SetTargetMaster(ctx, a.Target)
		case ActClearTargetMaster:
			err = group.SetTargetMaster(ctx, "")
		case ActPauseWrites:
			err = nodes.PauseWrites(ctx, a.Member, a.Timeout)
		case ActUnpause:
			err = nodes.Unpause(ctx, a.Member)
		case ActDeletePod:
			err = group.DeletePod(ctx, a.Member)
		case ActMarkFenced:
			err = group.SetFenced(ctx, a.Member, a.Target, true)
		case ActClearFenced:
			err = group.SetFenced(ctx, a.Member, "", false)
		case ActPromote:
			err = nodes.ReplicaOfNoOne(ctx, a.Member)
		case ActVerifyRole:
			var role Role
			role, offset, err = nodes.Role(ctx, a.Member)
			if err == nil && role != a.Role {
				err = fmt.Errorf("%w: %s reports %q, want %q", ErrRoleMismatch, a.Member, string(role), string(a.Role))
			}
		case ActReplicaOf:
			err = nodes.ReplicaOf(ctx, a.Member, a.Target)
		case ActKillClients:
			err = nodes.KillClients(ctx, a.Member)
		case ActMoveMasterLabel:
			err = group.MoveMasterLabel(ctx, a.Target)
		case ActSetCurrentMaster:
			err = group.SetCurrentMaster(ctx, a.Target)
		case ActEvent:
			group.Event(a.EventType, a.Reason, a.Message)
		default:
			err = fmt.Errorf("unknown action kind %q", a.Kind)
		}
		if err != nil {
			ex.Err = fmt.Errorf("%s: %w", a, err)
			return ex
		}
		ex.Executed++
		if s, ok := StepFor(a, now()); ok {
			if s.Kind == StepPromoted {
				s.Offset = offset
			}
			ex.Steps = append(ex.Steps, s)
		}
	}
	return ex
}
