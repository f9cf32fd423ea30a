package server

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Adversarial review of the event loop (p17e).

// Finding check: an unauthenticated client pipelining AUTH and commands in
// one write must get every reply (one command per batch, no new readable
// event for the rest).
func TestLoopAuthPipelinedInOneWrite(t *testing.T) {
	s, addr := startTCP(t, "requirepass pw")
	c := loopTestClient(t, addr)
	c.send([]string{"AUTH", "pw"}, []string{"PING"}, []string{"SET", "k", "v"}, []string{"GET", "k"})
	expectReply(t, "auth", c.read(5*time.Second), "OK")
	expectReply(t, "ping", c.read(5*time.Second), "PONG")
	expectReply(t, "set", c.read(5*time.Second), "OK")
	expectReply(t, "get", c.read(5*time.Second), `"v"`)
	if !inLoop(s, clientID(t, c)) {
		t.Fatal("left the loop")
	}
}

// Finding: after SHUTDOWN (with its final save) ran in a round of the
// event loop, the commands of the other clients of the same round still
// run and are acknowledged, though they are not in the save. redis-server
// exits inside the SHUTDOWN call: nothing after it runs.
func TestLoopNoWriteAckedAfterShutdownSave(t *testing.T) {
	s, addr := startTCP(t, "enable-debug-command yes")
	after := countCommandsAfterShutdownSave(s)
	busy, a, b := loopTestClient(t, addr), loopTestClient(t, addr), loopTestClient(t, addr)
	for _, c := range []*tcpClient{busy, a, b} {
		expectReply(t, "ping", c.do("PING"), "PONG")
	}
	// busy holds the loop's round; a and b become ready meanwhile and are
	// served in the next round, a first.
	busy.send([]string{"DEBUG", "SLEEP", "0.3"})
	time.Sleep(50 * time.Millisecond)
	a.send([]string{"SHUTDOWN", "SAVE"})
	time.Sleep(20 * time.Millisecond)
	b.send([]string{"SET", "after", "1"})
	r, _ := readReply(b, 5*time.Second)
	if r == "OK" || after.Load() > 1 {
		t.Fatalf("SET acknowledged (%q) after SHUTDOWN's final save: an acknowledged write is lost", r)
	}
}

// countCommandsAfterShutdownSave counts the commands that end after
// SHUTDOWN's final save (SHUTDOWN's own included); the save itself is
// stubbed out.
func countCommandsAfterShutdownSave(s *Server) *atomic.Int32 {
	var saved atomic.Bool
	after := new(atomic.Int32)
	s.Exec(func() {
		s.ShutdownHook = func(save bool) error { saved.Store(true); return nil }
		s.OnAfterCommand(func() {
			if saved.Load() {
				after.Add(1)
			}
		})
	})
	return after
}

// Same, one client: commands pipelined after SHUTDOWN run and are
// acknowledged after the save (pre-existing on the goroutine path too).
func TestLoopNoPipelinedWriteAfterShutdownSave(t *testing.T) {
	s, addr := startTCP(t)
	after := countCommandsAfterShutdownSave(s)
	a := loopTestClient(t, addr)
	a.send([]string{"SHUTDOWN", "SAVE"}, []string{"SET", "after", "1"})
	r, _ := readReply(a, 5*time.Second)
	if r != "" || after.Load() > 1 {
		t.Fatalf("a command pipelined after SHUTDOWN ran after the final save (reply %q)", r)
	}
}

// A subscriber that stops reading while big messages are published keeps
// getting them all, in order, with its own PINGs answered in between.
func TestLoopSubscriberPushesAndRepliesInOrder(t *testing.T) {
	_, addr := startTCP(t)
	sub, pub := loopTestClient(t, addr), loopTestClient(t, addr)
	expectReply(t, "sub", sub.do("SUBSCRIBE", "ch"), `["subscribe", "ch", (integer) 1]`)
	big := strings.Repeat("x", 32*1024)
	const n = 200
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			pub.send([]string{"PUBLISH", "ch", fmt.Sprintf("%d:%s", i, big)})
			if _, err := readReply(pub, 10*time.Second); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 20; i++ {
		sub.send([]string{"PING", fmt.Sprint("p", i)})
		time.Sleep(2 * time.Millisecond)
	}
	next, pongs := 0, 0
	for next < n || pongs < 20 {
		r, err := readReply(sub, 10*time.Second)
		if err != nil {
			t.Fatalf("after %d messages, %d pongs: %v", next, pongs, err)
		}
		switch {
		case strings.HasPrefix(r, `["message", "ch", "`):
			want := fmt.Sprintf(`["message", "ch", "%d:`, next)
			if !strings.HasPrefix(r, want) {
				t.Fatalf("message out of order: want %d, got %.40s", next, r)
			}
			next++
		case strings.HasPrefix(r, `["pong", "p`):
			want := fmt.Sprintf(`["pong", "p%d"]`, pongs)
			if r != want {
				t.Fatalf("pong out of order: want %s got %s", want, r)
			}
			pongs++
		default:
			t.Fatalf("unexpected %.80s", r)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Clients through every kind of hand-over, then gone: no goroutine stays
// behind (flushers, readers, held reads); Close then ends Serve.
func TestLoopNoGoroutineLeft(t *testing.T) {
	s, addr, served := startTCPServing(t)
	warm := loopTestClient(t, addr)
	expectReply(t, "ping", warm.do("PING"), "PONG")
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	big := strings.Repeat("v", 1<<20)
	expectReply(t, "big", warm.do("SET", "big", big), "OK")
	for round := 0; round < 3; round++ {
		var cs []*tcpClient
		for i := 0; i < 10; i++ {
			c := loopTestClient(t, addr)
			cs = append(cs, c)
			switch i % 5 {
			case 0:
				expectReply(t, "ping", c.do("PING"), "PONG")
			case 1:
				c.send([]string{"BLPOP", "nolist", "0.01"}, []string{"PING"})
				expectReply(t, "blpop", c.read(5*time.Second), "(nil)")
				expectReply(t, "ping", c.read(5*time.Second), "PONG")
			case 2:
				expectReply(t, "sub", c.do("SUBSCRIBE", "x"), `["subscribe", "x", (integer) 1]`)
			case 3:
				expectReply(t, "eval", c.do("EVAL", "return 1", "0"), "(integer) 1")
			case 4:
				// Replies it never reads: a partial write.
				for j := 0; j < 8; j++ {
					c.send([]string{"GET", "big"})
				}
			}
		}
		for _, c := range cs {
			c.conn.Close()
		}
	}
	eventually(t, "clients freed", func() bool {
		return strings.Count(warm.do("CLIENT", "LIST"), "id=") == 1
	})
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines, %d before the clients\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
	// A client stuck on a partial write and one blocked stay at Close.
	stuck, blocked := loopTestClient(t, addr), loopTestClient(t, addr)
	for j := 0; j < 8; j++ {
		stuck.send([]string{"GET", "big"})
	}
	blocked.send([]string{"BLPOP", "nolist", "0"})
	time.Sleep(100 * time.Millisecond)
	s.Close()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Serve did not return after Close\n%s", buf[:runtime.Stack(buf, true)])
	}
}

// An idle loop client is closed by timeout (Kill shuts the socket down;
// the loop must notice without input from the peer).
func TestLoopIdleTimeoutClosesLoopClient(t *testing.T) {
	s, addr := startTCP(t, "timeout 1")
	c := loopTestClient(t, addr)
	id := clientID(t, c)
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if n, err := c.conn.Read(make([]byte, 16)); err == nil {
		t.Fatalf("read %d bytes", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle client not closed by timeout")
	}
	eventually(t, "freed", func() bool { return !inLoop(s, id) })
	t.Logf("closed after %v", time.Since(start))
}

// One client pipelining without pause does not starve another: the
// other's round trips stay short.
func TestLoopPipeliningClientDoesNotStarveOthers(t *testing.T) {
	_, addr := startTCP(t)
	hog, other := loopTestClient(t, addr), loopTestClient(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	var chunk []byte
	for i := 0; i < 2000; i++ {
		chunk = append(chunk, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"...)
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := hog.conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	go func() {
		b := make([]byte, 1<<16)
		for {
			if _, err := hog.conn.Read(b); err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	var worst time.Duration
	for i := 0; i < 100; i++ {
		t0 := time.Now()
		expectReply(t, "ping", other.do("PING"), "PONG")
		if d := time.Since(t0); d > worst {
			worst = d
		}
	}
	t.Logf("worst PING round trip under a pipelining client: %v", worst)
	if worst > 200*time.Millisecond {
		t.Fatalf("worst PING round trip %v", worst)
	}
}

// A RESP3 subscriber reading a key that a publisher sets and publishes in
// one transaction: a GET reply with value v must come after message v
// (pushes and replies on one connection stay in executor order).
func TestLoopPushesNeverOvertakeReplies(t *testing.T) {
	t.Run("small", func(t *testing.T) { pushesNeverOvertakeReplies(t, 2000, 0) })
	// The subscriber stops reading a while: partial writes, hand-over.
	t.Run("stalled", func(t *testing.T) { pushesNeverOvertakeReplies(t, 32*1024, 300*time.Millisecond) })
}

func pushesNeverOvertakeReplies(t *testing.T, padLen int, stall time.Duration) {
	s, addr := startTCP(t, "client-output-buffer-limit pubsub 0 0 0")
	x, y := loopTestClient(t, addr), loopTestClient(t, addr)
	xid := clientID(t, x)
	if r := x.do("HELLO", "3"); !strings.Contains(r, "proto") {
		t.Fatalf("hello: %s", r)
	}
	x.send([]string{"SUBSCRIBE", "ch"})
	if r := x.read(5 * time.Second); !strings.Contains(r, "subscribe") {
		t.Fatalf("subscribe: %s", r)
	}
	const n = 3000
	pad := strings.Repeat("p", padLen)
	go func() {
		for i := 1; i <= n; i++ {
			y.send([]string{"MULTI"}, []string{"SET", "k", fmt.Sprint(i)}, []string{"PUBLISH", "ch", fmt.Sprintf("%d:%s", i, pad)}, []string{"EXEC"})
			for j := 0; j < 4; j++ {
				if _, err := readReply(y, 10*time.Second); err != nil {
					return
				}
			}
		}
	}()
	stopGets := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopGets:
				return
			default:
			}
			var out []byte
			for j := 0; j < 20; j++ {
				out = append(out, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"...)
			}
			if _, err := x.conn.Write(out); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	defer close(stopGets)
	lastMsg, gets := 0, 0
	defer func() { t.Logf("%d messages, %d GET replies checked", lastMsg, gets) }()
	for lastMsg < n {
		if lastMsg == 100 && stall > 0 {
			time.Sleep(stall)
			stall = 0
			t.Logf("in the loop after the stall: %v", inLoop(s, xid))
		}
		r, err := readReply(x, 10*time.Second)
		if err != nil {
			t.Fatalf("after message %d: %v", lastMsg, err)
		}
		switch {
		case strings.Contains(r, `"message"`):
			i := strings.Index(r, `"ch", "`)
			var v int
			fmt.Sscanf(r[i+7:], "%d:", &v)
			if v != lastMsg+1 {
				t.Fatalf("message %d after %d", v, lastMsg)
			}
			lastMsg = v
		case r == "(nil)":
		default:
			var v int
			if _, err := fmt.Sscanf(strings.Trim(r, `"`), "%d", &v); err != nil {
				t.Fatalf("unexpected %.80s", r)
			}
			gets++
			if v > lastMsg {
				t.Fatalf("GET replied %d before message %d arrived (last message %d)", v, v, lastMsg)
			}
		}
	}
}

// Clients pipelining while an admin kills them at random, with CLIENT
// PAUSE and blocking pops mixed in: no panic, the survivors get every
// reply in order, and Close then ends Serve with no goroutine left.
func TestLoopKillStorm(t *testing.T) {
	s, addr, served := startTCPServing(t)
	admin := loopTestClient(t, addr)
	expectReply(t, "ping", admin.do("PING"), "PONG")
	base := runtime.NumGoroutine()
	const workers = 12
	errs := make(chan error, workers)
	stop := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			for round := 0; ; round++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				c := &tcpClient{t: t, conn: conn}
				key := fmt.Sprintf("w%d", w)
				var out []byte
				var want []string
				for i := 0; i < 50; i++ {
					switch i % 10 {
					case 3:
						out = append(out, fmt.Sprintf("*3\r\n$5\r\nBLPOP\r\n$%d\r\nl%s\r\n$4\r\n0.01\r\n", len(key)+1, key)...)
						want = append(want, "(nil)")
					case 7:
						out = append(out, "*4\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n$1\r\n5\r\n$5\r\nWRITE\r\n"...)
						want = append(want, "OK")
					default:
						out = append(out, fmt.Sprintf("*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n", len(key), key)...)
						want = append(want, "int")
					}
				}
				if _, err := conn.Write(out); err != nil {
					conn.Close()
					continue
				}
				last := int64(-1)
				for _, wt := range want {
					r, err := readReply(c, 10*time.Second)
					if err != nil {
						break // killed
					}
					if wt == "int" {
						var v int64
						if _, err := fmt.Sscanf(r, "(integer) %d", &v); err != nil || v <= last {
							errs <- fmt.Errorf("worker %d: INCR reply %q after %d", w, r, last)
							return
						}
						last = v
					} else if r != wt {
						errs <- fmt.Errorf("worker %d: want %s got %q", w, wt, r)
						return
					}
				}
				conn.Close()
			}
		}(w)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		list := admin.do("CLIENT", "LIST")
		for _, line := range strings.Split(list, "\n") {
			if i := strings.Index(line, "id="); i >= 0 && !strings.Contains(line, "cmd=client|list") && time.Now().UnixNano()%3 == 0 {
				id := strings.Fields(line[i+3:])[0]
				admin.do("CLIENT", "KILL", "ID", id)
			}
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	expectReply(t, "alive", admin.do("PING"), "PONG")
	eventually(t, "clients freed", func() bool {
		return strings.Count(admin.do("CLIENT", "LIST"), "id=") == 1
	})
	time.Sleep(200 * time.Millisecond)
	if n := runtime.NumGoroutine(); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines, %d before\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
	s.Close()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}
