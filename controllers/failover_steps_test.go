package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// TestFailoverSettings converts spec.failover, defaulting unset durations.
func TestFailoverSettings(t *testing.T) {
	rg := testGroup()
	got := failoverSettings(rg)
	want := failover.Settings{Enabled: true, MasterDownAfter: 3 * time.Second, PauseTimeout: 5 * time.Second, SwitchoverTimeout: 30 * time.Second,
		Replicas: int(rg.Spec.DesiredReplicas()), MinReplicasToWrite: int(rg.Spec.EffectiveMinReplicasToWrite()),
		MinReplicasMaxLag: time.Duration(rg.Spec.EffectiveMinReplicasMaxLag()) * time.Second,
		ReplPingPeriod:    time.Second, ReplTimeout: 10 * time.Second}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	rg.Spec.Failover.Enabled = ptr.To(false)
	rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 7 * time.Second}
	rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"repl-ping-replica-period": "4", "repl-timeout": " 30 "}
	rg.Annotations = map[string]string{failover.AnnotationAcceptDataLoss: "true"}
	got = failoverSettings(rg)
	if got.Enabled || got.MasterDownAfter != 7*time.Second || got.ReplPingPeriod != 4*time.Second || got.ReplTimeout != 30*time.Second || !got.AcceptDataLoss {
		t.Errorf("set = %+v", got)
	}
	// A user-set ping period the guard margin is not sized for shows in FailoverSafe.
	if c := failoverSafeCondition(rg); c.Status != metav1.ConditionTrue {
		t.Errorf("failover disabled: %+v", c)
	}
	rg.Spec.Failover.Enabled = ptr.To(true)
	if c := failoverSafeCondition(rg); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "repl-ping-replica-period 4s") {
		t.Errorf("FailoverSafe = %+v", c)
	}
}

// TestSwitchoverStateRoundTrip stores and reloads a switchover through status.
func TestSwitchoverStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := failover.SwitchoverState{Phase: failover.SwitchoverWaitingForSync, From: "g-0", To: "g-1", StartedAt: at, PausedAt: at.Add(time.Second)}
	if got := switchoverState(switchoverStatus(s)); got != s {
		t.Errorf("round trip = %+v, want %+v", got, s)
	}
	if switchoverStatus(failover.SwitchoverState{}) != nil {
		t.Error("idle state stored")
	}
	retry := failover.SwitchoverState{RetryAfter: at}
	if got := switchoverState(switchoverStatus(retry)); got != retry {
		t.Errorf("retry round trip = %+v", got)
	}
}

// deadlineNodes records the deadline of every REPLICAOF it forwards.
type deadlineNodes struct {
	nodeclient.Client
	replicaOfDeadlines []time.Time
}

func (d *deadlineNodes) ReplicaOf(ctx context.Context, n nodeclient.Node, host string, port int) error {
	dl, _ := ctx.Deadline()
	d.replicaOfDeadlines = append(d.replicaOfDeadlines, dl)
	return d.Client.ReplicaOf(ctx, n, host, port)
}

// TestHandOverIsSentWithinThePause pins review finding 3's time bound: a
// hand-over's REPLICAOF of a master this pass paused, onto a replica
// holding all its bytes, is sent with a deadline at least handOverMargin
// before the pause can end, and not at all when less than that is left.
// Demoting an old master onto a member already promoted (a failover) is
// not a hand-over and goes out however late.
func TestHandOverIsSentWithinThePause(t *testing.T) {
	ctx := context.Background()
	const masterAddr, targetAddr = "10.0.0.1:6379", "10.0.0.3:6379"
	setup := func() (*ReplicationGroupReconciler, *deadlineNodes, *nodeclient.Fake, *pass) {
		fake := nodeclient.NewFake()
		fake.Start(masterAddr, "", "")
		fake.AddWrites(masterAddr, 100)
		fake.Start(targetAddr, "", masterAddr)
		nodes := &deadlineNodes{Client: fake}
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "uid"}}
		p := newPass(rg)
		for name, ip := range map[string]string{"g-0": "10.0.0.1", "g-2": "10.0.0.3"} {
			p.pods[name] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Status: corev1.PodStatus{PodIP: ip}}
		}
		return &ReplicationGroupReconciler{Nodes: nodes}, nodes, fake, p
	}
	demote := failover.Action{Kind: failover.ActReplicaOf, Member: "g-0", Target: "g-2"}

	r, nodes, fake, p := setup()
	until := time.Now().Add(10 * time.Second)
	p.pausedUntil = map[string]time.Time{"g-0": until}
	if err := r.nodeAction(ctx, p, demote); err != nil {
		t.Fatalf("hand-over with the pause holding 10s more: %v", err)
	}
	if len(nodes.replicaOfDeadlines) != 1 || nodes.replicaOfDeadlines[0].IsZero() || nodes.replicaOfDeadlines[0].After(until.Add(-handOverMargin)) {
		t.Fatalf("hand-over REPLICAOF deadlines %v, want one no later than %v", nodes.replicaOfDeadlines, until.Add(-handOverMargin))
	}

	r, nodes, fake, p = setup()
	p.pausedUntil = map[string]time.Time{"g-0": time.Now().Add(handOverMargin / 2)}
	if err := r.nodeAction(ctx, p, demote); !errors.Is(err, errVerifyFailed) {
		t.Fatalf("hand-over with less than the margin left of the pause: %v, want errVerifyFailed", err)
	}
	if len(nodes.replicaOfDeadlines) != 0 {
		t.Fatal("the REPLICAOF was sent though the pause may end before it arrives")
	}
	if n, _ := fake.Node(masterAddr); n.Role != "master" {
		t.Fatalf("the old master is %s", n.Role)
	}

	r, nodes, fake, p = setup()
	if err := fake.ReplicaOf(ctx, nodeclient.Node{Addr: targetAddr}, "", 0); err != nil {
		t.Fatal(err)
	}
	p.pausedUntil = map[string]time.Time{"g-0": time.Now().Add(handOverMargin / 2)}
	if err := r.nodeAction(ctx, p, demote); err != nil {
		t.Fatalf("demoting an old master onto a promoted member: %v", err)
	}
	if n, _ := fake.Node(masterAddr); n.Role != "slave" {
		t.Fatalf("the old master was not demoted onto the promoted member: %s", n.Role)
	}
}
