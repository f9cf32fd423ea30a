package failover

import (
	"strings"
	"testing"
	"time"
)

// TestDetect checks every detection verdict and its reason.
func TestDetect(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	up1, up2 := replica("g-1", 1, histA, 990, LinkUp), replica("g-2", 2, histA, 980, LinkUp)
	down1, down2 := replica("g-1", 1, histA, 990, LinkDown), replica("g-2", 2, histA, 980, LinkDown)
	notRunning := unreachable(m0)
	notRunning.Phase = PodFailed
	deleting := unreachable(m0)
	deleting.Deleted = true
	demoted := m0
	demoted.Repl.Role, demoted.Repl.LinkStatus = RoleReplica, LinkDown
	unknownPhase := unreachable(m0)
	unknownPhase.Phase = PodUnknown
	exited := unreachable(m0)
	exited.ProcessDown = true

	cases := []struct {
		name       string
		obs        Observation
		wantHealth Health
		wantReason string
		wantIn     string
	}{
		{"healthy master", observe("g-0", 0, m0, up1, up2), HealthHealthy, "MasterHealthy", "offset 1000"},
		{"no master in status", observe("", 0, m0, up1), HealthNoMaster, "NoCurrentMaster", ""},
		{"unreachable briefly", observe("g-0", 10*time.Second, unreachable(m0), down1, down2), HealthSuspect, "MasterNotAnswering", "10s"},
		{"pod gone fails at once", observe("g-0", time.Second, gone(m0), up1, up2), HealthFailed, "MasterPodGone", ""},
		{"pod being deleted fails at once", observe("g-0", time.Second, deleting, up1, up2), HealthFailed, "MasterPodDeleted", ""},
		{"process exited fails at once", observe("g-0", 0, exited, up1, up2), HealthFailed, "MasterProcessExited", "exited"},
		{"restarted as a replica fails at once", observe("g-0", 0, demoted, down1, down2), HealthFailed, "MasterRestarted", "replica"},
		{"unknown pod waits for masterDownAfter", observe("g-0", 10*time.Second, unknownPhase, down1, down2), HealthSuspect, "MasterNotAnswering", ""},
		{"unreachable long, replicas agree", observe("g-0", 31*time.Second, unreachable(m0), down1, down2), HealthFailed, "ReplicasLostMaster", "2 of the 2 replicas"},
		{"exactly at masterDownAfter counts", observe("g-0", 30*time.Second, unreachable(m0), down1, down2), HealthFailed, "ReplicasLostMaster", ""},
		{"operator partitioned: replicas linked up", observe("g-0", time.Minute, unreachable(m0), up1, up2), HealthIsolated, "OperatorPartitioned", "0 of the 2 replicas"},
		{"half the replicas is not enough", observe("g-0", time.Minute, unreachable(m0), down1, up2), HealthIsolated, "OperatorPartitioned", "1 of the 2 replicas"},
		{"two of three is not N-w+1 with min-replicas-to-write 1", observe("g-0", time.Minute, unreachable(m0), down1, down2, replica("g-3", 3, histA, 1, LinkUp)), HealthIsolated, "OperatorPartitioned", "2 of the 3 replicas"},
		// Issue point 2: the count is over the group's replicas, not the reachable ones.
		{"an unreachable replica still counts in N", observe("g-0", time.Minute, unreachable(m0), down1, unreachable(up2)), HealthIsolated, "OperatorPartitioned", "1 of the 2 replicas"},
		{"no replica reachable, pod running", observe("g-0", time.Minute, unreachable(m0), unreachable(up1)), HealthIsolated, "NoReplicaAgreement", ""},
		{"pod gone needs no replica vote", observe("g-0", time.Minute, gone(m0), up1, up2), HealthFailed, "MasterPodGone", ""},
		{"master missing from the member list", observe("g-0", time.Minute, up1, up2), HealthFailed, "MasterPodGone", ""},
		{"pod failed", observe("g-0", time.Minute, notRunning, up1), HealthFailed, "MasterPodNotRunning", "Failed"},
		{"pod being deleted", observe("g-0", time.Minute, deleting, up1), HealthFailed, "MasterPodDeleted", ""},
		{"master reports replica", observe("g-0", time.Minute, demoted, up1), HealthFailed, "MasterRestarted", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Detect(c.obs)
			if d.Health != c.wantHealth || d.Reason != c.wantReason {
				t.Fatalf("Detect = %s/%s (%s), want %s/%s", d.Health, d.Reason, d.Message, c.wantHealth, c.wantReason)
			}
			if !strings.Contains(d.Message, c.wantIn) {
				t.Fatalf("message %q does not mention %q", d.Message, c.wantIn)
			}
		})
	}
}

// TestDetectOnlyCountsReplicasOfTheMaster checks replicas following another host do not vote.
func TestDetectOnlyCountsReplicasOfTheMaster(t *testing.T) {
	m0 := unreachable(master("g-0", 0, histA, 1000))
	m0.Host = "10.0.0.10"
	follows := func(m Member, host string) Member { m.Repl.MasterHost = host; return m }
	obs := observe("g-0", time.Minute, m0,
		follows(replica("g-1", 1, histA, 990, LinkUp), "10.0.0.10"),
		follows(replica("g-2", 2, histA, 990, LinkDown), "10.0.0.99"), // follows a stale address
		follows(replica("g-3", 3, histA, 990, LinkDown), "10.0.0.98"))
	obs.Settings.MinReplicasToWrite = 2
	if d := Detect(obs); d.Health != HealthIsolated || d.ReplicasLinkDown != 0 {
		t.Fatalf("only g-1 follows the master and it is linked up: %+v", d)
	}
	// Without a known master_host every replica votes: 2 of 3 with w=2.
	obs.Members[2].Repl.MasterHost, obs.Members[3].Repl.MasterHost = "", ""
	if d := Detect(obs); d.Health != HealthFailed || d.ReachableReplicas != 3 || d.ReplicasLinkDown != 2 {
		t.Fatalf("%+v", d)
	}
}

// TestDetectNeverSeenUsesTheReplicasClocks checks that without
// MasterLastSeen the replicas' own no-contact durations stand in for the
// operator's clock, and only once N-w+1 of them voted.
func TestDetectNeverSeenUsesTheReplicasClocks(t *testing.T) {
	downFor := func(m Member, s int64) Member { m.Repl.LinkDownSeconds = s; return m }
	m0 := unreachable(master("g-0", 0, histA, 1000))
	cases := []struct {
		name       string
		replicas   []Member
		wantHealth Health
	}{
		{"every replica down long enough", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), 45), downFor(replica("g-2", 2, histA, 1, LinkDown), 31)}, HealthFailed},
		{"down, not for masterDownAfter", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), 45), downFor(replica("g-2", 2, histA, 1, LinkDown), 10)}, HealthSuspect},
		{"durations unknown", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), -1), downFor(replica("g-2", 2, histA, 1, LinkDown), -1)}, HealthSuspect},
		{"one of two", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), 99), downFor(replica("g-2", 2, histA, 1, LinkUp), -1)}, HealthSuspect},
		{"no replica", nil, HealthSuspect},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", 0, append([]Member{m0}, c.replicas...)...)
			obs.MasterLastSeen = time.Time{}
			d := Detect(obs)
			if d.Health != c.wantHealth || (d.Health == HealthSuspect && d.RequeueAfter != pollWhileSuspect) {
				t.Fatalf("Detect = %s requeue %s (%s), want %s", d.Health, d.RequeueAfter, d.Message, c.wantHealth)
			}
		})
	}
}

// TestDetectGuardAndContainment checks when a failed master is proven unable
// to write (R3), from the replicas' no-contact reports against
// L + GuardMargin (5s here):
//
//   - issue point 4: a master the operator reaches but no replica hears is
//     failed (it answers -NOREPLICAS forever) and contained by its pause;
//   - issue point 5: master_last_io_seconds_ago votes before repl-timeout
//     drops the link, but 4s is not enough;
//   - issue point 2: the partition {operator, g-1} | {g-0, g-2}: g-1 alone
//     must not fail the master;
//   - a replica loading a full sync does not vote;
//   - R3: a pod DELETE is not containment until the guard expired.
func TestDetectGuardAndContainment(t *testing.T) {
	m0 := master("g-0", 0, histA, 1000)
	syncing := replica("g-2", 2, histA, 0, LinkDown)
	syncing.Repl.SyncInProgress = true
	deleting := unreachable(m0)
	deleting.Deleted = true
	cases := []struct {
		name          string
		obs           Observation
		wantHealth    Health
		wantReason    string
		wantContained bool
	}{
		{"answers, replicas hear nothing for 5s: cut off", observe("g-0", 0, m0, quiet(replica("g-1", 1, histA, 990, LinkUp), 5), quiet(replica("g-2", 2, histA, 990, LinkUp), 6)),
			HealthFailed, "MasterCutOffFromReplicas", true},
		{"answers, replicas quiet for only 4s: healthy", observe("g-0", 0, m0, quiet(replica("g-1", 1, histA, 990, LinkUp), 4), quiet(replica("g-2", 2, histA, 990, LinkUp), 9)),
			HealthHealthy, "MasterHealthy", false},
		{"answers, one replica of two cut off: healthy (it still has w=1)", observe("g-0", 0, m0, quiet(replica("g-1", 1, histA, 990, LinkUp), 60), replica("g-2", 2, histA, 990, LinkUp)),
			HealthHealthy, "MasterHealthy", false},
		{"unreachable, link-up replicas quiet long enough: failed before repl-timeout", observe("g-0", time.Minute, unreachable(m0), quiet(replica("g-1", 1, histA, 990, LinkUp), 7), quiet(replica("g-2", 2, histA, 990, LinkUp), 7)),
			HealthFailed, "ReplicasLostMaster", true},
		{"partition {operator, g-1} | {g-0, g-2}", observe("g-0", time.Minute, unreachable(m0), replica("g-1", 1, histA, 900, LinkDown), unreachable(replica("g-2", 2, histA, 1000, LinkUp))),
			HealthIsolated, "OperatorPartitioned", false},
		{"a replica loading a full sync does not vote", observe("g-0", time.Minute, unreachable(m0), replica("g-1", 1, histA, 900, LinkDown), syncing),
			HealthIsolated, "OperatorPartitioned", false},
		{"pod deleted, replicas still hear it: not contained", observe("g-0", time.Minute, deleting, replica("g-1", 1, histA, 900, LinkUp)),
			HealthFailed, "MasterPodDeleted", false},
		{"pod deleted, guard expired: contained", observe("g-0", time.Minute, deleting, replica("g-1", 1, histA, 900, LinkDown)),
			HealthFailed, "MasterPodDeleted", true},
		{"pod unknown, guard expired: contained", observe("g-0", time.Minute, func() Member { m := unreachable(m0); m.Phase = PodUnknown; return m }(), replica("g-1", 1, histA, 900, LinkDown)),
			HealthFailed, "MasterPodNotRunning", true},
		{"min-replicas-to-write 0: no guard to expire", func() Observation {
			o := observe("g-0", time.Minute, unreachable(m0), replica("g-1", 1, histA, 900, LinkDown))
			o.Settings.MinReplicasToWrite = 0
			return o
		}(), HealthIsolated, "OperatorPartitioned", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Detect(c.obs)
			if d.Health != c.wantHealth || d.Reason != c.wantReason || d.Contained != c.wantContained {
				t.Fatalf("Detect = %s/%s contained=%v (%s), want %s/%s contained=%v",
					d.Health, d.Reason, d.Contained, d.Message, c.wantHealth, c.wantReason, c.wantContained)
			}
		})
	}
}

// TestDetectRequeueAndFirstSighting checks the requeue delay and the never-seen master.
func TestDetectRequeueAndFirstSighting(t *testing.T) {
	obs := observe("g-0", 12*time.Second, unreachable(master("g-0", 0, histA, 1)))
	if d := Detect(obs); d.RequeueAfter != pollWhileSuspect {
		t.Fatalf("RequeueAfter = %s, want %s (18s of masterDownAfter are left, but a suspect master is polled)", d.RequeueAfter, pollWhileSuspect)
	}
	obs = observe("g-0", 29900*time.Millisecond, unreachable(master("g-0", 0, histA, 1)))
	if d := Detect(obs); d.RequeueAfter != 100*time.Millisecond {
		t.Fatalf("RequeueAfter = %s, want the 100ms left of masterDownAfter", d.RequeueAfter)
	}
	obs.MasterLastSeen = time.Time{}
	d := Detect(obs)
	if d.Health != HealthSuspect || d.Reason != "MasterNotYetSeen" || d.RequeueAfter != pollWhileSuspect {
		t.Fatalf("never-seen master: %+v", d)
	}
}

// TestDetectMillisecondVotes is issue 12's "Done when" (b) and review
// finding 9. A replnode replica reports master_no_contact_ms; when the
// master declared the millisecond guard (it counts replicas caught up
// within L by a monotonic clock), a vote needs L + ping period + CronSlack
// = 3.5s instead of L + GuardMargin = 5s of whole seconds. A master that
// did not declare it (an older image mid-upgrade, redis-server) keeps the
// whole-second threshold. A replica whose link never came up — Redis shows
// master_link_down_since_seconds:-1 — votes with the time since it was
// pointed at the master: it cannot have acknowledged anything since.
func TestDetectMillisecondVotes(t *testing.T) {
	precise := func(m Member, ms int64) Member {
		m.Repl.NoContactMs = ms
		return m
	}
	neverUp := func(m Member, ms int64) Member {
		m.Repl.LinkStatus, m.Repl.LinkDownSeconds, m.Repl.LastIOSeconds = LinkDown, -1, -1
		return precise(m, ms)
	}
	guarded := unreachable(master("g-0", 0, histA, 1000))
	guarded.Guard = NodeGuard{Reported: true, Ms: true, ToWrite: 1, MaxLag: 2 * time.Second}
	cases := []struct {
		name       string
		master     Member
		replicas   []Member
		wantHealth Health
	}{
		{"3.6s of silence in ms, master guards in ms: failed",
			guarded, []Member{precise(replica("g-1", 1, histA, 990, LinkUp), 3600), precise(replica("g-2", 2, histA, 980, LinkUp), 3700)}, HealthFailed},
		{"3.4s is not enough",
			guarded, []Member{precise(replica("g-1", 1, histA, 990, LinkUp), 3400), precise(replica("g-2", 2, histA, 980, LinkUp), 3700)}, HealthIsolated},
		{"the master never declared the ms guard: whole-second threshold",
			unreachable(master("g-0", 0, histA, 1000)), []Member{precise(replica("g-1", 1, histA, 990, LinkUp), 4900), precise(replica("g-2", 2, histA, 980, LinkUp), 4900)}, HealthIsolated},
		{"a link that never came up votes",
			guarded, []Member{neverUp(replica("g-1", 1, histA, 990, LinkDown), 4000), precise(replica("g-2", 2, histA, 980, LinkUp), 3700)}, HealthFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", time.Minute, append([]Member{c.master}, c.replicas...)...)
			obs.Status.LastMasterReplID = histA
			if d := Detect(obs); d.Health != c.wantHealth {
				t.Fatalf("health %s (%s): %s", d.Health, d.Reason, d.Message)
			}
		})
	}
}

// TestDetectUsesTheGuardTheMasterRuns is review finding 5: the spec's w and
// L may be ahead of what the master runs until it is rolled. A master that
// runs a longer max lag than the spec says is voted down only after its own
// lag; one that runs a smaller w needs more votes (N-w+1).
func TestDetectUsesTheGuardTheMasterRuns(t *testing.T) {
	quietMs := func(m Member, ms int64) Member {
		m.Repl.NoContactMs = ms
		return m
	}
	runs := func(w int, lag time.Duration) Member {
		m := unreachable(master("g-0", 0, histA, 1000))
		m.Guard = NodeGuard{Reported: true, Ms: true, ToWrite: w, MaxLag: lag}
		return m
	}
	cases := []struct {
		name     string
		master   Member
		replicas []Member
		want     Health
	}{
		{"runs the spec's values: 3.6s of silence fails it",
			runs(1, 2*time.Second), []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3600), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3600)}, HealthFailed},
		{"still runs max lag 5s: 3.6s is not enough",
			runs(1, 5*time.Second), []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3600), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3600)}, HealthIsolated},
		{"still runs max lag 5s: 6.6s is",
			runs(1, 5*time.Second), []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 6600), quietMs(replica("g-2", 2, histA, 980, LinkUp), 6600)}, HealthFailed},
		{"spec says w=2 but it runs w=1: one vote is not enough",
			runs(1, 2*time.Second), []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3600), replica("g-2", 2, histA, 980, LinkUp)}, HealthIsolated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", time.Minute, append([]Member{c.master}, c.replicas...)...)
			obs.Status.LastMasterReplID = histA
			obs.Settings.MinReplicasToWrite = 2
			if c.name != "spec says w=2 but it runs w=1: one vote is not enough" {
				obs.Settings.MinReplicasToWrite = 1
			}
			if d := Detect(obs); d.Health != c.want {
				t.Fatalf("health %s (%s): %s", d.Health, d.Reason, d.Message)
			}
		})
	}
}

// TestDetectLooksAgainWhenVotesMature: a master the operator cannot reach
// and whose replicas have not heard it for almost the vote threshold is
// looked at again when their votes are due, not up to a whole poll period
// later (issue 12, a frozen master's RTO); it is never looked at later than
// pollWhileSuspect, and nothing is failed before the votes are there.
func TestDetectLooksAgainWhenVotesMature(t *testing.T) {
	quietMs := func(m Member, ms int64) Member {
		m.Repl.NoContactMs = ms
		return m
	}
	guarded := unreachable(master("g-0", 0, histA, 1000))
	guarded.Guard = NodeGuard{Reported: true, Ms: true, ToWrite: 1, MaxLag: 2 * time.Second}
	cases := []struct {
		name     string
		master   Member
		replicas []Member
		want     time.Duration
	}{
		// The threshold is L + ping period + CronSlack = 3.5s; N-w+1 = 2 votes.
		{"both 100ms from the threshold",
			guarded, []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3400), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3450)}, 100 * time.Millisecond},
		{"the second vote decides: the later one counts",
			guarded, []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3490), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3380)}, 120 * time.Millisecond},
		{"a millisecond away: not a busy loop",
			guarded, []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3499), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3499)}, MinSuspectPoll},
		{"far from the threshold: the usual poll",
			guarded, []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 1000), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3400)}, pollWhileSuspect},
		{"one replica does not say: no vote can be foreseen",
			guarded, []Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3400), unreachable(replica("g-2", 2, histA, 980, LinkUp))}, pollWhileSuspect},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", time.Minute, append([]Member{c.master}, c.replicas...)...)
			obs.Status.LastMasterReplID = histA
			d := Detect(obs)
			if d.Health != HealthIsolated {
				t.Fatalf("health %s (%s), want Isolated: no vote is there yet: %s", d.Health, d.Reason, d.Message)
			}
			if d.RequeueAfter != c.want {
				t.Fatalf("RequeueAfter = %s, want %s", d.RequeueAfter, c.want)
			}
			// Decide waits with the same delay.
			if dec := Decide(obs, SwitchoverState{}); dec.RequeueAfter != c.want || len(dec.Actions) != 0 {
				t.Fatalf("Decide: %s after %s with %d actions, want a wait of %s", dec.Reason, dec.RequeueAfter, len(dec.Actions), c.want)
			}
		})
	}
}

// TestDetectWatchesAMasterItsReplicasStoppedHearing: a master that still
// answers the operator but that N-w+1 replicas have not heard for longer
// than a running master stays silent (cut off from them) is looked at
// again as their votes mature, not at the next resync (issue 12, a cut-off
// master's RTO); a master its replicas hear, or only one of them does not,
// keeps the normal period; and looking sooner fails nothing.
func TestDetectWatchesAMasterItsReplicasStoppedHearing(t *testing.T) {
	quietMs := func(m Member, ms int64) Member {
		m.Repl.NoContactMs = ms
		return m
	}
	answering := master("g-0", 0, histA, 1000)
	answering.Guard = NodeGuard{Reported: true, Ms: true, ToWrite: 1, MaxLag: 2 * time.Second}
	cases := []struct {
		name     string
		replicas []Member
		want     time.Duration
	}{
		// PreciseGuardMargin is 1.5s (ping period 1s + CronSlack); the
		// vote threshold 3.5s.
		{"both quiet 3.4s: look as the votes mature",
			[]Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3400), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3450)}, 100 * time.Millisecond},
		{"both quiet 2s: the suspect poll",
			[]Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 2000), quietMs(replica("g-2", 2, histA, 980, LinkUp), 2000)}, pollWhileSuspect},
		{"an idle master between pings: the normal period",
			[]Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 1000), quietMs(replica("g-2", 2, histA, 980, LinkUp), 1400)}, 0},
		{"only one replica lost it: its votes cannot mature, the normal period",
			[]Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3400), quietMs(replica("g-2", 2, histA, 980, LinkUp), 100)}, 0},
		{"the other replica does not answer: nothing foreseen",
			[]Member{quietMs(replica("g-1", 1, histA, 990, LinkUp), 3400), unreachable(replica("g-2", 2, histA, 980, LinkUp))}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", 0, append([]Member{answering}, c.replicas...)...)
			obs.Status.LastMasterReplID = histA
			d := Detect(obs)
			if d.Health != HealthHealthy {
				t.Fatalf("health %s (%s), want Healthy: no vote is there yet: %s", d.Health, d.Reason, d.Message)
			}
			if d.RequeueAfter != c.want {
				t.Fatalf("RequeueAfter = %s, want %s", d.RequeueAfter, c.want)
			}
			if dec := Decide(obs, SwitchoverState{}); dec.RequeueAfter != c.want || len(dec.Actions) != 0 {
				t.Fatalf("Decide: %s after %s with %d actions, want no action and a wait of %s", dec.Reason, dec.RequeueAfter, len(dec.Actions), c.want)
			}
		})
	}
}

// TestReportsAgeMovesOnlyTheNextLook: replicas' reports read a while before
// the decision (the look at a silent master came after them) bring the next
// look forward by that age, down to MinSuspectPoll, but never turn into a
// vote: however old the reports, a no-contact short of the threshold does
// not fail the master.
func TestReportsAgeMovesOnlyTheNextLook(t *testing.T) {
	quietMs := func(m Member, ms int64) Member {
		m.Repl.NoContactMs = ms
		return m
	}
	frozen := unreachable(master("g-0", 0, histA, 1000))
	frozen.Guard = NodeGuard{Reported: true, Ms: true, ToWrite: 1, MaxLag: 2 * time.Second}
	cases := []struct {
		name string
		age  time.Duration
		want time.Duration
	}{
		{"fresh reports: due in 200ms", 0, 200 * time.Millisecond},
		{"read 150ms ago: due in 50ms", 150 * time.Millisecond, 50 * time.Millisecond},
		{"read 300ms ago, past due: the shortest wait, no vote", 300 * time.Millisecond, MinSuspectPoll},
		{"read an hour ago: still no vote", time.Hour, MinSuspectPoll},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", time.Minute, frozen,
				quietMs(replica("g-1", 1, histA, 990, LinkUp), 3300), quietMs(replica("g-2", 2, histA, 980, LinkUp), 3300))
			obs.Status.LastMasterReplID = histA
			obs.ReportsAge = c.age
			d := Detect(obs)
			if d.Health == HealthFailed || d.ReplicasLinkDown != 0 {
				t.Fatalf("health %s with %d votes from reports short of the threshold: %s", d.Health, d.ReplicasLinkDown, d.Message)
			}
			if d.RequeueAfter != c.want {
				t.Fatalf("RequeueAfter = %s, want %s", d.RequeueAfter, c.want)
			}
			if dec := Decide(obs, SwitchoverState{}); len(dec.Actions) != 0 {
				t.Fatalf("Decide acted on aged reports: %s", actionLines(dec.Actions))
			}
		})
	}
}
