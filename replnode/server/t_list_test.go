package server

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
)

// ------ DIFFERENTIAL HARNESS (shared by the data-type tests)

// typesRedis is a redis-server 7.0 started for one test on a free loopback
// port.
type typesRedis struct {
	t    *testing.T
	cmd  *exec.Cmd
	conn net.Conn
	rd   *bufio.Reader
	buf  []byte
}

// startTypesRedis starts redis-server, or skips the test when it is not
// installed.
func startTypesRedis(t *testing.T) *typesRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &typesRedis{t: t, cmd: cmd}
	t.Cleanup(func() {
		if r.conn != nil {
			r.conn.Close()
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			r.conn, r.rd = c, bufio.NewReader(c)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// do sends one command and renders the reply like coreNode.do.
func (r *typesRedis) do(args ...string) string {
	r.t.Helper()
	_ = r.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := r.conn.Write(resp.AppendCommandStrings(nil, args...)); err != nil {
		r.t.Fatal(err)
	}
	for {
		if len(r.buf) > 0 {
			rep, n, err := resp.ReadReply(r.buf)
			if err == nil {
				r.buf = r.buf[n:]
				return rep.String()
			}
			if !errors.Is(err, resp.ErrIncomplete) {
				r.t.Fatal(err)
			}
		}
		chunk := make([]byte, 64*1024)
		n, err := r.rd.Read(chunk)
		if err != nil {
			r.t.Fatal(err)
		}
		r.buf = append(r.buf, chunk[:n]...)
	}
}

// diffStep is one command of a differential script. unordered sorts the
// elements of an array reply (Redis leaves their order unspecified).
type diffStep struct {
	cmd       []string
	unordered bool
	ignore    bool
}

// diffScript is a list of steps; unordered steps are marked with u(...).
type diffScript []diffStep

// c is an ordered step.
func c(args ...string) diffStep { return diffStep{cmd: args} }

// u is a step whose array reply is compared as a multiset.
func u(args ...string) diffStep { return diffStep{cmd: args, unordered: true} }

// x is a step run on both sides whose reply is not compared (HELLO, whose
// client id differs).
func x(args ...string) diffStep { return diffStep{cmd: args, ignore: true} }

// runDiff runs script on replnode and on the real server and reports every
// reply that differs.
func runDiff(t *testing.T, script diffScript) {
	t.Helper()
	real := startTypesRedis(t)
	n := newCoreNode(t)
	for _, st := range script {
		got, want := n.do(st.cmd...), real.do(st.cmd...)
		if st.ignore {
			continue
		}
		if st.unordered {
			got, want = sortRendered(got), sortRendered(want)
		}
		if got != want {
			t.Errorf("%q:\n replnode %s\n redis    %s", st.cmd, got, want)
		}
	}
}

// sortRendered sorts the top-level elements of a rendered array reply.
func sortRendered(s string) string {
	prefix := ""
	for _, p := range []string{"~[", "["} {
		if strings.HasPrefix(s, p) && strings.HasSuffix(s, "]") {
			prefix = p
			break
		}
	}
	if prefix == "" || len(s) == len(prefix)+1 {
		return s
	}
	parts := strings.Split(s[len(prefix):len(s)-1], ", ")
	sort.Strings(parts)
	return prefix + strings.Join(parts, ", ") + "]"
}

// ------ LISTS

func TestListCommandsDiff(t *testing.T) {
	runDiff(t, diffScript{
		c("RPUSH", "l", "a", "b", "c", "d", "e"),
		c("LPUSH", "l", "z", "y"),
		c("LRANGE", "l", "0", "-1"),
		c("LRANGE", "l", "-3", "100"),
		c("LRANGE", "l", "5", "2"),
		c("LRANGE", "l", "x", "2"),
		c("LLEN", "l"), c("LLEN", "nokey"),
		c("LINDEX", "l", "0"), c("LINDEX", "l", "-1"), c("LINDEX", "l", "100"), c("LINDEX", "l", "x"),
		c("LINSERT", "l", "BEFORE", "c", "X"), c("LINSERT", "l", "after", "e", "Y"),
		c("LINSERT", "l", "after", "nope", "Y"), c("LINSERT", "l", "middle", "c", "Y"), c("LINSERT", "nokey", "after", "c", "Y"),
		c("LSET", "l", "1", "Q"), c("LSET", "l", "100", "Q"), c("LSET", "nokey", "0", "Q"),
		c("LRANGE", "l", "0", "-1"),
		c("RPUSH", "r", "a", "b", "a", "c", "a", "a"),
		c("LREM", "r", "2", "a"), c("LRANGE", "r", "0", "-1"),
		c("LREM", "r", "-1", "a"), c("LRANGE", "r", "0", "-1"),
		c("LREM", "r", "0", "a"), c("LRANGE", "r", "0", "-1"),
		c("LTRIM", "l", "1", "-2"), c("LRANGE", "l", "0", "-1"),
		c("LTRIM", "l", "5", "1"), c("LLEN", "l"),
		c("RPUSH", "p", "a", "b", "c", "1", "2", "3", "c", "c"),
		c("LPOS", "p", "c"), c("LPOS", "p", "c", "RANK", "-1"), c("LPOS", "p", "c", "COUNT", "0"),
		c("LPOS", "p", "c", "COUNT", "2", "RANK", "2"), c("LPOS", "p", "c", "MAXLEN", "2"),
		c("LPOS", "p", "c", "RANK", "0"), c("LPOS", "p", "c", "COUNT", "-1"), c("LPOS", "p", "c", "MAXLEN", "-1"),
		c("LPOS", "p", "c", "BOGUS", "1"), c("LPOS", "p", "c", "RANK", "-9223372036854775808"), c("LPOS", "p", "c", "RANK"), c("LPOS", "nokey", "c"), c("LPOS", "nokey", "c", "COUNT", "1"),
		c("LPOP", "p"), c("RPOP", "p"), c("LPOP", "p", "2"), c("RPOP", "p", "0"), c("LPOP", "p", "-1"),
		c("LPOP", "nokey"), c("LPOP", "nokey", "3"), c("LPOP", "p", "1", "2"), c("RPOP", "p", "100"), c("LLEN", "p"),
		c("LPUSHX", "nokey", "a"), c("RPUSHX", "nokey", "a"), c("RPUSH", "x", "1"), c("LPUSHX", "x", "0"), c("RPUSHX", "x", "2", "3"),
		c("LRANGE", "x", "0", "-1"),
		c("LMOVE", "x", "y", "LEFT", "RIGHT"), c("LMOVE", "x", "y", "RIGHT", "LEFT"), c("LMOVE", "x", "x", "LEFT", "RIGHT"),
		c("LRANGE", "x", "0", "-1"), c("LRANGE", "y", "0", "-1"), c("LMOVE", "x", "y", "UP", "LEFT"),
		c("RPOPLPUSH", "y", "y"), c("LRANGE", "y", "0", "-1"), c("RPOPLPUSH", "nokey", "y"),
		c("SET", "str", "v"), c("LPUSH", "str", "a"), c("LMOVE", "x", "str", "LEFT", "LEFT"), c("LRANGE", "x", "0", "-1"),
		c("RPOPLPUSH", "str", "x"), c("LLEN", "str"),
		c("LMPOP", "2", "nokey", "x", "LEFT"), c("LMPOP", "2", "nokey", "y", "RIGHT", "COUNT", "10"),
		c("LMPOP", "1", "nokey", "LEFT"), c("LMPOP", "0", "x", "LEFT"), c("LMPOP", "2", "x", "LEFT"),
		c("LMPOP", "1", "x", "UP"), c("LMPOP", "1", "x", "LEFT", "COUNT", "0"), c("LMPOP", "1", "x", "LEFT", "COUNT", "1", "COUNT", "1"),
		c("LMPOP", "1", "str", "LEFT"),
		c("BLPOP", "nokey", "x", "str", "0.01"), c("RPUSH", "b", "1", "2"), c("BLPOP", "nokey", "b", "0"), c("BRPOP", "b", "0"),
		c("BLPOP", "b", "abc"), c("BLPOP", "b", "-1"), c("BLMPOP", "0", "2", "b", "LEFT"),
		c("RPUSH", "b", "1", "2"), c("BLMOVE", "b", "c", "LEFT", "LEFT", "0"), c("BRPOPLPUSH", "b", "c", "0"), c("LRANGE", "c", "0", "-1"),
		c("RPUSH", "b", "1", "2", "3"), c("BLMPOP", "1", "1", "b", "RIGHT", "COUNT", "2"),
		c("MULTI"), c("BLPOP", "empty", "0"), c("BLMOVE", "empty", "c", "LEFT", "LEFT", "0"), c("EXEC"),
	})
}

// ------ BENCHMARKS (through dispatch, without sockets)

// benchNode returns a server and an internal client for benchmarks.
func benchNode(b *testing.B) (*Server, *Client) {
	b.Helper()
	cfg := config.Default()
	s := New(cfg)
	s.mu.Lock()
	c := s.NewInternalClient(0)
	s.mu.Unlock()
	return s, c
}

// benchRun executes args on the executor and drops the reply.
func benchRun(s *Server, c *Client, args ...[]byte) {
	s.mu.Lock()
	s.processCommand(c, args)
	c.w.Reset()
	s.mu.Unlock()
}

func BenchmarkLPushRPop(b *testing.B) {
	s, c := benchNode(b)
	push := [][]byte{[]byte("LPUSH"), []byte("k"), []byte("value")}
	pop := [][]byte{[]byte("RPOP"), []byte("k")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchRun(s, c, push...)
		benchRun(s, c, pop...)
	}
}

func BenchmarkZAddZRank(b *testing.B) {
	s, c := benchNode(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m := []byte(strconv.Itoa(i % 10000))
		benchRun(s, c, []byte("ZADD"), []byte("z"), []byte(strconv.Itoa(i%977)), m)
		benchRun(s, c, []byte("ZRANK"), []byte("z"), m)
	}
}

func BenchmarkHSetHGet(b *testing.B) {
	s, c := benchNode(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f := []byte(strconv.Itoa(i % 1000))
		benchRun(s, c, []byte("HSET"), []byte("h"), f, f)
		benchRun(s, c, []byte("HGET"), []byte("h"), f)
	}
}

func BenchmarkBlockAndServe(b *testing.B) {
	s, c := benchNode(b)
	s.mu.Lock()
	waiter := s.NewInternalClient(0)
	s.mu.Unlock()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchRun(s, waiter, []byte("BLPOP"), []byte("q"), []byte("0"))
		benchRun(s, c, []byte("RPUSH"), []byte("q"), []byte("x"))
		s.mu.Lock()
		waiter.w.Reset()
		s.mu.Unlock()
	}
}
