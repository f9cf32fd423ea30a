package server_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/redistest"
)

// ---------------------------------------------------------------- client side caching
//
// Differential tests of CLIENT TRACKING against a real redis-server 7.0:
// every scenario runs on two connections per server, and each ends with a
// PING on the connections that receive messages, so an extra or missing
// invalidation shows up as a mismatched reply.

// clientIDs returns the CLIENT ID of d's two connections (real, ours):
// they differ between the servers, so REDIRECT is sent to each apart.
func clientIDs(t *testing.T, d *redistest.Diff) (string, string) {
	t.Helper()
	return d.Real.MustDo(t, "CLIENT", "ID").String(), d.Ours.MustDo(t, "CLIENT", "ID").String()
}

// doEach sends a command that embeds a per-server value (a client id) and
// requires the same reply from both.
func doEach(t *testing.T, d *redistest.Diff, real, ours []string) {
	t.Helper()
	r1, r2 := d.Real.MustDo(t, real...), d.Ours.MustDo(t, ours...)
	if r1.String() != r2.String() {
		t.Errorf("%q:\n redis:    %s\n replnode: %s", real, r1.String(), r2.String())
	}
}

// idOnly extracts the integer text of an ":<n>" reply rendering.
var idOnly = regexp.MustCompile(`-?\d+`)

// redirectTo builds CLIENT TRACKING on REDIRECT <id> opts... for each side.
func redirectTo(realID, oursID string, opts ...string) ([]string, []string) {
	r := append([]string{"CLIENT", "TRACKING", "on", "REDIRECT", idOnly.FindString(realID)}, opts...)
	o := append([]string{"CLIENT", "TRACKING", "on", "REDIRECT", idOnly.FindString(oursID)}, opts...)
	return r, o
}

// clientFlags returns the flags= and redir= presence of CLIENT INFO.
var clientFlagsRe = regexp.MustCompile(`flags=(\S+)`)

func flagsOf(t *testing.T, c *redistest.Client) string {
	t.Helper()
	return clientFlagsRe.FindStringSubmatch(c.MustDo(t, "CLIENT", "INFO").String())[1]
}

// TestDifferentialTrackingErrors compares the option checks of CLIENT
// TRACKING/CACHING/GETREDIR/TRACKINGINFO and the errors Redis gives.
func TestDifferentialTrackingErrors(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	for _, proto := range []string{"2", "3"} {
		d.DoType("HELLO", proto)
		for _, s := range [][]string{
			{"CLIENT", "TRACKING"},
			{"CLIENT", "TRACKING", "maybe"},
			{"CLIENT", "TRACKING", "on", "FOO"},
			{"CLIENT", "TRACKING", "on", "REDIRECT"},
			{"CLIENT", "TRACKING", "on", "REDIRECT", "abc"},
			{"CLIENT", "TRACKING", "on", "REDIRECT", "999999"},
			{"CLIENT", "TRACKING", "on", "PREFIX", "a"},
			{"CLIENT", "TRACKING", "on", "BCAST", "OPTIN"},
			{"CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"},
			{"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a"},
			{"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab"},
			{"CLIENT", "CACHING", "yes"},
			{"CLIENT", "GETREDIR"},
			{"CLIENT", "TRACKINGINFO"},
			{"CLIENT", "TRACKING", "on", "OPTIN"},
			{"CLIENT", "TRACKINGINFO"},
			{"CLIENT", "CACHING", "no"},
			{"CLIENT", "CACHING", "maybe"},
			{"CLIENT", "CACHING", "yes"},
			{"CLIENT", "TRACKINGINFO"},
			{"CLIENT", "TRACKING", "on", "OPTOUT"},
			{"CLIENT", "TRACKING", "on", "BCAST"},
			{"CLIENT", "GETREDIR"},
			{"CLIENT", "TRACKING", "off"},
			{"CLIENT", "TRACKING", "on", "OPTOUT", "NOLOOP"},
			{"CLIENT", "CACHING", "yes"},
			{"CLIENT", "CACHING", "no"},
			{"CLIENT", "TRACKINGINFO"},
			{"CLIENT", "TRACKING", "off"},
			{"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:"},
			{"CLIENT", "TRACKINGINFO"},
			{"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:1"},
			{"CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x"},
			{"CLIENT", "TRACKINGINFO"},
			{"CLIENT", "TRACKING", "on"},
			{"INFO", "stats"}, // compared below by field
			{"CLIENT", "TRACKING", "off"},
			{"CLIENT", "TRACKINGINFO"},
			{"CLIENT", "GETREDIR"},
		} {
			if s[0] == "INFO" {
				compareTrackingStats(t, d)
				continue
			}
			d.Do(s...)
		}
	}
	d.Do("CLIENT", "HELP")

	// Edge cases: redirecting to oneself, a second REDIRECT, an identical
	// prefix, BCAST without prefixes on top of some, RESET, and the redir
	// field of CLIENT INFO.
	r, o := clientIDs(t, d)
	rr, oo := redirectTo(r, o)
	doEach(t, d, rr, oo)
	if g1, g2 := d.Real.MustDo(t, "CLIENT", "GETREDIR").String(), d.Ours.MustDo(t, "CLIENT", "GETREDIR").String(); g1 != r || g2 != o {
		t.Errorf("GETREDIR to self: redis %s (want %s), replnode %s (want %s)", g1, r, g2, o)
	}
	rr, _ = redirectTo(r, o, "REDIRECT", idOnly.FindString(r))
	_, oo = redirectTo(r, o, "REDIRECT", idOnly.FindString(o))
	doEach(t, d, rr, oo)
	d.Do("CLIENT", "TRACKING", "on", "REDIRECT", "0")
	d.Do("CLIENT", "TRACKING", "on", "REDIRECT", "-1")
	d.Do("CLIENT", "TRACKING", "off")
	d.Do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a")
	d.Do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a")
	d.Do("CLIENT", "TRACKING", "on", "BCAST")
	d.Do("CLIENT", "TRACKINGINFO")
	compareTrackingStats(t, d)
	if f1, f2 := flagsOf(t, d.Real), flagsOf(t, d.Ours); f1 != f2 {
		t.Errorf("CLIENT INFO flags: redis %s, replnode %s", f1, f2)
	}
	redirRe := regexp.MustCompile(`redir=\S+`)
	if a, b := redirRe.FindString(d.Real.MustDo(t, "CLIENT", "INFO").String()), redirRe.FindString(d.Ours.MustDo(t, "CLIENT", "INFO").String()); a != b {
		t.Errorf("CLIENT INFO redir: redis %s, replnode %s", a, b)
	}
	d.DoType("RESET")
	d.Do("CLIENT", "TRACKINGINFO")
	compareTrackingStats(t, d)
	// RESP2 without REDIRECT: reads are remembered though nothing is sent.
	d.Do("CLIENT", "TRACKING", "on")
	d.Do("GET", "k")
	d.Do("MGET", "k", "k2")
	compareTrackingStats(t, d)
	d.Do("SET", "k", "v")
	d.Do("PING")
	compareTrackingStats(t, d)
}

// trackingStatsRe picks INFO's tracking fields.
var trackingStatsRe = regexp.MustCompile(`tracking_\w+:\d+`)

// compareTrackingStats requires equal tracking_* fields in INFO (clients
// and stats sections).
func compareTrackingStats(t *testing.T, d *redistest.Diff) {
	t.Helper()
	a := trackingStatsRe.FindAllString(d.Real.MustDo(t, "INFO", "everything").String(), -1)
	b := trackingStatsRe.FindAllString(d.Ours.MustDo(t, "INFO", "everything").String(), -1)
	if strconv.Quote(join(a)) != strconv.Quote(join(b)) {
		t.Errorf("INFO tracking fields:\n redis:    %v\n replnode: %v", a, b)
	}
}

func join(s []string) string {
	out := ""
	for _, x := range s {
		out += x + " "
	}
	return out
}

// TestDifferentialTrackingRESP3 covers the default mode on one RESP3
// connection: reads remembered per key, a write by another client or by
// the client itself invalidates (after its reply), a key is reported once
// until read again, NOLOOP, FLUSHALL's null list, and the INFO counters.
func TestDifferentialTrackingRESP3(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	c := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	w := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	c.DoType("HELLO", "3")
	w.Do("MSET", "a", "1", "b", "2", "h", "x")
	c.Do("CLIENT", "TRACKING", "on")
	if f1, f2 := flagsOf(t, c.Real), flagsOf(t, c.Ours); f1 != f2 {
		t.Errorf("CLIENT INFO flags: redis %s, replnode %s", f1, f2)
	}
	c.Do("GET", "a")
	c.Do("MGET", "b", "nokey")
	c.Do("STRLEN", "h")
	compareTrackingStats(t, w)
	w.Do("SET", "a", "2")
	c.Receive()               // >2 invalidate [a]
	w.Do("SET", "a", "3")     // not read again: no message
	w.Do("DEL", "b", "nokey") // only b existed: one message
	c.Receive()
	c.Do("PING")
	// The client's own write: the message follows the reply.
	c.Do("GET", "a")
	c.Do("INCR", "a")
	c.Receive()
	// A transaction's invalidations follow the whole EXEC reply.
	c.Do("MGET", "a", "b")
	c.Do("MULTI")
	c.Do("SET", "a", "m")
	c.Do("SET", "b", "m")
	c.Do("EXEC")
	c.Receive()
	c.Receive()
	// Expiry deletes invalidate too.
	w.Do("SET", "e", "v", "PX", "50")
	c.Do("GET", "e")
	time.Sleep(120 * time.Millisecond)
	w.Do("GET", "e")
	c.Receive()
	compareTrackingStats(t, w)
	// NOLOOP: the client's own writes are not reported to it.
	c.Do("CLIENT", "TRACKING", "on", "NOLOOP")
	c.Do("GET", "a")
	c.Do("SET", "a", "5")
	c.Do("PING")
	c.Do("GET", "a")
	w.Do("SET", "a", "6")
	c.Receive()
	// FLUSHALL: a null key list, then the table is empty.
	c.Do("GET", "h")
	w.Do("FLUSHALL")
	c.Receive()
	compareTrackingStats(t, w)
	c.Do("FLUSHDB")
	c.Receive()
	// DEBUG RELOAD empties and reloads the data set: the flush message.
	c.Do("GET", "h")
	w.Do("DEBUG", "RELOAD")
	c.Receive()
	// A key name is one slot whatever the database.
	c.Do("GET", "h")
	w.Do("SELECT", "1")
	w.Do("SET", "h", "other-db")
	c.Receive()
	c.Do("CLIENT", "TRACKING", "off")
	w.Do("SET", "h", "y")
	c.Do("PING")
	compareTrackingStats(t, w)
	// A tracking client that disconnects stops counting.
	c.Do("CLIENT", "TRACKING", "on")
	c.Do("GET", "h")
	compareTrackingStats(t, w)
	c.Real.Close()
	c.Ours.Close()
	time.Sleep(100 * time.Millisecond)
	compareTrackingStats(t, w)
	w.Do("SET", "h", "z")
	compareTrackingStats(t, w)
}

// TestDifferentialTrackingRESP2Redirect covers a RESP2 client whose
// messages go to another RESP2 connection subscribed to
// __redis__:invalidate, the broken redirect when that one goes away, and
// the flush message.
func TestDifferentialTrackingRESP2Redirect(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	c := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	w := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	r, o := clientIDs(t, sub)
	sub.Do("SUBSCRIBE", "__redis__:invalidate")
	rr, oo := redirectTo(r, o)
	doEach(t, c, rr, oo)
	if g1, g2 := c.Real.MustDo(t, "CLIENT", "GETREDIR").String(), c.Ours.MustDo(t, "CLIENT", "GETREDIR").String(); g1 != r || g2 != o {
		t.Errorf("GETREDIR: redis %s (want %s), replnode %s (want %s)", g1, r, g2, o)
	}
	c.Do("SET", "k", "1")
	c.Do("GET", "k")
	w.Do("SET", "k", "2")
	sub.Receive() // message __redis__:invalidate [k]
	c.Do("GET", "k")
	c.Do("SET", "k", "3") // the client's own write reaches the redirect client
	sub.Receive()
	c.Do("GET", "k")
	w.Do("FLUSHALL")
	sub.Receive() // message __redis__:invalidate (nil)
	sub.Do("PING")
	// The redirect client closes: broken_redirect, flag R.
	c.Do("GET", "k")
	sub.Real.Close()
	sub.Ours.Close()
	time.Sleep(100 * time.Millisecond)
	w.Do("SET", "k", "4")
	c.DoType("CLIENT", "TRACKINGINFO")
	if i1, i2 := c.Real.MustDo(t, "CLIENT", "TRACKINGINFO"), c.Ours.MustDo(t, "CLIENT", "TRACKINGINFO"); i1.Elems[1].String() != i2.Elems[1].String() {
		t.Errorf("TRACKINGINFO flags: redis %s, replnode %s", i1.Elems[1].String(), i2.Elems[1].String())
	}
	f1, f2 := flagsOf(t, c.Real), flagsOf(t, c.Ours)
	if f1 != f2 {
		t.Errorf("CLIENT INFO flags: redis %s, replnode %s", f1, f2)
	}
}

// TestDifferentialTrackingRESP3Redirect sends a RESP2 client's messages to
// a RESP3 connection as pushes.
func TestDifferentialTrackingRESP3Redirect(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	c := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	rc := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	rc.DoType("HELLO", "3")
	r, o := clientIDs(t, rc)
	rr, oo := redirectTo(r, o)
	doEach(t, c, rr, oo)
	c.Do("GET", "x")
	c.Do("SET", "x", "1")
	rc.Receive()
	c.Do("GET", "x")
	c.Do("FLUSHDB")
	rc.Receive() // the null in the tracking client's protocol (RESP2)
	rc.Do("PING")
}

// TestDifferentialTrackingBcast covers BCAST with prefixes: keys under a
// prefix are reported whether read or not, one message per prefix, NOLOOP
// sparing the client's own writes, and tracking_total_prefixes.
func TestDifferentialTrackingBcast(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	c := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	c2 := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	w := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	c.DoType("HELLO", "3")
	c2.DoType("HELLO", "3")
	c.Do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
	c2.Do("CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "PREFIX", "user:")
	if f1, f2 := flagsOf(t, c.Real), flagsOf(t, c.Ours); f1 != f2 {
		t.Errorf("CLIENT INFO flags: redis %s, replnode %s", f1, f2)
	}
	compareTrackingStats(t, w)
	w.Do("SET", "user:1", "a")
	c.Receive()
	c2.Receive()
	w.Do("SET", "other", "a")
	w.Do("MSET", "obj:2", "x", "obj:1", "y", "user:9", "z")
	c.Receive()
	c.Receive()
	c2.Receive()
	// NOLOOP: c2's own write reaches c only.
	c2.Do("SET", "user:2", "b")
	c.Receive()
	c2.Do("PING")
	c.Do("PING")
	// Keys modified by one pipelined batch go out in one message.
	for _, cl := range []*redistest.Client{w.Real, w.Ours} {
		if err := cl.SendRaw([]byte("SET user:b 1\r\nSET user:a 1\r\nDEL user:b\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	w.Receive()
	w.Receive()
	w.Receive()
	c.Receive()
	c2.Receive()
	c.Do("PING")
	w.Do("FLUSHALL")
	c.Receive()
	c2.Receive()
	c.Do("CLIENT", "TRACKING", "off")
	compareTrackingStats(t, w)
	c2.Do("CLIENT", "TRACKING", "off")
	compareTrackingStats(t, w)
}

// TestDifferentialTrackingOptinOptout covers CLIENT CACHING: OPTIN tracks
// only the command right after CACHING yes (and a MULTI block), OPTOUT
// all but the one after CACHING no.
func TestDifferentialTrackingOptinOptout(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	c := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	w := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	c.DoType("HELLO", "3")
	c.Do("CLIENT", "TRACKING", "on", "OPTIN")
	c.Do("GET", "notcached")
	c.Do("CLIENT", "CACHING", "yes")
	c.Do("CLIENT", "TRACKINGINFO")
	c.Do("GET", "cached")
	c.Do("CLIENT", "TRACKINGINFO")
	c.Do("GET", "notcached2")
	c.Do("CLIENT", "CACHING", "yes")
	c.Do("MULTI")
	c.Do("GET", "m1")
	c.Do("GET", "m2")
	c.Do("EXEC")
	compareTrackingStats(t, w)
	w.Do("MSET", "notcached", "1", "cached", "1", "notcached2", "1", "m1", "1", "m2", "1")
	c.Receive()
	c.Receive()
	c.Receive()
	c.Do("PING")
	c.Do("CLIENT", "TRACKING", "off")
	c.Do("CLIENT", "TRACKING", "on", "OPTOUT")
	c.Do("GET", "o1")
	c.Do("CLIENT", "CACHING", "no")
	c.Do("GET", "o2")
	w.Do("MSET", "o1", "1", "o2", "2")
	c.Receive()
	c.Do("PING")
}

// TestDifferentialTrackingTableMaxKeys checks that tracking-table-max-keys
// evicts keys from the table with an invalidation message.
func TestDifferentialTrackingTableMaxKeys(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	c := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	w := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	c.DoType("HELLO", "3")
	w.Do("CONFIG", "SET", "tracking-table-max-keys", "1")
	c.Do("CLIENT", "TRACKING", "on")
	c.Do("GET", "k1")
	c.Do("GET", "k2") // over the limit: k1 is evicted (the only other key)
	// Which key goes is random in Redis; with two keys and a limit of one,
	// the message names one of them and one key remains.
	for _, cl := range []*redistest.Client{c.Real, c.Ours} {
		r, err := cl.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if s := r.String(); !regexp.MustCompile(`invalidate.*k[12]`).MatchString(s) {
			t.Errorf("eviction message: %s", s)
		}
	}
	compareTrackingStats(t, w)
}

// TestTrackingReplicaStream checks that a write arriving from the master
// invalidates a client tracking the key on the replica.
func TestTrackingReplicaStream(t *testing.T) {
	master := redistest.StartRedis(t, "enable-debug-command yes")
	replica := redistest.StartInProcess(t)
	rc := replica.Dial(t)
	rc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port))
	mc := master.Dial(t)
	mc.MustDo(t, "SET", "rk", "1")
	deadline := time.Now().Add(10 * time.Second)
	for rc.MustDo(t, "GET", "rk").String() != `"1"` {
		if time.Now().After(deadline) {
			t.Fatal("replica never synced")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc.MustDo(t, "HELLO", "3")
	rc.MustDo(t, "CLIENT", "TRACKING", "on")
	rc.MustDo(t, "GET", "rk")
	mc.MustDo(t, "SET", "rk", "2")
	r, err := rc.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != '>' || len(r.Elems) != 2 || r.Elems[0].Str != "invalidate" || len(r.Elems[1].Elems) != 1 || r.Elems[1].Elems[0].Str != "rk" {
		t.Errorf("replica invalidation: %s", r.String())
	}
	mc.MustDo(t, "FLUSHALL")
	expectFlushPush(t, rc, "FLUSHALL from the master")
	// A full resync empties the data set: the flush message again.
	mc.MustDo(t, "DEBUG", "CHANGE-REPL-ID")
	kc := replica.Dial(t)
	kc.MustDo(t, "CLIENT", "KILL", "TYPE", "master")
	expectFlushPush(t, rc, "full resync")
}

// expectFlushPush reads one reply from c and requires the RESP3 flush
// invalidation (a null key list).
func expectFlushPush(t *testing.T, c *redistest.Client, what string) {
	t.Helper()
	r, err := c.Receive()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.Type != '>' || len(r.Elems) != 2 || r.Elems[0].Str != "invalidate" || !r.Elems[1].Null {
		t.Errorf("%s: flush invalidation: %s", what, r.String())
	}
}

// TestDifferentialTrackingBcastRedirectRESP2 sends a BCAST client's
// messages to a RESP2 subscriber of __redis__:invalidate, flush included.
func TestDifferentialTrackingBcastRedirectRESP2(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	c := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	r, o := clientIDs(t, sub)
	sub.Do("SUBSCRIBE", "__redis__:invalidate")
	rr, oo := redirectTo(r, o, "BCAST", "PREFIX", "p:")
	doEach(t, c, rr, oo)
	c.Do("MSET", "p:1", "a", "q:1", "b", "p:0", "c")
	sub.Receive()
	c.Do("DEL", "q:1")
	c.Do("FLUSHDB")
	sub.Receive()
	sub.Do("PING")
	i1, i2 := c.Real.MustDo(t, "CLIENT", "TRACKINGINFO"), c.Ours.MustDo(t, "CLIENT", "TRACKINGINFO")
	if i1.Elems[1].String() != i2.Elems[1].String() || i1.Elems[5].String() != i2.Elems[5].String() || i2.Elems[3].String() != o {
		t.Errorf("TRACKINGINFO:\n redis:    %s\n replnode: %s (redirect want %s)", i1.String(), i2.String(), o)
	}
}
