package server_test

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// minReplicasGuard is a master configuration whose writes need one replica
// that acknowledged within the last 2 seconds.
var minReplicasGuard = []string{"min-replicas-to-write 1", "min-replicas-max-lag 2", "repl-diskless-sync-delay 0"}

// startGuardedPair starts master (by start) and a replnode replica process
// of it, and waits until the master counts the replica as good.
func startGuardedPair(t *testing.T, start func(testing.TB, ...string) *redistest.Instance) (master, replica *redistest.Instance, c *redistest.Client) {
	master = start(t, minReplicasGuard...)
	replica = redistest.StartBinary(t, "replicaof 127.0.0.1 "+strconv.Itoa(master.Port))
	t.Cleanup(func() { _ = replica.Signal(syscall.SIGCONT) })
	c = master.Dial(t)
	waitInfo(t, c, "min_slaves_good_slaves:1")
	if r := c.MustDo(t, "SET", "k", "with-replica"); r.String() != "OK" {
		t.Fatalf("write with a good replica: %s", r.String())
	}
	return master, replica, c
}

// TestMinReplicasGuardExpiresWhenReplicaStops: once the only replica stops
// acknowledging (SIGSTOP), the master refuses writes with -NOREPLICAS
// within min-replicas-max-lag + 1 seconds, and INFO min_slaves_good_slaves
// agrees with the refusal; when the replica resumes, writes are accepted.
func TestMinReplicasGuardExpiresWhenReplicaStops(t *testing.T) {
	_, replica, c := startGuardedPair(t, redistest.StartInProcess)
	if err := replica.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var refused time.Duration
	for i := 0; refused == 0; i++ {
		r := c.MustDo(t, "SET", "k", strconv.Itoa(i))
		switch {
		case strings.HasPrefix(r.String(), "(error) NOREPLICAS"):
			refused = time.Since(stopped)
			if info := c.MustDo(t, "INFO", "replication").Str; !strings.Contains(info, "min_slaves_good_slaves:0\r\n") {
				t.Errorf("write refused but INFO says otherwise:\n%s", info)
			}
		case r.String() != "OK":
			t.Fatalf("SET: %s", r.String())
		case time.Since(stopped) > 6*time.Second:
			t.Fatalf("writes still accepted %v after the replica stopped", time.Since(stopped))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// 2s of max-lag plus under 1s of ACK period and whole-second lag, and
	// slack for a loaded machine.
	if refused > 3500*time.Millisecond {
		t.Errorf("writes refused only %v after the replica stopped, want within max-lag+1s", refused)
	}
	if r := c.MustDo(t, "SET", "k", "again"); !strings.HasPrefix(r.String(), "(error) NOREPLICAS") {
		t.Errorf("second write without a good replica: %s", r.String())
	}

	if err := replica.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitInfo(t, c, "min_slaves_good_slaves:1")
	if r := c.MustDo(t, "SET", "k", "back"); r.String() != "OK" {
		t.Errorf("write after the replica resumed: %s", r.String())
	}
}

// TestMinReplicasGuardFreshAfterMasterFreeze: the replica stops, then the
// master itself is frozen for 4s (no cron runs, nothing refreshes a
// cached count of good replicas). The first write after SIGCONT must be
// refused: the guard is computed from the replica's last ACK against the
// time of the write, not remembered from the last cron as Redis's
// repl_good_slaves_count is. A failover counts on the old master's own
// guard having expired.
func TestMinReplicasGuardFreshAfterMasterFreeze(t *testing.T) {
	master, replica, c := startGuardedPair(t, redistest.StartBinary)
	t.Cleanup(func() { _ = master.Signal(syscall.SIGCONT) })
	if err := replica.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := master.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	// Queue the write first so it is waiting in the socket when the
	// master wakes up, ahead of any cron tick.
	if err := c.Send("SET", "k", "after-freeze"); err != nil {
		t.Fatal(err)
	}
	if err := master.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	r, err := c.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.String(), "(error) NOREPLICAS") {
		t.Errorf("first write after the master's freeze: %s, want -NOREPLICAS", r.String())
	}
	if got := c.MustDo(t, "GET", "k").String(); got != `"with-replica"` {
		t.Errorf("GET k = %s: the write after the freeze was applied", got)
	}
	if info := c.MustDo(t, "INFO", "replication").Str; !strings.Contains(info, "min_slaves_good_slaves:0\r\n") {
		t.Errorf("INFO after the freeze:\n%s", info)
	}
}
