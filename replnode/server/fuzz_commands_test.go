package server

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/config"
	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/resp"
	"github.com/replnode/replnode/replnode/store"
)

// FuzzCommandTable runs programs of random commands against an in-process
// server: each command of the table (subcommands included) with an argv
// built from its arity and the tokens of its argument spec in
// command_meta.json, filled with hostile values (0, -1, ±2^31, ±2^63, 2^64,
// inf, nan, empty, 1 MB strings, keys of every type, repeated options).
//
// Invariants: no handler panics (dispatch would recover it and count it),
// every reply is well-formed RESP, no command takes longer than
// commandTimeLimit, and afterwards the keyspace is consistent: its digest
// is computable and survives an RDB save and reload unchanged.
//
// The input is a program: records of [name length][name][argument count
// byte][argument selectors...]. Names are looked up in the table (an
// unknown name picks a command by hash), so seeds keep their meaning when
// commands are added. See fuzzProgram for the selectors.
func FuzzCommandTable(f *testing.F) {
	for _, prog := range fuzzSeedPrograms {
		f.Add(encodeFuzzProgram(prog))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzzProgram(t, data)
	})
}

// commandTimeLimit bounds one command of a fuzz program; generous for the
// fuzzer's instrumented build on a loaded machine.
const commandTimeLimit = 3 * time.Second

// replyBytesPerSecond is the slowest rate a reply may be produced at
// under the fuzzer: each such many bytes of reply add a second to
// commandTimeLimit.
const replyBytesPerSecond = 10 << 20

// fuzzExcluded are commands a fuzz program must not run: they end the
// process, reach the network or the disk, or wait for the wall clock.
// PFSELFTEST is a fixed self-test taking most of a second on redis-server
// too (about 4 s under the fuzzer's instrumentation on a loaded machine),
// whatever its input: it would only trip commandTimeLimit.
var fuzzExcluded = map[string]bool{
	"shutdown": true, "debug": true, "replicaof": true, "slaveof": true, "sync": true, "psync": true,
	"failover": true, "migrate": true, "save": true, "bgsave": true, "bgrewriteaof": true,
	"config|set": true, "config|rewrite": true, "acl|save": true, "acl|load": true,
	"module": true, "module|load": true, "module|loadex": true, "client|pause": true, "monitor": true,
	"replconf": true, "pfselftest": true,
}

// fuzzHostile are the values arguments are drawn from.
var fuzzHostile = []string{
	"0", "-1", "1", "2", "3", "10", "100", "-100",
	"2147483647", "-2147483648", "2147483648", "4294967296",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775807",
	"18446744073709551615", "18446744073709551616",
	"inf", "-inf", "+inf", "nan", "-nan", "1e308", "-1e308", "1e400", "-0", "0.5", "1.5e3", "0x10",
	"", " ", "(1", "[a", "(", "[", "-", "+", "*", "?", "[a-", "\\", "\x00", "\xff\xfe",
	"a", "b", "c", "x", "field", "member", "0-0", "$", ">",
}

// fuzzKeys are the key names programs use; the first ones are populated
// with a value of each type before the program runs.
var fuzzKeys = []string{"str", "num", "list", "biglist", "hash", "bighash", "set", "intset", "zset", "bigzset", "missing", "k", "k2"}

// fuzzBig is the 1 MB argument.
var fuzzBig = strings.Repeat("x", 1<<20)

// fuzzSpec is what the fuzzer knows of one command.
type fuzzSpec struct {
	cmd    *Command
	name   string   // full name, "client|list"
	argv0  []string // "client", "list"
	tokens []string // tokens of its argument spec
}

var (
	fuzzSpecsOnce sync.Once
	fuzzSpecs     []*fuzzSpec
	fuzzByName    map[string]*fuzzSpec
	fuzzAllTokens []string
)

// loadFuzzSpecs lists the commands with the tokens of their arguments.
func loadFuzzSpecs() {
	var meta map[string]struct {
		Docs any `json:"docs"`
	}
	if err := json.Unmarshal(commandMetaJSON, &meta); err != nil {
		panic(err)
	}
	fuzzByName = map[string]*fuzzSpec{}
	allTokens := map[string]bool{}
	add := func(c *Command, argv0 []string) {
		if fuzzExcluded[c.fullLow] || fuzzExcluded[argv0[0]] {
			return
		}
		sp := &fuzzSpec{cmd: c, name: c.fullLow, argv0: argv0}
		toks := map[string]bool{}
		collectTokens(meta[c.fullLow].Docs, toks)
		for tok := range toks {
			sp.tokens = append(sp.tokens, tok)
			allTokens[tok] = true
		}
		sort.Strings(sp.tokens)
		fuzzSpecs = append(fuzzSpecs, sp)
		fuzzByName[sp.name] = sp
	}
	for _, c := range sortedCommands() {
		if len(c.Subcommands) == 0 {
			add(c, []string{c.Name})
			continue
		}
		for _, sub := range c.Subcommands {
			add(sub, []string{c.Name, sub.Name})
		}
	}
	for tok := range allTokens {
		fuzzAllTokens = append(fuzzAllTokens, tok)
	}
	sort.Strings(fuzzAllTokens)
}

// collectTokens gathers every "token" of a COMMAND DOCS argument tree as
// stored in command_meta.json ({"%": [k, v, ...]} maps, {"~": [...]} sets).
func collectTokens(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, inner := range x {
			if k == "%" {
				if kv, ok := inner.([]any); ok {
					for i := 0; i+1 < len(kv); i += 2 {
						if kv[i] == "token" {
							if s, ok := kv[i+1].(string); ok {
								out[s] = true
							}
						}
						collectTokens(kv[i+1], out)
					}
				}
				continue
			}
			collectTokens(inner, out)
		}
	case []any:
		for _, e := range x {
			collectTokens(e, out)
		}
	}
}

// fuzzReader hands out the bytes of a program, zeros once exhausted.
type fuzzReader struct {
	b []byte
}

func (r *fuzzReader) more() bool { return len(r.b) > 0 }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) bytes(n int) []byte {
	n = min(n, len(r.b))
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// Argument selectors: the low 3 bits of a selector byte choose the kind,
// the next byte (for most) which one.
const (
	selKey = iota
	selNumber
	selOwnToken
	selAnyToken
	selLiteral // then a length byte and that many bytes
	selHostile
	selRepeat // the previous argument again (repeated options)
	selBig    // 1 MB
)

// fuzzProgram decodes a program into argument vectors.
func fuzzProgram(data []byte) [][]string {
	fuzzSpecsOnce.Do(loadFuzzSpecs)
	r := &fuzzReader{b: data}
	var prog [][]string
	for r.more() && len(prog) < 64 {
		name := string(r.bytes(int(r.byte() % 32)))
		sp := fuzzByName[strings.ToLower(name)]
		if sp == nil {
			h := fnv.New32a()
			h.Write([]byte(name))
			sp = fuzzSpecs[int(h.Sum32()%uint32(len(fuzzSpecs)))]
		}
		argv := append([]string(nil), sp.argv0...)
		arity := sp.cmd.Arity
		nb := r.byte()
		var n int
		switch {
		case nb >= 250: // arity errors too
			n = int(nb % 5)
		case arity > 0:
			n = arity - len(sp.argv0)
		default:
			n = -arity - len(sp.argv0) + int(nb%8)
		}
		for i := 0; i < n; i++ {
			sel := r.byte()
			pick := int(r.byte())
			var a string
			switch sel % 8 {
			case selKey:
				a = fuzzKeys[pick%len(fuzzKeys)]
			case selNumber:
				a = fuzzHostile[pick%24]
			case selOwnToken:
				if len(sp.tokens) > 0 {
					a = sp.tokens[pick%len(sp.tokens)]
				}
			case selAnyToken:
				a = fuzzAllTokens[pick%len(fuzzAllTokens)]
			case selLiteral:
				a = string(r.bytes(pick))
			case selHostile:
				a = fuzzHostile[pick%len(fuzzHostile)]
			case selRepeat:
				a = argv[len(argv)-1]
			case selBig:
				a = fuzzBig
			}
			argv = append(argv, a)
		}
		prog = append(prog, argv)
	}
	return prog
}

// encodeFuzzProgram writes argument vectors as a program of literals, for
// seeds.
func encodeFuzzProgram(prog [][]string) []byte {
	fuzzSpecsOnce.Do(loadFuzzSpecs)
	var b []byte
	for _, argv := range prog {
		name := strings.ToLower(argv[0])
		rest := argv[1:]
		if c := commandTable[name]; c != nil && len(c.Subcommands) > 0 && len(rest) > 0 {
			name += "|" + strings.ToLower(rest[0])
			rest = rest[1:]
		}
		b = append(b, byte(len(name)))
		b = append(b, name...)
		sp := fuzzByName[name]
		// The count byte: exact arity commands take theirs; variadic
		// ones their minimum plus count%8, else an arity-error count.
		nb := byte(250 + len(rest)%5)
		if sp != nil {
			base := sp.cmd.Arity - len(sp.argv0)
			if sp.cmd.Arity < 0 {
				base = -sp.cmd.Arity - len(sp.argv0)
			}
			switch {
			case sp.cmd.Arity > 0 && len(rest) == base:
				nb = 0
			case sp.cmd.Arity < 0 && len(rest) >= base && len(rest)-base < 8:
				nb = byte(len(rest) - base)
			}
		}
		b = append(b, nb)
		for _, a := range rest {
			if len(a) > 255 {
				b = append(b, selBig, 0)
				continue
			}
			b = append(b, selLiteral, byte(len(a)))
			b = append(b, a...)
		}
	}
	return b
}

// fuzzSeedPrograms are the starting corpus: each bug fixed for the issue
// "no input crashes or hangs a node" and a few ordinary sequences.
var fuzzSeedPrograms = [][][]string{
	{{"SETRANGE", "str", "9223372036854775807", "x"}, {"SETRANGE", "k", "9223372036854775806", "xy"}},
	{{"LREM", "list", "-9223372036854775808", "a"}, {"LRANGE", "list", "0", "-1"}},
	{{"SORT", "list", "LIMIT", "1", "9223372036854775807", "ALPHA"}},
	{{"SRANDMEMBER", "set", "-9223372036854775807"}, {"HRANDFIELD", "hash", "-9223372036854775808", "WITHVALUES"}},
	{{"SET", "a", fuzzBig}, {"LCS", "a", "a", "LEN"}},
	{{"SET", "dst", "x"}, {"BRPOPLPUSH", "src", "dst", "0"}, {"RPUSH", "src", "a"}},
	{{"CLIENT", "REPLY", "OFF"}, {"SUBSCRIBE", "ch"}, {"PUBLISH", "ch", "m"}},
	{{"ZADD", "z", "1", "a", "2", "b"}, {"ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "9223372036854775807", "9223372036854775807"}},
	{{"MULTI"}, {"INCR", "num"}, {"LPUSH", "num", "x"}, {"EXEC"}},
	{{"DUMP", "zset"}, {"OBJECT", "ENCODING", "bigzset"}, {"COPY", "bighash", "k", "REPLACE"}},
	{{"SETBIT", "k", "4294967295", "1"}, {"BITCOUNT", "k", "-9223372036854775808", "9223372036854775807"}},
	{{"LPOS", "list", "a", "RANK", "-9223372036854775808", "COUNT", "0", "MAXLEN", "9223372036854775807"}},
	{{"HELLO", "3"}, {"CLIENT", "TRACKING", "on"}, {"GET", "str"}, {"SET", "str", "v"}},
}

// runFuzzProgram executes one program and checks the invariants.
func runFuzzProgram(t *testing.T, data []byte) {
	prog := fuzzProgram(data)
	if len(prog) == 0 {
		return
	}
	s, c := newFuzzServer(t)
	defer s.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, argv := range prog {
		args := make([][]byte, len(argv))
		for i, a := range argv {
			args[i] = []byte(a)
		}
		start := time.Now()
		s.processCommand(c, args)
		d := time.Since(start)
		out := c.Replies()
		// Work in proportion to the reply is what was asked for (as on
		// redis-server: SRANDMEMBER set -9223372 answers 9 million
		// elements); work beyond it is what the limit is for.
		if limit := commandTimeLimit + time.Duration(len(out))*time.Second/replyBytesPerSecond; d > limit {
			t.Fatalf("%.200q took %v for a reply of %d bytes", argv, d, len(out))
		}
		if _, err := resp.ReadAll(out); err != nil {
			t.Fatalf("%.200q: malformed reply %.300q: %v", argv, out, err)
		}
		if s.stats.CommandPanics > 0 {
			t.Fatalf("%.200q panicked (see the log above)", argv)
		}
		// A client that blocked, closed or left RESP2 for good hands over
		// to a fresh one, as another connection would.
		if c.blocked || c.closed || c.flags&ClientCloseAfterReply != 0 {
			c = s.NewInternalClient(0)
			c.authenticated = true
		}
	}
	checkFuzzKeyspace(t, s)
}

// newFuzzServer is a server with the fuzz dataset and an internal client.
func newFuzzServer(t *testing.T) (*Server, *Client) {
	cfg := config.Default()
	dir, err := os.MkdirTemp("", "fuzz-node-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := cfg.LoadString(strings.Join([]string{
		"dir " + config.Quote(dir),
		`save ""`,
		"loglevel warning",
		"logfile " + config.Quote(dir+"/log"),
		"proto-max-bulk-len 8mb", // bounded allocations, same checks
		"notify-keyspace-events KEA",
	}, "\n")); err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	s.SetClock(func() int64 { return 1_700_000_000_000 })
	s.Log.SetOutput(&bytes.Buffer{})
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.NewInternalClient(0)
	c.authenticated = true
	for _, argv := range [][]string{
		{"SET", "str", "hello world"},
		{"SET", "num", "12345"},
		{"RPUSH", "list", "a", "b", "a", "c", "1", "2"},
		{"HSET", "hash", "f", "v", "n", "1"},
		{"SADD", "set", "a", "b", "c"},
		{"SADD", "intset", "1", "2", "3", "-70000"},
		{"ZADD", "zset", "1", "a", "2", "b", "3.5", "c"},
		{"DEBUG", "POPULATE", "0"}, // refused without enable-debug-command: harmless
	} {
		s.processCommand(c, toArgs(argv))
	}
	// Past the listpack limits with few commands (a fresh server per
	// input is most of an execution's cost): values over 64 bytes turn
	// hashes and sorted sets into hash tables and skip lists, and 12 KB
	// of list elements span two quicklist nodes.
	for i := 0; i < 12; i++ {
		n := strings.Repeat("e", 1000) + itoa(int64(i))
		s.processCommand(c, toArgs([]string{"RPUSH", "biglist", n}))
		s.processCommand(c, toArgs([]string{"HSET", "bighash", n[900:], n[990:]}))
		s.processCommand(c, toArgs([]string{"ZADD", "bigzset", itoa(int64(i)), n[900:]}))
	}
	c.Replies()
	return s, c
}

func toArgs(argv []string) [][]byte {
	out := make([][]byte, len(argv))
	for i, a := range argv {
		out[i] = []byte(a)
	}
	return out
}

// checkFuzzKeyspace requires the keyspace to digest, and to save and load
// back to the same digest.
func checkFuzzKeyspace(t *testing.T, s *Server) {
	ks := s.Keyspace
	before := store.DatasetDigest(ks)
	snaps := make([]*store.Snapshot, len(ks.DBs))
	for i, db := range ks.DBs {
		snaps[i] = db.Snapshot()
	}
	var buf bytes.Buffer
	err := rdb.WriteSnapshot(&buf, snaps, rdb.AuxInfo{RedisVer: Version}, rdb.Options{Checksum: true})
	for _, sn := range snaps {
		sn.Release()
	}
	if err != nil {
		t.Fatalf("saving the keyspace: %v", err)
	}
	again := store.NewKeyspace(len(ks.DBs))
	if _, err := rdb.LoadKeyspace(bytes.NewReader(buf.Bytes()), again, rdb.LoadOptions{}); err != nil {
		t.Fatalf("loading the saved keyspace: %v", err)
	}
	if after := store.DatasetDigest(again); after != before {
		t.Fatalf("digest %s before save, %s after reload", before, after)
	}
}

// TestFuzzProgramEncoding: a seed decodes to the commands it encodes.
func TestFuzzProgramEncoding(t *testing.T) {
	for _, prog := range fuzzSeedPrograms {
		got := fuzzProgram(encodeFuzzProgram(prog))
		if len(got) != len(prog) {
			t.Fatalf("%.100q decoded to %d commands", prog, len(got))
		}
		for i := range prog {
			if strings.ToLower(strings.Join(got[i], " ")) != strings.ToLower(strings.Join(prog[i], " ")) {
				t.Errorf("%.100q decoded as %.100q", prog[i], got[i])
			}
		}
	}
}
