package server

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/resp"
)

// ------ THE REPLICATION STREAM, BYTE FOR BYTE AGAINST redis-server 7.0 ------
//
// A raw replica (PSYNC ? -1, the RDB skipped) records what a master sends
// after the snapshot. The same client scripts run against our node and a
// real redis-server; the recorded streams must be equal once absolute times
// (PXAT, PEXPIREAT, ABSTTL) are turned into offsets from the moment of the
// script, and replication PINGs (timed by a cron) are left out.

// rawReplica is a replica connection that records the stream it receives.
type rawReplica struct {
	conn net.Conn
	mu   sync.Mutex
	buf  []byte
	err  error
}

// attachRawReplica performs a replica handshake without capa eof (so the
// snapshot comes as $<len> from disk on both servers), skips the RDB and
// records everything after it.
func attachRawReplica(t *testing.T, port int) *rawReplica {
	t.Helper()
	c := dialNode(t, port)
	if r := c.do("REPLCONF", "listening-port", strconv.Itoa(port+1)); r.Str != "OK" {
		t.Fatalf("REPLCONF listening-port: %v", r)
	}
	if r := c.do("REPLCONF", "capa", "psync2"); r.Str != "OK" {
		t.Fatalf("REPLCONF capa: %v", r)
	}
	if _, err := c.conn.Write(resp.AppendCommandStrings(nil, "PSYNC", "?", "-1")); err != nil {
		t.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line := func() string {
		for {
			s, err := c.br.ReadString('\n')
			if err != nil {
				t.Fatalf("handshake read: %v", err)
			}
			if s = strings.TrimRight(s, "\r\n"); s != "" {
				return s // newlines keep a waiting replica alive
			}
		}
	}
	if l := line(); !strings.HasPrefix(l, "+FULLRESYNC ") {
		t.Fatalf("PSYNC reply %q", l)
	}
	l := line()
	n, err := strconv.Atoi(strings.TrimPrefix(l, "$"))
	if !strings.HasPrefix(l, "$") || err != nil {
		t.Fatalf("payload header %q", l)
	}
	if _, err := c.br.Discard(n); err != nil {
		t.Fatalf("reading RDB: %v", err)
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	rr := &rawReplica{conn: c.conn}
	go func() {
		tmp := make([]byte, 16<<10)
		for {
			n, err := c.br.Read(tmp)
			rr.mu.Lock()
			rr.buf = append(rr.buf, tmp[:n]...)
			if err != nil {
				rr.err = err
			}
			rr.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return rr
}

// commandsUntil waits until the stream holds a command equal to mark and
// returns the commands before it, consuming them and the mark.
func (rr *rawReplica) commandsUntil(t *testing.T, mark []string) [][]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rr.mu.Lock()
		var cmds [][]string
		off := 0
		for off < len(rr.buf) {
			r, n, err := resp.ReadReply(rr.buf[off:])
			if errors.Is(err, resp.ErrIncomplete) {
				break
			}
			if err != nil || r.Type != '*' {
				rr.mu.Unlock()
				t.Fatalf("stream is not a command sequence at %q: %v", rr.buf[off:], err)
			}
			off += n
			args := make([]string, len(r.Elems))
			for i, e := range r.Elems {
				args[i] = e.Str
			}
			if strings.Join(args, " ") == strings.Join(mark, " ") {
				rr.buf = rr.buf[off:]
				rr.mu.Unlock()
				return cmds
			}
			cmds = append(cmds, args)
		}
		err := rr.err
		rr.mu.Unlock()
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("mark %v not in the stream (err %v); got %v", mark, err, cmds)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// normalizeStream drops replication PINGs and GETACKs (timed by a cron),
// and writes an absolute unix time in milliseconds near startMs as the
// offset from it, rounded to 10 s (PXAT, PEXPIREAT, RESTORE ABSTTL).
func normalizeStream(cmds [][]string, startMs int64) []string {
	var out []string
	for _, c := range cmds {
		name := strings.ToUpper(c[0])
		if name == "PING" || (name == "REPLCONF" && len(c) > 1 && strings.EqualFold(c[1], "GETACK")) {
			continue
		}
		args := make([]string, len(c))
		for i, a := range c {
			args[i] = a
			if v, err := strconv.ParseInt(a, 10, 64); err == nil && v > 1e12 {
				if d := v - startMs; d > -1e7 && d < 1e7 {
					args[i] = fmt.Sprintf("<now%+ds>", int64(math.Round(float64(d)/1e4))*10)
				}
			}
		}
		out = append(out, strings.Join(args, " "))
	}
	return out
}

// streamStep is one client command of a script: client picks the
// connection; send does not wait for the reply (a blocking command);
// sleep pauses first.
type streamStep struct {
	client int
	args   []string
	send   bool
	sleep  time.Duration
}

func step(args ...string) streamStep          { return streamStep{args: args} }
func stepOn(c int, args ...string) streamStep { return streamStep{client: c, args: args} }
func sendOn(c int, args ...string) streamStep { return streamStep{client: c, args: args, send: true} }
func sleepThen(d time.Duration, args ...string) streamStep {
	return streamStep{args: args, sleep: d}
}

// farFuture is an absolute time in seconds, far enough never to be near
// a test's now (it stays literal after normalisation).
const farFuture = "4102444800"

// streamScripts are the client command scripts whose propagation must be
// Redis's. Each runs in a fresh pair of connections on both servers.
var streamScripts = []struct {
	name  string
	steps []streamStep
}{
	{"set-ttl", []streamStep{
		step("SET", "a", "1", "EX", "100"),
		step("SET", "a", "1", "PX", "100000"),
		step("SET", "a", "1", "EXAT", farFuture),
		step("SET", "a", "1", "PXAT", farFuture+"000"),
		step("SET", "a", "2", "KEEPTTL"),
		step("SET", "a", "3", "GET"),
		step("SET", "a", "4", "NX"),
		step("SET", "a", "5", "XX", "EX", "50", "GET"),
		step("SETEX", "b", "100", "x"),
		step("PSETEX", "b", "100000", "y"),
		step("SET", "a", "6", "PXAT", farFuture+"000", "XX", "GET"),
		step("SET", "a", "7", "GET", "KEEPTTL", "get"),
		step("SETNX", "c", "1"),
		step("GETSET", "c", "2"),
	}},
	{"expire-family", []streamStep{
		step("SET", "k", "v"),
		step("EXPIRE", "k", "100"),
		step("PEXPIRE", "k", "200000"),
		step("EXPIREAT", "k", farFuture),
		step("PEXPIREAT", "k", farFuture+"000"),
		step("EXPIRE", "k", "100", "GT"),
		step("EXPIRE", "k", "100", "LT"),
		step("PERSIST", "k"),
		step("PERSIST", "k"),
		step("EXPIRE", "k", "-1"),
		step("SET", "k2", "v"),
		step("PEXPIREAT", "k2", "1000"),
		step("EXPIRE", "missing", "10"),
	}},
	{"getex-getdel", []streamStep{
		step("SET", "g", "v"),
		step("GETEX", "g", "EX", "100"),
		step("GETEX", "g", "PX", "100000"),
		step("GETEX", "g", "EXAT", farFuture),
		step("GETEX", "g", "PERSIST"),
		step("GETEX", "g"),
		step("GETEX", "g", "PXAT", "1000"),
		step("SET", "d", "v"),
		step("GETDEL", "d"),
		step("GETDEL", "d"),
	}},
	{"floats", []streamStep{
		step("INCRBYFLOAT", "f", "1.5"),
		step("SET", "f2", "10", "EX", "100"),
		step("INCRBYFLOAT", "f2", "0.25"),
		step("HINCRBYFLOAT", "h", "x", "2.5"),
	}},
	{"restore", []streamStep{
		step("SET", "src", "payload"),
		// DUMP's output is fed back by the runner (see dumpArg).
		step("RESTORE", "r1", "100000", "$DUMP:src"),
		step("RESTORE", "r2", "0", "$DUMP:src"),
		step("RESTORE", "r3", farFuture+"000", "$DUMP:src", "ABSTTL"),
		step("RESTORE", "r1", "0", "$DUMP:src", "REPLACE"),
	}},
	{"list-pops", []streamStep{
		step("RPUSH", "l", "a", "b", "c", "d", "e"),
		step("LMPOP", "2", "nol", "l", "LEFT", "COUNT", "2"),
		step("LMPOP", "1", "l", "RIGHT"),
		step("BLMPOP", "0", "1", "l", "LEFT", "COUNT", "5"),
		step("RPUSH", "l2", "x"),
		step("BLPOP", "l2", "0"),
		step("RPUSH", "l9", "a", "b", "c"),
		step("BLMOVE", "l9", "l10", "Left", "right", "0"),
		step("BRPOPLPUSH", "l9", "l10", "0"),
		step("LMOVE", "l9", "l10", "LEFT", "Right"),
		sendOn(1, "BLMPOP", "0", "1", "l3", "RIGHT", "COUNT", "3"),
		sleepThen(100*time.Millisecond, "RPUSH", "l3", "1", "2"),
		sendOn(1, "BRPOPLPUSH", "l4", "l5", "0"),
		sleepThen(100*time.Millisecond, "RPUSH", "l4", "z"),
		sendOn(1, "BLMOVE", "l6", "l7", "LEFT", "RIGHT", "0"),
		sleepThen(100*time.Millisecond, "RPUSH", "l6", "z"),
		sendOn(1, "BLPOP", "l8", "0"),
		sleepThen(100*time.Millisecond, "RPUSH", "l8", "a", "b"),
	}},
	{"zset-pops", []streamStep{
		step("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"),
		step("ZMPOP", "1", "z", "MIN"),
		step("ZMPOP", "2", "noz", "z", "MAX", "COUNT", "2"),
		step("BZMPOP", "0", "1", "z", "MIN", "COUNT", "10"),
		step("ZADD", "z2", "1", "a"),
		step("BZPOPMIN", "z2", "0"),
		sendOn(1, "BZMPOP", "0", "1", "z3", "MAX", "COUNT", "2"),
		sleepThen(100*time.Millisecond, "ZADD", "z3", "1", "a", "2", "b", "3", "c"),
		sendOn(1, "BZPOPMAX", "z4", "0"),
		sleepThen(100*time.Millisecond, "ZADD", "z4", "1", "a"),
	}},
	{"multi-exec", []streamStep{
		step("MULTI"), step("SET", "m", "1"), step("EXEC"),
		step("MULTI"), step("SET", "m", "2"), step("INCR", "m"), step("EXEC"),
		step("MULTI"), step("GET", "m"), step("EXEC"),
		step("MULTI"), step("EXEC"),
		step("MULTI"), step("SELECT", "3"), step("SET", "m", "3"), step("EXEC"),
		step("MULTI"), step("SET", "m", "4", "EX", "100"), step("EXEC"),
		step("MULTI"), step("SET", "m", "5"), step("SELECT", "0"), step("SET", "m", "6"), step("EXEC"),
	}},
	{"publish", []streamStep{
		step("PUBLISH", "ch", "hello"),
		step("MULTI"), step("PUBLISH", "ch", "in-multi"), step("EXEC"),
		step("MULTI"), step("SET", "p", "1"), step("PUBLISH", "ch", "x"), step("EXEC"),
	}},
	{"lazy-expire", []streamStep{
		// Only lookups expire keys here, never the timed cycle.
		step("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
		step("SET", "e1", "v", "PX", "1"),
		sleepThen(20*time.Millisecond, "GET", "e1"),
		step("SET", "e2", "v", "PX", "1"),
		sleepThen(20*time.Millisecond, "SET", "e2", "w"),
		step("SET", "e3", "1", "PX", "1"),
		sleepThen(20*time.Millisecond, "INCR", "e3"),
		step("SET", "e6", "v", "PX", "1"),
		sleepThen(20*time.Millisecond, "MSET", "e7", "x", "e6", "w"),
		step("SET", "e4", "v", "PX", "1"),
		sleepThen(20*time.Millisecond, "MULTI"), step("GET", "e4"), step("SET", "e5", "1"), step("EXEC"),
		step("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
	}},
	{"keys-and-stores", []streamStep{
		step("RPUSH", "src", "3", "1", "2"),
		step("SORT", "src", "STORE", "dst"),
		step("SORT", "src", "LIMIT", "0", "1", "STORE", "dst2"),
		step("SORT", "missing", "STORE", "dst"),
		step("RENAME", "dst", "dst3"),
		step("COPY", "dst3", "dst4"),
		step("COPY", "dst3", "dst4"),
		step("COPY", "dst3", "dst4", "DB", "2", "REPLACE"),
		step("MOVE", "dst4", "3"),
		step("SET", "str", "hello"),
		step("SETRANGE", "str", "10", "x"),
		step("SETRANGE", "str", "0", ""),
		step("DEL", "str", "nope", "dst2"),
		step("SADD", "s1", "a", "b"), step("SADD", "s2", "b", "c"),
		step("SINTERSTORE", "s3", "s1", "s2"),
		step("SINTERSTORE", "s3", "s1", "nope"),
		step("SMOVE", "s1", "s2", "a"),
		step("ZADD", "z", "1", "a", "2", "b"),
		step("ZADD", "z", "INCR", "5", "a"),
		step("ZINCRBY", "z", "1.5", "b"),
		step("ZRANGESTORE", "z2", "z", "0", "-1"),
		step("HSETNX", "h", "f", "1"),
		step("HSETNX", "h", "f", "2"),
		step("LPUSHX", "nol", "x"),
		step("RPUSH", "l", "a", "b", "c"),
		step("LSET", "l", "0", "z"),
		step("LTRIM", "l", "0", "0"),
		step("LTRIM", "l", "5", "10"),
		step("INCRBY", "n", "5"), step("DECRBY", "n", "2"),
		step("MSET", "m1", "1", "m2", "2"),
		step("MSETNX", "m1", "1", "m3", "3"),
		step("APPEND", "m1", "x"),
	}},
	{"expire-edges", []streamStep{
		step("SET", "k", "v"),
		step("EXPIRE", "k", "100", "NX"),
		step("EXPIRE", "k", "200", "NX"),
		step("EXPIRE", "k", "300", "XX"),
		step("PEXPIRE", "k", "-5"),
		step("SET", "k", "v", "EX", "100"),
		step("PEXPIREAT", "k", "0"),
		step("SET", "k", "v"),
		step("GETEX", "k", "EX", "0"),
		step("SET", "k2", "v", "EX", "100"),
		step("RENAME", "k2", "k3"),
		step("SET", "k4", "v", "PX", "100000"),
		step("COPY", "k4", "k5"),
		step("RESTORE", "k6", "-1", "$DUMP:k4"),
	}},
	{"sets-and-misc", []streamStep{
		step("SADD", "s", "a"),
		step("SPOP", "s"),
		step("SADD", "s", "a"),
		step("SPOP", "s", "5"),
		step("DEL", "missing"),
		step("SET", "x", "1"),
		step("DEL", "x"),
		step("SET", "x", "1"),
		step("UNLINK", "x"),
		step("SELECT", "5"),
		step("SET", "y", "1"),
		step("SWAPDB", "5", "6"),
		step("FLUSHDB"),
	}},
	{"streams", []streamStep{
		step("XADD", "s", "1-1", "f", "v"),
		step("XADD", "s", "1-*", "f", "v"),
		step("XADD", "s", "MAXLEN", "~", "1", "2-*", "f", "v", "g", "w"),
		step("XADD", "s", "NOMKSTREAM", "2-5", "f", "v"),
		step("XADD", "nos", "NOMKSTREAM", "2-5", "f", "v"),
		step("XTRIM", "s", "MAXLEN", "~", "0"),
		step("XTRIM", "s", "MAXLEN", "4"),
		step("XADD", "s", "MINID", "~", "0", "3-0", "f", "v"),
		step("XADD", "s", "MINID", "=", "1-2", "LIMIT", "0", "3-1", "f", "v"),
		step("XGROUP", "CREATE", "s", "g", "0"),
		step("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"),
		step("XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"),
		step("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"),
		step("XREADGROUP", "GROUP", "g", "c2", "NOACK", "COUNT", "1", "STREAMS", "s", ">"),
		step("XREADGROUP", "GROUP", "g", "c2", "NOACK", "STREAMS", "s", ">"),
		step("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
		step("XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", ">"),
		step("XREAD", "STREAMS", "s", "0"),
		step("XACK", "s", "g", "1-2", "7-7"),
		step("XCLAIM", "s", "g", "c3", "0", "1-1", "RETRYCOUNT", "4"),
		step("XCLAIM", "s", "g", "c3", "0", "9-9", "LASTID", "8-0", "JUSTID"),
		step("XCLAIM", "s", "g", "c3", "0", "1-1", "LASTID", "9-0", "JUSTID", "TIME", "1000"),
		step("XDEL", "s", "1-1"),
		step("XAUTOCLAIM", "s", "g", "c4", "0", "0", "COUNT", "1"),
		step("XAUTOCLAIM", "s", "g", "c4", "0", "0", "JUSTID"),
		step("XGROUP", "SETID", "s", "g2", "0", "ENTRIESREAD", "0"),
		step("XGROUP", "CREATECONSUMER", "s", "g2", "made"),
		step("XGROUP", "DELCONSUMER", "s", "g", "c1"),
		step("XGROUP", "DELCONSUMER", "s", "g", "nobody"),
		step("XSETID", "s", "100-0", "ENTRIESADDED", "50", "MAXDELETEDID", "1-1"),
		sendOn(1, "XREADGROUP", "GROUP", "g2", "w1", "BLOCK", "0", "STREAMS", "s", ">"),
		sleepThen(200*time.Millisecond, "XADD", "s", "200-0", "f", "v"),
		sendOn(1, "XREADGROUP", "GROUP", "g2", "w2", "NOACK", "BLOCK", "0", "STREAMS", "s", ">"),
		sleepThen(200*time.Millisecond, "XADD", "s", "201-0", "f", "v"),
		step("XGROUP", "DESTROY", "s", "g2"),
		step("XGROUP", "DESTROY", "s", "g2"),
		step("XGROUP", "CREATE", "s", "g3", "0"),
		step("MULTI"),
		step("XREADGROUP", "GROUP", "g3", "m1", "COUNT", "2", "STREAMS", "s", ">"),
		step("XREADGROUP", "GROUP", "g3", "m2", "NOACK", "COUNT", "1", "STREAMS", "s", ">"),
		step("XACK", "s", "g3", "2-5"),
		step("XADD", "s", "300-*", "f", "v"),
		step("EXEC"),
		step("EVAL", "redis.call('XREADGROUP','GROUP','g3','lua','COUNT','1','STREAMS',KEYS[1],'>'); return redis.call('XAUTOCLAIM',KEYS[1],'g3','lua2','0','0','COUNT','2')", "1", "s"),
		step("EVAL", "return redis.call('XADD',KEYS[1],'MAXLEN','~','2','5-*','f','v')", "1", "lua"),
	}},
}

// runStreamScript runs a script against the server at port and returns
// the stream it caused, normalised.
func runStreamScript(t *testing.T, port int, rr *rawReplica, steps []streamStep, mark []string) ([]string, []string) {
	t.Helper()
	clients := []*testClient{dialNode(t, port), dialNode(t, port)}
	pending := make([]int, len(clients))
	dumps := map[string]string{}
	var replies []string
	start := time.Now().UnixMilli()
	for _, st := range steps {
		if st.sleep > 0 {
			time.Sleep(st.sleep)
		}
		args := append([]string(nil), st.args...)
		for i, a := range args {
			if key, ok := strings.CutPrefix(a, "$DUMP:"); ok {
				if dumps[key] == "" {
					dumps[key] = clients[0].do("DUMP", key).Str
				}
				args[i] = dumps[key]
			}
		}
		c := clients[st.client]
		if st.send {
			if _, err := c.conn.Write(resp.AppendCommandStrings(nil, args...)); err != nil {
				t.Fatal(err)
			}
			pending[st.client]++
			continue
		}
		r := c.do(args...)
		replies = append(replies, r.String())
	}
	for i, c := range clients {
		for ; pending[i] > 0; pending[i]-- {
			replies = append(replies, c.readReply().String())
		}
	}
	clients[0].do(mark...)
	return normalizeStream(rr.commandsUntil(t, mark), start), replies
}

func TestDifferentialReplicationStream(t *testing.T) {
	rport := startRealRedis(t, "--repl-ping-replica-period", "3600", "--repl-diskless-sync", "no")
	ours := startNode(t, "repl-ping-replica-period", "3600", "repl-diskless-sync", "no")
	realRepl := attachRawReplica(t, rport)
	ourRepl := attachRawReplica(t, ours.port)
	for i, sc := range streamScripts {
		t.Run(sc.name, func(t *testing.T) {
			mark := []string{"SET", "__mark__", strconv.Itoa(i)}
			want, wantReplies := runStreamScript(t, rport, realRepl, sc.steps, mark)
			got, gotReplies := runStreamScript(t, ours.port, ourRepl, sc.steps, mark)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("stream differs from redis-server's\n--- redis-server\n%s\n--- ours\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			if strings.Join(gotReplies, "\n") != strings.Join(wantReplies, "\n") {
				t.Logf("replies differ (not the subject of this test)\n--- redis-server\n%s\n--- ours\n%s", strings.Join(wantReplies, "\n"), strings.Join(gotReplies, "\n"))
			}
		})
	}
}

// The first thing a new replica's stream carries is the SELECT of the
// first write, not a replication PING sent at attach time.
func TestReplStreamStartsWithSelectNotPing(t *testing.T) {
	ours := startNode(t) // default repl-ping-replica-period 10
	rr := attachRawReplica(t, ours.port)
	time.Sleep(500 * time.Millisecond) // several crons
	c := dialNode(t, ours.port)
	c.do("SET", "k", "v")
	mark := []string{"SET", "__mark__", "end"}
	c.do(mark...)
	got := rr.commandsUntil(t, mark)
	if len(got) != 2 || strings.Join(got[0], " ") != "SELECT 0" || strings.Join(got[1], " ") != "SET k v" {
		t.Fatalf("stream after attach: %q, want SELECT 0, SET k v", got)
	}
}
