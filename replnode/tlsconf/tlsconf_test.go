package tlsconf

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"net"
	"sort"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/tlsconf/testpki"
)

// memFiles is a Files over a map of path → content.
type memFiles map[string][]byte

func (m memFiles) ReadFile(p string) ([]byte, error) {
	if b, ok := m[p]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func (m memFiles) ReadDir(dir string) ([]string, error) {
	var out []string
	for p := range m {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok && !strings.Contains(rest, "/") {
			out = append(out, rest)
		}
	}
	if out == nil {
		return nil, fs.ErrNotExist
	}
	sort.Strings(out)
	return out, nil
}

// pki is one CA with a node certificate, laid out as a Secret mount.
func pki(t *testing.T, name string) (*testpki.CA, memFiles) {
	ca := testpki.NewCA(t, name+"-ca")
	p := ca.Issue(t, name)
	return ca, memFiles{"/tls/ca.crt": ca.CertPEM, "/tls/tls.crt": p.CertPEM, "/tls/tls.key": p.KeyPEM}
}

func settings() Settings {
	return Settings{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key", CACertFile: "/tls/ca.crt",
		AuthClients: "yes", SessionCaching: true}
}

func TestLoadRefusesWhatTLSConfigureRefuses(t *testing.T) {
	_, files := pki(t, "node")
	cases := []struct {
		name   string
		change func(*Settings)
		want   string
	}{
		{"no cert", func(s *Settings) { s.CertFile = "" }, "No tls-cert-file configured!"},
		{"no key", func(s *Settings) { s.KeyFile = "" }, "No tls-key-file configured!"},
		{"no CA with auth-clients yes", func(s *Settings) { s.CACertFile = "" }, "Either tls-ca-cert-file or tls-ca-cert-dir must be specified"},
		{"no CA with replication", func(s *Settings) { s.CACertFile, s.AuthClients, s.Replication = "", "no", true }, "Either tls-ca-cert-file"},
		{"bad protocol", func(s *Settings) { s.Protocols = "TLSv1.2 SSLv3" }, "Invalid tls-protocols specified"},
		{"double space in protocols", func(s *Settings) { s.Protocols = "TLSv1.2  TLSv1.3" }, "Invalid tls-protocols specified"},
		{"missing cert file", func(s *Settings) { s.CertFile = "/tls/nope.crt" }, "Failed to load certificate: /tls/nope.crt"},
		{"key of another cert", func(s *Settings) { s.KeyFile = "/other/tls.key" }, "Failed to load private key: /other/tls.key"},
		{"missing CA file", func(s *Settings) { s.CACertFile = "/tls/nope.crt" }, "Failed to configure CA certificate(s)"},
		{"CA file without certificate", func(s *Settings) { s.CACertFile = "/tls/tls.key" }, "Failed to configure CA certificate(s)"},
		{"unknown ciphers only", func(s *Settings) { s.Ciphers = "NOT-A-CIPHER" }, "Failed to configure ciphers: NOT-A-CIPHER"},
	}
	other := testpki.NewCA(t, "other").Issue(t, "other")
	files["/other/tls.key"] = other.KeyPEM
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := settings()
			c.change(&s)
			_, err := Load(s, files)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
	// Without CA, tls-auth-clients no and no tls-replication is allowed.
	s := settings()
	s.CACertFile, s.AuthClients = "", "no"
	if _, err := Load(s, files); err != nil {
		t.Fatalf("Load without CA, auth-clients no: %v", err)
	}
}

func TestParseProtocols(t *testing.T) {
	cases := []struct {
		in       string
		min, max uint16
	}{
		{"", tls.VersionTLS12, tls.VersionTLS13},
		{"TLSv1.2", tls.VersionTLS12, tls.VersionTLS12},
		{"tlsv1.3", tls.VersionTLS13, tls.VersionTLS13},
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, tls.VersionTLS13},
		{"TLSv1 TLSv1.1", tls.VersionTLS10, tls.VersionTLS11},
	}
	for _, c := range cases {
		min, max, err := parseProtocols(c.in)
		if err != nil || min != c.min || max != c.max {
			t.Errorf("parseProtocols(%q) = %x %x %v, want %x %x", c.in, min, max, err, c.min, c.max)
		}
	}
}

func TestParseCiphers(t *testing.T) {
	cases := []struct {
		in   string
		want []uint16
		err  bool
	}{
		{"", nil, false},
		{"DEFAULT", nil, false},
		{"HIGH:!aNULL:!MD5", nil, false},
		{"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, false},
		{"ECDHE-ECDSA-CHACHA20-POLY1305:UNKNOWN-SUITE", []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, false},
		{"UNKNOWN-SUITE", nil, true},
	}
	for _, c := range cases {
		got, err := parseCiphers(c.in)
		if (err != nil) != c.err || !equalSuites(got, c.want) {
			t.Errorf("parseCiphers(%q) = %v %v, want %v err=%v", c.in, got, err, c.want, c.err)
		}
	}
}

func equalSuites(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// handshake runs a TLS handshake between a server with contexts srv and a
// client config, and returns the client's error (or the server's) and the
// certificate the client saw.
func handshake(t *testing.T, srv *Contexts, client *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	serverErr := make(chan error, 1)
	go func() {
		sc := tls.Server(a, srv.ServerConfig())
		err := sc.Handshake()
		if err == nil {
			// TLS 1.3 reports a refused client certificate on the
			// client's first read, so read once.
			_, err = sc.Write([]byte("+OK\r\n"))
		}
		serverErr <- err
		_ = a.Close()
	}()
	cc := tls.Client(b, client)
	err := cc.Handshake()
	var peer *x509.Certificate
	if err == nil {
		peer = cc.ConnectionState().PeerCertificates[0]
		buf := make([]byte, 5)
		_, err = cc.Read(buf)
	}
	if serr := <-serverErr; err == nil {
		err = serr
	}
	return peer, err
}

// clientConfig trusts ca and presents pair (if any), without host checks.
func clientConfig(ca *testpki.CA, pair *testpki.Pair) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "node"}
	if pair != nil {
		// Send it whatever CAs the server names, as OpenSSL clients
		// (redis-cli) do; Go's own choice would withhold a foreign one.
		kp, _ := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
	}
	return cfg
}

func TestAuthClientsModes(t *testing.T) {
	ca, files := pki(t, "node")
	l, err := Load(settings(), files)
	if err != nil {
		t.Fatal(err)
	}
	var srv Contexts
	srv.Set(l)
	good := ca.Issue(t, "app")
	foreign := testpki.NewCA(t, "foreign").Issue(t, "app")
	cases := []struct {
		mode   string
		client *testpki.Pair
		ok     bool
	}{
		{"yes", &good, true},
		{"yes", nil, false},
		{"yes", &foreign, false},
		{"optional", nil, true},
		{"optional", &good, true},
		{"optional", &foreign, false},
		{"no", nil, true},
		{"no", &foreign, true}, // not asked for, so never checked
		{"bogus", nil, false},  // anything else is the fail-secure yes
	}
	for _, c := range cases {
		srv.SetAuthClients(c.mode)
		_, err := handshake(t, &srv, clientConfig(ca, c.client))
		if (err == nil) != c.ok {
			t.Errorf("tls-auth-clients %s, client cert %v: err=%v, want ok=%v", c.mode, c.client != nil, err, c.ok)
		}
	}
}

func TestReloadChangesTheCertificateOfNewHandshakes(t *testing.T) {
	ca, files := pki(t, "node")
	s := settings()
	s.AuthClients = "no"
	l, err := Load(s, files)
	if err != nil {
		t.Fatal(err)
	}
	var srv Contexts
	srv.Set(l)
	srv.SetAuthClients("no")
	before, err := handshake(t, &srv, clientConfig(ca, nil))
	if err != nil {
		t.Fatal(err)
	}
	rotated := ca.Issue(t, "node")
	files["/tls/tls.crt"], files["/tls/tls.key"] = rotated.CertPEM, rotated.KeyPEM
	l2, err := Load(s, files)
	if err != nil {
		t.Fatal(err)
	}
	srv.Set(l2)
	after, err := handshake(t, &srv, clientConfig(ca, nil))
	if err != nil {
		t.Fatal(err)
	}
	if before.SerialNumber.Cmp(after.SerialNumber) == 0 || after.SerialNumber.Cmp(rotated.Cert.SerialNumber) != 0 {
		t.Fatalf("after the reload the server presented serial %v, want the rotated %v (before: %v)",
			after.SerialNumber, rotated.Cert.SerialNumber, before.SerialNumber)
	}
}

func TestClientVerifiesTheChainButNotTheHostName(t *testing.T) {
	ca, files := pki(t, "master")
	s := settings()
	s.Replication = true
	l, err := Load(s, files)
	if err != nil {
		t.Fatal(err)
	}
	var mine Contexts
	mine.Set(l)

	// A master with a certificate of our CA, named anything: accepted.
	master := ca.Issue(t, "some-other-name")
	masterFiles := memFiles{"/tls/ca.crt": ca.CertPEM, "/tls/tls.crt": master.CertPEM, "/tls/tls.key": master.KeyPEM}
	// A master whose certificate another CA signed: refused.
	impostorCA := testpki.NewCA(t, "impostor")
	impostor := impostorCA.Issue(t, "master")
	impostorFiles := memFiles{"/tls/ca.crt": impostorCA.CertPEM, "/tls/tls.crt": impostor.CertPEM, "/tls/tls.key": impostor.KeyPEM}
	for _, c := range []struct {
		name  string
		files memFiles
		ok    bool
	}{{"same CA", masterFiles, true}, {"other CA", impostorFiles, false}} {
		ml, err := Load(settings(), c.files)
		if err != nil {
			t.Fatal(err)
		}
		var srv Contexts
		srv.Set(ml)
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- tls.Server(a, srv.ServerConfig()).Handshake(); _ = a.Close() }()
		cc, err := mine.Client(b)
		if err != nil {
			t.Fatal(err)
		}
		err = cc.Handshake()
		_ = b.Close()
		if serr := <-done; serr != nil && c.ok {
			t.Errorf("%s: server handshake: %v", c.name, serr)
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: client handshake err=%v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestEncryptedKey(t *testing.T) {
	_, files := pki(t, "node")
	block, _ := pem.Decode(files["/tls/tls.key"])
	//lint:ignore SA1019 the legacy form is what tls-key-file-pass supports
	enc, err := x509.EncryptPEMBlock(rand.Reader, block.Type, block.Bytes, []byte("s3cret"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	files["/tls/tls.key"] = pem.EncodeToMemory(enc)
	s := settings()
	for _, c := range []struct {
		pass string
		ok   bool
	}{{"s3cret", true}, {"wrong", false}, {"", false}} {
		s.KeyFilePass = c.pass
		_, err := Load(s, files)
		if (err == nil) != c.ok {
			t.Errorf("pass %q: %v, want ok=%v", c.pass, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the passphrase: %v", err)
		}
	}
	files["/tls/tls.key"] = pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})
	s.KeyFilePass = "s3cret"
	if _, err := Load(s, files); err == nil || !strings.Contains(err.Error(), "PKCS#8") {
		t.Errorf("encrypted PKCS#8: %v, want a clear refusal", err)
	}
}

func TestCADirReadsEveryCertificate(t *testing.T) {
	ca, files := pki(t, "node")
	other := testpki.NewCA(t, "second")
	files["/cas/a.pem"] = other.CertPEM
	files["/cas/b.pem"] = ca.CertPEM
	files["/cas/readme"] = []byte("not a certificate")
	s := settings()
	s.CACertFile, s.CACertDir = "", "/cas"
	l, err := Load(s, files)
	if err != nil {
		t.Fatal(err)
	}
	var srv Contexts
	srv.Set(l)
	srv.SetAuthClients("yes")
	for _, issuer := range []*testpki.CA{ca, other} {
		p := issuer.Issue(t, "app")
		if _, err := handshake(t, &srv, clientConfig(ca, &p)); err != nil {
			t.Errorf("client of %s: %v", issuer.Cert.Subject.CommonName, err)
		}
	}
	s.CACertDir = "/missing"
	if _, err := Load(s, files); err == nil {
		t.Error("a missing tls-ca-cert-dir loaded")
	}
}

func TestNotConfiguredRefusesHandshakes(t *testing.T) {
	var srv Contexts
	if srv.Configured() {
		t.Fatal("empty Contexts says configured")
	}
	ca, _ := pki(t, "node")
	if _, err := handshake(t, &srv, clientConfig(ca, nil)); err == nil {
		t.Fatal("handshake without a loaded configuration succeeded")
	}
	if _, err := srv.Client(nil); err == nil {
		t.Fatal("Client without a loaded configuration succeeded")
	}
}
