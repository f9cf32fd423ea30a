package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/resp"
)

// ------ STREAMS OVER REPLICATION ------
//
// A stream written to one end of a replication link with a real
// redis-server at the other must leave the same stream on both: the same
// entries (DEBUG DIGEST), the same node layout and counters (XINFO STREAM)
// and the same consumer groups, PELs and delivery counts (XINFO GROUPS,
// XPENDING), which DEBUG DIGEST does not cover. The load uses every
// propagation rewrite: XADD * (explicit ID), MAXLEN/MINID ~ (exact "="),
// XREADGROUP (XCLAIM, XGROUP SETID, XGROUP CREATECONSUMER), XCLAIM,
// XAUTOCLAIM (including PEL entries whose message was deleted), and a
// blocked XREADGROUP served by an XADD.

// streamLoad sends the mixed stream load; blocker is a second connection
// for the blocked reads.
func streamLoad(c, blocker *testClient, prefix string, n int) {
	key := prefix + ":st"
	c.do("XADD", key, "*", "boot", "1")
	c.do("XGROUP", "CREATE", key, "g1", "0")
	c.do("XGROUP", "CREATE", key, "g2", "$", "ENTRIESREAD", "0")
	c.do("XGROUP", "CREATE", prefix+":mk", "g", "$", "MKSTREAM")
	for i := 0; i < n; i++ {
		switch i % 5 {
		case 0:
			c.do("XADD", key, "MAXLEN", "~", "150", "*", "f", strconv.Itoa(i), "g", "x")
		case 1:
			c.do("XADD", key, "*", "other", strconv.Itoa(i))
		case 2:
			c.do("XADD", key, "MINID", "~", "0-1", "LIMIT", "5", "*", "f", strconv.Itoa(i), "g", "y")
		default:
			c.do("XADD", key, "*", "f", strconv.Itoa(i), "g", "z")
		}
		consumer := "c" + strconv.Itoa(i%3)
		if i%4 == 0 {
			c.do("XREADGROUP", "GROUP", "g1", consumer, "COUNT", "3", "STREAMS", key, ">")
		}
		if i%9 == 0 {
			c.do("XREADGROUP", "GROUP", "g2", "n"+strconv.Itoa(i%2), "NOACK", "COUNT", "2", "STREAMS", key, ">")
		}
		if i%7 == 0 {
			p := c.do("XPENDING", key, "g1", "-", "+", "2")
			for _, e := range p.Elems {
				c.do("XACK", key, "g1", e.Elems[0].Str)
			}
		}
		if i%11 == 0 {
			c.do("XAUTOCLAIM", key, "g1", "auto", "0", "0", "COUNT", "3")
		}
		if i%13 == 0 {
			p := c.do("XPENDING", key, "g1", "-", "+", "1")
			for _, e := range p.Elems {
				c.do("XCLAIM", key, "g1", "claimer", "0", e.Elems[0].Str, "RETRYCOUNT", "5")
				c.do("XDEL", key, e.Elems[0].Str)
			}
		}
		if i%17 == 0 {
			c.do("XREADGROUP", "GROUP", "g1", consumer, "STREAMS", key, "0")
			c.do("XTRIM", key, "MAXLEN", "~", "80")
		}
		if i%23 == 0 {
			c.do("XGROUP", "CREATECONSUMER", key, "g2", "made"+strconv.Itoa(i))
			c.do("XGROUP", "DELCONSUMER", key, "g1", "c2")
		}
		if i%29 == 0 {
			// A reader blocked on the group, served by the next XADD.
			blocker.send("XREADGROUP", "GROUP", "g1", "blocked", "BLOCK", "0", "COUNT", "10", "STREAMS", key, ">")
			waitFor(blocker.t, 10*time.Second, "reader blocked", func() bool {
				return strings.Contains(c.do("CLIENT", "LIST").Str, "cmd=xreadgroup")
			})
			c.do("XADD", key, "*", "wake", strconv.Itoa(i))
			blocker.readReply()
		}
		if i%31 == 0 {
			c.do("XGROUP", "SETID", key, "g2", "0")
		}
	}
	c.do("XADD", prefix+":mk", "5-5", "a", "b")
	c.do("XSETID", prefix+":mk", "9-0", "ENTRIESADDED", "7", "MAXDELETEDID", "4-0")
}

// send writes a command without reading its reply.
func (c *testClient) send(args ...string) {
	c.t.Helper()
	if _, err := c.conn.Write(resp.AppendCommandStrings(nil, args...)); err != nil {
		c.t.Fatal(err)
	}
}

// streamState is what a stream key holds beyond its entries: counters,
// node layout, groups, consumers and PELs (without the idle times, which
// are each server's own clock). Redis itself does not replicate two group
// details — the delivery count a history read (XREADGROUP with an ID)
// adds, and the entries-read a replayed XCLAIM LASTID leaves unknown — so
// a master and its replica are compared without them (!full), two replicas
// of one master with them.
func streamState(c *testClient, key string, full bool) string {
	var b strings.Builder
	b.WriteString(c.do("XINFO", "STREAM", key).String())
	groups := c.do("XINFO", "GROUPS", key)
	for _, g := range groups.Elems {
		if !full {
			g.Elems = g.Elems[:8] // name, consumers, pending, last-delivered-id
		}
		b.WriteString(g.String())
	}
	for _, g := range groups.Elems {
		name := g.Elems[1].Str
		b.WriteString(c.do("XPENDING", key, name).String())
		for _, e := range c.do("XPENDING", key, name, "-", "+", "100000").Elems {
			fmt.Fprintf(&b, "%s/%s;", e.Elems[0].Str, e.Elems[1].Str)
			if full {
				fmt.Fprintf(&b, "%d;", e.Elems[3].Int)
			}
		}
		for _, cons := range c.do("XINFO", "CONSUMERS", key, name).Elems {
			fmt.Fprintf(&b, "%s:%d;", cons.Elems[1].Str, cons.Elems[3].Int)
		}
	}
	return b.String()
}

func compareStreams(t *testing.T, a, b *testClient, full bool, what string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if sa, sb := streamState(a, k, full), streamState(b, k, full); sa != sb {
			t.Errorf("%s: %s differs:\n%s\n%s", what, k, sa, sb)
		}
	}
}

func TestInteropStreamsOurMasterRealReplica(t *testing.T) {
	requireCommands(t, "xadd", "xreadgroup", "debug")
	master := startNode(t, "repl-ping-replica-period", "1", "enable-debug-command", "yes", "stream-node-max-entries", "7")
	mc := dialNode(t, master.port)
	blocker := dialNode(t, master.port)
	streamLoad(mc, blocker, "pre", 60)
	rport := startRealRedis(t, "--stream-node-max-entries", "7")
	r := dialNode(t, rport)
	r.do("REPLICAOF", "127.0.0.1", strconv.Itoa(master.port))
	streamLoad(mc, blocker, "during", 120)
	waitLinkUp(t, r)
	streamLoad(mc, blocker, "post", 120)
	waitFor(t, 60*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
	})
	if dm, dr := mc.digest(), r.digest(); dm != dr {
		t.Fatalf("DEBUG DIGEST: ours %s, real replica %s", dm, dr)
	}
	compareStreams(t, mc, r, false, "our master vs real replica", "pre:st", "during:st", "post:st", "pre:mk", "post:mk")
}

func TestInteropStreamsChainRealOursReal(t *testing.T) {
	requireCommands(t, "xadd", "xreadgroup", "debug")
	mport := startRealRedis(t, "--stream-node-max-entries", "7")
	m := dialNode(t, mport)
	blocker := dialNode(t, mport)
	streamLoad(m, blocker, "pre", 60)
	mid := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(mport), "enable-debug-command", "yes", "stream-node-max-entries", "7")
	waitFor(t, 60*time.Second, "our replica up", func() bool { return mid.info()["master_link_status"] == "up" })
	bport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(mid.port), "--stream-node-max-entries", "7")
	b := dialNode(t, bport)
	streamLoad(m, blocker, "during", 120)
	waitLinkUp(t, b)
	streamLoad(m, blocker, "post", 120)
	waitFor(t, 60*time.Second, "equal offsets across the chain", func() bool {
		mo := replInfo(m)["master_repl_offset"]
		return mo == mid.info()["master_repl_offset"] && mo == replInfo(b)["master_repl_offset"]
	})
	midc := dialNode(t, mid.port)
	dm, dmid, db := m.digest(), midc.digest(), b.digest()
	if dm != dmid || dm != db {
		t.Fatalf("DEBUG DIGEST: real master %s, our replica %s, real sub-replica %s", dm, dmid, db)
	}
	keys := []string{"pre:st", "during:st", "post:st", "pre:mk", "post:mk"}
	compareStreams(t, m, midc, false, "real master vs our replica", keys...)
	compareStreams(t, midc, b, true, "our replica vs its real replica", keys...)
}
