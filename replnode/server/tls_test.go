package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/tlsconf/testpki"
)

// tlsNode is one of our servers listening on tls-port only (port 0).
type tlsNode struct {
	s     *Server
	port  int
	files testpki.Files
	log   *syncBuffer
}

// startTLSNode starts a TLS-only node whose certificate ca issued, with the
// files in a fresh directory.
func startTLSNode(t *testing.T, ca *testpki.CA, directives ...string) *tlsNode {
	t.Helper()
	files := testpki.WriteFiles(t, t.TempDir(), "tls", ca, ca.Issue(t, "node"))
	port := freePort(t)
	cfg := config.Default()
	all := append([]string{"port", "0", "tls-port", strconv.Itoa(port), "bind", "127.0.0.1",
		"tls-cert-file", files.Cert, "tls-key-file", files.Key, "tls-ca-cert-file", files.CA,
		"repl-diskless-sync-delay", "0"}, directives...)
	for i := 0; i+1 < len(all); i += 2 {
		if err := cfg.Set(all[i], strings.Fields(all[i+1]), true); err != nil {
			t.Fatalf("config %s %s: %v", all[i], all[i+1], err)
		}
	}
	_ = cfg.Set("save", []string{""}, true)
	s := New(cfg)
	buf := &syncBuffer{}
	s.Log.SetOutput(buf)
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v\n%s", err, buf.String())
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("log of node %d:\n%s", port, buf.String())
		}
	})
	return &tlsNode{s: s, port: port, files: files, log: buf}
}

// tlsClient is a RESP connection over TLS.
type tlsClient struct {
	conn *tls.Conn
	r    *bufio.Reader
}

// dialTLS connects to n presenting pair (nil: no certificate) and trusting
// ca, and completes the handshake.
func dialTLS(t *testing.T, port int, ca *testpki.CA, pair *testpki.Pair) (*tlsClient, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if pair != nil {
		kp, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &tlsClient{conn: conn, r: bufio.NewReader(conn)}, nil
}

// do sends a command and returns the first line of the reply (bulk
// replies: their content).
func (c *tlsClient) do(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	if _, err := c.conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return c.reply()
}

// reply reads one reply: a status or error line as sent, a bulk string's
// content, an array's elements one per line.
func (c *tlsClient) reply() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "$") && line != "$-1":
		n, _ := strconv.Atoi(line[1:])
		body := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, body); err != nil {
			return "", err
		}
		return string(body[:n]), nil
	case strings.HasPrefix(line, "*") && line != "*-1":
		n, _ := strconv.Atoi(line[1:])
		elems := make([]string, n)
		for i := range elems {
			if elems[i], err = c.reply(); err != nil {
				return "", err
			}
		}
		return strings.Join(elems, "\n"), nil
	}
	return line, nil
}

func TestTLSOnlyNodeServesClientsWithCertificates(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	n := startTLSNode(t, ca)
	app := ca.Issue(t, "app")
	c, err := dialTLS(t, n.port, ca, &app)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.do(t, "SET", "k", "v"); got != "+OK" {
		t.Fatalf("SET: %q", got)
	}
	if got, _ := c.do(t, "GET", "k"); got != "v" {
		t.Fatalf("GET: %q", got)
	}
	info, _ := c.do(t, "INFO", "server")
	if !strings.Contains(info, "tcp_port:"+strconv.Itoa(n.port)+"\r\n") {
		t.Errorf("INFO server with port 0 does not show tls-port %d as tcp_port:\n%s", n.port, info)
	}
	list, _ := c.do(t, "CLIENT", "LIST")
	if strings.Contains(list, "fd=-1") || !strings.Contains(list, "laddr=127.0.0.1:"+strconv.Itoa(n.port)) {
		t.Errorf("CLIENT LIST over TLS: %s", list)
	}

	// tls-auth-clients yes (the default): no certificate, no service.
	if c2, err := dialTLS(t, n.port, ca, nil); err == nil {
		if got, err := c2.do(t, "PING"); err == nil {
			t.Fatalf("a client without certificate got %q", got)
		}
	}
	// optional: no certificate is fine, a foreign one is not.
	if got, _ := c.do(t, "CONFIG", "SET", "tls-auth-clients", "optional"); got != "+OK" {
		t.Fatalf("CONFIG SET tls-auth-clients optional: %q", got)
	}
	c3, err := dialTLS(t, n.port, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c3.do(t, "PING"); got != "+PONG" {
		t.Fatalf("auth-clients optional, no certificate: %q", got)
	}
}

func TestTLSConfigSetReloadsCertificatesAndRollsBackFailures(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	n := startTLSNode(t, ca, "tls-auth-clients", "no")
	c, err := dialTLS(t, n.port, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() *big.Int {
		t.Helper()
		c2, err := dialTLS(t, n.port, ca, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c2.conn.ConnectionState().PeerCertificates[0].SerialNumber
	}
	first := serial()

	// A file that does not exist: refused, the old value and the old
	// certificate stay.
	got, _ := c.do(t, "CONFIG", "SET", "tls-cert-file", "/does/not/exist")
	if got != "-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs." {
		t.Fatalf("CONFIG SET of a missing certificate: %q", got)
	}
	if v, _ := c.do(t, "CONFIG", "GET", "tls-cert-file"); v != "tls-cert-file\n"+n.files.Cert {
		t.Fatalf("CONFIG GET tls-cert-file after the failed set: %q, want the old %s", v, n.files.Cert)
	}
	if s := serial(); s.Cmp(first) != 0 {
		t.Fatalf("the failed set changed the certificate")
	}
	if !strings.Contains(n.log.String(), "Failed to load certificate: /does/not/exist") {
		t.Errorf("the log does not say why:\n%s", n.log.String())
	}

	// Rotation in place, as a kubelet updates a mounted Secret: the same
	// path set again reloads it.
	rotated := ca.Issue(t, "node")
	if err := os.WriteFile(n.files.Cert, rotated.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.files.Key, rotated.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if s := serial(); s.Cmp(first) != 0 {
		t.Fatalf("the certificate changed before CONFIG SET")
	}
	if got, _ := c.do(t, "CONFIG", "SET", "tls-cert-file", n.files.Cert, "tls-key-file", n.files.Key); got != "+OK" {
		t.Fatalf("CONFIG SET tls-cert-file (same path): %q", got)
	}
	if s := serial(); s.Cmp(rotated.Cert.SerialNumber) != 0 {
		t.Fatalf("after CONFIG SET the node presents serial %v, want the rotated %v", s, rotated.Cert.SerialNumber)
	}
	// The connection made before the rotation keeps working.
	if got, _ := c.do(t, "PING"); got != "+PONG" {
		t.Fatalf("old connection after the reload: %q", got)
	}
}

func TestTLSStartupFailsWithoutUsableCertificates(t *testing.T) {
	cfg := config.Default()
	for _, kv := range [][2]string{{"port", "0"}, {"tls-port", strconv.Itoa(freePort(t))}, {"bind", "127.0.0.1"},
		{"tls-cert-file", "/does/not/exist"}, {"tls-key-file", "/does/not/exist"}, {"tls-auth-clients", "no"}} {
		if err := cfg.Set(kv[0], []string{kv[1]}, true); err != nil {
			t.Fatal(err)
		}
	}
	s := New(cfg)
	s.Log.SetOutput(&syncBuffer{})
	if err := s.Listen(); !errors.Is(err, errTLSConfigure) {
		s.Close()
		t.Fatalf("Listen with a missing certificate: %v, want %v", err, errTLSConfigure)
	}
}

func TestTLSReplication(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	master := startTLSNode(t, ca, "enable-debug-command", "local")
	replica := startTLSNode(t, ca, "tls-replication", "yes")
	app := ca.Issue(t, "app")
	mc, err := dialTLS(t, master.port, ca, &app)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := dialTLS(t, replica.port, ca, &app)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if got, err := mc.do(t, "SET", "key:"+strconv.Itoa(i), strconv.Itoa(i)); got != "+OK" {
			t.Fatalf("SET: %q %v", got, err)
		}
	}
	if got, _ := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.port)); got != "+OK" {
		t.Fatalf("REPLICAOF: %q", got)
	}
	if got, err := mc.do(t, "SET", "after", "sync"); got != "+OK" {
		t.Fatalf("SET: %q %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := rc.do(t, "INFO", "replication")
		v, _ := rc.do(t, "GET", "after")
		if strings.Contains(info, "master_link_status:up") && v == "sync" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TLS replica did not sync:\n%s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The master lists the replica at its tls-port (REPLCONF
	// listening-port with tls-replication).
	info, _ := mc.do(t, "INFO", "replication")
	if !strings.Contains(info, "port="+strconv.Itoa(replica.port)+",") {
		t.Errorf("the master does not list the replica's tls-port %d:\n%s", replica.port, info)
	}
}

func TestTLSReplicationRefusesAMasterOfAnotherCA(t *testing.T) {
	master := startTLSNode(t, testpki.NewCA(t, "impostor"), "tls-auth-clients", "no")
	ca := testpki.NewCA(t, "ca")
	replica := startTLSNode(t, ca, "tls-replication", "yes")
	app := ca.Issue(t, "app")
	rc, err := dialTLS(t, replica.port, ca, &app)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.port)); got != "+OK" {
		t.Fatalf("REPLICAOF: %q", got)
	}
	time.Sleep(1500 * time.Millisecond)
	info, _ := rc.do(t, "INFO", "replication")
	if !strings.Contains(info, "master_link_status:down") {
		t.Fatalf("a replica linked to a master whose certificate its CA did not sign:\n%s", info)
	}
	if !strings.Contains(replica.log.String(), "certificate") {
		t.Errorf("the replica's log does not say the certificate was refused:\n%s", replica.log.String())
	}
}

// TestTLSRefusalDoesNotHoldTheAcceptLoop: over maxclients a connection is
// refused with an error written over TLS, which first waits for the
// client's handshake. A client that connects and sends nothing must not
// stop the node from refusing (or accepting) the next ones.
func TestTLSRefusalDoesNotHoldTheAcceptLoop(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	n := startTLSNode(t, ca, "maxclients", "1")
	app := ca.Issue(t, "app")
	first, err := dialTLS(t, n.port, ca, &app)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := first.do(t, "PING"); got != "+PONG" {
		t.Fatalf("PING: %q", got)
	}
	silent, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(n.port))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(100 * time.Millisecond)
	done := make(chan string, 1)
	go func() {
		c, err := dialTLS(t, n.port, ca, &app)
		if err != nil {
			done <- err.Error()
			return
		}
		line, err := c.reply()
		if err != nil {
			done <- err.Error()
			return
		}
		done <- line
	}()
	select {
	case got := <-done:
		if got != "-ERR max number of clients reached" {
			t.Fatalf("a client over maxclients got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a client over maxclients got no answer: the accept loop waits for the silent connection's handshake")
	}
}

// TestTLSConfigSetPortMovesTheListener: CONFIG SET tls-port opens the new
// port and closes the old one, as applyTLSPort; a port that cannot be
// opened is refused with Redis's error and the old one keeps serving; on a
// node without TLS it loads the certificates first.
func TestTLSConfigSetPortMovesTheListener(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	n := startTLSNode(t, ca, "tls-auth-clients", "no")
	c, err := dialTLS(t, n.port, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	moved := freePort(t)
	if got, _ := c.do(t, "CONFIG", "SET", "tls-port", strconv.Itoa(moved)); got != "+OK" {
		t.Fatalf("CONFIG SET tls-port: %q", got)
	}
	c2, err := dialTLS(t, moved, ca, nil)
	if err != nil {
		t.Fatalf("the new tls-port does not answer: %v", err)
	}
	if got, _ := c2.do(t, "PING"); got != "+PONG" {
		t.Fatalf("PING on the new port: %q", got)
	}
	if _, err := dialTLS(t, n.port, ca, nil); err == nil {
		t.Fatal("the old tls-port still accepts connections")
	}
	if got, _ := c.do(t, "PING"); got != "+PONG" {
		t.Fatalf("a connection made on the old port: %q", got)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	got, _ := c2.do(t, "CONFIG", "SET", "tls-port", strconv.Itoa(busyPort))
	if got != "-ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port. Check server logs." {
		t.Fatalf("CONFIG SET tls-port to a busy port: %q", got)
	}
	if v, _ := c2.do(t, "CONFIG", "GET", "tls-port"); v != "tls-port\n"+strconv.Itoa(moved) {
		t.Fatalf("tls-port after the refused change: %q", v)
	}
	if _, err := dialTLS(t, moved, ca, nil); err != nil {
		t.Fatalf("the tls-port before the refused change does not answer: %v", err)
	}
	// A certificate set in the same refused CONFIG SET is not served.
	before, err := dialTLS(t, moved, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := testpki.WriteFiles(t, t.TempDir(), "tls", ca, ca.Issue(t, "node"))
	got, _ = c2.do(t, "CONFIG", "SET", "tls-cert-file", other.Cert, "tls-key-file", other.Key, "tls-port", strconv.Itoa(busyPort))
	if !strings.Contains(got, "Unable to listen on this port") {
		t.Fatalf("CONFIG SET of certificates and a busy tls-port: %q", got)
	}
	after, err := dialTLS(t, moved, ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := after.conn.ConnectionState().PeerCertificates[0], before.conn.ConnectionState().PeerCertificates[0]; !a.Equal(b) {
		t.Fatal("the certificate of a refused CONFIG SET is served")
	}

	// A plain node: tls-port loads the certificates set before.
	plain := startNode(t)
	pc, pr := dialRaw(t, "127.0.0.1:"+strconv.Itoa(plain.port))
	send := func(args ...string) string {
		var b strings.Builder
		b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
		for _, a := range args {
			b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
		}
		if _, err := pc.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		return readLine(t, pr)
	}
	tp := freePort(t)
	if got := send("CONFIG", "SET", "tls-port", strconv.Itoa(tp)); !strings.Contains(got, "Unable to update TLS configuration") {
		t.Fatalf("CONFIG SET tls-port without certificates: %q", got)
	}
	files := testpki.WriteFiles(t, t.TempDir(), "tls", ca, ca.Issue(t, "node"))
	if got := send("CONFIG", "SET", "tls-cert-file", files.Cert, "tls-key-file", files.Key, "tls-ca-cert-file", files.CA, "tls-auth-clients", "no"); got != "+OK" {
		t.Fatalf("CONFIG SET the certificate files: %q", got)
	}
	if got := send("CONFIG", "SET", "tls-port", strconv.Itoa(tp)); got != "+OK" {
		t.Fatalf("CONFIG SET tls-port with certificates: %q", got)
	}
	tc, err := dialTLS(t, tp, ca, nil)
	if err != nil {
		t.Fatalf("the tls-port opened by CONFIG SET does not answer: %v", err)
	}
	if got, _ := tc.do(t, "PING"); got != "+PONG" {
		t.Fatalf("PING over the new TLS port: %q", got)
	}
}
