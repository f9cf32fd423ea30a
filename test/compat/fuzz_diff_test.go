package compat

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ------ DIFFERENTIAL FUZZER ------
//
// TestDifferentialFuzz sends the same random command sequences to a fresh
// redis-server 7.0 and a fresh replnode and compares every reply, then the
// datasets (DEBUG DIGEST). Commands are generated from the argument specs
// of replnode's command table (replnode/server/command_meta.json, the same
// docs COMMAND DOCS serves) over a small key space shared by all data
// types, with hostile values. Plain `go test` runs the fixed seed list
// below; FUZZ_DIFF_DURATION (a Go duration, e.g. 10m) keeps drawing new
// seeds until it has passed; FUZZ_DIFF_SEED runs one seed (to reproduce).

// fuzzSeeds and fuzzStepsPerSeed bound the default run (~1-2 minutes on a
// loaded machine).
const (
	fuzzSeeds        = 2000
	fuzzStepsPerSeed = 400
)

// fuzzGroups are the command groups fuzzed: the data commands.
var fuzzGroups = map[string]bool{
	"string": true, "list": true, "set": true, "sorted-set": true, "hash": true, "generic": true, "bitmap": true,
	"stream": true,
}

// fuzzExtra are commands from other groups that are deterministic and
// leave the connection in a state the fuzzer follows (SELECT is reset at
// each seed's start; DEBUG DIGEST covers every database).
var fuzzExtra = map[string]bool{"dbsize": true, "echo": true, "ping": true,
	"select": true, "swapdb": true, "flushdb": true}

// fuzzDefaultLimits and fuzzTinyLimits are the encoding limits a seed runs
// with: Redis 7.0's defaults, or small enough for a few elements to convert
// listpacks and intsets.
var (
	fuzzDefaultLimits = []string{"hash-max-listpack-entries", "128", "hash-max-listpack-value", "64",
		"set-max-intset-entries", "512", "zset-max-listpack-entries", "128", "zset-max-listpack-value", "64",
		"list-max-listpack-size", "-2"}
	fuzzTinyLimits = []string{"hash-max-listpack-entries", "3", "hash-max-listpack-value", "4",
		"set-max-intset-entries", "3", "zset-max-listpack-entries", "3", "zset-max-listpack-value", "4",
		"list-max-listpack-size", "3"}
)

// fuzzSkipped are the commands of fuzzGroups that are not fuzzed, each with
// its reason: their replies differ between two correct servers.
var fuzzSkipped = map[string]string{
	"randomkey":       "random pick",
	"srandmember":     "random pick",
	"spop":            "random pick",
	"zrandmember":     "random pick",
	"hrandfield":      "random pick",
	"scan":            "cursor values and order follow the hash table layout (differential tests cover SCAN)",
	"sscan":           "cursor values and order follow the hash table layout",
	"hscan":           "cursor values and order follow the hash table layout",
	"zscan":           "cursor values and order follow the hash table layout",
	"object|idletime": "access clock",
	"object|freq":     "LFU counter is probabilistic",
	"object|help":     "help text, not behaviour",
	"dump":            "payload bytes depend on encodings and allocation, not values (round trips are tested elsewhere)",
	"restore":         "random payloads only exercise the RDB checksum; RESTORE has its own tests",
	"migrate":         "needs a second server",
	"wait":            "replication",
	"blpop":           "blocking: a zero timeout would block forever",
	"brpop":           "blocking",
	"blmove":          "blocking",
	"brpoplpush":      "blocking",
	"blmpop":          "blocking",
	"bzpopmin":        "blocking",
	"bzpopmax":        "blocking",
	"bzmpop":          "blocking",
	"object":          "container; its subcommands are fuzzed",
	"xinfo|consumers": "idle times are each server's clock",
	"xinfo":           "container; its subcommands are fuzzed",
	"xgroup":          "container; its subcommands are fuzzed",
}

// fuzzTypeOnly are commands whose reply value depends on the clock between
// the two servers' executions (remaining TTL in ms/s): only the type is
// compared.
var fuzzTypeOnly = map[string]bool{"ttl": true, "pttl": true, "expiretime": true, "pexpiretime": true}

// fuzzUnordered are commands whose array reply has no defined order (the
// hash table's): compared as multisets. SORT is here because BY a missing or
// constant pattern leaves a set's elements in set order.
var fuzzUnordered = map[string]bool{
	"keys": true, "smembers": true, "sunion": true, "sinter": true, "sdiff": true,
	"hkeys": true, "hvals": true, "hgetall": true, "sort": true, "sort_ro": true,
}

// fuzzAvoided are inputs not sent: SORT calls whose reply Redis leaves
// unspecified. Inputs that once crashed replnode (SETRANGE and SORT LIMIT
// overflows, LREM -2^63) are sent like any other, so the fuzzer guards
// their fixes.
var fuzzAvoided = map[string]func(args []string) bool{
	"sort":    sortAvoided,
	"sort_ro": sortAvoided,
	// Streams: "*" IDs are each server's clock; BLOCK could wait forever;
	// idle times and min-idle-time thresholds race the two servers'
	// clocks. Everything else of every stream command is fuzzed.
	"xadd":         func(args []string) bool { return hasArg(args, "*") },
	"xread":        func(args []string) bool { return hasArg(args, "block") },
	"xreadgroup":   func(args []string) bool { return hasArg(args, "block") },
	"xpending":     func(args []string) bool { return len(args) > 3 },
	"xinfo|stream": func(args []string) bool { return hasArg(args, "full") },
	"xclaim":       minIdleAvoided,
	"xautoclaim":   minIdleAvoided,
}

// hasArg reports whether args holds word (case-insensitively).
func hasArg(args []string, word string) bool {
	for _, a := range args {
		if strings.EqualFold(a, word) {
			return true
		}
	}
	return false
}

// minIdleAvoided avoids XCLAIM / XAUTOCLAIM calls with a positive
// min-idle-time: whether an entry is idle enough depends on when each
// server runs the call.
func minIdleAvoided(args []string) bool {
	if len(args) < 5 {
		return false
	}
	n, err := strconv.ParseInt(args[4], 10, 64)
	return err == nil && n > 0
}

// sortAvoided are the SORT calls not fuzzed: BY with ALPHA or with a
// pattern without '*' (nosort): Redis then leaves elements that tie in the
// order its unstable qsort/pqsort or the set's hash table leaves them
// (sortCompare has no tiebreak for ALPHA with BY), which no other server
// reproduces.
func sortAvoided(args []string) bool {
	alpha, by := false, false
	for i, a := range args {
		switch {
		case strings.EqualFold(a, "alpha"):
			alpha = true
		case strings.EqualFold(a, "by") && i+1 < len(args):
			by = true
			if !strings.Contains(args[i+1], "*") {
				return true
			}
		}
	}
	return alpha && by
}

// fuzzAllowed explains the reply differences that remain, keyed by command
// name: each entry says why the difference is accepted. A difference not
// listed fails the test.
var fuzzAllowed = map[string]func(args []string, redis, ours string, r *respConn) string{
	"sort":           sortStaleErrno,
	"sort_ro":        sortStaleErrno,
	"zlexcount":      lexRangeOnMixedSkiplist,
	"zrangebylex":    lexRangeOnMixedSkiplist,
	"zrevrangebylex": lexRangeOnMixedSkiplist,
	"zremrangebylex": lexRangeOnMixedSkiplist,
	"zrange":         lexRangeOnMixedSkiplist,
	"zrangestore":    lexRangeOnMixedSkiplist,
	"expire":         relativeExpireCompared,
	"pexpire":        relativeExpireCompared,
}

// relativeExpireCompared: EXPIRE/PEXPIRE GT|LT compare a new relative
// expiry with one set a moment earlier; whether a millisecond passed in
// between differs from server to server.
func relativeExpireCompared(args []string, redis, ours string, _ *respConn) string {
	for _, a := range args[2:] {
		if strings.EqualFold(a, "gt") || strings.EqualFold(a, "lt") {
			return "GT/LT against an expiry set moments earlier depends on the clock"
		}
	}
	return ""
}

// lexRangeOnMixedSkiplist: a lex range over a sorted set whose scores
// differ is undefined (ZRANGEBYLEX docs); on the skiplist encoding Redis's
// answer depends on the nodes' random levels, so two Redis processes
// disagree too. The key is the command's first key (the source for
// ZRANGESTORE).
func lexRangeOnMixedSkiplist(args []string, redis, ours string, r *respConn) string {
	key := args[1]
	if args[0] == "zrangestore" {
		key = args[2]
	}
	if args[0] == "zrange" || args[0] == "zrangestore" {
		lex := false
		for _, a := range args {
			lex = lex || strings.EqualFold(a, "bylex")
		}
		if !lex {
			return ""
		}
	}
	enc, err := r.do("OBJECT", "ENCODING", key)
	if err != nil || enc.str != "skiplist" {
		return ""
	}
	scores, err := r.do("ZRANGE", key, "0", "-1", "WITHSCORES")
	if err != nil {
		return ""
	}
	seen := map[string]bool{}
	for _, e := range scores.elems {
		if len(e.elems) == 2 { // RESP3 pairs
			seen[e.elems[1].str] = true
		}
	}
	for i := 1; i < len(scores.elems) && len(scores.elems[0].elems) == 0; i += 2 {
		seen[scores.elems[i].str] = true
	}
	if len(seen) > 1 {
		return "lex range over a skiplist with different scores is undefined"
	}
	return ""
}

// sortStaleErrno: sort.c checks errno == ERANGE after strtod without
// clearing errno first, so an ERANGE left by an earlier command (a score
// like 1e400) makes Redis refuse elements that convert cleanly.
func sortStaleErrno(args []string, redis, ours string, _ *respConn) string {
	if strings.Contains(redis, "One or more scores can't be converted into double") && !strings.HasPrefix(ours, "-") {
		return "Redis's stale errno from an earlier strtod"
	}
	return ""
}

func TestDifferentialFuzz(t *testing.T) {
	requireRedis(t)
	bin := replnodeBinary(t)
	cmds := loadFuzzCommands(t)
	ours, theirs := freePort(t), freePort(t)
	startServer(t, bin, ours, "--port", strconv.Itoa(ours), "--bind", "127.0.0.1", "--save", "", "--enable-debug-command", "yes")
	startServer(t, "redis-server", theirs, "--port", strconv.Itoa(theirs), "--bind", "127.0.0.1", "--save", "", "--enable-debug-command", "yes")
	o, err := dialResp(ours)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	r, err := dialResp(theirs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()

	var seeds []int64
	if s := os.Getenv("FUZZ_DIFF_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("FUZZ_DIFF_SEED: %v", err)
		}
		seeds = []int64{n}
	} else {
		for i := int64(1); i <= fuzzSeeds; i++ {
			seeds = append(seeds, i)
		}
	}
	var until time.Time
	if s := os.Getenv("FUZZ_DIFF_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("FUZZ_DIFF_DURATION: %v", err)
		}
		until = time.Now().Add(d)
	}
	failures, steps := 0, 0
	for i := 0; ; i++ {
		var seed int64
		switch {
		case i < len(seeds):
			seed = seeds[i]
		case time.Now().Before(until):
			seed = time.Now().UnixNano()
		default:
			t.Logf("fuzzed %d seeds, %d commands", i, steps)
			return
		}
		n, ok := fuzzOneSeed(t, seed, cmds, r, o)
		steps += n
		if !ok {
			failures++
			if failures >= 5 {
				t.Fatalf("stopping after %d failing seeds", failures)
			}
		}
	}
}

// fuzzOneSeed runs one sequence on both servers (flushed first) and reports
// how many commands it sent and whether all replies and the final datasets
// matched.
func fuzzOneSeed(t *testing.T, seed int64, cmds []fuzzCommand, r, o *respConn) (int, bool) {
	t.Helper()
	g := &fuzzGen{rnd: rand.New(rand.NewSource(seed))}
	// No active expiry: keys whose time passed stay until touched, on both
	// servers alike, so DBSIZE and KEYS do not depend on the expire cycle.
	// Every other seed speaks RESP3, and every other pair of seeds has
	// tiny encoding limits so the small key space crosses conversions.
	setup := [][]string{{"FLUSHALL"}, {"DEBUG", "SET-ACTIVE-EXPIRE", "0"}, {"HELLO", "2"}, {"SELECT", "0"}}
	if g.rnd.Intn(2) == 0 {
		setup[2] = []string{"HELLO", "3"}
	}
	limits := fuzzDefaultLimits
	if g.rnd.Intn(2) == 0 {
		limits = fuzzTinyLimits
	}
	for i := 0; i+1 < len(limits); i += 2 {
		setup = append(setup, []string{"CONFIG", "SET", limits[i], limits[i+1]})
	}
	for _, c := range []*respConn{r, o} {
		for _, cmd := range setup {
			if reply, err := c.do(cmd...); err != nil || reply.kind == '-' {
				t.Fatalf("%v: %v %s", cmd, err, reply.text())
			}
		}
	}
	var history []string
	// queued holds the commands queued since MULTI (nil outside one):
	// now and then a few commands run as a transaction, and EXEC's
	// replies are compared one by one as those commands' would be.
	var queued [][]string
	for step := 0; step < fuzzStepsPerSeed; step++ {
		var args []string
		switch {
		case queued == nil && g.rnd.Intn(40) == 0:
			args = []string{"MULTI"}
		case queued != nil && (len(queued) >= 4 || g.rnd.Intn(3) == 0):
			args = []string{"EXEC"}
			if g.rnd.Intn(6) == 0 {
				args = []string{"DISCARD"}
			}
		default:
			cmd := cmds[g.rnd.Intn(len(cmds))]
			args = g.command(cmd)
			if avoid := fuzzAvoided[cmd.name]; avoid != nil && avoid(args) {
				continue
			}
		}
		history = append(history, quoteArgs(args))
		want, err := r.do(args...)
		if err != nil {
			t.Fatalf("seed %d: redis-server %s: %v", seed, quoteArgs(args), err)
		}
		got, err := o.do(args...)
		if err != nil {
			t.Fatalf("seed %d: replnode %s: %v (a crash or hang)\nhistory:\n%s", seed, quoteArgs(args), err, lastLines(history, fuzzHistoryLines()))
		}
		ws, gs, reason := fuzzCompare(args, want, got, queued, r)
		switch args[0] {
		case "MULTI":
			queued = [][]string{}
		case "EXEC", "DISCARD":
			queued = nil
		default:
			if queued != nil {
				queued = append(queued, args)
			}
		}
		if ws == gs {
			continue
		}
		if reason != "" {
			// The data may now differ as explained: end this seed.
			t.Logf("seed %d step %d: %s differs as allowed: %s", seed, step, quoteArgs(args), reason)
			fuzzEndMulti(t, queued, r, o)
			return step + 1, true
		}
		t.Errorf("seed %d step %d: %s\n redis:    %s\n replnode: %s\nhistory (FUZZ_DIFF_SEED=%d reproduces):\n%s",
			seed, step, quoteArgs(args), ws, gs, seed, lastLines(history, fuzzHistoryLines()))
		fuzzEndMulti(t, queued, r, o)
		return step + 1, false
	}
	fuzzEndMulti(t, queued, r, o)
	return fuzzStepsPerSeed, fuzzSameData(t, seed, r, o, history)
}

// fuzzEndMulti discards a transaction left open at the end of a seed.
func fuzzEndMulti(t *testing.T, queued [][]string, r, o *respConn) {
	t.Helper()
	if queued == nil {
		return
	}
	for _, c := range []*respConn{r, o} {
		if _, err := c.do("DISCARD"); err != nil {
			t.Fatal(err)
		}
	}
}

// fuzzCommandName is the command table name of args ("object|encoding").
func fuzzCommandName(args []string) string {
	name := strings.ToLower(args[0])
	if name == "object" && len(args) > 1 {
		return name + "|" + strings.ToLower(args[1])
	}
	return name
}

// fuzzCompare returns the two replies in the form they are compared in
// for this command (exact, type only or unordered; EXEC element by element
// as the queued commands), and the reason when a difference is allowed.
func fuzzCompare(args []string, want, got respReply, queued [][]string, r *respConn) (string, string, string) {
	name := fuzzCommandName(args)
	if name == "exec" && queued != nil && want.kind == got.kind && len(want.elems) == len(queued) && len(got.elems) == len(queued) {
		var ws, gs []string
		for i, q := range queued {
			if fuzzCommandName(q) == "object|refcount" {
				// Until EXEC ends Redis still holds the queued commands'
				// argument objects, which stored values may share.
				ws, gs = append(ws, string(want.elems[i].kind)), append(gs, string(got.elems[i].kind))
				continue
			}
			w, g, reason := fuzzCompare(q, want.elems[i], got.elems[i], nil, r)
			if w != g && reason != "" {
				return w, g, reason
			}
			ws, gs = append(ws, w), append(gs, g)
		}
		return strings.Join(ws, ", "), strings.Join(gs, ", "), ""
	}
	ws, gs := want.text(), got.text()
	switch {
	case fuzzTypeOnly[name]:
		ws, gs = string(want.kind), string(got.kind)
	case fuzzUnordered[name]:
		ws, gs = want.unorderedText(), got.unorderedText()
	}
	if ws != gs {
		if allow := fuzzAllowed[name]; allow != nil {
			return ws, gs, allow(args, ws, gs, r)
		}
	}
	return ws, gs, ""
}

// fuzzSameData compares DEBUG DIGEST of both servers, and on a mismatch
// names the keys whose DEBUG DIGEST-VALUE differ.
func fuzzSameData(t *testing.T, seed int64, r, o *respConn, history []string) bool {
	t.Helper()
	want, err1 := r.do("DEBUG", "DIGEST")
	got, err2 := o.do("DEBUG", "DIGEST")
	if err1 != nil || err2 != nil {
		t.Fatalf("seed %d: DEBUG DIGEST: %v %v", seed, err1, err2)
	}
	if want.text() == got.text() {
		return true
	}
	keys, _ := r.do("KEYS", "*")
	ourKeys, _ := o.do("KEYS", "*")
	var differ []string
	for _, k := range keys.elems {
		a, _ := r.do("DEBUG", "DIGEST-VALUE", k.str)
		b, _ := o.do("DEBUG", "DIGEST-VALUE", k.str)
		if a.text() != b.text() {
			differ = append(differ, k.str)
		}
	}
	t.Errorf("seed %d: DEBUG DIGEST differs (redis %s, replnode %s); keys redis %s, replnode %s; values differ for %q\nhistory (FUZZ_DIFF_SEED=%d reproduces):\n%s",
		seed, want.text(), got.text(), keys.unorderedText(), ourKeys.unorderedText(), differ, seed, lastLines(history, 40))
	return false
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, " ")
}

func lastLines(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ------ COMMAND SPECS ------

// fuzzArg is one argument of a command's docs (COMMAND DOCS).
type fuzzArg struct {
	name, typ, token string
	optional         bool
	multiple         bool
	multipleToken    bool
	children         []fuzzArg
}

type fuzzCommand struct {
	name string   // "get", "object|encoding"
	head []string // the words sent before the arguments
	args []fuzzArg
}

// loadFuzzCommands reads the command table's docs from command_meta.json
// (RESP3 values as JSON: {"%": [k, v...]} maps, {"~": [...]} sets,
// {"+": s} simple strings) and keeps the fuzzed commands.
func loadFuzzCommands(t *testing.T) []fuzzCommand {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "replnode", "server", "command_meta.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]struct {
		Docs any `json:"docs"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	var out []fuzzCommand
	for name, m := range meta {
		docs := respMap(m.Docs)
		group, _ := docs["group"].(string)
		if _, skip := fuzzSkipped[name]; skip || !(fuzzGroups[group] || fuzzExtra[name]) {
			continue
		}
		c := fuzzCommand{name: name, head: strings.Split(name, "|")}
		if args, ok := docs["arguments"].([]any); ok {
			c.args = parseFuzzArgs(args)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name }) // seeds must be reproducible
	if len(out) < 100 {
		t.Fatalf("only %d commands to fuzz from %s", len(out), path)
	}
	return out
}

func respMap(v any) map[string]any {
	m := map[string]any{}
	obj, ok := v.(map[string]any)
	if !ok {
		return m
	}
	kv, _ := obj["%"].([]any)
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			m[k] = kv[i+1]
		}
	}
	return m
}

func respFlags(v any) map[string]bool {
	out := map[string]bool{}
	obj, _ := v.(map[string]any)
	items, _ := obj["~"].([]any)
	for _, it := range items {
		if s, ok := it.(map[string]any); ok {
			if f, ok := s["+"].(string); ok {
				out[f] = true
			}
		}
	}
	return out
}

func parseFuzzArgs(list []any) []fuzzArg {
	var out []fuzzArg
	for _, a := range list {
		m := respMap(a)
		fa := fuzzArg{}
		fa.name, _ = m["name"].(string)
		fa.typ, _ = m["type"].(string)
		fa.token, _ = m["token"].(string)
		flags := respFlags(m["flags"])
		fa.optional, fa.multiple, fa.multipleToken = flags["optional"], flags["multiple"], flags["multiple_token"]
		if kids, ok := m["arguments"].([]any); ok {
			fa.children = parseFuzzArgs(kids)
		}
		out = append(out, fa)
	}
	return out
}

// ------ GENERATOR ------

type fuzzGen struct{ rnd *rand.Rand }

var (
	fuzzKeys    = []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	fuzzMembers = []string{"a", "b", "c", "m0", "m1", "1", "2", "-1", "10", "1.5", ""}
	fuzzStrings = []string{"", "0", "1", "-1", "-0", "+1", "01", " 1", "1 ", "abc", "a*", "k*", "[a-z]*",
		"1.5", "1e3", "0x10", "inf", "-inf", "nan", "(1", "[a", "-", "+",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616",
		"\x00\xff\r\n", strings.Repeat("x", 65), "k0", "k1", "m0", "a", "b"}
	fuzzInts = []string{"0", "1", "2", "3", "5", "10", "-1", "-2", "-10", "100",
		"9223372036854775807", "-9223372036854775808", "4294967296", "abc", "", "1.5", "-0", "+1"}
	fuzzDoubles = []string{"0", "1", "-1", "1.5", "-2.5", "inf", "-inf", "+inf", "nan", "1e400", "0x10",
		"(1", "(", "", " 1", "abc", "-0", "3", "100"}
	// fuzzTimes keep expirations away from the moment the two servers
	// execute the same command at slightly different times: past, zero or
	// far in the future.
	fuzzTimes = []string{"-1", "0", "100000", "1000000000", "4000000000000", "9223372036854775807", "abc", "-9223372036854775808"}
)

// fuzzStreamIDs are stream IDs and what stands for them: every special
// form, exclusive bounds, the extremes and bad spellings.
var fuzzStreamIDs = []string{"0", "0-0", "0-1", "1", "1-0", "1-1", "1-2", "1-*", "2", "2-*", "3-0", "5-5", "10",
	"$", ">", "-", "+", "(1", "(1-1", "(0-0", "(-", "(+", "18446744073709551615-18446744073709551615",
	"18446744073709551615-*", "18446744073709551616", "-1", "1--1", "abc", "", "1-x", "100", "2-0"}

func (g *fuzzGen) pick(list []string) string { return list[g.rnd.Intn(len(list))] }

// command builds one call of c: mostly well-formed from its argument specs,
// sometimes with an argument dropped or a random one added.
func (g *fuzzGen) command(c fuzzCommand) []string {
	args := append([]string(nil), c.head...)
	for _, a := range c.args {
		args = g.arg(args, a, c.name)
	}
	switch g.rnd.Intn(20) {
	case 0:
		if len(args) > len(c.head) {
			i := len(c.head) + g.rnd.Intn(len(args)-len(c.head))
			args = append(args[:i], args[i+1:]...)
		}
	case 1:
		args = append(args, g.pick(fuzzStrings))
	}
	return args
}

func (g *fuzzGen) arg(out []string, a fuzzArg, cmd string) []string {
	if a.optional && g.rnd.Intn(2) == 0 {
		return out
	}
	n := 1
	if a.multiple {
		n = 1 + g.rnd.Intn(3)
	}
	for i := 0; i < n; i++ {
		if a.token != "" && (i == 0 || a.multipleToken) {
			out = append(out, g.token(a.token))
		}
		out = g.value(out, a, cmd)
	}
	return out
}

// token returns t, sometimes in another case (Redis compares tokens
// case-insensitively).
func (g *fuzzGen) token(t string) string {
	if g.rnd.Intn(4) == 0 {
		return strings.ToLower(t)
	}
	return t
}

func (g *fuzzGen) value(out []string, a fuzzArg, cmd string) []string {
	name := strings.ToLower(a.name)
	switch a.typ {
	case "pure-token":
		return out
	case "oneof":
		if len(a.children) == 0 {
			return out
		}
		return g.arg(out, a.children[g.rnd.Intn(len(a.children))], cmd)
	case "block":
		for _, c := range a.children {
			out = g.arg(out, c, cmd)
		}
		return out
	case "key":
		return append(out, g.pick(fuzzKeys))
	case "pattern":
		return append(out, g.pick([]string{"*", "k*", "k[0-2]", "?1", "*_*", "\\", "[", "nosort", "k*->a", "#"}))
	case "unix-time":
		return append(out, g.pick(fuzzTimes))
	case "double":
		return append(out, g.pick(fuzzDoubles))
	case "integer":
		switch {
		case strings.Contains(name, "second") || strings.Contains(name, "ttl") || strings.Contains(name, "timeout"):
			return append(out, g.pick(fuzzTimes))
		case name == "db" || strings.HasPrefix(name, "index") && (cmd == "move" || cmd == "swapdb" || cmd == "select") || name == "destination-db":
			return append(out, g.pick([]string{"0", "1", "2", "-1", "16", "abc"}))
		}
		return append(out, g.pick(fuzzInts))
	}
	// strings and anything else
	if strings.HasPrefix(cmd, "x") {
		switch name {
		case "id", "start", "end", "last-id", "max_deleted_entry_id", "threshold":
			return append(out, g.pick(fuzzStreamIDs))
		case "group", "groupname", "consumer", "consumername":
			return append(out, g.pick([]string{"g1", "g2", "c1", "c2", ""}))
		}
	}
	switch {
	case strings.Contains(name, "member") || strings.Contains(name, "field") || strings.Contains(name, "element") ||
		strings.Contains(name, "pivot"):
		return append(out, g.pick(fuzzMembers))
	case strings.Contains(name, "milliseconds") || strings.Contains(name, "seconds"):
		return append(out, g.pick(fuzzTimes))
	case name == "min" || name == "max" || name == "start" || name == "stop" || name == "end" || strings.Contains(name, "score"):
		if strings.HasPrefix(cmd, "z") {
			return append(out, g.pick(append(append([]string{}, fuzzDoubles...), "[a", "(b", "-", "+", "[", "0", "1", "-1")))
		}
		return append(out, g.pick(fuzzInts))
	}
	if g.rnd.Intn(3) == 0 {
		return append(out, g.pick(fuzzInts))
	}
	return append(out, g.pick(fuzzStrings))
}

// ------ RESP CLIENT ------

// respConn is a minimal RESP2 client (this package must not import
// replnode's internals).
type respConn struct {
	conn net.Conn
	rd   *bufio.Reader
}

// respReply is one reply: kind is '+', '-', ':', '$' or '*'; null for $-1 / *-1.
type respReply struct {
	kind  byte
	str   string
	null  bool
	elems []respReply
}

func dialResp(port int) (*respConn, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &respConn{conn: c, rd: bufio.NewReader(c)}, nil
}

func (c *respConn) close() { _ = c.conn.Close() }

func (c *respConn) do(args ...string) (respReply, error) {
	b := strconv.AppendInt([]byte{'*'}, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		return respReply{}, err
	}
	return c.read()
}

func (c *respConn) read() (respReply, error) {
	line, err := c.rd.ReadString('\n')
	if err != nil {
		return respReply{}, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return respReply{}, fmt.Errorf("bad reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-', ':', ',', '#', '(':
		return respReply{kind: kind, str: body}, nil
	case '_':
		return respReply{kind: kind, null: true}, nil
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil {
			return respReply{}, err
		}
		if n < 0 {
			return respReply{kind: kind, null: true}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.rd, buf); err != nil {
			return respReply{}, err
		}
		return respReply{kind: kind, str: string(buf[:n])}, nil
	case '*', '~', '%', '>', '|':
		n, err := strconv.Atoi(body)
		if err != nil {
			return respReply{}, err
		}
		if n < 0 {
			return respReply{kind: kind, null: true}, nil
		}
		if kind == '%' || kind == '|' {
			n *= 2 // maps and attributes: keys and values, flattened
		}
		r := respReply{kind: kind, elems: make([]respReply, n)}
		for i := range r.elems {
			if r.elems[i], err = c.read(); err != nil {
				return respReply{}, err
			}
		}
		return r, nil
	}
	return respReply{}, errors.New("unknown reply type " + strconv.Quote(line))
}

// text is the reply in a comparable form.
func (r respReply) text() string {
	switch {
	case r.null:
		return string(r.kind) + "nil"
	case r.elems != nil || strings.IndexByte("*~%>|", r.kind) >= 0:
		parts := make([]string, len(r.elems))
		for i, e := range r.elems {
			parts[i] = e.text()
		}
		return string(r.kind) + "[" + strings.Join(parts, ", ") + "]"
	}
	return string(r.kind) + strconv.Quote(r.str)
}

// unorderedText is text with a top-level array's elements sorted.
// A map's (or HGETALL's flat array's) key/value pairs are sorted as pairs
// only where the reply is a map; RESP2's flat pairs are sorted as single
// elements, which is enough for a multiset comparison.
func (r respReply) unorderedText() string {
	if r.null || strings.IndexByte("*~%", r.kind) < 0 {
		return r.text()
	}
	var parts []string
	if r.kind == '%' {
		for i := 0; i+1 < len(r.elems); i += 2 {
			parts = append(parts, r.elems[i].text()+": "+r.elems[i+1].text())
		}
	} else {
		for _, e := range r.elems {
			parts = append(parts, e.text())
		}
	}
	sort.Strings(parts)
	return string(r.kind) + "[" + strings.Join(parts, ", ") + "]"
}

// fuzzHistoryLines is how many of a failing seed's last commands are
// printed: FUZZ_DIFF_HISTORY, default 30.
func fuzzHistoryLines() int {
	if n, err := strconv.Atoi(os.Getenv("FUZZ_DIFF_HISTORY")); err == nil {
		return n
	}
	return 30
}
