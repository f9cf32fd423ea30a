package acl

import "strings"

// categoryNames are Redis 7.0's ACL categories in ACLCommandCategories
// order: ACL CAT lists them so, and the describer tries them so. The bit of
// category i is 1<<i.
var categoryNames = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
}

// CategoryNames returns the categories in Redis's order.
func CategoryNames() []string { return append([]string(nil), categoryNames...) }

// CategoryFlag returns the bit of a category name (case-insensitive), or 0
// for an unknown one.
func CategoryFlag(name string) uint64 {
	for i, n := range categoryNames {
		if strings.EqualFold(n, name) {
			return 1 << i
		}
	}
	return 0
}

// CategoryFlags converts names such as "@read" or "read" to bits; unknown
// names are ignored.
func CategoryFlags(names []string) uint64 {
	var f uint64
	for _, n := range names {
		f |= CategoryFlag(strings.TrimPrefix(n, "@"))
	}
	return f
}

// Command is one entry of the command table as ACLs see it: a command or a
// container's subcommand.
type Command struct {
	// ID indexes the command bitmaps; unique across commands and
	// subcommands, below the table's size.
	ID int
	// Name is the lower-case full name: "get", "config|get".
	Name string
	// Categories are CategoryFlag bits.
	Categories uint64
	// NoAuth commands (AUTH, HELLO, ...) are never denied (Redis's
	// CMD_NO_AUTH).
	NoAuth bool
	// Parent is the container of a subcommand, nil for a command.
	Parent *Command
	// Subs are a container's subcommands.
	Subs []*Command
}

// Table is the command table rules are resolved against. It never
// changes once built.
type Table struct {
	top    []*Command
	byName map[string]*Command
	size   int // bits in a command bitmap: every ID, plus the future-commands bit
}

// NewTable builds a table from the top-level commands (with their
// subcommands linked in Subs and Parent). The order of top is the order
// in which rules are described and ACL CAT lists commands.
func NewTable(top []*Command) *Table {
	t := &Table{top: top, byName: map[string]*Command{}}
	maxID := 0
	for _, c := range top {
		t.byName[c.Name] = c
		maxID = max(maxID, c.ID)
		for _, s := range c.Subs {
			maxID = max(maxID, s.ID)
		}
	}
	t.size = maxID + 2
	return t
}

// futureBit is set only by +@all/allcommands: it marks a selector that
// would run commands added later (Redis's USER_COMMAND_BITS_COUNT-1).
func (t *Table) futureBit() int { return t.size - 1 }

// Lookup finds "cmd" or "container|sub" (case-insensitive), as Redis's
// ACLLookupCommand.
func (t *Table) Lookup(name string) *Command {
	name = strings.ToLower(name)
	parts := strings.Split(name, "|")
	if len(parts) > 2 {
		return nil
	}
	c := t.byName[parts[0]]
	if c == nil || len(parts) == 1 {
		return c
	}
	for _, s := range c.Subs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// InCategory lists the full names of the commands in a category, in table
// order with each container followed by its subcommands (ACL CAT <cat>).
func (t *Table) InCategory(flag uint64) []string {
	var out []string
	for _, c := range t.top {
		if c.Categories&flag != 0 {
			out = append(out, c.Name)
		}
		for _, s := range c.Subs {
			if s.Categories&flag != 0 {
				out = append(out, s.Name)
			}
		}
	}
	return out
}

// each calls fn for every command and subcommand in table order.
func (t *Table) each(fn func(c *Command)) {
	for _, c := range t.top {
		fn(c)
		for _, s := range c.Subs {
			fn(s)
		}
	}
}
