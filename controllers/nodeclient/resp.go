package nodeclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/replnode/replnode/replnode/resp"
)

// ------ RESP CLIENT ------

// maxBulkLen bounds a bulk string the client accepts (INFO replies are small).
const maxBulkLen = 16 << 20

// maxArrayLen bounds an array reply the client accepts.
const maxArrayLen = 1 << 16

// RESP is the real Client: one short TCP connection per call, RESP2, AUTH
// first when the node has a password.
type RESP struct {
	// Timeout bounds dialing and the whole exchange when the context has no
	// earlier deadline; 0 means 5 seconds.
	Timeout time.Duration
}

var _ Client = (*RESP)(nil)

// Ping implements Client.
func (c *RESP) Ping(ctx context.Context, n Node) error {
	v, err := c.do(ctx, n, "PING")
	if err != nil {
		return err
	}
	if v != "PONG" {
		return fmt.Errorf("PING %s: unexpected reply %v", n, v)
	}
	return nil
}

// Role implements Client.
func (c *RESP) Role(ctx context.Context, n Node) (RoleReply, error) {
	v, err := c.do(ctx, n, "ROLE")
	if err != nil {
		return RoleReply{}, err
	}
	r, err := parseRole(v)
	if err != nil {
		return RoleReply{}, fmt.Errorf("%s: %w", n, err)
	}
	return r, nil
}

// InfoReplication implements Client.
func (c *RESP) InfoReplication(ctx context.Context, n Node) (string, error) {
	// The keyspace tells an empty node from one holding data on a history
	// that starts at offset 0 (failover.Replication.Empty), persistence
	// one still loading its files (loading:1) from both.
	v, err := c.do(ctx, n, "INFO", "replication", "keyspace", "persistence")
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("INFO replication %s: reply is %T, not a bulk string", n, v)
	}
	return s, nil
}

// ReplicaOf implements Client.
func (c *RESP) ReplicaOf(ctx context.Context, n Node, host string, port int) error {
	args := []string{"REPLICAOF", "NO", "ONE"}
	if host != "" {
		args = []string{"REPLICAOF", host, strconv.Itoa(port)}
	}
	_, err := c.doFenced(ctx, n, args...)
	return err
}

// ConfigSet implements Client.
func (c *RESP) ConfigSet(ctx context.Context, n Node, parameter, value string) error {
	_, err := c.doFenced(ctx, n, "CONFIG", "SET", parameter, value)
	return err
}

// ClientPause implements Client.
func (c *RESP) ClientPause(ctx context.Context, n Node, d time.Duration) error {
	ms := max(d.Milliseconds(), 1)
	_, err := c.doFenced(ctx, n, "CLIENT", "PAUSE", strconv.FormatInt(ms, 10), "WRITE")
	return err
}

// ClientUnpause implements Client.
func (c *RESP) ClientUnpause(ctx context.Context, n Node) error {
	_, err := c.doFenced(ctx, n, "CLIENT", "UNPAUSE")
	return err
}

// PushEpoch implements Client: the announcement alone, with no command after it.
func (c *RESP) PushEpoch(ctx context.Context, n Node) error {
	if _, ok := EpochFrom(ctx); !ok {
		return nil
	}
	_, err := c.exchange(ctx, n, true, nil)
	return err
}

// ClientKillNormal implements Client. The reply (how many clients were
// killed) does not matter; SKIPME, the default, spares this connection.
// It is fenced: a stale operator must not cut a newer master's clients.
func (c *RESP) ClientKillNormal(ctx context.Context, n Node) error {
	_, err := c.doFenced(ctx, n, "CLIENT", "KILL", "TYPE", "normal")
	return err
}

// ACLList implements Client.
func (c *RESP) ACLList(ctx context.Context, n Node) ([]string, error) {
	v, err := c.do(ctx, n, "ACL", "LIST")
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("ACL LIST %s: reply is %T, not an array", n, v)
	}
	lines := make([]string, 0, len(items))
	for _, item := range items {
		line, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("ACL LIST %s: element is %T, not a bulk string", n, item)
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// ACLSetUser implements Client. The reply to a refused rule quotes the
// rule; a rule carrying a password (>pass) is never refused by Redis, and
// the caller redacts the password from the error anyway.
func (c *RESP) ACLSetUser(ctx context.Context, n Node, name string, rules []string) error {
	_, err := c.doFenced(ctx, n, append([]string{"ACL", "SETUSER", name}, rules...)...)
	return err
}

// ACLDelUser implements Client; the reply (how many users were deleted)
// does not matter.
func (c *RESP) ACLDelUser(ctx context.Context, n Node, name string) error {
	_, err := c.doFenced(ctx, n, "ACL", "DELUSER", name)
	return err
}

// do dials n, authenticates when it has a password, sends one command and
// returns its decoded reply. An error reply becomes a *ServerError; the
// password never appears in an error.
func (c *RESP) do(ctx context.Context, n Node, args ...string) (any, error) {
	return c.exchange(ctx, n, false, args)
}

// doFenced is do for a mutating command: when ctx carries a failover epoch
// it is announced first on the same connection.
func (c *RESP) doFenced(ctx context.Context, n Node, args ...string) (any, error) {
	return c.exchange(ctx, n, true, args)
}

// exchange dials n, authenticates when it has a password, announces the
// context's failover epoch when fenced (REPLNODE EPOCH <e>; a node that
// does not know the command has no epochs and is used unfenced), then sends
// args (none: only the announcement) and returns the decoded reply. An
// error reply becomes a *ServerError, a -STALEEPOCH one a *StaleEpochError
// (matching ErrStaleEpoch); the password never appears in an error.
func (c *RESP) exchange(ctx context.Context, n Node, fenced bool, args []string) (any, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	epoch, hasEpoch := EpochFrom(ctx)
	conn, err := c.dial(ctx, n)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	w := bufio.NewWriter(conn)
	r := bufio.NewReader(conn)
	if n.Password != "" {
		if n.User != "" {
			writeCommand(w, "AUTH", n.User, n.Password)
		} else {
			writeCommand(w, "AUTH", n.Password)
		}
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("AUTH %s: %w", n, err)
		}
		if _, err := readReply(r); err != nil {
			return nil, fmt.Errorf("AUTH %s: %w", n, err)
		}
	}
	if fenced && hasEpoch {
		announce := []string{"REPLNODE", "EPOCH", strconv.FormatInt(epoch, 10)}
		if dataLossAccepted(ctx) {
			announce = append(announce, "ACCEPT-DATA-LOSS")
		}
		_, err := roundTrip(w, r, announce)
		var se *ServerError
		switch {
		case err == nil:
		case errors.As(err, &se) && isUnknownCommandReply(se):
			// A node without epochs (redis-server): nothing to fence with.
		default:
			return nil, replyError(announce, n, err)
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	v, err := roundTrip(w, r, args)
	if err != nil {
		return nil, replyError(args, n, err)
	}
	return v, nil
}

// dial connects to n, over TLS when n has a TLS configuration (the
// handshake done, bounded by ctx).
func (c *RESP) dial(ctx context.Context, n Node) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", n, err)
	}
	if n.TLS == nil {
		return conn, nil
	}
	tc := tls.Client(conn, n.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", n, err)
	}
	return tc, nil
}

// ServedCertificate implements Client: a TLS handshake and nothing more.
func (c *RESP) ServedCertificate(ctx context.Context, n Node) ([]byte, error) {
	if n.TLS == nil {
		return nil, nil
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := c.dial(ctx, n)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	peer := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(peer) == 0 {
		return nil, fmt.Errorf("TLS handshake with %s: no certificate", n)
	}
	return peer[0].Raw, nil
}

// roundTrip sends one command and reads its reply.
func roundTrip(w *bufio.Writer, r *bufio.Reader, args []string) (any, error) {
	writeCommand(w, args...)
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return readReply(r)
}

// replyError names the command and node in err; a -STALEEPOCH reply becomes
// a *StaleEpochError.
func replyError(args []string, n Node, err error) error {
	name := strings.Join(commandName(args), " ")
	var se *ServerError
	if errors.As(err, &se) {
		if stale := staleEpochError(se); stale != nil {
			return fmt.Errorf("%s %s: %w", name, n, stale)
		}
	}
	return fmt.Errorf("%s %s: %w", name, n, err)
}

// commandName returns the words of args that name the command (for errors),
// leaving out values such as CONFIG SET's.
func commandName(args []string) []string {
	if len(args) >= 2 && (args[0] == "CONFIG" || args[0] == "CLIENT" || args[0] == "REPLNODE" || args[0] == "ACL") {
		return args[:2]
	}
	return args[:1]
}

// writeCommand encodes args as a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, args ...string) {
	_, _ = w.Write(resp.AppendCommandStrings(nil, args...))
}

// readReply decodes one RESP2 reply: simple strings and bulk strings become
// string, integers int64, arrays []any, nil bulk/array nil, errors *ServerError.
func readReply(r *bufio.Reader) (any, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("protocol error: empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, &ServerError{Message: body}
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("protocol error: bad integer %q", body)
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxBulkLen {
			return nil, fmt.Errorf("protocol error: bad bulk length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return nil, errors.New("protocol error: bulk string not terminated by CRLF")
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxArrayLen {
			return nil, fmt.Errorf("protocol error: bad array length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		out := make([]any, 0, n)
		for range n {
			v, err := readReply(r)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("protocol error: unexpected reply type %q", line[0])
}

// readLine reads one CRLF-terminated line without its terminator.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", errors.New("protocol error: line not terminated by CRLF")
	}
	return line[:len(line)-2], nil
}
