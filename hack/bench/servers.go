package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ------ SERVER PROCESSES ------

// Server is one running server process (replnode or redis-server) on a
// loopback port, with its own scratch directory.
type Server struct {
	Name string // serverRedis or serverReplnode
	Port int
	Dir  string
	cmd  *exec.Cmd
	done chan error // receives cmd.Wait's result once
}

// startServer starts binary as Name on a free 127.0.0.1 port with the
// benchmark configuration shared by both servers (no RDB saves, no AOF, own
// directory and log file) and waits until it answers PING. A port taken
// between choosing and binding is retried with a new port, up to three
// times. extra arguments follow the shared ones (replnode's metrics
// listener for the GC figures). The caller must call Stop.
func startServer(ctx context.Context, name, binary, scratch string, extra ...string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp(scratch, name+"-")
		if err != nil {
			return nil, err
		}
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--logfile", filepath.Join(dir, "server.log"),
			"--daemonize", "no",
		}
		args = append(args, extra...)
		cmd := exec.Command(binary, args...)
		// Own process group: a Ctrl-C at the terminal reaches us, and we stop
		// the server ourselves in order instead of racing its signal handler.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		s := &Server{Name: name, Port: port, Dir: dir, cmd: cmd, done: make(chan error, 1)}
		go func() { s.done <- cmd.Wait() }()
		if err := s.waitReady(ctx, 30*time.Second); err != nil {
			s.Stop()
			lastErr = fmt.Errorf("%s on port %d: %w (log: %s)", name, port, err, s.logTail())
			continue
		}
		return s, nil
	}
	return nil, lastErr
}

// freePort asks the kernel for an unused 127.0.0.1 port. The port is free
// when returned, not reserved; startServer retries if it is taken meanwhile.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls PING every 100ms until +PONG, the process exits, ctx ends
// or timeout passes.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-s.done:
			s.done <- err // keep it for Stop
			return fmt.Errorf("exited before ready: %v", err)
		default:
		}
		if c, err := dial(s.Port); err == nil {
			reply, err := c.do("PING")
			c.close()
			if err == nil && reply == "PONG" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("not answering PING")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop ends the server: SIGTERM (both servers exit without saving under
// save ""), SIGKILL after 10s, then removes its directory. Safe to call more
// than once.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	// The exit status is dropped: the server is being stopped on purpose,
	// and a killed process always reports its signal as an error.
	select {
	case <-s.done: //nolint:errcheck // exit status of a deliberate stop
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done //nolint:errcheck // exit status of a deliberate stop
	}
	s.cmd = nil
	_ = os.RemoveAll(s.Dir)
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// logTail returns the last lines of the server's log, for error messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if err != nil {
		return "no log: " + err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// ------ MINIMAL RESP CLIENT ------

// conn is a tiny RESP2 client: enough to PING, FLUSHALL, read INFO and
// pipeline SETs. redis-benchmark does the measuring.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

// dial connects to 127.0.0.1:port with a 5s timeout.
func dial(port int) (*conn, error) {
	nc, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10)}, nil
}

// close closes the connection.
func (c *conn) close() { _ = c.nc.Close() }

// write buffers one command as a RESP array of bulk strings.
func (c *conn) write(args ...string) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
}

// do sends one command and returns its reply as text (status, integer or
// bulk string); an error reply or an array is an error here.
func (c *conn) do(args ...string) (string, error) {
	_ = c.nc.SetDeadline(time.Now().Add(60 * time.Second))
	c.write(args...)
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	return c.readReply()
}

// readReply reads one non-array reply.
func (c *conn) readReply() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("server error: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n == -1 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("unexpected reply %q", line)
	}
}

// ------ KEY LOADING AND MEMORY PROBES ------

// loadKeys writes n string keys the way DEBUG POPULATE names them
// ("key:<i>" = "value:<i>") with pipelined SETs in batches of 1000, checking
// every reply is OK. replnode has no DEBUG POPULATE, so both servers are
// loaded this same way.
func loadKeys(ctx context.Context, port, n int) error {
	c, err := dial(port)
	if err != nil {
		return err
	}
	defer c.close()
	const batch = 1000
	for start := 0; start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+batch, n)
		_ = c.nc.SetDeadline(time.Now().Add(60 * time.Second))
		for i := start; i < end; i++ {
			idx := strconv.Itoa(i)
			c.write("SET", "key:"+idx, "value:"+idx)
		}
		if err := c.w.Flush(); err != nil {
			return err
		}
		for i := start; i < end; i++ {
			reply, err := c.readReply()
			if err != nil {
				return fmt.Errorf("SET key:%d: %w", i, err)
			}
			if reply != "OK" {
				return fmt.Errorf("SET key:%d: reply %q", i, reply)
			}
		}
	}
	return nil
}

// infoFields runs INFO section and returns its "name:value" fields.
func infoFields(port int, section string) (map[string]string, error) {
	c, err := dial(port)
	if err != nil {
		return nil, err
	}
	defer c.close()
	text, err := c.do("INFO", section)
	if err != nil {
		return nil, err
	}
	return parseInfo(text), nil
}

// parseInfo splits INFO output into its fields, skipping section headers
// and blank lines.
func parseInfo(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// infoInt returns an integer INFO field, failing if it is missing or not a
// number.
func infoInt(fields map[string]string, name string) (int64, error) {
	v, ok := fields[name]
	if !ok {
		return 0, fmt.Errorf("INFO has no %s", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("INFO %s: %w", name, err)
	}
	return n, nil
}

// vmRSS reads VmRSS (resident set size) of pid from /proc, in bytes.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// parseVmRSS extracts "VmRSS:   1234 kB" from a /proc/<pid>/status file, in
// bytes.
func parseVmRSS(status []byte) (int64, error) {
	return statusKB(status, "VmRSS:")
}

// statusKB extracts a "Name:   1234 kB" line of a /proc status-style file
// (status, smaps_rollup), in bytes.
func statusKB(status []byte, name string) (int64, error) {
	for _, line := range bytes.Split(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte(name))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", name, line, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no %s line", strings.TrimSuffix(name, ":"))
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// processCPUSeconds is the CPU time (user + system, all threads) pid has
// used so far, from /proc/<pid>/stat.
func processCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStatCPU(b)
}

// parseProcStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/<pid>/stat line, in seconds. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func parseProcStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line %q", stat)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in %q", stat)
	}
	return float64(ut+st) / clockTicks, nil
}
