package server_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// toolPath finds a redis-tools binary, skipping when it is missing outside
// CI.
func toolPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not installed", name)
		}
		t.Fatalf("%s not installed, and CI is set", name)
	}
	return p
}

// runTool runs a command with a deadline and returns its output.
func runTool(t *testing.T, limit time.Duration, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s %q timed out", name, args)
	}
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

var logLine = regexp.MustCompile(`^\d+:[MSC] \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} [.\-*#] `)

func TestBinaryWithRedisCLIAndBenchmark(t *testing.T) {
	cli := toolPath(t, "redis-cli")
	bench := toolPath(t, "redis-benchmark")
	pidDir := t.TempDir()
	pidfile := filepath.Join(pidDir, "replnode.pid")
	in := redistest.StartBinary(t, "pidfile "+pidfile)
	port := strconv.Itoa(in.Port)

	if out := runTool(t, 10*time.Second, cli, "-p", port, "SET", "greeting", "hello world"); strings.TrimSpace(out) != "OK" {
		t.Fatalf("SET: %q", out)
	}
	if out := runTool(t, 10*time.Second, cli, "-p", port, "GET", "greeting"); strings.TrimSpace(out) != "hello world" {
		t.Fatalf("GET: %q", out)
	}
	if out := runTool(t, 10*time.Second, cli, "-p", port, "-3", "HELLO", "3"); !strings.Contains(out, "proto") {
		t.Fatalf("HELLO 3: %q", out)
	}
	if out := runTool(t, 10*time.Second, cli, "-p", port, "INFO", "server"); !strings.Contains(out, "redis_version:7.0.15") {
		t.Fatalf("INFO: %q", out)
	}
	out := runTool(t, 120*time.Second, bench, "-p", port, "-t", "set,get,incr,lpush,mset", "-n", "2000", "-c", "4", "-P", "4", "-q")
	for _, want := range []string{"SET:", "GET:", "INCR:"} {
		if !strings.Contains(out, want) || strings.Contains(out, "ERR") {
			t.Fatalf("redis-benchmark output:\n%s", out)
		}
	}
	if out := runTool(t, 10*time.Second, cli, "-p", port, "DBSIZE"); strings.TrimSpace(out) == "0" {
		t.Fatalf("benchmark wrote nothing: %q", out)
	}

	pid, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("pidfile: %v", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	if n <= 0 {
		t.Fatalf("pidfile content %q", pid)
	}
	// SIGTERM shuts down cleanly: the log says so and the pidfile goes.
	if err := syscall.Kill(n, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(in.Log(), "ready to exit") {
		if time.Now().After(deadline) {
			t.Fatalf("no clean shutdown; log:\n%s", in.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"Redis version=7.0.15", "Running mode=standalone, port=" + port, "Ready to accept connections", "Received SIGTERM scheduling shutdown", "User requested shutdown"} {
		if !strings.Contains(in.Log(), want) {
			t.Errorf("log lacks %q:\n%s", want, in.Log())
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(in.Log()), "\n") {
		if !logLine.MatchString(l) {
			t.Errorf("log line not in Redis's format: %q", l)
		}
	}
	for time.Now().Before(deadline) {
		if _, err := os.Stat(pidfile); os.IsNotExist(err) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Error("pidfile not removed at shutdown")
}

func TestBinaryCommandLine(t *testing.T) {
	bin := redistest.BuildBinary(t)
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "Redis server v=7.0.15 ") {
		t.Fatalf("--version: %v %q", err, out)
	}
	out, err = exec.Command(bin, "--port", "99999").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("bad port: %v", err)
	}
	want := "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'port \"99999\"'\nargument must be between 0 and 65535 inclusive"
	if !strings.Contains(string(out), want) {
		t.Fatalf("fatal config output:\n%s", out)
	}
	out, err = exec.Command(bin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Usage:") {
		t.Fatalf("--help: %v %q", err, out)
	}
}

func TestBinaryUnixSocket(t *testing.T) {
	cli := toolPath(t, "redis-cli")
	sock := filepath.Join(t.TempDir(), "r.sock")
	redistest.StartBinary(t, "unixsocket "+sock, "unixsocketperm 700")
	if out := runTool(t, 10*time.Second, cli, "-s", sock, "PING"); strings.TrimSpace(out) != "PONG" {
		t.Fatalf("PING over unix socket: %q", out)
	}
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket mode: %v %v", st, err)
	}
}
