package server

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
)

// testBlocked is the client parked by TESTBLOCK, for the tests below.
var testBlocked = make(chan *Client, 4)

func init() {
	register(&Command{Name: "testblock", Arity: 1, Flags: FlagNoScript, Group: "server", Handler: func(ctx *Ctx) {
		ctx.C.Block()
		testBlocked <- ctx.C
	}})
}

// startTCP runs a server on a loopback port for connection-level tests.
func startTCP(t *testing.T, directives ...string) (*Server, string) {
	t.Helper()
	s, addr, _ := startTCPServing(t, directives...)
	t.Cleanup(s.Close)
	return s, addr
}

// startTCPServing is startTCP for tests that close the server themselves
// and check how Serve ends: its result arrives on the channel.
func startTCPServing(t *testing.T, directives ...string) (*Server, string, <-chan error) {
	t.Helper()
	cfg := config.Default()
	if err := cfg.LoadString(strings.Join(append([]string{`save ""`}, directives...), "\n")); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	s.ListenOn(l)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	return s, l.Addr().String(), served
}

func dialRaw(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c, bufio.NewReader(c)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(l, "\r\n")
}

func TestBlockedClientKeepsPipelineOrder(t *testing.T) {
	s, addr := startTCP(t)
	conn, rd := dialRaw(t, addr)
	if _, err := conn.Write([]byte("TESTBLOCK\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	c := <-testBlocked
	// Sent while blocked: parsed only after the unblock.
	if _, err := conn.Write([]byte("ECHO after\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	s.Exec(func() {
		c.Writer().SimpleString("UNBLOCKED")
		c.Unblock()
	})
	for _, want := range []string{"+UNBLOCKED", "+PONG", "$5", "after"} {
		if got := readLine(t, rd); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

func TestPubSubOverTCPAndQuit(t *testing.T) {
	_, addr := startTCP(t)
	sub, srd := dialRaw(t, addr)
	pub, prd := dialRaw(t, addr)
	_, _ = sub.Write([]byte("SUBSCRIBE news\r\n"))
	for _, want := range []string{"*3", "$9", "subscribe", "$4", "news", ":1"} {
		if got := readLine(t, srd); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
	_, _ = pub.Write([]byte("PUBLISH news hi\r\nQUIT\r\n"))
	if got := readLine(t, prd); got != ":1" {
		t.Fatalf("PUBLISH: %q", got)
	}
	if got := readLine(t, prd); got != "+OK" {
		t.Fatalf("QUIT: %q", got)
	}
	if _, err := prd.ReadString('\n'); err == nil {
		t.Fatal("connection still open after QUIT")
	}
	for _, want := range []string{"*3", "$7", "message", "$4", "news", "$2", "hi"} {
		if got := readLine(t, srd); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

func TestMaxClientsAndProtocolErrorClose(t *testing.T) {
	_, addr := startTCP(t, "maxclients 1")
	a, ard := dialRaw(t, addr)
	_, _ = a.Write([]byte("PING\r\n"))
	if got := readLine(t, ard); got != "+PONG" {
		t.Fatal(got)
	}
	_, brd := dialRaw(t, addr)
	if got := readLine(t, brd); got != "-ERR max number of clients reached" {
		t.Fatalf("second client: %q", got)
	}
	_, _ = a.Write([]byte("PING\r\n*1\r\n:x\r\n"))
	if got := readLine(t, ard); got != "+PONG" {
		t.Fatal(got)
	}
	if got := readLine(t, ard); got != "-ERR Protocol error: expected '$', got ':'" {
		t.Fatal(got)
	}
	if _, err := ard.ReadString('\n'); err == nil {
		t.Fatal("connection still open after a protocol error")
	}
}

// TestSlowPubSubConsumerIsDisconnected fills a subscriber that never reads
// past the pubsub hard limit: the server closes it instead of buffering
// without bound.
func TestSlowPubSubConsumerIsDisconnected(t *testing.T) {
	s, addr := startTCP(t, "client-output-buffer-limit pubsub 256kb 0 0")
	sub, srd := dialRaw(t, addr)
	_, _ = sub.Write([]byte("SUBSCRIBE flood\r\n"))
	for i := 0; i < 6; i++ {
		readLine(t, srd)
	}
	// The subscriber stops reading; publish until it is dropped.
	payload := strings.Repeat("x", 64*1024)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var subs int
		s.Exec(func() {
			subs = len(s.pubsub.channels["flood"])
			for i := 0; i < 16; i++ {
				s.Publish([]byte("flood"), []byte(payload))
			}
		})
		if subs == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("slow subscriber never disconnected")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleTimeoutClosesClient checks the timeout directive closes an idle
// normal client, and spares a subscriber.
func TestIdleTimeoutClosesClient(t *testing.T) {
	_, addr := startTCP(t, "timeout 1")
	idle, ird := dialRaw(t, addr)
	sub, srd := dialRaw(t, addr)
	_, _ = idle.Write([]byte("PING\r\n"))
	readLine(t, ird)
	_, _ = sub.Write([]byte("SUBSCRIBE c\r\n"))
	for i := 0; i < 6; i++ {
		readLine(t, srd)
	}
	if _, err := ird.ReadString('\n'); err == nil {
		t.Fatal("idle client got data instead of being closed")
	}
	_, _ = sub.Write([]byte("PING\r\n"))
	if got := readLine(t, srd); got != "*2" {
		t.Fatalf("subscriber closed by timeout: %q", got)
	}
}

// TestClientPauseWrite holds writes, not reads, until the pause ends.
func TestClientPauseWrite(t *testing.T) {
	_, addr := startTCP(t)
	admin, ard := dialRaw(t, addr)
	w, wrd := dialRaw(t, addr)
	_, _ = admin.Write([]byte("CLIENT PAUSE 400 WRITE\r\n"))
	if got := readLine(t, ard); got != "+OK" {
		t.Fatal(got)
	}
	start := time.Now()
	_, _ = w.Write([]byte("GET k\r\n"))
	if got := readLine(t, wrd); got != "$-1" {
		t.Fatal(got)
	}
	if time.Since(start) > 300*time.Millisecond {
		t.Log("read was slow under load; not asserting its latency")
	}
	_, _ = w.Write([]byte("SET k v\r\n"))
	if got := readLine(t, wrd); got != "+OK" {
		t.Fatal(got)
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Fatalf("write ran during the pause (after %v)", d)
	}
}
