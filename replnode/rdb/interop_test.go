package rdb

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
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/store"
)

// These tests check our output against the real Redis 7.0 on this machine:
// redis-check-rdb must accept it, and a redis-server started on it must hold
// the same data (DEBUG DIGEST equal). They are skipped when redis-server is
// not installed.

// realRedis is a redis-server child listening on a free loopback port.
type realRedis struct {
	cmd  *exec.Cmd
	dir  string
	conn net.Conn
	rd   *bufio.Reader
}

// startRedis starts redis-server with --dir dir (which may hold a dump.rdb
// to load) and extra arguments, and connects to it.
func startRedis(t *testing.T, dir string, extra ...string) *realRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
		"--logfile", filepath.Join(dir, "redis.log")}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &realRedis{cmd: cmd, dir: dir}
	t.Cleanup(func() {
		// The server is killed on purpose, so Wait reports the signal;
		// Kill fails only if it already exited, which is fine too.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			r.conn, r.rd = c, bufio.NewReader(c)
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Wait for the load to finish: PING answers -LOADING until then.
	for {
		reply, err := r.do("PING")
		if err == nil && reply == "PONG" {
			return r
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server not ready: %v %v\n%s", reply, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// do sends a command and returns the reply: string for simple/bulk,
// int64 for integers, []any for arrays, nil for null, error for errors.
func (r *realRedis) do(args ...string) (any, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := r.conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		return nil, err
	}
	if _, err := r.conn.Write(b.Bytes()); err != nil {
		return nil, err
	}
	return r.reply()
}

// reply reads one RESP2 reply.
func (r *realRedis) reply() (any, error) {
	line, err := r.rd.ReadString('\n')
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
		if _, err := io.ReadFull(r.rd, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = r.reply(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad reply line %q", line)
}

// must runs a command and fails the test on error.
func (r *realRedis) must(t *testing.T, args ...string) any {
	t.Helper()
	v, err := r.do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// writeOurDump writes ks as dir/dump.rdb with our encoder.
func writeOurDump(t *testing.T, dir string, ks *store.Keyspace, opt Options) string {
	t.Helper()
	var buf bytes.Buffer
	info := AuxInfo{RedisVer: "7.0.15", CTime: time.Now().Unix(), HasRepl: true, ReplID: strings.Repeat("ab", 20), ReplOffset: 12345}
	if err := WriteSnapshot(&buf, snapshots(ks), info, opt); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dump.rdb")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRealRedisLoadsOurOutput re-encodes each golden data set with our
// encoder and starts redis-server on it: redis-check-rdb must say OK and
// DEBUG DIGEST must equal the golden digest.
func TestRealRedisLoadsOurOutput(t *testing.T) {
	if _, err := exec.LookPath("redis-check-rdb"); err != nil {
		t.Skip("redis-check-rdb not installed")
	}
	for _, name := range goldenSets {
		for i, opt := range []Options{DefaultOptions, {}} {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				ks, _, _ := loadGolden(t, name)
				dir := t.TempDir()
				path := writeOurDump(t, dir, ks, opt)
				out, err := exec.Command("redis-check-rdb", path).CombinedOutput()
				if err != nil || !bytes.Contains(out, []byte("RDB looks OK!")) {
					t.Fatalf("redis-check-rdb: %v\n%s", err, out)
				}
				r := startRedis(t, dir)
				want, _ := os.ReadFile(filepath.Join("testdata", name+".digest"))
				if got := r.must(t, "DEBUG", "DIGEST"); got != strings.TrimSpace(string(want)) {
					t.Errorf("redis-server digest %v, want %s", got, want)
				}
			})
		}
	}
}

// TestDumpInterop moves values both ways between DUMP payloads of the real
// redis-server and ours.
func TestDumpInterop(t *testing.T) {
	ks, _, _ := loadGolden(t, "types")
	dir := t.TempDir()
	writeOurDump(t, dir, ks, DefaultOptions)
	r := startRedis(t, dir)
	db := ks.DBs[0]
	db.ForEach(func(key string, v store.Value, _ int64, _ bool) bool {
		// Theirs into ours.
		payload := r.must(t, "DUMP", key).(string)
		got, err := ParseDumpPayload([]byte(payload))
		if err != nil {
			t.Errorf("%s: parsing redis's DUMP: %v", key, err)
			return true
		}
		tmp := store.NewDB()
		tmp.Set(key, got, false)
		if a, b := store.ValueDigest(tmp, key), store.ValueDigest(db, key); a != b && !hasTTL(db, key) {
			t.Errorf("%s: restored value differs", key)
		}
		// Ours into theirs.
		ours := DumpPayload(v, DefaultOptions)
		r.must(t, "RESTORE", "copy:"+key, "0", string(ours))
		if a, b := r.must(t, "DEBUG", "DIGEST-VALUE", key), r.must(t, "DEBUG", "DIGEST-VALUE", "copy:"+key); !hasTTL(db, key) && fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: redis restored our payload as a different value", key)
		}
		return true
	})
}

// hasTTL reports whether key has an expiry (its value digest then includes
// the expiry marker, which a RESTORE without TTL drops).
func hasTTL(db *store.DB, key string) bool {
	_, ok := db.ExpireAt(key)
	return ok
}
