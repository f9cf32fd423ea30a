package failover

import (
	"fmt"
	"time"
)

// ------ SETTINGS SAFETY ------

// designPingPeriod is the repl-ping-replica-period GuardMargin is sized for
// (the operator's default): a longer one makes the margin, and so every
// failover after a partition, longer.
const designPingPeriod = time.Second

// SafetyWarnings lists the ways the group's settings weaken the failover
// guarantees (docs/failover.md): without min-replicas-to-write an old master
// cut off from its replicas keeps accepting writes, so it can only be
// replaced once its process is confirmed gone; a repl-ping-replica-period
// longer than GuardMargin is sized for stretches the time it takes to prove
// a cut-off master's guard expired; a repl-timeout not longer than the ping
// period makes replicas drop links to a healthy idle master. An empty list
// means the settings are sound.
func SafetyWarnings(s Settings) []string {
	var out []string
	if !s.Enabled {
		return nil
	}
	if s.MasterDownAfter <= 0 {
		out = append(out, "masterDownAfter must be positive: a single missed answer would fail the master over")
	}
	if s.Replicas == 0 {
		out = append(out, "automatic failover is enabled but the group has no replica to promote")
		return out
	}
	switch {
	case s.MinReplicasToWrite == 0:
		out = append(out, "minReplicasToWrite is 0: a master cut off from its replicas keeps accepting writes, so it is replaced only once its pod or process is confirmed gone, and writes acknowledged by WAIT are protected only if every replica can be asked")
	case s.MinReplicasToWrite > s.Replicas:
		out = append(out, fmt.Sprintf("minReplicasToWrite %d exceeds the %d replicas: the master will refuse every write",
			s.MinReplicasToWrite, s.Replicas))
	}
	if p := s.pingPeriod(); p > designPingPeriod {
		out = append(out, fmt.Sprintf("repl-ping-replica-period %s is longer than %s: replicas hear an idle master only that often, so proving a cut-off master's write guard expired takes minReplicasMaxLag + %s (GuardMargin) and failover after a partition is that much slower",
			p, designPingPeriod, GuardMargin(s)))
	}
	if s.ReplTimeout > 0 && s.ReplTimeout <= s.pingPeriod() {
		out = append(out, fmt.Sprintf("repl-timeout %s is not longer than repl-ping-replica-period %s: replicas drop their link to a healthy idle master",
			s.ReplTimeout, s.pingPeriod()))
	}
	if s.SwitchoverTimeout <= 0 {
		out = append(out, "switchover timeout must be positive: a switchover would abort before the target can catch up")
	}
	if s.PauseTimeout <= 0 {
		out = append(out, "pause timeout must be positive: fencing by CLIENT PAUSE would not hold")
	}
	return out
}
