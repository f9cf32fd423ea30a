package server

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Adversarial review of the event loop (p17e).

// Finding check: an unauthenticated client pipelining AUTH and commands in
// one write must get every reply (one command per batch, no new readable
// event for the rest).
func TestRvLoopAuthPipelinedInOneWrite(t *testing.T) {
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
func TestRvLoopNoWriteAckedAfterShutdownSave(t *testing.T) {
	s, addr := startTCP(t, "enable-debug-command yes")
	var saved atomic.Bool
	var after atomic.Int32 // commands ended after the save, SHUTDOWN's own included
	s.Exec(func() {
		s.ShutdownHook = func(save bool) error { saved.Store(true); return nil }
		s.OnAfterCommand(func() {
			if saved.Load() {
				after.Add(1)
			}
		})
	})
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

// Same, one client: commands pipelined after SHUTDOWN run and are
// acknowledged after the save (pre-existing on the goroutine path too).
func TestRvLoopNoPipelinedWriteAfterShutdownSave(t *testing.T) {
	s, addr := startTCP(t)
	var saved atomic.Bool
	var after atomic.Int32 // commands ended after the save, SHUTDOWN's own included
	s.Exec(func() {
		s.ShutdownHook = func(save bool) error { saved.Store(true); return nil }
		s.OnAfterCommand(func() {
			if saved.Load() {
				after.Add(1)
			}
		})
	})
	a := loopTestClient(t, addr)
	a.send([]string{"SHUTDOWN", "SAVE"}, []string{"SET", "after", "1"})
	r, _ := readReply(a, 5*time.Second)
	if r != "" || after.Load() > 1 {
		t.Fatalf("a command pipelined after SHUTDOWN ran after the final save (reply %q)", r)
	}
}

// A subscriber that stops reading while big messages are published keeps
// getting them all, in order, with its own PINGs answered in between.
func TestRvLoopSubscriberPushesAndRepliesInOrder(t *testing.T) {
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
