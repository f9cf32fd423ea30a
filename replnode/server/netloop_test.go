package server

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/tlsconf/testpki"
)

// The event loop's hand-overs (netloop.go): each case drives a client
// through the loop into the situation that must move it to its reader
// goroutine, and checks that nothing it sent or was owed is lost or
// reordered, and that the loop still serves the others.

// loopTestClient dials addr with the blocking tests' RESP client.
func loopTestClient(t *testing.T, addr string) *tcpClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &tcpClient{t: t, conn: conn}
}

// clientID is the connection's CLIENT ID.
func clientID(t *testing.T, c *tcpClient) uint64 {
	t.Helper()
	r := c.do("CLIENT", "ID")
	id, err := strconv.ParseUint(strings.TrimPrefix(r, "(integer) "), 10, 64)
	if err != nil {
		t.Fatalf("CLIENT ID: %q", r)
	}
	return id
}

// inLoop reports whether the event loop serves client id.
func inLoop(s *Server, id uint64) bool {
	// Serve sets s.loop under listenMu; the test goroutine's only order
	// with it is through the kernel, which the race detector cannot see.
	s.listenMu.Lock()
	l := s.loop
	s.listenMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clients[id] != nil
}

// eventually polls cond for up to 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoopServesPlainClients(t *testing.T) {
	s, addr := startTCP(t)
	c := loopTestClient(t, addr)
	id := clientID(t, c)
	if !inLoop(s, id) {
		t.Fatal("a plain TCP client is not served by the event loop")
	}
	// A pipeline split mid-command across writes.
	if _, err := c.conn.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.conn.Write([]byte("1\r\nGET k\r\nINCR n\r\n")); err != nil {
		t.Fatal(err)
	}
	expectReply(t, "set", c.read(20*time.Second), "OK")
	expectReply(t, "get", c.read(20*time.Second), `"v1"`)
	expectReply(t, "incr", c.read(20*time.Second), "(integer) 1")
	if !inLoop(s, id) {
		t.Fatal("plain commands handed the client over")
	}
	info := c.do("INFO", "stats")
	for _, field := range []string{"total_reads_processed:", "total_net_input_bytes:", "total_net_output_bytes:"} {
		i := strings.Index(info, field)
		if i < 0 || strings.HasPrefix(info[i+len(field):], "0") {
			t.Errorf("INFO stats %s not counted by the loop: %q", field, info)
		}
	}
}

func TestLoopHandsOverABlockedCommandMidPipeline(t *testing.T) {
	s, addr := startTCP(t)
	c, admin := loopTestClient(t, addr), loopTestClient(t, addr)
	id := clientID(t, c)
	// One write: the commands after BLPOP wait for it, and so does input
	// sent while it is blocked.
	c.send([]string{"SET", "k", "v"}, []string{"BLPOP", "l", "0"}, []string{"GET", "k"}, []string{"PING"})
	expectReply(t, "set", c.read(20*time.Second), "OK")
	waitBlocked(t, admin, 1)
	if inLoop(s, id) {
		t.Fatal("a blocked client stayed in the event loop")
	}
	c.send([]string{"ECHO", "after"})
	expectReply(t, "push", admin.do("RPUSH", "l", "x"), "(integer) 1")
	expectReply(t, "blpop", c.read(20*time.Second), `["l", "x"]`)
	expectReply(t, "get", c.read(20*time.Second), `"v"`)
	expectReply(t, "ping", c.read(20*time.Second), "PONG")
	expectReply(t, "echo", c.read(20*time.Second), `"after"`)
	// The handed-over client keeps working; the loop keeps the others.
	expectReply(t, "again", c.do("GET", "k"), `"v"`)
	if !inLoop(s, clientID(t, admin)) {
		t.Fatal("the other client left the loop")
	}
}

func TestLoopHandsOverUnderClientPause(t *testing.T) {
	s, addr := startTCP(t)
	c, admin := loopTestClient(t, addr), loopTestClient(t, addr)
	id := clientID(t, c)
	expectReply(t, "set", c.do("SET", "k", "1"), "OK")
	expectReply(t, "pause", admin.do("CLIENT", "PAUSE", "100000", "WRITE"), "OK")
	// A read runs, the write is held (it counts as blocked), the read
	// after it waits for it.
	c.send([]string{"GET", "k"}, []string{"SET", "k", "2"}, []string{"GET", "k"})
	expectReply(t, "get before", c.read(20*time.Second), `"1"`)
	waitBlocked(t, admin, 1)
	if inLoop(s, id) {
		t.Fatal("a client held by CLIENT PAUSE stayed in the event loop")
	}
	expectReply(t, "unpause", admin.do("CLIENT", "UNPAUSE"), "OK")
	expectReply(t, "held set", c.read(20*time.Second), "OK")
	expectReply(t, "get after", c.read(20*time.Second), `"2"`)
}

func TestLoopHandsOverAPartialWriteToAClientThatDoesNotRead(t *testing.T) {
	s, addr := startTCP(t)
	slow, other := loopTestClient(t, addr), loopTestClient(t, addr)
	id := clientID(t, slow)
	big := strings.Repeat("x", 4<<20)
	expectReply(t, "set", slow.do("SET", "big", big), "OK")
	// 16 replies of 4 MiB, more than the socket buffers hold: the loop's
	// write stops short and the reader goroutine must send the rest.
	const n = 16
	var cmds [][]string
	for i := 0; i < n; i++ {
		cmds = append(cmds, []string{"GET", "big"})
	}
	cmds = append(cmds, []string{"PING"})
	slow.send(cmds...)
	eventually(t, "the slow client handed over", func() bool { return !inLoop(s, id) })
	// The loop is not stuck behind it.
	expectReply(t, "other", other.do("PING"), "PONG")
	if !inLoop(s, clientID(t, other)) {
		t.Fatal("the other client left the loop")
	}
	want := "$" + strconv.Itoa(len(big)) + "\r\n" + big + "\r\n"
	for i := 0; i < n; i++ {
		got := readExactly(t, slow, len(want))
		if got != want {
			t.Fatalf("reply %d of %d: %d bytes, not the value in order", i+1, n, len(got))
		}
	}
	expectReply(t, "ping after", slow.read(20*time.Second), "PONG")
}

// readExactly reads n bytes of raw reply.
func readExactly(t *testing.T, c *tcpClient, n int) string {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for len(c.buf) < n {
		chunk := make([]byte, 1<<20)
		k, err := c.conn.Read(chunk)
		c.buf = append(c.buf, chunk[:k]...)
		if err != nil {
			t.Fatal(err)
		}
	}
	out := string(c.buf[:n])
	c.buf = c.buf[n:]
	return out
}

func TestLoopClientKilledIsFreed(t *testing.T) {
	s, addr := startTCP(t)
	victim, admin := loopTestClient(t, addr), loopTestClient(t, addr)
	id := clientID(t, victim)
	if !inLoop(s, id) {
		t.Fatal("not in the loop")
	}
	expectReply(t, "kill", admin.do("CLIENT", "KILL", "ID", strconv.FormatUint(id, 10)), "(integer) 1")
	// The peer sees the connection end, and the client is gone from
	// CLIENT LIST and from the loop.
	_ = victim.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := victim.conn.Read(make([]byte, 16)); err == nil {
		t.Fatalf("killed connection still open (read %d bytes)", n)
	}
	eventually(t, "killed client gone", func() bool {
		return !strings.Contains(admin.do("CLIENT", "LIST"), "id="+strconv.FormatUint(id, 10)+" ")
	})
	if inLoop(s, id) {
		t.Fatal("killed client still in the loop")
	}
	// A client whose peer goes away is freed too.
	gone := loopTestClient(t, addr)
	goneID := clientID(t, gone)
	gone.conn.Close()
	eventually(t, "closed client freed", func() bool { return !inLoop(s, goneID) })
	expectReply(t, "clients", strconv.Itoa(strings.Count(admin.do("CLIENT", "LIST"), "id=")), "1")
}

func TestLoopClientKilledWithPipelinedInput(t *testing.T) {
	s, addr := startTCP(t)
	c, admin := loopTestClient(t, addr), loopTestClient(t, addr)
	id := clientID(t, c)
	// It kills itself mid-pipeline: nothing after the kill runs.
	c.send([]string{"SET", "a", "1"}, []string{"CLIENT", "KILL", "ID", strconv.FormatUint(id, 10), "SKIPME", "no"}, []string{"SET", "b", "1"})
	// Its replies up to the kill are sent, then the connection ends.
	expectReply(t, "set a", c.read(20*time.Second), "OK")
	expectReply(t, "kill", c.read(20*time.Second), "(integer) 1")
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.conn.Read(make([]byte, 16)); err == nil {
		t.Fatalf("self-killed connection still open (read %d bytes)", n)
	}
	eventually(t, "self-killed client freed", func() bool { return !inLoop(s, id) })
	eventually(t, "gone from CLIENT LIST", func() bool {
		return !strings.Contains(admin.do("CLIENT", "LIST"), "id="+strconv.FormatUint(id, 10)+" ")
	})
	expectReply(t, "a", admin.do("EXISTS", "a"), "(integer) 1")
	expectReply(t, "b", admin.do("EXISTS", "b"), "(integer) 0")
}

func TestLoopClientGetsPushesFromOthers(t *testing.T) {
	_, addr := startTCP(t)
	reader, writer := loopTestClient(t, addr), loopTestClient(t, addr)
	reader.do("HELLO", "3")
	expectReply(t, "tracking", reader.do("CLIENT", "TRACKING", "ON"), "OK")
	reader.do("GET", "k")
	expectReply(t, "set", writer.do("SET", "k", "1"), "OK")
	// The invalidation arrives without the reader sending anything.
	expectReply(t, "invalidate", reader.read(20*time.Second), `>["invalidate", ["k"]]`)
}

func TestLoopHandsOverScriptsAndMonitorsNotSubscribers(t *testing.T) {
	s, addr := startTCP(t)
	sc, sub, pub := loopTestClient(t, addr), loopTestClient(t, addr), loopTestClient(t, addr)
	scID, subID := clientID(t, sc), clientID(t, sub)
	expectReply(t, "eval", sc.do("EVAL", "return 1", "0"), "(integer) 1")
	if inLoop(s, scID) {
		t.Fatal("a script ran on the event loop")
	}
	// A subscriber stays in the loop; messages reach it through its
	// flusher, and an UNSUBSCRIBE it sent before another client's PUBLISH
	// runs first (no reply is awaited in between).
	sub.send([]string{"SUBSCRIBE", "ch"})
	expectReply(t, "subscribe", sub.read(20*time.Second), `["subscribe", "ch", (integer) 1]`)
	if !inLoop(s, subID) {
		t.Fatal("a subscriber left the event loop")
	}
	expectReply(t, "publish", pub.do("PUBLISH", "ch", "hi"), "(integer) 1")
	expectReply(t, "message", sub.read(20*time.Second), `["message", "ch", "hi"]`)
	sub.send([]string{"UNSUBSCRIBE"})
	eventually(t, "the unsubscribe ran", func() bool { return strings.Contains(pub.do("CLIENT", "LIST"), "sub=0") })
	expectReply(t, "publish after", pub.do("PUBLISH", "ch", "hi"), "(integer) 0")
	// MONITOR hands the client over.
	mon := loopTestClient(t, addr)
	monID := clientID(t, mon)
	expectReply(t, "monitor", mon.do("MONITOR"), "OK")
	if inLoop(s, monID) {
		t.Fatal("a monitor stayed in the event loop")
	}
	pub.do("SET", "watched", "1")
	if got := mon.read(20 * time.Second); !strings.Contains(got, `"SET" "watched" "1"`) {
		t.Fatalf("monitor got %q", got)
	}
}

// loopSize is how many clients the event loop serves.
func loopSize(s *Server) int {
	s.listenMu.Lock()
	l := s.loop
	s.listenMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

func TestLoopServesUnixSocketsButNeverTLS(t *testing.T) {
	// A unix socket client is a plain socket: the loop serves it.
	path := filepath.Join(t.TempDir(), "replnode.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	if err := cfg.LoadString(`save ""`); err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	s.ListenOn(l)
	go func() { _ = s.Serve() }()
	t.Cleanup(s.Close)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	uc := &tcpClient{t: t, conn: conn}
	if id := clientID(t, uc); !inLoop(s, id) {
		t.Fatal("a unix socket client is not served by the event loop")
	}
	expectReply(t, "unix set", uc.do("SET", "k", "v"), "OK")

	// A TLS client keeps its reader goroutine.
	ca := testpki.NewCA(t, "ca")
	n := startTLSNode(t, ca)
	app := ca.Issue(t, "app")
	c, err := dialTLS(t, n.port, ca, &app)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.do(t, "SET", "k", "v"); got != "+OK" {
		t.Fatalf("TLS SET: %q", got)
	}
	if k := loopSize(n.s); k != 0 {
		t.Fatalf("the event loop serves %d clients of a TLS-only node", k)
	}
}

// TestLoopUnderMixedLoadLosesNothing drives many clients at once through
// the loop and its hand-overs — pipelined and single commands, blocking
// pops that time out or are served, scripts, and CLIENT PAUSE cycling
// underneath — and checks that every client gets every reply, in order.
func TestLoopUnderMixedLoadLosesNothing(t *testing.T) {
	_, addr := startTCP(t)
	const clients, rounds = 16, 150
	stopPausing := make(chan struct{})
	pauserDone := make(chan struct{})
	go func() {
		defer close(pauserDone)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer conn.Close()
		p := &tcpClient{t: t, conn: conn}
		for {
			select {
			case <-stopPausing:
				return
			case <-time.After(20 * time.Millisecond):
			}
			p.send([]string{"CLIENT", "PAUSE", "5", "WRITE"})
			if p.read(20*time.Second) != "OK" {
				return
			}
		}
	}()
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func(i int) {
			errs <- mixedClient(addr, i, rounds)
		}(i)
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(stopPausing)
	<-pauserDone
}

// mixedClient runs one client of TestLoopUnderMixedLoadLosesNothing: its
// own counter must count every INCR it sent, and each reply must be the
// one its command asked for.
func mixedClient(addr string, i, rounds int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := &tcpClient{t: nil, conn: conn}
	key := "counter:" + strconv.Itoa(i)
	list := "list:" + strconv.Itoa(i)
	n := 0
	expect := func(what, want string) error {
		got, err := readReply(c, 30*time.Second)
		if err != nil {
			return fmt.Errorf("client %d %s: %v", i, what, err)
		}
		if got != want {
			return fmt.Errorf("client %d %s: got %q want %q", i, what, got, want)
		}
		return nil
	}
	for r := 0; r < rounds; r++ {
		var cmds [][]string
		var wants []string
		pipe := 1 + (r*7+i)%5
		for k := 0; k < pipe; k++ {
			n++
			cmds = append(cmds, []string{"INCR", key})
			wants = append(wants, "(integer) "+strconv.Itoa(n))
		}
		switch (r + i) % 4 {
		case 0: // blocks, then times out: a hand-over mid-pipeline
			cmds = append(cmds, []string{"BLPOP", list, "0.01"}, []string{"GET", key})
			wants = append(wants, "(nil)", `"`+strconv.Itoa(n)+`"`)
		case 1: // served at once
			cmds = append(cmds, []string{"RPUSH", list, "x"}, []string{"BLPOP", list, "0"})
			wants = append(wants, "(integer) 1", `["`+list+`", "x"]`)
		case 2:
			cmds = append(cmds, []string{"EVAL", "return redis.call('GET', KEYS[1])", "1", key})
			wants = append(wants, `"`+strconv.Itoa(n)+`"`)
		}
		var out []byte
		for _, a := range cmds {
			out = resp.AppendCommandStrings(out, a...)
		}
		if _, err := conn.Write(out); err != nil {
			return err
		}
		for k, want := range wants {
			if err := expect(strings.Join(cmds[k], " "), want); err != nil {
				return err
			}
		}
	}
	return nil
}

// readReply is tcpClient.read without a testing.T (for goroutines).
func readReply(c *tcpClient, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for {
		if len(c.buf) > 0 {
			r, n, err := resp.ReadReply(c.buf)
			if err == nil {
				c.buf = c.buf[n:]
				return r.String(), nil
			}
		}
		_ = c.conn.SetReadDeadline(deadline)
		chunk := make([]byte, 4096)
		n, err := c.conn.Read(chunk)
		c.buf = append(c.buf, chunk[:n]...)
		if err != nil {
			return "", err
		}
	}
}
