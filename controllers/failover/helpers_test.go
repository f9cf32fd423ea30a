package failover

import (
	"strings"
	"testing"
	"time"
)

// Replication ids used across the tests, 40 hex digits like real ones.
const (
	histA = "17af7cfa29967cbe6bcfa483f4806a442a846923"
	histB = "30cd08898d700d1997845bba6344c3ced7761344"
	histC = "66760bd44402a4de959eda1e59d6e6e10d2aa897"
	zeros = "0000000000000000000000000000000000000000"
)

var t0 = time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)

// master returns a healthy, reachable master member on history h at offset off.
func master(name string, ordinal int, h string, off int64) Member {
	return Member{Name: name, Ordinal: ordinal, Phase: PodRunning, Ready: true, Reachable: true,
		Repl: Replication{Role: RoleMaster, ReplID: h, ReplID2: zeros, SecondReplOffset: -1, Offset: off, LinkDownSeconds: -1,
			BacklogActive: true, BacklogFirstByte: 1, BacklogHistLen: off}}
}

// replica returns a replica member on history h at offset off with the
// given link: up means it heard its master this second; down means its link
// has been down for a minute, long past any guard.
func replica(name string, ordinal int, h string, off int64, link LinkStatus) Member {
	m := Member{Name: name, Ordinal: ordinal, Phase: PodRunning, Ready: true, Reachable: true,
		Repl: Replication{Role: RoleReplica, ReplID: h, ReplID2: zeros, SecondReplOffset: -1, Offset: off, LinkDownSeconds: -1,
			LastIOSeconds: -1, LinkStatus: link, BacklogActive: true, BacklogFirstByte: 1, BacklogHistLen: off}}
	switch link {
	case LinkUp:
		m.Repl.LastIOSeconds = 0
	case LinkDown:
		m.Repl.LinkDownSeconds = 60
	}
	return m
}

// quiet returns replica m reporting its link up but nothing heard from its
// master for secs seconds (master_last_io_seconds_ago).
func quiet(m Member, secs int64) Member {
	m.Repl.LinkStatus, m.Repl.LastIOSeconds, m.Repl.LinkDownSeconds = LinkUp, secs, -1
	return m
}

// gone returns m as an unreachable member whose pod is missing.
func gone(m Member) Member {
	m.Reachable, m.Phase, m.Ready = false, PodMissing, false
	m.Repl = Replication{}
	return m
}

// unreachable returns m with a running pod the operator cannot reach.
func unreachable(m Member) Member {
	m.Reachable, m.Ready = false, false
	m.Repl = Replication{}
	return m
}

// settings are the failover settings the tests use unless they say otherwise.
// With min-replicas-max-lag 2s and a 1s ping period a replica's no-contact
// vote needs 5s (GuardMargin 3s). Replicas 0: N is the members observed
// besides the master.
var settings = Settings{Enabled: true, MasterDownAfter: 30 * time.Second,
	PauseTimeout: 10 * time.Second, SwitchoverTimeout: 20 * time.Second,
	MinReplicasToWrite: 1, MinReplicasMaxLag: 2 * time.Second, ReplPingPeriod: time.Second, ReplTimeout: 10 * time.Second}

// observe builds an observation with currentMaster cm, the master last seen
// downFor ago, and the default settings.
func observe(cm string, downFor time.Duration, members ...Member) Observation {
	return Observation{Members: members, Status: Status{CurrentMaster: cm, TargetMaster: cm},
		Settings: settings, Now: t0.Add(time.Hour), MasterLastSeen: t0.Add(time.Hour - downFor)}
}

// actionLines renders actions one per line for transcript comparison.
func actionLines(acts []Action) string {
	lines := make([]string, 0, len(acts))
	for _, a := range acts {
		lines = append(lines, a.String())
	}
	return strings.Join(lines, "\n")
}

// wantActions fails the test when acts differ from want (one action per line).
func wantActions(t *testing.T, acts []Action, want ...string) {
	t.Helper()
	if got, w := actionLines(acts), strings.Join(want, "\n"); got != w {
		t.Fatalf("actions differ\n--- got\n%s\n--- want\n%s", got, w)
	}
}
