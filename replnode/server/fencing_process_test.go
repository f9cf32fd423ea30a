package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

const staleEpoch = "(error) STALEEPOCH failover epoch "

// expect fails unless c answers args with want.
func expect(t *testing.T, c *redistest.Client, want string, args ...string) {
	t.Helper()
	if got := c.MustDo(t, args...).String(); got != want {
		t.Errorf("%q = %s, want %s", args, got, want)
	}
}

// TestReplnodeEpochInterleavedConnections: two operator connections with
// epochs 3 and 4. Once the node is at 4, the one at 3 is refused every
// fenced command with STALEEPOCH (and cannot move the node back), while
// it may still run anything else; the one at 4 and a connection that never
// set an epoch act as with Redis. The epoch is in the file before +OK.
func TestReplnodeEpochInterleavedConnections(t *testing.T) {
	in := redistest.StartInProcess(t, "enable-debug-command yes", "enable-protected-configs yes")
	older, newer, plain := in.Dial(t), in.Dial(t), in.Dial(t)
	epochFile := filepath.Join(in.Dir, "replnode-epoch")

	expect(t, plain, "(integer) 0", "REPLNODE", "EPOCH")
	expect(t, older, "OK", "REPLNODE", "EPOCH", "3")
	expect(t, older, "OK", "REPLICAOF", "NO", "ONE") // current: allowed
	expect(t, newer, "OK", "REPLNODE", "EPOCH", "4")
	if b, err := os.ReadFile(epochFile); err != nil || string(b) != "4\n" {
		t.Fatalf("epoch file after +OK: %q, %v", b, err)
	}
	expect(t, plain, "(integer) 4", "REPLNODE", "EPOCH")

	stale := staleEpoch + "3 is older than this node's 4"
	for _, cmd := range [][]string{
		{"REPLICAOF", "NO", "ONE"},
		{"SLAVEOF", "NO", "ONE"},
		{"CLIENT", "PAUSE", "10"},
		{"CLIENT", "UNPAUSE"},
		{"CLIENT", "KILL", "ID", "999999"},
		{"CONFIG", "SET", "maxmemory-samples", "5"},
		{"DEBUG", "SLEEP", "0"},
		{"SHUTDOWN", "NOSAVE"},
		{"REPLNODE", "EPOCH", "3"}, // cannot lower the node's epoch
	} {
		expect(t, older, stale, cmd...)
	}
	expect(t, older, "OK", "SET", "k", "v") // not fenced
	expect(t, older, "RESET", "RESET")      // does not shed the epoch
	expect(t, older, stale, "REPLICAOF", "NO", "ONE")
	expect(t, older, "(integer) 4", "REPLNODE", "EPOCH")

	// A transaction holding a fenced command is refused as a whole, at
	// queue time or, if the node moved on after, at EXEC.
	expect(t, older, "OK", "MULTI")
	expect(t, older, stale, "CONFIG", "SET", "maxmemory-samples", "5")
	expect(t, older, "(error) EXECABORT Transaction discarded because of previous errors.", "EXEC")
	expect(t, newer, "OK", "MULTI")
	expect(t, newer, "QUEUED", "CONFIG", "SET", "maxmemory-samples", "5")
	expect(t, plain, "OK", "REPLNODE", "EPOCH", "5") // plain now acts at 5
	expect(t, newer, "(error) EXECABORT Transaction discarded because of: "+staleEpoch[len("(error) "):]+"4 is older than this node's 5", "EXEC")

	expect(t, plain, "OK", "REPLICAOF", "NO", "ONE")
	expect(t, plain, "OK", "CLIENT", "UNPAUSE")
	expect(t, newer, staleEpoch+"4 is older than this node's 5", "CLIENT", "UNPAUSE")
	// Catching up lifts the fence.
	expect(t, older, "OK", "REPLNODE", "EPOCH", "5")
	expect(t, older, "OK", "REPLICAOF", "NO", "ONE")
	// A connection that never set an epoch is not fenced.
	never := in.Dial(t)
	expect(t, never, "OK", "CONFIG", "SET", "maxmemory-samples", "5")
	expect(t, never, "OK", "REPLICAOF", "NO", "ONE")
	if b, err := os.ReadFile(epochFile); err != nil || string(b) != "5\n" {
		t.Errorf("epoch file: %q, %v", b, err)
	}
	// The epoch follows CONFIG SET dir, where a restart will look for it.
	moved := t.TempDir()
	t.Chdir(".") // CONFIG SET dir chdirs this process: restore the directory after
	expect(t, never, "OK", "CONFIG", "SET", "dir", moved)
	if b, err := os.ReadFile(filepath.Join(moved, "replnode-epoch")); err != nil || string(b) != "5\n" {
		t.Errorf("epoch file in the new dir: %q, %v", b, err)
	}
}

// TestReplnodeCommandErrors: arguments, HELP, unknown subcommands and
// authentication.
func TestReplnodeCommandErrors(t *testing.T) {
	in := redistest.StartInProcess(t, "requirepass secret")
	c := in.Dial(t)
	expect(t, c, "(error) NOAUTH Authentication required.", "REPLNODE", "EPOCH")
	expect(t, c, "(error) NOAUTH Authentication required.", "REPLNODE", "EPOCH", "1")
	expect(t, c, "OK", "AUTH", "secret")
	expect(t, c, "(integer) 0", "REPLNODE", "EPOCH")
	for _, bad := range []string{"-1", "x", "1.5", "18446744073709551615"} {
		expect(t, c, "(error) ERR failover epoch must be a non-negative 64-bit integer", "REPLNODE", "EPOCH", bad)
	}
	expect(t, c, "(error) ERR wrong number of arguments for 'replnode|epoch' command", "REPLNODE", "EPOCH", "1", "ACCEPT-DATA-LOSS", "2")
	expect(t, c, "(error) ERR syntax error", "REPLNODE", "EPOCH", "1", "2")
	expect(t, c, "(integer) 0", "REPLNODE", "EPOCH") // the refused forms set nothing
	expect(t, c, "(error) ERR wrong number of arguments for 'replnode' command", "REPLNODE")
	expect(t, c, "(error) ERR unknown subcommand 'nope'. Try REPLNODE HELP.", "REPLNODE", "nope")
	expect(t, c, "OK", "REPLNODE", "EPOCH", "9223372036854775807")
	expect(t, c, "(integer) 9223372036854775807", "REPLNODE", "EPOCH")
	help := c.MustDo(t, "REPLNODE", "HELP")
	if len(help.Elems) == 0 || !strings.Contains(help.String(), "EPOCH [<epoch> [ACCEPT-DATA-LOSS]]") {
		t.Errorf("REPLNODE HELP: %s", help.String())
	}
}

// TestDifferentialReplnodeHidden: REPLNODE is unknown to every command that
// describes the table, exactly as an unknown command is to redis-server.
func TestDifferentialReplnodeHidden(t *testing.T) {
	real, ours := redistest.StartRedis(t), redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	d.Do("COMMAND", "INFO", "replnode")
	d.Do("COMMAND", "INFO", "replnode|epoch")
	d.Do("COMMAND", "DOCS", "replnode")
	d.DoSorted("COMMAND", "LIST", "FILTERBY", "PATTERN", "repl*")
	d.Do("COMMAND", "GETKEYS", "replnode", "epoch", "1")
	c := ours.Dial(t)
	c.MustDo(t, "REPLNODE", "EPOCH") // a call that commandstats would show
	// (The full COMMAND reply is slow to read with the test client; it
	// lists what sortedCommands returns, as COMMAND LIST does.)
	list := c.MustDo(t, "COMMAND", "LIST")
	top := 0
	for _, e := range list.Elems {
		if !strings.Contains(e.Str, "|") {
			top++
		}
	}
	if n := c.MustDo(t, "COMMAND", "COUNT").Int; int(n) != top {
		t.Errorf("COMMAND COUNT = %d, COMMAND LIST has %d commands", n, top)
	}
	for _, text := range []string{list.String(), c.MustDo(t, "INFO", "commandstats").String()} {
		if strings.Contains(strings.ToLower(text), "replnode") {
			t.Errorf("REPLNODE shows in %.200s...", text)
		}
	}
}

// TestReplnodeEpochSurvivesRestart: the epoch set on a replnode process is
// read back by the next process on the same data directory, and still
// fences; a damaged epoch file stops the node from starting.
func TestReplnodeEpochSurvivesRestart(t *testing.T) {
	first := redistest.StartBinary(t)
	expect(t, first.Dial(t), "OK", "REPLNODE", "EPOCH", "7")
	first.Stop()

	second := redistest.StartBinary(t, "dir "+first.Dir)
	c := second.Dial(t)
	waitLoaded(t, c)
	expect(t, c, "(integer) 7", "REPLNODE", "EPOCH")
	expect(t, c, staleEpoch+"6 is older than this node's 7", "REPLNODE", "EPOCH", "6")
	expect(t, c, "OK", "REPLNODE", "EPOCH", "8")
	second.Stop()

	if err := os.WriteFile(filepath.Join(first.Dir, "replnode-epoch"), []byte("8x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "redis.conf")
	port := redistest.FreePort(t)
	text := "port " + strconv.Itoa(port) + "\nbind 127.0.0.1\ndir " + first.Dir + "\nsave \"\"\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(redistest.BuildBinary(t), conf)
	done := make(chan error, 1)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(out.String(), "failover epoch") {
			t.Errorf("start with a damaged epoch file: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("node started with a damaged epoch file:\n%s", out.String())
	}
}

// TestReplnodeEpochUnreadable: a node whose epoch file is damaged does not
// pretend to be at epoch 0 (in-process, where no startup load stops it).
func TestReplnodeEpochUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "replnode-epoch"), []byte("12"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := redistest.StartInProcess(t, "dir "+dir).Dial(t)
	for _, args := range [][]string{{"REPLNODE", "EPOCH"}, {"REPLNODE", "EPOCH", "13"}} {
		if got := c.MustDo(t, args...).String(); !strings.HasPrefix(got, "(error) ERR failover epoch unavailable: ") {
			t.Errorf("%q with a damaged epoch file: %s", args, got)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "replnode-epoch")); string(b) != "12" {
		t.Errorf("the damaged file was replaced: %q", b)
	}
}

// waitLoaded waits until the node is past -LOADING.
func waitLoaded(t *testing.T, c *redistest.Client) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !strings.HasPrefix(c.MustDo(t, "PING").String(), "(error) LOADING") {
			return
		}
	}
	t.Fatal("node never finished loading")
}
