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

// replica returns a healthy replica member on history h at offset off with the given link.
func replica(name string, ordinal int, h string, off int64, link LinkStatus) Member {
	return Member{Name: name, Ordinal: ordinal, Phase: PodRunning, Ready: true, Reachable: true,
		Repl: Replication{Role: RoleReplica, ReplID: h, ReplID2: zeros, SecondReplOffset: -1, Offset: off, LinkDownSeconds: -1,
			LinkStatus: link, BacklogActive: true, BacklogFirstByte: 1, BacklogHistLen: off}}
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
var settings = Settings{Enabled: true, MasterDownAfter: 30 * time.Second,
	PauseTimeout: 10 * time.Second, SwitchoverTimeout: 20 * time.Second}

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
