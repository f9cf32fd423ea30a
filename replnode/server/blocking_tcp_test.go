package server

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/resp"
)

// tcpClient is a minimal RESP client for end-to-end blocking tests.
type tcpClient struct {
	t    *testing.T
	conn net.Conn
	buf  []byte
}

func dialTCP(t *testing.T, port int) *tcpClient {
	t.Helper()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &tcpClient{t: t, conn: conn}
}

// send writes commands without waiting for replies.
func (c *tcpClient) send(cmds ...[]string) {
	c.t.Helper()
	var out []byte
	for _, a := range cmds {
		out = resp.AppendCommandStrings(out, a...)
	}
	if _, err := c.conn.Write(out); err != nil {
		c.t.Fatal(err)
	}
}

// read waits up to d for one reply and renders it ("" on timeout).
func (c *tcpClient) read(d time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if len(c.buf) > 0 {
			r, n, err := resp.ReadReply(c.buf)
			if err == nil {
				c.buf = c.buf[n:]
				return r.String()
			}
		}
		_ = c.conn.SetReadDeadline(deadline)
		chunk := make([]byte, 4096)
		n, err := c.conn.Read(chunk)
		c.buf = append(c.buf, chunk[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return ""
			}
			c.t.Fatal(err)
		}
	}
}

// do sends one command and waits for its reply.
func (c *tcpClient) do(args ...string) string {
	c.t.Helper()
	c.send(args)
	return c.read(20 * time.Second)
}

// waitBlocked polls INFO until n clients are blocked.
func waitBlocked(t *testing.T, admin *tcpClient, n int) {
	t.Helper()
	want := "blocked_clients:" + strconv.Itoa(n)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(admin.do("INFO", "clients"), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never saw %s", want)
}

// blockingScenario runs the same end-to-end blocking script against a
// server listening on port (ours or the real one).
func blockingScenario(t *testing.T, port int) {
	c1, c2, admin := dialTCP(t, port), dialTCP(t, port), dialTCP(t, port)

	// FIFO per key, served after the push; a pipelined command after a
	// blocking one waits for it.
	c1.send([]string{"BLPOP", "k", "0"}, []string{"PING"})
	waitBlocked(t, admin, 1)
	c2.send([]string{"BRPOP", "other", "k", "0"})
	waitBlocked(t, admin, 2)
	expectReply(t, "push", admin.do("RPUSH", "k", "a", "b", "c"), "(integer) 3")
	expectReply(t, "c1", c1.read(20*time.Second), `["k", "a"]`)
	expectReply(t, "c1 pipelined", c1.read(20*time.Second), "PONG")
	expectReply(t, "c2", c2.read(20*time.Second), `["k", "c"]`)
	expectReply(t, "left", admin.do("LRANGE", "k", "0", "-1"), `["b"]`)

	// Timeouts in float seconds.
	start := time.Now()
	c1.send([]string{"BLPOP", "none", "0.3"})
	expectReply(t, "timeout", c1.read(20*time.Second), "(nil)")
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("timed out after %v, before 0.3s", el)
	}

	// Sorted sets, RESP3 replies, and a transaction serving once at EXEC.
	expectReply(t, "hello", strings.SplitN(c2.do("HELLO", "3"), ",", 2)[0], `{"server": "redis"`)
	c2.send([]string{"BZPOPMAX", "z", "0"})
	waitBlocked(t, admin, 1)
	admin.do("MULTI")
	admin.do("ZADD", "z", "1", "a")
	admin.do("ZADD", "z", "5", "e")
	expectReply(t, "exec", admin.do("EXEC"), "[(integer) 1, (integer) 1]")
	expectReply(t, "bzpopmax", c2.read(20*time.Second), `["z", "e", (double) 5]`)

	// BLMOVE hands the element to a client blocked on its destination.
	c1.send([]string{"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"})
	waitBlocked(t, admin, 1)
	c2.send([]string{"BLPOP", "dst", "0"})
	waitBlocked(t, admin, 2)
	admin.do("LPUSH", "src", "x")
	expectReply(t, "blmove", c1.read(20*time.Second), `"x"`)
	expectReply(t, "chained", c2.read(20*time.Second), `["dst", "x"]`)
	waitBlocked(t, admin, 0)
}

func TestBlockingOverTCP(t *testing.T) {
	t.Run("replnode", func(t *testing.T) {
		n := startNode(t)
		blockingScenario(t, n.port)
	})
	t.Run("redis-server", func(t *testing.T) {
		r := startTypesRedis(t)
		blockingScenario(t, r.conn.RemoteAddr().(*net.TCPAddr).Port)
	})
}

// TestBlockedClientThatDisconnectedIsNotServed checks an element pushed
// after a blocked client went away stays in the list, as in Redis.
func TestBlockedClientThatDisconnectedIsNotServed(t *testing.T) {
	n := startNode(t)
	gone, alive, admin := dialTCP(t, n.port), dialTCP(t, n.port), dialTCP(t, n.port)
	gone.send([]string{"BLPOP", "k", "0"})
	waitBlocked(t, admin, 1)
	alive.send([]string{"BLPOP", "k", "0"})
	waitBlocked(t, admin, 2)
	gone.conn.Close()
	expectReply(t, "push", admin.do("RPUSH", "k", "a", "b"), "(integer) 2")
	expectReply(t, "alive served", alive.read(20*time.Second), `["k", "a"]`)
	expectReply(t, "kept", admin.do("LRANGE", "k", "0", "-1"), `["b"]`)
	waitBlocked(t, admin, 0)
}

// TestDataTypesReplicateToRealReplica runs data-type commands, including
// random ones (SPOP, SRANDMEMBER-free) and served blocking pops, on our
// master with a real redis-server 7.0 replica attached, and checks the
// replica ends with the same dataset (DEBUG DIGEST).
func TestDataTypesReplicateToRealReplica(t *testing.T) {
	master := startNode(t, "repl-ping-replica-period", "1")
	mc := dialNode(t, master.port)
	rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r := dialNode(t, rport)
	waitLinkUp(t, r)

	blocked := dialTCP(t, master.port)
	blocked.send([]string{"BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"})
	admin := dialTCP(t, master.port)
	waitBlocked(t, admin, 1)
	zblocked := dialTCP(t, master.port)
	zblocked.send([]string{"BZMPOP", "0", "1", "zq", "MAX", "COUNT", "2"})
	waitBlocked(t, admin, 2)

	for _, cmd := range [][]string{
		{"RPUSH", "src", "a", "b", "c"}, {"ZADD", "zq", "1", "x", "2", "y", "3", "z"},
		{"SADD", "s", "1", "2", "3", "4", "5", "6", "a", "b"}, {"SPOP", "s"}, {"SPOP", "s", "3"},
		{"SADD", "s2", "x", "y"}, {"SPOP", "s2", "10"},
		{"HSET", "h", "f", "1.1"}, {"HINCRBYFLOAT", "h", "f", "2.2"}, {"HINCRBYFLOAT", "h", "g", "1e-7"},
		{"ZADD", "z", "1.5", "a", "2.5", "b"}, {"ZINCRBY", "z", "0.1", "a"}, {"ZUNIONSTORE", "zu", "2", "z", "s", "WEIGHTS", "2", "3"},
		{"LMPOP", "1", "src", "LEFT", "COUNT", "1"}, {"RPUSH", "l2", "1", "2", "3"}, {"BLPOP", "l2", "0"},
		{"SORT", "l2", "DESC", "STORE", "sorted"}, {"SINTERSTORE", "si", "s", "s"},
		{"MULTI"}, {"LPUSH", "src", "m1"}, {"LPUSH", "src", "m2"}, {"EXEC"},
	} {
		if rep := mc.do(cmd...); rep.IsError() {
			t.Fatalf("%v: %v", cmd, rep)
		}
	}
	expectReply(t, "blmove served", blocked.read(20*time.Second), `"c"`)
	expectReply(t, "bzmpop served", zblocked.read(20*time.Second), `["zq", [["z", "3"], ["y", "2"]]]`)
	waitFor(t, 60*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
	})
	if dm, dr := mc.digest(), r.digest(); dm != dr {
		t.Fatalf("DEBUG DIGEST: ours %s, real replica %s", dm, dr)
	}
}
