package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/resp"
)

var updateCommandMeta = flag.Bool("update-command-meta", false,
	"regenerate command_meta.json from the real redis-server 7.0")

// TestGenerateCommandMeta writes command_meta.json from a real redis-server
// 7.0: for every command and subcommand in our table, its COMMAND DOCS map
// (less subcommands) and the categories, tips and key specs of COMMAND
// INFO, read in RESP3 so the types are kept. Run with
// -run TestGenerateCommandMeta -update-command-meta after adding commands.
func TestGenerateCommandMeta(t *testing.T) {
	if !*updateCommandMeta {
		t.Skip("run with -update-command-meta to regenerate command_meta.json")
	}
	c := dialNode(t, startRealRedis(t))
	c.do("HELLO", "3")
	out := map[string]*commandMeta{}
	for _, name := range allCommandNames() {
		info := c.do("COMMAND", "INFO", name)
		if len(info.Elems) != 1 || info.Elems[0].Null {
			t.Logf("%s: unknown to redis-server, keeps derived metadata", name)
			continue
		}
		e := info.Elems[0]
		docs := c.do("COMMAND", "DOCS", name)
		if len(docs.Elems) != 2 {
			t.Fatalf("COMMAND DOCS %s: %s", name, docs.String())
		}
		d := docs.Elems[1]
		var kept []resp.Reply
		for i := 0; i+1 < len(d.Elems); i += 2 {
			if d.Elems[i].Str != "subcommands" {
				kept = append(kept, d.Elems[i], d.Elems[i+1])
			}
		}
		d.Elems = kept
		out[name] = &commandMeta{Docs: metaFromReply(d), ACL: metaFromReply(e.Elems[6]),
			Tips: metaFromReply(e.Elems[7]), KeySpecs: metaFromReply(e.Elems[8])}
	}
	b, err := encodeCommandMeta(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("command_meta.json", b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// encodeCommandMeta writes the file's layout: one command per line, in
// name order, so a regenerated file diffs by command.
func encodeCommandMeta(all map[string]*commandMeta) ([]byte, error) {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, n := range names {
		k, _ := json.Marshal(n)
		v, err := json.Marshal(all[n])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
		if i < len(names)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// allCommandNames lists every command and subcommand of the table.
func allCommandNames() []string {
	var names []string
	for _, c := range sortedCommands() {
		names = append(names, c.FullName())
		for _, s := range c.Subcommands {
			names = append(names, s.FullName())
		}
	}
	sort.Strings(names)
	return names
}

// TestCommandMetaRoundTrip: the embedded file parses, each entry names a
// command we have, and encoding it again gives the same JSON (the codec
// loses nothing).
func TestCommandMetaRoundTrip(t *testing.T) {
	var all map[string]*commandMeta
	if err := json.Unmarshal(commandMetaJSON, &all); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range allCommandNames() {
		known[n] = true
	}
	for name := range all {
		if !known[name] {
			t.Errorf("command_meta.json describes %q, which the table lacks", name)
		}
	}
	for name := range known {
		if all[name] == nil && name != "testblock" { // testblock: a test-only command
			t.Errorf("%q has no entry in command_meta.json: regenerate it (see TestGenerateCommandMeta)", name)
		}
	}
	again, err := encodeCommandMeta(all)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, commandMetaJSON) {
		t.Error("command_meta.json does not round-trip through metaValue")
	}
}

// TestDifferentialCommandInfoAndDocs compares COMMAND INFO and COMMAND
// DOCS of every command we implement with redis-server 7.0's, in RESP2
// and RESP3: name, arity, flags, key positions, ACL categories in Redis's
// order, tips, key specs (RO, access...), and the docs maps.
func TestDifferentialCommandInfoAndDocs(t *testing.T) {
	real := dialNode(t, startRealRedis(t))
	ours := dialNode(t, startNode(t).port)
	for _, proto := range []string{"2", "3"} {
		real.do("HELLO", proto)
		ours.do("HELLO", proto)
		for _, name := range allCommandNames() {
			if name == "testblock" {
				continue // a test-only command
			}
			for _, sub := range []string{"INFO", "DOCS"} {
				r, o := real.do("COMMAND", sub, name), ours.do("COMMAND", sub, name)
				sortSubcommands(&r, sub)
				sortSubcommands(&o, sub)
				if r.String() != o.String() {
					t.Errorf("RESP%s COMMAND %s %s:\n redis:    %s\n replnode: %s", proto, sub, name, r.String(), o.String())
				}
			}
		}
	}
}

// sortSubcommands puts the subcommands of a COMMAND INFO or DOCS reply in
// name order (Redis lists them in its dict order, which changes with the
// hash seed of each process) and keeps only those replnode implements.
func sortSubcommands(r *resp.Reply, sub string) {
	for i := range r.Elems {
		e := &r.Elems[i]
		if sub == "INFO" && len(e.Elems) == 10 {
			var subs []resp.Reply
			for _, s := range e.Elems[9].Elems {
				if lookupCommandPath(s.Elems[0].Str) != nil {
					subs = append(subs, s)
				}
			}
			sort.Slice(subs, func(a, b int) bool { return subs[a].Elems[0].Str < subs[b].Elems[0].Str })
			e.Elems[9].Elems = subs
			continue
		}
		if sub == "DOCS" && i%2 == 1 {
			for j := 0; j+1 < len(e.Elems); j += 2 {
				if e.Elems[j].Str != "subcommands" {
					continue
				}
				m := e.Elems[j+1].Elems
				type pair struct{ k, v resp.Reply }
				var ps []pair
				for k := 0; k+1 < len(m); k += 2 {
					if lookupCommandPath(m[k].Str) != nil {
						ps = append(ps, pair{m[k], m[k+1]})
					}
				}
				sort.Slice(ps, func(a, b int) bool { return ps[a].k.Str < ps[b].k.Str })
				m = m[:0]
				for _, p := range ps {
					m = append(m, p.k, p.v)
				}
				e.Elems[j+1].Elems = m
			}
		}
	}
}

// TestLookupCommandNameFindsEveryCommand: the case-insensitive index finds
// every registered command under its name in any case, and nothing for a
// name one byte away from a command's unless that name is a command too
// (the hash folds more than letters together; the compare must not).
func TestLookupCommandNameFindsEveryCommand(t *testing.T) {
	for name, c := range commandTable {
		for _, variant := range []string{name, strings.ToUpper(name), strings.ToUpper(name[:1]) + name[1:]} {
			if got := lookupCommandName([]byte(variant)); got != c {
				t.Errorf("lookupCommandName(%q) = %v, want %s", variant, got, name)
			}
		}
		for i := range len(name) {
			for _, b := range []byte{name[i] ^ 0x20, name[i] + 1, '@', '`', 0} {
				v := []byte(name)
				v[i] = b
				want := commandTable[strings.ToLower(string(v))]
				if !isASCIILetter(name[i]) || !isASCIILetter(b) {
					want = commandTable[string(v)]
				}
				if got := lookupCommandName(v); got != want {
					t.Errorf("lookupCommandName(%q) = %v, want %v", v, got, want)
				}
			}
		}
		if got := lookupCommandName([]byte(name + "x")); got != commandTable[name+"x"] {
			t.Errorf("lookupCommandName(%q) = %v", name+"x", got)
		}
	}
	if lookupCommandName(nil) != nil || lookupCommandName([]byte("no-such-command")) != nil {
		t.Error("found a command that does not exist")
	}
}

func isASCIILetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }
