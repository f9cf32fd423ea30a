package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// frozenNodes is a node client whose nodes accept the connection and never
// answer (a SIGSTOPped process): each call lasts until its context ends.
type frozenNodes struct {
	nodeclient.Client
	calls []time.Duration
}

// InfoReplication implements nodeclient.Client.
func (f *frozenNodes) InfoReplication(ctx context.Context, _ nodeclient.Node) (string, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // the node timeout
	defer cancel()
	<-ctx.Done()
	f.calls = append(f.calls, time.Since(start))
	return "", ctx.Err()
}

// TestObserveFrozenMemberCostsTheNodeTimeoutOnce: a member that did not
// answer the last look is asked with silentMemberTimeout, so a frozen
// master delays one pass by the node timeout, not every pass until the
// failover (chaos pause-master and node-stop took 7-9s mostly from passes
// that each waited 2s on the frozen master).
func TestObserveFrozenMemberCostsTheNodeTimeoutOnce(t *testing.T) {
	nodes := &frozenNodes{}
	r := &ReplicationGroupReconciler{Nodes: nodes}
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "g-0", Namespace: "ns", UID: "uid-0"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}}
	for i := 0; i < 3; i++ {
		if v := r.observePod(context.Background(), newPass(rg), pod, 0); v.failover.Reachable {
			t.Fatal("a frozen node reported reachable")
		}
	}
	if len(nodes.calls) != 3 || nodes.calls[0] < 2*time.Second {
		t.Fatalf("looks took %v", nodes.calls)
	}
	for _, d := range nodes.calls[1:] {
		if d > silentMemberTimeout+200*time.Millisecond {
			t.Errorf("a look at a member that was silent last time took %s, want about %s", d, silentMemberTimeout)
		}
	}
}
