package server

import (
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/resp"
)

// ------ helpers

// takeReplies renders what an internal client received since the last
// call (a served or timed-out blocked client).
func (n *coreNode) takeReplies(c *Client) string {
	n.t.Helper()
	n.s.mu.Lock()
	out := c.Replies()
	n.s.mu.Unlock()
	rs, err := resp.ReadAll(out)
	if err != nil {
		n.t.Fatalf("bad reply %q: %v", out, err)
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, " | ")
}

// capturePropagation records the replication stream of n.
func (n *coreNode) capturePropagation() *[]string {
	var log []string
	n.s.Propagating = nil // always propagate to the capture
	n.s.Propagator = func(db int, args [][]byte) {
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = string(a)
		}
		log = append(log, strings.Join(parts, " "))
	}
	return &log
}

// expire runs the blocking timeout hook at the node's current time.
func (n *coreNode) expireBlocked() {
	n.s.mu.Lock()
	blockingOf(n.s).expire(n.now)
	n.s.mu.Unlock()
}

func expectReply(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// ------ tests

func TestBlockingPopServedInArrivalOrder(t *testing.T) {
	n := newCoreNode(t)
	prop := n.capturePropagation()
	c1, c2 := n.newClient(), n.newClient()
	expectReply(t, "c1 blocks", n.doClient(c1, "BLPOP", "a", "k", "0"), "")
	expectReply(t, "c2 blocks", n.doClient(c2, "BRPOP", "k", "0"), "")
	if !c1.IsBlocked() || !c2.IsBlocked() || n.s.BlockedClients() != 2 {
		t.Fatal("clients not blocked")
	}
	expectReply(t, "push", n.do("RPUSH", "k", "x", "y", "z"), "(integer) 3")
	expectReply(t, "c1 served", n.takeReplies(c1), `["k", "x"]`)
	expectReply(t, "c2 served", n.takeReplies(c2), `["k", "z"]`)
	expectReply(t, "left", n.do("LRANGE", "k", "0", "-1"), `["y"]`)
	if c1.IsBlocked() || c2.IsBlocked() || n.s.BlockedClients() != 0 {
		t.Fatal("clients still blocked")
	}
	want := []string{"RPUSH k x y z", "LPOP k", "RPOP k"}
	if strings.Join(*prop, "|") != strings.Join(want, "|") {
		t.Fatalf("propagated %q want %q", *prop, want)
	}
}

func TestBlockingServedAfterTransaction(t *testing.T) {
	n := newCoreNode(t)
	c1 := n.newClient()
	n.doClient(c1, "BLPOP", "k", "0")
	n.do("MULTI")
	n.do("LPUSH", "k", "a")
	n.do("LPUSH", "k", "b")
	expectReply(t, "exec", n.do("EXEC"), "[(integer) 1, (integer) 2]")
	// Served once the whole transaction ran: the head is "b".
	expectReply(t, "served", n.takeReplies(c1), `["k", "b"]`)
}

func TestBlockingTimeoutAndForever(t *testing.T) {
	n := newCoreNode(t)
	c1, c2, c3 := n.newClient(), n.newClient(), n.newClient()
	n.doClient(c1, "BLPOP", "k", "1.5")
	n.doClient(c2, "BLMOVE", "k", "d", "LEFT", "LEFT", "0.5")
	n.doClient(c3, "BZPOPMIN", "z", "0")
	n.now += 499
	n.expireBlocked()
	expectReply(t, "too early", n.takeReplies(c2), "")
	n.now += 1
	n.expireBlocked()
	expectReply(t, "blmove timeout", n.takeReplies(c2), "(nil)")
	n.now += 1000
	n.expireBlocked()
	expectReply(t, "blpop timeout", n.takeReplies(c1), "(nil)")
	n.now += 1e9
	n.expireBlocked()
	if !c3.IsBlocked() {
		t.Fatal("timeout 0 must wait forever")
	}
	n.do("ZADD", "z", "2", "b", "1", "a")
	expectReply(t, "bzpopmin served", n.takeReplies(c3), `["z", "a", "1"]`)
}

func TestBlockingMoveChainsAndWrongType(t *testing.T) {
	n := newCoreNode(t)
	prop := n.capturePropagation()
	mover, popper := n.newClient(), n.newClient()
	n.doClient(mover, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
	n.doClient(popper, "BLPOP", "dst", "0")
	n.do("RPUSH", "src", "v")
	expectReply(t, "mover", n.takeReplies(mover), `"v"`)
	expectReply(t, "popper", n.takeReplies(popper), `["dst", "v"]`)
	// A served BLMOVE propagates Redis's shared lowercase directions.
	want := []string{"RPUSH src v", "LMOVE src dst right left", "LPOP dst"}
	if strings.Join(*prop, "|") != strings.Join(want, "|") {
		t.Fatalf("propagated %q want %q", *prop, want)
	}

	// A destination of the wrong type ends the wait with -WRONGTYPE and
	// keeps the element, as Redis 7.0 (TestDifferentialBlockedMoveToWrongType).
	n.do("SET", "dst2", "string")
	n.doClient(mover, "BRPOPLPUSH", "src2", "dst2", "0")
	n.do("RPUSH", "src2", "w")
	if mover.IsBlocked() {
		t.Fatal("mover must be unblocked")
	}
	expectReply(t, "mover refused", n.takeReplies(mover), "(error) WRONGTYPE Operation against a key holding the wrong kind of value")
	expectReply(t, "element kept", n.do("LRANGE", "src2", "0", "-1"), `["w"]`)
}

func TestBlockingMpopAndNoBlockInMulti(t *testing.T) {
	n := newCoreNode(t)
	prop := n.capturePropagation()
	c1 := n.newClient()
	n.doClient(c1, "BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2")
	n.do("RPUSH", "b", "1", "2", "3")
	expectReply(t, "blmpop", n.takeReplies(c1), `["b", ["3", "2"]]`)
	if (*prop)[len(*prop)-1] != "RPOP b 2" {
		t.Fatalf("propagated %q", *prop)
	}
	n.do("MULTI")
	n.do("BLPOP", "none", "0")
	n.do("BZPOPMAX", "none", "0")
	expectReply(t, "exec", n.do("EXEC"), "[(nil), (nil)]")
}

func TestBlockedClientDisconnectAndUnblock(t *testing.T) {
	n := newCoreNode(t)
	c1, c2 := n.newClient(), n.newClient()
	n.doClient(c1, "BLPOP", "k", "0")
	n.doClient(c2, "BLPOP", "k", "0")
	n.s.mu.Lock()
	n.s.freeClient(c1)
	ok := n.s.UnblockKeyWaiter(c2, true)
	n.s.mu.Unlock()
	if !ok || n.s.BlockedClients() != 0 {
		t.Fatal("waiters not removed")
	}
	expectReply(t, "unblocked", n.takeReplies(c2), "(error) UNBLOCKED client unblocked via CLIENT UNBLOCK")
	n.do("RPUSH", "k", "a")
	expectReply(t, "nobody served", n.do("LLEN", "k"), "(integer) 1")
}

// TestNonDeterministicCommandsPropagateDeterministically checks the forms
// replicas receive for commands whose effect is random or computed.
func TestNonDeterministicCommandsPropagateDeterministically(t *testing.T) {
	n := newCoreNode(t)
	prop := n.capturePropagation()
	n.do("SADD", "s", "only")
	n.do("SPOP", "s")
	n.do("SADD", "s", "1", "2", "3")
	n.do("SPOP", "s", "5")
	n.do("HINCRBYFLOAT", "h", "f", "1.1")
	n.do("RPUSH", "l", "a", "b", "c")
	n.do("LMPOP", "1", "l", "RIGHT", "COUNT", "5")
	n.do("RPUSH", "l", "a")
	n.do("BLPOP", "l", "0")
	n.do("ZADD", "z", "1", "a", "2", "b")
	n.do("ZMPOP", "1", "z", "MAX", "COUNT", "1")
	n.do("BZPOPMIN", "z", "0")
	n.do("RPUSH", "l", "x")
	n.do("BRPOPLPUSH", "l", "l2", "0")
	n.do("SPOP", "nokey")
	want := []string{
		"SADD s only", "SREM s only",
		"SADD s 1 2 3", "DEL s",
		"HSET h f 1.1",
		"RPUSH l a b c", "RPOP l 3",
		"RPUSH l a", "LPOP l",
		"ZADD z 1 a 2 b", "ZPOPMAX z 1", "ZPOPMIN z",
		"RPUSH l x", "RPOPLPUSH l l2",
	}
	if strings.Join(*prop, "|") != strings.Join(want, "|") {
		t.Fatalf("propagated\n %q\nwant\n %q", *prop, want)
	}

	// A partial SPOP propagates SREMs of exactly what was popped.
	*prop = nil
	n.do("SADD", "big", "a", "b", "c", "d", "e")
	popped := n.do("SPOP", "big", "2")
	if len(*prop) != 2 || !strings.HasPrefix((*prop)[1], "SREM big ") {
		t.Fatalf("propagated %q", *prop)
	}
	for _, m := range strings.Fields(strings.TrimPrefix((*prop)[1], "SREM big ")) {
		if !strings.Contains(popped, `"`+m+`"`) {
			t.Fatalf("SREM %s not in reply %s", m, popped)
		}
	}
}

// TestBlockedServedWhenKeyAppearsByRename checks keys that appear by
// generic commands (RENAME, SWAPDB) wake their waiters, as Redis's dbAdd
// does.
func TestBlockedServedWhenKeyAppearsByRename(t *testing.T) {
	n := newCoreNode(t)
	c1, c2 := n.newClient(), n.newClient()
	n.doClient(c1, "BLPOP", "k", "0")
	n.do("RPUSH", "tmp", "a")
	n.do("RENAME", "tmp", "k")
	expectReply(t, "rename", n.takeReplies(c1), `["k", "a"]`)

	n.doClient(c2, "BZPOPMIN", "z", "0")
	n.do("SELECT", "1")
	n.do("ZADD", "z", "1", "m")
	n.do("SWAPDB", "0", "1")
	expectReply(t, "swapdb", n.takeReplies(c2), `["z", "m", "1"]`)
}
