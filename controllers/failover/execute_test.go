package failover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeGroup records every call the executor makes, in order, and fails the
// call named in failOn.
type fakeGroup struct {
	calls  []string
	roles  map[string]Role
	failOn string
}

// call records the call and fails it when it is the one named in failOn.
func (f *fakeGroup) call(format string, args ...any) error {
	c := fmt.Sprintf(format, args...)
	f.calls = append(f.calls, c)
	if f.failOn != "" && c == f.failOn {
		return errors.New("injected failure")
	}
	return nil
}

// PauseWrites records CLIENT PAUSE WRITE.
func (f *fakeGroup) PauseWrites(_ context.Context, m string, d time.Duration) error {
	return f.call("CLIENT PAUSE %d WRITE @%s", d.Milliseconds(), m)
}

// Unpause records CLIENT UNPAUSE.
func (f *fakeGroup) Unpause(_ context.Context, m string) error {
	return f.call("CLIENT UNPAUSE @%s", m)
}

// KillClients records CLIENT KILL TYPE normal.
func (f *fakeGroup) KillClients(_ context.Context, m string) error {
	return f.call("CLIENT KILL TYPE normal @%s", m)
}

// ReplicaOfNoOne records REPLICAOF NO ONE and makes the member a master.
func (f *fakeGroup) ReplicaOfNoOne(_ context.Context, m string) error {
	f.roles[m] = RoleMaster
	return f.call("REPLICAOF NO ONE @%s", m)
}

// ReplicaOf records REPLICAOF and makes the member a replica.
func (f *fakeGroup) ReplicaOf(_ context.Context, m, master string) error {
	f.roles[m] = RoleReplica
	return f.call("REPLICAOF %s @%s", master, m)
}

// Role records ROLE and answers the member's role at offset 1234.
func (f *fakeGroup) Role(_ context.Context, m string) (Role, int64, error) {
	return f.roles[m], 1234, f.call("ROLE @%s", m)
}

// SetTargetMaster records the targetMaster write.
func (f *fakeGroup) SetTargetMaster(_ context.Context, n string) error {
	return f.call("status.targetMaster=%q", n)
}

// SetCurrentMaster records the currentMaster write.
func (f *fakeGroup) SetCurrentMaster(_ context.Context, n string) error {
	return f.call("status.currentMaster=%s", n)
}

// MoveMasterLabel records the label move.
func (f *fakeGroup) MoveMasterLabel(_ context.Context, n string) error {
	return f.call("label role=master %s", n)
}

// DeletePod records the pod deletion.
func (f *fakeGroup) DeletePod(_ context.Context, m string) error { return f.call("delete pod %s", m) }

// SetFenced records the fenced mark.
func (f *fakeGroup) SetFenced(_ context.Context, m, target string, fenced bool) error {
	return f.call("fenced %s=%v (%s)", m, fenced, target)
}

// Event records the event.
func (f *fakeGroup) Event(t, r, _ string) { _ = f.call("event %s %s", t, r) }

// clock returns a now() that advances one second per call from t0.
func clock() func() time.Time {
	n := 0
	return func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) }
}

// TestExecuteFailoverPlan checks a decided plan becomes the right node and API calls, in order, and a complete record.
func TestExecuteFailoverPlan(t *testing.T) {
	obs := observe("g-0", time.Minute, unreachable(master("g-0", 0, histA, 1500)),
		replica("g-1", 1, histA, 1200, LinkDown), replica("g-2", 2, histA, 1000, LinkDown))
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	f := &fakeGroup{roles: map[string]Role{"g-1": RoleReplica, "g-2": RoleReplica}}
	ex := Execute(context.Background(), d.Actions, f, f, clock())
	if ex.Err != nil || ex.Executed != len(d.Actions) {
		t.Fatalf("executed %d of %d: %v", ex.Executed, len(d.Actions), ex.Err)
	}
	want := []string{
		`status.targetMaster="g-1"`, "delete pod g-0", "fenced g-0=true (g-1)", "REPLICAOF g-1 @g-2", "REPLICAOF NO ONE @g-1", "ROLE @g-1",
		"label role=master g-1", "status.currentMaster=g-1", "event Warning FailedOver"}
	if got := strings.Join(f.calls, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	steps := append([]Step{{Kind: StepDetected, At: t0, Offset: 1500}}, ex.Steps...)
	r := BuildRecord(d.From, d.To, d.Detection.Reason, steps)
	if r.FencedAt.IsZero() || r.PromotedAt.IsZero() || r.EndpointSwitchedAt.IsZero() || r.OffsetGapBytes != 1500-1234 || r.DurationMs <= 0 {
		t.Fatalf("record %+v", r)
	}
}

// TestExecuteStops checks execution stops at errors, role mismatches, cancellation and unknown actions.
func TestExecuteStops(t *testing.T) {
	acts := []Action{setTarget("g-1"), promote("g-1"), verifyMaster("g-1"), {Kind: ActSetCurrentMaster, Target: "g-1"}}

	t.Run("at an operation error", func(t *testing.T) {
		f := &fakeGroup{roles: map[string]Role{}, failOn: "REPLICAOF NO ONE @g-1"}
		ex := Execute(context.Background(), acts, f, f, clock())
		if ex.Executed != 1 || ex.Err == nil || !strings.Contains(ex.Err.Error(), "Promote g-1: injected failure") {
			t.Fatalf("execution %+v", ex)
		}
	})
	t.Run("at a role mismatch, before currentMaster is written", func(t *testing.T) {
		f := &fakeGroup{roles: map[string]Role{}}
		// The node ignores REPLICAOF NO ONE: Role keeps reporting a replica.
		noop := &ignoringPromote{f}
		ex := Execute(context.Background(), acts, noop, f, clock())
		if ex.Executed != 2 || !errors.Is(ex.Err, ErrRoleMismatch) {
			t.Fatalf("execution %+v", ex)
		}
		for _, c := range f.calls {
			if strings.HasPrefix(c, "status.currentMaster") {
				t.Fatalf("currentMaster written despite the mismatch: %v", f.calls)
			}
		}
	})
	t.Run("at a cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := &fakeGroup{roles: map[string]Role{}}
		if ex := Execute(ctx, acts, f, f, clock()); ex.Executed != 0 || !errors.Is(ex.Err, context.Canceled) || len(f.calls) != 0 {
			t.Fatalf("execution %+v calls %v", ex, f.calls)
		}
	})
	t.Run("at an unknown action", func(t *testing.T) {
		f := &fakeGroup{roles: map[string]Role{}}
		ex := Execute(context.Background(), []Action{{Kind: "Teleport", Member: "g-1"}}, f, f, clock())
		if ex.Err == nil || !strings.Contains(ex.Err.Error(), "unknown action kind") {
			t.Fatalf("execution %+v", ex)
		}
	})
}

// ignoringPromote is a node whose REPLICAOF NO ONE succeeds without effect.
type ignoringPromote struct{ *fakeGroup }

// ReplicaOfNoOne records REPLICAOF NO ONE but leaves the member a replica.
func (n *ignoringPromote) ReplicaOfNoOne(_ context.Context, m string) error {
	return n.call("REPLICAOF NO ONE @%s (ignored)", m)
}
