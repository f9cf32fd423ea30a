package controllers

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ A SWITCHOVER DRIVEN IN ONE PASS (envtest, fake nodes) ------
//
// runFailoverPass drives a switchover from step to step in one pass. These
// specs run a reconciler by hand (the suite's manager kept out by
// keepSuiteManagerOut) over a node client whose target lags behind the
// paused master for a while, and check that the pass hands over only once
// the target reports every byte of the master, never while it lags.

// laggingNodes is a node client over the shared fake nodes that makes the
// target report lag bytes fewer than it holds, for its next lagReads INFO
// replies after the master was paused (-1: for ever), and records the
// mutating calls in order.
type laggingNodes struct {
	nodeclient.Client
	master, target string
	lag            int64

	mu sync.Mutex
	// paused is set once the master got CLIENT PAUSE.
	paused bool
	// lagReads is how many more lagging INFO replies the target gives.
	lagReads int
	// laggedReads counts the lagging replies given.
	laggedReads int
	// promotedWhileLagging is set when the target was promoted while
	// its last INFO reply still lagged.
	promotedWhileLagging bool
	lastReplyLagged      bool
	calls                []string
}

var offsetLine = regexp.MustCompile(`(?m)^(master_repl_offset|slave_repl_offset):(\d+)`)

func (l *laggingNodes) note(call string) {
	l.calls = append(l.calls, call)
}

func (l *laggingNodes) InfoReplication(ctx context.Context, n nodeclient.Node) (string, error) {
	text, err := l.Client.InfoReplication(ctx, n)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || n.Addr != l.target || !l.paused {
		return text, err
	}
	l.lastReplyLagged = l.lagReads != 0
	if l.lagReads == 0 {
		return text, nil
	}
	l.lagReads--
	l.laggedReads++
	return offsetLine.ReplaceAllStringFunc(text, func(line string) string {
		m := offsetLine.FindStringSubmatch(line)
		v, _ := strconv.ParseInt(m[2], 10, 64)
		return fmt.Sprintf("%s:%d", m[1], max(0, v-l.lag))
	}), nil
}

func (l *laggingNodes) ClientPause(ctx context.Context, n nodeclient.Node, d time.Duration) error {
	err := l.Client.ClientPause(ctx, n, d)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && n.Addr == l.master {
		l.paused = true
	}
	l.note("CLIENT PAUSE " + n.Addr)
	return err
}

func (l *laggingNodes) ReplicaOf(ctx context.Context, n nodeclient.Node, host string, port int) error {
	err := l.Client.ReplicaOf(ctx, n, host, port)
	l.mu.Lock()
	defer l.mu.Unlock()
	if host == "" {
		if n.Addr == l.target && l.lastReplyLagged {
			l.promotedWhileLagging = true
		}
		l.note("REPLICAOF NO ONE " + n.Addr)
	} else {
		l.note(fmt.Sprintf("REPLICAOF %s %s", n.Addr, host))
	}
	return err
}

// promoted reports whether the target got REPLICAOF NO ONE.
func (l *laggingNodes) promoted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.calls {
		if c == "REPLICAOF NO ONE "+l.target {
			return true
		}
	}
	return false
}

var _ = Describe("A switchover driven in one pass", func() {
	var (
		ns                     string
		key                    types.NamespacedName
		masterAddr, targetAddr string
	)

	// A Running group of a master (chain-0) and two replicas with writes
	// on it, the suite's manager kept out, and spec.master naming chain-2.
	// (Its name is its own: drain_envtest_test.go lists pods cluster-wide.)
	BeforeEach(func() {
		ns = admissionNamespace("swchain")
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "chain", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "chain", 2)
		masterAddr = memberAddr(ns, "chain-0")
		targetAddr = memberAddr(ns, "chain-2")
		fakeNodes.AddWrites(masterAddr, 5000)
		key = keepSuiteManagerOut(ns, "chain")
		Expect(getGroup(ns, "chain").Status.CurrentMaster).To(Equal("chain-0"))
		updateGroup(ns, "chain", func(rg *replnodev1alpha1.ReplicationGroup) { rg.Spec.Master = "chain-2" })
	})

	reconciler := func(nodes nodeclient.Client) *ReplicationGroupReconciler {
		return &ReplicationGroupReconciler{Client: groupView{Client: k8sClient, key: key}, Scheme: testScheme, Nodes: nodes}
	}

	It("waits within the pass for a lagging target and hands over only once it holds every byte", func() {
		nodes := &laggingNodes{Client: fakeNodes, master: masterAddr, target: targetAddr, lag: 100, lagReads: 3}
		_, err := reconciler(nodes).Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred())

		Expect(nodes.laggedReads).To(Equal(3), "the pass looked at the lagging target until it caught up")
		Expect(nodes.promotedWhileLagging).To(BeFalse(), "promoted a target that reported fewer bytes than the master: %v", nodes.calls)
		rg := getGroup(ns, "chain")
		Expect(rg.Status.CurrentMaster).To(Equal("chain-2"), "one pass completes the switchover; calls: %v", nodes.calls)
		Expect(rg.Status.TargetMaster).To(Equal("chain-2"))
		Expect(rg.Status.Switchover).To(BeNil())
		target, _ := fakeNodes.Node(targetAddr)
		Expect(target.Role).To(Equal("master"))
		old, _ := fakeNodes.Node(masterAddr)
		Expect(old.Role).To(Equal("slave"))
		Expect(old.MasterHost + ":6379").To(Equal(targetAddr))
		Expect(old.PausedFor).To(BeZero(), "the old master was left paused")
		Expect(old.ClientKills).To(BeNumerically(">", 0), "the old master's clients were not disconnected")
		pod := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "chain-2"}, pod)).To(Succeed())
		Expect(pod.Labels[labelRole]).To(Equal(roleMaster))
		// The pause came first, and the old master followed the target
		// before the target was promoted (Redis's FAILOVER order).
		Expect(nodes.calls[0]).To(Equal("CLIENT PAUSE "+masterAddr), "%v", nodes.calls)
		demote := slices.Index(nodes.calls, fmt.Sprintf("REPLICAOF %s %s", masterAddr, hostOf(targetAddr)))
		promote := slices.Index(nodes.calls, "REPLICAOF NO ONE "+targetAddr)
		Expect(demote).To(BeNumerically(">=", 0), "%v", nodes.calls)
		Expect(promote).To(BeNumerically(">", demote), "%v", nodes.calls)
	})

	It("never promotes a target that stays behind: the pass ends with the master paused and the switchover waiting", func() {
		nodes := &laggingNodes{Client: fakeNodes, master: masterAddr, target: targetAddr, lag: 100, lagReads: -1}
		res, err := reconciler(nodes).Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.RequeueAfter).To(BeNumerically(">", 0))
		Expect(nodes.promoted()).To(BeFalse(), "promoted a target that never caught up: %v", nodes.calls)
		Expect(nodes.laggedReads).To(BeNumerically(">", 1), "the pass looked at the target again before giving the step to a requeue")
		rg := getGroup(ns, "chain")
		Expect(rg.Status.CurrentMaster).To(Equal("chain-0"))
		Expect(rg.Status.Switchover).NotTo(BeNil())
		Expect(rg.Status.Switchover.Phase).To(Equal(string(failover.SwitchoverWaitingForSync)))
		master, _ := fakeNodes.Node(masterAddr)
		Expect(master.Role).To(Equal("master"))
		Expect(master.PausedFor).To(BeNumerically(">", 0), "the master's writes must stay paused while the target catches up")

		// Once the target catches up, the next pass finishes the job.
		nodes.mu.Lock()
		nodes.lagReads = 0
		nodes.mu.Unlock()
		_, err = reconciler(nodes).Reconcile(suiteCtx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred())
		Expect(nodes.promotedWhileLagging).To(BeFalse())
		Expect(getGroup(ns, "chain").Status.CurrentMaster).To(Equal("chain-2"))
	})
})

// hostOf is the host of a host:port address.
func hostOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i]
		}
	}
	return addr
}
