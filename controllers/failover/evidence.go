package failover

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// ------ WHAT THE REPLICAS PROVE ------
//
// Two questions decide whether a replica may replace the master, and both
// are answered by counting replicas against N, the replicas the group is
// meant to run, never against the ones that happen to answer:
//
//   - Is the old master unable to accept writes (R3)? With
//     min-replicas-to-write w and min-replicas-max-lag L it accepts a write
//     only while w replicas acknowledged within L. If N-w+1 replicas have
//     heard nothing from it for at least L plus a margin, at most w-1 can
//     still be acknowledging: its own guard has expired.
//   - Do we know who holds every write that could have been acknowledged
//     (R2)? A WAIT w write is on at least w replicas, so any N-w+1 of them
//     include one that holds it: with fresh positions from N-w+1 replicas,
//     the most advanced of them holds every acknowledged write.

// Report is one replica's fresh answer about the master's history.
type Report struct {
	// Name of the replica.
	Name string
	// Position is how many bytes of the reference history it holds: 0 when
	// it holds no data at all, -1 when it holds data on a history whose
	// relation to the reference is not known (it may hold more of the
	// master's writes than can be shown, so it proves nothing).
	Position int64
	// NoContact is how long, by its own clock, it has heard nothing from the
	// master it follows; Voted is true when that is long enough to count
	// towards the master's guard having expired.
	NoContact time.Duration
	Voted     bool
}

// Evidence is what the replicas the operator reached prove about the
// current master (see the section comment).
type Evidence struct {
	// Replicas is N; MinReplicasToWrite is w.
	Replicas, MinReplicasToWrite int
	// Reports are the fresh answers: replicas reachable this pass, reporting
	// role slave and not loading a full sync, by ordinal.
	Reports []Report
	// Known counts the reports with a known position (Position >= 0);
	// Unplaced names the others: they hold data whose place in the
	// master's history cannot be shown, so they may hold more of it.
	Known    int
	Unplaced []string
	// NeedPositions is how many known positions a promotion needs:
	// N-max(w,1)+1, and at least a strict majority of N.
	NeedPositions int
	// NeedVotes is how many no-contact votes prove the guard expired:
	// N-w+1; 0 when w is 0 (the master has no guard to expire).
	NeedVotes int
	// Votes counts the reports that voted.
	Votes int
	// Threshold is the no-contact time a vote needs: L + GuardMargin(settings);
	// PreciseThreshold, L + PreciseGuardMargin, when the replica reports
	// milliseconds and the master declared the millisecond guard.
	Threshold, PreciseThreshold time.Duration
	// VotedDownFor is the shortest no-contact among the NeedVotes longest
	// votes: how long the guard has provably been expired; 0 when it has not.
	VotedDownFor time.Duration
	// VotesDueIn is how much longer the replicas must hear nothing before
	// NeedVotes of them vote, counted from Now (their reports, read
	// Observation.ReportsAge earlier, less that age; at least 1ns): 0 when
	// the guard has expired, or when fewer than NeedVotes report a
	// no-contact (no vote can be foreseen). Only when to look again
	// depends on it.
	VotesDueIn time.Duration
	// Quieting is true when NeedVotes replicas have heard nothing from the
	// master for longer than a running master stays silent (a
	// repl-ping-replica-period plus CronSlack): it is frozen, stopped or
	// cut off from them, even while it still answers the operator, so
	// their votes may mature any moment. Only when to look again depends
	// on it.
	Quieting bool
	// MostAdvanced is the largest position reported (-1 when none).
	MostAdvanced int64
}

// GuardMargin is what the no-contact a replica reports must exceed
// min-replicas-max-lag by before its vote counts, when either side counts
// in whole seconds (redis-server, or a replnode without the millisecond
// guard): one second because INFO reports whole seconds (a replica saying 3
// may have been cut off for just over 2), one second because such a master
// counts an acknowledgement as good while its lag in whole seconds is at
// most L (so up to L+1 real seconds), and one repl-ping-replica-period
// because an idle master is heard only that often, so the cut may have come
// that long after the last thing a replica read.
func GuardMargin(s Settings) time.Duration {
	return 2*time.Second + s.pingPeriod()
}

// PreciseGuardMargin is the margin when the replica reports its no-contact
// in milliseconds (master_no_contact_ms) and the master declared the
// millisecond guard (min_replicas_guard_ms): that master counts a replica
// as good only while it caught up within L by a monotonic clock, and its
// offset goes past what a replica that stopped reading at t acknowledged
// by t + repl-ping-replica-period (its next PING) plus its cron's lateness
// (CronSlack) — whichever way the cut goes. docs/failover.md has the
// arithmetic.
func PreciseGuardMargin(s Settings) time.Duration {
	return s.pingPeriod() + CronSlack
}

// CronSlack bounds how late a master's PING may be after its period: its
// cron runs every 100ms (hz 10), plus scheduling delay on a loaded host.
// A master stalled longer than that is the documented frozen-master
// limitation.
const CronSlack = 500 * time.Millisecond

// pingPeriod is repl-ping-replica-period, Redis's 10s when unset.
func (s Settings) pingPeriod() time.Duration {
	if s.ReplPingPeriod <= 0 {
		return 10 * time.Second
	}
	return s.ReplPingPeriod
}

// replicaCount is N: Settings.Replicas, but never fewer than the non-master
// members observed (a scale-down in progress still has their data).
func replicaCount(obs Observation, master string) int {
	n := 0
	for _, m := range obs.Members {
		if m.Name != master {
			n++
		}
	}
	return max(n, obs.Settings.Replicas)
}

// GatherEvidence collects the replicas' fresh reports about master (the
// current master's name; it may be gone) measured against the reference
// history ref. A replica loading a full sync neither votes nor reports a
// position: its offset is the one it is about to discard; nor does one
// still loading its files at startup: its offset is not yet the one they
// hold. A replica that
// follows another host than the master's does not vote.
func GatherEvidence(obs Observation, master string, ref Reference) Evidence {
	m := obs.member(master)
	s := guardSettings(obs.Settings, m)
	ev := Evidence{Replicas: replicaCount(obs, master), MinReplicasToWrite: min(s.MinReplicasToWrite, replicaCount(obs, master)),
		Threshold: s.MinReplicasMaxLag + GuardMargin(s), PreciseThreshold: s.MinReplicasMaxLag + PreciseGuardMargin(s), MostAdvanced: -1}
	n, w := ev.Replicas, max(ev.MinReplicasToWrite, 0)
	ev.NeedPositions = max(n-max(w, 1)+1, n/2+1)
	if w > 0 {
		ev.NeedVotes = n - w + 1
	}
	var voted, due []time.Duration
	quieting := 0
	for _, r := range sortedMembers(obs.Members) {
		if r.Name == master || !r.Reachable || r.Repl.Role != RoleReplica || r.Repl.SyncInProgress || r.Repl.Loading {
			continue
		}
		rep := Report{Name: r.Name, Position: -1}
		if pos, ok := ref.Position(r.Repl); ok {
			rep.Position = pos
		} else if r.Repl.Offset == 0 && r.Repl.Empty {
			// No data: provably holds nothing. Offset 0 alone proves
			// nothing: a node restarted from files without a replication
			// ID holds its data on a fresh history at 0.
			rep.Position = 0
		}
		if rep.Position >= 0 {
			ev.Known++
		} else {
			ev.Unplaced = append(ev.Unplaced, r.Name)
		}
		followsMaster := m == nil || m.Host == "" || r.Repl.MasterHost == "" || r.Repl.MasterHost == m.Host
		if quiet, precise, ok := r.Repl.noContact(); ok && followsMaster {
			rep.NoContact = quiet
			threshold := ev.Threshold
			if precise && m != nil && m.Guard.Ms {
				threshold = ev.PreciseThreshold
			}
			rep.Voted = ev.NeedVotes > 0 && quiet >= threshold
			due = append(due, max(0, threshold-quiet))
			if quiet > PreciseGuardMargin(s) {
				quieting++
			}
		}
		if rep.Voted {
			ev.Votes++
			voted = append(voted, rep.NoContact)
		}
		ev.MostAdvanced = max(ev.MostAdvanced, rep.Position)
		ev.Reports = append(ev.Reports, rep)
	}
	if ev.GuardExpired() {
		sort.Slice(voted, func(i, j int) bool { return voted[i] > voted[j] })
		ev.VotedDownFor = voted[ev.NeedVotes-1]
	} else if ev.NeedVotes > 0 && len(due) >= ev.NeedVotes {
		slices.Sort(due)
		ev.VotesDueIn = max(time.Nanosecond, due[ev.NeedVotes-1]-obs.ReportsAge)
		ev.Quieting = quieting >= ev.NeedVotes
	}
	return ev
}

// guardSettings returns the settings the vote arithmetic uses for master
// m: the spec's w and L, unless the master last reported running with a
// smaller w or a longer L (a node not yet rolled to a changed spec, review
// finding 5). The smaller w needs more votes and more positions, the longer
// L a longer silence: both only make the operator wait longer.
func guardSettings(s Settings, m *Member) Settings {
	if m == nil || !m.Guard.Reported {
		return s
	}
	s.MinReplicasToWrite = min(s.MinReplicasToWrite, m.Guard.ToWrite)
	s.MinReplicasMaxLag = max(s.MinReplicasMaxLag, m.Guard.MaxLag)
	return s
}

// noContact is how long a replica has heard nothing from its master by its
// own clock: master_last_io_seconds_ago while the link is up,
// master_link_down_since_seconds once it is down (it then stopped
// acknowledging, so counting from the drop only underestimates). Unknown
// (false) when the replica does not say.
//
// A replnode replica reports it in milliseconds (master_no_contact_ms),
// including a link that never came up (Redis: -1, no vote); precise is
// then true.
func (r Replication) noContact() (quiet time.Duration, precise, ok bool) {
	if r.NoContactMs > 0 {
		return time.Duration(r.NoContactMs) * time.Millisecond, true, true
	}
	secs := int64(-1)
	switch r.LinkStatus {
	case LinkUp:
		secs = r.LastIOSeconds
	case LinkDown:
		secs = r.LinkDownSeconds
	}
	if secs < 0 {
		return 0, false, false
	}
	return time.Duration(secs) * time.Second, false, true
}

// GuardExpired reports whether N-w+1 replicas prove the old master cannot
// have w good replicas, so it refuses every write.
func (e Evidence) GuardExpired() bool { return e.NeedVotes > 0 && e.Votes >= e.NeedVotes }

// PositionsKnown reports whether enough replicas gave fresh, known
// positions for the most advanced of them to hold every acknowledged write.
func (e Evidence) PositionsKnown() bool { return e.Known >= e.NeedPositions }

// VoteSummary renders the guard count for messages.
func (e Evidence) VoteSummary() string {
	if e.NeedVotes == 0 {
		return "min-replicas-to-write is 0, so the master has no write guard that could expire"
	}
	return fmt.Sprintf("%d of the %d replicas report no contact with it for at least %s (%d needed with min-replicas-to-write %d)",
		e.Votes, e.Replicas, e.Threshold, e.NeedVotes, e.MinReplicasToWrite)
}

// PositionSummary renders the position count for messages.
func (e Evidence) PositionSummary() string {
	return fmt.Sprintf("fresh positions on the master's history from %d of the %d replicas (%d needed with min-replicas-to-write %d)",
		e.Known, e.Replicas, e.NeedPositions, e.MinReplicasToWrite)
}
