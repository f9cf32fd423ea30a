package compat

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ------ REPLICATION UNDER LOAD, BINARY AGAINST BINARY ------

// infoFields runs INFO section through redis-cli and returns its fields.
func infoFields(t *testing.T, port int, section string) map[string]string {
	t.Helper()
	out, err := cli(port, "INFO", section)
	if err != nil {
		t.Fatalf("INFO %s on %d: %v: %s", section, port, err, out)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	return fields
}

// waitUntil polls cond every 100ms for up to d, failing with what otherwise.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// benchmarkLoad runs redis-benchmark write load against port in the
// background and returns a function that waits for it to finish.
func benchmarkLoad(t *testing.T, port int, requests int) func() {
	t.Helper()
	cmd := exec.Command("redis-benchmark", "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-t", "set,incr,lpush,rpush,sadd,hset,zadd,mset", "-n", strconv.Itoa(requests),
		"-r", "5000", "-c", "20", "-P", "4", "-q")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-benchmark: %v", err)
	}
	return func() {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("redis-benchmark against %d: %v\n%s", port, err, out.String())
		}
	}
}

// TestReplicationUnderBenchmarkLoad runs the replication issue's acceptance
// check in both directions with the built binary and redis-server 7.0 as
// separate processes: a replica follows a master under redis-benchmark write
// load, its link to the master is cut three times (CLIENT KILL TYPE master on
// the replica), and at the end both hold the same data (DEBUG DIGEST) at the
// same offset, with exactly one full sync (the first) and only partial
// resyncs after each cut.
func TestReplicationUnderBenchmarkLoad(t *testing.T) {
	requireRedis(t)
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		t.Skip("redis-benchmark not installed")
	}
	bin := replnodeBinary(t)
	servers := map[string]string{"replnode": bin, "redis-server": "redis-server"}
	for _, c := range []struct{ master, replica string }{{"replnode", "redis-server"}, {"redis-server", "replnode"}} {
		t.Run(c.master+" master, "+c.replica+" replica", func(t *testing.T) {
			mport, rport := freePort(t), freePort(t)
			common := []string{"--bind", "127.0.0.1", "--save", "", "--enable-debug-command", "yes", "--repl-backlog-size", "64mb"}
			startServer(t, servers[c.master], mport, append([]string{"--port", strconv.Itoa(mport)}, common...)...)
			startServer(t, servers[c.replica], rport, append([]string{"--port", strconv.Itoa(rport), "--replicaof", "127.0.0.1", strconv.Itoa(mport)}, common...)...)
			waitUntil(t, 30*time.Second, "the replica's link up", func() bool {
				return infoFields(t, rport, "replication")["master_link_status"] == "up"
			})

			done := benchmarkLoad(t, mport, 60000)
			for cut := 1; cut <= 3; cut++ {
				time.Sleep(400 * time.Millisecond)
				if out, err := cli(rport, "CLIENT", "KILL", "TYPE", "master"); err != nil {
					t.Fatalf("cut %d: CLIENT KILL TYPE master: %v %s", cut, err, out)
				}
				waitUntil(t, 30*time.Second, fmt.Sprintf("the link up again after cut %d", cut), func() bool {
					return infoFields(t, rport, "replication")["master_link_status"] == "up"
				})
			}
			done()

			waitUntil(t, 30*time.Second, "equal offsets", func() bool {
				return infoFields(t, mport, "replication")["master_repl_offset"] == infoFields(t, rport, "replication")["master_repl_offset"]
			})
			md, err := cli(mport, "DEBUG", "DIGEST")
			if err != nil {
				t.Fatal(md)
			}
			rd, err := cli(rport, "DEBUG", "DIGEST")
			if err != nil {
				t.Fatal(rd)
			}
			if md != rd || md == strings.Repeat("0", 40) {
				t.Fatalf("digests differ or empty: master %s, replica %s", md, rd)
			}
			stats := infoFields(t, mport, "stats")
			if stats["sync_full"] != "1" || stats["sync_partial_ok"] != "3" || stats["sync_partial_err"] != "0" {
				t.Fatalf("master counted sync_full=%s sync_partial_ok=%s sync_partial_err=%s; want 1 full sync and 3 partial resyncs",
					stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"])
			}
			mkeys, _ := cli(mport, "DBSIZE")
			t.Logf("%s -> %s: %s keys, digest %s, offset %s, 1 full sync, 3 partial resyncs", c.master, c.replica, mkeys, md,
				infoFields(t, mport, "replication")["master_repl_offset"])
		})
	}
}
