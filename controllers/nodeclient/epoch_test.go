package nodeclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// epochServer is a RESP server on loopback that models replnode's epoch
// fencing (replnode/fencing): REPLNODE EPOCH <n> is refused below the
// node's epoch and otherwise raises it and becomes the connection's; the
// fenced commands are refused with -STALEEPOCH once the node's epoch is
// above the connection's. With noEpochs it answers REPLNODE as redis-server
// 7.0 does. It records every connection's commands.
type epochServer struct {
	addr     string
	noEpochs bool
	// afterAnnounce, when set, runs after a successful REPLNODE EPOCH (to
	// model another operator raising the epoch in between).
	afterAnnounce func(s *epochServer)

	mu    sync.Mutex
	epoch int64
	conns [][]string
}

// startEpochServer listens on a free loopback port until the test ends.
func startEpochServer(t *testing.T, epoch int64, noEpochs bool) *epochServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &epochServer{addr: l.Addr().String(), epoch: epoch, noEpochs: noEpochs}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

// serve answers one connection.
func (s *epochServer) serve(c net.Conn) {
	defer c.Close()
	s.mu.Lock()
	s.conns = append(s.conns, nil)
	id := len(s.conns) - 1
	s.mu.Unlock()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	var connEpoch int64
	connSet := false
	for {
		v, err := readReply(r)
		if err != nil {
			return
		}
		var args []string
		for _, a := range v.([]any) {
			args = append(args, a.(string))
		}
		cmd := strings.ToUpper(strings.Join(commandName(args), " "))
		s.mu.Lock()
		s.conns[id] = append(s.conns[id], strings.Join(args, " "))
		var reply string
		switch {
		case cmd == "REPLNODE" && s.noEpochs:
			reply = fmt.Sprintf("-ERR unknown command '%s', with args beginning with: '%s' \r\n", args[0], strings.Join(args[1:], "' '"))
		case cmd == "REPLNODE EPOCH" && len(args) == 2:
			reply = fmt.Sprintf(":%d\r\n", s.epoch)
		case cmd == "REPLNODE EPOCH":
			n, _ := strconv.ParseInt(args[2], 10, 64)
			if n < s.epoch {
				reply = fmt.Sprintf("-STALEEPOCH failover epoch %d is older than this node's %d\r\n", n, s.epoch)
				break
			}
			s.epoch, connEpoch, connSet = n, n, true
			reply = "+OK\r\n"
			if s.afterAnnounce != nil {
				s.afterAnnounce(s)
			}
		case connSet && connEpoch < s.epoch && (cmd == "REPLICAOF" || cmd == "CONFIG SET" || strings.HasPrefix(cmd, "CLIENT")):
			reply = fmt.Sprintf("-STALEEPOCH failover epoch %d is older than this node's %d\r\n", connEpoch, s.epoch)
		case cmd == "PING":
			reply = "+PONG\r\n"
		case cmd == "ROLE":
			reply = "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"
		default:
			reply = "+OK\r\n"
		}
		s.mu.Unlock()
		if _, err := w.WriteString(reply); err != nil || w.Flush() != nil {
			return
		}
	}
}

// connections returns the commands of each connection, in order.
func (s *epochServer) connections() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.conns))
	for i, c := range s.conns {
		out[i] = slices.Clone(c)
	}
	return out
}

// nodeEpoch returns the server's epoch.
func (s *epochServer) nodeEpoch() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// fencedCalls are the mutating Client calls, each with the command it sends.
var fencedCalls = []struct {
	name, sent string
	call       func(ctx context.Context, c Client, n Node) error
}{
	{"ReplicaOf", "REPLICAOF 10.0.0.9 6379", func(ctx context.Context, c Client, n Node) error { return c.ReplicaOf(ctx, n, "10.0.0.9", 6379) }},
	{"Promote", "REPLICAOF NO ONE", func(ctx context.Context, c Client, n Node) error { return c.ReplicaOf(ctx, n, "", 0) }},
	{"ConfigSet", "CONFIG SET maxmemory 1mb", func(ctx context.Context, c Client, n Node) error { return c.ConfigSet(ctx, n, "maxmemory", "1mb") }},
	{"ClientPause", "CLIENT PAUSE 1500 WRITE", func(ctx context.Context, c Client, n Node) error {
		return c.ClientPause(ctx, n, 1500*time.Millisecond)
	}},
	{"ClientUnpause", "CLIENT UNPAUSE", func(ctx context.Context, c Client, n Node) error { return c.ClientUnpause(ctx, n) }},
	{"ClientKillNormal", "CLIENT KILL TYPE normal", func(ctx context.Context, c Client, n Node) error { return c.ClientKillNormal(ctx, n) }},
}

// TestRESPEpochHandshake checks every mutating call announces the context's
// epoch first on its own connection, is refused (ErrStaleEpoch, command not
// sent) by a node with a newer epoch, and that calls without an epoch or
// read-only calls never announce one.
func TestRESPEpochHandshake(t *testing.T) {
	c := &RESP{Timeout: 5 * time.Second}
	for _, fc := range fencedCalls {
		t.Run(fc.name, func(t *testing.T) {
			s := startEpochServer(t, 3, false)
			n := Node{Addr: s.addr}
			if err := fc.call(WithEpoch(context.Background(), 5), c, n); err != nil {
				t.Fatalf("epoch 5 on a node at 3: %v", err)
			}
			if err := fc.call(context.Background(), c, n); err != nil {
				t.Fatalf("no epoch: %v", err)
			}
			err := fc.call(WithEpoch(context.Background(), 4), c, n)
			if !errors.Is(err, ErrStaleEpoch) || !IsServerError(err) || !strings.Contains(err.Error(), "older than this node's 5") {
				t.Fatalf("epoch 4 on a node at 5: want ErrStaleEpoch with the node's reply, got %v", err)
			}
			var stale *StaleEpochError
			if !errors.As(err, &stale) || stale.Epoch != 4 || stale.NodeEpoch != 5 {
				t.Fatalf("epoch 4 on a node at 5: want a StaleEpochError 4 < 5, got %#v", stale)
			}
			want := [][]string{
				{"REPLNODE EPOCH 5", fc.sent},
				{fc.sent},
				{"REPLNODE EPOCH 4"},
			}
			if got := s.connections(); !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("connections = %q, want %q", got, want)
			}
			if e := s.nodeEpoch(); e != 5 {
				t.Fatalf("node epoch = %d, want 5", e)
			}
		})
	}

	s := startEpochServer(t, 3, false)
	ctx := WithEpoch(context.Background(), 9)
	if _, err := c.Role(ctx, Node{Addr: s.addr}); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx, Node{Addr: s.addr}); err != nil {
		t.Fatal(err)
	}
	if got := s.connections(); len(got) != 2 || len(got[0]) != 1 || len(got[1]) != 1 {
		t.Fatalf("read-only calls with an epoch sent %q; want ROLE and PING alone", got)
	}
	if e := s.nodeEpoch(); e != 3 {
		t.Fatalf("read-only calls moved the node's epoch to %d", e)
	}
}

// TestRESPEpochOvertaken checks a command is refused when another operator
// raises the node's epoch between this connection's announcement and the
// command: the node's -STALEEPOCH on the command itself is ErrStaleEpoch.
func TestRESPEpochOvertaken(t *testing.T) {
	s := startEpochServer(t, 0, false)
	s.afterAnnounce = func(s *epochServer) { s.epoch++ }
	err := (&RESP{}).ReplicaOf(WithEpoch(context.Background(), 2), Node{Addr: s.addr}, "", 0)
	if !errors.Is(err, ErrStaleEpoch) || !strings.HasPrefix(err.Error(), "REPLICAOF ") {
		t.Fatalf("REPLICAOF after the node moved to epoch 3: want ErrStaleEpoch naming REPLICAOF, got %v", err)
	}
}

// TestRESPEpochNodeWithout checks a node that does not know REPLNODE (a
// redis-server) still gets the command, on the same connection.
func TestRESPEpochNodeWithout(t *testing.T) {
	s := startEpochServer(t, 0, true)
	c := &RESP{}
	ctx := WithEpoch(context.Background(), 4)
	if err := c.ClientPause(ctx, Node{Addr: s.addr}, time.Second); err != nil {
		t.Fatalf("ClientPause on a node without epochs: %v", err)
	}
	if err := c.PushEpoch(ctx, Node{Addr: s.addr}); err != nil {
		t.Fatalf("PushEpoch on a node without epochs: %v", err)
	}
	want := [][]string{{"REPLNODE EPOCH 4", "CLIENT PAUSE 1000 WRITE"}, {"REPLNODE EPOCH 4"}}
	if got := s.connections(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("connections = %q, want %q", got, want)
	}
}

// TestRESPPushEpoch checks PushEpoch raises the node's epoch, is refused
// below it, and without an epoch in the context does not connect at all.
func TestRESPPushEpoch(t *testing.T) {
	s := startEpochServer(t, 6, false)
	c := &RESP{}
	n := Node{Addr: s.addr}
	if err := c.PushEpoch(context.Background(), n); err != nil || len(s.connections()) != 0 {
		t.Fatalf("PushEpoch without an epoch: %v, connections %q", err, s.connections())
	}
	if err := c.PushEpoch(WithEpoch(context.Background(), 7), n); err != nil || s.nodeEpoch() != 7 {
		t.Fatalf("PushEpoch 7 on a node at 6: %v, node epoch %d", err, s.nodeEpoch())
	}
	if err := c.PushEpoch(WithEpoch(context.Background(), 7), n); err != nil {
		t.Fatalf("PushEpoch 7 again: %v", err)
	}
	if err := c.PushEpoch(WithEpoch(context.Background(), 6), n); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("PushEpoch 6 on a node at 7: want ErrStaleEpoch, got %v", err)
	}
}

// TestRESPEpochAgainstRealRedis checks the fenced calls work unchanged on
// redis-server 7.0, which answers REPLNODE with "ERR unknown command".
func TestRESPEpochAgainstRealRedis(t *testing.T) {
	addr := startRedis(t, "--requirepass", "pw")
	n := Node{Addr: addr, Password: "pw"}
	c := &RESP{Timeout: 10 * time.Second}
	ctx := WithEpoch(context.Background(), 12)
	if err := c.PushEpoch(ctx, n); err != nil {
		t.Fatalf("PushEpoch: %v", err)
	}
	if err := c.ConfigSet(ctx, n, "maxmemory", "10mb"); err != nil {
		t.Fatalf("ConfigSet: %v", err)
	}
	if err := c.ClientPause(ctx, n, 5*time.Second); err != nil {
		t.Fatalf("ClientPause: %v", err)
	}
	if err := c.ClientUnpause(ctx, n); err != nil {
		t.Fatalf("ClientUnpause: %v", err)
	}
	if err := c.ReplicaOf(ctx, n, "", 0); err != nil {
		t.Fatalf("ReplicaOf NO ONE: %v", err)
	}
}

// TestFakeEpochs checks the Fake fences as a replnode node does, and a
// node marked NoEpochs as redis-server.
func TestFakeEpochs(t *testing.T) {
	f := NewFake()
	n := Node{Addr: "10.0.0.1:6379"}
	for _, fc := range fencedCalls {
		if err := fc.call(WithEpoch(context.Background(), 2), f, n); err != nil {
			t.Fatalf("%s at epoch 2: %v", fc.name, err)
		}
	}
	if err := f.PushEpoch(WithEpoch(context.Background(), 3), n); err != nil {
		t.Fatal(err)
	}
	for _, fc := range fencedCalls {
		if err := fc.call(WithEpoch(context.Background(), 2), f, n); !errors.Is(err, ErrStaleEpoch) {
			t.Errorf("%s at epoch 2 on a node at 3: want ErrStaleEpoch, got %v", fc.name, err)
		}
		if err := fc.call(context.Background(), f, n); err != nil {
			t.Errorf("%s without an epoch: %v", fc.name, err)
		}
	}
	var stale *StaleEpochError
	if err := f.ClientUnpause(WithEpoch(context.Background(), 1), n); !errors.As(err, &stale) || stale.Epoch != 1 || stale.NodeEpoch != 3 || !IsServerError(err) {
		t.Fatalf("ClientUnpause at 1 on a node at 3: want a StaleEpochError 1 < 3, got %v", err)
	}
	if fn, _ := f.Node(n.Addr); fn.Epoch != 3 {
		t.Fatalf("fake epoch = %d, want 3", fn.Epoch)
	}
	f.SetNoEpochs(n.Addr, true)
	if err := f.ReplicaOf(WithEpoch(context.Background(), 1), n, "", 0); err != nil {
		t.Fatalf("a node without epochs refused: %v", err)
	}
}

// TestRESPEpochAgainstReplnode runs the handshake against the replnode
// server (in process, or the binary $REPLNODE_BIN names), and is skipped
// while that server has no failover epochs yet.
func TestRESPEpochAgainstReplnode(t *testing.T) {
	var addr string
	if bin := os.Getenv("REPLNODE_BIN"); bin != "" {
		addr = startServer(t, bin, "--requirepass", "pw")
	} else {
		addr = redistest.StartInProcess(t, "requirepass pw").Addr
	}
	n := Node{Addr: addr, Password: "pw"}
	c := &RESP{Timeout: 10 * time.Second}
	ctx := context.Background()
	if _, err := c.do(ctx, n, "REPLNODE", "EPOCH"); err != nil {
		var se *ServerError
		if errors.As(err, &se) && isUnknownCommandReply(se) {
			t.Skipf("this replnode has no failover epochs: %v", err)
		}
		t.Fatal(err)
	}
	nodeEpoch := func() int64 {
		t.Helper()
		v, err := c.do(ctx, n, "REPLNODE", "EPOCH")
		if err != nil {
			t.Fatal(err)
		}
		return v.(int64)
	}
	if err := c.ClientPause(WithEpoch(ctx, 2), n, 10*time.Second); err != nil {
		t.Fatalf("ClientPause at epoch 2: %v", err)
	}
	if e := nodeEpoch(); e != 2 {
		t.Fatalf("node epoch after ClientPause at 2 = %d", e)
	}
	if err := c.ClientUnpause(WithEpoch(ctx, 1), n); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("ClientUnpause at epoch 1 on a node at 2: want ErrStaleEpoch, got %v", err)
	}
	if err := c.PushEpoch(WithEpoch(ctx, 5), n); err != nil {
		t.Fatalf("PushEpoch 5: %v", err)
	}
	for _, fc := range fencedCalls {
		if err := fc.call(WithEpoch(ctx, 4), c, n); !errors.Is(err, ErrStaleEpoch) {
			t.Errorf("%s at epoch 4 on a node at 5: want ErrStaleEpoch, got %v", fc.name, err)
		}
	}
	if err := c.ClientUnpause(WithEpoch(ctx, 5), n); err != nil {
		t.Fatalf("ClientUnpause at epoch 5: %v", err)
	}
	if err := c.ReplicaOf(ctx, n, "", 0); err != nil {
		t.Fatalf("ReplicaOf without an epoch: %v", err)
	}
	if e := nodeEpoch(); e != 5 {
		t.Fatalf("node epoch = %d, want 5", e)
	}
}
