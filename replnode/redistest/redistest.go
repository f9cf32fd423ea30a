// Package redistest is the test harness shared by replnode's tests: it
// starts a real redis-server or a replnode (in-process or the built binary)
// on a free loopback port, talks RESP to them with a tiny client, and
// compares the two in differential tests, in the manner of miniredis's
// integration package.
//
// It must not be imported by non-test code.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/server"
)

// ---------------------------------------------------------------- instances

// Instance is a running server under test.
type Instance struct {
	Addr string
	Port int
	// Dir is the server's working directory (dump files land here).
	Dir string
	// Server is set for in-process instances.
	Server *server.Server
	// LogPath is the log file of process instances.
	LogPath string
	cmd     *exec.Cmd
	stop    func()
}

// Stop shuts the instance down (also done by t.Cleanup).
func (in *Instance) Stop() {
	if in.stop != nil {
		in.stop()
		in.stop = nil
	}
}

// Signal sends sig to a process instance's process: SIGSTOP freezes it
// (its clock-driven work and its sockets), SIGCONT thaws it. In-process
// instances have no process of their own and return an error.
func (in *Instance) Signal(sig os.Signal) error {
	if in.cmd == nil || in.cmd.Process == nil {
		return errors.New("redistest: not a process instance")
	}
	return in.cmd.Process.Signal(sig)
}

// Dial opens a client connection to the instance.
func (in *Instance) Dial(t testing.TB) *Client {
	t.Helper()
	c, err := Dial(in.Addr)
	if err != nil {
		t.Fatalf("dial %s: %v", in.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Log returns the log file's content (process instances).
func (in *Instance) Log() string {
	if in.LogPath == "" {
		return ""
	}
	b, _ := os.ReadFile(in.LogPath)
	return string(b)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RedisServerPath returns the redis-server binary, skipping the test when
// it is not installed and CI is unset (in CI a missing binary fails).
func RedisServerPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("redis-server not installed (apt-get install -y redis-server redis-tools)")
		}
		t.Fatal("redis-server not installed, and CI is set")
	}
	return p
}

// StartRedis starts a real redis-server on a free loopback port with the
// given directives ("name value" each, redis.conf syntax), no persistence
// unless they ask for it, in a fresh directory.
func StartRedis(t testing.TB, directives ...string) *Instance {
	t.Helper()
	return startProcess(t, RedisServerPath(t), directives)
}

// StartBinary starts the replnode binary, built once per test process from
// cmd/replnode, with the given directives.
func StartBinary(t testing.TB, directives ...string) *Instance {
	t.Helper()
	return startProcess(t, BuildBinary(t), directives)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// BuildBinary builds cmd/replnode into a temporary directory (once per
// test process) and returns its path.
func BuildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "replnode-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "replnode")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/replnode/replnode/cmd/replnode")
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// moduleRoot is the repository root, found from this file's location.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// startProcess runs a redis-server compatible binary and waits until it
// answers PING.
func startProcess(t testing.TB, bin string, directives []string) *Instance {
	t.Helper()
	dir := t.TempDir()
	port := FreePort(t)
	logPath := filepath.Join(dir, "server.log")
	conf := []string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"dir " + config.Quote(dir),
		"logfile " + config.Quote(logPath),
		`save ""`,
		"appendonly no",
	}
	conf = append(conf, directives...)
	confPath := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, confPath)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &Instance{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir, LogPath: logPath, cmd: cmd}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	in.stop = func() {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a test may have left it frozen
		if c, err := Dial(in.Addr); err == nil {
			_ = c.Send("SHUTDOWN", "NOSAVE")
			c.Close()
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(in.Stop)
	if err := waitReady(in.Addr, exited, 20*time.Second); err != nil {
		t.Fatalf("%s did not start: %v\nlog:\n%s", bin, err, in.Log())
	}
	return in
}

// waitReady polls PING until the server answers.
func waitReady(addr string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("process exited")
		default:
		}
		if c, err := Dial(addr); err == nil {
			r, err := c.Do("PING")
			c.Close()
			if err == nil && (r.Str == "PONG" || strings.HasPrefix(r.Str, "LOADING")) {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("timeout waiting for PING")
}

// StartInProcess runs a replnode server in this process on a free loopback
// port with the given directives.
func StartInProcess(t testing.TB, directives ...string) *Instance {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	text := strings.Join(append([]string{`save ""`, "dir " + config.Quote(dir)}, directives...), "\n")
	if err := cfg.LoadString(text); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = cfg.Set("port", []string{strconv.Itoa(port)}, true)
	s := server.New(cfg)
	s.Log.SetOutput(testLogWriter{t})
	if err := s.LoadUsersAtStartup(); err != nil {
		t.Fatal(err)
	}
	s.ListenOn(l)
	done := make(chan struct{})
	go func() { _ = s.Serve(); close(done) }()
	in := &Instance{Addr: l.Addr().String(), Port: port, Dir: dir, Server: s}
	in.stop = func() {
		s.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
	t.Cleanup(in.Stop)
	return in
}

// testLogWriter sends server log lines to the test log.
type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ---------------------------------------------------------------- client

// Client is a minimal RESP client: one connection, synchronous Do, or Send
// plus Receive for pipelining and pushes.
type Client struct {
	conn net.Conn
	rd   *bufio.Reader
	buf  []byte
	// Timeout bounds each Do/Receive (default 10s).
	Timeout time.Duration
}

// Dial connects to addr.
func Dial(addr string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, rd: bufio.NewReader(conn), Timeout: 10 * time.Second}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Send writes one command without reading the reply.
func (c *Client) Send(args ...string) error {
	c.buf = resp.AppendCommandStrings(c.buf[:0], args...)
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.Timeout))
	_, err := c.conn.Write(c.buf)
	return err
}

// SendRaw writes bytes as they are (inline commands, protocol errors).
func (c *Client) SendRaw(b []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.Timeout))
	_, err := c.conn.Write(b)
	return err
}

// Receive reads one reply.
func (c *Client) Receive() (resp.Reply, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(c.Timeout))
	var acc []byte
	for {
		if len(acc) > 0 {
			r, n, err := resp.ReadReply(acc)
			if err == nil {
				// Lines are read whole and a reply ends with CRLF, so a
				// complete reply never leaves bytes behind.
				if n != len(acc) {
					return resp.Reply{}, errors.New("redistest: trailing bytes after reply")
				}
				return r, nil
			}
			if !errors.Is(err, resp.ErrIncomplete) {
				return resp.Reply{}, err
			}
		}
		line, err := c.rd.ReadBytes('\n')
		acc = append(acc, line...)
		if err != nil {
			return resp.Reply{}, err
		}
	}
}

// Do sends a command and reads its reply. A server error is returned as a
// reply of type '-', not as err; err is for I/O and protocol failures.
func (c *Client) Do(args ...string) (resp.Reply, error) {
	if err := c.Send(args...); err != nil {
		return resp.Reply{}, err
	}
	return c.Receive()
}

// MustDo is Do that fails the test on an I/O error.
func (c *Client) MustDo(t testing.TB, args ...string) resp.Reply {
	t.Helper()
	r, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return r
}

// ---------------------------------------------------------------- differential

// Diff sends the same commands to a real redis-server and to replnode and
// compares the replies.
type Diff struct {
	t          testing.TB
	Real, Ours *Client
}

// NewDiff connects to both servers.
func NewDiff(t testing.TB, real, ours *Instance) *Diff {
	return &Diff{t: t, Real: real.Dial(t), Ours: ours.Dial(t)}
}

// NewDiffClients compares two existing connections.
func NewDiffClients(t testing.TB, real, ours *Client) *Diff {
	return &Diff{t: t, Real: real, Ours: ours}
}

// Receive reads one reply (a push, a pipelined reply) from both and fails
// the test when they differ.
func (d *Diff) Receive() resp.Reply {
	d.t.Helper()
	r1, err := d.Real.Receive()
	if err != nil {
		d.t.Fatalf("redis receive: %v", err)
	}
	r2, err := d.Ours.Receive()
	if err != nil {
		d.t.Fatalf("replnode receive: %v", err)
	}
	if r1.String() != r2.String() {
		d.t.Errorf("receive:\n redis:    %s\n replnode: %s", r1.String(), r2.String())
	}
	return r2
}

// Do sends args to both and fails the test when the replies differ.
func (d *Diff) Do(args ...string) resp.Reply {
	d.t.Helper()
	r1, r2 := d.both(args)
	if r1.String() != r2.String() {
		d.t.Errorf("%q:\n redis:    %s\n replnode: %s", args, r1.String(), r2.String())
	}
	return r2
}

// DoSorted is Do for commands whose array reply has no defined order
// (KEYS, SMEMBERS...): elements are compared as sorted sets of strings.
func (d *Diff) DoSorted(args ...string) resp.Reply {
	d.t.Helper()
	r1, r2 := d.both(args)
	if sortedText(r1) != sortedText(r2) {
		d.t.Errorf("%q (sorted):\n redis:    %s\n replnode: %s", args, sortedText(r1), sortedText(r2))
	}
	return r2
}

// DoType sends args to both and compares only the reply types (for
// values that legitimately differ: run ids, times, addresses).
func (d *Diff) DoType(args ...string) {
	d.t.Helper()
	r1, r2 := d.both(args)
	if r1.Type != r2.Type || r1.Null != r2.Null || len(r1.Elems) != len(r2.Elems) {
		d.t.Errorf("%q (type):\n redis:    %s\n replnode: %s", args, r1.String(), r2.String())
	}
}

func (d *Diff) both(args []string) (resp.Reply, resp.Reply) {
	d.t.Helper()
	r1, err := d.Real.Do(args...)
	if err != nil {
		d.t.Fatalf("redis %q: %v", args, err)
	}
	r2, err := d.Ours.Do(args...)
	if err != nil {
		d.t.Fatalf("replnode %q: %v", args, err)
	}
	return r1, r2
}

func sortedText(r resp.Reply) string {
	if len(r.Elems) == 0 {
		return r.String()
	}
	var parts []string
	for _, e := range r.Elems {
		parts = append(parts, e.String())
	}
	sort.Strings(parts)
	return string(r.Type) + "[" + strings.Join(parts, ", ") + "]"
}
