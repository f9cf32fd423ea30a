package server_test

import (
	"strconv"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialExecAfterReplicaofInside: Redis 7.0 checks the role
// once, for EXEC as a whole (processCommand); the commands of the
// transaction then all run, a write after a REPLICAOF inside it too. The
// node is a replica afterwards, and only then refuses writes.
func TestDifferentialExecAfterReplicaofInside(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	nowhere := strconv.Itoa(redistest.FreePort(t))
	for _, step := range [][]string{
		{"SET", "foo", "bar"},
		{"MULTI"},
		{"SET", "foo2", "bar"},
		{"REPLICAOF", "127.0.0.1", nowhere},
		{"SET", "foo3", "bar"},
		{"EXEC"},
		{"SET", "foo4", "bar"},
		{"MGET", "foo", "foo2", "foo3", "foo4"},
		{"REPLICAOF", "NO", "ONE"},
		// A write queued while a replica, run after it became a master:
		// EXEC's own check passes.
		{"REPLICAOF", "127.0.0.1", nowhere},
		{"MULTI"},
		{"SET", "q", "1"},
		{"REPLICAOF", "NO", "ONE"},
		{"EXEC"},
	} {
		d.Do(step...)
	}
}

// TestDifferentialExecOnStaleReplica: with replica-serve-stale-data no,
// EXEC is refused (EXECABORT ... MASTERDOWN) when any queued command may
// not run on a stale replica, even if the node became one after queuing;
// a transaction of such commands runs once it is a master again.
func TestDifferentialExecOnStaleReplica(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	other := redistest.NewDiff(t, real, ours)
	nowhere := strconv.Itoa(redistest.FreePort(t))
	d.Do("CONFIG", "SET", "replica-serve-stale-data", "no")
	d.Do("SET", "xx", "1")
	for _, queued := range [][]string{{"GET", "xx"}, {"PING"}, {"INFO", "server"}} {
		d.Do("MULTI")
		d.Do(queued...)
		other.Do("REPLICAOF", "127.0.0.1", nowhere)
		if queued[0] == "INFO" {
			// INFO may run on a stale replica: EXEC runs it.
			d.DoType("EXEC")
		} else {
			d.Do("EXEC")
		}
		other.Do("REPLICAOF", "NO", "ONE")
	}
	d.Do("MULTI")
	other.Do("REPLICAOF", "127.0.0.1", nowhere)
	d.Do("GET", "xx")
	other.Do("REPLICAOF", "NO", "ONE")
	d.Do("EXEC")
}

// TestDifferentialSmoveWatchDestination: SMOVE of a member the
// destination already holds leaves the destination unchanged, so a
// transaction watching it still runs (signalModifiedKey only on an add).
func TestDifferentialSmoveWatchDestination(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	other := redistest.NewDiff(t, real, ours)
	d.Do("SADD", "src", "a", "b")
	d.Do("SADD", "dst", "a")
	d.Do("WATCH", "dst")
	d.Do("MULTI")
	d.Do("SADD", "dst", "c")
	other.Do("SMOVE", "src", "dst", "a")
	d.Do("EXEC")
	d.DoSorted("SMEMBERS", "dst")
	// A member the destination lacks does change it.
	d.Do("WATCH", "dst")
	d.Do("MULTI")
	d.Do("SADD", "dst", "d")
	other.Do("SMOVE", "src", "dst", "b")
	d.Do("EXEC")
	d.DoSorted("SMEMBERS", "dst")
}
