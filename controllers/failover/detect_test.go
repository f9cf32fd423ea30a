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
		{"unreachable long, replicas agree", observe("g-0", 31*time.Second, unreachable(m0), down1, down2), HealthFailed, "ReplicasLostMaster", "2 of 2"},
		{"exactly at masterDownAfter counts", observe("g-0", 30*time.Second, unreachable(m0), down1, down2), HealthFailed, "ReplicasLostMaster", ""},
		{"operator partitioned: replicas linked up", observe("g-0", time.Minute, unreachable(m0), up1, up2), HealthIsolated, "OperatorPartitioned", "0 of 2"},
		{"half the replicas is not a majority", observe("g-0", time.Minute, unreachable(m0), down1, up2), HealthIsolated, "OperatorPartitioned", "1 of 2"},
		{"two of three is a majority", observe("g-0", time.Minute, unreachable(m0), down1, down2, replica("g-3", 3, histA, 1, LinkUp)), HealthFailed, "ReplicasLostMaster", "2 of 3"},
		{"unreachable replicas do not vote", observe("g-0", time.Minute, unreachable(m0), down1, unreachable(up2)), HealthFailed, "ReplicasLostMaster", "1 of 1"},
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
	if d := Detect(obs); d.Health != HealthIsolated || d.ReachableReplicas != 1 {
		t.Fatalf("only g-1 follows the master and it is linked up: %+v", d)
	}
	// Without a known master_host every replica votes.
	obs.Members[2].Repl.MasterHost, obs.Members[3].Repl.MasterHost = "", ""
	if d := Detect(obs); d.Health != HealthFailed || d.ReachableReplicas != 3 || d.ReplicasLinkDown != 2 {
		t.Fatalf("%+v", d)
	}
}

// TestDetectNeverSeenUsesTheReplicasClocks checks that without
// MasterLastSeen the replicas' master_link_down_since_seconds decide, and
// only when a strict majority has been down long enough.
func TestDetectNeverSeenUsesTheReplicasClocks(t *testing.T) {
	downFor := func(m Member, s int64) Member { m.Repl.LinkDownSeconds = s; return m }
	m0 := unreachable(master("g-0", 0, histA, 1000))
	cases := []struct {
		name        string
		replicas    []Member
		wantHealth  Health
		wantRequeue time.Duration
	}{
		{"majority down long enough", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), 45), downFor(replica("g-2", 2, histA, 1, LinkDown), 31), downFor(replica("g-3", 3, histA, 1, LinkUp), -1)}, HealthFailed, 0},
		{"majority down, not long enough", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), 45), downFor(replica("g-2", 2, histA, 1, LinkDown), 10), downFor(replica("g-3", 3, histA, 1, LinkUp), -1)}, HealthSuspect, 20 * time.Second},
		{"durations unknown", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), -1), downFor(replica("g-2", 2, histA, 1, LinkDown), -1)}, HealthSuspect, 30 * time.Second},
		{"no majority", []Member{downFor(replica("g-1", 1, histA, 1, LinkDown), 99), downFor(replica("g-2", 2, histA, 1, LinkUp), -1)}, HealthSuspect, 30 * time.Second},
		{"no replica", nil, HealthSuspect, 30 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", 0, append([]Member{m0}, c.replicas...)...)
			obs.MasterLastSeen = time.Time{}
			d := Detect(obs)
			// A suspect master is looked at again at least every pollWhileSuspect.
			want := min(c.wantRequeue, pollWhileSuspect)
			if d.Health != c.wantHealth || d.RequeueAfter != want {
				t.Fatalf("Detect = %s requeue %s (%s), want %s requeue %s", d.Health, d.RequeueAfter, d.Message, c.wantHealth, want)
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
	obs = observe("g-0", 29500*time.Millisecond, unreachable(master("g-0", 0, histA, 1)))
	if d := Detect(obs); d.RequeueAfter != 500*time.Millisecond {
		t.Fatalf("RequeueAfter = %s, want the 500ms left of masterDownAfter", d.RequeueAfter)
	}
	obs.MasterLastSeen = time.Time{}
	d := Detect(obs)
	if d.Health != HealthSuspect || d.Reason != "MasterNotYetSeen" || d.RequeueAfter != pollWhileSuspect {
		t.Fatalf("never-seen master: %+v", d)
	}
}
