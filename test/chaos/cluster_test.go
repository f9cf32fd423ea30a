package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/hack/localcluster/podnet"
	"github.com/replnode/replnode/test/internal/resp"
)

// The group under test (testdata/replicationgroup.yaml): the sample's shape
// (config/samples), a master and 2 replicas, minReplicasToWrite 1,
// minReplicasMaxLag 2, masterDownAfter 3s, without the sample's maxmemory
// (its eviction of the suite's keys looked like data loss).
const (
	namespace  = "default"
	group      = "cache"
	password   = "change-me"
	clientPod  = "chaos-client"
	downAfter  = 3 * time.Second
	opTimeout  = 2 * time.Second
	waitMillis = "1000"
)

// createGroup applies the suite's group (the Secret and the
// ReplicationGroup) and checks it is the shape the scenarios assume.
func createGroup() error {
	if out, err := kubectl("apply", "-f", filepath.Join(repoRoot, "test/chaos/testdata/replicationgroup.yaml")); err != nil {
		return fmt.Errorf("apply the group: %v: %s", err, out)
	}
	rg, err := getGroup()
	if err != nil {
		return err
	}
	if rg.Spec.MinReplicasToWrite == nil || *rg.Spec.MinReplicasToWrite != 1 || rg.Spec.Failover.MasterDownAfter == nil || rg.Spec.Failover.MasterDownAfter.Duration != downAfter {
		return fmt.Errorf("testdata/replicationgroup.yaml changed shape (minReplicasToWrite 1, masterDownAfter %s assumed): %+v", downAfter, rg.Spec)
	}
	if _, ok := rg.Spec.Config["maxmemory"]; ok {
		return fmt.Errorf("the chaos group must not set maxmemory: eviction of the suite's keys reads as data loss")
	}
	return nil
}

// createClientPod starts the pod whose network namespace the clients and
// the sampler dial from: a partition can put them on either side.
func createClientPod() error {
	grace := int64(1)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: clientPod},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "main", Image: "chaos-client", Command: []string{"sh", "-c", "sleep 86400"}}},
		},
	}
	if err := kube.Create(context.Background(), p); err != nil {
		return err
	}
	return poll(3*time.Minute, "the client pod running", func() bool {
		return clientNetns() != ""
	})
}

// clientNetns returns the client pod's network namespace path, or "".
func clientNetns() string {
	var p corev1.Pod
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: clientPod}, &p); err != nil || p.Status.PodIP == "" {
		return ""
	}
	network, err := podnet.NewNetwork(cfg.Bridge, cfg.PodCIDR)
	if err != nil {
		return ""
	}
	path := podnet.NamespacePath(network.NamespaceName(string(p.UID)))
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

// poll checks cond every 250ms until it holds or timeout passes.
func poll(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
}

// getGroup fetches the group.
func getGroup() (*replnodev1alpha1.ReplicationGroup, error) {
	rg := &replnodev1alpha1.ReplicationGroup{}
	return rg, kube.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: group}, rg)
}

// patchGroup applies change to the group with a merge patch.
func patchGroup(change func(*replnodev1alpha1.ReplicationGroup)) error {
	rg, err := getGroup()
	if err != nil {
		return err
	}
	patch := client.MergeFrom(rg.DeepCopy())
	change(rg)
	return kube.Patch(context.Background(), rg, patch)
}

// memberPods returns the group's pods by name.
func memberPods() map[string]*corev1.Pod {
	var pods corev1.PodList
	out := map[string]*corev1.Pod{}
	if err := kube.List(context.Background(), &pods, client.InNamespace(namespace), client.MatchingLabels{"replnode.io/group": group}); err != nil {
		return out
	}
	for i := range pods.Items {
		out[pods.Items[i].Name] = &pods.Items[i]
	}
	return out
}

// masterEndpoint returns the one ready endpoint of the master Service, or "".
func masterEndpoint() string {
	var slices discoveryv1.EndpointSliceList
	if err := kube.List(context.Background(), &slices, client.InNamespace(namespace), client.MatchingLabels{"kubernetes.io/service-name": group + "-master"}); err != nil {
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

// settled returns the master when the group is Ready with every member
// ready and the master Service on the master's pod.
func settled() (string, bool) {
	rg, err := getGroup()
	if err != nil || !apimeta.IsStatusConditionTrue(rg.Status.Conditions, "Ready") || rg.Status.CurrentMaster == "" || len(rg.Status.Members) != 3 {
		return "", false
	}
	for _, m := range rg.Status.Members {
		if !m.Ready {
			return "", false
		}
	}
	pod := memberPods()[rg.Status.CurrentMaster]
	if pod == nil || pod.Status.PodIP == "" || masterEndpoint() != pod.Status.PodIP+":6379" {
		return "", false
	}
	return rg.Status.CurrentMaster, true
}

// waitSettled waits for settled and returns the master.
func waitSettled(timeout time.Duration) (string, error) {
	var master string
	err := poll(timeout, "the group Ready", func() bool {
		m, ok := settled()
		master = m
		return ok
	})
	return master, err
}

// dialFromClients connects to addr from the client pod's network.
func dialFromClients(addr string, timeout time.Duration) (*resp.Conn, error) {
	ns := clientNetns()
	if ns == "" {
		return nil, fmt.Errorf("the client pod has no network namespace")
	}
	return resp.DialIn(ns, addr, password, timeout)
}

// ------ MEMBER NAMES ------

// memberNames maps the member addresses seen during a run to pod names.
type memberNames struct {
	mu  sync.Mutex
	ips map[string]string
}

// refresh records the current pods' addresses.
func (m *memberNames) refresh() map[string]*corev1.Pod {
	pods := memberPods()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ips == nil {
		m.ips = map[string]string{}
	}
	for name, p := range pods {
		if p.Status.PodIP != "" {
			m.ips[p.Status.PodIP] = name
		}
	}
	return pods
}

// name returns the member at ip ("ip:<ip>" when unknown).
func (m *memberNames) name(ip string) string {
	m.mu.Lock()
	n, ok := m.ips[ip]
	m.mu.Unlock()
	if !ok {
		m.refresh()
		m.mu.Lock()
		n, ok = m.ips[ip]
		m.mu.Unlock()
	}
	if !ok {
		return "ip:" + ip
	}
	return n
}

// laddrIP returns the IP of laddr= in a CLIENT INFO line: the server's own
// address on this connection, so the member that answered.
func laddrIP(clientInfo string) string {
	for _, f := range strings.Fields(clientInfo) {
		if v, ok := strings.CutPrefix(f, "laddr="); ok {
			if i := strings.LastIndex(v, ":"); i > 0 {
				return v[:i]
			}
			return v
		}
	}
	return ""
}

// ------ CLIENTS ------

// clients runs the concurrent workers of one round.
type clients struct {
	h     *History
	names *memberNames
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startClients starts n workers against the master Service.
func startClients(h *History, names *memberNames, n int, round int) *clients {
	c := &clients{h: h, names: names, stop: make(chan struct{})}
	for i := 0; i < n; i++ {
		c.wg.Add(1)
		go c.worker(i, round)
	}
	return c
}

// finish stops the workers and waits for them.
func (c *clients) finish() {
	close(c.stop)
	c.wg.Wait()
}

// keys of client i in round r: a register, a counter and a prefix for the
// WAIT-acknowledged fresh keys.
func regKey(r, i int) string     { return fmt.Sprintf("chaos:%d:%d:reg", r, i) }
func ctrKey(r, i int) string     { return fmt.Sprintf("chaos:%d:%d:ctr", r, i) }
func wsetKey(r, i, n int) string { return fmt.Sprintf("chaos:%d:%d:w:%d", r, i, n) }

// worker cycles wset, set, incr, get on its own keys, one op at a time,
// reconnecting to the master Service's endpoint after any error. The loop
// ends when stop closes; each op is bounded by opTimeout.
func (c *clients) worker(i, round int) {
	defer c.wg.Done()
	var conn *resp.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	seq := int64(0)
	addr := "" // the endpoint conn was dialed to
	for n := 0; ; n++ {
		select {
		case <-c.stop:
			return
		default:
		}
		if conn == nil {
			addr = masterEndpoint()
			if addr == "" {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			var err error
			if conn, err = dialFromClients(addr, opTimeout); err != nil {
				conn = nil
				time.Sleep(100 * time.Millisecond)
				continue
			}
		}
		seq++
		var op Op
		switch n % 4 {
		case 0:
			op = Op{Kind: WaitSet, Key: wsetKey(round, i, int(seq)), Value: seq}
		case 1:
			op = Op{Kind: Set, Key: regKey(round, i), Value: seq}
		case 2:
			op = Op{Kind: Incr, Key: ctrKey(round, i)}
		default:
			op = Op{Kind: Get, Key: regKey(round, i)}
		}
		op.Client, op.Addr = i, addr
		op = c.do(conn, op)
		c.h.Add(op)
		if op.Outcome != OK {
			conn.Close()
			conn = nil
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// do runs one op as MULTI; <op>; CLIENT INFO; EXEC (then WAIT for writes) and
// classifies it: an error reply is Fail (EXEC ran nothing, or the command
// was refused), an I/O error once EXEC may have been sent is Unknown, one
// before that is Fail (nothing was executed).
func (c *clients) do(conn *resp.Conn, in Op) (op Op) {
	op = in
	op.Invoke = c.h.Now()
	defer func() { op.Complete = c.h.Now() }() // op is the named result: the caller sees it
	var cmd []string
	switch op.Kind {
	case WaitSet, Set:
		cmd = []string{"SET", op.Key, strconv.FormatInt(op.Value, 10)}
	case Incr:
		cmd = []string{"INCR", op.Key}
	case Get:
		cmd = []string{"GET", op.Key}
	}
	for _, step := range [][]string{{"MULTI"}, cmd, {"CLIENT", "INFO"}} {
		if _, err := conn.Do(step...); err != nil {
			op.Outcome, op.Err = Fail, err.Error()
			return op
		}
	}
	reply, err := conn.Do("EXEC")
	if err != nil {
		if _, isReply := err.(resp.ErrReply); isReply {
			op.Outcome = Fail
		} else {
			op.Outcome = Unknown
		}
		op.Err = err.Error()
		return op
	}
	arr, ok := reply.([]any)
	if !ok || len(arr) != 2 {
		op.Outcome, op.Err = Fail, fmt.Sprintf("EXEC answered %v", reply)
		return op
	}
	if e, isErr := arr[0].(resp.ErrReply); isErr {
		op.Outcome, op.Err = Fail, string(e)
		return op
	}
	info, _ := arr[1].(string)
	op.Member = c.names.name(laddrIP(info))
	switch op.Kind {
	case Incr:
		op.Value, _ = arr[0].(int64)
	case Get:
		s, _ := arr[0].(string)
		op.Value, _ = strconv.ParseInt(s, 10, 64) // nil reads as 0: absent
	}
	op.Outcome, op.OKAt = OK, c.h.Now()
	// Every write is followed by WAIT: replication is asynchronous, so only
	// a write some replica has acknowledged is promised to survive a
	// failover (the linearizability check holds the others as unknown).
	if op.IsWrite() {
		n, err := conn.Do("WAIT", "1", waitMillis)
		if err != nil {
			// The write is applied; only the acknowledgement is unknown.
			op.Err = "WAIT: " + err.Error()
			return op
		}
		if v, _ := n.(int64); v >= 1 {
			op.Acked = true
		}
	}
	return op
}

// ------ SAMPLER ------

// sampler polls every member (from the client pod's network) every 100ms.
type sampler struct {
	h         *History
	names     *memberNames
	mu        sync.Mutex
	samples   []Sample
	endpoints []EndpointChange
	stop      chan struct{}
	done      chan struct{}
}

// startSampler starts polling.
func startSampler(h *History, names *memberNames) *sampler {
	s := &sampler{h: h, names: names, stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	go s.watchEndpoint()
	return s
}

// watchEndpoint records every change of the master Service's ready
// endpoint, read as the clients read it (masterEndpoint) every 50ms, for
// the failover timeline; apart from the members' so that a frozen member
// does not slow it.
func (s *sampler) watchEndpoint() {
	last := "unset"
	for {
		addr := masterEndpoint()
		if addr != last {
			s.mu.Lock()
			s.endpoints = append(s.endpoints, EndpointChange{At: s.h.Now(), Addr: addr})
			s.mu.Unlock()
			last = addr
		}
		select {
		case <-s.stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// loop samples until stop.
func (s *sampler) loop() {
	defer close(s.done)
	// Every 100ms: a switchover followed at once by a failover can demote
	// and re-promote the old master within a few hundred ms, and the
	// dual-writable check sees that interruption only through a sample
	// (it flagged such a round at 500ms). The pod list is refreshed every
	// 500ms.
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var pods map[string]*corev1.Pod
	for tick := 0; ; tick++ {
		if tick%5 == 0 || pods == nil {
			pods = s.names.refresh()
		}
		var wg sync.WaitGroup
		for name, p := range pods {
			if p.Status.PodIP == "" {
				continue
			}
			wg.Add(1)
			go func(name, ip string) {
				defer wg.Done()
				if smp, ok := sampleMember(ip); ok {
					smp.At, smp.Member = s.h.Now(), name
					s.mu.Lock()
					s.samples = append(s.samples, smp)
					s.mu.Unlock()
				}
			}(name, p.Status.PodIP)
		}
		wg.Wait()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// sampleMember reads run_id, role, sync_full and DBSIZE of one member.
func sampleMember(ip string) (Sample, bool) {
	c, err := dialFromClients(ip+":6379", 500*time.Millisecond)
	if err != nil {
		return Sample{}, false
	}
	defer c.Close()
	v, err := c.Do("INFO")
	if err != nil {
		return Sample{}, false
	}
	info, _ := v.(string)
	n, err := c.Do("DBSIZE")
	if err != nil {
		return Sample{}, false
	}
	keys, _ := n.(int64)
	sf, _ := strconv.ParseInt(resp.InfoField(info, "sync_full"), 10, 64)
	smp := Sample{RunID: resp.InfoField(info, "run_id"), Role: resp.InfoField(info, "role"), Keys: keys, SyncFull: sf,
		Link: resp.InfoField(info, "master_link_status"), NoContactMs: -1}
	if ms, err := strconv.ParseInt(resp.InfoField(info, "master_no_contact_ms"), 10, 64); err == nil {
		smp.NoContactMs = ms
	} else if secs, err := strconv.ParseInt(resp.InfoField(info, "master_last_io_seconds_ago"), 10, 64); err == nil && secs >= 0 {
		smp.NoContactMs = secs * 1000
	}
	return smp, true
}

// finish stops the sampler and returns the samples and the master
// endpoint's changes.
func (s *sampler) finish() ([]Sample, []EndpointChange) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...), append([]EndpointChange(nil), s.endpoints...)
}

// ------ READING BACK ------

// readBack reads keys from addr (from the client pod's network) with MGET.
func readBack(addr string, keys []string) (map[string]string, error) {
	c, err := dialFromClients(addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := map[string]string{}
	for start := 0; start < len(keys); start += 500 {
		end := min(start+500, len(keys))
		v, err := c.Do(append([]string{"MGET"}, keys[start:end]...)...)
		if err != nil {
			return nil, err
		}
		arr, _ := v.([]any)
		for i, x := range arr {
			if s, ok := x.(string); ok {
				out[keys[start+i]] = s
			}
		}
	}
	return out, nil
}
