package backup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/replnode/replnode/replnode/resp"
)

// Snapshot is an RDB payload being read from a node.
type Snapshot struct {
	// ReplID and Offset are from the node's +FULLRESYNC line: the history
	// and position the payload corresponds to.
	ReplID string
	Offset int64
	// Body yields exactly the RDB bytes. It returns io.EOF only after the
	// whole payload (and, in the diskless form, its end mark) was read; a
	// connection lost earlier is ErrTruncated, so an upload reading it fails
	// instead of storing a short object.
	Body io.ReadCloser
}

// ErrTruncated: the connection ended inside the payload. It is deliberately
// not io.ErrUnexpectedEOF, which minio-go takes for a short last part.
var ErrTruncated = errors.New("the node closed the connection before the end of the snapshot")

// NodeAuth is how to authenticate to a node; an empty Password skips AUTH.
type NodeAuth struct {
	User     string
	Password string
}

// OpenSnapshot connects to the node at addr as a pseudo-replica and asks
// for a full synchronisation (PSYNC ? -1). The node forks or streams an RDB
// as it would for a new replica; the caller reads it from Body and closes,
// which drops the link before any of the replication stream is used. The
// connection only reads: no command it sends changes the dataset.
//
// timeout bounds each network read and write, not the whole transfer.
func OpenSnapshot(ctx context.Context, addr string, auth NodeAuth, timeout time.Duration) (*Snapshot, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s, err := handshake(conn, auth, timeout)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("snapshot from %s: %w", addr, err)
	}
	return s, nil
}

func handshake(conn net.Conn, auth NodeAuth, timeout time.Duration) (*Snapshot, error) {
	rd := bufio.NewReaderSize(conn, 64<<10)
	cmd := func(args ...string) (string, error) {
		_ = conn.SetDeadline(time.Now().Add(timeout))
		if _, err := conn.Write(resp.AppendCommandStrings(nil, args...)); err != nil {
			return "", err
		}
		line, err := readLine(rd)
		// A master waiting to start the snapshot (repl-diskless-sync-delay,
		// or a save in progress) sends bare newlines as keep-alives, even
		// before +FULLRESYNC; each renews the deadline.
		for err == nil && line == "" {
			_ = conn.SetReadDeadline(time.Now().Add(timeout))
			line, err = readLine(rd)
		}
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(line, "-") {
			return "", fmt.Errorf("%s: %s", args[0], line[1:])
		}
		return line, nil
	}
	if auth.Password != "" {
		args := []string{"AUTH", auth.Password}
		if auth.User != "" {
			args = []string{"AUTH", auth.User, auth.Password}
		}
		if _, err := cmd(args...); err != nil {
			return nil, errors.New("AUTH refused") // never echo the password
		}
	}
	// capa eof lets a diskless master stream without a temporary file; the
	// reader below takes both payload forms either way.
	if _, err := cmd("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return nil, err
	}
	line, err := cmd("PSYNC", "?", "-1")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "+FULLRESYNC" {
		return nil, fmt.Errorf("PSYNC answered %q, want +FULLRESYNC", line)
	}
	off, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("PSYNC offset %q: %w", f[2], err)
	}
	body, err := openPayload(conn, rd, timeout)
	if err != nil {
		return nil, err
	}
	return &Snapshot{ReplID: f[1], Offset: off, Body: body}, nil
}

// readLine reads one CRLF-terminated line without its terminator.
func readLine(rd *bufio.Reader) (string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// openPayload reads the payload header: "$<len>" or "$EOF:<40 bytes>",
// after any empty keep-alive lines the master sends while it prepares the
// snapshot (each read waits at most timeout, and keep-alives renew it).
func openPayload(conn net.Conn, rd *bufio.Reader, timeout time.Duration) (io.ReadCloser, error) {
	for {
		_ = conn.SetReadDeadline(time.Now().Add(timeout))
		line, err := readLine(rd)
		if err != nil {
			return nil, fmt.Errorf("waiting for the snapshot: %w", err)
		}
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "$") {
			return nil, fmt.Errorf("unexpected line before the snapshot: %q", line)
		}
		p := &payload{conn: conn, rd: rd, timeout: timeout}
		if mark, ok := strings.CutPrefix(line, "$EOF:"); ok {
			if len(mark) != 40 {
				return nil, fmt.Errorf("bad EOF mark length %d", len(mark))
			}
			p.mark = []byte(mark)
			return p, nil
		}
		n, err := strconv.ParseInt(line[1:], 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad snapshot length %q", line)
		}
		p.remaining = n
		return p, nil
	}
}

// payload reads an RDB payload of known length, or one ended by a mark.
type payload struct {
	conn      net.Conn
	rd        *bufio.Reader
	timeout   time.Duration
	remaining int64  // known-length form
	mark      []byte // EOF-mark form
	held      []byte // mark form: the last 40 bytes read, not yet released
	scratch   []byte // mark form: the read buffer
	done      bool
}

func (p *payload) Read(b []byte) (int, error) {
	if p.done {
		return 0, io.EOF
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(p.timeout))
	if p.mark == nil {
		if p.remaining == 0 {
			p.finish()
			return 0, io.EOF
		}
		if int64(len(b)) > p.remaining {
			b = b[:p.remaining]
		}
		n, err := p.rd.Read(b)
		p.remaining -= int64(n)
		if p.remaining == 0 {
			p.finish()
			return n, nil
		}
		if errors.Is(err, io.EOF) {
			err = ErrTruncated
		}
		return n, err
	}
	// Mark form: keep the last len(mark) bytes back until more arrive; the
	// payload ends when the held bytes equal the mark. Reads go through a
	// bounded scratch buffer: the caller may pass a whole upload part.
	if p.scratch == nil {
		p.scratch = make([]byte, markReadSize+len(p.mark))
	}
	buf := p.scratch[:len(p.held)+min(len(b), markReadSize)]
	copy(buf, p.held)
	n, err := p.rd.Read(buf[len(p.held):])
	all := buf[:len(p.held)+n]
	if errors.Is(err, io.EOF) {
		return 0, ErrTruncated
	}
	if len(all) < len(p.mark) {
		p.held = append(p.held[:0], all...)
		return 0, err
	}
	cut := len(all) - len(p.mark)
	out := copy(b, all[:cut])
	p.held = append(p.held[:0], all[cut:]...)
	if bytes.Equal(p.held, p.mark) {
		p.finish()
	}
	return out, err
}

// markReadSize bounds one read of an EOF-mark payload.
const markReadSize = 64 << 10

// finish marks the payload read and drops the connection at once: on a
// disk-based sync the node counts a replica online as soon as the payload
// is sent, and this pseudo-replica never acknowledges anything, so it must
// not linger where min-replicas-to-write could count it.
func (p *payload) finish() {
	p.done = true
	_ = p.conn.Close()
}

func (p *payload) Close() error { return p.conn.Close() }
