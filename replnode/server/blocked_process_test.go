package server_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// These run the replnode binary: a blocked client must neither hold the
// process up at shutdown nor outlive its connection.

// infoField reads one INFO field.
func infoField(t *testing.T, c *redistest.Client, section, field string) string {
	t.Helper()
	r := c.MustDo(t, "INFO", section)
	for _, line := range strings.Split(r.Str, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}

// blockOnEmptyList sends BLPOP q 0 on a new connection and waits until the
// server counts it blocked.
func blockOnEmptyList(t *testing.T, in *redistest.Instance, admin *redistest.Client) *redistest.Client {
	t.Helper()
	c := in.Dial(t)
	if err := c.Send("BLPOP", "q", "0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "client blocked", func() bool {
		return infoField(t, admin, "clients", "blocked_clients") == "1"
	})
	return c
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %v", what, limit)
}

// processGone reports whether pid no longer exists (the harness reaps it).
func processGone(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

func TestProcessSIGTERMWithBlockedClientSavesAndExits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	in := redistest.StartBinary(t, "save 3600 1")
	admin := in.Dial(t)
	admin.MustDo(t, "SET", "k", "v")
	pid, _ := strconv.Atoi(infoField(t, admin, "server", "process_id"))
	blockOnEmptyList(t, in, admin)

	start := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "exit after SIGTERM", func() bool { return processGone(pid) })
	t.Logf("exited %v after SIGTERM", time.Since(start))
	if _, err := os.Stat(filepath.Join(in.Dir, "dump.rdb")); err != nil {
		t.Fatalf("no save on SIGTERM: %v\n%s", err, in.Log())
	}
	if !strings.Contains(in.Log(), "DB saved on disk") {
		t.Errorf("log has no save:\n%s", in.Log())
	}
}

func TestProcessShutdownNosaveWithBlockedClientExits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	in := redistest.StartBinary(t)
	admin := in.Dial(t)
	pid, _ := strconv.Atoi(infoField(t, admin, "server", "process_id"))
	blocked := blockOnEmptyList(t, in, admin)
	_ = admin.Send("SHUTDOWN", "NOSAVE")
	waitFor(t, 2*time.Second, "exit after SHUTDOWN NOSAVE", func() bool { return processGone(pid) })
	// The blocked client sees its connection close, no reply.
	if r, err := blocked.Receive(); err == nil {
		t.Errorf("blocked client got %s", r.String())
	}
}

func TestProcessVanishedBlockedClientIsFreed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	in := redistest.StartBinary(t)
	admin := in.Dial(t)
	blocked := blockOnEmptyList(t, in, admin)
	// A second one with commands pipelined behind BLPOP: they run once it
	// is served, in order, as in Redis.
	piped := in.Dial(t)
	if err := piped.SendRaw([]byte("*3\r\n$5\r\nBLPOP\r\n$2\r\nq2\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "second client blocked", func() bool {
		return infoField(t, admin, "clients", "blocked_clients") == "2"
	})
	blocked.Close()
	waitFor(t, time.Second, "closed blocked client freed", func() bool {
		return infoField(t, admin, "clients", "blocked_clients") == "1" &&
			infoField(t, admin, "clients", "connected_clients") == "2"
	})
	list := admin.MustDo(t, "CLIENT", "LIST").Str
	if n := strings.Count(list, "\n"); n != 2 {
		t.Errorf("CLIENT LIST has %d clients:\n%s", n, list)
	}
	// Nothing was popped for the vanished client: the element stays.
	admin.MustDo(t, "RPUSH", "q", "x")
	if got := admin.MustDo(t, "LLEN", "q").Int; got != 1 {
		t.Errorf("LLEN q = %d, want 1", got)
	}
	admin.MustDo(t, "RPUSH", "q2", "y")
	if r, err := piped.Receive(); err != nil || r.String() != `["q2", "y"]` {
		t.Fatalf("BLPOP q2: %v %v", r.String(), err)
	}
	if r, err := piped.Receive(); err != nil || r.String() != "PONG" {
		t.Fatalf("pipelined PING: %v %v", r.String(), err)
	}
}
