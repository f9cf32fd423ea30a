package failover

import (
	"strings"
	"testing"
	"time"
)

// ------ EVERY MEMBER RESTARTED AT ONCE ------
//
// A node restarted from files that carry its replication position (an RDB's
// repl-id / repl-offset, replnode's AOF annotations) comes back on the same
// history: a master keeps it as replid2 up to its offset and starts a new
// replid, a replica keeps its master's replid at its offset. A node whose
// files carry none (redis-server's AOF, an RDB of a master without a
// backlog) comes back with all its data on a fresh history at offset 0:
// its position is unknown, which must never be taken for empty (review
// finding 5).

// restoredMaster is a master restarted from files with its position: a new
// history (newID) that moved on from h at off.
func restoredMaster(name string, ordinal int, h, newID string, off int64) Member {
	m := master(name, ordinal, newID, off)
	m.Repl.ReplID2, m.Repl.SecondReplOffset = h, off+1
	m.Repl.BacklogFirstByte, m.Repl.BacklogHistLen = off+1, 0
	return m
}

func TestParseInfoKeyspaceTellsEmpty(t *testing.T) {
	repl := "# Replication\r\nrole:master\r\nmaster_replid:" + histA + "\r\nmaster_repl_offset:0\r\n"
	for _, c := range []struct {
		name, keyspace string
		empty          bool
	}{
		{"no keyspace section: not known to be empty", "", false},
		{"empty keyspace", "\r\n# Keyspace\r\n", true},
		{"keys in db0", "\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n", false},
		{"keys in db9 only", "\r\n# Keyspace\r\ndb9:keys=1,expires=1,avg_ttl=5\r\n", false},
		{"unreadable db line counts as data", "\r\n# Keyspace\r\ndb0:garbage\r\n", false},
	} {
		r, err := ParseInfoReplication(repl + c.keyspace)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if r.Empty != c.empty {
			t.Errorf("%s: Empty = %v, want %v", c.name, r.Empty, c.empty)
		}
	}
}

// TestOffsetZeroWithDataIsUnknownNotEmpty: a replica at offset 0 on a history
// of its own proves nothing about the master's writes unless it lists no
// key; and a full sync onto it is not known to lose nothing.
func TestOffsetZeroWithDataIsUnknownNotEmpty(t *testing.T) {
	fresh := replica("g-1", 1, histC, 0, LinkDown)
	empty := fresh
	empty.Repl.Empty = true
	ref := Reference{ReplID: histA}
	for _, c := range []struct {
		name      string
		m         Member
		position  int64
		contained bool
	}{
		{"data on a fresh history", fresh, -1, false},
		{"no data", empty, 0, true},
	} {
		obs := observe("g-0", 0, master("g-0", 0, histA, 1000), c.m)
		ev := GatherEvidence(obs, "g-0", ref)
		if len(ev.Reports) != 1 || ev.Reports[0].Position != c.position {
			t.Errorf("%s: reports %+v, want position %d", c.name, ev.Reports, c.position)
		}
		if got := ref.Contains(c.m.Repl, 1000); got != c.contained {
			t.Errorf("%s: Contains = %v, want %v", c.name, got, c.contained)
		}
		if got := SourceContains(obs.Members[0].Repl, c.m.Repl); got != c.contained {
			t.Errorf("%s: SourceContains = %v, want %v", c.name, got, c.contained)
		}
	}
}

// TestRestartAllWithPositions: every member killed at once and restarted on
// its files with its position, the master first or last. With every
// replica placed on the master's old history and none ahead, the master is
// kept (or made master again) and nothing is failed over; a replica ahead of
// it takes over instead, so its writes are not wiped.
func TestRestartAllWithPositions(t *testing.T) {
	restartedReplica := func(name string, ordinal int, off int64) Member {
		m := replica(name, ordinal, histA, off, LinkDown)
		m.Repl.MasterHost = "g-0.host"
		return m
	}
	// reconnected is a replica that continued from its position with the
	// restarted master (PSYNC +CONTINUE onto its new history).
	reconnected := func(name string, ordinal int, off int64) Member {
		m := replica(name, ordinal, histB, off, LinkUp)
		m.Repl.ReplID2, m.Repl.SecondReplOffset = histA, 1001
		m.Repl.MasterHost = "g-0.host"
		return m
	}
	for _, c := range []struct {
		name     string
		members  []Member
		wantKind DecisionKind
		wantTo   string
	}{
		{"master back as master, replicas reconnected",
			[]Member{restoredMaster("g-0", 0, histA, histB, 1000), reconnected("g-1", 1, 1000), reconnected("g-2", 2, 1000)},
			KindNone, "g-0"},
		{"master back as a replica of its old address, replicas behind",
			[]Member{restartedReplica("g-0", 0, 1000), restartedReplica("g-1", 1, 1000), restartedReplica("g-2", 2, 990)},
			KindRestoreMaster, "g-0"},
		{"a replica ahead of the restarted master",
			[]Member{restartedReplica("g-0", 0, 1000), restartedReplica("g-1", 1, 1200), restartedReplica("g-2", 2, 990)},
			KindFailover, "g-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", 10*time.Second, c.members...)
			obs.Status.LastMasterReplID, obs.Status.LastMasterOffset = histA, 1000
			for i := range obs.Members {
				obs.Members[i].Host = obs.Members[i].Name + ".host"
			}
			d := Decide(obs, SwitchoverState{})
			if d.Kind != c.wantKind || d.To != c.wantTo {
				t.Fatalf("decision %s to %q (%s: %s)", d.Kind, d.To, d.Reason, d.Message)
			}
		})
	}
}

// TestRestartAllWithoutPositions: the same restart from files that carry no
// position (every member on a fresh history at offset 0, holding data): no
// member is made the source of the others' full sync, since none is known
// to hold what the others hold; the decision waits and says why.
func TestRestartAllWithoutPositions(t *testing.T) {
	fresh := func(name string, ordinal int, h string) Member {
		m := replica(name, ordinal, h, 0, LinkDown)
		m.Repl.MasterHost = "g-0.host"
		return m
	}
	obs := observe("g-0", 10*time.Second, fresh("g-0", 0, histC), fresh("g-1", 1, histA), fresh("g-2", 2, histB))
	obs.Status.LastMasterReplID, obs.Status.LastMasterOffset = zeros, 0
	obs.Status.LastMasterReplID = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c"
	d := Decide(obs, SwitchoverState{})
	if d.Kind == KindRestoreMaster || d.Kind == KindFailover {
		t.Fatalf("decision %s to %q with no known position (%s: %s)", d.Kind, d.To, d.Reason, d.Message)
	}
	t.Logf("%s %s: %s", d.Kind, d.Reason, d.Message)
	if d.Kind != KindWait && d.Kind != KindRefuse || !strings.Contains(d.Message, "g-0") {
		t.Fatalf("decision %s (%s): want a wait that names the restarted master: %s", d.Kind, d.Reason, d.Message)
	}
}

// TestLoadingIsNotAPosition: a node still loading its files at startup
// reports a fresh history at offset 0 and a keyspace filling up. It is
// neither empty nor placed: it gives no position and no vote, is not a
// candidate, and a restarted master still loading is waited for rather
// than taken for holding nothing.
func TestLoadingIsNotAPosition(t *testing.T) {
	text := "# Replication\r\nrole:slave\r\nmaster_replid:" + histC + "\r\nmaster_repl_offset:0\r\n" +
		"\r\n# Keyspace\r\n\r\n# Persistence\r\nloading:1\r\n"
	r, err := ParseInfoReplication(text)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Loading || r.Empty {
		t.Fatalf("loading node parsed as Loading %v Empty %v", r.Loading, r.Empty)
	}

	loading := replica("g-1", 1, histC, 0, LinkDown)
	loading.Repl.Loading, loading.Repl.Empty = true, true // even if it said empty
	obs := observe("g-0", time.Minute, gone(master("g-0", 0, histA, 1000)), loading, replica("g-2", 2, histA, 990, LinkDown))
	obs.Status.LastMasterReplID = histA
	ev := GatherEvidence(obs, "g-0", Reference{ReplID: histA})
	for _, rep := range ev.Reports {
		if rep.Name == "g-1" {
			t.Fatalf("a loading replica reported %+v", rep)
		}
	}
	if d := Decide(obs, SwitchoverState{}); d.To == "g-1" {
		t.Fatalf("a loading replica was chosen: %s (%s)", d.Kind, d.Message)
	}

	restarted := replica("g-0", 0, histC, 0, LinkDown)
	restarted.Repl.Loading = true
	obs = observe("g-0", 10*time.Second, restarted, replica("g-1", 1, histA, 990, LinkDown), replica("g-2", 2, histA, 995, LinkDown))
	obs.Status.LastMasterReplID = histA
	d := Decide(obs, SwitchoverState{})
	if d.Kind != KindWait || d.Reason != "RestartedMasterLoading" {
		t.Fatalf("restarted master still loading: %s %s (%s)", d.Kind, d.Reason, d.Message)
	}
	restarted.Repl = replica("g-0", 0, histA, 1000, LinkDown).Repl // loaded: its position is back
	obs.Members[0] = restarted
	if d := Decide(obs, SwitchoverState{}); d.Kind != KindRestoreMaster || d.To != "g-0" {
		t.Fatalf("restarted master loaded at 1000, replicas at 990 and 995: %s to %q (%s)", d.Kind, d.To, d.Message)
	}
}
