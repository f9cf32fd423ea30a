package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignedLeafVerifiesAgainstCA checks that a serving certificate chains to
// its CA for each of its names and that it round-trips through files.
func TestSignedLeafVerifiesAgainstCA(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Sign(CertRequest{CommonName: "kube-apiserver", DNSNames: []string{"kubernetes.default.svc"},
		IPs: []net.IP{net.ParseIP("10.244.0.1")}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WritePair(dir, "apiserver", leaf); err != nil {
		t.Fatal(err)
	}
	back, err := LoadPair(dir, "apiserver")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, name := range []string{"kubernetes.default.svc", "10.244.0.1"} {
		if _, err := back.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := back.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.example"}); err == nil {
		t.Error("certificate verified for a name it does not carry")
	}
	keyPEM, _ := back.KeyPEM()
	if _, err := tls.X509KeyPair(back.CertPEM(), keyPEM); err != nil {
		t.Errorf("reloaded pair does not match: %v", err)
	}
}

// TestSignRejectsBadRequests checks that requests without a purpose or a name fail.
func TestSignRejectsBadRequests(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Sign(CertRequest{CommonName: "x"}); err == nil {
		t.Error("request with neither server nor client usage was accepted")
	}
	if _, err := ca.Sign(CertRequest{Client: true}); err == nil {
		t.Error("request without a common name was accepted")
	}
}

// TestKubeconfigNamesUserAndServer checks the rendered kubeconfig's content.
func TestKubeconfigNamesUserAndServer(t *testing.T) {
	ca, _ := NewCA("test-ca")
	admin, err := ca.Sign(CertRequest{CommonName: "admin", Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := Kubeconfig("lc", "https://127.0.0.1:6443", ca, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server: https://127.0.0.1:6443", "- name: admin", "current-context: lc", "client-key-data: "} {
		if !strings.Contains(string(kc), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, kc)
		}
	}
}

// TestServiceAccountKeys checks that both halves of the signing pair are written.
func TestServiceAccountKeys(t *testing.T) {
	dir := t.TempDir()
	if err := WriteServiceAccountKeys(dir); err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(filepath.Join(dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pubPEM)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("sa.pub is not a PEM public key: %q", pubPEM)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Errorf("sa.pub does not parse: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "sa.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("sa.key missing or not private: %v %v", st, err)
	}
}
