package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/replnode/tlsconf/testpki"
	"github.com/replnode/replnode/test/internal/ackwriter"
	"github.com/replnode/replnode/test/internal/resp"
)

// ------ SECURITY: spec.tls AND spec.users ------

// secGroup is the security scenario's own group, beside the sample one.
const secGroup = "secure"

// secretWord returns a random password, unique enough to be looked for in
// every log and event of the run.
func secretWord(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// secClient reaches the secure group's members over TLS as the test's
// client certificate, trusting the test CA (no host name, as Redis).
type secClient struct {
	tls *tls.Config
}

// newSecClient builds the TLS configuration of the test's connections.
func newSecClient(ca *testpki.CA, pair testpki.Pair) *secClient {
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &secClient{tls: &tls.Config{
		Certificates:       []tls.Certificate{cert},
		InsecureSkipVerify: true, // the chain is checked below, never the name
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			return err
		},
	}}
}

// dial opens a TLS connection to addr and authenticates as user.
func (s *secClient) dial(addr, user, password string) (*resp.Conn, error) {
	d := &net.Dialer{Timeout: 3 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, s.tls)
	if err != nil {
		return nil, err
	}
	c, err := resp.Handshake(conn, "", 3*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := c.Do("AUTH", user, password); err != nil {
		c.Close()
		return nil, fmt.Errorf("AUTH %s: %w", user, err)
	}
	return c, nil
}

// do runs one command on addr as user with a fresh connection.
func (s *secClient) do(addr, user, password string, args ...string) (any, error) {
	c, err := s.dial(addr, user, password)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Do(args...)
}

// servedSerial returns the serial number of the certificate addr presents.
func (s *secClient) servedSerial(addr string) (*big.Int, error) {
	d := &net.Dialer{Timeout: 3 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, s.tls)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// podAddr returns a pod's server address.
func podAddr(p *corev1.Pod) string { return p.Status.PodIP + ":6379" }

// restartCount returns the server container's restart count.
func restartCount(p *corev1.Pod) int32 {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == "replnode" {
			return cs.RestartCount
		}
	}
	return -1
}

// capture records the TCP traffic of port 6379 on the cluster's bridge
// (every pod's link, replication included) with Debian's tcpdump.
type capture struct {
	cmd  *exec.Cmd
	path string
	errs bytes.Buffer
}

// startCapture starts tcpdump on the traffic of port 6379 to and from
// the pods at ips, and waits until it listens.
func startCapture(t *testing.T, name string, ips []string) *capture {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatalf("tcpdump is not installed (make test-deps: apt-get install -y tcpdump)")
	}
	c := &capture{path: filepath.Join(t.TempDir(), name+".pcap")}
	filter := "tcp port 6379 and (host " + strings.Join(ips, " or host ") + ")"
	c.cmd = exec.Command("tcpdump", "-i", cfg.Bridge, "-U", "-n", "-s", "0", "-w", c.path, filter)
	c.cmd.Stderr = &c.errs
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	waitFor(t, 30*time.Second, "tcpdump listening", func() bool { return strings.Contains(c.errs.String(), "listening on") })
	return c
}

// stop ends the capture and returns what it recorded.
func (c *capture) stop(t *testing.T) []byte {
	t.Helper()
	_ = c.cmd.Process.Signal(os.Interrupt)
	_ = c.cmd.Wait()
	data, err := os.ReadFile(c.path)
	if err != nil {
		t.Fatalf("reading the capture: %v (tcpdump: %s)", err, c.errs.String())
	}
	return data
}

// testSecurity: a group with spec.tls (a CA and certificate made here, in
// cert-manager's Secret layout) and two spec.users, one read-only. The
// read-only user gets -NOPERM on a write and the other writes; replication
// is up on every member, over TLS only (no plaintext port, and a capture of
// the bridge shows no plaintext RESP); replicas authenticate as
// replnode-replication; a master killed under load fails over with no
// write acknowledged by WAIT lost; a renewed certificate is served with no
// pod restarted; the reader's password rotated in its Secret replaces the
// old one on every member. Then no password of the run appears in any log (the
// operator's, every pod's, the control plane's) or event, nor in the
// group's status, ConfigMap or kubectl describe.
func testSecurity(t *testing.T) {
	ctx := context.Background()
	groupPW, roPW, rwPW := secretWord(t, "grp"), secretWord(t, "ro"), secretWord(t, "rw")
	ca := testpki.NewCA(t, "e2e-secure-ca")
	first := ca.Issue(t, secGroup)
	sc := newSecClient(ca, ca.Issue(t, "e2e-client"))

	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "secure-auth", Namespace: namespace}, Data: map[string][]byte{"password": []byte(groupPW)}},
		{ObjectMeta: metav1.ObjectMeta{Name: "secure-ro", Namespace: namespace}, Data: map[string][]byte{"password": []byte(roPW)}},
		{ObjectMeta: metav1.ObjectMeta{Name: "secure-rw", Namespace: namespace}, Data: map[string][]byte{"password": []byte(rwPW)}},
		{ObjectMeta: metav1.ObjectMeta{Name: "secure-tls", Namespace: namespace}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": first.CertPEM, "tls.key": first.KeyPEM, "ca.crt": ca.CertPEM}},
	}
	for _, s := range secrets {
		if err := kube.Create(ctx, s); err != nil {
			t.Fatalf("create Secret %s: %v", s.Name, err)
		}
	}
	userRef := func(name string) corev1.SecretKeySelector {
		return corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "password"}
	}
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: secGroup, Namespace: namespace}}
	rg.Spec.Replicas = ptr.To[int32](2)
	rg.Spec.Image = "replnode"
	rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "secure-auth", Key: "password"}
	rg.Spec.TLS = &replnodev1alpha1.TLSSpec{SecretName: "secure-tls"}
	rg.Spec.Users = []replnodev1alpha1.UserSpec{
		{Name: "reader", Rules: "~* +@read +@connection", PasswordSecretKeyRef: userRef("secure-ro")},
		{Name: "writer", Rules: "~* &* +@all", PasswordSecretKeyRef: userRef("secure-rw")},
	}
	rg.Spec.MinReplicasToWrite = ptr.To[int32](1)
	rg.Spec.MinReplicasMaxLag = 2
	if err := kube.Create(ctx, rg); err != nil {
		t.Fatalf("create the secure group: %v", err)
	}
	defer func() {
		_ = kube.Delete(ctx, rg)
		for _, s := range secrets {
			_ = kube.Delete(ctx, s)
		}
	}()

	master := waitGroupSettled(t, secGroup, "", 4*time.Minute)
	waitFor(t, 2*time.Minute, "UsersApplied", func() bool {
		var g replnodev1alpha1.ReplicationGroup
		_ = kube.Get(ctx, client.ObjectKeyFromObject(rg), &g)
		return apimeta.IsStatusConditionTrue(g.Status.Conditions, replnodev1alpha1.ConditionUsersApplied)
	})
	pods := membersOf(t, secGroup)
	maddr := podAddr(pods[master])
	t.Logf("secure group Ready, master %s", master)

	// The capture of the secure group's members, and a control one of the
	// sample group's (plaintext on the same bridge), which must show RESP.
	var secureIPs, plainIPs []string
	for _, p := range pods {
		secureIPs = append(secureIPs, p.Status.PodIP)
	}
	for _, p := range members(t) {
		plainIPs = append(plainIPs, p.Status.PodIP)
	}
	cap := startCapture(t, "secure", secureIPs)
	control := startCapture(t, "control", plainIPs)
	capStopped := false
	defer func() {
		if !capStopped {
			cap.stop(t)
			control.stop(t)
		}
	}()

	// The read-only user reads and may not write; the writer writes.
	waitFor(t, 30*time.Second, "a SET as writer", func() bool {
		r, err := sc.do(maddr, "writer", rwPW, "SET", "secure:marker", "PLAINTEXT-MARKER-0")
		return err == nil && r == "OK"
	})
	if _, err := sc.do(maddr, "reader", roPW, "SET", "secure:ro", "x"); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("SET as reader: %v, want -NOPERM", err)
	}
	if v, err := sc.do(maddr, "reader", roPW, "GET", "secure:marker"); err != nil || v != "PLAINTEXT-MARKER-0" {
		t.Fatalf("GET as reader: %v %v", v, err)
	}
	if _, err := sc.do(maddr, "reader", rwPW, "GET", "secure:marker"); err == nil {
		t.Fatal("the reader authenticated with the writer's password")
	}
	if d, err := net.DialTimeout("tcp", pods[master].Status.PodIP+":6379", 3*time.Second); err == nil {
		// A plaintext client gets no RESP answer from a TLS-only port.
		_ = d.SetDeadline(time.Now().Add(3 * time.Second))
		_, _ = d.Write([]byte("PING\r\n"))
		buf := make([]byte, 64)
		n, _ := d.Read(buf)
		d.Close()
		if strings.Contains(string(buf[:n]), "PONG") || strings.Contains(string(buf[:n]), "NOAUTH") {
			t.Fatalf("the master answered plaintext RESP: %q", buf[:n])
		}
	}

	// Replication is up on every member, over TLS (the members listen on
	// nothing else: port 0, tls-replication yes).
	waitFor(t, time.Minute, "replication up on both replicas over TLS", func() bool {
		mi, err := sc.do(maddr, "writer", rwPW, "INFO", "replication")
		if err != nil || resp.InfoField(mi.(string), "connected_slaves") != "2" {
			return false
		}
		for name, p := range pods {
			if name == master {
				continue
			}
			ri, err := sc.do(podAddr(p), "writer", rwPW, "INFO", "replication")
			if err != nil || resp.InfoField(ri.(string), "master_link_status") != "up" {
				return false
			}
		}
		return true
	})
	for name, p := range pods {
		for param, want := range map[string]string{"port": "0", "tls-replication": "yes", "tls-port": "6379"} {
			v, err := sc.do(podAddr(p), "writer", rwPW, "CONFIG", "GET", param)
			if arr, _ := v.([]any); err != nil || len(arr) != 2 || arr[1] != want {
				t.Fatalf("%s: CONFIG GET %s = %v %v, want %s", name, param, v, err, want)
			}
		}
	}

	// Load through the master Service, killed master, failover under TLS.
	connect := func() (*resp.Conn, error) {
		addr := masterEndpointOf(secGroup)
		if addr == "" {
			return nil, errNoMasterEndpoint
		}
		return sc.dial(addr, "writer", rwPW)
	}
	w := startWriterVia(connect)
	waitFor(t, time.Minute, "writes acknowledged under TLS", func() bool { return len(w.Acked()) >= 50 })
	for i := 1; i <= 20; i++ {
		if _, err := sc.do(maddr, "writer", rwPW, "SET", fmt.Sprintf("secure:marker:%d", i), fmt.Sprintf("PLAINTEXT-MARKER-%d", i)); err != nil {
			t.Fatalf("marker write: %v", err)
		}
	}
	data := cap.stop(t)
	plain := control.stop(t)
	capStopped = true
	if !bytes.Contains(plain, []byte("REPLCONF")) {
		t.Fatalf("the control capture of the plaintext sample group (%d bytes) holds no REPLCONF: the capture method sees nothing", len(plain))
	}
	records := bytes.Count(data, []byte{0x17, 0x03, 0x03})
	t.Logf("capture: %d bytes, %d TLS application-data record headers", len(data), records)
	if records < 100 {
		t.Fatalf("the capture holds %d TLS records: it did not see the traffic (tcpdump: %s)", records, cap.errs.String())
	}
	for _, text := range []string{"*3\r\n$3\r\nSET", "*3\r\n$3\r\nset", "REPLCONF", "PSYNC", "PLAINTEXT-MARKER", "e2e:1", groupPW, roPW, rwPW} {
		if bytes.Contains(data, []byte(text)) {
			t.Fatalf("plaintext %q on the secure group's port 6379", text)
		}
	}

	oldMaster := master
	kill := time.Now()
	var pod corev1.Pod
	if err := kube.Get(ctx, client.ObjectKey{Namespace: namespace, Name: oldMaster}, &pod); err != nil {
		t.Fatal(err)
	}
	if err := kube.Delete(ctx, &pod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatalf("delete the master: %v", err)
	}
	waitFor(t, 3*time.Minute, "a new master under TLS", func() bool {
		m, ok := settledGroup(t, secGroup, "")
		master = m
		return ok && m != oldMaster && w.AckedAfter(kill)
	})
	time.Sleep(2 * time.Second) // a few more acknowledged writes on the new master
	w.Finish()
	acked := w.Acked()
	pods = membersOf(t, secGroup)
	maddr = podAddr(pods[master])
	mc, err := sc.dial(maddr, "writer", rwPW)
	if err != nil {
		t.Fatalf("dial the new master %s under TLS: %v", master, err)
	}
	missed, err := ackwriter.Missing(mc, acked)
	mc.Close()
	if err != nil {
		t.Fatalf("MGET on %s: %v", master, err)
	}
	lost := len(missed)
	record(fmt.Sprintf("security: failover under TLS %s -> %s, %d writes acknowledged, %d lost, outage %s",
		oldMaster, master, len(acked), lost, w.Outage(kill, time.Now()).Round(time.Millisecond)))
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost in the failover under TLS", lost, len(acked))
	}
	// The replica repointed at the new master reconnected as the
	// replication user (masteruser, which the operator set on it earlier).
	// The old master's replacement is a new process: it linked to the
	// master Service as the default user before the operator reached it,
	// and switches at its next connection.
	for name, p := range pods {
		if name == master || name == oldMaster {
			continue
		}
		waitFor(t, time.Minute, name+" linked as replnode-replication", func() bool {
			v, _ := sc.do(maddr, "writer", rwPW, "CLIENT", "LIST", "TYPE", "replica")
			s, _ := v.(string)
			for _, line := range strings.Split(s, "\n") {
				if strings.Contains(line, "addr="+p.Status.PodIP+":") {
					return strings.Contains(line, " user=replnode-replication ")
				}
			}
			return false
		})
	}

	// A renewed certificate is served without restarting any pod.
	restarts := map[string]int32{}
	uids := map[string]string{}
	for name, p := range pods {
		restarts[name], uids[name] = restartCount(p), string(p.UID)
	}
	renewed := ca.Issue(t, secGroup)
	var tlsSecret corev1.Secret
	if err := kube.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "secure-tls"}, &tlsSecret); err != nil {
		t.Fatal(err)
	}
	tlsSecret.Data["tls.crt"], tlsSecret.Data["tls.key"] = renewed.CertPEM, renewed.KeyPEM
	if err := kube.Update(ctx, &tlsSecret); err != nil {
		t.Fatalf("renew the certificate: %v", err)
	}
	renewedAt := time.Now()
	waitFor(t, 3*time.Minute, "every member serving the renewed certificate", func() bool {
		for _, p := range pods {
			serial, err := sc.servedSerial(podAddr(p))
			if err != nil || serial.Cmp(renewed.Cert.SerialNumber) != 0 {
				return false
			}
		}
		return true
	})
	record(fmt.Sprintf("security: renewed certificate served by every member %s after the Secret update", time.Since(renewedAt).Round(time.Second)))
	for name, p := range membersOf(t, secGroup) {
		if uids[name] != string(p.UID) || restartCount(p) != restarts[name] {
			t.Fatalf("%s restarted for the renewal (uid %s -> %s, restarts %d -> %d)", name, uids[name], p.UID, restarts[name], restartCount(p))
		}
	}

	// The reader's password rotated in its Secret: every member takes the
	// new one and then refuses the old, status names the Secret version.
	roPW2 := secretWord(t, "ro2")
	var roSecret corev1.Secret
	if err := kube.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "secure-ro"}, &roSecret); err != nil {
		t.Fatal(err)
	}
	roSecret.Data["password"] = []byte(roPW2)
	if err := kube.Update(ctx, &roSecret); err != nil {
		t.Fatalf("rotate the reader's password: %v", err)
	}
	waitFor(t, 2*time.Minute, "the reader's new password on every member, the old one refused", func() bool {
		for _, p := range membersOf(t, secGroup) {
			if _, err := sc.do(podAddr(p), "reader", roPW2, "GET", "secure:marker"); err != nil {
				return false
			}
			if _, err := sc.do(podAddr(p), "reader", roPW, "PING"); err == nil {
				return false
			}
		}
		var g replnodev1alpha1.ReplicationGroup
		if err := kube.Get(ctx, client.ObjectKeyFromObject(rg), &g); err != nil {
			return false
		}
		for _, u := range g.Status.Users {
			if u.Name == "reader" {
				return u.SecretResourceVersion == roSecret.ResourceVersion && apimeta.IsStatusConditionTrue(g.Status.Conditions, replnodev1alpha1.ConditionUsersApplied)
			}
		}
		return false
	})

	// No password of the run anywhere it could leak.
	expectNoPasswords(t, []string{groupPW, roPW, rwPW, roPW2})
}

// expectNoPasswords greps every log of the local cluster (the operator's,
// each pod's container logs, the control plane's and the agent's), every
// event, and the secure group's status, ConfigMap and kubectl describe
// output for the passwords.
func expectNoPasswords(t *testing.T, passwords []string) {
	t.Helper()
	ctx := context.Background()
	check := func(where string, data []byte) {
		for _, pw := range passwords {
			if bytes.Contains(data, []byte(pw)) {
				t.Errorf("a password appears in %s", where)
			}
		}
	}
	logs := 0
	err := filepath.WalkDir(cfg.StateDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // a pod directory removed meanwhile
		}
		rel, _ := filepath.Rel(cfg.StateDir, p)
		if !strings.HasSuffix(p, ".log") && !strings.Contains(rel, "/logs/") && !strings.HasPrefix(rel, "logs/") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		logs++
		check("log "+rel, data)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", cfg.StateDir, err)
	}
	if logs < 5 {
		t.Fatalf("found only %d log files under %s", logs, cfg.StateDir)
	}
	var evs eventsv1.EventList
	if err := kube.List(ctx, &evs); err != nil {
		t.Fatal(err)
	}
	var core corev1.EventList
	if err := kube.List(ctx, &core); err != nil {
		t.Fatal(err)
	}
	evJSON, _ := json.Marshal(evs)
	coreJSON, _ := json.Marshal(core)
	check("events.k8s.io events", evJSON)
	check("core events", coreJSON)
	for _, args := range [][]string{
		{"describe", "replicationgroup", secGroup, "-n", namespace},
		{"get", "replicationgroup", secGroup, "-n", namespace, "-o", "yaml"},
		{"get", "configmap", secGroup + "-config", "-n", namespace, "-o", "yaml"},
		{"describe", "pods", "-n", namespace, "-l", "replnode.io/group=" + secGroup},
	} {
		out, err := kubectl(args...)
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		check("kubectl "+strings.Join(args, " "), []byte(out))
	}
	t.Logf("no password in %d log files, %d+%d events, status, ConfigMap or describe", logs, len(evs.Items), len(core.Items))
}
