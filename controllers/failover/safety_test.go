package failover

import (
	"strings"
	"testing"
	"time"
)

// TestSafetyWarnings checks each unsafe setting is reported, naming it, and
// sound ones are not (issue point 5: repl-ping-replica-period and
// repl-timeout are checked against the guard margin).
func TestSafetyWarnings(t *testing.T) {
	sound := settings
	sound.Replicas = 2
	with := func(change func(*Settings)) Settings {
		s := sound
		change(&s)
		return s
	}
	cases := []struct {
		name string
		s    Settings
		want []string
	}{
		{"sound", sound, nil},
		{"disabled is not checked", with(func(s *Settings) { s.Enabled, s.Replicas, s.MinReplicasToWrite = false, 0, 0 }), nil},
		{"no replicas", with(func(s *Settings) { s.Replicas, s.MinReplicasToWrite = 0, 0 }), []string{"no replica to promote"}},
		{"no min-replicas", with(func(s *Settings) { s.MinReplicasToWrite = 0 }), []string{"minReplicasToWrite is 0"}},
		{"min-replicas above replicas", with(func(s *Settings) { s.Replicas = 1; s.MinReplicasToWrite = 2 }), []string{"exceeds the 1 replicas"}},
		{"zero masterDownAfter", with(func(s *Settings) { s.MasterDownAfter = 0 }), []string{"masterDownAfter must be positive"}},
		{"zero pause", with(func(s *Settings) { s.PauseTimeout = 0 }), []string{"pause timeout must be positive"}},
		{"slow pings", with(func(s *Settings) { s.ReplPingPeriod = 5 * time.Second }), []string{"repl-ping-replica-period 5s is longer than 1s"}},
		{"redis default pings", with(func(s *Settings) { s.ReplPingPeriod, s.ReplTimeout = 0, 0 }), []string{"repl-ping-replica-period 10s"}},
		{"timeout within a ping", with(func(s *Settings) { s.ReplTimeout = time.Second }), []string{"repl-timeout 1s is not longer than repl-ping-replica-period 1s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SafetyWarnings(c.s)
			if len(got) != len(c.want) {
				t.Fatalf("warnings %q, want %d matching %q", got, len(c.want), c.want)
			}
			for i := range got {
				if !strings.Contains(got[i], c.want[i]) {
					t.Fatalf("warning %d %q does not contain %q", i, got[i], c.want[i])
				}
			}
		})
	}
}
