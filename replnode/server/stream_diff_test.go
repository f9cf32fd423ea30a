package server_test

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestDifferentialStreams requires the same replies, errors included, and
// the same DEBUG DIGEST, XINFO bookkeeping (radix tree shape, entries
// added, max deleted ID, first recorded ID, entries read, lag) and MEMORY
// USAGE as redis-server 7.0 for every stream command. IDs are explicit so
// both servers hold the same entries; "*" is checked for its form only.
func TestDifferentialStreams(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes")
	ours := redistest.StartInProcess(t, "enable-debug-command yes")
	d := redistest.NewDiff(t, real, ours)
	steps := [][]string{
		// XADD: ids, options and their errors
		{"XADD", "s"},
		{"XADD", "s", "1-1"},
		{"XADD", "s", "1-1", "f"},
		{"XADD", "s", "0-0", "f", "v"},
		{"XADD", "s", "0", "f", "v"},
		{"XADD", "s", "-", "f", "v"},
		{"XADD", "s", "+", "f", "v"},
		{"XADD", "s", "abc", "f", "v"},
		{"XADD", "s", "1-x", "f", "v"},
		{"XADD", "s", "-1", "f", "v"},
		{"XADD", "s", "NOMKSTREAM", "1-1", "f", "v"},
		{"EXISTS", "s"},
		{"XADD", "s", "1-1", "f", "v"},
		{"XADD", "s", "1-1", "f", "v"},
		{"XADD", "s", "1-0", "f", "v"},
		{"XADD", "s", "1-*", "f", "v2"},
		{"XADD", "s", "1", "f", "v"},
		{"XADD", "s", "2", "f", "v", "g", "w"},
		{"XADD", "s", "3-*", "a", "1", "b", "2"},
		{"XADD", "s", "3-*", "f", "12345678901234567890123"},
		{"XADD", "s", "5-5", "f", "-100", "g", "4096"},
		{"XADD", "s", "MAXLEN", "10", "MINID", "1", "6-0", "f", "v"},
		{"XADD", "s", "MAXLEN", "-1", "6-0", "f", "v"},
		{"XADD", "s", "MAXLEN", "x", "6-0", "f", "v"},
		{"XADD", "s", "LIMIT", "10", "6-0", "f", "v"},
		{"XADD", "s", "MAXLEN", "10", "LIMIT", "10", "6-0", "f", "v"},
		{"XADD", "s", "MAXLEN", "~", "10", "LIMIT", "-1", "6-0", "f", "v"},
		{"XADD", "s", "MINID", "abc", "6-0", "f", "v"},
		{"XADD", "s", "MINID", "-", "6-0", "f", "v"},
		{"XADD", "s", "6-0", "f", "v", "extra"},
		{"XADD", "s", "18446744073709551615-18446744073709551614", "f", "v"},
		{"XADD", "s", "18446744073709551615-*", "f", "v"},
		{"XADD", "s", "18446744073709551615-*", "f", "v"},
		{"XADD", "s", "*", "f", "v"},
		{"XLEN", "s"},
		// string2ull's strtoull fallback: signs, spaces, leading zeros.
		{"XADD", "ids", "00012-0", "f", "v"},
		{"XADD", "ids", "+13-0", "f", "v"},
		{"XADD", "ids", " 14-0", "f", "v"},
		{"XADD", "ids", "15-+1", "f", "v"},
		{"XADD", "ids", "16--05", "f", "v"},
		{"XADD", "ids", "17--5", "f", "v"},
		{"XADD", "ids", "0x20-0", "f", "v"},
		{"XADD", "ids", "18446744073709551616-0", "f", "v"},
		{"XADD", "ids", "20-18446744073709551616", "f", "v"},
		{"XADD", "ids", "21-1-1", "f", "v"},
		{"XADD", "ids", "22-", "f", "v"},
		{"XADD", "ids", "-23", "f", "v"},
		{"XADD", "ids", "24\x00-1", "f", "v"},
		{"XRANGE", "ids", "-", "+"},
		{"XRANGE", "ids", "(16", "(+"},
		{"XRANGE", "ids", "(", "+"},
		{"XRANGE", "ids", "((13", "+"},
		{"XRANGE", "s", "-", "+"},
		{"XREVRANGE", "s", "+", "-"},
		{"XRANGE", "s", "(1-1", "(5-5"},
		{"XRANGE", "s", "(-", "+"},
		{"XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"},
		{"XRANGE", "s", "-", "(0-0"},
		{"XRANGE", "s", "2", "3"},
		{"XRANGE", "s", "-", "+", "COUNT", "2"},
		{"XRANGE", "s", "-", "+", "COUNT", "0"},
		{"XRANGE", "s", "-", "+", "COUNT", "-1"},
		{"XRANGE", "s", "-", "+", "COUNT"},
		{"XRANGE", "s", "-", "+", "LIMIT", "1"},
		{"XRANGE", "s", "x", "+"},
		{"XREVRANGE", "s", "(5-5", "-", "COUNT", "3"},
		{"XRANGE", "nokey", "-", "+"},
		{"XLEN", "nokey"},
		{"SET", "str", "x"},
		{"XADD", "str", "1-1", "f", "v"},
		{"XRANGE", "str", "-", "+"},
		{"XLEN", "str"},
		{"TYPE", "s"},
		{"OBJECT", "ENCODING", "s"},
		{"DEBUG", "DIGEST-VALUE", "s"},
		// XDEL and the bookkeeping it moves
		{"XDEL", "s", "2-0", "1-1", "99-0"},
		{"XDEL", "s", "x"},
		{"XDEL", "nokey", "1-1"},
		{"XINFO", "STREAM", "s"},
		{"XDEL", "s", "1-2"},
		{"XINFO", "STREAM", "s"},
		{"XSETID", "s", "1-0"},
		{"XSETID", "s", "18446744073709551615-18446744073709551615"},
		{"XSETID", "nokey", "1-0"},
		{"XSETID", "s", "18446744073709551615-18446744073709551615", "ENTRIESADDED", "1"},
		{"XSETID", "s", "18446744073709551615-18446744073709551615", "ENTRIESADDED", "-1"},
		{"XSETID", "s", "1-0", "MAXDELETEDID", "2-0"},
		{"XSETID", "s", "18446744073709551615-18446744073709551615", "ENTRIESADDED", "100", "MAXDELETEDID", "3-0"},
		{"XSETID", "s", "5-0", "FOO"},
		{"XINFO", "STREAM", "s"},
		{"XINFO", "STREAM", "s", "FULL"},
		{"XINFO", "STREAM", "s", "FULL", "COUNT", "2"},
		{"XINFO", "STREAM", "s", "FULL", "COUNT"},
		{"XINFO", "STREAM", "s", "NOPE"},
		{"XINFO", "STREAM", "nokey"},
		{"XINFO", "STREAM", "str"},
		{"XINFO", "HELP"},
		{"XINFO", "HELP", "x"},
		{"XINFO", "NOPE", "s"},
		{"XINFO", "GROUPS", "s"},
		{"XGROUP", "HELP"},
		{"COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"},
		{"COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "STREAMS"},
		{"COMMAND", "GETKEYS", "XREAD", "BLOCK", "0", "STREAMS", "a"},
		{"COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "a", ">"},
		{"COMMAND", "GETKEYS", "XINFO", "STREAMS", "a"},
		{"COMMAND", "GETKEYS", "XINFO", "STREAM", "a", "FULL"},
		{"COMMAND", "GETKEYS", "XINFO", "HELP"},
		{"COMMAND", "GETKEYS", "XINFO"},
		{"COMMAND", "GETKEYS", "XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"},
		{"COMMAND", "GETKEYS", "BLMPOP", "0", "x", "a", "LEFT"},
		{"COMMAND", "GETKEYS", "EVAL", "return 1", "0"},
		{"COMMAND", "GETKEYS", "EVAL", "return 1", "1", "k"},
		{"COMMAND", "GETKEYS", "ZUNION", "0", "a"},
		{"DEBUG", "DIGEST"},
	}
	for _, s := range steps {
		d.Do(s...)
	}

	// Many nodes: trimming by whole nodes (~), exact trimming, LIMIT.
	d.Do("CONFIG", "SET", "stream-node-max-entries", "5")
	for i := 1; i <= 60; i++ {
		args := []string{"XADD", "t", strconv.Itoa(i) + "-1", "f", "v" + strconv.Itoa(i)}
		if i%7 == 0 {
			args = append(args, "other", strconv.Itoa(i*1000))
		}
		d.Do(args...)
	}
	for _, s := range [][]string{
		{"XINFO", "STREAM", "t"},
		{"MEMORY", "USAGE", "t"},
		{"XDEL", "t", "3-1", "4-1", "12-1"},
		{"XTRIM", "t", "MAXLEN", "~", "52"},
		{"XINFO", "STREAM", "t"},
		{"XTRIM", "t", "MAXLEN", "=", "50"},
		{"XINFO", "STREAM", "t"},
		{"XTRIM", "t", "MINID", "~", "20"},
		{"XTRIM", "t", "MINID", "22"},
		{"XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "5"},
		{"XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "10"},
		{"XTRIM", "t", "MAXLEN", "10", "LIMIT", "10"},
		{"XTRIM", "t"},
		{"XTRIM", "t", "FOO"},
		{"XTRIM", "t", "MAXLEN"},
		{"XTRIM", "nokey", "MAXLEN", "1"},
		{"XTRIM", "str", "MAXLEN", "1"},
		{"XINFO", "STREAM", "t"},
		{"XRANGE", "t", "-", "+"},
		{"XREVRANGE", "t", "+", "-", "COUNT", "4"},
		{"XADD", "t", "MAXLEN", "~", "5", "100-1", "f", "v"},
		{"XADD", "t", "MINID", "=", "55", "101-1", "f", "v"},
		{"XINFO", "STREAM", "t"},
		{"MEMORY", "USAGE", "t"},
		{"DEBUG", "DIGEST-VALUE", "t"},
		{"SCAN", "0", "TYPE", "stream", "MATCH", "t"},
		{"SCAN", "0", "TYPE", "STREAM", "MATCH", "s*", "COUNT", "100"},
	} {
		d.Do(s...)
	}

	// Consumer groups. Delivery times are set with XCLAIM TIME so that
	// replies holding them are the same on both servers.
	for _, s := range [][]string{
		{"XGROUP", "CREATE", "nokey", "g", "$"},
		{"XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"},
		{"TYPE", "mk"},
		{"XLEN", "mk"},
		{"XINFO", "STREAM", "mk"},
		{"MEMORY", "USAGE", "mk"},
		{"XGROUP", "CREATE", "mk", "g", "$"},
		{"XGROUP", "CREATE", "mk", "g2", "0", "ENTRIESREAD", "-2"},
		{"XGROUP", "CREATE", "mk", "g2", "0", "ENTRIESREAD", "x"},
		{"XGROUP", "CREATE", "mk", "g2", "0", "FOO"},
		{"XGROUP", "CREATE", "mk", "g2", "abc"},
		{"XGROUP", "CREATE", "str", "g", "$"},
		{"XGROUP", "SETID", "mk", "nog", "0"},
		{"XGROUP", "NOPE", "mk", "g"},
		{"DEL", "q"},
		{"XADD", "q", "1-0", "a", "1"},
		{"XADD", "q", "2-0", "b", "2"},
		{"XADD", "q", "3-0", "c", "3"},
		{"XADD", "q", "4-0", "d", "4"},
		{"XADD", "q", "5-0", "e", "5"},
		{"XGROUP", "CREATE", "q", "g1", "0"},
		{"XGROUP", "CREATE", "q", "g2", "$"},
		{"XGROUP", "CREATE", "q", "g3", "2-0", "ENTRIESREAD", "2"},
		{"XINFO", "GROUPS", "q"},
		{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "q", "0"},
		{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "q", "1-0"},
		{"XREADGROUP", "GROUP", "g1", "carol", "STREAMS", "q", "0"},
		{"XREADGROUP", "GROUP", "g2", "x", "NOACK", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "g9", "x", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "g1", "x", "STREAMS", "q", "$"},
		{"XREADGROUP", "GROUP", "g1", "x", "STREAMS", "q"},
		{"XREADGROUP", "GROUP", "g1", "x", "STREAMS", "nokey", ">"},
		{"XREADGROUP", "GROUP", "g1", "x", "STREAMS", "str", ">"},
		{"XREADGROUP", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "g1", "x", "COUNT", "x", "STREAMS", "q", ">"},
		{"XREAD", "STREAMS", "q", "0"},
		{"XREAD", "COUNT", "2", "STREAMS", "q", "t", "0", "50"},
		{"XREAD", "STREAMS", "q", "$"},
		{"XREAD", "STREAMS", "q", ">"},
		{"XREAD", "GROUP", "g", "c", "STREAMS", "q", "0"},
		{"XREAD", "NOACK", "STREAMS", "q", "0"},
		{"XREAD", "STREAMS", "q"},
		{"XREAD", "STREAMS", "nokey", "0"},
		{"XREAD", "BLOCK", "-1", "STREAMS", "q", "0"},
		{"XREAD", "BLOCK", "x", "STREAMS", "q", "0"},
		{"XREAD", "FOO", "STREAMS", "q", "0"},
		{"XINFO", "GROUPS", "q"},
		{"XPENDING", "q", "g1"},
		{"XPENDING", "q", "g2"},
		{"XPENDING", "q", "nog"},
		{"XPENDING", "nokey", "g"},
		{"XPENDING", "q", "g1", "-", "+"},
		{"XPENDING", "q", "g1", "-", "+", "x"},
		{"XPENDING", "q", "g1", "IDLE", "x", "-", "+", "10"},
		{"XPENDING", "q", "g1", "IDLE", "10", "-", "+"},
		{"XPENDING", "q", "g1", "(9-0", "+", "10"},
		{"XPENDING", "q", "g1", "-", "+", "10", "nobody"},
		{"XACK", "q", "g1", "1-0", "9-9"},
		{"XACK", "q", "g1", "x"},
		{"XACK", "q", "nog", "2-0"},
		{"XACK", "nokey", "g1", "2-0"},
		{"XACK", "str", "g1", "2-0"},
		{"XPENDING", "q", "g1"},
		// XCLAIM: every option; TIME makes delivery times fixed.
		{"XCLAIM", "q", "g1", "dave", "0", "2-0", "TIME", "1000", "RETRYCOUNT", "7"},
		{"XCLAIM", "q", "g1", "dave", "0", "3-0", "4-0", "JUSTID", "TIME", "2000"},
		{"XCLAIM", "q", "g1", "erin", "999999999", "3-0", "JUSTID"},
		{"XCLAIM", "q", "g1", "erin", "0", "1-0", "FORCE", "JUSTID", "TIME", "3000"},
		{"XCLAIM", "q", "g1", "erin", "0", "9-0", "FORCE", "JUSTID"},
		{"XCLAIM", "q", "g1", "erin", "0", "5-0", "LASTID", "10-0", "JUSTID", "TIME", "4000"},
		{"XCLAIM", "q", "g1", "erin", "0", "5-0", "FOO"},
		{"XCLAIM", "q", "g1", "erin", "x", "5-0"},
		{"XCLAIM", "q", "g1", "erin", "0", "5-0", "IDLE", "x"},
		{"XCLAIM", "q", "g1", "erin", "0", "5-0", "TIME", "x"},
		{"XCLAIM", "q", "g1", "erin", "0", "5-0", "RETRYCOUNT", "x"},
		{"XCLAIM", "q", "g1", "erin", "0", "5-0", "LASTID", "x"},
		{"XCLAIM", "q", "nog", "erin", "0", "5-0"},
		{"XCLAIM", "str", "g", "erin", "0", "5-0"},
		{"XPENDING", "q", "g1"},
		{"XINFO", "CONSUMERS", "q", "nog"},
		{"XDEL", "q", "3-0"},
		{"XAUTOCLAIM", "q", "g1", "frank", "0", "0", "COUNT", "2", "JUSTID"},
		{"XAUTOCLAIM", "q", "g1", "frank", "0", "(1-0", "JUSTID"},
		{"XAUTOCLAIM", "q", "g1", "frank", "0", "0", "COUNT", "0"},
		{"XAUTOCLAIM", "q", "g1", "frank", "0", "0", "FOO"},
		{"XAUTOCLAIM", "q", "g1", "frank", "x", "0"},
		{"XAUTOCLAIM", "q", "g1", "frank", "0", "x"},
		{"XAUTOCLAIM", "q", "nog", "frank", "0", "0"},
		{"XAUTOCLAIM", "nokey", "g", "frank", "0", "0"},
		{"XPENDING", "q", "g1"},
		{"XINFO", "GROUPS", "q"},
		{"XGROUP", "SETID", "q", "g2", "0", "ENTRIESREAD", "0"},
		{"XGROUP", "SETID", "q", "g2", "$"},
		{"XGROUP", "SETID", "q", "g2", "1-0", "ENTRIESREAD"},
		{"XGROUP", "SETID", "q", "g2", "1-0", "MKSTREAM"},
		{"XINFO", "GROUPS", "q"},
		{"XGROUP", "CREATECONSUMER", "q", "g1", "zed"},
		{"XGROUP", "CREATECONSUMER", "q", "g1", "zed"},
		{"XGROUP", "CREATECONSUMER", "q", "nog", "zed"},
		{"XGROUP", "DELCONSUMER", "q", "g1", "dave"},
		{"XGROUP", "DELCONSUMER", "q", "g1", "nobody"},
		{"XPENDING", "q", "g1"},
		{"XGROUP", "DESTROY", "q", "g3"},
		{"XGROUP", "DESTROY", "q", "g3"},
		{"XINFO", "GROUPS", "q"},
		{"XADD", "q", "6-0", "f", "6"},
		{"XDEL", "q", "4-0"},
		{"XINFO", "GROUPS", "q"},
		{"XREADGROUP", "GROUP", "g2", "y", "STREAMS", "q", ">"},
		{"XINFO", "GROUPS", "q"},
		{"XINFO", "STREAM", "q"},
		{"MEMORY", "USAGE", "q"},
		{"DEBUG", "DIGEST"},
	} {
		d.Do(s...)
	}
	// Replies with the consumers' own clocks in them: same shape.
	d.DoType("XINFO", "CONSUMERS", "q", "g1")
	d.DoType("XINFO", "STREAM", "q", "FULL")
	d.DoType("XPENDING", "q", "g1", "-", "+", "10")
	d.DoType("XPENDING", "q", "g1", "IDLE", "0", "-", "+", "10", "erin")
	d.DoType("XCLAIM", "q", "g1", "erin", "0", "5-0")
	d.DoType("XAUTOCLAIM", "q", "g1", "frank", "0", "0")
	// "*" is each server's clock: on a key of its own, then dropped.
	d.DoType("XADD", "star", "*", "f", "v")
	d.DoType("XADD", "star", "*", "f", "v")
	d.Do("XLEN", "star")
	d.Do("DEL", "star")
	d.Do("XLEN", "q")

	// Streams among the generic commands, transactions, scripts and RESP3.
	for _, s := range [][]string{
		{"COPY", "q", "qc"},
		{"XINFO", "GROUPS", "qc"},
		{"XPENDING", "qc", "g1"},
		{"DEBUG", "DIGEST-VALUE", "qc"},
		{"XREADGROUP", "GROUP", "g1", "newc", "STREAMS", "qc", "0"},
		{"XPENDING", "q", "g1"},
		{"RENAME", "qc", "qr"},
		{"XLEN", "qr"},
		{"SORT", "qr"},
		{"LPUSH", "qr", "x"},
		{"OBJECT", "ENCODING", "qr"},
		{"TYPE", "qr"},
		{"MULTI"},
		{"XREAD", "BLOCK", "0", "STREAMS", "qr", "$"},
		{"XREADGROUP", "GROUP", "g1", "c", "BLOCK", "0", "STREAMS", "qr", ">"},
		{"XADD", "qr", "999-0", "a", "b"},
		{"EXEC"},
		{"EVAL", "return redis.call('XREAD','BLOCK','0','STREAMS','qr','$')", "0"},
		{"EVAL", "return redis.call('XREADGROUP','GROUP','g1','c','BLOCK','0','STREAMS','qr','>')", "0"},
		{"EVAL", "return redis.call('XADD','qr','1000-0','x','y')", "0"},
		{"EVAL", "return redis.call('XRANGE','qr','-','+')", "0"},
		{"XREAD", "STREAMS", "q", "qr", "0", "0"},
		{"RESP3"},
		{"XREAD", "COUNT", "2", "STREAMS", "q", "qr", "0", "0"},
		{"XREADGROUP", "GROUP", "g1", "r3", "COUNT", "1", "STREAMS", "qr", ">"},
		{"TYPEONLY", "XINFO", "STREAM", "qr", "FULL", "COUNT", "1"}, // seen-times
		{"XREAD", "STREAMS", "nokey", "0"},
		{"XINFO", "STREAM", "qr"},
		{"XINFO", "GROUPS", "qr"},
		{"XPENDING", "qr", "g1"},
		{"XRANGE", "qr", "-", "+", "COUNT", "0"},
		{"XADD", "nokey", "NOMKSTREAM", "1-1", "a", "b"},
		{"XAUTOCLAIM", "qr", "g1", "z", "0", "0", "JUSTID"},
		{"RESP2"},
		{"DEBUG", "RELOAD"},
		{"DEBUG", "DIGEST"},
		{"XINFO", "STREAM", "t"},
		{"XINFO", "GROUPS", "q"},
	} {
		switch s[0] {
		case "RESP3", "RESP2": // HELLO's client id differs: compare the switch's effect only
			d.DoType("HELLO", s[0][4:])
		case "TYPEONLY":
			d.DoType(s[1:]...)
		default:
			d.Do(s...)
		}
	}

	// DUMP payloads are byte for byte Redis's (uncompressed: the listpacks
	// and the group data as Redis lays them out); each server restores
	// the other's.
	d.Do("CONFIG", "SET", "rdbcompression", "no")
	for _, key := range []string{"s", "t", "q", "mk"} {
		a := real.Dial(t).MustDo(t, "DUMP", key)
		b := ours.Dial(t).MustDo(t, "DUMP", key)
		// q's consumers carry each server's own seen-time.
		if key != "q" && a.Str != b.Str {
			t.Errorf("DUMP %s differs:\nredis    %q\nreplnode %q", key, a.Str, b.Str)
		}
		d.Do("RESTORE", key+"-copy", "0", a.Str)
		d.Do("XINFO", "STREAM", key+"-copy")
		d.Do("DEBUG", "DIGEST-VALUE", key+"-copy")
	}
	d.Do("DEBUG", "DIGEST")
}

// streamBlockCase is one blocking scenario: setup on the actor, waiters
// that block in order, then acts; every waiter's reply is compared.
type streamBlockCase struct {
	name    string
	setup   [][]string
	waiters [][]string
	acts    [][]string
}

// TestDifferentialStreamBlocking: blocked XREAD / XREADGROUP are served in
// Redis's order by XADD (also inside MULTI), get Redis's errors when their
// group is destroyed or their stream deleted or replaced, and time out with
// a null reply; the commandstats of the blocked command count it once, when
// it ends, failed when it ended with an error.
func TestDifferentialStreamBlocking(t *testing.T) {
	real := redistest.StartRedis(t)
	ours := redistest.StartInProcess(t)
	// Many waited keys switch off replnode's sweep for keys that change
	// without a signal: the deletion must be noticed all the same.
	var manyKeys []string
	for i := 0; i < 200; i++ {
		manyKeys = append(manyKeys, "filler:"+strconv.Itoa(i))
	}
	cases := []streamBlockCase{
		{"served in order by one XADD",
			[][]string{{"XADD", "s", "1-0", "a", "1"}, {"XGROUP", "CREATE", "s", "g", "$"}},
			[][]string{
				{"XREAD", "BLOCK", "0", "STREAMS", "s", "$"},
				{"XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"},
				{"XREAD", "BLOCK", "0", "COUNT", "5", "STREAMS", "other", "s", "0", "1-0"},
			},
			[][]string{{"XADD", "s", "2-0", "b", "2"}, {"XPENDING", "s", "g"}}},
		{"a group reader left nothing for the next one",
			[][]string{{"XADD", "s", "1-0", "a", "1"}, {"XGROUP", "CREATE", "s", "g", "$"}},
			[][]string{
				{"XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"},
				{"XREADGROUP", "GROUP", "g", "c2", "BLOCK", "100", "STREAMS", "s", ">"},
			},
			[][]string{{"XADD", "s", "2-0", "b", "2"}}},
		{"one entry each from a transaction",
			[][]string{{"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}},
			[][]string{
				{"XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">"},
				{"XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "NOACK", "BLOCK", "0", "STREAMS", "s", ">"},
			},
			[][]string{{"MULTI"}, {"XADD", "s", "1-0", "a", "1"}, {"XADD", "s", "2-0", "b", "2"}, {"XADD", "s", "3-0", "c", "3"}, {"EXEC"}, {"XINFO", "GROUPS", "s"}}},
		{"added then deleted in a transaction",
			[][]string{{"XADD", "s", "1-0", "a", "1"}},
			[][]string{{"XREAD", "BLOCK", "0", "STREAMS", "s", "$"}},
			[][]string{{"MULTI"}, {"XADD", "s", "2-0", "b", "2"}, {"XDEL", "s", "2-0"}, {"EXEC"}}},
		{"group destroyed",
			[][]string{{"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}},
			[][]string{{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"}},
			[][]string{{"XGROUP", "DESTROY", "s", "g"}}},
		{"stream deleted",
			[][]string{{"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}},
			[][]string{
				{"XREAD", "BLOCK", "300", "STREAMS", "s", "$"},
				{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"},
			},
			[][]string{{"DEL", "s"}}},
		{"stream deleted, with many waited keys",
			[][]string{{"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}},
			[][]string{
				append(append([]string{"BLPOP"}, manyKeys...), "0"),
				{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"},
			},
			[][]string{{"DEL", "s"}, {"RPUSH", "filler:7", "x"}}},
		{"stream replaced by a string",
			[][]string{{"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}},
			[][]string{{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"}},
			[][]string{{"SET", "s", "x"}}},
		{"a deleted last entry does not serve a reader past it",
			[][]string{{"XADD", "s", "666", "f", "v"}, {"XADD", "s", "667", "f2", "v2"}, {"XDEL", "s", "667"}},
			[][]string{{"XREAD", "BLOCK", "50", "STREAMS", "s", "666"}},
			[][]string{{"XADD", "other", "1-1", "a", "b"}}},
		{"CLIENT UNBLOCK",
			[][]string{{"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}},
			[][]string{
				{"XREAD", "BLOCK", "0", "STREAMS", "s", "$"},
				{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"},
			},
			[][]string{{"CLIENT", "UNBLOCK", "$W0", "TIMEOUT"}, {"CLIENT", "UNBLOCK", "$W1", "ERROR"}, {"CLIENT", "UNBLOCK", "$W1"}}},
		{"timeout",
			nil,
			[][]string{{"XREAD", "BLOCK", "50", "STREAMS", "s", "$"}},
			nil},
	}
	for _, c := range cases {
		var got [2][]string
		for i, in := range []*redistest.Instance{real, ours} {
			actor := in.Dial(t)
			actor.MustDo(t, "FLUSHALL")
			actor.MustDo(t, "CONFIG", "RESETSTAT")
			for _, s := range c.setup {
				actor.MustDo(t, s...)
			}
			var ws []*redistest.Client
			ids := map[string]string{}
			for n, w := range c.waiters {
				wc := in.Dial(t)
				ids["$W"+strconv.Itoa(n)] = strconv.FormatInt(wc.MustDo(t, "CLIENT", "ID").Int, 10)
				if err := wc.Send(w...); err != nil {
					t.Fatal(err)
				}
				waitBlockedClients(t, actor, n+1)
				ws = append(ws, wc)
			}
			for _, a := range c.acts {
				a = append([]string(nil), a...)
				for j, x := range a {
					if id, ok := ids[x]; ok {
						a[j] = id
					}
				}
				r, err := actor.Do(a...)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = append(got[i], r.String())
			}
			for _, wc := range ws {
				r, err := wc.Receive()
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				got[i] = append(got[i], r.String())
			}
			var stats []string
			for _, l := range strings.Split(actor.MustDo(t, "INFO", "commandstats").Str, "\n") {
				if strings.HasPrefix(l, "cmdstat_xread") {
					stats = append(stats, strings.TrimSpace(l[:strings.Index(l, "usec=")])+strings.TrimSpace(l[strings.Index(l, ",rejected"):]))
				}
			}
			sort.Strings(stats) // INFO lists them in hash table order
			got[i] = append(got[i], stats...)
		}
		if a, b := strings.Join(got[0], "\n"), strings.Join(got[1], "\n"); a != b {
			t.Errorf("%s:\n--- redis\n%s\n--- replnode\n%s", c.name, a, b)
		}
	}
}

// TestDifferentialStreamNotifications compares the keyspace events of the
// stream commands with redis-server 7.0.
func TestDifferentialStreamNotifications(t *testing.T) {
	real := redistest.StartRedis(t, "notify-keyspace-events KEA")
	ours := redistest.StartInProcess(t, "notify-keyspace-events KEA")
	sub := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	cmd := redistest.NewDiffClients(t, real.Dial(t), ours.Dial(t))
	sub.Do("PSUBSCRIBE", "__key*@0__:*")
	for _, args := range [][]string{
		{"XADD", "s", "1-0", "a", "1"},
		{"XADD", "s", "MAXLEN", "1", "2-0", "a", "2"},
		{"XADD", "s", "MAXLEN", "5", "3-0", "a", "3"},
		{"XADD", "s", "1-0", "a", "1"},
		{"XADD", "nos", "NOMKSTREAM", "1-0", "a", "1"},
		{"XTRIM", "s", "MAXLEN", "1"},
		{"XTRIM", "s", "MAXLEN", "1"},
		{"XDEL", "s", "3-0", "9-9"},
		{"XDEL", "s", "9-9"},
		{"XADD", "s", "4-0", "a", "4"},
		{"XGROUP", "CREATE", "s", "g", "0"},
		{"XGROUP", "CREATE", "s", "g", "0"},
		{"XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"},
		{"XGROUP", "SETID", "s", "g", "0"},
		{"XGROUP", "CREATECONSUMER", "s", "g", "c"},
		{"XGROUP", "CREATECONSUMER", "s", "g", "c"},
		{"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"},
		{"XCLAIM", "s", "g", "c3", "0", "4-0"},
		{"XAUTOCLAIM", "s", "g", "c4", "0", "0"},
		{"XACK", "s", "g", "4-0"},
		{"XGROUP", "DELCONSUMER", "s", "g", "c"},
		{"XGROUP", "DESTROY", "s", "g"},
		{"XSETID", "s", "10-0"},
		{"DEL", "s"},
	} {
		cmd.Do(args...)
		cmd.Do("PUBLISH", "__keyspace@0__:marker", "end")
		for {
			r := sub.Receive()
			if strings.Contains(r.String(), "marker") {
				break
			}
		}
	}
}

// TestDifferentialStreamRandomOps drives both servers through the same
// random XADD / XDEL / XTRIM / group sequence over small nodes and compares,
// after every write, the reply and XINFO STREAM (node count and radix tree
// shape included), and regularly MEMORY USAGE and the DUMP payload (the
// listpacks byte for byte).
func TestDifferentialStreamRandomOps(t *testing.T) {
	real := redistest.StartRedis(t, "enable-debug-command yes", "rdbcompression no", "stream-node-max-entries 6", "stream-node-max-bytes 300")
	ours := redistest.StartInProcess(t, "enable-debug-command yes", "rdbcompression no", "stream-node-max-entries 6", "stream-node-max-bytes 300")
	d := redistest.NewDiff(t, real, ours)
	rnd := rand.New(rand.NewPCG(7, 11))
	ms := 1
	// r2 never gets groups, so its DUMP holds no consumer seen-times and
	// is compared byte for byte.
	key := func() string { return "r" + strconv.Itoa(rnd.IntN(3)) }
	groupKey := func() string { return "r" + strconv.Itoa(rnd.IntN(2)) }
	idAt := func() string { return strconv.Itoa(1+rnd.IntN(ms+2)) + "-" + strconv.Itoa(rnd.IntN(3)) }
	for i := 0; i < 1500; i++ {
		k := key()
		var args []string
		switch n := rnd.IntN(20); {
		case n < 9:
			ms += rnd.IntN(2)
			args = []string{"XADD", k, strconv.Itoa(ms) + "-*"}
			nf := 1 + rnd.IntN(3)
			for f := 0; f < nf; f++ {
				field := []string{"a", "b", "c", "17", "-5"}[rnd.IntN(5)]
				args = append(args, field, strings.Repeat("v", rnd.IntN(40))+strconv.Itoa(rnd.IntN(100000)))
			}
			if rnd.IntN(5) == 0 {
				args = append(args[:2], append([]string{"MAXLEN", "~", strconv.Itoa(rnd.IntN(30))}, args[2:]...)...)
			}
		case n < 13:
			args = []string{"XDEL", k, idAt(), idAt()}
		case n < 14:
			args = []string{"XTRIM", k, "MAXLEN", []string{"=", "~"}[rnd.IntN(2)], strconv.Itoa(rnd.IntN(40))}
		case n < 15:
			args = []string{"XTRIM", k, "MINID", []string{"=", "~"}[rnd.IntN(2)], idAt(), "LIMIT", strconv.Itoa(rnd.IntN(12))}
			if args[3] == "=" {
				args = args[:5]
			}
		case n < 16:
			k = groupKey()
			args = []string{"XGROUP", "CREATE", k, "g", idAt(), "MKSTREAM"}
		case n < 18:
			k = groupKey()
			args = []string{"XREADGROUP", "GROUP", "g", "c" + strconv.Itoa(rnd.IntN(3)), "COUNT", strconv.Itoa(1 + rnd.IntN(4)), "STREAMS", k, ">"}
		case n < 19:
			k = groupKey()
			args = []string{"XACK", k, "g", idAt(), idAt()}
		default:
			k = groupKey()
			args = []string{"XAUTOCLAIM", k, "g", "c9", "0", idAt(), "COUNT", "3", "JUSTID"}
		}
		d.Do(args...)
		d.Do("XINFO", "STREAM", k)
		d.Do("XINFO", "GROUPS", k)
		if i%10 == 0 {
			d.Do("MEMORY", "USAGE", k)
			a, _ := d.Real.Do("DUMP", "r2")
			b, _ := d.Ours.Do("DUMP", "r2")
			if a.Str != b.Str {
				t.Fatalf("step %d: DUMP r2 differs:\n%q\n%q", i, a.Str, b.Str)
			}
		}
		if t.Failed() {
			t.Fatalf("stopped at step %d (%q)", i, args)
		}
	}
	d.Do("DEBUG", "DIGEST")
}
