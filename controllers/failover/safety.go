package failover

import (
	"fmt"
	"time"
)

// ------ SETTINGS SAFETY ------

// SafetyWarnings lists the ways the group's settings weaken the failover
// safety argument (docs/failover.md): without min-replicas-to-write an old
// master cut off from its replicas keeps accepting writes that the failover
// discards; with masterDownAfter not longer than min-replicas-max-lag the new
// master can be promoted while the old one still accepts writes. An empty
// list means the settings are sound. replicas is the number of replicas the
// group runs.
func SafetyWarnings(s Settings, replicas, minReplicasToWrite int, minReplicasMaxLag time.Duration) []string {
	var out []string
	if !s.Enabled {
		return nil
	}
	if s.MasterDownAfter <= 0 {
		out = append(out, "masterDownAfter must be positive: a single missed answer would fail the master over")
	}
	if replicas == 0 {
		out = append(out, "automatic failover is enabled but the group has no replica to promote")
		return out
	}
	if minReplicasToWrite == 0 {
		out = append(out, "minReplicasToWrite is 0: a master cut off from its replicas keeps accepting writes that a failover will discard")
	} else {
		if minReplicasToWrite > replicas {
			out = append(out, fmt.Sprintf("minReplicasToWrite %d exceeds the %d replicas: the master will refuse every write",
				minReplicasToWrite, replicas))
		}
		if s.MasterDownAfter <= minReplicasMaxLag {
			out = append(out, fmt.Sprintf("masterDownAfter %s is not longer than minReplicasMaxLag %s: a new master may be promoted while the old one still accepts writes",
				s.MasterDownAfter, minReplicasMaxLag))
		}
	}
	if s.SwitchoverTimeout <= 0 {
		out = append(out, "switchover timeout must be positive: a switchover would abort before the target can catch up")
	}
	if s.PauseTimeout <= 0 {
		out = append(out, "pause timeout must be positive: fencing by CLIENT PAUSE would not hold")
	}
	return out
}
