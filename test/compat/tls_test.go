package compat

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/tlsconf/testpki"
)

// ------ TLS: REDIS-CLI, REPLICATION BOTH WAYS, CERTIFICATE ROTATION ------

// tlsPKI is one CA with the certificates of two servers and a client, in
// the cert-manager layout (ca.crt, <name>.crt, <name>.key) under one
// directory each.
type tlsPKI struct {
	ca     *testpki.CA
	node   map[string]testpki.Files
	client testpki.Files
}

func newTLSPKI(t *testing.T, nodes ...string) *tlsPKI {
	p := &tlsPKI{ca: testpki.NewCA(t, "compat-ca"), node: map[string]testpki.Files{}}
	for _, n := range nodes {
		p.node[n] = testpki.WriteFiles(t, t.TempDir(), "tls", p.ca, p.ca.Issue(t, n))
	}
	p.client = testpki.WriteFiles(t, t.TempDir(), "client", p.ca, p.ca.Issue(t, "client"))
	return p
}

// tlsArgs are a server's tls-* directives for f on tls-port port, with the
// plain port off.
func tlsArgs(f testpki.Files, port int) []string {
	return []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--tls-cert-file", f.Cert, "--tls-key-file", f.Key, "--tls-ca-cert-file", f.CA,
		"--enable-debug-command", "yes"}
}

// tlsCli runs redis-cli --tls against port presenting f's certificate
// (f.Cert == "": none).
func tlsCli(port int, f testpki.Files, args ...string) (string, error) {
	full := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "--tls", "--cacert", f.CA}
	if f.Cert != "" {
		full = append(full, "--cert", f.Cert, "--key", f.Key)
	}
	out, err := exec.Command("redis-cli", append(full, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// startTLSServer runs bin on a TLS-only port and waits for PING over TLS.
func startTLSServer(t *testing.T, bin string, client testpki.Files, port int, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			logged, _ := os.ReadFile(logPath)
			t.Logf("log of %s on %d:\n%s", filepath.Base(bin), port, lastLines(strings.Split(strings.TrimRight(string(logged), "\n"), "\n"), 40))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if out, _ := tlsCli(port, client, "PING"); out == "PONG" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s on TLS port %d never answered PING", bin, port)
}

// tlsInfo runs INFO section over TLS and returns its fields.
func tlsInfo(t *testing.T, port int, client testpki.Files, section string) map[string]string {
	t.Helper()
	out, err := tlsCli(port, client, "INFO", section)
	if err != nil {
		t.Fatalf("INFO %s on %d: %v: %s", section, port, err, out)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	return fields
}

// TestTLSRedisCli runs the same redis-cli --tls session against replnode
// and redis-server 7.0, both TLS-only (port 0), and requires the same
// output; then both refuse a client without certificate under
// tls-auth-clients yes and accept it under optional.
func TestTLSRedisCli(t *testing.T) {
	requireRedis(t)
	p := newTLSPKI(t, "ours", "theirs")
	ours, theirs := freePort(t), freePort(t)
	startTLSServer(t, replnodeBinary(t), p.client, ours, tlsArgs(p.node["ours"], ours)...)
	startTLSServer(t, "redis-server", p.client, theirs, tlsArgs(p.node["theirs"], theirs)...)

	for _, step := range [][]string{
		{"PING"},
		{"SET", "k", "v"},
		{"GET", "k"},
		{"INCR", "n"},
		{"CONFIG", "GET", "tls-auth-clients"},
		{"CONFIG", "GET", "port"},
		{"CONFIG", "SET", "tls-protocols", "TLSv1.2 SSLv3"},
		{"CONFIG", "SET", "tls-ca-cert-file", "/does/not/exist"},
		{"CONFIG", "SET", "tls-ciphers", "NOT-A-CIPHER"},
		{"CONFIG", "SET", "tls-auth-clients", "maybe"},
		{"CONFIG", "SET", "tls-protocols", "TLSv1.2"},
		{"PING"},
		{"CONFIG", "SET", "tls-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"},
		{"PING"},
		{"CONFIG", "GET", "tls-ciphers"},
		{"CONFIG", "SET", "tls-protocols", ""},
		{"CONFIG", "GET", "tls-protocols"},
		{"PING"},
	} {
		got, _ := tlsCli(ours, p.client, step...)
		want, _ := tlsCli(theirs, p.client, step...)
		if got != want {
			t.Errorf("redis-cli --tls %v:\nreplnode:\n%s\nredis-server:\n%s", step, got, want)
		}
	}
	// Moving tls-port onto a port in use: the same refusal, the old port kept.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	got, _ := tlsCli(ours, p.client, "CONFIG", "SET", "tls-port", busyPort)
	want, _ := tlsCli(theirs, p.client, "CONFIG", "SET", "tls-port", busyPort)
	if got != want {
		t.Errorf("CONFIG SET tls-port <busy>:\nreplnode:\n%s\nredis-server:\n%s", got, want)
	}
	for port, name := range map[int]string{ours: "replnode", theirs: "redis-server"} {
		if f := tlsInfo(t, port, p.client, "server"); f["tcp_port"] != strconv.Itoa(port) {
			t.Errorf("%s: INFO tcp_port %q with port 0, want the tls-port %d", name, f["tcp_port"], port)
		}
	}

	noCert := testpki.Files{CA: p.client.CA}
	for port, name := range map[int]string{ours: "replnode", theirs: "redis-server"} {
		if out, _ := tlsCli(port, noCert, "PING"); out == "PONG" {
			t.Errorf("%s with tls-auth-clients yes answered a client without certificate", name)
		}
		// A certificate of another CA is refused too.
		foreignCA := testpki.NewCA(t, "foreign")
		foreign := testpki.WriteFiles(t, t.TempDir(), "client", foreignCA, foreignCA.Issue(t, "client"))
		foreign.CA = p.client.CA
		if out, _ := tlsCli(port, foreign, "PING"); out == "PONG" {
			t.Errorf("%s answered a client whose certificate another CA signed", name)
		}
		if out, err := tlsCli(port, p.client, "CONFIG", "SET", "tls-auth-clients", "optional"); out != "OK" {
			t.Fatalf("%s: CONFIG SET tls-auth-clients optional: %v %s", name, err, out)
		}
		if out, _ := tlsCli(port, noCert, "PING"); out != "PONG" {
			t.Errorf("%s with tls-auth-clients optional refused a client without certificate: %s", name, out)
		}
		// Plain RESP on the TLS port gets no reply.
		if out, _ := cli(port, "PING"); out == "PONG" {
			t.Errorf("%s answered plain RESP on its TLS port", name)
		}
	}
}

// recordingProxy forwards one TCP port to another and keeps every byte
// that crosses it, both ways.
type recordingProxy struct {
	port int
	mu   sync.Mutex
	seen bytes.Buffer
}

func startRecordingProxy(t *testing.T, target int) *recordingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &recordingProxy{port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(target))
			if err != nil {
				in.Close()
				continue
			}
			t.Cleanup(func() { in.Close(); out.Close() })
			go p.pump(in, out)
			go p.pump(out, in)
		}
	}()
	return p
}

func (p *recordingProxy) pump(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.seen.Write(buf[:n])
			p.mu.Unlock()
			if _, werr := to.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	from.Close()
	to.Close()
}

func (p *recordingProxy) bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.seen.Bytes())
}

// TestTLSReplicationInterop runs replnode and redis-server 7.0 as master
// and replica of each other over TLS (tls-replication yes, both TLS-only)
// under redis-benchmark --tls write load, the link passing through a proxy
// that records it: at the end both hold the same data (DEBUG DIGEST) at
// the same offset, and nothing the proxy saw is plaintext RESP.
func TestTLSReplicationInterop(t *testing.T) {
	requireRedis(t)
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		t.Skip("redis-benchmark not installed")
	}
	servers := map[string]string{"replnode": replnodeBinary(t), "redis-server": "redis-server"}
	for _, c := range []struct {
		master, replica string
		diskless        bool
	}{{"replnode", "redis-server", true}, {"redis-server", "replnode", true}, {"redis-server", "replnode", false}} {
		name := c.master + " master, " + c.replica + " replica"
		if !c.diskless {
			name += ", disk-based full sync"
		}
		t.Run(name, func(t *testing.T) {
			p := newTLSPKI(t, "master", "replica")
			mport, rport := freePort(t), freePort(t)
			masterArgs := tlsArgs(p.node["master"], mport)
			if !c.diskless {
				masterArgs = append(masterArgs, "--repl-diskless-sync", "no")
			}
			startTLSServer(t, servers[c.master], p.client, mport, masterArgs...)
			proxy := startRecordingProxy(t, mport)
			startTLSServer(t, servers[c.replica], p.client, rport, append(tlsArgs(p.node["replica"], rport),
				"--tls-replication", "yes", "--replicaof", "127.0.0.1", strconv.Itoa(proxy.port))...)
			waitUntil(t, 30*time.Second, "the replica's link up", func() bool {
				return tlsInfo(t, rport, p.client, "replication")["master_link_status"] == "up"
			})

			bench := exec.Command("redis-benchmark", "-h", "127.0.0.1", "-p", strconv.Itoa(mport),
				"--tls", "--cacert", p.client.CA, "--cert", p.client.Cert, "--key", p.client.Key,
				"-t", "set,incr,lpush,hset,zadd,mset", "-n", "20000", "-r", "5000", "-c", "10", "-P", "4", "-q")
			if out, err := bench.CombinedOutput(); err != nil {
				t.Fatalf("redis-benchmark --tls: %v\n%s", err, out)
			}
			if out, err := tlsCli(mport, p.client, "SET", "marker:plaintext-probe", "this value must not cross in clear"); out != "OK" {
				t.Fatalf("SET: %v %s", err, out)
			}
			waitUntil(t, 30*time.Second, "equal offsets", func() bool {
				return tlsInfo(t, mport, p.client, "replication")["master_repl_offset"] ==
					tlsInfo(t, rport, p.client, "replication")["master_repl_offset"]
			})
			md, _ := tlsCli(mport, p.client, "DEBUG", "DIGEST")
			rd, _ := tlsCli(rport, p.client, "DEBUG", "DIGEST")
			if md != rd || md == strings.Repeat("0", 40) || len(md) != 40 {
				t.Fatalf("digests differ or empty: master %s, replica %s", md, rd)
			}
			if got := tlsInfo(t, mport, p.client, "replication")["connected_slaves"]; got != "1" {
				t.Fatalf("master connected_slaves = %s", got)
			}

			seen := proxy.bytes()
			if len(seen) < 64<<10 {
				t.Fatalf("the proxy saw only %d bytes: the replication did not go through it", len(seen))
			}
			// Whole RESP frames, not bare "SET": a 3-byte string turns up by
			// chance in megabytes of ciphertext (about 0.7 times in 12 MB).
			for _, plain := range []string{"*3\r\n$3\r\nSET\r\n", "$3\r\nset\r\n", "*1\r\n$4\r\nPING\r\n",
				"PSYNC", "REPLCONF", "FULLRESYNC", "REDIS0010", "marker:plaintext-probe", "must not cross"} {
				if i := bytes.Index(seen, []byte(plain)); i >= 0 {
					t.Fatalf("plaintext %q on the replication link at byte %d of %d", plain, i, len(seen))
				}
			}
			t.Logf("%s -> %s over TLS: digest %s, %d encrypted bytes on the link", c.master, c.replica, md, len(seen))
		})
	}
}

// servedSerial returns the serial of the certificate the server on port
// presents to a new connection.
func servedSerial(t *testing.T, port int, p *tlsPKI) *big.Int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	kp, err := tls.LoadX509KeyPair(p.client.Cert, p.client.Key)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{kp}})
	if err != nil {
		t.Fatalf("TLS dial %d: %v", port, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestTLSCertificateRotation rewrites a server's certificate files in
// place, as the kubelet updates a mounted Secret, and reloads them with
// CONFIG SET tls-cert-file <same path>: replnode, like redis-server, keeps
// the old certificate until then and serves the new one to new
// connections after, while a connection made before keeps working.
func TestTLSCertificateRotation(t *testing.T) {
	requireRedis(t)
	servers := map[string]string{"replnode": replnodeBinary(t), "redis-server": "redis-server"}
	for _, name := range []string{"replnode", "redis-server"} {
		t.Run(name, func(t *testing.T) {
			p := newTLSPKI(t, "node")
			port := freePort(t)
			startTLSServer(t, servers[name], p.client, port, tlsArgs(p.node["node"], port)...)
			before := servedSerial(t, port, p)

			// A long-lived client (redis-cli reading commands from stdin).
			held := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "--tls",
				"--cacert", p.client.CA, "--cert", p.client.Cert, "--key", p.client.Key)
			stdin, _ := held.StdinPipe()
			var heldOut bytes.Buffer
			held.Stdout = &heldOut
			if err := held.Start(); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(stdin, "SET before rotation")
			time.Sleep(300 * time.Millisecond)

			rotated := p.ca.Issue(t, "node")
			f := p.node["node"]
			if err := os.WriteFile(f.Cert, rotated.CertPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.Key, rotated.KeyPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			if s := servedSerial(t, port, p); s.Cmp(before) != 0 {
				t.Fatalf("the certificate changed before CONFIG SET")
			}
			if out, err := tlsCli(port, p.client, "CONFIG", "SET", "tls-cert-file", f.Cert, "tls-key-file", f.Key); out != "OK" {
				t.Fatalf("CONFIG SET tls-cert-file: %v %s", err, out)
			}
			if s := servedSerial(t, port, p); s.Cmp(rotated.Cert.SerialNumber) != 0 {
				t.Fatalf("after CONFIG SET the server presents serial %v, want the rotated %v", s, rotated.Cert.SerialNumber)
			}
			fmt.Fprintln(stdin, "GET before")
			stdin.Close()
			if err := held.Wait(); err != nil {
				t.Fatalf("the connection made before the rotation: %v", err)
			}
			if got := strings.Fields(heldOut.String()); len(got) != 2 || got[0] != "OK" || got[1] != "rotation" {
				t.Fatalf("the connection made before the rotation answered %q", heldOut.String())
			}
		})
	}
}

// TestRecordingProxySeesPlainReplication is the control of the plaintext
// check above: the same proxy on a plain replication link does find the
// RESP frames and the marker value.
func TestRecordingProxySeesPlainReplication(t *testing.T) {
	requireRedis(t)
	bin := replnodeBinary(t)
	mport, rport := freePort(t), freePort(t)
	startServer(t, bin, mport, "--port", strconv.Itoa(mport), "--bind", "127.0.0.1", "--save", "")
	proxy := startRecordingProxy(t, mport)
	startServer(t, bin, rport, "--port", strconv.Itoa(rport), "--bind", "127.0.0.1", "--save", "",
		"--replicaof", "127.0.0.1", strconv.Itoa(proxy.port))
	waitUntil(t, 30*time.Second, "the replica's link up", func() bool {
		return infoFields(t, rport, "replication")["master_link_status"] == "up"
	})
	if out, err := cli(mport, "SET", "marker:plaintext-probe", "this value must not cross in clear"); out != "OK" {
		t.Fatalf("SET: %v %s", err, out)
	}
	waitUntil(t, 10*time.Second, "the marker on the replica", func() bool {
		out, _ := cli(rport, "GET", "marker:plaintext-probe")
		return out != ""
	})
	seen := proxy.bytes()
	for _, plain := range []string{"*3\r\n$3\r\nSET\r\n", "PSYNC", "REPLCONF", "marker:plaintext-probe"} {
		if !bytes.Contains(seen, []byte(plain)) {
			t.Errorf("the proxy did not see %q on a plain link (%d bytes)", plain, len(seen))
		}
	}
}
