package failover

import (
	"strings"
	"testing"
	"time"
)

// TestSafetyWarnings checks each unsafe setting is reported and sound ones are not.
func TestSafetyWarnings(t *testing.T) {
	disabled := settings
	disabled.Enabled = false
	zeroDown := settings
	zeroDown.MasterDownAfter = 0
	noPause := settings
	noPause.PauseTimeout = 0
	cases := []struct {
		name     string
		s        Settings
		replicas int
		minRepl  int
		lag      time.Duration
		want     []string
	}{
		{"sound", settings, 2, 1, 10 * time.Second, nil},
		{"disabled is not checked", disabled, 0, 0, 0, nil},
		{"no replicas", settings, 0, 0, 0, []string{"no replica to promote"}},
		{"no min-replicas", settings, 2, 0, 10 * time.Second, []string{"minReplicasToWrite is 0"}},
		{"lag too long", settings, 2, 1, 30 * time.Second, []string{"not longer than minReplicasMaxLag 30s"}},
		{"min-replicas above replicas", settings, 1, 2, time.Second, []string{"exceeds the 1 replicas"}},
		{"zero masterDownAfter", zeroDown, 2, 1, 0, []string{"masterDownAfter must be positive", "not longer than minReplicasMaxLag"}},
		{"zero pause", noPause, 2, 1, time.Second, []string{"pause timeout must be positive"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SafetyWarnings(c.s, c.replicas, c.minRepl, c.lag)
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
