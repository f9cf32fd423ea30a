package failover

import (
	"fmt"
	"testing"
	"time"
)

// ------ SIMULATED GROUP ------
//
// A small model of a replication group, enough to run the switchover state
// machine and the failover plan end to end: clients write through the
// role=master label, replicas copy from the member they follow at a bounded
// rate, CLIENT PAUSE WRITE stops client writes, REPLICAOF NO ONE starts a new
// history. The caller is modelled too: actions run in order, a pass can be
// cut short after any action (a crashed reconcile), and the switchover state
// is saved only when the whole pass ran.

type simGroup struct {
	t       *testing.T
	members []Member
	follows map[string]string
	paused  map[string]bool
	label   string
	status  Status
	now     time.Time
	// acked is the highest offset of history histA acknowledged to a client
	// by the original master: none of it may be lost.
	acked   int64
	nextIDs []string
}

// newSimGroup returns master g-0 with replicas g-1 and g-2, all in sync.
func newSimGroup(t *testing.T) *simGroup {
	g := &simGroup{t: t, follows: map[string]string{"g-1": "g-0", "g-2": "g-0"}, paused: map[string]bool{},
		label: "g-0", status: Status{CurrentMaster: "g-0", TargetMaster: "g-0"}, now: t0,
		nextIDs: []string{histB, histC}}
	g.members = []Member{master("g-0", 0, histA, 1000), replica("g-1", 1, histA, 1000, LinkUp), replica("g-2", 2, histA, 1000, LinkUp)}
	g.acked = 1000
	return g
}

// get returns the member named name.
func (g *simGroup) get(name string) *Member {
	for i := range g.members {
		if g.members[i].Name == name {
			return &g.members[i]
		}
	}
	g.t.Fatalf("no member %s", name)
	return nil
}

// tick advances time by one second: the labelled master takes 100 bytes of
// writes unless paused; every third second each master sends its replicas a
// 14-byte PING, paused or not, as redis does every repl-ping-replica-period;
// each replica copies up to copyRate bytes from the member it follows.
func (g *simGroup) tick(copyRate int64) {
	g.now = g.now.Add(time.Second)
	if m := g.get(g.label); m.Reachable && m.Repl.Role == RoleMaster && !g.paused[m.Name] {
		m.Repl.Offset += 100
		m.Repl.BacklogHistLen += 100
		if m.Repl.ReplID == histA {
			g.acked = m.Repl.Offset
		}
	}
	if g.now.Unix()%3 == 0 {
		for i := range g.members {
			if m := &g.members[i]; m.Reachable && m.Repl.Role == RoleMaster {
				m.Repl.Offset += 14
				m.Repl.BacklogHistLen += 14
			}
		}
	}
	for i := range g.members {
		m := &g.members[i]
		src := g.follows[m.Name]
		if m.Repl.Role != RoleReplica || src == "" {
			continue
		}
		s := g.get(src)
		if s.Repl.ReplID == m.Repl.ReplID || s.Repl.ReplID2 == m.Repl.ReplID {
			m.Repl.ReplID = s.Repl.ReplID
			m.Repl.Offset = min(s.Repl.Offset, m.Repl.Offset+copyRate)
		}
	}
}

// run executes actions in order, stopping after limit actions (-1: all) or at
// a failed VerifyRole; it reports whether every action ran.
func (g *simGroup) run(acts []Action, limit int) bool {
	for i, a := range acts {
		if limit >= 0 && i >= limit {
			return false
		}
		switch a.Kind {
		case ActSetTargetMaster:
			g.status.TargetMaster = a.Target
		case ActClearTargetMaster:
			g.status.TargetMaster = g.status.CurrentMaster
		case ActPauseWrites:
			g.paused[a.Member] = true
		case ActUnpause:
			g.paused[a.Member] = false
		case ActPromote:
			m := g.get(a.Member)
			if m.Repl.Role != RoleMaster {
				m.Repl = AfterPromotion(m.Repl)
				m.Repl.ReplID, g.nextIDs = g.nextIDs[0], g.nextIDs[1:]
				delete(g.follows, a.Member)
			}
		case ActVerifyRole:
			if g.get(a.Member).Repl.Role != a.Role {
				return false
			}
		case ActReplicaOf:
			m, target := g.get(a.Member), g.get(a.Target)
			p := PredictResync(m.Repl, target.Repl)
			if p.Mode == ResyncFull {
				m.Repl.ReplID, m.Repl.Offset = target.Repl.ReplID, target.Repl.Offset
			}
			m.Repl.Role, m.Repl.LinkStatus = RoleReplica, LinkUp
			g.follows[a.Member] = a.Target
		case ActMoveMasterLabel:
			g.label = a.Target
		case ActSetCurrentMaster:
			g.status.CurrentMaster, g.status.TargetMaster = a.Target, a.Target
		case ActDeletePod:
			m := g.get(a.Member)
			m.Phase, m.Reachable = PodMissing, false
		case ActMarkFenced:
			g.get(a.Member).Fenced = true
		case ActClearFenced:
			g.get(a.Member).Fenced = false
		case ActEvent, ActKillClients:
		default:
			g.t.Fatalf("unmodelled action %s", a)
		}
	}
	return true
}

// observation is what the operator sees now.
func (g *simGroup) observation() Observation {
	return Observation{Members: append([]Member(nil), g.members...), Status: g.status, Settings: settings, Now: g.now}
}

// TestSimulatedSwitchoverLosesNoAcknowledgedWrite checks a switchover completes from any interruption without losing an acknowledged write.
func TestSimulatedSwitchoverLosesNoAcknowledgedWrite(t *testing.T) {
	// Crash every pass after `crashAfter` actions once, for every position, to
	// show the state machine finishes from any interruption without losing a
	// write the old master acknowledged.
	for _, copyRate := range []int64{15, 40, 1000} {
		for crashAfter := 0; crashAfter <= 8; crashAfter++ {
			t.Run(fmt.Sprintf("copy %d/s, crash after %d actions", copyRate, crashAfter), func(t *testing.T) {
				simulateSwitchover(t, copyRate, crashAfter)
			})
		}
	}
}

// simulateSwitchover runs one switchover of the simulated group to g-1,
// replicas copying copyRate bytes a second, the caller crashing once after
// crashAfter actions of a pass; it checks no acknowledged write was lost.
func simulateSwitchover(t *testing.T, copyRate int64, crashAfter int) {
	{
		{
			g := newSimGroup(t)
			var state SwitchoverState
			crashed := false
			done := false
			for pass := 0; pass < 60 && !done; pass++ {
				g.tick(copyRate)
				step := StepSwitchover(state, "g-1", g.observation())
				limit := -1
				if !crashed && len(step.Actions) > crashAfter {
					limit, crashed = crashAfter, true
				}
				if g.run(step.Actions, limit) {
					state = step.Next
					done = step.Result == SwitchoverCompleted
				}
				if step.Result == SwitchoverAborted {
					t.Fatalf("pass %d aborted: %s", pass, step.Message)
				}
			}
			if !done {
				t.Fatalf("switchover did not complete; state %+v", state)
			}
			g.tick(1000)
			g.tick(1000)
			newMaster := g.get("g-1")
			if g.status.CurrentMaster != "g-1" || g.label != "g-1" || newMaster.Repl.Role != RoleMaster {
				t.Fatalf("g-1 is not the master: status %+v label %s", g.status, g.label)
			}
			if pos, ok := newMaster.Repl.PositionIn(histA); !ok || pos < g.acked {
				t.Fatalf("new master holds %d of history A, %d were acknowledged", pos, g.acked)
			}
			old := g.get("g-0")
			if old.Repl.Role != RoleReplica || g.follows["g-0"] != "g-1" || g.paused["g-0"] {
				t.Fatalf("old master: role %s follows %q paused %v", old.Repl.Role, g.follows["g-0"], g.paused["g-0"])
			}
			for i := 0; i < 10 && old.Repl.Offset != newMaster.Repl.Offset; i++ {
				g.tick(copyRate)
			}
			if old.Repl.Offset != newMaster.Repl.Offset || old.Repl.ReplID != newMaster.Repl.ReplID {
				t.Fatalf("old master did not catch up: %+v vs %+v", old.Repl, newMaster.Repl)
			}
		}
	}
}

// TestSimulatedFailoverFromAnyInterruption checks a failover converges to one master, the most advanced replica, from any interruption.
func TestSimulatedFailoverFromAnyInterruption(t *testing.T) {
	// The master dies; the operator fails over, crashing once after
	// `crashAfter` actions of some pass; the group must end with exactly one
	// master, the most advanced replica, recorded in status.
	for crashAfter := 0; crashAfter <= 8; crashAfter++ {
		t.Run(fmt.Sprintf("crash after %d actions", crashAfter), func(t *testing.T) {
			g := newSimGroup(t)
			g.get("g-2").Repl.Offset = 1000
			g.get("g-1").Repl.Offset = 900
			g.status.LastMasterReplID = histA
			old := g.get("g-0")
			old.Reachable, old.Phase = false, PodFailed
			for i := range g.members {
				if g.members[i].Repl.Role == RoleReplica {
					g.members[i].Repl.LinkStatus = LinkDown
				}
			}
			lastSeen := g.now
			crashed := false
			for pass := 0; pass < 60 && g.status.CurrentMaster == "g-0"; pass++ {
				g.tick(0)
				obs := g.observation()
				obs.MasterLastSeen = lastSeen
				d := Decide(obs, SwitchoverState{})
				limit := -1
				if !crashed && len(d.Actions) > crashAfter {
					limit, crashed = crashAfter, true
				}
				g.run(d.Actions, limit)
			}
			if g.status.CurrentMaster != "g-2" || g.label != "g-2" {
				t.Fatalf("status %+v label %s, want g-2", g.status, g.label)
			}
			masters := 0
			for _, m := range g.members {
				if m.Reachable && m.Repl.Role == RoleMaster {
					masters++
				}
			}
			if masters != 1 || !g.get("g-0").Fenced || g.follows["g-1"] != "g-2" {
				t.Fatalf("masters %d, g-0 fenced %v, g-1 follows %q", masters, g.get("g-0").Fenced, g.follows["g-1"])
			}
			// A last pass on the healthy group has nothing to do.
			obs := g.observation()
			obs.MasterLastSeen = g.now
			if d := Decide(obs, SwitchoverState{}); d.Kind != KindNone || len(d.Actions) != 0 {
				t.Fatalf("healthy group still acts: %s %v", d.Kind, d.Actions)
			}
		})
	}
}

// TestSimulatedSwitchoverAbortsCleanlyWhenTheTargetCannotCatchUp checks a timed-out switchover leaves the master writable and backs off.
func TestSimulatedSwitchoverAbortsCleanlyWhenTheTargetCannotCatchUp(t *testing.T) {
	g := newSimGroup(t)
	var state SwitchoverState
	var aborted *SwitchoverStep
	for pass := 0; pass < 60 && aborted == nil; pass++ {
		g.tick(0) // the target's link is stalled
		step := StepSwitchover(state, "g-1", g.observation())
		if !g.run(step.Actions, -1) {
			t.Fatalf("pass %d: actions failed: %v", pass, step.Actions)
		}
		state = step.Next
		if step.Result == SwitchoverAborted {
			aborted = &step
		}
	}
	if aborted == nil || aborted.Reason != "SwitchoverTimedOut" {
		t.Fatalf("no timeout abort: %+v", aborted)
	}
	if g.paused["g-0"] || g.status.CurrentMaster != "g-0" || g.status.TargetMaster != "g-0" || g.label != "g-0" {
		t.Fatalf("after abort: paused %v status %+v label %s", g.paused["g-0"], g.status, g.label)
	}
	before := g.get("g-0").Repl.Offset
	g.tick(0)
	if g.get("g-0").Repl.Offset <= before || g.get("g-1").Repl.Role != RoleReplica {
		t.Fatal("the master does not take writes again after the abort")
	}
	if step := StepSwitchover(state, "g-1", g.observation()); step.Reason != "SwitchoverBackoff" {
		t.Fatalf("retried at once: %+v", step)
	}
}
