package server

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"time"

	"github.com/replnode/replnode/replnode/tlsconf"
)

// TLS, as Redis 7.0 with OpenSSL: a tls-port listener next to (or, with
// port 0, instead of) the plain one, and tls-replication for the link to
// our master. Package tlsconf turns the tls-* directives into crypto/tls
// configurations; this file reads the files, opens the listeners and
// reloads on CONFIG SET.

// osFiles gives tlsconf the filesystem.
type osFiles struct{}

func (osFiles) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

func (osFiles) ReadDir(path string) ([]string, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// tlsEnabled reports whether anything uses TLS, so the contexts must load
// (tlsConfigure's condition in initServer and applyTlsCfg).
func (s *Server) tlsEnabled() bool {
	return s.Config.Int("tls-port") != 0 || s.Config.Bool("tls-replication") || s.Config.Bool("tls-cluster")
}

// configureTLS loads the tls-* files and makes them the configuration of
// later handshakes. On failure it logs why and changes nothing.
func (s *Server) configureTLS() error {
	l, err := tlsconf.Load(tlsconf.FromConfig(s.Config.String), osFiles{})
	if err != nil {
		s.Log.Warningf("%s", err.Error())
		return err
	}
	s.tls.Set(l)
	return nil
}

// errTLSConfigure is initServer's error when TLS does not load at startup,
// as Redis logs it.
var errTLSConfigure error = &tlsconf.LoadError{Line: "Failed to configure TLS. Check logs for more info."}

// errTLSUpdate is config.c's applyTlsCfg error.
const errTLSUpdate = "Unable to update TLS configuration. Check server logs."

// reloadTLSAfterSet reloads the contexts when CONFIG SET changed a tls-*
// directive, as applyTlsCfg: every such set reloads, even to the same
// value, so CONFIG SET tls-cert-file <same path> picks up a rotated file.
// It returns the name of the directive to blame on failure, "" on success.
func (s *Server) reloadTLSAfterSet(names []string) (failed string) {
	for _, name := range names {
		if !tlsconf.Reloads(name) {
			continue
		}
		if s.tlsEnabled() && s.configureTLS() != nil {
			return name
		}
		return ""
	}
	return ""
}

// listenTLS opens the tls-port listeners, loading the contexts first.
func (s *Server) listenTLS() error {
	port := s.Config.Int("tls-port")
	if port == 0 {
		return nil
	}
	ls, err := s.listenTCP(port)
	if err != nil {
		return err
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	for _, l := range ls {
		s.tlsListeners = append(s.tlsListeners, tls.NewListener(l, s.tls.ServerConfig()))
	}
	return nil
}

// errTLSListen is config.c's applyTLSPort error when the port cannot be
// listened on.
const errTLSListen = "Unable to listen on this port. Check server logs."

// changeTLSPort moves the tls-port listeners to the configured port (none
// for 0), loading the certificates first if nothing did yet, as Redis's
// applyTLSPort and changeListenPort: the old listeners close first (the
// port may be the same address family and host), and when the new port
// cannot be opened the old one is opened again and applyTLSPort's error
// text returned.
func (s *Server) changeTLSPort(oldPort int64) string {
	if !s.tls.Configured() && s.configureTLS() != nil {
		return errTLSUpdate
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if s.shuttingDown.Load() {
		return ""
	}
	for _, l := range s.tlsListeners {
		_ = l.Close()
	}
	s.tlsListeners = nil
	open := func(port int64) error {
		if port == 0 {
			return nil
		}
		ls, err := s.listenTCP(port)
		if err != nil {
			return err
		}
		for _, l := range ls {
			tl := tls.NewListener(l, s.tls.ServerConfig())
			s.tlsListeners = append(s.tlsListeners, tl)
			if s.serving {
				s.wg.Add(1)
				go s.acceptLoop(tl)
			}
		}
		return nil
	}
	port := s.Config.Int("tls-port")
	if err := open(port); err != nil {
		s.Log.Warningf("Could not create server TCP listening socket *:%d: %v", port, err)
		if err := open(oldPort); err != nil {
			s.Log.Warningf("Could not listen again on the previous tls-port %d: %v", oldPort, err)
		}
		return errTLSListen
	}
	return ""
}

// dialMasterTLS wraps the connection to our master in TLS when
// tls-replication is on and completes the handshake within timeout. It
// runs on the link's goroutine, off the executor.
func (s *Server) dialMasterTLS(conn net.Conn, timeout time.Duration) (net.Conn, error) {
	var useTLS bool
	s.Exec(func() { useTLS = s.Config.Bool("tls-replication") })
	if !useTLS {
		return conn, nil
	}
	tc, err := s.tls.Client(conn)
	if err != nil {
		return nil, errors.New("TLS is not configured")
	}
	_ = tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}

// announcedPort is the port clients reach this node on: port, or
// tls-port when TLS-only (INFO tcp_port, the startup log).
func (s *Server) announcedPort() int64 {
	if p := s.Config.Int("port"); p != 0 {
		return p
	}
	return s.Config.Int("tls-port")
}

// netConn is the socket under conn: the TCP or unix connection of a TLS
// one, for socket options and descriptors.
func netConn(conn net.Conn) net.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return conn
}
