package nodeclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/tlsconf/testpki"
)

// startTLSOnly starts the server binary at path listening with TLS only
// (port 0) on a free loopback port, with the files of a certificate ca
// issued, and returns its address.
func startTLSOnly(t *testing.T, path string, files testpki.Files) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(path, "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", t.TempDir(), "--save", "", "--requirepass", "pw",
		"--tls-cert-file", files.Cert, "--tls-key-file", files.Key, "--tls-ca-cert-file", files.CA)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s did not start: %v", path, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRESPOverTLS runs the client against redis-server 7.0 and replnode
// ($REPLNODE_BIN) listening with TLS only and requiring client
// certificates: with the operator's kind of configuration (the CA, a
// client certificate, no host name check) every call works and
// ServedCertificate reports the server's certificate; without TLS, or
// without a client certificate, the node cannot be reached.
func TestRESPOverTLS(t *testing.T) {
	servers := map[string]string{}
	if p, err := exec.LookPath("redis-server"); err == nil {
		servers["redis-server"] = p
	}
	if bin := os.Getenv("REPLNODE_BIN"); bin != "" {
		servers["replnode"] = bin
	}
	if len(servers) == 0 {
		t.Skip("neither redis-server nor REPLNODE_BIN")
	}
	for name, path := range servers {
		t.Run(name, func(t *testing.T) {
			ca := testpki.NewCA(t, "ca")
			server := ca.Issue(t, "node")
			files := testpki.WriteFiles(t, t.TempDir(), "tls", ca, server)
			addr := startTLSOnly(t, path, files)
			operator := ca.Issue(t, "operator")
			kp, err := tls.X509KeyPair(operator.CertPEM, operator.KeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca.Cert)
			cfg := &tls.Config{Certificates: []tls.Certificate{kp}, InsecureSkipVerify: true,
				VerifyConnection: func(cs tls.ConnectionState) error {
					_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool})
					return err
				}}
			ctx := context.Background()
			c := &RESP{Timeout: 10 * time.Second}
			n := Node{Addr: addr, Password: "pw", TLS: cfg}
			if err := c.Ping(ctx, n); err != nil {
				t.Fatalf("Ping over TLS: %v", err)
			}
			if r, err := c.Role(ctx, n); err != nil || r.Role != "master" {
				t.Fatalf("Role over TLS: %+v %v", r, err)
			}
			if err := c.ConfigSet(ctx, n, "tls-cert-file", files.Cert); err != nil {
				t.Fatalf("ConfigSet tls-cert-file over TLS: %v", err)
			}
			der, err := c.ServedCertificate(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(server.CertPEM)
			if !bytes.Equal(der, block.Bytes) {
				t.Fatal("ServedCertificate is not the server's certificate")
			}

			if err := c.Ping(ctx, Node{Addr: addr, Password: "pw"}); err == nil {
				t.Error("a plain connection to the TLS-only port answered")
			}
			if der, err := c.ServedCertificate(ctx, Node{Addr: addr}); der != nil || err != nil {
				t.Errorf("ServedCertificate without TLS = %v, %v; want nil, nil", der, err)
			}
			noCert := cfg.Clone()
			noCert.Certificates = nil
			if err := c.Ping(ctx, Node{Addr: addr, Password: "pw", TLS: noCert}); err == nil {
				t.Error("a node requiring client certificates answered a client without one")
			}
		})
	}
}
