package controllers

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ------ SELF-HEALING ------

// redisConfigError is the log a server started with `maxmemory lots` ends
// with, byte for byte as redis-server 7.0 and replnode print it.
const redisConfigError = "\n\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'maxmemory lots'\nargument must be a memory value\n"

// TestPodFailure is a table of container states and what the MemberFailing
// condition says about them.
func TestPodFailure(t *testing.T) {
	pod := func(cs ...corev1.ContainerStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cache-2"}, Status: corev1.PodStatus{ContainerStatuses: cs}}
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		want string // "" = no failure
	}{
		{"running", pod(corev1.ContainerStatus{Name: containerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}), ""},
		{"not reported yet", pod(), ""},
		{"creating", pod(corev1.ContainerStatus{Name: containerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}), ""},
		{"crash loop on a bad config value", pod(corev1.ContainerStatus{Name: containerName, RestartCount: 4,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: redisConfigError}}}),
			"cache-2: CrashLoopBackOff (exit code 1, 4 restarts): >>> 'maxmemory lots' argument must be a memory value"},
		{"just exited", pod(corev1.ContainerStatus{Name: containerName,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", Message: "1:M 04 Dec 2026 23:00:00.000 * Ready to accept connections\n"}}}),
			"cache-2: OOMKilled (exit code 137, 0 restarts): 1:M 04 Dec 2026 23:00:00.000 * Ready to accept connections"},
		{"exited cleanly and restarting is still a crash loop", pod(corev1.ContainerStatus{Name: containerName, RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}),
			"cache-2: CrashLoopBackOff (exit code 0, 2 restarts)"},
		{"restarted once and running again", pod(corev1.ContainerStatus{Name: containerName, RestartCount: 1,
			State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}), ""},
		{"missing Secret key", pod(corev1.ContainerStatus{Name: containerName,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `couldn't find key password in Secret ns/auth`}}}),
			"cache-2: CreateContainerConfigError: couldn't find key password in Secret ns/auth"},
		{"other containers are not the server", pod(corev1.ContainerStatus{Name: "sidecar",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := podFailure(tc.pod)
			got := ""
			if ok {
				got = f.String()
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestMemberFailingCondition checks the condition lists every failing
// member, bounded, and is False when none fails.
func TestMemberFailingCondition(t *testing.T) {
	c := memberFailingCondition(nil)
	if c.Status != metav1.ConditionFalse {
		t.Errorf("no failures: %+v", c)
	}
	long := strings.Repeat("x", 4000)
	c = memberFailingCondition([]memberFailure{
		{Member: "cache-2", Reason: "CrashLoopBackOff", ExitCode: 1, Restarts: 3, LastError: lastError(long)},
		{Member: "cache-1", Reason: "CrashLoopBackOff", ExitCode: 1, Restarts: 5, LastError: "argument must be a memory value"},
	})
	if c.Status != metav1.ConditionTrue || c.Reason != "CrashLoopBackOff" {
		t.Fatalf("condition = %+v", c)
	}
	if !strings.HasPrefix(c.Message, "cache-1: CrashLoopBackOff (exit code 1, 5 restarts): argument must be a memory value; cache-2:") {
		t.Errorf("message = %q", c.Message)
	}
	if len(c.Message) > 2*maxFailureMessage {
		t.Errorf("message is %d bytes; a member's error must be bounded", len(c.Message))
	}
}

// TestReplaceBrokenOutdated checks the rolling update replaces the replicas
// that run an outdated template and are not ready without waiting for them,
// one at a time and only while the master keeps min-replicas-to-write
// linked replicas without them, and still waits for everything else.
func TestReplaceBrokenOutdated(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("g-%d", i) }
	const mip = "10.0.0.1"
	// crashing: its server exits on start (the kubelet reports it down).
	crashing := func(m observedMember, hash string) observedMember {
		m.Ready, m.Reachable, m.LinkUp, m.Role, m.MasterHost, m.TemplateHash, m.ProcessDown = false, false, false, "", "", hash, true
		return m
	}
	// unlinked: its server runs and answers, but its link to the master is
	// down (a cut, a full sync that keeps failing): not ready, yet holding
	// data, and not broken by its template.
	unlinked := func(m observedMember, hash string) observedMember {
		m.Ready, m.LinkUp, m.TemplateHash = false, false, hash
		return m
	}
	silent := func(m observedMember, hash string) observedMember {
		m.Ready, m.Reachable, m.LinkUp, m.Role, m.MasterHost, m.TemplateHash = false, false, false, "", "", hash
		return m
	}
	withHash := func(m observedMember, hash string) observedMember { m.TemplateHash = hash; return m }
	notReady := func(m observedMember) observedMember { m.Ready = false; return m }
	deleting := func(m observedMember) observedMember { m.Deleting = true; return m }
	cases := []struct {
		name    string
		members []observedMember
		w       int
		busy    bool
		want    string
	}{
		{"crash-looping replica on the old template is replaced although not ready",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), crashing(up("g-2", 2, "slave", mip, 0), "old")},
			1, false, "DeletePod g-2"},
		{"two crash-looping replicas: one at a time, highest ordinal first",
			[]observedMember{up("g-0", 0, "master", "", 10), crashing(up("g-1", 1, "slave", mip, 0), "old"), crashing(up("g-2", 2, "slave", mip, 0), "old")},
			1, false, "DeletePod g-2"},
		{"the previous replacement is not ready yet on the new template: the next waits",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10),
				crashing(up("g-2", 2, "slave", mip, 0), "old"), notReady(silent(up("g-3", 3, "slave", mip, 0), "t"))},
			1, false, "Wait g-2"},
		{"the previous replacement is still being deleted: the next waits",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10),
				crashing(up("g-2", 2, "slave", mip, 0), "old"), deleting(crashing(up("g-3", 3, "slave", mip, 0), "old"))},
			1, false, "Wait g-2"},
		{"the new template breaks the replacement as well: nothing more is replaced",
			[]observedMember{up("g-0", 0, "master", "", 10), crashing(up("g-1", 1, "slave", mip, 0), "old"), crashing(up("g-2", 2, "slave", mip, 0), "t")},
			1, false, "Wait g-1"},
		{"replicas unlinked for another reason than their template: not one is replaced while the master has fewer than w linked",
			[]observedMember{up("g-0", 0, "master", "", 10), unlinked(up("g-1", 1, "slave", mip, 10), "old"), unlinked(up("g-2", 2, "slave", mip, 10), "old")},
			1, false, "Wait g-2"},
		{"a silent outdated replica whose server may still run: replaced only while w others stay linked",
			[]observedMember{up("g-0", 0, "master", "", 10), unlinked(up("g-1", 1, "slave", mip, 10), "old"), silent(up("g-2", 2, "slave", mip, 0), "old")},
			1, false, "Wait g-2"},
		{"w others linked: the unlinked one is replaced",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), up("g-2", 2, "slave", mip, 10), unlinked(up("g-3", 3, "slave", mip, 10), "old")},
			2, false, "DeletePod g-3"},
		{"w = 2 with one other linked: waits",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), unlinked(up("g-2", 2, "slave", mip, 10), "old")},
			2, false, "Wait g-2"},
		{"min-replicas-to-write 0: nothing to keep, one at a time still",
			[]observedMember{up("g-0", 0, "master", "", 10), unlinked(up("g-1", 1, "slave", mip, 10), "old"), unlinked(up("g-2", 2, "slave", mip, 10), "old")},
			0, false, "DeletePod g-2"},
		{"crash-looping replica on the current template: wait (replacing it changes nothing)",
			[]observedMember{withHash(up("g-0", 0, "master", "", 10), "old"), up("g-1", 1, "slave", mip, 10), crashing(up("g-2", 2, "slave", mip, 0), "t")},
			1, false, ""},
		{"not ready but replicating: rolled in turn, not now",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), notReady(withHash(up("g-2", 2, "slave", mip, 10), "old"))},
			1, false, ""},
		{"outdated master that is not ready is never deleted here",
			[]observedMember{notReady(withHash(up("g-0", 0, "master", "", 10), "old")), up("g-1", 1, "slave", mip, 10)},
			1, false, ""},
		{"master not answering: nothing is replaced",
			[]observedMember{func() observedMember { m := up("g-0", 0, "master", "", 10); m.Reachable, m.Role = false, ""; return m }(),
				up("g-1", 1, "slave", mip, 10), crashing(up("g-2", 2, "slave", mip, 0), "old")},
			1, false, "Wait"},
		{"a failover or switchover under way: nothing",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), crashing(up("g-2", 2, "slave", mip, 0), "old")},
			1, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := render(decideTopology(topologyInput{DesiredReplicas: len(tc.members) - 1, CurrentMaster: "g-0", TargetMaster: "g-0",
				TemplateHash: "t", Members: tc.members, MemberName: name, FailoverBusy: tc.busy, MinReplicasToWrite: tc.w}))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestReplaceBrokenOutdatedNeverTakesAllReplicas replays the rolling update
// pass after pass over a group whose replicas are all not ready on an
// outdated template, with each replaced replica broken by the new template
// too (a bad spec fix), and checks that at no pass more than one replica is
// being replaced and that the replicas linked to the master never drop
// below min-replicas-to-write because of a replacement.
func TestReplaceBrokenOutdatedNeverTakesAllReplicas(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("g-%d", i) }
	const mip = "10.0.0.1"
	for _, start := range []string{"crashing", "unlinked"} {
		t.Run(start, func(t *testing.T) {
			members := []observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10)}
			for i := 2; i <= 4; i++ {
				m := up(name(i), i, "slave", mip, 10)
				m.Ready, m.LinkUp, m.TemplateHash = false, false, "old"
				if start == "crashing" {
					m.Reachable, m.Role, m.MasterHost, m.ProcessDown = false, "", "", true
				}
				members = append(members, m)
			}
			members[1].TemplateHash = "old" // linked and ready, outdated: rolled in turn
			replaced := map[string]bool{}
			for pass := 0; pass < 10; pass++ {
				in := topologyInput{DesiredReplicas: 4, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
					Members: members, MemberName: name, MinReplicasToWrite: 1}
				deletes := 0
				for _, a := range decideTopology(in) {
					if a.Kind != topoDeletePod {
						continue
					}
					deletes++
					if a.Member == "g-1" {
						t.Fatalf("pass %d deleted g-1, the only replica linked to the master: %s", pass, render(decideTopology(in)))
					}
					// The kubelet recreates it on the new template, which
					// breaks it as well.
					for i := range members {
						if members[i].Name == a.Member {
							members[i].TemplateHash = "t"
							replaced[a.Member] = true
						}
					}
				}
				if deletes > 1 {
					t.Fatalf("pass %d deleted %d replicas at once", pass, deletes)
				}
			}
			if start == "crashing" && len(replaced) != 1 {
				t.Errorf("replaced %v; want exactly one, then a wait for it to become ready", replaced)
			}
			if start == "unlinked" && len(replaced) != 1 {
				t.Errorf("replaced %v; want one (g-1 keeps min-replicas-to-write), then a wait", replaced)
			}
		})
	}
}
