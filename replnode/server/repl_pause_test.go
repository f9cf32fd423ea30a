package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/store"
)

// TestReplClientPauseKeepsReplicationFlowing: CLIENT PAUSE holds ordinary
// clients only. On a replica, the link from its master keeps applying the
// stream under PAUSE WRITE and ALL, by design: redis-server 7.0.15 parks its
// master client too (CLIENT LIST shows it flags=Mb, cmd=set, until the
// pause ends), but a paused replica that stops following its master only
// widens the gap a failover must close. On a master, PAUSE WRITE still lets
// a new replica complete its full sync and the existing one keep
// acknowledging, as redis-server 7.0 does.
func TestReplClientPauseKeepsReplicationFlowing(t *testing.T) {
	master := startNode(t, "repl-diskless-sync-delay", "0", "repl-ping-replica-period", "1")
	rep := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(master.port))
	waitFor(t, 30*time.Second, "replica link up", func() bool { return rep.info()["master_link_status"] == "up" })
	m := dialNode(t, master.port)

	for _, mode := range []string{"WRITE", "ALL"} {
		r := dialNode(t, rep.port)
		r.do("CLIENT", "PAUSE", "5000", mode)
		start := time.Now()
		m.do("SET", "during-"+mode, "v")
		if n := m.do("WAIT", "1", "3000"); n.Int != 1 {
			t.Fatalf("PAUSE %s on the replica: WAIT = %v, its link stopped applying", mode, n)
		}
		var got string
		rep.s.Exec(func() {
			if v, ok := rep.s.Keyspace.DBs[0].Peek("during-" + mode); ok {
				got = string(v.(*store.String).B)
			}
		})
		if got != "v" {
			t.Fatalf("PAUSE %s on the replica: key not applied (%q)", mode, got)
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("PAUSE %s on the replica delayed the stream by %v", mode, time.Since(start))
		}
		r.do("CLIENT", "UNPAUSE")
	}

	// PAUSE WRITE on the master: a new replica still syncs, the old one
	// keeps up with the pings.
	m.do("CLIENT", "PAUSE", "5000", "WRITE")
	late := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(master.port))
	waitFor(t, 4*time.Second, "full sync during PAUSE WRITE", func() bool { return late.info()["master_link_status"] == "up" })
	if late.keys(0) != 2 {
		t.Errorf("late replica has %d keys, want 2", late.keys(0))
	}
	m.do("CLIENT", "UNPAUSE")
}
