package server

import (
	"os"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/resp"
)

// coreNode is a server driven through an internal client, with a fake
// clock: handler tests without sockets.
type coreNode struct {
	t   *testing.T
	s   *Server
	c   *Client
	now int64
}

// newCoreNode returns a server with the given directives ("name value").
func newCoreNode(t *testing.T, directives ...string) *coreNode {
	t.Helper()
	cfg := config.Default()
	// A private dir first (the caller's directives may replace it): with
	// the default save points FLUSHALL saves, and must not write dump.rdb
	// into the package directory.
	dir, err := os.MkdirTemp("", "corenode-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	directives = append([]string{"dir " + config.Quote(dir)}, directives...)
	if err := cfg.LoadString(strings.Join(directives, "\n")); err != nil {
		t.Fatal(err)
	}
	n := &coreNode{t: t, now: 1_700_000_000_000}
	n.s = New(cfg)
	n.s.SetClock(func() int64 { return n.now })
	n.s.mu.Lock()
	n.c = n.s.NewInternalClient(0)
	n.c.authenticated = cfg.String("requirepass") == ""
	n.s.mu.Unlock()
	return n
}

// do runs one command and returns its replies rendered by resp.Reply.String
// (joined by " | " when there are several, e.g. pushes).
func (n *coreNode) do(args ...string) string {
	n.t.Helper()
	return n.doClient(n.c, args...)
}

func (n *coreNode) doClient(c *Client, args ...string) string {
	n.t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	n.s.mu.Lock()
	n.s.processCommand(c, bargs)
	out := c.Replies()
	n.s.mu.Unlock()
	rs, err := resp.ReadAll(out)
	if err != nil {
		n.t.Fatalf("%q: bad reply %q: %v", args, out, err)
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, " | ")
}

// newClient adds another internal client.
func (n *coreNode) newClient() *Client {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	c := n.s.NewInternalClient(0)
	return c
}

// transcript is a table of commands and their expected rendered replies.
type transcript []struct {
	cmd  []string
	want string
}

func (n *coreNode) run(tr transcript) {
	n.t.Helper()
	for _, step := range tr {
		if got := n.do(step.cmd...); got != step.want {
			n.t.Errorf("%q:\n got %s\nwant %s", step.cmd, got, step.want)
		}
	}
}

func cmd(args ...string) []string { return args }
