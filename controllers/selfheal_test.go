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

// TestReplaceBrokenOutdated checks the rolling update replaces at once the
// replicas that run an outdated template and are not ready, and still waits
// for everything else.
func TestReplaceBrokenOutdated(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("g-%d", i) }
	const mip = "10.0.0.1"
	crashing := func(m observedMember, hash string) observedMember {
		m.Ready, m.Reachable, m.LinkUp, m.Role, m.MasterHost, m.TemplateHash = false, false, false, "", "", hash
		return m
	}
	withHash := func(m observedMember, hash string) observedMember { m.TemplateHash = hash; return m }
	cases := []struct {
		name    string
		members []observedMember
		busy    bool
		want    string
	}{
		{"crash-looping replica on the old template is replaced although not ready",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), crashing(up("g-2", 2, "slave", mip, 0), "old")},
			false, "DeletePod g-2"},
		{"every broken outdated replica at once, highest ordinal first",
			[]observedMember{up("g-0", 0, "master", "", 10), crashing(up("g-1", 1, "slave", mip, 0), "old"), crashing(up("g-2", 2, "slave", mip, 0), "old")},
			false, "DeletePod g-2; DeletePod g-1"},
		{"crash-looping replica on the current template: wait (replacing it changes nothing)",
			[]observedMember{withHash(up("g-0", 0, "master", "", 10), "old"), up("g-1", 1, "slave", mip, 10), crashing(up("g-2", 2, "slave", mip, 0), "t")},
			false, ""},
		{"not ready but replicating: rolled in turn, not now",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), func() observedMember {
				m := withHash(up("g-2", 2, "slave", mip, 10), "old")
				m.Ready = false
				return m
			}()},
			false, ""},
		{"outdated master that is not ready is never deleted here",
			[]observedMember{func() observedMember { m := withHash(up("g-0", 0, "master", "", 10), "old"); m.Ready = false; return m }(), up("g-1", 1, "slave", mip, 10)},
			false, ""},
		{"a failover or switchover under way: nothing",
			[]observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), crashing(up("g-2", 2, "slave", mip, 0), "old")},
			true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := render(decideTopology(topologyInput{DesiredReplicas: len(tc.members) - 1, CurrentMaster: "g-0", TargetMaster: "g-0",
				TemplateHash: "t", Members: tc.members, MemberName: name, FailoverBusy: tc.busy}))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
