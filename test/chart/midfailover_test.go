package chart

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/test/internal/ackwriter"
	"github.com/replnode/replnode/test/internal/resp"
)

// ------ HELM UPGRADE OF THE OPERATOR IN THE MIDDLE OF A FAILOVER ------

// demoPassword is config/samples' password (its Secret cache-auth).
const demoPassword = "change-me"

// upgradeMidFailover kills the master's server under a WAIT-acknowledged
// writer and, while the failover is in flight (status.targetMaster set,
// status.currentMaster still the dead master), runs `helm upgrade
// --reuse-values --set operator.logLevel=info`, which rolls the operator
// pods. The failover must then complete under the new operator, resuming
// from what status says: the master is the target recorded before the
// upgrade, exactly one replica was promoted (one MasterChanging and one
// ReplicaPromoted event), the resuming operator fenced with a newer
// failover epoch, no acknowledged write is lost, exactly one member answers
// ROLE master and the group is Ready.
//
// A failover normally completes within a second of recording its target,
// far less than a rollout takes. To hold it in flight, the replicas refuse
// REPLICAOF until the new operator leads (ACL SETUSER default -replicaof
// -slaveof): the plan stops at its first REPLICAOF, after the target is
// recorded and the old master fenced, and every pass after that resumes it
// and stops there again, as after any node command that fails. The
// refusal is lifted only once the upgraded pods lead and status still
// shows the same failover in flight, so the operator that finishes it is
// one that learnt of it from status alone.
func (d *demoCluster) upgradeMidFailover(ctx context.Context) {
	t := d.t
	d.waitGroupReady(ctx, 3*time.Minute, "before the failover under helm upgrade")
	before, err := d.group(ctx)
	if err != nil {
		t.Fatal(err)
	}
	master := before.Status.CurrentMaster
	pods, err := d.memberPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var replicas []string
	for name := range pods {
		if name != master {
			replicas = append(replicas, name)
		}
	}
	sort.Strings(replicas)
	if pods[master] == nil || len(replicas) != demoGroupMembers-1 {
		t.Fatalf("want master %s and %d replicas, have pods %v", master, demoGroupMembers-1, sortedKeys(pods))
	}

	w := ackwriter.Start("chart:", func() (*resp.Conn, error) {
		addr, err := d.masterEndpoint(ctx)
		if err != nil {
			return nil, err
		}
		return resp.Dial(addr, demoPassword, 3*time.Second)
	})
	writerStopped := false
	defer func() {
		if !writerStopped {
			w.Finish()
		}
	}()
	if err := poll(ctx, time.Minute, func() error {
		if !w.AckedAfter(time.Now().Add(-time.Second)) {
			return fmt.Errorf("no write acknowledged by WAIT 1 in the last second")
		}
		return nil
	}); err != nil {
		t.Fatalf("the writer gets no acknowledgements before the fault: %v\n%s", err, d.diagnostics())
	}

	// The replicas refuse REPLICAOF (and its old name) until released, to
	// whichever user the operator speaks as: its own replnode-operator
	// (which also loses ACL SETUSER, or the operator's users step would
	// put its rules back at the next pass) or, before that user exists,
	// default.
	refusal := func(rule string) error {
		for _, name := range replicas {
			c, err := resp.Dial(pods[name].Status.PodIP+":6379", demoPassword, 5*time.Second)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err = c.Do("ACL", "SETUSER", "default", rule+"replicaof", rule+"slaveof")
			if err == nil {
				_, err = c.Do("ACL", "SETUSER", "replnode-operator", rule+"replicaof", rule+"slaveof", rule+"acl|setuser")
			}
			c.Close()
			if err != nil {
				return fmt.Errorf("%s: ACL SETUSER %sreplicaof: %w", name, rule, err)
			}
		}
		return nil
	}
	if err := refusal("-"); err != nil {
		t.Fatalf("holding the promotion: %v", err)
	}
	released := false
	defer func() {
		if !released {
			_ = refusal("+")
		}
	}()
	epochBefore := before.Status.FailoverEpoch
	since := time.Now()

	faults := cluster.NewFaults(d.cfg)
	if out, err := faults.KillPod(ctx, demoGroupNamespace, master, "replnode"); err != nil {
		t.Fatalf("kill the master %s: %v", master, err)
	} else {
		t.Logf("killed the master's server: %s", strings.TrimSpace(out))
	}

	var inFlight *replnodev1alpha1.ReplicationGroup
	if err := poll(ctx, 2*time.Minute, func() error {
		rg, err := d.group(ctx)
		if err != nil {
			return err
		}
		st := rg.Status
		if st.CurrentMaster != master || st.TargetMaster == "" || st.TargetMaster == master {
			return fmt.Errorf("currentMaster %q targetMaster %q", st.CurrentMaster, st.TargetMaster)
		}
		inFlight = rg
		return nil
	}); err != nil {
		t.Fatalf("the failover from %s never got in flight: %v\n%s", master, err, d.diagnostics())
	}
	target := inFlight.Status.TargetMaster
	t.Logf("failover in flight: currentMaster %s, targetMaster %s, epoch %d, phase %s", master, target, inFlight.Status.FailoverEpoch, inFlight.Status.Phase)

	// Roll the operator now.
	operatorsBefore, err := d.operatorPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldNames := podNames(operatorsBefore)
	oldHash := operatorsBefore[0].Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	upgradeAt := time.Now()
	out, err := d.helm("upgrade", demoRelease, "charts/replnode-operator", "-n", demoNamespace,
		"--reuse-values", "--set", "operator.logLevel=info", "--wait", "--timeout", "5m")
	if err != nil {
		t.Fatalf("helm upgrade during the failover: %v\n%s\n%s", err, out, d.diagnostics())
	}
	rolled, err := d.waitRolled(ctx, 5*time.Minute, oldNames, oldHash, "--zap-log-level=info")
	if err != nil {
		t.Fatalf("after helm upgrade during the failover the operator did not roll: %v\n%s", err, d.diagnostics())
	}
	holder, err := d.waitLeader(ctx, 3*time.Minute, podNames(rolled))
	if err != nil {
		t.Fatalf("no upgraded operator pod took the lease: %v\n%s", err, d.diagnostics())
	}
	t.Logf("operator rolled during the failover in %s: %v -> %v, leader %s",
		time.Since(upgradeAt).Round(time.Second), oldNames, podNames(rolled), holder)

	// The same failover must still be in flight, or the old operator
	// finished it and the new one resumed nothing.
	mid, err := d.group(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Status.CurrentMaster != master || mid.Status.TargetMaster != target {
		t.Fatalf("after the upgrade status shows currentMaster %q targetMaster %q, want the failover %s -> %s still in flight",
			mid.Status.CurrentMaster, mid.Status.TargetMaster, master, target)
	}
	epochInFlight := mid.Status.FailoverEpoch

	if err := refusal("+"); err != nil {
		t.Fatalf("releasing the promotion: %v", err)
	}
	released = true
	releasedAt := time.Now()

	var after *replnodev1alpha1.ReplicationGroup
	if err := poll(ctx, 3*time.Minute, func() error {
		rg, err := d.group(ctx)
		if err != nil {
			return err
		}
		if rg.Status.CurrentMaster != target || rg.Status.TargetMaster != target || !conditionTrue(rg, "Ready") {
			return fmt.Errorf("currentMaster %q targetMaster %q phase %s", rg.Status.CurrentMaster, rg.Status.TargetMaster, rg.Status.Phase)
		}
		after = rg
		return nil
	}); err != nil {
		t.Fatalf("the failover to %s did not complete under the upgraded operator: %v\n%s", target, err, d.diagnostics())
	}
	t.Logf("failover %s -> %s completed %s after the release (%s after the kill), epoch %d -> %d -> %d",
		master, target, time.Since(releasedAt).Round(100*time.Millisecond), time.Since(since).Round(time.Second),
		epochBefore, epochInFlight, after.Status.FailoverEpoch)
	if after.Status.FailoverEpoch <= epochInFlight {
		t.Errorf("failoverEpoch %d after the resumed failover, want more than the %d of the old operator's passes: the new operator must fence with a newer epoch before touching a node",
			after.Status.FailoverEpoch, epochInFlight)
	}
	if rec := after.Status.LastFailover; rec == nil || rec.From != master || rec.To != target || rec.EndpointSwitchedAt == nil {
		t.Errorf("status.lastFailover = %+v, want %s -> %s with its endpoint switch", rec, master, target)
	}

	// The writer must be acknowledged again on the new master before
	// anything is counted.
	settledAt := time.Now()
	if err := poll(ctx, time.Minute, func() error {
		if !w.AckedAfter(settledAt) {
			return fmt.Errorf("no write acknowledged since the group was Ready again")
		}
		return nil
	}); err != nil {
		t.Fatalf("writes are not acknowledged after the failover: %v\n%s", err, d.diagnostics())
	}
	w.Finish()
	writerStopped = true
	acked := w.Acked()

	for reason, want := range map[string]int{"MasterChanging": 1, "ReplicaPromoted": 1} {
		n, messages, err := d.groupEvents(ctx, reason, since)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%d %s events since the kill, want %d: %v", n, reason, want, messages)
		}
	}

	addr, err := d.masterEndpoint(ctx)
	if err != nil {
		t.Fatalf("after the failover: %v", err)
	}
	c, err := resp.Dial(addr, demoPassword, 10*time.Second)
	if err != nil {
		t.Fatalf("dial the new master at %s: %v", addr, err)
	}
	lost, err := ackwriter.Missing(c, acked)
	c.Close()
	if err != nil {
		t.Fatalf("reading the acknowledged keys back from %s: %v", addr, err)
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged writes lost (first: %v)", len(lost), len(acked), lost[:min(5, len(lost))])
	}

	masters, err := d.answeringMasters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(masters) != 1 || masters[0] != target {
		t.Errorf("members answering ROLE master: %v, want only %s", masters, target)
	}
	t.Logf("helm upgrade mid-failover: %s -> %s, %d acknowledged writes, %d lost, write pause %s",
		master, target, len(acked), len(lost), w.Outage(since, settledAt).Round(100*time.Millisecond))
}

// ------ HELPERS ------

// poll calls check every half second until it returns nil or timeout
// passes, and returns its last error then.
func poll(ctx context.Context, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// group reads the demo's ReplicationGroup with kubectl (the package has no
// client for the CRD's types).
func (d *demoCluster) group(ctx context.Context) (*replnodev1alpha1.ReplicationGroup, error) {
	out, err := d.kubectl(ctx, "get", "rg", demoGroup, "-n", demoGroupNamespace, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("kubectl get rg %s: %v\n%s", demoGroup, err, out)
	}
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := json.Unmarshal([]byte(out), rg); err != nil {
		return nil, fmt.Errorf("decoding rg %s: %w", demoGroup, err)
	}
	return rg, nil
}

// conditionTrue reports whether the group's condition of type is True for
// its current generation.
func conditionTrue(rg *replnodev1alpha1.ReplicationGroup, typ string) bool {
	for _, c := range rg.Status.Conditions {
		if c.Type == typ {
			return c.Status == metav1.ConditionTrue && c.ObservedGeneration >= rg.Generation
		}
	}
	return false
}

// memberPods returns the group's pods that are not being deleted, by name.
func (d *demoCluster) memberPods(ctx context.Context) (map[string]*corev1.Pod, error) {
	list, err := d.cs.CoreV1().Pods(demoGroupNamespace).List(ctx, metav1.ListOptions{LabelSelector: "replnode.io/group=" + demoGroup})
	if err != nil {
		return nil, fmt.Errorf("listing the group's pods: %w", err)
	}
	pods := map[string]*corev1.Pod{}
	for i := range list.Items {
		if p := &list.Items[i]; p.DeletionTimestamp == nil && p.Status.PodIP != "" {
			pods[p.Name] = p
		}
	}
	return pods, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// masterEndpoint returns the address of the one ready endpoint of the
// group's master Service, or an error when it has none or several.
func (d *demoCluster) masterEndpoint(ctx context.Context) (string, error) {
	slices, err := d.cs.DiscoveryV1().EndpointSlices(demoGroupNamespace).List(ctx,
		metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + demoGroup + "-master"})
	if err != nil {
		return "", err
	}
	var addrs []string
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready && len(e.Addresses) > 0 {
				addrs = append(addrs, e.Addresses[0])
			}
		}
	}
	if len(addrs) != 1 {
		return "", fmt.Errorf("the master Service has %d ready endpoints %v, want 1", len(addrs), addrs)
	}
	return addrs[0] + ":6379", nil
}

// groupEvents sums the occurrences of the group's events with reason since
// the given time (an event repeated by the recorder counts each time) and
// returns their messages.
func (d *demoCluster) groupEvents(ctx context.Context, reason string, since time.Time) (int, []string, error) {
	list, err := d.cs.CoreV1().Events(demoGroupNamespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=ReplicationGroup,involvedObject.name=" + demoGroup + ",reason=" + reason,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("listing %s events: %w", reason, err)
	}
	n := 0
	var messages []string
	for _, e := range list.Items {
		last := e.LastTimestamp.Time
		if e.Series != nil {
			last = e.Series.LastObservedTime.Time
		}
		if last.IsZero() {
			last = e.EventTime.Time
		}
		if last.Before(since.Add(-time.Second)) {
			continue
		}
		count := int(e.Count)
		if e.Series != nil {
			count = int(e.Series.Count)
		}
		n += max(count, 1)
		messages = append(messages, e.Message)
	}
	return n, messages, nil
}

// answeringMasters returns the members that answer ROLE master, in order.
func (d *demoCluster) answeringMasters(ctx context.Context) ([]string, error) {
	pods, err := d.memberPods(ctx)
	if err != nil {
		return nil, err
	}
	var masters []string
	for _, name := range sortedKeys(pods) {
		c, err := resp.Dial(pods[name].Status.PodIP+":6379", demoPassword, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		role, err := c.Do("ROLE")
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: ROLE: %w", name, err)
		}
		if r, ok := role.([]any); ok && len(r) > 0 && r[0] == "master" {
			masters = append(masters, name)
		}
	}
	return masters, nil
}
