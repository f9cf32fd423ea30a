package server_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// blockedPair is one blocked connection and one that acts, on each server.
type blockedPair struct {
	t                  *testing.T
	inst               [2]*redistest.Instance
	waiter, actor      [2]*redistest.Client
	waiterID           [2]string
	names              [2]string
	fillers            []string
	lastActorReplyText [2]string
}

// newBlockedPair connects a waiter and an actor to real Redis and replnode.
func newBlockedPair(t *testing.T, real, ours *redistest.Instance) *blockedPair {
	p := &blockedPair{t: t, inst: [2]*redistest.Instance{real, ours}, names: [2]string{"redis", "replnode"}}
	for i, in := range p.inst {
		p.waiter[i], p.actor[i] = in.Dial(t), in.Dial(t)
		p.waiterID[i] = strconv.FormatInt(p.waiter[i].MustDo(t, "CLIENT", "ID").Int, 10)
	}
	// Many waited keys switch off replnode's sweep for keys that appear
	// without a signal: the commands must signal themselves.
	for i := 0; i < 200; i++ {
		p.fillers = append(p.fillers, "filler:"+strconv.Itoa(i))
	}
	return p
}

// run blocks the waiter with block (keys first in the argument list are
// prefixed by the fillers where withFillers), then lets the actor run each
// of acts (a func of the server index returning args, so a reply such as a
// DUMP payload can be reused), and compares the waiter's reply.
func (p *blockedPair) run(name string, block []string, acts ...func(i int) []string) {
	t := p.t
	replies := [2]string{}
	for i := range p.inst {
		p.actor[i].MustDo(t, "FLUSHALL")
		if err := p.waiter[i].Send(block...); err != nil {
			t.Fatal(err)
		}
		waitBlockedClients(t, p.actor[i], 1)
		for _, act := range acts {
			args := act(i)
			r := p.actor[i].MustDo(t, args...)
			p.lastActorReplyText[i] = r.Str
		}
		p.waiter[i].Timeout = 5 * time.Second
		r, err := p.waiter[i].Receive()
		if err != nil {
			t.Fatalf("%s on %s: waiter got no reply: %v", name, p.names[i], err)
		}
		replies[i] = r.String()
	}
	if replies[0] != replies[1] {
		t.Errorf("%s:\n redis:    %s\n replnode: %s", name, replies[0], replies[1])
	}
}

// waitBlockedClients polls INFO clients until n clients are blocked.
func waitBlockedClients(t *testing.T, c *redistest.Client, n int) {
	t.Helper()
	want := "blocked_clients:" + strconv.Itoa(n)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(c.MustDo(t, "INFO", "clients").Str, want) {
			return
		}
	}
	t.Fatalf("never saw %s", want)
}

// fixed returns an act with constant arguments.
func fixed(args ...string) func(int) []string { return func(int) []string { return args } }

// TestDifferentialBlockedClientsServedByKeyCreators: a list or sorted set
// created under a waited key by RENAME, RENAMENX, MOVE, COPY, RESTORE,
// SWAPDB, SORT STORE or a *STORE command serves the blocked client, as
// Redis's signalKeyAsReady in dbAdd; and CLIENT UNBLOCK wakes BLPOP, BLMOVE,
// BZPOPMIN... with the timeout reply or -UNBLOCKED.
func TestDifferentialBlockedClientsServedByKeyCreators(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	p := newBlockedPair(t, real, ours)
	blpop := append(append([]string{"BLPOP"}, p.fillers...), "k", "5")
	bzpop := append(append([]string{"BZPOPMIN"}, p.fillers...), "z", "5")
	blmove := []string{"BLMOVE", "k", "dst", "LEFT", "RIGHT", "5"}

	p.run("RENAME", blpop, fixed("RPUSH", "src", "a"), fixed("RENAME", "src", "k"))
	p.run("RENAMENX", blpop, fixed("RPUSH", "src", "a"), fixed("RENAMENX", "src", "k"))
	p.run("RENAME zset", bzpop, fixed("ZADD", "src", "1", "m"), fixed("RENAME", "src", "z"))
	p.run("RENAME over a string", blpop, fixed("SET", "k", "x"), fixed("RPUSH", "src", "a"), fixed("RENAME", "src", "k"))
	p.run("MOVE", blpop, fixed("SELECT", "1"), fixed("RPUSH", "k", "a"), fixed("MOVE", "k", "0"), fixed("SELECT", "0"))
	p.run("COPY", blpop, fixed("RPUSH", "src", "a", "b"), fixed("COPY", "src", "k"))
	p.run("COPY DB", blpop, fixed("SELECT", "2"), fixed("RPUSH", "src", "a"), fixed("COPY", "src", "k", "DB", "0"), fixed("SELECT", "0"))
	p.run("SWAPDB", blpop, fixed("SELECT", "1"), fixed("RPUSH", "k", "a"), fixed("SELECT", "0"), fixed("SWAPDB", "0", "1"))
	p.run("SORT STORE", blpop, fixed("RPUSH", "src", "3", "1", "2"), fixed("SORT", "src", "STORE", "k"))
	p.run("RESTORE", blpop, fixed("RPUSH", "src", "a", "b"), fixed("DUMP", "src"),
		func(i int) []string { return []string{"RESTORE", "k", "0", p.lastActorReplyText[i]} })
	p.run("RESTORE zset", bzpop, fixed("ZADD", "src", "2", "m"), fixed("DUMP", "src"),
		func(i int) []string { return []string{"RESTORE", "z", "0", p.lastActorReplyText[i]} })
	p.run("ZUNIONSTORE", bzpop, fixed("ZADD", "a", "1", "x"), fixed("ZUNIONSTORE", "z", "1", "a"))
	p.run("ZINTERSTORE", bzpop, fixed("ZADD", "a", "1", "x"), fixed("ZINTERSTORE", "z", "1", "a"))
	p.run("ZDIFFSTORE", bzpop, fixed("ZADD", "a", "1", "x"), fixed("ZDIFFSTORE", "z", "1", "a"))
	p.run("ZRANGESTORE", bzpop, fixed("ZADD", "a", "1", "x", "2", "y"), fixed("ZRANGESTORE", "z", "a", "0", "-1"))
	p.run("BLMOVE after RENAME", blmove, fixed("RPUSH", "src", "a"), fixed("RENAME", "src", "k"))
	p.run("BLMPOP after COPY", []string{"BLMPOP", "5", "1", "k", "RIGHT", "COUNT", "2"},
		fixed("RPUSH", "src", "a", "b", "c"), fixed("COPY", "src", "k"))

	for _, block := range [][]string{
		{"BLPOP", "k", "5"}, {"BRPOP", "k", "5"}, blmove, {"BRPOPLPUSH", "k", "dst", "5"},
		{"BLMPOP", "5", "1", "k", "LEFT"}, {"BZPOPMIN", "z", "5"}, {"BZPOPMAX", "z", "5"},
		{"BZMPOP", "5", "1", "z", "MIN"}, {"WAIT", "5", "5000"},
	} {
		for _, mode := range [][]string{nil, {"TIMEOUT"}, {"ERROR"}} {
			p.run("CLIENT UNBLOCK "+strings.Join(mode, "")+" of "+block[0], block, func(i int) []string {
				return append([]string{"CLIENT", "UNBLOCK", p.waiterID[i]}, mode...)
			})
		}
	}

	// The replies of CLIENT UNBLOCK itself.
	d := redistest.NewDiffClients(t, p.actor[0], p.actor[1])
	d.Do("CLIENT", "UNBLOCK", "999999")
	d.Do("CLIENT", "UNBLOCK", p.waiterID[1]) // known on replnode only; not blocked anyway
	d.Do("CLIENT", "UNBLOCK", "x")
	d.Do("CLIENT", "UNBLOCK", "1", "maybe")
	d.Do("CLIENT", "UNBLOCK", "x", "maybe")
	d.Do("CLIENT", "UNBLOCK", "1", "timeout", "extra")
	d.Do("CLIENT", "UNBLOCK")
}
