package compat

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ------ SERVERS ------

// replnodeBinary returns REPLNODE_BIN or builds cmd/replnode into a temp dir.
func replnodeBinary(t *testing.T) string {
	if bin := os.Getenv("REPLNODE_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "replnode")
	build := exec.Command("go", "build", "-o", bin, "github.com/replnode/replnode/cmd/replnode")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building replnode: %v\n%s", err, out)
	}
	return bin
}

// requireRedis skips when redis-server/redis-cli are missing, unless CI is set.
func requireRedis(t *testing.T) {
	for _, tool := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required under CI", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer runs bin with args, waits until redis-cli PING answers, and
// stops the process (by its own pid) when the test ends.
func startServer(t *testing.T, bin string, port int, args ...string) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logFile.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if out, _ := cli(port, "PING"); out == "PONG" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	logged, _ := os.ReadFile(logPath)
	t.Fatalf("%s on port %d never answered PING; log:\n%s", bin, port, logged)
}

// cli runs redis-cli against 127.0.0.1:port and returns trimmed output.
func cli(port int, args ...string) (string, error) {
	full := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port)}, args...)
	out, err := exec.Command("redis-cli", full...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// pair starts replnode and redis-server with --save ” and returns both ports.
func pair(t *testing.T) (ours, theirs int) {
	requireRedis(t)
	bin := replnodeBinary(t)
	ours, theirs = freePort(t), freePort(t)
	startServer(t, bin, ours, "--port", strconv.Itoa(ours), "--bind", "127.0.0.1", "--save", "")
	startServer(t, "redis-server", theirs, "--port", strconv.Itoa(theirs), "--bind", "127.0.0.1", "--save", "")
	return ours, theirs
}

// ------ TESTS ------

// TestRedisCliTranscript sends the same redis-cli commands to both servers
// and requires identical output, errors included.
func TestRedisCliTranscript(t *testing.T) {
	ours, theirs := pair(t)
	steps := [][]string{
		{"CLIENT", "SETINFO", "lib-name", "go-redis"},
		{"CLIENT", "SETNAME", "probe"},
		{"CLIENT", "GETNAME"},
		{"foo", "a", "b"},
		{"SET", "k", "v"},
		{"LPUSH", "k", "x"},
		{"GET", "k"},
		{"--raw", "INCR", "counter"},
		{"RPUSH", "l", "a", "b", "c"},
		{"LRANGE", "l", "0", "-1"},
		{"HSET", "h", "f", "1"},
		{"-3", "HGETALL", "h"},
		{"-3", "SMEMBERS", "nosuch"},
		{"ZADD", "z", "1.5", "m"},
		{"-3", "ZSCORE", "z", "m"},
		{"TYPE", "z"},
		{"OBJECT", "ENCODING", "l"},
		{"DBSIZE"},
		{"AUTH", "nopass"},
		{"COMMAND", "COUNT"},
		{"CONFIG", "GET", "maxmemory-policy"},
	}
	for _, step := range steps {
		got, _ := cli(ours, step...)
		want, _ := cli(theirs, step...)
		if step[0] == "COMMAND" && step[1] == "COUNT" {
			if n, err := strconv.Atoi(got); err != nil || n < 100 {
				t.Errorf("COMMAND COUNT = %q, want a count of the real command table", got)
			}
			continue
		}
		if got != want {
			t.Errorf("redis-cli %v:\nreplnode:\n%s\nredis-server:\n%s", step, got, want)
		}
	}
}

// TestCommandInfoHead compares the name, arity and flags of COMMAND INFO
// (client libraries read these to route and classify commands). The ACL
// category order and key-spec flags are a known difference (see report).
func TestCommandInfoHead(t *testing.T) {
	ours, theirs := pair(t)
	for _, name := range []string{"get", "set", "blpop", "subscribe"} {
		got, _ := cli(ours, "COMMAND", "INFO", name)
		want, _ := cli(theirs, "COMMAND", "INFO", name)
		head := func(s string) string {
			lines := strings.Split(s, "\n")
			if len(lines) > 7 {
				lines = lines[:7]
			}
			return strings.Join(lines, "\n")
		}
		if head(got) != head(want) {
			t.Errorf("COMMAND INFO %s head:\nreplnode:\n%s\nredis-server:\n%s", name, head(got), head(want))
		}
	}
}

// TestHelloAndInfoFields checks the handshake fields clients parse.
func TestHelloAndInfoFields(t *testing.T) {
	ours, theirs := pair(t)
	fields := func(port int) map[string]string {
		out, err := cli(port, "--raw", "HELLO", "3")
		if err != nil {
			t.Fatalf("HELLO 3: %v %s", err, out)
		}
		lines := strings.Split(out, "\n")
		m := map[string]string{}
		for _, line := range lines {
			key, value, _ := strings.Cut(line, " ")
			m[key] = value
		}
		return m
	}
	got, want := fields(ours), fields(theirs)
	for _, k := range []string{"server", "version", "proto", "mode", "role"} {
		if got[k] != want[k] {
			t.Errorf("HELLO 3 field %s: replnode %q, redis %q", k, got[k], want[k])
		}
	}
	if _, ok := got["id"]; !ok {
		t.Errorf("HELLO 3 has no id field: %v", got)
	}
	info, _ := cli(ours, "INFO", "server")
	for _, want := range []string{"redis_version:7.0", "redis_mode:standalone", "os:", "run_id:", "tcp_port:" + strconv.Itoa(ours), "process_id:", "uptime_in_seconds:"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO server lacks %q:\n%s", want, info)
		}
	}
}

// TestDebianRedisConfStarts copies Debian's full default redis.conf and
// starts replnode with it, overriding only port/dir/daemonize/logfile/pidfile.
func TestDebianRedisConfStarts(t *testing.T) {
	requireRedis(t)
	src, err := os.ReadFile("/etc/redis/redis.conf")
	if err != nil {
		t.Skipf("no Debian redis.conf: %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(conf, src, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	startServer(t, replnodeBinary(t), port, conf, "--port", strconv.Itoa(port), "--dir", dir,
		"--daemonize", "no", "--logfile", "", "--pidfile", filepath.Join(dir, "r.pid"))
	if out, _ := cli(port, "SET", "a", "1"); out != "OK" {
		t.Fatalf("SET under Debian redis.conf: %q", out)
	}
}

// TestCrashRestart: kill -9 after SAVE keeps the saved data on restart with
// the same dir (later unsaved writes are lost, as in Redis), and a corrupt
// dump.rdb makes the server refuse to start with a non-zero exit.
func TestCrashRestart(t *testing.T) {
	requireRedis(t)
	bin := replnodeBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""}
	first := exec.Command(bin, args...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for out, _ := cli(port, "PING"); out != "PONG"; out, _ = cli(port, "PING") {
		if time.Now().After(deadline) {
			t.Fatal("first start never answered PING")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := cli(port, "SET", "saved", "1"); out != "OK" {
		t.Fatalf("SET saved: %q %v", out, err)
	}
	if out, _ := cli(port, "SAVE"); out != "OK" {
		t.Fatalf("SAVE: %q", out)
	}
	if out, err := cli(port, "SET", "unsaved", "2"); out != "OK" {
		t.Fatalf("SET unsaved: %q %v", out, err)
	}
	_ = first.Process.Kill() // SIGKILL: no shutdown save
	_ = first.Wait()

	startServer(t, bin, port, args...)
	if out, _ := cli(port, "MGET", "saved", "unsaved"); out != "1\n" && out != "1" {
		t.Errorf("after kill -9 and restart MGET = %q, want saved=1 and unsaved missing", out)
	}

	corruptDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(corruptDir, "dump.rdb"), []byte("REDIS0009garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	refuse := exec.Command(bin, "--port", strconv.Itoa(freePort(t)), "--bind", "127.0.0.1", "--dir", corruptDir)
	done := make(chan error, 1)
	if err := refuse.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- refuse.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("replnode started on a corrupt dump.rdb; want a non-zero exit")
		}
	case <-time.After(30 * time.Second):
		_ = refuse.Process.Kill()
		t.Error("replnode kept running on a corrupt dump.rdb")
	}
}
