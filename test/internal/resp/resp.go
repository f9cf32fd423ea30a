// Package resp is the test suites' minimal RESP2 client: one connection
// with a per-command deadline, dialed from the host or from inside a pod's
// network namespace. test/e2e and test/chaos share it.
//
// It owns: speaking RESP2 to a server under test. It must not know about
// clusters, groups or operators.
package resp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is one RESP2 connection with a per-command deadline.
type Conn struct {
	conn    net.Conn
	reader  *bufio.Reader
	timeout time.Duration
}

// ErrReply is a RESP error reply (-ERR ...), as opposed to an I/O error.
type ErrReply string

// Error returns the server's error text.
func (e ErrReply) Error() string { return string(e) }

// Dial connects to addr, authenticates with password when it is not empty
// and returns the connection; every command must finish within timeout.
func Dial(addr, password string, timeout time.Duration) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return Handshake(c, password, timeout)
}

// Handshake wraps an open connection (closing it on failure) and
// authenticates with password when it is not empty; every command must
// finish within timeout.
func Handshake(c net.Conn, password string, timeout time.Duration) (*Conn, error) {
	rc := &Conn{conn: c, reader: bufio.NewReader(c), timeout: timeout}
	if password != "" {
		if _, err := rc.Do("AUTH", password); err != nil {
			c.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return rc, nil
}

// Close closes the connection.
func (c *Conn) Close() { _ = c.conn.Close() }

// Do sends one command and returns its reply: string for simple and bulk
// strings (nil for a null bulk), int64, []any for arrays, or an ErrReply.
func (c *Conn) Do(args ...string) (any, error) {
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.conn.Write([]byte(b.String())); err != nil {
		return nil, err
	}
	v, err := c.read()
	if err != nil {
		return nil, err
	}
	if e, ok := v.(ErrReply); ok {
		return nil, e
	}
	return v, nil
}

// read parses one reply from the connection.
func (c *Conn) read() (any, error) {
	line, err := c.reader.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return ErrReply(line[1:]), nil
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(c.reader, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			v, err := c.read()
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}

// ioReadFull reads exactly len(buf) bytes.
func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// InfoField returns field from an INFO reply text, or "" when absent.
func InfoField(info, field string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}

// DialIn connects to addr from inside the network namespace at nsPath (a
// pod's) and authenticates: the host may be cut off from addr while a pod
// still reaches it.
func DialIn(nsPath, addr, password string, timeout time.Duration) (*Conn, error) {
	c, err := NetnsDial(nsPath, addr, timeout)
	if err != nil {
		return nil, err
	}
	return Handshake(c, password, timeout)
}

// NetnsDial opens a TCP connection whose socket lives in the namespace at
// nsPath: the socket is created on an OS thread moved into that namespace
// for the dial and moved back afterwards; the connection stays in the
// namespace it was created in.
func NetnsDial(nsPath, addr string, timeout time.Duration) (net.Conn, error) {
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer self.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter %s: %w", nsPath, err)
	}
	conn, dialErr := net.DialTimeout("tcp", addr, timeout)
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the pod's namespace: leave it locked so the
		// runtime ends it with this goroutine instead of reusing it.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("leave %s: %w", nsPath, err)
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}
