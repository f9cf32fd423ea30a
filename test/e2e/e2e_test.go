package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/test/internal/ackwriter"
	"github.com/replnode/replnode/test/internal/resp"
)

// The sample group of config/samples.
const (
	namespace = "default"
	group     = "cache"
	password  = "change-me"
)

// ------ CLUSTER VIEW ------

// getGroup fetches the sample ReplicationGroup.
func getGroup(t *testing.T) *replnodev1alpha1.ReplicationGroup {
	t.Helper()
	return getGroupNamed(t, group)
}

// getGroupNamed fetches the ReplicationGroup name in the suite's namespace.
func getGroupNamed(t *testing.T, name string) *replnodev1alpha1.ReplicationGroup {
	t.Helper()
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, rg); err != nil {
		t.Fatalf("get ReplicationGroup %s: %v", name, err)
	}
	return rg
}

// members returns the sample group's pods by name.
func members(t *testing.T) map[string]*corev1.Pod {
	t.Helper()
	return membersOf(t, group)
}

// membersOf returns the pods of group name by pod name.
func membersOf(t *testing.T, name string) map[string]*corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := kube.List(context.Background(), &pods, client.InNamespace(namespace), client.MatchingLabels{"replnode.io/group": name}); err != nil {
		t.Fatalf("list pods: %v", err)
	}
	out := map[string]*corev1.Pod{}
	for i := range pods.Items {
		out[pods.Items[i].Name] = &pods.Items[i]
	}
	return out
}

// masterEndpoint returns the address of the ready endpoint of the sample
// group's master Service, or "" when it has none (or several).
func masterEndpoint() string { return masterEndpointOf(group) }

// masterEndpointOf returns the address of the ready endpoint of the
// <name>-master Service, or "" when it has none (or several).
func masterEndpointOf(name string) string {
	var slices discoveryv1.EndpointSliceList
	if err := kube.List(context.Background(), &slices, client.InNamespace(namespace), client.MatchingLabels{"kubernetes.io/service-name": name + "-master"}); err != nil {
		return ""
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
		return ""
	}
	return addrs[0] + ":6379"
}

// settled reports whether the sample group is Ready with the given master
// (any master when want is "") and every member reported ready, and the
// master Service points at that master's pod.
func settled(t *testing.T, want string) (string, bool) { return settledGroup(t, group, want) }

// settledGroup is settled for group name.
func settledGroup(t *testing.T, name, want string) (string, bool) {
	rg := getGroupNamed(t, name)
	if !apimeta.IsStatusConditionTrue(rg.Status.Conditions, "Ready") || rg.Status.CurrentMaster == "" {
		return "", false
	}
	if want != "" && rg.Status.CurrentMaster != want {
		return "", false
	}
	if len(rg.Status.Members) != 3 {
		return "", false
	}
	for _, m := range rg.Status.Members {
		if !m.Ready {
			return "", false
		}
	}
	pod := membersOf(t, name)[rg.Status.CurrentMaster]
	if pod == nil || pod.Status.PodIP == "" || masterEndpointOf(name) != pod.Status.PodIP+":6379" {
		return "", false
	}
	return rg.Status.CurrentMaster, true
}

// waitFor polls cond every 250ms until it is true or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// waitSettled waits for settled(want) and returns the master.
func waitSettled(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	return waitGroupSettled(t, group, want, timeout)
}

// waitGroupSettled waits for settledGroup(name, want) and returns the master.
func waitGroupSettled(t *testing.T, name, want string, timeout time.Duration) string {
	t.Helper()
	var master string
	waitFor(t, timeout, "group "+name+" Ready with master "+want, func() bool {
		m, ok := settledGroup(t, name, want)
		master = m
		return ok
	})
	return master
}

// command runs one command on addr with a fresh connection.
func command(addr string, args ...string) (any, error) {
	c, err := resp.Dial(addr, password, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Do(args...)
}

// info returns INFO section of addr as text.
func info(addr, section string) string {
	v, err := command(addr, "INFO", section)
	if err != nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

// ------ LOAD WRITER ------

// errNoMasterEndpoint: the master Service has no single ready endpoint.
var errNoMasterEndpoint = errors.New("the master Service has no single ready endpoint")

// dialMasterService connects from the host to the master Service's endpoint.
func dialMasterService() (*resp.Conn, error) {
	addr := masterEndpoint()
	if addr == "" {
		return nil, errNoMasterEndpoint
	}
	return resp.Dial(addr, password, 3*time.Second)
}

// startWriter starts the WAIT-acknowledged load writer (e2e:<n> = <n>)
// against the master Service from the host; stop it with Finish.
func startWriter() *ackwriter.Writer {
	return startWriterVia(dialMasterService)
}

// startWriterVia starts the load writer over connections from connect.
func startWriterVia(connect func() (*resp.Conn, error)) *ackwriter.Writer {
	return ackwriter.Start("e2e:", connect)
}

// missing returns how many of keys the master at addr does not have,
// logging the first few.
func missing(t *testing.T, addr string, keys []string) int {
	t.Helper()
	c, err := resp.Dial(addr, password, 10*time.Second)
	if err != nil {
		t.Fatalf("dial master %s: %v", addr, err)
	}
	defer c.Close()
	lost, err := ackwriter.Missing(c, keys)
	if err != nil {
		t.Fatalf("MGET on %s: %v", addr, err)
	}
	for _, key := range lost[:min(5, len(lost))] {
		t.Logf("acknowledged key %s is missing on the master %s", key, addr)
	}
	return len(lost)
}

// ------ DUAL-MASTER WATCH ------

// dualWatch samples every member's ROLE; when two members answer master
// and both accept a probe write in the same sample, it counts an episode.
type dualWatch struct {
	mu       sync.Mutex
	episodes int
	inDual   bool
	stop     chan struct{}
	done     chan struct{}
}

// startDualWatch starts sampling the pods returned by addrs.
func startDualWatch(addrs func() []string) *dualWatch {
	d := &dualWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		for {
			select {
			case <-d.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			writable := 0
			for _, a := range addrs() {
				c, err := resp.Dial(a, password, 500*time.Millisecond)
				if err != nil {
					continue
				}
				if r, err := c.Do("ROLE"); err == nil {
					if arr, ok := r.([]any); ok && len(arr) > 0 && arr[0] == "master" {
						if _, err := c.Do("SET", "e2e:probe", a); err == nil {
							writable++
						}
					}
				}
				c.Close()
			}
			d.mu.Lock()
			if writable >= 2 && !d.inDual {
				d.episodes++
			}
			d.inDual = writable >= 2
			d.mu.Unlock()
		}
	}()
	return d
}

// finish stops the watch and returns the dual-master episodes seen.
func (d *dualWatch) finish() int {
	close(d.stop)
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.episodes
}

// ------ MEASUREMENTS ------

// results collects what the suite measured, for the summary and report.
var results struct {
	lines  []string
	detail []string
}

// record adds a summary line (printed and written to E2E_REPORT).
func record(line string) {
	fmt.Println(line)
	results.lines = append(results.lines, line)
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1)*p/100 + 0.5)
	return s[i]
}

// reportKeptMarker starts the part of E2E_REPORT that writeReport keeps:
// notes and earlier measurements written by hand.
const reportKeptMarker = "<!-- kept by make e2e: everything below -->"

// writeReport writes the measurements to E2E_REPORT when it is set.
func writeReport(t *testing.T) {
	path := os.Getenv("E2E_REPORT")
	if path == "" {
		return
	}
	var b strings.Builder
	b.WriteString("# Failover measurements (test/e2e)\n\n")
	fmt.Fprintf(&b, "Measured by `make e2e` on %s UTC: local cluster (hack/localcluster, 3 nodes), real operator (bin/manager on the host), real replnode pods, config/samples (master + 2 replicas, masterDownAfter 3s, minReplicasToWrite 1, minReplicasMaxLag 2). Machine: 2 shared cores.\n\n", time.Now().UTC().Format("2006-01-02 15:04"))
	b.WriteString("RTO is the longest gap between two writes acknowledged by `WAIT 1 2000` around the fault (the writer sleeps 20ms between writes).\n\n```\n")
	for _, l := range results.lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n\n## Each fault\n\n```\n")
	for _, l := range results.detail {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n")
	// Analysis written by hand below the marker survives the rewrite.
	if prev, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(prev), reportKeptMarker); i >= 0 {
			b.WriteString("\n" + string(prev[i:]))
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("write %s: %v", path, err)
	}
}

// failoverCount is E2E_FAILOVERS, default 4.
func failoverCount(t *testing.T) int {
	n := 4
	if v := os.Getenv("E2E_FAILOVERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			t.Fatalf("E2E_FAILOVERS=%q: want a count", v)
		}
	}
	return n
}

// ------ THE SUITE ------

// TestEndToEnd applies config/samples and runs the scenarios in order on
// the same group (each leaves it settled for the next); the gentlest go
// first, so one that breaks the group does not hide the others' results.
func TestEndToEnd(t *testing.T) {
	if out, err := kubectl("apply", "-n", namespace, "-k", filepath.Join(repoRoot, "config/samples")); err != nil {
		t.Fatalf("apply config/samples: %v\n%s", err, out)
	}
	defer writeReport(t)
	start := time.Now()
	master := waitSettled(t, "", 3*time.Minute)
	t.Logf("group Ready with master %s after %s", master, time.Since(start).Round(time.Millisecond))

	t.Run("replication", func(t *testing.T) { testReplication(t) })
	t.Run("switchover", func(t *testing.T) { testSwitchover(t) })
	t.Run("operator-partition", func(t *testing.T) { testOperatorPartition(t) })
	t.Run("node-stop", func(t *testing.T) { testNodeStop(t) })
	t.Run("failover", func(t *testing.T) { testFailovers(t) })
	t.Run("workloads-failover", func(t *testing.T) { testWorkloadsFailover(t) })
	t.Run("security", func(t *testing.T) { testSecurity(t) })
	// Its own groups, MinIO on the bridge: leaves the sample group alone.
	t.Run("backup-restore", func(t *testing.T) { testBackupRestore(t) })
	// Last: it switches the group to spec.persistence aof.
	t.Run("restart-all", func(t *testing.T) { testRestartAll(t) })
}

// testReplication: a master and two replicas; a key written to the master
// is readable on both replicas.
func testReplication(t *testing.T) {
	master := waitSettled(t, "", 2*time.Minute)
	pods := members(t)
	if len(pods) != 3 {
		t.Fatalf("want 3 member pods, have %d", len(pods))
	}
	maddr := pods[master].Status.PodIP + ":6379"
	// min-replicas-to-write counts a replica only after its first
	// REPLCONF ACK, so the first write may get NOREPLICAS for a second.
	var firstErr error
	waitFor(t, 30*time.Second, "SET accepted by the master "+master, func() bool {
		r, err := command(maddr, "SET", "e2e:replication", "hello")
		if firstErr == nil {
			firstErr = err
		}
		return err == nil && r == "OK"
	})
	if firstErr != nil {
		t.Logf("the master refused the first SET after Ready (accepted on retry): %v", firstErr)
	}
	for name, p := range pods {
		if name == master {
			continue
		}
		addr := p.Status.PodIP + ":6379"
		if role := resp.InfoField(info(addr, "replication"), "role"); role != "slave" {
			t.Errorf("%s: role %q, want slave", name, role)
		}
		waitFor(t, 30*time.Second, "e2e:replication on "+name, func() bool {
			v, err := command(addr, "GET", "e2e:replication")
			return err == nil && v == "hello"
		})
	}
}

// memberAddrs returns every member's address from the API (for the watch).
func memberAddrs(t *testing.T) func() []string {
	return func() []string {
		var pods corev1.PodList
		if err := kube.List(context.Background(), &pods, client.InNamespace(namespace), client.MatchingLabels{"replnode.io/group": group}); err != nil {
			return nil
		}
		var out []string
		for _, p := range pods.Items {
			if p.Status.PodIP != "" {
				out = append(out, p.Status.PodIP+":6379")
			}
		}
		return out
	}
}

// syncFull returns the sync_full counter of a member.
func syncFull(addr string) int {
	n, _ := strconv.Atoi(resp.InfoField(info(addr, "stats"), "sync_full"))
	return n
}

// testFailovers deletes the master's pod (odd rounds) or kills its process
// (even rounds) E2E_FAILOVERS times under a WAIT-acknowledged load.
func testFailovers(t *testing.T) {
	rounds := failoverCount(t)
	w := startWriter()
	dual := startDualWatch(memberAddrs(t))
	var rtos []time.Duration
	ok, lostTotal, fullTotal, done := 0, 0, 0, 0
	// The summary is recorded even when a round fails the test.
	defer func() {
		if done < rounds {
			w.Finish()
			record(fmt.Sprintf("failover: %d/%d ok (stopped after round %d of %d: it did not recover), rto p50=%s p99=%s, acked lost %d, dual-master %d, full resyncs %d",
				ok, rounds, done+1, rounds, percentile(rtos, 50).Round(100*time.Millisecond), percentile(rtos, 99).Round(100*time.Millisecond), lostTotal, dual.finish(), fullTotal))
		}
	}()
	for i := 0; i < rounds; i++ {
		old := waitSettled(t, "", 3*time.Minute)
		waitFor(t, time.Minute, "acknowledged writes before the fault", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
		pods := members(t)
		syncBefore := map[string]int{}
		for name, p := range pods {
			syncBefore[name] = syncFull(p.Status.PodIP + ":6379")
		}
		fault := "kill"
		at := time.Now()
		if i%2 == 1 {
			if _, err := faults.KillPod(context.Background(), namespace, old, "replnode"); err != nil {
				t.Fatalf("round %d: kill %s: %v", i+1, old, err)
			}
		} else {
			fault = "delete-pod"
			if err := kube.Delete(context.Background(), pods[old]); err != nil {
				t.Fatalf("round %d: delete %s: %v", i+1, old, err)
			}
		}
		// Let the fault take effect before looking for the settled state.
		time.Sleep(2 * time.Second)
		master := waitSettled(t, "", 3*time.Minute)
		settledAt := time.Now()
		waitFor(t, time.Minute, "an acknowledged write after the failover", func() bool { return w.AckedAfter(settledAt) })
		recovered := time.Now()
		rto := w.Outage(at, recovered)
		rtos = append(rtos, rto)
		lost := missing(t, masterEndpoint(), w.Acked())
		// Full resyncs served by the (new) master to members other than
		// the one that was just faulted.
		full := 0
		if mp := members(t)[master]; mp != nil && master != old {
			full = syncFull(mp.Status.PodIP+":6379") - syncBefore[master]
			if full > 0 {
				full-- // the faulted old master rejoining may need one
			}
		} else if mp != nil {
			full = syncFull(mp.Status.PodIP + ":6379") // restarted: counts from 0
		}
		lostTotal += lost
		fullTotal += full
		if lost == 0 && full == 0 {
			ok++
		}
		line := fmt.Sprintf("round %2d %-10s master %s -> %s  rto %s  acked lost %d  full resyncs %d", i+1, fault, old, master, rto.Round(10*time.Millisecond), lost, full)
		t.Log(line)
		results.detail = append(results.detail, line)
		done++
	}
	w.Finish()
	dualEpisodes := dual.finish()
	record(fmt.Sprintf("failover: %d/%d ok, rto p50=%s p99=%s, acked lost %d, dual-master %d, full resyncs %d",
		ok, rounds, percentile(rtos, 50).Round(100*time.Millisecond), percentile(rtos, 99).Round(100*time.Millisecond), lostTotal, dualEpisodes, fullTotal))
	if lostTotal > 0 {
		t.Errorf("%d acknowledged writes lost", lostTotal)
	}
	if dualEpisodes > 0 {
		t.Errorf("%d episodes with two writable masters", dualEpisodes)
	}
	if fullTotal > 0 {
		t.Errorf("%d full resyncs of replicas that were not faulted", fullTotal)
	}
}

// testNodeStop stops the master's node: a replica takes over; when the
// node returns, the old master becomes a replica of the new one.
func testNodeStop(t *testing.T) {
	old := waitSettled(t, "", 3*time.Minute)
	w := startWriter()
	defer w.Finish()
	waitFor(t, time.Minute, "acknowledged writes", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
	node := members(t)[old].Spec.NodeName
	at := time.Now()
	if _, err := faults.StopNode(context.Background(), node); err != nil {
		t.Fatalf("stop node %s: %v", node, err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_, _ = faults.HealAll(context.Background())
		}
	}()
	var master string
	waitFor(t, 3*time.Minute, "a new master while "+node+" is stopped", func() bool {
		rg := getGroup(t)
		master = rg.Status.CurrentMaster
		return master != "" && master != old && masterEndpoint() != ""
	})
	promotedAt := time.Now()
	waitFor(t, time.Minute, "an acknowledged write after the failover", func() bool { return w.AckedAfter(promotedAt) })
	rto := w.Outage(at, time.Now())
	if _, err := faults.ResumeNode(context.Background(), node); err != nil {
		t.Fatalf("resume node %s: %v", node, err)
	}
	resumed = true
	waitSettled(t, master, 3*time.Minute)
	// The old master returns as a replica, or the operator has replaced
	// the member it fenced with a new one (then the old pod is gone).
	outcome := ""
	waitFor(t, 2*time.Minute, old+" back as a replica or replaced", func() bool {
		p := members(t)[old]
		if p == nil {
			if _, ok := settled(t, master); ok {
				outcome = "old master replaced by a new member"
				return true
			}
			return false
		}
		if p.Status.PodIP == "" {
			return false
		}
		if resp.InfoField(info(p.Status.PodIP+":6379", "replication"), "role") == "slave" {
			outcome = "old master back as replica"
			return true
		}
		return false
	})
	lost := missing(t, masterEndpoint(), w.Acked())
	record(fmt.Sprintf("node-stop: master %s on %s -> %s, rto %s, %s, acked lost %d", old, node, master, rto.Round(100*time.Millisecond), outcome, lost))
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost", lost)
	}
}
