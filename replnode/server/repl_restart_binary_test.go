package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/redistest"
)

// ------ RESTARTS THROUGH THE RDB, THE BINARY AGAINST redis-server ------
//
// A node restarted from its own dump.rdb (SHUTDOWN SAVE, then started
// again on the same port and directory) continues its replication history
// with partial resyncs, through the repl-id/repl-offset/repl-stream-db AUX
// fields, as redis-server does, whether it was the master or the replica.

// node is a server process that can be restarted in place.
type node struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	exited   chan struct{}
}

func (n *node) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// start runs the process with the base directives and extra ones, and
// waits until it answers.
func (n *node) start(t *testing.T, extra ...string) {
	t.Helper()
	conf := append([]string{"port " + strconv.Itoa(n.port), "bind 127.0.0.1", "dir " + config.Quote(n.dir),
		"logfile " + config.Quote(filepath.Join(n.dir, "server.log")), `save ""`, "appendonly no",
		"repl-diskless-sync-delay 0"}, extra...)
	path := filepath.Join(n.dir, "node.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(n.bin, path)
	n.cmd.Dir = n.dir
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.exited = make(chan struct{})
	cmd, exited := n.cmd, n.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitUntil(t, 20*time.Second, n.bin+" up", func() bool {
		c, err := redistest.Dial(n.addr())
		if err != nil {
			return false
		}
		defer c.Close()
		r, err := c.Do("PING")
		return err == nil && r.Str == "PONG"
	})
}

// shutdownSave stops the process with SHUTDOWN SAVE and waits for it.
func (n *node) shutdownSave(t *testing.T) {
	t.Helper()
	c, err := redistest.Dial(n.addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Send("SHUTDOWN", "SAVE")
	c.Close()
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SHUTDOWN SAVE")
	}
	if _, err := os.Stat(filepath.Join(n.dir, "dump.rdb")); err != nil {
		t.Fatalf("no dump after SHUTDOWN SAVE: %v", err)
	}
}

func newNode(t *testing.T, bin string) *node {
	return &node{bin: bin, dir: t.TempDir(), port: redistest.FreePort(t)}
}

func dialT(t *testing.T, addr string) *redistest.Client {
	t.Helper()
	c, err := redistest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func writeSome(t *testing.T, c *redistest.Client, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		c.MustDo(t, "SET", prefix+":"+strconv.Itoa(i), strconv.Itoa(i))
		if i%10 == 0 {
			c.MustDo(t, "SELECT", "2")
			c.MustDo(t, "INCR", prefix+":ctr")
			c.MustDo(t, "SELECT", "0")
		}
	}
}

func TestRestartFromRDBContinuesPartially(t *testing.T) {
	ours := redistest.BuildBinary(t)
	real := redistest.RedisServerPath(t)
	for _, tc := range []struct{ name, master, replica string }{
		{"ours master restarts, real replica", ours, real},
		{"ours replica restarts, real master", real, ours},
		{"ours master restarts, ours replica", ours, ours},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, r := newNode(t, tc.master), newNode(t, tc.replica)
			m.start(t)
			mc := dialT(t, m.addr())
			writeSome(t, mc, "a", 100)
			replicaof := "replicaof 127.0.0.1 " + strconv.Itoa(m.port)
			r.start(t, replicaof)
			rc := dialT(t, r.addr())
			inSync := func(mc, rc *redistest.Client) func() bool {
				return func() bool {
					ri := infoFields(t, rc, "replication")
					return ri["master_link_status"] == "up" && ri["master_repl_offset"] == infoFields(t, mc, "replication")["master_repl_offset"]
				}
			}
			waitUntil(t, 60*time.Second, "replica in sync", inSync(mc, rc))

			restarting := m
			extra := []string(nil)
			if tc.name == "ours replica restarts, real master" {
				restarting = r
				extra = []string{replicaof}
			}
			restarting.shutdownSave(t)
			if restarting == r {
				writeSome(t, mc, "b", 50) // the master goes on while the replica is down
			}
			restarting.start(t, extra...)
			if restarting == m {
				mc = dialT(t, m.addr())
				writeSome(t, mc, "c", 50)
			} else {
				rc = dialT(t, r.addr())
			}
			waitUntil(t, 60*time.Second, "in sync after the restart", inSync(mc, rc))
			st := infoFields(t, mc, "stats")
			wantFull := "1"
			if restarting == m {
				wantFull = "0" // counters start over with the process
			}
			if st["sync_full"] != wantFull || st["sync_partial_ok"] != "1" {
				t.Fatalf("master after %s restarted: sync_full=%s sync_partial_ok=%s, want %s and 1", restarting.bin, st["sync_full"], st["sync_partial_ok"], wantFull)
			}
			if a, b := mc.MustDo(t, "DBSIZE").Int, rc.MustDo(t, "DBSIZE").Int; a != b {
				t.Fatalf("dbsize master %d, replica %d", a, b)
			}
		})
	}
}
