package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Settings are the tls-* directives, as Redis's redisTLSContextConfig plus
// the switches tlsConfigure consults. Empty strings mean "not set", as
// Redis's EMPTY_STRING_IS_NULL.
type Settings struct {
	CertFile, KeyFile, KeyFilePass                   string
	ClientCertFile, ClientKeyFile, ClientKeyFilePass string
	CACertFile, CACertDir                            string
	Protocols, Ciphers, Ciphersuites                 string
	SessionCaching                                   bool
	// AuthClients is tls-auth-clients (no, yes or optional).
	AuthClients string
	// Replication and Cluster are tls-replication and tls-cluster: with
	// either, a CA is required even when clients are not checked.
	Replication, Cluster bool
}

// Directives are the directives read into Settings: changing one at run
// time reloads the contexts (config.c's applyTlsCfg), except
// tls-auth-clients, which applies to the next connection without a reload.
var Directives = []string{
	"tls-cert-file", "tls-key-file", "tls-key-file-pass",
	"tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
	"tls-ca-cert-file", "tls-ca-cert-dir", "tls-dh-params-file",
	"tls-protocols", "tls-ciphers", "tls-ciphersuites",
	"tls-prefer-server-ciphers", "tls-session-caching",
	"tls-session-cache-size", "tls-session-cache-timeout",
	"tls-replication", "tls-cluster",
}

// Reloads reports whether changing directive name reloads the contexts.
func Reloads(name string) bool {
	for _, d := range Directives {
		if d == name {
			return true
		}
	}
	return false
}

// FromConfig reads Settings through get, which returns a directive's
// value as CONFIG GET shows it.
func FromConfig(get func(name string) string) Settings {
	return Settings{
		CertFile: get("tls-cert-file"), KeyFile: get("tls-key-file"), KeyFilePass: get("tls-key-file-pass"),
		ClientCertFile: get("tls-client-cert-file"), ClientKeyFile: get("tls-client-key-file"),
		ClientKeyFilePass: get("tls-client-key-file-pass"),
		CACertFile:        get("tls-ca-cert-file"), CACertDir: get("tls-ca-cert-dir"),
		Protocols: get("tls-protocols"), Ciphers: get("tls-ciphers"), Ciphersuites: get("tls-ciphersuites"),
		SessionCaching: get("tls-session-caching") == "yes",
		AuthClients:    get("tls-auth-clients"),
		Replication:    get("tls-replication") == "yes",
		Cluster:        get("tls-cluster") == "yes",
	}
}

// Files reads what Load needs. Paths are as configured (relative ones are
// relative to the server's working directory, dir).
type Files interface {
	ReadFile(path string) ([]byte, error)
	// ReadDir lists the names of the entries of a directory.
	ReadDir(path string) ([]string, error)
}

// Loaded is one successful tlsConfigure: the server side configuration for
// each tls-auth-clients mode and the client side one.
type Loaded struct {
	server map[string]*tls.Config
	client *tls.Config
}

// Load builds the contexts from s, reading certificates and keys through
// files. The error is the line Redis logs for the same failure.
func Load(s Settings, files Files) (*Loaded, error) {
	if s.CertFile == "" {
		return nil, logLine("No tls-cert-file configured!")
	}
	if s.KeyFile == "" {
		return nil, logLine("No tls-key-file configured!")
	}
	if (s.AuthClients != "no" || s.Cluster || s.Replication) && s.CACertFile == "" && s.CACertDir == "" {
		return nil, logLine("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")
	}
	minV, maxV, err := parseProtocols(s.Protocols)
	if err != nil {
		return nil, err
	}
	serverCert, err := loadKeyPair(files, s.CertFile, s.KeyFile, s.KeyFilePass)
	if err != nil {
		return nil, err
	}
	var roots *x509.CertPool
	if s.CACertFile != "" || s.CACertDir != "" {
		if roots, err = loadCAs(files, s.CACertFile, s.CACertDir); err != nil {
			return nil, err
		}
	}
	suites, err := parseCiphers(s.Ciphers)
	if err != nil {
		return nil, err
	}
	// The client side presents tls-client-cert-file when both it and its
	// key are set, and the server certificate otherwise (Redis then uses
	// the server SSL_CTX for outgoing connections).
	clientCert := serverCert
	if s.ClientCertFile != "" && s.ClientKeyFile != "" {
		if clientCert, err = loadKeyPair(files, s.ClientCertFile, s.ClientKeyFile, s.ClientKeyFilePass); err != nil {
			return nil, err
		}
	}
	base := tls.Config{
		MinVersion:             minV,
		MaxVersion:             maxV,
		CipherSuites:           suites,
		SessionTicketsDisabled: !s.SessionCaching,
		Renegotiation:          tls.RenegotiateNever,
	}
	l := &Loaded{server: map[string]*tls.Config{}}
	for mode, auth := range map[string]tls.ClientAuthType{
		"no":       tls.NoClientCert,
		"optional": tls.VerifyClientCertIfGiven,
		"yes":      tls.RequireAndVerifyClientCert,
	} {
		c := base.Clone()
		c.Certificates = []tls.Certificate{serverCert}
		c.ClientAuth = auth
		c.ClientCAs = roots
		l.server[mode] = c
	}
	client := base.Clone()
	client.Certificates = []tls.Certificate{clientCert}
	// Redis checks the master's chain against the CA and nothing else:
	// OpenSSL's SSL_VERIFY_PEER without a host name. crypto/tls can only
	// skip the host name by skipping its own check, so the chain is
	// verified here instead.
	client.InsecureSkipVerify = true
	client.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyChain(cs.PeerCertificates, roots)
	}
	l.client = client
	return l, nil
}

// verifyChain checks that the peer's certificate leads to roots.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool) error {
	if len(chain) == 0 {
		return errors.New("tls: the peer sent no certificate")
	}
	if roots == nil {
		return errors.New("tls: no CA configured to verify the peer")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// loadKeyPair reads a certificate chain and its key, decrypting the key
// with pass when it is encrypted.
func loadKeyPair(files Files, certFile, keyFile, pass string) (tls.Certificate, error) {
	certPEM, err := files.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, logLine("Failed to load certificate: %s: %v", certFile, err)
	}
	if !containsBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, logLine("Failed to load certificate: %s: no certificate found", certFile)
	}
	keyPEM, err := files.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, logLine("Failed to load private key: %s: %v", keyFile, err)
	}
	if keyPEM, err = decryptKey(keyPEM, pass); err != nil {
		return tls.Certificate{}, logLine("Failed to load private key: %s: %v", keyFile, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, logLine("Failed to load private key: %s: %v", keyFile, err)
	}
	return pair, nil
}

func containsBlock(data []byte, typ string) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == typ {
			return true
		}
	}
}

// decryptKey returns the PEM key in keyPEM decrypted with pass when it is
// encrypted, unchanged otherwise.
func decryptKey(keyPEM []byte, pass string) ([]byte, error) {
	rest := keyPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return keyPEM, nil
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted PKCS#8 keys are not supported; use the legacy PEM encryption (openssl rsa -aes256)")
		}
		//lint:ignore SA1019 the legacy PEM encryption is what tls-key-file-pass keys use
		if !x509.IsEncryptedPEMBlock(b) { //nolint:staticcheck
			continue
		}
		if pass == "" {
			return nil, errors.New("the key is encrypted and no passphrase is configured")
		}
		der, err := x509.DecryptPEMBlock(b, []byte(pass)) //nolint:staticcheck
		if err != nil {
			return nil, errors.New("bad decrypt")
		}
		return pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), nil
	}
}

// loadCAs reads the CA certificates of file and of every file in dir.
func loadCAs(files Files, file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	fail := func(err error) error {
		return logLine("Failed to configure CA certificate(s) file/directory: %v", err)
	}
	if file != "" {
		data, err := files.ReadFile(file)
		if err != nil {
			return nil, fail(err)
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fail(fmt.Errorf("%s: no certificate found", file))
		}
	}
	if dir != "" {
		// OpenSSL looks certificates up by their subject hash when it
		// needs one; reading every certificate in the directory now finds
		// the same ones (and picks up new files at the next reload).
		names, err := files.ReadDir(dir)
		if err != nil {
			return nil, fail(err)
		}
		for _, n := range names {
			if data, err := files.ReadFile(filepath.Join(dir, n)); err == nil {
				pool.AppendCertsFromPEM(data)
			}
		}
	}
	return pool, nil
}

// parseProtocols is tls.c's parseProtocolsConfig mapped to a version range.
func parseProtocols(s string) (min, max uint16, err error) {
	if s == "" {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	versions := map[string]uint16{"tlsv1": tls.VersionTLS10, "tlsv1.1": tls.VersionTLS11,
		"tlsv1.2": tls.VersionTLS12, "tlsv1.3": tls.VersionTLS13}
	for _, tok := range strings.Split(s, " ") {
		v, ok := versions[strings.ToLower(tok)]
		if !ok {
			return 0, 0, logLine("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
		}
		if min == 0 || v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max, nil
}

// openSSLSuites maps OpenSSL's names of the TLS 1.2 suites Go implements.
var openSSLSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// parseCiphers maps a tls-ciphers list to Go suites; nil keeps Go's
// defaults.
func parseCiphers(s string) ([]uint16, error) {
	if s == "" {
		return nil, nil
	}
	var suites []uint16
	keyword := false
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if id, ok := openSSLSuites[tok]; ok {
			suites = append(suites, id)
			continue
		}
		if strings.ContainsAny(tok[:1], "!-+@") || !strings.Contains(tok, "-") {
			keyword = true
		}
	}
	switch {
	case len(suites) > 0:
		return suites, nil
	case keyword:
		return nil, nil
	}
	return nil, logLine("Failed to configure ciphers: %s", s)
}

// LoadError is why Load failed, worded as the line Redis 7.0 logs for the
// same failure (tls.c), so a node's log reads as redis-server's.
type LoadError struct{ Line string }

func (e *LoadError) Error() string { return e.Line }

func logLine(format string, args ...any) error {
	return &LoadError{Line: fmt.Sprintf(format, args...)}
}

// Contexts holds the current Loaded for listeners and dialers. Its methods
// are safe for concurrent use.
type Contexts struct {
	cur  atomic.Pointer[Loaded]
	auth atomic.Pointer[string]
}

// Set makes l the configuration of every later handshake.
func (c *Contexts) Set(l *Loaded) { c.cur.Store(l) }

// Configured reports whether a Load succeeded (isTlsConfigured).
func (c *Contexts) Configured() bool { return c.cur.Load() != nil }

// SetAuthClients sets tls-auth-clients for later handshakes.
func (c *Contexts) SetAuthClients(mode string) { c.auth.Store(&mode) }

// errNotConfigured refuses a handshake before a successful Load.
var errNotConfigured = errors.New("tls: not configured")

// ServerConfig is the configuration for tls.NewListener: each handshake
// takes the contexts current at that moment.
func (c *Contexts) ServerConfig() *tls.Config {
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		l := c.cur.Load()
		if l == nil {
			return nil, errNotConfigured
		}
		mode := "yes" // as Redis, anything else is the fail-secure yes
		if p := c.auth.Load(); p != nil && (*p == "no" || *p == "optional") {
			mode = *p
		}
		return l.server[mode], nil
	}}
}

// Client wraps an outgoing connection (to our master) in TLS with the
// current client side configuration. The handshake happens on the first
// read or write, or on HandshakeContext.
func (c *Contexts) Client(conn net.Conn) (*tls.Conn, error) {
	l := c.cur.Load()
	if l == nil {
		return nil, errNotConfigured
	}
	return tls.Client(conn, l.client), nil
}
