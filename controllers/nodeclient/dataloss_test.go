package nodeclient

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestRESPDataLossGrantAgainstReplnode: a replnode replica run with
// replica-keep-newer-data (as the operator's generated redis.conf runs it)
// holds keys from master A. ReplicaOf at the group's epoch pointing it at
// B, a master behind it, leaves its keys alone (the node refuses B's full
// sync); the same call with WithDataLossAccepted announces REPLNODE EPOCH
// <n> ACCEPT-DATA-LOSS first, and the replica takes B's data.
func TestRESPDataLossGrantAgainstReplnode(t *testing.T) {
	a := redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	b := redistest.StartInProcess(t, "repl-diskless-sync-delay 0")
	r := redistest.StartInProcess(t, "replica-keep-newer-data yes", "replicaof 127.0.0.1 "+strconv.Itoa(a.Port))
	ac, bc, rc := a.Dial(t), b.Dial(t), r.Dial(t)
	c := &RESP{Timeout: 10 * time.Second}
	ctx := WithEpoch(context.Background(), 1)
	rn := Node{Addr: r.Addr}

	info := func(cl *redistest.Client, section, field string) string {
		t.Helper()
		for _, line := range strings.Split(cl.MustDo(t, "INFO", section).Str, "\r\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				return v
			}
		}
		return ""
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
		}
	}
	eventually("the replica links to A", func() bool { return info(rc, "replication", "master_link_status") == "up" })
	for i := 0; i < 100; i++ { // after the link: A's offset counts from its backlog
		ac.MustDo(t, "SET", "a"+strconv.Itoa(i), "v")
	}
	eventually("the replica holds A's 100 keys", func() bool { return rc.MustDo(t, "DBSIZE").Int == 100 })
	bc.MustDo(t, "SET", "b", "v")

	if err := c.ReplicaOf(ctx, rn, "127.0.0.1", b.Port); err != nil {
		t.Fatal(err)
	}
	// The replica refuses B's full resync and asks again after its
	// back-off: a second request proves the first did not link it.
	eventually("B is asked for a full resync twice", func() bool {
		n, _ := strconv.Atoi(info(bc, "stats", "sync_full"))
		return n >= 2
	})
	if n := rc.MustDo(t, "DBSIZE").Int; n != 100 {
		t.Fatalf("without the grant the replica holds %d keys, want A's 100", n)
	}
	if s := info(rc, "replication", "master_link_status"); s != "down" {
		t.Fatalf("link %s after refusing", s)
	}

	if err := c.ReplicaOf(WithDataLossAccepted(ctx), rn, "127.0.0.1", b.Port); err != nil {
		t.Fatal(err)
	}
	eventually("the replica takes B's data after the grant", func() bool {
		return rc.MustDo(t, "DBSIZE").Int == 1 && info(rc, "replication", "master_link_status") == "up"
	})
}
