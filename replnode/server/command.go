package server

import (
	"sort"
	"strings"
)

// ---------------------------------------------------------------- command table

// Flags are a command's properties, named as Redis's COMMAND INFO prints
// them. Dispatch reads them to decide the shared checks.
type Flags uint32

const (
	FlagWrite           Flags = 1 << iota // modifies the keyspace: refused on a read-only replica, propagated
	FlagReadOnly                          // reads the keyspace
	FlagDenyOOM                           // may grow memory: refused over maxmemory
	FlagAdmin                             // administrative
	FlagPubSub                            // pub/sub related
	FlagNoScript                          // not allowed from scripts
	FlagBlocking                          // may block the client
	FlagLoading                           // allowed while loading the dataset
	FlagStale                             // allowed on a replica with a stale dataset
	FlagSkipMonitor                       // not shown by MONITOR
	FlagSkipSlowlog                       // not logged in the slow log
	FlagFast                              // O(1) or O(log N)
	FlagNoAuth                            // allowed before AUTH
	FlagMayReplicate                      // may propagate without being a write
	FlagNoMulti                           // refused inside MULTI
	FlagAllowBusy                         // allowed while a script is busy
	FlagNoMandatoryKeys                   // key arguments may be absent
	FlagProtected                         // behind enable-debug-command
	FlagMovableKeys                       // key positions depend on arguments (GetKeys)
	FlagNoAsyncLoading                    // refused while loading asynchronously (repl-diskless-load swapdb)
	FlagFenced                            // refused on a connection with a stale failover epoch (fencing.go); replnode's, never printed
)

// flagNames are the flags in the order Redis 7.0's addReplyCommandFlags
// prints them. may_replicate and protected are hidden there on purpose, so
// they have no name here either.
var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagWrite, "write"}, {FlagReadOnly, "readonly"}, {FlagDenyOOM, "denyoom"}, {FlagAdmin, "admin"},
	{FlagPubSub, "pubsub"}, {FlagNoScript, "noscript"}, {FlagBlocking, "blocking"}, {FlagLoading, "loading"},
	{FlagStale, "stale"}, {FlagSkipMonitor, "skip_monitor"}, {FlagSkipSlowlog, "skip_slowlog"},
	{FlagFast, "fast"}, {FlagNoAuth, "no_auth"}, {FlagNoMandatoryKeys, "no_mandatory_keys"},
	{FlagNoAsyncLoading, "no_async_loading"}, {FlagNoMulti, "no_multi"}, {FlagMovableKeys, "movablekeys"},
	{FlagAllowBusy, "allow_busy"},
}

// Names lists the flags as COMMAND INFO prints them.
func (f Flags) Names() []string {
	var out []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Command describes one command (or one subcommand of a container command
// such as CONFIG). It is data: dispatch does the shared checks from it, the
// Handler does only the command's own work.
type Command struct {
	// Name is lower case. A subcommand has its own name ("get"), and its
	// full name is "container|name".
	Name string
	// Arity is Redis's: N means exactly N arguments including the name,
	// -N means at least N. A subcommand's arity counts the container name.
	Arity int
	Flags Flags
	// Group is the documentation group (string, keyspace, list, hash, set,
	// sorted-set, pubsub, transactions, connection, server, generic) and
	// gives the main ACL category.
	Group string
	// FirstKey, LastKey and Step locate the keys among the arguments
	// (LastKey -1 means the last argument, -2 the one before...). Zero
	// FirstKey: no keys.
	FirstKey, LastKey, Step int
	// GetKeys returns key positions when they depend on the arguments
	// (FlagMovableKeys): used by COMMAND GETKEYS.
	GetKeys func(args [][]byte) []int
	// Handler executes the command on the executor. It is nil for a
	// container whose work is in its subcommands.
	Handler func(ctx *Ctx)
	// FlagsFor, when set, gives the flags dispatch checks for these
	// arguments instead of Flags: EVAL of a script with a shebang takes
	// the flags the script declares (Redis's getCommandFlags).
	FlagsFor    func(s *Server, args [][]byte) Flags
	Subcommands []*Command
	// Hidden keeps a replnode-only command (REPLNODE) out of everything
	// that describes the table — COMMAND, COMMAND COUNT, INFO, DOCS, LIST,
	// GETKEYS, INFO commandstats, ACL CAT — so the table clients see is
	// redis-server 7.0's. Dispatch runs it like any other command.
	Hidden bool

	parent *Command
	subs   map[string]*Command
	// statIdx is this command's slot in a Server's commandStats: the table
	// is shared by every Server in the process, its counters are not.
	statIdx int
	// meta is the descriptive data of COMMAND DOCS / INFO (command_meta.go).
	meta *commandMeta
	// acl is the command as ACLs see it (acl_keys.go).
	acl     *aclCommand
	id      int
	fullLow string
}

// cmdStats are the per-command counters of INFO commandstats.
type cmdStats struct {
	calls, usec, rejected, failed int64
	latency                       *latencyHistogram // INFO latencystats; nil until the first tracked call
}

// commandSlots counts the commands and subcommands registered, so a Server
// sizes its commandStats once.
var commandSlots int

// cmdStats returns cmd's counters on s; the executor owns them.
func (s *Server) cmdStats(cmd *Command) *cmdStats {
	if cmd.statIdx >= len(s.commandStats) {
		// Registered after s was made (init order): grow once.
		s.commandStats = append(s.commandStats, make([]cmdStats, commandSlots-len(s.commandStats))...)
	}
	return &s.commandStats[cmd.statIdx]
}

// FullName is "name" or "container|name".
func (c *Command) FullName() string { return c.fullLow }

// commandTable maps lower-case names to commands. It is filled by
// register calls from init functions, one block per command-group file,
// and never changes afterwards.
var commandTable = map[string]*Command{}

// register adds commands to the table. It panics on a duplicate name, so a
// clash between two groups fails every test at once.
func register(cmds ...*Command) {
	for _, c := range cmds {
		c.Name = strings.ToLower(c.Name)
		if _, dup := commandTable[c.Name]; dup {
			panic("server: command registered twice: " + c.Name)
		}
		c.fullLow = c.Name
		c.id = len(commandTable)
		c.statIdx = commandSlots
		commandSlots++
		if len(c.Subcommands) > 0 {
			c.subs = map[string]*Command{}
			for _, s := range c.Subcommands {
				s.Name = strings.ToLower(s.Name)
				s.parent = c
				s.fullLow = c.Name + "|" + s.Name
				s.statIdx = commandSlots
				commandSlots++
				if s.Group == "" {
					s.Group = c.Group
				}
				c.subs[s.Name] = s
			}
		}
		indexCommand(c)
		commandTable[c.Name] = c
	}
}

// commandIndex holds the commands of commandTable again, in an
// open-addressing table keyed by a hash that ignores ASCII case, so that
// dispatch finds a command without lower-casing the name into a buffer,
// hashing it for a map and comparing strings: a few multiplications and
// one case-insensitive compare. register fills it (at init, like the
// map), keeping it at most half full.
var commandIndex []*Command

// commandNameHash is FNV-1a over the name with ASCII letters folded to
// lower case (other bytes may fold together too; the compare decides).
func commandNameHash(name []byte) uint32 {
	h := uint32(2166136261)
	for _, ch := range name {
		h = (h ^ uint32(ch|0x20)) * 16777619
	}
	return h
}

func indexCommand(c *Command) {
	if (len(commandTable)+1)*2 > len(commandIndex) {
		rebuildCommandIndex(2 * (len(commandTable) + 1))
	}
	placeCommand(c)
}

// rebuildCommandIndex indexes commandTable anew in at least size slots
// (a test that removes the commands it registered calls it).
func rebuildCommandIndex(size int) {
	n := 256
	for n < size {
		n *= 2
	}
	commandIndex = make([]*Command, n)
	for _, c := range commandTable {
		placeCommand(c)
	}
}

func placeCommand(c *Command) {
	mask := uint32(len(commandIndex) - 1)
	i := commandNameHash([]byte(c.Name)) & mask
	for commandIndex[i] != nil {
		i = (i + 1) & mask
	}
	commandIndex[i] = c
}

// lookupCommandName finds a command by name, in any case, without
// allocating.
func lookupCommandName(name []byte) *Command {
	if len(commandIndex) == 0 {
		return nil
	}
	mask := uint32(len(commandIndex) - 1)
	for i := commandNameHash(name) & mask; ; i = (i + 1) & mask {
		c := commandIndex[i]
		if c == nil {
			return nil
		}
		if equalFold(name, c.Name) {
			return c
		}
	}
}

// subcommand finds a container's subcommand by name.
func (c *Command) subcommand(name []byte) *Command {
	return c.subs[strings.ToLower(string(name))]
}

// sortedCommands returns the table in name order, for COMMAND and INFO,
// without the hidden commands.
func sortedCommands() []*Command {
	out := make([]*Command, 0, len(commandTable))
	for _, c := range commandTable {
		if !c.Hidden {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// keyPositions returns the indexes of the key arguments of args.
func (c *Command) keyPositions(args [][]byte) []int {
	if c.GetKeys != nil {
		return c.GetKeys(args)
	}
	if c.FirstKey <= 0 {
		return nil
	}
	last := c.LastKey
	if last < 0 {
		last = len(args) + last
	}
	step := c.Step
	if step <= 0 {
		step = 1
	}
	var out []int
	for i := c.FirstKey; i <= last && i < len(args); i += step {
		out = append(out, i)
	}
	return out
}
