package e2e

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/hack/localcluster/podnet"
	"github.com/replnode/replnode/test/internal/resp"
)

// ------ DIALING FROM A POD'S NETWORK ------

// dialIn connects to addr from inside the network namespace at nsPath (a
// pod's) and authenticates: the host may be cut off from addr while a pod
// still reaches it. This is how the suite talks to a master the host
// cannot see.
func dialIn(nsPath, addr string, timeout time.Duration) (*resp.Conn, error) {
	return resp.DialIn(nsPath, addr, password, timeout)
}

// podNetns returns the path of a pod's network namespace on the suite's
// cluster (the agent names it after the pod's UID).
func podNetns(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	network, err := podnet.NewNetwork(cfg.Bridge, cfg.PodCIDR)
	if err != nil {
		t.Fatal(err)
	}
	return podnet.NamespacePath(network.NamespaceName(string(pod.UID)))
}

// ------ FAILOVER TRACES IN THE API ------

// failoverReasons are the event reasons the operator emits when it starts,
// finishes or gives up a failover, or repairs two masters: none may appear
// while the master is healthy.
var failoverReasons = map[string]bool{
	"FailedOver": true, "FailoverAbandoned": true, "FailoverTargetLost": true, "TwoMastersRepaired": true,
}

// failoverEvents returns, for every failover event about the group, its
// name with its occurrence count (a repeat updates the same object's
// series), so two snapshots differ exactly when such an event happened.
func failoverEvents(t *testing.T) map[string]string {
	t.Helper()
	var list eventsv1.EventList
	if err := kube.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		t.Fatalf("list events: %v", err)
	}
	out := map[string]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind != "ReplicationGroup" || e.Regarding.Name != group || !failoverReasons[e.Reason] {
			continue
		}
		count := e.DeprecatedCount
		if e.Series != nil {
			count = e.Series.Count
		}
		out[e.Name] = fmt.Sprintf("%s x%d: %s", e.Reason, count, e.Note)
	}
	return out
}

// roleOf returns the first element of ROLE on c ("master", "slave"), or
// the error.
func roleOf(c *resp.Conn) (string, error) {
	r, err := c.Do("ROLE")
	if err != nil {
		return "", err
	}
	arr, ok := r.([]any)
	if !ok || len(arr) == 0 {
		return "", fmt.Errorf("unexpected ROLE reply %v", r)
	}
	role, _ := arr[0].(string)
	return role, nil
}

// ------ SCENARIO: OPERATOR PARTITIONED FROM A HEALTHY MASTER ------

// testOperatorPartition cuts the host, where the operator runs (and from
// where the agent probes pods), off from a healthy master for
// 2 x masterDownAfter + 5s. The replicas still replicate from the master
// and a writer inside a replica's pod keeps getting WAIT acknowledgements,
// so the operator must not fail over: status.currentMaster stays, no
// failover event appears, the master keeps answering ROLE master and its
// pod is neither replaced nor restarted. After the heal the group is Ready
// again with the same master.
func testOperatorPartition(t *testing.T) {
	master := waitSettled(t, "", 3*time.Minute)
	rg := getGroup(t)
	downAfter := 10 * time.Second
	if d := rg.Spec.Failover.MasterDownAfter; d != nil {
		downAfter = d.Duration
	}
	pods := members(t)
	masterPod := pods[master]
	maddr := masterPod.Status.PodIP + ":6379"
	var replicas []string
	for name := range pods {
		if name != master {
			replicas = append(replicas, name)
		}
	}
	sort.Strings(replicas)
	if len(replicas) == 0 {
		t.Fatalf("no replica beside master %s", master)
	}
	// The writer and the master checks go through the first replica's
	// network: the host cannot reach the master during the partition.
	via := podNetns(t, pods[replicas[0]])
	w := startWriterVia(func() (*resp.Conn, error) { return dialIn(via, maddr, 3*time.Second) })
	defer w.Finish()
	waitFor(t, time.Minute, "acknowledged writes through "+replicas[0]+"'s network", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
	eventsBefore := failoverEvents(t)
	lastFailoverBefore := rg.Status.LastFailover
	restartsBefore := restarts(masterPod)

	at := time.Now()
	if _, err := faults.Partition(context.Background(), namespace, master, podnet.Cut{Host: true}); err != nil {
		t.Fatalf("partition %s from the host: %v", master, err)
	}
	healed := false
	defer func() {
		if !healed {
			_, _ = faults.HealAll(context.Background())
		}
	}()
	// The fault must really hold, or the scenario proves nothing.
	if _, err := command(maddr, "PING"); err == nil {
		t.Fatalf("the host still reaches master %s at %s after the partition", master, maddr)
	}

	// Watch for 2 x masterDownAfter + 5s, once a second.
	end := at.Add(2*downAfter + 5*time.Second)
	// A sample that gets no answer (a loaded machine, a 2s timeout) counts
	// as unanswered, not as a failure; an answer that is wrong is a failure.
	samples, linkUp, linkUnanswered, masterRole, roleUnanswered := 0, 0, 0, 0, 0
	// Condition status/reason -> samples: Available (is the master up, as
	// the operator sees it) and MasterAvailable (the failover verdict,
	// where an operator cut off from the master says Isolated).
	availability, verdicts := map[string]int{}, map[string]int{}
	var violations []string
	violate := func(format string, a ...any) {
		v := fmt.Sprintf("%s: ", time.Since(at).Round(100*time.Millisecond)) + fmt.Sprintf(format, a...)
		if len(violations) < 10 {
			t.Log(v)
		}
		violations = append(violations, v)
	}
	for time.Now().Before(end) {
		samples++
		g := getGroup(t)
		if g.Status.CurrentMaster != master {
			violate("status.currentMaster = %q", g.Status.CurrentMaster)
		}
		if g.Status.TargetMaster != "" && g.Status.TargetMaster != master {
			violate("status.targetMaster = %q (a failover started)", g.Status.TargetMaster)
		}
		if c := apimeta.FindStatusCondition(g.Status.Conditions, replnodev1alpha1.ConditionAvailable); c != nil {
			availability[string(c.Status)+"/"+c.Reason]++
		}
		if c := apimeta.FindStatusCondition(g.Status.Conditions, "MasterAvailable"); c != nil {
			verdicts[string(c.Status)+"/"+c.Reason]++
		}
		for _, r := range replicas {
			text := info(pods[r].Status.PodIP+":6379", "replication")
			role, link, host := resp.InfoField(text, "role"), resp.InfoField(text, "master_link_status"), resp.InfoField(text, "master_host")
			switch {
			case text == "":
				linkUnanswered++
			case role == "slave" && link == "up" && host == masterPod.Status.PodIP:
				linkUp++
			default:
				violate("replica %s: role:%s master_host:%s master_link_status:%s", r, role, host, link)
			}
		}
		if c, err := dialIn(via, maddr, 2*time.Second); err != nil {
			roleUnanswered++
		} else {
			role, err := roleOf(c)
			switch {
			case err == nil && role == "master":
				masterRole++
			case err == nil:
				violate("%s answers ROLE %q", master, role)
			default:
				roleUnanswered++
			}
			c.Close()
		}
		time.Sleep(time.Second)
	}
	partitionEnd := time.Now()
	ackedDuring := w.AckedWithin(at, partitionEnd)
	pause := w.Outage(at, partitionEnd)

	if _, err := faults.HealAll(context.Background()); err != nil {
		t.Fatalf("heal: %v", err)
	}
	healed = true
	healedAt := time.Now()
	// Not waitFor: the summary line is recorded even when the group does
	// not come back.
	settledMaster, ready := "", false
	for deadline := healedAt.Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if settledMaster, ready = settled(t, ""); ready {
			break
		}
	}
	readyAfter := time.Since(healedAt)
	switch {
	case !ready:
		settledMaster = getGroup(t).Status.CurrentMaster
		violate("the group is not Ready %s after the heal (currentMaster %q)", readyAfter.Round(time.Second), settledMaster)
	case settledMaster != master:
		violate("after the heal the master is %s", settledMaster)
	}
	if role, err := func() (string, error) {
		c, err := resp.Dial(maddr, password, 3*time.Second)
		if err != nil {
			return "", err
		}
		defer c.Close()
		return roleOf(c)
	}(); err != nil || role != "master" {
		violate("after the heal %s answers ROLE %q %v from the host", master, role, err)
	}
	after := members(t)[master]
	if after == nil || after.UID != masterPod.UID {
		violate("the master's pod was replaced")
	} else if n := restarts(after); n != restartsBefore {
		violate("the master's container restarted (%d -> %d restarts)", restartsBefore, n)
	}
	if lf := getGroup(t).Status.LastFailover; !reflect.DeepEqual(lf, lastFailoverBefore) {
		violate("status.lastFailover changed: %+v", lf)
	}
	for name, e := range failoverEvents(t) {
		if eventsBefore[name] != e {
			violate("event %s", e)
		}
	}
	if ackedDuring == 0 {
		violate("no write was acknowledged during the partition (the master stopped taking writes)")
	}

	if masterRole == 0 {
		violate("%s never answered ROLE through %s's network", master, replicas[0])
	}
	if linkUp == 0 {
		violate("no replica ever answered INFO replication during the partition")
	}

	tally := func(m map[string]int) string {
		var parts []string
		for k, n := range m {
			parts = append(parts, fmt.Sprintf("%s x%d", k, n))
		}
		sort.Strings(parts)
		return strings.Join(parts, ", ")
	}
	kept := fmt.Sprintf("master %s kept", master)
	if settledMaster != master {
		kept = fmt.Sprintf("master %s -> %s", master, settledMaster)
	}
	readyWord := fmt.Sprintf("Ready %s after heal", readyAfter.Round(100*time.Millisecond))
	if !ready {
		readyWord = fmt.Sprintf("not Ready %s after heal", readyAfter.Round(time.Second))
	}
	outcome := "no failover"
	if len(violations) > 0 {
		outcome = fmt.Sprintf("%d violations", len(violations))
	}
	record(fmt.Sprintf("operator-partition: %s, %s, host cut off %s, replica links up %d/%d (%d unanswered), ROLE master %d/%d (%d unanswered), acked during %d, longest write gap %s, Available [%s], MasterAvailable [%s], %s",
		kept, outcome, partitionEnd.Sub(at).Round(100*time.Millisecond), linkUp, samples*len(replicas), linkUnanswered, masterRole, samples, roleUnanswered,
		ackedDuring, pause.Round(10*time.Millisecond), tally(availability), tally(verdicts), readyWord))
	if len(violations) > 0 {
		t.Errorf("operator partitioned from a healthy master: %d violations, first: %s", len(violations), violations[0])
	}
}

// restarts returns the total restart count of a pod's containers.
func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}
