package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/replnode/replnode/replnode/resp"
)

// ------ COMMAND METADATA ------
//
// COMMAND DOCS and the descriptive fields of COMMAND INFO (ACL categories,
// tips, key specs) are data, like Redis's src/commands/*.json: they live in
// command_meta.json, one entry per command and subcommand we implement, and
// are attached to the command table once. Nothing in dispatch reads them.
// The file is generated from a real redis-server 7.0 (see
// TestGenerateCommandMeta), so the replies are 7.0's, types included.
// Arity, flags and first/last/step stay in the Go table: dispatch uses them.

//go:embed command_meta.json
var commandMetaJSON []byte

// commandMeta is one command's entry in command_meta.json.
type commandMeta struct {
	// Docs is the COMMAND DOCS map (summary, since, group, complexity,
	// doc_flags, history, arguments...), without subcommands: those are
	// listed from the table, so only implemented ones appear.
	Docs metaValue `json:"docs"`
	// ACL, Tips and KeySpecs are fields 7, 8 and 9 of COMMAND INFO.
	ACL      metaValue `json:"acl"`
	Tips     metaValue `json:"tips"`
	KeySpecs metaValue `json:"key_specs"`
}

// metaValue is a reply kept as data. In JSON a string is a bulk string, a
// number an integer, a list an array; {"+": s} is a simple string,
// {"%": [k1, v1, ...]} a map and {"~": [...]} a set, so RESP3 types and
// their RESP2 forms come out as Redis writes them.
type metaValue struct {
	kind  byte // '$', ':', '*', '+', '%', '~'
	str   string
	num   int64
	elems []metaValue
}

// UnmarshalJSON decodes the encoding described at metaValue.
func (v *metaValue) UnmarshalJSON(b []byte) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out, err := metaFromJSON(raw)
	*v = out
	return err
}

// metaFromJSON converts a decoded JSON value.
func metaFromJSON(raw any) (metaValue, error) {
	switch x := raw.(type) {
	case string:
		return metaValue{kind: '$', str: x}, nil
	case float64:
		return metaValue{kind: ':', num: int64(x)}, nil
	case []any:
		v := metaValue{kind: '*'}
		for _, e := range x {
			m, err := metaFromJSON(e)
			if err != nil {
				return v, err
			}
			v.elems = append(v.elems, m)
		}
		return v, nil
	case map[string]any:
		for k, inner := range x {
			switch k {
			case "+":
				s, _ := inner.(string)
				return metaValue{kind: '+', str: s}, nil
			case "%", "~":
				arr, err := metaFromJSON(inner)
				arr.kind = k[0]
				return arr, err
			}
		}
	}
	return metaValue{}, fmt.Errorf("command_meta.json: unexpected value %v", raw)
}

// MarshalJSON encodes the form UnmarshalJSON reads (for the generator).
func (v metaValue) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case '$':
		return json.Marshal(v.str)
	case ':':
		return json.Marshal(v.num)
	case '+':
		return json.Marshal(map[string]string{"+": v.str})
	case '%', '~':
		elems := v.elems
		if elems == nil {
			elems = []metaValue{}
		}
		return json.Marshal(map[string][]metaValue{string(v.kind): elems})
	}
	elems := v.elems
	if elems == nil {
		elems = []metaValue{}
	}
	return json.Marshal(elems)
}

// metaFromReply keeps a reply read from redis-server (RESP3) as data.
func metaFromReply(r resp.Reply) metaValue {
	switch r.Type {
	case ':':
		return metaValue{kind: ':', num: r.Int}
	case '+':
		return metaValue{kind: '+', str: r.Str}
	case '*', '%', '~':
		v := metaValue{kind: r.Type}
		for _, e := range r.Elems {
			v.elems = append(v.elems, metaFromReply(e))
		}
		return v
	}
	return metaValue{kind: '$', str: r.Str}
}

// write replies with v in the client's protocol.
func (v metaValue) write(w *resp.Writer) {
	switch v.kind {
	case '$':
		w.BulkString(v.str)
	case ':':
		w.Int(v.num)
	case '+':
		w.SimpleString(v.str)
	case '%':
		w.MapLen(len(v.elems) / 2)
	case '~':
		w.SetLen(len(v.elems))
	default:
		w.ArrayLen(len(v.elems))
	}
	for _, e := range v.elems {
		e.write(w)
	}
}

var commandMetaOnce sync.Once

// A new Server parses the metadata (once per process) before it serves:
// done lazily, the first COMMAND (every redis-cli session sends COMMAND
// DOCS) paid ~30 ms on the executor and landed in the SLOWLOG.
func init() {
	onNewServer(func(*Server) { attachCommandMeta() })
}

// attachCommandMeta parses command_meta.json once and hangs each entry on
// its command. A command missing from the file (none of Redis's) keeps the
// derived fallbacks.
func attachCommandMeta() {
	commandMetaOnce.Do(func() {
		var all map[string]*commandMeta
		if err := json.Unmarshal(commandMetaJSON, &all); err != nil {
			panic(err) // the embedded file is part of the build
		}
		for _, c := range commandTable {
			c.meta = all[c.fullLow]
			for _, sub := range c.Subcommands {
				sub.meta = all[sub.fullLow]
			}
		}
	})
}

// commandACLCategories are the command's ACL categories as COMMAND INFO
// lists them ("@read", ...), in Redis's order.
func commandACLCategories(c *Command) []string {
	attachCommandMeta()
	if c.meta == nil {
		return aclCategories(c)
	}
	out := make([]string, 0, len(c.meta.ACL.elems))
	for _, e := range c.meta.ACL.elems {
		out = append(out, e.str)
	}
	return out
}

// writeCommandDocs writes one COMMAND DOCS value: Redis's map for the
// command plus, for a container, the docs of the subcommands we have.
func writeCommandDocs(w *resp.Writer, c *Command) {
	attachCommandMeta()
	var fields []metaValue
	if c.meta != nil {
		fields = c.meta.Docs.elems
	} else {
		fields = []metaValue{
			{kind: '$', str: "summary"}, {kind: '$', str: ""},
			{kind: '$', str: "since"}, {kind: '$', str: "7.0.0"},
			{kind: '$', str: "group"}, {kind: '$', str: c.Group},
			{kind: '$', str: "complexity"}, {kind: '$', str: ""},
		}
	}
	n := len(fields) / 2
	if len(c.Subcommands) > 0 {
		n++
	}
	w.MapLen(n)
	for _, f := range fields {
		f.write(w)
	}
	if len(c.Subcommands) > 0 {
		subs := append([]*Command(nil), c.Subcommands...)
		sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
		w.BulkString("subcommands")
		w.MapLen(len(subs))
		for _, s := range subs {
			w.BulkString(s.FullName())
			writeCommandDocs(w, s)
		}
	}
}
