package server_test

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialOffsetOverflow drives every offset, length and count
// argument to the int64 edges: the node must answer what redis-server 7.0
// answers and never panic (a panic in the in-process server fails the test).
func TestDifferentialOffsetOverflow(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	d := redistest.NewDiff(t, real, ours)
	const max, min = "9223372036854775807", "-9223372036854775808"
	steps := [][]string{
		{"SET", "s", "hello"},
		{"RPUSH", "l", "a", "b", "a", "c", "a"},
		{"SADD", "set", "a", "b", "c"},
		{"HSET", "h", "a", "1", "b", "2"},
		{"ZADD", "z", "1", "a", "2", "b", "3", "c"},
		// strings
		{"SETRANGE", "s", max, "x"},
		{"SETRANGE", "new", max, "x"},
		{"SETRANGE", "s", "9223372036854775806", "xy"},
		{"SETRANGE", "s", "536870911", "xy"},
		{"SETRANGE", "s", min, "x"},
		{"GET", "s"},
		{"EXISTS", "new"},
		{"GETRANGE", "s", min, max},
		{"GETRANGE", "s", max, min},
		{"GETRANGE", "s", min, min},
		{"GETRANGE", "s", "-1", max},
		{"SUBSTR", "s", "1", max},
		{"SETBIT", "b", max, "1"},
		{"SETBIT", "b", min, "1"},
		{"SETBIT", "b", "4294967295", "1"},
		{"SETBIT", "b", "4294967296", "1"},
		{"GETBIT", "s", max},
		{"BITCOUNT", "s", min, max},
		{"BITCOUNT", "s", min, max, "BIT"},
		{"BITPOS", "s", "1", min, max},
		{"BITPOS", "s", "0", min, max, "BIT"},
		// lists
		{"LRANGE", "l", min, max},
		{"LRANGE", "l", max, min},
		{"LRANGE", "l", "-1", max},
		{"LINDEX", "l", min},
		{"LINDEX", "l", max},
		{"LSET", "l", min, "x"},
		{"LPOS", "l", "a", "RANK", min},
		{"LPOS", "l", "a", "RANK", max},
		{"LPOS", "l", "a", "RANK", "-9223372036854775807"},
		{"LPOS", "l", "a", "COUNT", max},
		{"LPOS", "l", "a", "COUNT", min},
		{"LPOS", "l", "a", "MAXLEN", max},
		{"LPOS", "l", "a", "MAXLEN", min},
		{"LPOS", "l", "a", "RANK", "-1", "COUNT", max, "MAXLEN", max},
		{"LPOP", "l", min},
		{"LMPOP", "1", "l", "LEFT", "COUNT", max},
		{"SORT", "l", "LIMIT", "1", max, "ALPHA"},
		{"SORT", "l", "LIMIT", max, max, "ALPHA"},
		{"SORT", "l", "LIMIT", min, max, "ALPHA"},
		{"SORT", "l", "LIMIT", "1", min, "ALPHA"},
		{"SORT", "z", "LIMIT", "1", max},
		{"SORT", "z", "LIMIT", "1", max, "BY", "nosort"},
		{"SORT", "l", "LIMIT", "1", max, "BY", "nosort"},
		{"SORT", "l", "LIMIT", "1", max, "BY", "nosort", "DESC"},
		{"LTRIM", "l", min, max},
		{"LRANGE", "l", "0", "-1"},
		{"LTRIM", "l", "1", max},
		{"LRANGE", "l", "0", "-1"},
		{"RPUSH", "l2", "a", "b", "a", "c", "a"},
		{"LREM", "l2", min, "a"},
		{"LRANGE", "l2", "0", "-1"},
		{"RPUSH", "l3", "a", "b", "a", "c", "a"},
		{"LREM", "l3", max, "a"},
		{"LRANGE", "l3", "0", "-1"},
		// sets, hashes, sorted sets
		{"SRANDMEMBER", "set", min},
		{"SPOP", "set", min},
		{"HRANDFIELD", "h", min},
		{"HRANDFIELD", "h", max},
		{"HRANDFIELD", "h", min, "WITHVALUES"},
		{"HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"},
		{"HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"},
		{"ZRANDMEMBER", "z", min},
		{"ZRANDMEMBER", "z", min, "WITHSCORES"},
		{"ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"},
		{"ZRANGE", "z", min, max},
		{"ZRANGE", "z", max, min},
		{"ZRANGE", "z", "0", "-1", "REV"},
		{"ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", max, max},
		{"ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", min},
		{"ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", min, max},
		{"ZREMRANGEBYRANK", "z", max, min},
		{"ZREVRANGE", "z", min, max},
		{"ZRANGESTORE", "zd", "z", min, max},
		{"ZREMRANGEBYRANK", "z", min, max},
		{"EXISTS", "z"},
		{"SINTERCARD", "1", "set", "LIMIT", max},
		{"ZINTERCARD", "1", "z", "LIMIT", max},
		{"EXPIRE", "s", max},
		{"EXPIRE", "s", min},
		{"PEXPIRE", "s", max},
		{"INCRBY", "s2", max},
		{"INCRBY", "s2", "1"},
		{"DECRBY", "s3", min},
		{"OBJECT", "FREQ", "s"},
	}
	for _, s := range steps {
		d.Do(s...)
	}
	// Whole-value replies come in each server's own order.
	d.DoSorted("SRANDMEMBER", "set", max)
	d.DoSorted("ZRANDMEMBER", "z", max)
	d.DoSorted("HRANDFIELD", "h", max)
}

// TestRandomCountBounded: a repeating random count whose reply cannot be
// built is refused instead of allocating 2^63 picks (Redis itself runs out
// of memory on it).
func TestRandomCountBounded(t *testing.T) {
	ours := redistest.StartInProcess(t)
	c := ours.Dial(t)
	c.MustDo(t, "SADD", "set", "a")
	c.MustDo(t, "HSET", "h", "a", "1")
	c.MustDo(t, "ZADD", "z", "1", "a")
	for _, args := range [][]string{
		{"SRANDMEMBER", "set", "-9223372036854775807"},
		{"HRANDFIELD", "h", "-9223372036854775807"},
		{"HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES"},
		{"ZRANDMEMBER", "z", "-9223372036854775807"},
		{"ZRANDMEMBER", "z", "-4611686018427387903", "WITHSCORES"},
	} {
		r, err := c.Do(args...)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if got := r.String(); got != "(error) ERR value is out of range" {
			t.Errorf("%q: %s", args, got)
		}
	}
	if r := c.MustDo(t, "SRANDMEMBER", "set", "-3"); len(r.Elems) != 3 {
		t.Errorf("SRANDMEMBER set -3: %s", r.String())
	}
}

// TestDifferentialLCSMemoryBound: LCS refuses inputs whose table would
// exceed proto-max-bulk-len exactly where Redis does (the limit lowered so
// the table is small), and answers LEN, the string and IDX the same below.
func TestDifferentialLCSMemoryBound(t *testing.T) {
	real := redistest.StartRedis(t, "proto-max-bulk-len 1mb")
	ours := redistest.StartInProcess(t, "proto-max-bulk-len 1mb")
	d := redistest.NewDiff(t, real, ours)
	// 1mb = 1048576 bytes = 262144 cells = 512*512: 511x511 fits, 512x512 not.
	for _, n := range []int{511, 512, 600} {
		a := strings.Repeat("ab", n/2) + strings.Repeat("c", n%2)
		b := strings.Repeat("ba", n/2) + strings.Repeat("c", n%2)
		d.Do("SET", "a", a)
		d.Do("SET", "b", b)
		d.Do("LCS", "a", "b", "LEN")
		d.Do("LCS", "a", "b")
		d.Do("LCS", "a", "b", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN")
	}
	d.Do("SET", "a", "ohmytext")
	d.Do("SET", "b", "mynewtext")
	d.Do("LCS", "a", "b", "LEN")
	d.Do("LCS", "a", "b")
	d.Do("LCS", "a", "nosuch", "LEN")
}

// TestDifferentialBlockedMoveToWrongType: a client blocked in BRPOPLPUSH or
// BLMOVE whose destination holds a string when the source gets an element
// is answered -WRONGTYPE; the element stays in the source and goes to the
// next client blocked on it, in order.
func TestDifferentialBlockedMoveToWrongType(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, move := range [][]string{
		{"BRPOPLPUSH", "src", "dst", "0"},
		{"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"},
	} {
		var got [2][]string
		for i, in := range []*redistest.Instance{real, ours} {
			actor := in.Dial(t)
			actor.MustDo(t, "FLUSHALL")
			actor.MustDo(t, "SET", "dst", "string")
			mover, popper, mover2 := in.Dial(t), in.Dial(t), in.Dial(t)
			for n, w := range []struct {
				c    *redistest.Client
				args []string
			}{{mover, move}, {popper, []string{"BLPOP", "src", "0"}}, {mover2, move}} {
				if err := w.c.Send(w.args...); err != nil {
					t.Fatal(err)
				}
				waitBlockedClients(t, actor, n+1)
			}
			actor.MustDo(t, "RPUSH", "src", "a")
			for _, c := range []*redistest.Client{mover, popper} {
				c.Timeout = 5 * time.Second
				r, err := c.Receive()
				if err != nil {
					t.Fatalf("%s: waiter got no reply: %v", move[0], err)
				}
				got[i] = append(got[i], r.String())
			}
			// mover2 is still blocked; a second element also fails it.
			waitBlockedClients(t, actor, 1)
			actor.MustDo(t, "RPUSH", "src", "b")
			mover2.Timeout = 5 * time.Second
			r, err := mover2.Receive()
			if err != nil {
				t.Fatalf("%s: second mover got no reply: %v", move[0], err)
			}
			got[i] = append(got[i], r.String(), actor.MustDo(t, "LRANGE", "src", "0", "-1").String(),
				actor.MustDo(t, "GET", "dst").String(), actor.MustDo(t, "INFO", "clients").String())
			got[i][len(got[i])-1] = strconv.FormatBool(strings.Contains(got[i][len(got[i])-1], "blocked_clients:0"))
		}
		if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
			t.Errorf("%s:\n redis:    %q\n replnode: %q", move[0], got[0], got[1])
		}
	}
}

// TestDifferentialReplyOffStillPushes: with CLIENT REPLY OFF (or SKIP)
// replies are dropped but pushes are not: (un)subscribe confirmations,
// pub/sub messages, keyspace notifications and tracking invalidations,
// including those a client's own command causes, in RESP2 and RESP3, for
// classic and shard channels alike.
func TestDifferentialReplyOffStillPushes(t *testing.T) {
	real := redistest.StartRedis(t, "notify-keyspace-events KEA")
	ours := redistest.StartInProcess(t, "notify-keyspace-events KEA")
	scripts := map[string][][]string{
		"resp2 subscribe": {
			{"CLIENT", "REPLY", "OFF"},
			{"SUBSCRIBE", "ch", "other"},
			{"PSUBSCRIBE", "c*"},
			{"PING"},
			{"UNSUBSCRIBE", "other"},
			{"PUNSUBSCRIBE"},
			{"UNSUBSCRIBE"},
		},
		"resp3 shard": {
			{"HELLO", "3"},
			{"CLIENT", "REPLY", "OFF"},
			{"SSUBSCRIBE", "sch", "sother"},
			{"SPUBLISH", "sch", "to-myself"},
			{"SUNSUBSCRIBE", "sother"},
			{"SUNSUBSCRIBE"},
			{"SUNSUBSCRIBE"},
		},
		"resp3 skip": {
			{"HELLO", "3"},
			{"SUBSCRIBE", "ch"},
			{"CLIENT", "REPLY", "SKIP"},
			{"PUBLISH", "ch", "reply-skipped"},
			{"PUBLISH", "ch", "reply-kept"},
		},
		"resp3 self": {
			{"HELLO", "3"},
			{"CLIENT", "REPLY", "OFF"},
			{"SUBSCRIBE", "ch"},
			{"PUBLISH", "ch", "to-myself"},
			{"SUBSCRIBE", "__keyspace@0__:k"},
			{"SET", "k", "v"},
			{"CLIENT", "TRACKING", "on"},
			{"GET", "t"},
			{"SET", "t", "1"},
			{"MULTI"},
			{"PUBLISH", "ch", "in-exec"},
			{"SET", "k", "w"},
			{"EXEC"},
			{"CLIENT", "REPLY", "SKIP"},
			{"PUBLISH", "ch", "skipped-reply"},
			{"PUBLISH", "ch", "not-skipped"},
			{"CLIENT", "REPLY", "OFF"},
			{"GET", "t"},
			{"FLUSHALL"},
		},
	}
	for name, script := range scripts {
		var got [2][]string
		for i, in := range []*redistest.Instance{real, ours} {
			c := in.Dial(t)
			c.Timeout = 5 * time.Second
			for _, args := range script {
				if err := c.Send(args...); err != nil {
					t.Fatal(err)
				}
			}
			// Messages from another client arrive too.
			other := in.Dial(t)
			if name == "resp2 subscribe" {
				other.MustDo(t, "PUBLISH", "ch", "from-other")
			}
			if err := c.Send("CLIENT", "REPLY", "ON"); err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 100; n++ {
				r, err := c.Receive()
				if err != nil {
					t.Fatalf("%s: %v after %q", name, err, got[i])
				}
				if strings.HasPrefix(r.String(), `{"server"`) {
					continue // HELLO: the client ids differ
				}
				got[i] = append(got[i], r.String())
				if r.String() == "OK" {
					break
				}
			}
			c.Close()
			other.MustDo(t, "FLUSHALL")
		}
		if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
			t.Errorf("%s:\n redis:\n  %s\n replnode:\n  %s", name, strings.Join(got[0], "\n  "), strings.Join(got[1], "\n  "))
		}
	}
}

// TestDifferentialRestoreCorruptPayloads corrupts DUMP payloads of every
// packed encoding one byte at a time (checksum fixed up) and requires
// RESTORE under sanitize-dump-payload yes to accept or refuse each exactly
// as Redis 7.0 does, and an accepted value to digest the same: a corrupt
// value never enters the keyspace.
func TestDifferentialRestoreCorruptPayloads(t *testing.T) {
	conf := []string{"sanitize-dump-payload yes", "enable-debug-command yes"}
	real := redistest.StartRedis(t, conf...)
	ours := redistest.StartInProcess(t, conf...)
	d := redistest.NewDiff(t, real, ours)
	setup := [][]string{
		{"HSET", "hash", "f1", "v1", "f2", "12345", "f3", "-7"},
		{"ZADD", "zset", "1.5", "a", "2", "b", "-3", "c"},
		{"RPUSH", "list", "x", "200", "yy", "-70000"},
		{"SADD", "intset", "1", "2", "300", "-70000"},
		{"SET", "str", "hello"},
		{"SET", "num", "123456"},
	}
	for _, s := range setup {
		d.Do(s...)
	}
	for _, key := range []string{"hash", "zset", "list", "intset", "str", "num"} {
		dump, err := real.Dial(t).Do("DUMP", key)
		if err != nil {
			t.Fatal(err)
		}
		orig := []byte(dump.Str)
		body := len(orig) - 10
		mismatches := 0
		for pos := 0; pos < body && mismatches < 5; pos++ {
			for _, mutate := range []func(byte) byte{
				func(b byte) byte { return b ^ 0xff },
				func(b byte) byte { return b + 1 },
				func(b byte) byte { return b - 1 },
				func(b byte) byte { return b ^ 0x80 },
			} {
				p := bytes.Clone(orig)
				p[pos] = mutate(p[pos])
				binary.LittleEndian.PutUint64(p[len(p)-8:], rdb.CRC64(0, p[:len(p)-8]))
				args := []string{"RESTORE", "r", "0", string(p), "REPLACE"}
				r1, err1 := d.Real.Do(args...)
				r2, err2 := d.Ours.Do(args...)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s byte %d: %v / %v", key, pos, err1, err2)
				}
				if r1.String() != r2.String() {
					mismatches++
					t.Errorf("%s byte %d = 0x%02x: redis %s, replnode %s (payload %x)", key, pos, p[pos], r1.String(), r2.String(), p)
					continue
				}
				if r1.Type != '-' {
					d.Do("DEBUG", "DIGEST-VALUE", "r")
					d.Do("TYPE", "r")
				}
			}
		}
	}
}

// TestDifferentialMultibulkLineEnd: a multibulk count line ends at its
// '\r', whatever byte follows (Redis assumes '\n'); a '\n' before any '\r'
// does not end it (found by FuzzParser). Inline lines end at a NUL.
func TestDifferentialMultibulkLineEnd(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	for _, raw := range []string{
		"*1\rX$4\r\nPING\r\n",
		"*-1\r0*1\r\n$4\r\nPING\r\n",
		"*1\n\r\n$4\r\nPING\r\n",
		// Inline commands are split as C strings: a NUL ends the line
		// outside quotes and leaves quotes unterminated inside them
		// (found by FuzzConfigParse, whose lines split the same way).
		"ECHO a\x00b c\r\n",
		"ECHO \"a\x00\"\r\n",
		"ECHO 'a'\x00\r\n",
		"\x00ECHO a\r\nPING\r\n",
	} {
		var got [2]string
		for i, in := range []*redistest.Instance{real, ours} {
			c := in.Dial(t)
			c.Timeout = 500 * time.Millisecond // no reply is an outcome too
			if err := c.SendRaw([]byte(raw)); err != nil {
				t.Fatal(err)
			}
			r, err := c.Receive()
			got[i] = r.String()
			if err != nil {
				got[i] = "no reply"
			}
			c.Close()
		}
		if got[0] != got[1] {
			t.Errorf("%q:\n redis:    %s\n replnode: %s", raw, got[0], got[1])
		}
	}
}
