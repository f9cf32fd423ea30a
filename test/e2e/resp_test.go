package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ------ A MINIMAL RESP2 CLIENT ------

// respConn is one RESP2 connection with a per-command deadline.
type respConn struct {
	conn    net.Conn
	reader  *bufio.Reader
	timeout time.Duration
}

// errReply is a RESP error reply (-ERR ...), as opposed to an I/O error.
type errReply string

// Error returns the server's error text.
func (e errReply) Error() string { return string(e) }

// dial connects to addr, authenticates with password when it is not empty
// and returns the connection; every command must finish within timeout.
func dial(addr, password string, timeout time.Duration) (*respConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return handshake(c, password, timeout)
}

// handshake wraps an open connection (closing it on failure) and
// authenticates with password when it is not empty; every command must
// finish within timeout.
func handshake(c net.Conn, password string, timeout time.Duration) (*respConn, error) {
	rc := &respConn{conn: c, reader: bufio.NewReader(c), timeout: timeout}
	if password != "" {
		if _, err := rc.do("AUTH", password); err != nil {
			c.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return rc, nil
}

// close closes the connection.
func (c *respConn) close() { _ = c.conn.Close() }

// do sends one command and returns its reply: string for simple and bulk
// strings (nil for a null bulk), int64, []any for arrays, or an errReply.
func (c *respConn) do(args ...string) (any, error) {
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
	if e, ok := v.(errReply); ok {
		return nil, e
	}
	return v, nil
}

// read parses one reply from the connection.
func (c *respConn) read() (any, error) {
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
		return errReply(line[1:]), nil
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

// infoField returns field from an INFO reply text, or "" when absent.
func infoField(info, field string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}
