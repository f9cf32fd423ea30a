package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run replnode (and redis-server, redis-check-aof) as
// processes on one appendonlydir: what the AOF promises only exists across
// a restart or a kill -9.

// startRedisProc starts the real redis-server with --dir dir; skipped when
// it is not installed.
func startRedisProc(t *testing.T, dir string, extra ...string) *persistProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	port := freePort(t)
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "",
		"--enable-debug-command", "yes"}, extra...)
	return startServerProc(t, bin, port, args)
}

// kill9 kills the process at once and waits for it.
func (p *persistProc) kill9() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.waitExit()
}

// infoField reads one field of INFO persistence.
func (p *persistProc) infoField(name string) string {
	p.t.Helper()
	return p.infoSection("persistence", name)
}

// infoSection reads one field of an INFO section.
func (p *persistProc) infoSection(section, name string) string {
	p.t.Helper()
	r := p.must("INFO", section)
	for _, line := range strings.Split(r.(string), "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

// waitRewriteDone waits until no AOF rewrite runs or is scheduled.
func (p *persistProc) waitRewriteDone() {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for p.infoField("aof_rewrite_in_progress") != "0" || p.infoField("aof_rewrite_scheduled") != "0" {
		if time.Now().After(deadline) {
			p.t.Fatalf("AOF rewrite did not finish:\n%s", p.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeMixedDataset writes every type, TTLs, several databases, a
// transaction, a function and commands that propagate rewritten (SET EX,
// INCRBYFLOAT, EXPIRE, SPOP, a script), rewriting the AOF halfway when
// rewrite is set.
func writeMixedDataset(t *testing.T, p *persistProc, rewrite bool) {
	t.Helper()
	lib := "#!lua name=aoflib\nredis.register_function('aofset', function(keys, args) return redis.call('SET', keys[1], args[1]) end)"
	p.must("FUNCTION", "LOAD", lib)
	for i := 0; i < 200; i++ {
		k := strconv.Itoa(i)
		p.must("SET", "s:"+k, strings.Repeat("v", i%50))
		p.must("RPUSH", "l:"+strconv.Itoa(i%7), k, "x"+k)
		p.must("SADD", "set:"+strconv.Itoa(i%5), k)
		p.must("ZADD", "z:"+strconv.Itoa(i%3), strconv.FormatFloat(float64(i)/7, 'g', -1, 64), "m"+k)
		p.must("HSET", "h:"+strconv.Itoa(i%4), "f"+k, k)
		if i == 100 && rewrite {
			p.must("BGREWRITEAOF")
		}
	}
	p.must("SET", "ttl", "v", "EX", "1000")
	p.must("SET", "gone-soon", "v", "PX", "1")
	p.must("EXPIRE", "s:5", "5000")
	p.must("INCRBYFLOAT", "f", "1.5")
	p.must("SPOP", "set:1")
	p.must("ZADD", "z:inf", "inf", "a", "-inf", "b")
	p.must("EVAL", "redis.call('INCR', KEYS[1]); return redis.call('INCR', KEYS[1])", "1", "counter")
	p.must("FCALL", "aofset", "1", "fromfunction", "1")
	p.must("MULTI")
	p.must("SELECT", "3")
	p.must("LPUSH", "db3list", "a", "b")
	p.must("SET", "db3str", "x")
	p.must("EXEC")
	p.must("SELECT", "9")
	p.must("HSET", "db9", "a", "1")
	p.must("SELECT", "0")
	p.must("DEL", "l:3")
	// Streams: entries, a deleted one, groups with pending entries and an
	// idle consumer, and an empty stream.
	for i := 1; i <= 20; i++ {
		p.must("XADD", "st", strconv.Itoa(i)+"-1", "f", strconv.Itoa(i), "g", "x")
	}
	p.must("XDEL", "st", "3-1")
	p.must("XGROUP", "CREATE", "st", "grp", "0")
	p.must("XREADGROUP", "GROUP", "grp", "alice", "COUNT", "4", "STREAMS", "st", ">")
	p.must("XGROUP", "CREATECONSUMER", "st", "grp", "bob")
	p.must("XGROUP", "CREATE", "st", "late", "$")
	p.must("XADD", "empty", "MAXLEN", "0", "1-1", "a", "b")
	// gone-soon expires; reading it deletes it and appends the DEL, so the
	// digest does not depend on when active expiry runs on either side.
	time.Sleep(5 * time.Millisecond)
	if got := p.must("EXISTS", "gone-soon"); got != int64(0) {
		t.Fatalf("gone-soon still exists")
	}
}

// checkAOFWithTool runs redis-check-aof on the manifest and on every file
// of the directory, which must all be reported valid.
func checkAOFWithTool(t *testing.T, aofDir string) {
	t.Helper()
	tool, err := exec.LookPath("redis-check-aof")
	if err != nil {
		t.Skip("redis-check-aof not installed")
	}
	out, err := exec.Command(tool, filepath.Join(aofDir, "appendonly.aof.manifest")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "All AOF files and manifest are valid") {
		t.Fatalf("redis-check-aof on the manifest: %v\n%s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(aofDir, "appendonly.aof.*.aof"))
	rdbs, _ := filepath.Glob(filepath.Join(aofDir, "appendonly.aof.*.rdb"))
	for _, f := range append(names, rdbs...) {
		out, err := exec.Command(tool, f).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "is valid") && !strings.Contains(string(out), "is empty") {
			t.Fatalf("redis-check-aof %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
}

// TestAOFInteropReplnodeToRedis: replnode's appenddir (with and without the
// RDB preamble, with timestamps, rewritten halfway) is accepted by
// redis-check-aof and loaded by redis-server 7.0 with an equal digest.
func TestAOFInteropReplnodeToRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	for _, preamble := range []string{"yes", "no"} {
		t.Run("preamble="+preamble, func(t *testing.T) {
			dir := t.TempDir()
			p := startProc(t, dir, "--save", "", "--appendonly", "yes", "--aof-use-rdb-preamble", preamble,
				"--aof-timestamp-enabled", "yes")
			p.connect()
			writeMixedDataset(t, p, true)
			p.waitRewriteDone()
			p.must("BGREWRITEAOF") // a base holding the function and every type
			p.waitRewriteDone()
			p.must("SET", "after-rewrite", "1")
			p.must("ZINCRBY", "z:0", "2.5", "m0")
			want := p.must("DEBUG", "DIGEST")
			p.kill9()
			checkAOFWithTool(t, filepath.Join(dir, "appendonlydir"))
			if preamble == "yes" {
				if m, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.base.rdb")); len(m) != 1 {
					t.Fatalf("want one .base.rdb, got %v", m)
				}
			} else if m, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.base.aof")); len(m) != 1 {
				t.Fatalf("want one .base.aof, got %v", m)
			}

			r := startRedisProc(t, dir, "--appendonly", "yes")
			r.connect()
			if got := r.must("DEBUG", "DIGEST"); got != want {
				t.Fatalf("redis-server digest %v, replnode's %v\n%s", got, want, r.logText())
			}
			if got := r.must("FCALL", "aofset", "1", "k", "v"); got != "OK" {
				t.Fatalf("function not loaded by redis-server: %v", got)
			}
			r.kill9()

			// And replnode loads what redis-server appended on top.
			p2 := startProc(t, dir, "--save", "", "--appendonly", "yes")
			p2.connect()
			if got := p2.must("GET", "k"); got != "v" {
				t.Fatalf("replnode after redis-server appended: GET k = %v\n%s", got, p2.logText())
			}
		})
	}
}

// TestAOFInteropRedisToReplnode: replnode loads redis-server 7.0's
// appenddir (both base formats, timestamps, a rewrite halfway) with an
// equal digest, and appends to it.
func TestAOFInteropRedisToReplnode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	for _, preamble := range []string{"yes", "no"} {
		t.Run("preamble="+preamble, func(t *testing.T) {
			dir := t.TempDir()
			r := startRedisProc(t, dir, "--appendonly", "yes", "--aof-use-rdb-preamble", preamble,
				"--aof-timestamp-enabled", "yes", "--appendfsync", "always")
			r.connect()
			writeMixedDataset(t, r, true)
			r.waitRewriteDone()
			r.must("SET", "after-rewrite", "1")
			want := r.must("DEBUG", "DIGEST")
			r.kill9()

			p := startProc(t, dir, "--save", "", "--appendonly", "yes", "--aof-use-rdb-preamble", preamble)
			p.connect()
			if got := p.must("DEBUG", "DIGEST"); got != want {
				t.Fatalf("replnode digest %v, redis-server's %v\n%s", got, want, p.logText())
			}
			p.must("SET", "from-replnode", "1")
			if got := p.must("DEBUG", "LOADAOF"); got != "OK" {
				t.Fatalf("DEBUG LOADAOF: %v", got)
			}
			if got := p.must("GET", "from-replnode"); got != "1" {
				t.Fatalf("after DEBUG LOADAOF: %v", got)
			}
		})
	}
}

// TestAOFCrashLoopAlways kills replnode with SIGKILL at random moments
// under write load (recorded writers plus redis-benchmark) with appendfsync
// always, at least 20 times, with
// automatic rewrites happening meanwhile: every write that was
// acknowledged is there after the restart, and the server always starts.
func TestAOFCrashLoopAlways(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	crashLoop(t, "always", 22)
}

// TestAOFCrashLoopEverysec: with everysec the file is still written before
// the reply (only the fsync waits), so killing the process loses nothing
// acknowledged either; what everysec may lose is in the page cache at a
// power cut, which no process test can produce.
func TestAOFCrashLoopEverysec(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	crashLoop(t, "everysec", 5)
}

// crashLoop is the kill -9 loop of the crash tests.
func crashLoop(t *testing.T, fsync string, kills int) {
	dir := t.TempDir()
	args := []string{"--save", "", "--appendonly", "yes", "--appendfsync", fsync,
		"--auto-aof-rewrite-min-size", "65536", "--auto-aof-rewrite-percentage", "50"}
	const writers = 4
	acked := make(map[string]string) // key -> value acknowledged
	counters := make([]int64, writers)
	var ackMu sync.Mutex
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	seq := 0
	for round := 0; round <= kills; round++ {
		p := startProc(t, dir, args...)
		p.connect() // fails the test if the server refuses to start
		// Everything acknowledged so far must be there.
		ackMu.Lock()
		for k, v := range acked {
			if got, err := p.do("GET", k); err != nil || got != v {
				ackMu.Unlock()
				t.Fatalf("round %d: acknowledged %s=%s, after restart %v (%v)\n%s", round, k, v, got, err, p.logText())
			}
		}
		for w, n := range counters {
			got, err := p.do("GET", "counter:"+strconv.Itoa(w))
			have := int64(0)
			if s, ok := got.(string); ok {
				have, _ = strconv.ParseInt(s, 10, 64)
			}
			if err != nil || have < n {
				ackMu.Unlock()
				t.Fatalf("round %d: counter %d acknowledged at %d, after restart %v (%v)", round, w, n, got, err)
			}
			counters[w] = have // an unacknowledged INCR may have landed
		}
		ackMu.Unlock()
		if round == kills {
			// Stopped before the files are checked: a rewrite it may
			// start would delete files under redis-check-aof.
			p.kill9()
			break
		}
		var wg sync.WaitGroup
		var stop atomic.Bool
		benchCtx, stopBench := context.WithCancel(context.Background())
		if bench, err := exec.LookPath("redis-benchmark"); err == nil {
			// Background load besides the recorded writers, killed with
			// the round.
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = exec.CommandContext(benchCtx, bench, "-p", strconv.Itoa(p.port), "-t", "set,incr,lpush,hset", "-n", "10000000",
					"-r", "100000", "-c", "4", "-q").Run()
			}()
		}
		for w := 0; w < writers; w++ {
			wg.Add(1)
			seq++
			go func(w, seq int) {
				defer wg.Done()
				c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
				if err != nil {
					return
				}
				defer c.Close()
				q := &persistProc{t: t, conn: c, rd: bufioReader(c)}
				for i := 0; !stop.Load(); i++ {
					k := fmt.Sprintf("k:%d:%d:%d", round, w, i)
					v := strings.Repeat(strconv.Itoa(i%10), 1+i%300)
					if r, err := q.do("SET", k, v); err != nil || r != "OK" {
						return
					}
					ackMu.Lock()
					acked[k] = v
					ackMu.Unlock()
					n, err := q.do("INCR", "counter:"+strconv.Itoa(w))
					if err != nil {
						return
					}
					ackMu.Lock()
					counters[w] = n.(int64)
					ackMu.Unlock()
				}
			}(w, seq)
		}
		time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
		p.kill9()
		stop.Store(true)
		stopBench()
		wg.Wait()
	}
	if len(acked) < kills*writers {
		t.Fatalf("only %d writes acknowledged over %d kills: the load did not run", len(acked), kills)
	}
	// Automatic rewrites ran during the loop (the kills hit them too).
	mf, err := os.ReadFile(filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest"))
	if err != nil || bytes.HasPrefix(mf, []byte("file appendonly.aof.1.base")) {
		t.Fatalf("no rewrite happened during the loop: %v\n%s", err, mf)
	}
	t.Logf("%d kills, %d acknowledged SETs, all present after every restart; manifest:\n%s", kills, len(acked), mf)
	checkAOFWithTool(t, filepath.Join(dir, "appendonlydir"))
}

// TestAOFTruncatedAndCorrupt: a torn last command is cut with a warning
// (aof-load-truncated yes) or refused (no); bytes that are not commands in
// the middle, or a manifest naming a missing file, are refused with a
// clear error and nothing on disk is touched. redis-server reaches the
// same verdicts on the same directories.
func TestAOFTruncatedAndCorrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	// A directory with a base and an incr holding a few commands.
	seed := t.TempDir()
	p := startProc(t, seed, "--save", "", "--appendonly", "yes")
	p.connect()
	p.must("SET", "a", "1")
	p.must("SET", "b", "2")
	p.must("SET", "c", "3")
	p.kill9()
	incr := filepath.Join("appendonlydir", "appendonly.aof.1.incr.aof")
	full, err := os.ReadFile(filepath.Join(seed, incr))
	if err != nil {
		t.Fatal(err)
	}
	copyDir := func(mutate func(b []byte) []byte) string {
		d := t.TempDir()
		if err := os.MkdirAll(filepath.Join(d, "appendonlydir"), 0o755); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(filepath.Join(seed, "appendonlydir"))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(seed, "appendonlydir", e.Name()))
			if e.Name() == filepath.Base(incr) {
				b = mutate(b)
			}
			if err := os.WriteFile(filepath.Join(d, "appendonlydir", e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	torn := func(b []byte) []byte { return b[:len(b)-4] }

	t.Run("torn tail loads with a warning", func(t *testing.T) {
		for _, bin := range []string{"replnode", "redis-server"} {
			d := copyDir(torn)
			var q *persistProc
			if bin == "replnode" {
				q = startProc(t, d, "--save", "", "--appendonly", "yes")
			} else {
				q = startRedisProc(t, d, "--appendonly", "yes")
			}
			q.connect()
			if got := q.must("MGET", "a", "b", "c"); fmt.Sprint(got) != "[1 2 <nil>]" {
				t.Fatalf("%s: after a torn tail MGET = %v", bin, got)
			}
			if !strings.Contains(q.logText(), "!!! Warning: short read while loading the AOF file") {
				t.Fatalf("%s: no warning:\n%s", bin, q.logText())
			}
			b, _ := os.ReadFile(filepath.Join(d, incr))
			if !bytes.HasPrefix(full, b) || len(b) >= len(full)-4 {
				t.Fatalf("%s: torn tail not cut: %d bytes of %d", bin, len(b), len(full))
			}
		}
	})
	refused := []struct {
		name   string
		mutate func([]byte) []byte
		args   []string
		log    string
	}{
		{"torn tail with aof-load-truncated no", torn, []string{"--aof-load-truncated", "no"}, "Unexpected end of file reading the append only file"},
		{"garbage in the middle", func(b []byte) []byte {
			i := bytes.Index(b, []byte("*3\r\n$3\r\nSET\r\n$1\r\nb"))
			if i < 0 {
				t.Fatalf("SET b not found in %q", b)
			}
			return append(append(append([]byte(nil), b[:i]...), []byte("garbage\r\n")...), b[i:]...)
		}, nil, "Bad file format reading the append only file"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			for _, bin := range []string{"replnode", "redis-server"} {
				d := copyDir(c.mutate)
				before, _ := os.ReadFile(filepath.Join(d, incr))
				var q *persistProc
				if bin == "replnode" {
					q = startProc(t, d, append([]string{"--save", "", "--appendonly", "yes"}, c.args...)...)
				} else {
					q = startRedisProc(t, d, append([]string{"--appendonly", "yes"}, c.args...)...)
				}
				if code := q.waitExit(); code != 1 {
					t.Fatalf("%s: exit code %d, want 1\n%s", bin, code, q.logText())
				}
				if !strings.Contains(q.logText(), c.log) {
					t.Fatalf("%s: log lacks %q:\n%s", bin, c.log, q.logText())
				}
				after, _ := os.ReadFile(filepath.Join(d, incr))
				if !bytes.Equal(before, after) {
					t.Fatalf("%s: the refused file was changed", bin)
				}
			}
		})
	}
	t.Run("manifest names a missing file", func(t *testing.T) {
		d := copyDir(func(b []byte) []byte { return b })
		if err := os.Remove(filepath.Join(d, incr)); err != nil {
			t.Fatal(err)
		}
		q := startProc(t, d, "--save", "", "--appendonly", "yes")
		if code := q.waitExit(); code != 1 {
			t.Fatalf("exit code %d, want 1\n%s", code, q.logText())
		}
		if !strings.Contains(q.logText(), "appendonly.aof.1.incr.aof") {
			t.Fatalf("the error does not name the file:\n%s", q.logText())
		}
	})
	t.Run("corrupt manifest", func(t *testing.T) {
		d := copyDir(func(b []byte) []byte { return b })
		mf := filepath.Join(d, "appendonlydir", "appendonly.aof.manifest")
		if err := os.WriteFile(mf, []byte("file appendonly.aof.1.incr.aof seq 1 type x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		q := startProc(t, d, "--save", "", "--appendonly", "yes")
		if code := q.waitExit(); code != 1 {
			t.Fatalf("exit code %d, want 1\n%s", code, q.logText())
		}
		if !strings.Contains(q.logText(), "Unknown AOF file type") {
			t.Fatalf("log:\n%s", q.logText())
		}
	})
}

// TestAOFConfigSetAppendonly: CONFIG SET appendonly yes on a running node
// rewrites the dataset into a new appenddir first, then appends; after a
// kill -9 everything is loaded back. appendonly no stops appending. The AOF
// is preferred over the dump at startup.
func TestAOFConfigSetAppendonly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	p := startProc(t, dir, "--save", "")
	p.connect()
	p.must("SET", "before", "1")
	p.must("RPUSH", "list", "a", "b")
	p.must("SAVE") // a dump that must not be preferred
	p.must("SET", "not-in-dump", "1")
	if got := p.must("CONFIG", "SET", "appendonly", "yes"); got != "OK" {
		t.Fatal(got)
	}
	p.waitRewriteDone()
	if p.infoField("aof_enabled") != "1" {
		t.Fatalf("aof_enabled after CONFIG SET: %s", p.infoField("aof_enabled"))
	}
	p.must("SET", "after", "2")
	want := p.must("DEBUG", "DIGEST")
	p.kill9()
	p2 := startProc(t, dir, "--save", "", "--appendonly", "yes")
	p2.connect()
	if got := p2.must("DEBUG", "DIGEST"); got != want {
		t.Fatalf("digest after restart %v, want %v\n%s", got, want, p2.logText())
	}
	p2.must("CONFIG", "SET", "appendonly", "no")
	if p2.infoField("aof_enabled") != "0" {
		t.Fatal("aof_enabled after appendonly no")
	}
	p2.must("SET", "not-appended", "1")
	p2.kill9()
	p3 := startProc(t, dir, "--save", "", "--appendonly", "yes")
	p3.connect()
	if got := p3.must("EXISTS", "not-appended", "after", "not-in-dump"); got != int64(2) {
		t.Fatalf("EXISTS = %v, want 2 (the write after appendonly no is not in the AOF)", got)
	}
}

// TestAOFInfoFieldsAsRedis: INFO persistence has Redis 7.0's aof_* fields
// in its order, with and without appendonly.
func TestAOFInfoFieldsAsRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	names := func(p *persistProc) []string {
		var out []string
		for _, line := range strings.Split(p.must("INFO", "persistence").(string), "\r\n") {
			if k, _, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(k, "aof_") {
				out = append(out, k)
			}
		}
		return out
	}
	for _, on := range []string{"yes", "no"} {
		r := startRedisProc(t, t.TempDir(), "--appendonly", on)
		r.connect()
		p := startProc(t, t.TempDir(), "--save", "", "--appendonly", on)
		p.connect()
		if a, b := names(r), names(p); strings.Join(a, ",") != strings.Join(b, ",") {
			t.Fatalf("appendonly %s: redis-server %v\nreplnode %v", on, a, b)
		}
		p.must("SET", "k", "v")
		if on == "yes" && p.infoField("aof_current_size") == "0" {
			t.Fatal("aof_current_size did not grow")
		}
	}
}

// bufioReader wraps a connection for readProcReply.
func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// TestAOFDifferentialIncrFile: the same deterministic commands sent to
// redis-server and replnode with appendonly yes leave byte-identical incr
// files (SELECT placement, MULTI/EXEC wrapping, rewritten commands), and
// BGREWRITEAOF / BGSAVE answer alike while a rewrite runs.
func TestAOFDifferentialIncrFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	rdir, pdir := t.TempDir(), t.TempDir()
	args := []string{"--appendonly", "yes", "--appendfsync", "always"}
	r := startRedisProc(t, rdir, args...)
	p := startProc(t, pdir, append([]string{"--save", ""}, args...)...)
	r.connect()
	p.connect()
	both := func(args ...string) {
		t.Helper()
		rr, rerr := r.do(args...)
		pr, perr := p.do(args...)
		if fmt.Sprint(rr, rerr) != fmt.Sprint(pr, perr) {
			t.Fatalf("%q: redis-server %v %v, replnode %v %v", args, rr, rerr, pr, perr)
		}
	}
	cmds := [][]string{
		{"SET", "a", "1"}, {"INCR", "a"}, {"DEL", "missing"}, {"SET", "b", "x", "PXAT", "4102444800000"},
		{"INCRBYFLOAT", "f", "2.5"}, {"EXPIREAT", "a", "4102444800"}, {"PERSIST", "a"},
		{"RPUSH", "l", "1", "2", "3"}, {"LPOP", "l"}, {"HSET", "h", "f", "v"}, {"HINCRBYFLOAT", "h", "n", "1.25"},
		{"SELECT", "2"}, {"SET", "a", "db2"}, {"MULTI"}, {"SET", "m1", "1"}, {"SELECT", "0"}, {"SET", "m2", "2"}, {"EXEC"},
		{"EVAL", "redis.call('SET', KEYS[1], 'e'); redis.call('DEL', KEYS[1]); return 1", "1", "ev"},
		{"GETDEL", "b"}, {"ZADD", "z", "1", "a"}, {"ZINCRBY", "z", "1.5", "a"}, {"SETEX", "ignored", "0", "x"},
		{"FLUSHDB"}, {"SET", "last", "1"},
	}
	for _, c := range cmds {
		both(c...)
	}
	rb, err := os.ReadFile(filepath.Join(rdir, "appendonlydir", "appendonly.aof.1.incr.aof"))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := os.ReadFile(filepath.Join(pdir, "appendonlydir", "appendonly.aof.1.incr.aof"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rb, pb) {
		t.Fatalf("incr files differ:\nredis-server %q\nreplnode     %q", rb, pb)
	}

	// A rewrite long enough (200k keys) for the commands about background
	// jobs that follow it at once to find it running.
	both("DEBUG", "POPULATE", "200000")
	both("BGREWRITEAOF")
	both("BGREWRITEAOF")
	both("BGSAVE")
	both("BGSAVE", "SCHEDULE")
	r.waitRewriteDone()
	p.waitRewriteDone()
	for _, q := range []*persistProc{r, p} {
		deadline := time.Now().Add(20 * time.Second)
		for q.infoField("rdb_bgsave_in_progress") != "0" || q.infoField("rdb_saves") == "0" {
			if time.Now().After(deadline) {
				t.Fatalf("the scheduled BGSAVE did not run:\n%s", q.logText())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestAOFReplayDoesNotExpireKeys: a key whose TTL passed while the server
// was down is not expired in the middle of the replay, as Redis's
// keyIsExpired does nothing while loading: INCR on it must not recreate it
// without a TTL.
func TestAOFReplayDoesNotExpireKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	p := startProc(t, dir, "--save", "", "--appendonly", "yes")
	p.connect()
	p.must("SET", "k", "5", "PX", "400")
	p.must("INCR", "k")
	p.must("RPUSH", "l", "a")
	p.must("PEXPIRE", "l", "400")
	p.must("RPUSH", "l", "b")
	p.kill9()
	time.Sleep(600 * time.Millisecond)
	for _, bin := range []string{"replnode", "redis-server"} {
		var q *persistProc
		if bin == "replnode" {
			q = startProc(t, dir, "--save", "", "--appendonly", "yes")
		} else {
			q = startRedisProc(t, dir, "--appendonly", "yes")
		}
		q.connect()
		if got := q.must("EXISTS", "k", "l"); got != int64(0) {
			t.Fatalf("%s: keys expired before the restart came back (EXISTS k l = %v): GET k = %v", bin, got, q.must("GET", "k"))
		}
		q.kill9()
	}
}

// TestAOFReplicaRewritesAfterFullSync: a replica with appendonly yes
// starts its AOF over from the dataset a full sync gave it (a rewrite, as
// restartAOFAfterSYNC) and appends its master's stream, so restarted on
// its own it has everything it had replicated.
func TestAOFReplicaRewritesAfterFullSync(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	m := startProc(t, t.TempDir(), "--save", "")
	m.connect()
	for i := 0; i < 100; i++ {
		m.must("SET", "before:"+strconv.Itoa(i), "v")
	}
	rdir := t.TempDir()
	r := startProc(t, rdir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--replicaof", "127.0.0.1", strconv.Itoa(m.port))
	r.connect()
	waitDigest := func() string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			want := m.must("DEBUG", "DIGEST")
			if got := r.must("DEBUG", "DIGEST"); got == want {
				return want.(string)
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica did not catch up:\n%s", r.logText())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitDigest()
	r.waitRewriteDone()
	m.must("SET", "after", "1")
	m.must("SELECT", "5")
	m.must("LPUSH", "l", "x")
	want := waitDigest()
	r.kill9()
	if !strings.Contains(r.logText(), "Background AOF rewrite finished successfully") {
		t.Fatalf("the replica did not rewrite its AOF after the sync:\n%s", r.logText())
	}
	r2 := startProc(t, rdir, "--save", "", "--appendonly", "yes")
	r2.connect()
	if got := r2.must("DEBUG", "DIGEST"); got != want {
		t.Fatalf("replica restarted on its AOF: digest %v, want %v\n%s", got, want, r2.logText())
	}
}

// TestAOFUpgradesOldSingleFile: an old-style appendonly.aof in dir (an RDB
// preamble followed by commands, as Redis before 7.0 wrote it) is moved
// into the AOF directory with a manifest naming it the base and loaded, by
// replnode as by redis-server, with the same digest.
func TestAOFUpgradesOldSingleFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	seed := t.TempDir()
	p := startProc(t, seed, "--save", "")
	p.connect()
	p.must("SET", "from-preamble", "1")
	p.must("RPUSH", "list", "a", "b")
	p.must("SAVE")
	p.kill9()
	preamble, err := os.ReadFile(filepath.Join(seed, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	tail := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$9\r\nfrom-tail\r\n$1\r\n2\r\n*3\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n$1\r\nc\r\n"
	var digests []any
	for _, bin := range []string{"replnode", "redis-server"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "appendonly.aof"), append(append([]byte(nil), preamble...), tail...), 0o644); err != nil {
			t.Fatal(err)
		}
		var q *persistProc
		if bin == "replnode" {
			q = startProc(t, dir, "--save", "", "--appendonly", "yes")
		} else {
			q = startRedisProc(t, dir, "--appendonly", "yes")
		}
		q.connect()
		if got := q.must("MGET", "from-preamble", "from-tail"); fmt.Sprint(got) != "[1 2]" {
			t.Fatalf("%s: MGET = %v\n%s", bin, got, q.logText())
		}
		if got := q.must("LLEN", "list"); got != int64(3) {
			t.Fatalf("%s: LLEN = %v", bin, got)
		}
		digests = append(digests, q.must("DEBUG", "DIGEST"))
		mf, err := os.ReadFile(filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest"))
		if err != nil || !strings.HasPrefix(string(mf), "file appendonly.aof seq 1 type b\n") {
			t.Fatalf("%s: manifest after the upgrade: %v %q", bin, err, mf)
		}
		if _, err := os.Stat(filepath.Join(dir, "appendonly.aof")); err == nil {
			t.Fatalf("%s: the old file is still in dir", bin)
		}
		q.kill9()
	}
	if digests[0] != digests[1] {
		t.Fatalf("digests differ: replnode %v, redis-server %v", digests[0], digests[1])
	}
}

// TestAOFShutdownWhileWritingInitialAOF: SHUTDOWN is refused while the
// rewrite that CONFIG SET appendonly yes started runs (the AOF holds
// nothing yet), as redis-server does, and SHUTDOWN FORCE exits.
func TestAOFShutdownWhileWritingInitialAOF(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	for _, bin := range []string{"replnode", "redis-server"} {
		var q *persistProc
		if bin == "replnode" {
			q = startProc(t, t.TempDir(), "--save", "")
		} else {
			q = startRedisProc(t, t.TempDir())
		}
		q.connect()
		q.must("DEBUG", "POPULATE", "300000")
		q.must("CONFIG", "SET", "appendonly", "yes")
		_, err := q.do("SHUTDOWN", "NOSAVE")
		if err == nil || !strings.Contains(err.Error(), "Errors trying to SHUTDOWN") {
			t.Fatalf("%s: SHUTDOWN during the initial rewrite: %v", bin, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(q.logText(), "Writing initial AOF, can't exit.") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: log (SHUTDOWN said %v):\n%s", bin, err, q.logText())
			}
			time.Sleep(20 * time.Millisecond)
		}
		_, _ = q.do("SHUTDOWN", "NOSAVE", "FORCE")
		if code := q.waitExit(); code != 0 {
			t.Fatalf("%s: SHUTDOWN FORCE exit code %d", bin, code)
		}
	}
}
