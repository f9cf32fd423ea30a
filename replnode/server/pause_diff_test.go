package server_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// pauseServers are a real redis-server and replnode, each with an admin
// connection, driven through the same CLIENT PAUSE scenario.
type pauseServers struct {
	t     *testing.T
	inst  [2]*redistest.Instance
	admin [2]*redistest.Client
	names [2]string
}

func newPauseServers(t *testing.T, real, ours *redistest.Instance) *pauseServers {
	p := &pauseServers{t: t, inst: [2]*redistest.Instance{real, ours}, names: [2]string{"redis", "replnode"}}
	for i, in := range p.inst {
		p.admin[i] = in.Dial(t)
	}
	return p
}

// held sends args from a new connection and waits until the server counts
// it among blocked_clients (want in all), proving the pause holds it.
func (p *pauseServers) held(i, want int, args ...string) *redistest.Client {
	c := p.inst[i].Dial(p.t)
	if err := c.Send(args...); err != nil {
		p.t.Fatal(err)
	}
	waitBlockedClients(p.t, p.admin[i], want)
	return c
}

// same fails unless both servers gave the same reply text, and returns it.
func (p *pauseServers) same(what string, got [2]string) string {
	p.t.Helper()
	if got[0] != got[1] {
		p.t.Errorf("%s:\n redis:    %s\n replnode: %s", what, got[0], got[1])
	}
	return got[1]
}

// sameTranscript runs script on both servers (i, its admin client) and
// fails unless they gave the same transcript, which it returns (ours).
func (p *pauseServers) sameTranscript(what string, script func(i int, a *redistest.Client) []string) []string {
	p.t.Helper()
	var got [2][]string
	for i := range p.inst {
		got[i] = script(i, p.admin[i])
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		p.t.Errorf("%s:\n redis:    %q\n replnode: %q", what, got[0], got[1])
	}
	return got[1]
}

// receive reads the reply of a held command.
func receive(t *testing.T, c *redistest.Client) string {
	t.Helper()
	c.Timeout = 10 * time.Second
	r, err := c.Receive()
	if err != nil {
		t.Fatalf("held command got no reply: %v", err)
	}
	return r.String()
}

// TestDifferentialPausedWriteRecheckedAsReplica: a SET held by CLIENT PAUSE
// WRITE on a master that REPLICAOF turns into a replica meanwhile is
// processed again when the pause ends and refused with -READONLY, as Redis
// re-runs processCommand for a postponed client; the key is never written.
func TestDifferentialPausedWriteRecheckedAsReplica(t *testing.T) {
	nowhere := strconv.Itoa(redistest.FreePort(t))
	p := newPauseServers(t, redistest.StartRedis(t), redistest.StartInProcess(t))
	var replies, keys [2]string
	for i := range p.inst {
		p.admin[i].MustDo(t, "CLIENT", "PAUSE", "60000", "WRITE")
		w := p.held(i, 1, "SET", "k", "v")
		p.admin[i].MustDo(t, "REPLICAOF", "127.0.0.1", nowhere)
		p.admin[i].MustDo(t, "CLIENT", "UNPAUSE")
		replies[i] = receive(t, w)
		keys[i] = p.admin[i].MustDo(t, "EXISTS", "k").String()
		p.admin[i].MustDo(t, "REPLICAOF", "NO", "ONE")
	}
	if got := p.same("held SET after REPLICAOF", replies); !strings.HasPrefix(got, "(error) READONLY") {
		t.Errorf("held SET on a node turned replica: %s, want -READONLY", got)
	}
	if got := p.same("EXISTS k", keys); got != "(integer) 0" {
		t.Errorf("the held SET wrote the key on the replica: EXISTS = %s", got)
	}
}

// TestDifferentialPausedWriteRecheckedForMinReplicas: a SET held on a master
// with min-replicas-to-write 1 whose only replica leaves during the pause
// gets -NOREPLICAS when the pause ends, and is not applied.
func TestDifferentialPausedWriteRecheckedForMinReplicas(t *testing.T) {
	guard := []string{"min-replicas-to-write 1", "min-replicas-max-lag 10", "repl-diskless-sync-delay 0"}
	realMaster, ourMaster := redistest.StartRedis(t, guard...), redistest.StartInProcess(t, guard...)
	replicas := [2]*redistest.Instance{
		redistest.StartRedis(t, "replicaof 127.0.0.1 "+strconv.Itoa(realMaster.Port)),
		redistest.StartInProcess(t, "replicaof 127.0.0.1 "+strconv.Itoa(ourMaster.Port)),
	}
	p := newPauseServers(t, realMaster, ourMaster)
	var replies, keys, before [2]string
	for i := range p.inst {
		waitInfo(t, p.admin[i], "min_slaves_good_slaves:1")
		before[i] = p.admin[i].MustDo(t, "SET", "before", "1").String()
		p.admin[i].MustDo(t, "CLIENT", "PAUSE", "60000", "WRITE")
		w := p.held(i, 1, "SET", "k", "v")
		replicas[i].Dial(t).MustDo(t, "REPLICAOF", "NO", "ONE")
		waitInfo(t, p.admin[i], "connected_slaves:0")
		p.admin[i].MustDo(t, "CLIENT", "UNPAUSE")
		replies[i] = receive(t, w)
		keys[i] = p.admin[i].MustDo(t, "EXISTS", "k").String()
	}
	if got := p.same("SET with a good replica", before); got != "OK" {
		t.Fatalf("write with the replica attached: %s", got)
	}
	if got := p.same("held SET after the replica left", replies); !strings.HasPrefix(got, "(error) NOREPLICAS") {
		t.Errorf("held SET without good replicas: %s, want -NOREPLICAS", got)
	}
	if got := p.same("EXISTS k", keys); got != "(integer) 0" {
		t.Errorf("the held SET was applied: EXISTS = %s", got)
	}
}

// waitInfo waits until INFO shows line.
func waitInfo(t *testing.T, c *redistest.Client, line string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(c.MustDo(t, "INFO").Str, line+"\r\n") {
			return
		}
	}
	t.Fatalf("INFO never showed %s", line)
}

// TestDifferentialPauseWriteHolds: under CLIENT PAUSE WRITE, writes,
// PUBLISH (may_replicate), a write queued inside MULTI and an EXEC of a
// queued write are held (and counted in blocked_clients) until UNPAUSE;
// reads, CONFIG SET and a read-only transaction are not.
func TestDifferentialPauseWriteHolds(t *testing.T) {
	p := newPauseServers(t, redistest.StartRedis(t), redistest.StartInProcess(t))
	p.sameTranscript("PAUSE WRITE", func(i int, a *redistest.Client) []string {
		a.MustDo(t, "SET", "r", "1")
		queued := p.inst[i].Dial(t)
		queued.MustDo(t, "MULTI")
		queued.MustDo(t, "INCR", "queued-before")
		a.MustDo(t, "CLIENT", "PAUSE", "60000", "WRITE")

		// Not held: reads, admin, a read-only transaction.
		ro := p.inst[i].Dial(t)
		var out []string
		for _, cmd := range [][]string{{"GET", "r"}, {"CONFIG", "SET", "maxmemory-samples", "5"}, {"MULTI"}, {"GET", "r"}, {"PING"}, {"EXEC"}} {
			out = append(out, ro.MustDo(t, cmd...).String())
		}
		out = append(out, "blocked_clients: "+strconv.Itoa(infoInt(t, a, "clients", "blocked_clients")))

		held := []*redistest.Client{
			p.held(i, 1, "SET", "k", "v"),
			p.held(i, 2, "PUBLISH", "ch", "m"),
		}
		// The transaction queued INCR before the pause: its EXEC is held.
		if err := queued.Send("EXEC"); err != nil {
			t.Fatal(err)
		}
		waitBlockedClients(t, a, 3)
		held = append(held, queued)
		inMulti := p.inst[i].Dial(t)
		inMulti.MustDo(t, "MULTI")
		if err := inMulti.Send("SET", "queued-during", "v"); err != nil {
			t.Fatal(err)
		}
		waitBlockedClients(t, a, 4)
		held = append(held, inMulti)
		out = append(out, a.MustDo(t, "EXISTS", "k", "queued-before").String())
		a.MustDo(t, "CLIENT", "UNPAUSE")
		for _, h := range held {
			out = append(out, receive(t, h))
		}
		out = append(out, inMulti.MustDo(t, "EXEC").String())
		out = append(out, a.MustDo(t, "MGET", "k", "queued-before", "queued-during").String())
		return out
	})
}

// TestDifferentialPauseStartsAfterTransaction: a CLIENT PAUSE inside MULTI
// takes effect when the transaction ends: the rest of it runs, the next
// write from elsewhere is held.
func TestDifferentialPauseStartsAfterTransaction(t *testing.T) {
	p := newPauseServers(t, redistest.StartRedis(t), redistest.StartInProcess(t))
	p.sameTranscript("pause in a transaction", func(i int, a *redistest.Client) []string {
		var out []string
		for _, cmd := range [][]string{{"MULTI"}, {"SET", "foo1", "bar"}, {"CLIENT", "PAUSE", "60000", "WRITE"}, {"SET", "foo2", "bar"}, {"EXEC"}} {
			out = append(out, a.MustDo(t, cmd...).String())
		}
		w := p.held(i, 1, "SET", "foo3", "bar")
		out = append(out, a.MustDo(t, "MGET", "foo1", "foo2", "foo3").String())
		a.MustDo(t, "CLIENT", "UNPAUSE")
		out = append(out, receive(t, w), a.MustDo(t, "GET", "foo3").String())
		return out
	})
}

// TestDifferentialPauseStopsExpiry: during a pause keys expire neither
// actively nor on access (they read as missing but stay in the dataset,
// expired_keys does not move); after UNPAUSE an access deletes them.
func TestDifferentialPauseStopsExpiry(t *testing.T) {
	p := newPauseServers(t, redistest.StartRedis(t), redistest.StartInProcess(t))
	got := p.sameTranscript("expiry during a pause", func(i int, a *redistest.Client) []string {
		a.MustDo(t, "MULTI")
		a.MustDo(t, "SET", "foo", "bar", "PX", "10")
		a.MustDo(t, "SET", "bar", "foo", "PX", "10")
		a.MustDo(t, "CLIENT", "PAUSE", "60000", "WRITE")
		a.MustDo(t, "EXEC")
		expired := infoInt(t, a, "stats", "expired_keys")
		time.Sleep(300 * time.Millisecond) // several active expire cycles
		out := []string{a.MustDo(t, "GET", "foo").String(), a.MustDo(t, "EXISTS", "bar").String(), a.MustDo(t, "DBSIZE").String()}
		out = append(out, "expired during pause: "+strconv.Itoa(infoInt(t, a, "stats", "expired_keys")-expired))
		a.MustDo(t, "CLIENT", "UNPAUSE")
		a.MustDo(t, "GET", "foo")
		a.MustDo(t, "GET", "bar")
		out = append(out, "expired after: "+strconv.Itoa(infoInt(t, a, "stats", "expired_keys")-expired), a.MustDo(t, "DBSIZE").String())
		return out
	})
	if got[3] != "expired during pause: 0" {
		t.Errorf("keys expired during the pause: %q", got)
	}
}

// infoInt is an integer INFO field (infoField in blocked_process_test.go).
func infoInt(t *testing.T, c *redistest.Client, section, field string) int {
	t.Helper()
	v := infoField(t, c, section, field)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("INFO %s: %q", field, v)
	}
	return n
}

// TestDifferentialPausedWriteRecheckedForOOM: a SET held while maxmemory is
// lowered below the used memory (noeviction) gets -OOM when the pause
// ends: memory is checked again when the command is processed again.
func TestDifferentialPausedWriteRecheckedForOOM(t *testing.T) {
	p := newPauseServers(t, redistest.StartRedis(t), redistest.StartInProcess(t))
	var replies, keys [2]string
	for i := range p.inst {
		a := p.admin[i]
		a.MustDo(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
		a.MustDo(t, "CLIENT", "PAUSE", "60000", "WRITE")
		w := p.held(i, 1, "SET", "k", "v")
		a.MustDo(t, "CONFIG", "SET", "maxmemory", "1")
		a.MustDo(t, "CLIENT", "UNPAUSE")
		replies[i] = receive(t, w)
		a.MustDo(t, "CONFIG", "SET", "maxmemory", "0")
		keys[i] = a.MustDo(t, "EXISTS", "k").String()
	}
	if got := p.same("held SET over maxmemory", replies); !strings.HasPrefix(got, "(error) OOM") {
		t.Errorf("held SET over maxmemory: %s, want -OOM", got)
	}
	if got := p.same("EXISTS k", keys); got != "(integer) 0" {
		t.Errorf("the held SET was applied: EXISTS = %s", got)
	}
}
