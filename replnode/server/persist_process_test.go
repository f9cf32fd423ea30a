package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/store"
)

// These tests run the replnode binary as a separate process, because what
// they check only exists across processes: data surviving a restart, a
// corrupt dump refused at startup, and kill -9 in the middle of BGSAVE.

var (
	replnodeBinOnce sync.Once
	replnodeBin     string
	replnodeBinErr  error
)

// buildReplnode builds cmd/replnode once per test run.
func buildReplnode(t *testing.T) string {
	t.Helper()
	replnodeBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "replnode-bin-")
		if err != nil {
			replnodeBinErr = err
			return
		}
		replnodeBin = filepath.Join(dir, "replnode")
		out, err := exec.Command("go", "build", "-o", replnodeBin, "github.com/replnode/replnode/cmd/replnode").CombinedOutput()
		if err != nil {
			replnodeBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if replnodeBinErr != nil {
		t.Fatal(replnodeBinErr)
	}
	return replnodeBin
}

// persistProc is a replnode process on a free loopback port.
type persistProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	port int
	log  *bytes.Buffer
	logM *sync.Mutex
	done chan struct{}
	conn net.Conn
	rd   *bufio.Reader
}

// lockedWriter serialises writes to a buffer shared with the test.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startProc starts replnode with --dir dir and extra directives; it does
// not wait for the port (a refused start never opens it).
func startProc(t *testing.T, dir string, extra ...string) *persistProc {
	t.Helper()
	return startProcOnPort(t, dir, freePort(t), extra...)
}

// startProcOnPort is startProc on a given port: a node restarted where
// its replicas (or its master) expect it.
func startProcOnPort(t *testing.T, dir string, port int, extra ...string) *persistProc {
	t.Helper()
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--enable-debug-command", "yes"}, extra...)
	return startServerProc(t, buildReplnode(t), port, args)
}

// startServerProc runs bin (replnode or redis-server) with args, which
// must make it listen on port, collects its output for logText and kills
// it when the test ends.
func startServerProc(t *testing.T, bin string, port int, args []string) *persistProc {
	t.Helper()
	p := &persistProc{t: t, cmd: exec.Command(bin, args...), port: port, log: &bytes.Buffer{}, logM: &sync.Mutex{}, done: make(chan struct{})}
	p.cmd.Stdout = lockedWriter{p.logM, p.log}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait's error is the exit status, which waitExit reads from
	// ProcessState; Kill fails only when the process already exited.
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// logText returns the process's output so far.
func (p *persistProc) logText() string {
	p.logM.Lock()
	defer p.logM.Unlock()
	return p.log.String()
}

// connect waits until the server answers PING.
func (p *persistProc) connect() {
	p.t.Helper()
	p.connectWhen(func() bool {
		r, err := p.do("PING")
		return err == nil && r == "PONG"
	})
}

// connectWhen connects until a fresh connection passes ready, which may
// send commands on it.
func (p *persistProc) connectWhen(ready func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
		if err == nil {
			p.conn, p.rd = c, bufio.NewReader(c)
			if ready() {
				return
			}
			c.Close()
		}
		select {
		case <-p.done:
			p.t.Fatalf("replnode exited during startup:\n%s", p.logText())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("replnode did not start:\n%s", p.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do sends one command and reads a RESP2 reply (strings, ints, arrays).
func (p *persistProc) do(args ...string) (any, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := p.conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		return nil, err
	}
	if _, err := p.conn.Write(b.Bytes()); err != nil {
		return nil, err
	}
	return readProcReply(p.rd)
}

// must is do, failing the test on error replies.
func (p *persistProc) must(args ...string) any {
	p.t.Helper()
	r, err := p.do(args...)
	if err != nil {
		p.t.Fatalf("%q: %v", args, err)
	}
	return r
}

// readProcReply reads one RESP2 reply.
func readProcReply(rd *bufio.Reader) (any, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, fmt.Errorf("%s", line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		out := make([]any, max(n, 0))
		for i := range out {
			if out[i], err = readProcReply(rd); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad reply %q", line)
}

// waitExit waits for the process to end and returns its exit code.
func (p *persistProc) waitExit() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(60 * time.Second):
		p.t.Fatalf("replnode did not exit:\n%s", p.logText())
	}
	return -1
}

// writeTestDump writes a small valid dump with one key per database 0..1.
func writeTestDump(t *testing.T, path string) []byte {
	t.Helper()
	ks := store.NewKeyspace(2)
	ks.DBs[0].Set("greeting", store.NewString([]byte(strings.Repeat("hello ", 20))), false)
	ks.DBs[1].Set("other", store.NewString([]byte("x")), false)
	var buf bytes.Buffer
	snaps := []*store.Snapshot{ks.DBs[0].Snapshot(), ks.DBs[1].Snapshot()}
	if err := rdb.WriteSnapshot(&buf, snaps, rdb.AuxInfo{RedisVer: Version}, rdb.DefaultOptions); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestProcessRestartKeepsData: SIGTERM with save points configured saves
// (as shutdown-on-sigterm default does), and a restart loads the same data.
func TestProcessRestartKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	p := startProc(t, dir, "--save", "3600", "1")
	p.connect()
	for i := 0; i < 200; i++ {
		p.must("SET", "key:"+strconv.Itoa(i), strings.Repeat("v", i))
	}
	p.must("SET", "ttl", "x", "PXAT", "4102444800000")
	p.must("SELECT", "5")
	p.must("SET", "in5", "x")
	digest := p.must("DEBUG", "DIGEST")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, p.logText())
	}
	if !strings.Contains(p.logText(), "DB saved on disk") {
		t.Errorf("no save on shutdown:\n%s", p.logText())
	}
	q := startProc(t, dir, "--save", "")
	q.connect()
	if got := q.must("DEBUG", "DIGEST"); got != digest {
		t.Fatalf("digest after restart %v, want %v\n%s", got, digest, q.logText())
	}
	if !strings.Contains(q.logText(), "keys loaded: 202") {
		t.Errorf("load not logged:\n%s", q.logText())
	}
	// Without save points SIGTERM does not save: a change is lost, the
	// file stays.
	q.must("SET", "unsaved", "x")
	if err := q.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	q.waitExit()
	r := startProc(t, dir, "--save", "")
	r.connect()
	if got := r.must("DEBUG", "DIGEST"); got != digest {
		t.Fatalf("SIGTERM without save points saved anyway")
	}
}

// TestProcessRefusesCorruptDump: a truncated or bad-checksum dump stops
// startup with a message naming the file and the offset, and the file is
// not modified.
func TestProcessRefusesCorruptDump(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, kind := range []string{"truncated", "checksum"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "dump.rdb")
			good := writeTestDump(t, path)
			bad := good[:len(good)-12]
			if kind == "checksum" {
				// A changed byte inside a value: the file parses, only the
				// CRC64 trailer tells.
				bad = append([]byte(nil), good...)
				bad[bytes.Index(bad, []byte("hello"))] ^= 0x01
			}
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			p := startProc(t, dir, "--save", "3600", "1")
			if code := p.waitExit(); code == 0 {
				t.Fatalf("started on a corrupt dump:\n%s", p.logText())
			}
			log := p.logText()
			if !strings.Contains(log, "dump.rdb") || !strings.Contains(log, "offset") {
				t.Errorf("log does not name the file and offset:\n%s", log)
			}
			// redis-server 7.0's lines for the two cases, and never Ready.
			redisLine := map[string]string{"truncated": "Short read or OOM loading DB. Unrecoverable error, aborting now.",
				"checksum": "Wrong RDB checksum expected: ("}[kind]
			if !strings.Contains(log, redisLine) || !strings.Contains(log, "Internal error in RDB reading offset") {
				t.Errorf("log lacks Redis's %q line:\n%s", redisLine, log)
			}
			if strings.Contains(log, "Ready to accept") || strings.Contains(log, "bye bye") {
				t.Errorf("a failed load logged Ready or a clean exit:\n%s", log)
			}
			if now, _ := os.ReadFile(path); !bytes.Equal(now, bad) {
				t.Error("corrupt dump was modified")
			}
		})
	}
}

// TestProcessKill9DuringBgsave: kill -9 while BGSAVE writes leaves the old
// dump intact (only a temp file may remain).
func TestProcessKill9DuringBgsave(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.rdb")
	old := writeTestDump(t, path)
	p := startProc(t, dir, "--save", "")
	p.connect()
	slow := false
	if _, err := p.do("CONFIG", "SET", "rdb-key-save-delay", "2000"); err == nil {
		slow = true // 2 ms per key: the save below takes seconds
	}
	// Enough incompressible data that the save takes a while even without
	// the delay knob.
	val := make([]byte, 256<<10)
	for i := 0; i < 120; i++ {
		for j := range val {
			val[j] = byte((i*7919 + j*104729) >> 3)
		}
		p.must("SET", "big:"+strconv.Itoa(i), string(val))
	}
	if r := p.must("BGSAVE"); r != "Background saving started" {
		t.Fatalf("BGSAVE: %v", r)
	}
	// Kill as soon as the temp file exists.
	deadline := time.Now().Add(30 * time.Second)
	sawTemp := false
	for !sawTemp && time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(dir, "temp-*.rdb"))
		sawTemp = len(matches) > 0
		if !sawTemp {
			time.Sleep(time.Millisecond)
		}
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.waitExit()
	now, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(now, old) {
		if sawTemp && slow {
			t.Fatal("dump.rdb changed although the save was killed in the middle")
		}
		// Without the delay knob the save may have completed before the
		// kill: then the new file must be complete.
		if _, err := rdb.LoadKeyspace(bytes.NewReader(now), store.NewKeyspace(16), rdb.LoadOptions{}); err != nil {
			t.Fatalf("dump.rdb is neither the old file nor a complete new one: %v", err)
		}
		t.Log("the save completed before the kill")
	}
	if !sawTemp {
		t.Fatal("the background save's temp file was never observed: the kill did not happen during the save")
	}
	// The old dump still loads in a fresh process.
	q := startProc(t, dir, "--save", "")
	q.connect()
	if d := q.must("DEBUG", "DIGEST"); d == strings.Repeat("0", 40) {
		t.Errorf("restart after kill lost the data")
	}
}

// TestProcessDumpLoadsInRealRedis moves the golden data set written by a
// real redis-server into a replnode process with RESTORE, saves it with
// SAVE, and starts a real redis-server on the result: all three hold the
// same data set (DEBUG DIGEST equal to the golden one).
func TestProcessDumpLoadsInRealRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	golden, err := os.ReadFile(filepath.Join("..", "rdb", "testdata", "types.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join("..", "rdb", "testdata", "types.digest"))
	ks := store.NewKeyspace(16)
	if _, err := rdb.LoadKeyspace(bytes.NewReader(golden), ks, rdb.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := startProc(t, dir, "--save", "")
	p.connect()
	for i, db := range ks.DBs {
		p.must("SELECT", strconv.Itoa(i))
		db.ForEach(func(key string, v store.Value, exp int64, has bool) bool {
			payload := string(rdb.DumpPayload(v, rdb.DefaultOptions))
			if has {
				p.must("RESTORE", key, strconv.FormatInt(exp, 10), payload, "ABSTTL")
			} else {
				p.must("RESTORE", key, "0", payload)
			}
			return true
		})
	}
	if got := p.must("DEBUG", "DIGEST"); got != strings.TrimSpace(string(want)) {
		t.Fatalf("replnode digest after RESTORE %v, want %s", got, want)
	}
	if r := p.must("SAVE"); r != "OK" {
		t.Fatalf("SAVE: %v", r)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.waitExit()

	// A real redis-server on the same dir and dbfilename.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &persistProc{t: t, port: port, log: &bytes.Buffer{}, logM: &sync.Mutex{}, done: make(chan struct{})}
	r.cmd = exec.Command(redisBin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "",
		"--enable-debug-command", "yes")
	r.cmd.Stdout = lockedWriter{r.logM, r.log}
	r.cmd.Stderr = r.cmd.Stdout
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// As in startProc: the exit status is read from ProcessState, and
	// Kill fails only when the process already exited.
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); <-r.done })
	r.connect()
	if got := r.must("DEBUG", "DIGEST"); got != strings.TrimSpace(string(want)) {
		t.Fatalf("redis-server digest on replnode's dump %v, want %s\n%s", got, want, r.logText())
	}
}

// TestProcessShutdownSaveNosave: SHUTDOWN SAVE saves without save points,
// SHUTDOWN NOSAVE does not save with them, and a save that fails keeps the
// server running.
func TestProcessShutdownSaveNosave(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.rdb")
	p := startProc(t, dir, "--save", "")
	p.connect()
	p.must("SET", "k", "v1")
	if _, err := p.do("SHUTDOWN", "SAVE"); err != nil && strings.Contains(err.Error(), "unknown command") {
		t.Skip("SHUTDOWN not available")
	}
	p.waitExit()
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("SHUTDOWN SAVE wrote nothing: %v\n%s", err, p.logText())
	}

	q := startProc(t, dir, "--save", "3600", "1")
	q.connect()
	q.must("SET", "k", "v2")
	// The server exits without replying: do's EOF carries no verdict,
	// waitExit and the unchanged dump do.
	_, _ = q.do("SHUTDOWN", "NOSAVE")
	q.waitExit()
	if now, _ := os.ReadFile(path); !bytes.Equal(now, saved) {
		t.Fatal("SHUTDOWN NOSAVE saved")
	}

	// A failing save aborts the shutdown: the directory disappears.
	r := startProc(t, dir, "--save", "3600", "1")
	r.connect()
	r.must("SET", "k", "v3")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Recreated for t.TempDir's cleanup, which fails on a missing dir.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Error(err)
		}
	}()
	_, err = r.do("SHUTDOWN")
	if err == nil || !strings.Contains(err.Error(), "Errors trying to SHUTDOWN") {
		t.Fatalf("SHUTDOWN with a failing save: %v", err)
	}
	if got := r.must("GET", "k"); got != "v3" {
		t.Fatalf("server state after aborted shutdown: %v", got)
	}
}
