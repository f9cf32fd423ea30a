package server

import (
	"strconv"
	"strings"
	"sync"

	"github.com/replnode/replnode/replnode/acl"
)

// ------ ACL: the command table and key/channel arguments as package acl sees them
//
// Package acl decides; this file gives it the command table (built once
// from ours and command_meta.json's ACL categories) and, for one command,
// its key arguments with their access flags from the key specs (Redis's
// getKeysFromCommandWithSpecs) and its channel arguments (Redis's
// commands_with_channels).

// aclCommand is a command's ACL data, attached once to the table.
type aclCommand struct {
	cmd   *acl.Command
	specs []keySpec
	// hasKeys is Redis's doesCommandHaveKeys; varFlags marks key specs
	// whose flags depend on the arguments (SET GET, BITFIELD, SORT).
	hasKeys, varFlags, specsUsable bool
	// allFlags is the union of the key specs' flags, for key positions
	// found without specs.
	allFlags acl.KeyFlags
	channels func(args [][]byte) []acl.ChannelRef
}

// keySpec is one key spec of command_meta.json, decoded.
type keySpec struct {
	flags      acl.KeyFlags
	notKey     bool
	incomplete bool
	bsIndex    int    // begin_search index (0: keyword)
	keyword    string // begin_search keyword
	startFrom  int
	keynum     bool // find_keys keynum (else range)
	lastKey    int
	keyStep    int
	limit      int
	keynumIdx  int
	firstKey   int
}

var (
	aclTableOnce sync.Once
	aclTable     *acl.Table
)

// theACLTable builds the ACL command table once per process.
func theACLTable() *acl.Table {
	aclTableOnce.Do(func() {
		attachCommandMeta()
		var top []*acl.Command
		for _, c := range sortedCommandsWithHidden() {
			ac := newACLCommand(c, nil, c.Hidden)
			for _, s := range c.Subcommands {
				ac.cmd.Subs = append(ac.cmd.Subs, newACLCommand(s, ac.cmd, c.Hidden).cmd)
			}
			top = append(top, ac.cmd)
		}
		aclTable = acl.NewTable(top)
	})
	return aclTable
}

// sortedCommandsWithHidden is the table in name order, hidden commands
// included: an ACL user may be given +replnode.
func sortedCommandsWithHidden() []*Command {
	out := sortedCommands()
	for _, c := range commandTable {
		if c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

// newACLCommand attaches c's ACL data. A hidden command (REPLNODE) is in
// no category: only +@all or naming it allows it, so the categories
// describe Redis's table.
func newACLCommand(c *Command, parent *acl.Command, hidden bool) *aclCommand {
	ac := &aclCommand{cmd: &acl.Command{ID: c.statIdx, Name: c.fullLow, NoAuth: c.Flags&FlagNoAuth != 0, Parent: parent}}
	if !hidden {
		ac.cmd.Categories = acl.CategoryFlags(commandACLCategories(c))
	}
	ac.specsUsable = true
	if c.meta != nil {
		for _, m := range c.meta.KeySpecs.elems {
			ks, ok := decodeKeySpec(m)
			if !ok {
				ac.specsUsable = false
				ks.flags = specFlags(m)
			}
			if !ks.notKey {
				ac.hasKeys = true
				ac.allFlags |= ks.flags
			}
			if specHasFlag(m, "variable_flags") {
				ac.varFlags = true
			}
			ac.specs = append(ac.specs, ks)
		}
	} else {
		ac.specsUsable = false
		ac.allFlags = acl.KeyAccess | acl.KeyUpdate
	}
	if len(ac.specs) == 0 {
		ac.specsUsable = false
	}
	if c.GetKeys != nil || c.FirstKey > 0 {
		ac.hasKeys = true
	}
	if ac.allFlags == 0 {
		ac.allFlags = acl.KeyAccess | acl.KeyUpdate
	}
	ac.channels = commandChannels(c.fullLow)
	c.acl = ac
	return ac
}

// metaField returns a map field of a metaValue.
func metaField(m metaValue, name string) (metaValue, bool) {
	for i := 0; i+1 < len(m.elems); i += 2 {
		if m.elems[i].str == name {
			return m.elems[i+1], true
		}
	}
	return metaValue{}, false
}

func metaInt(m metaValue, name string) int {
	v, _ := metaField(m, name)
	return int(v.num)
}

func specHasFlag(m metaValue, name string) bool {
	flags, _ := metaField(m, "flags")
	for _, f := range flags.elems {
		if strings.EqualFold(f.str, name) {
			return true
		}
	}
	return false
}

func specFlags(m metaValue) acl.KeyFlags {
	var f acl.KeyFlags
	for name, bit := range map[string]acl.KeyFlags{"access": acl.KeyAccess, "insert": acl.KeyInsert, "delete": acl.KeyDelete, "update": acl.KeyUpdate} {
		if specHasFlag(m, name) {
			f |= bit
		}
	}
	return f
}

// decodeKeySpec decodes one key spec; ok is false for "unknown" searches.
func decodeKeySpec(m metaValue) (ks keySpec, ok bool) {
	ks.flags = specFlags(m)
	ks.notKey = specHasFlag(m, "not_key")
	ks.incomplete = specHasFlag(m, "incomplete")
	bs, _ := metaField(m, "begin_search")
	bsType, _ := metaField(bs, "type")
	bsSpec, _ := metaField(bs, "spec")
	switch bsType.str {
	case "index":
		ks.bsIndex = metaInt(bsSpec, "index")
	case "keyword":
		kw, _ := metaField(bsSpec, "keyword")
		ks.keyword = kw.str
		ks.startFrom = metaInt(bsSpec, "startfrom")
	default:
		return ks, false
	}
	fk, _ := metaField(m, "find_keys")
	fkType, _ := metaField(fk, "type")
	fkSpec, _ := metaField(fk, "spec")
	switch fkType.str {
	case "range":
		ks.lastKey = metaInt(fkSpec, "lastkey")
		ks.keyStep = metaInt(fkSpec, "keystep")
		ks.limit = metaInt(fkSpec, "limit")
	case "keynum":
		ks.keynum = true
		ks.keynumIdx = metaInt(fkSpec, "keynumidx")
		ks.firstKey = metaInt(fkSpec, "firstkey")
		ks.keyStep = metaInt(fkSpec, "keystep")
	default:
		return ks, false
	}
	return ks, true
}

// keysFromSpecs is Redis's getKeysUsingKeySpecs; ok is false when a spec
// cannot be applied to these arguments.
func keysFromSpecs(specs []keySpec, args [][]byte) (out []acl.KeyRef, ok bool) {
	argc := len(args)
	for _, ks := range specs {
		if ks.notKey {
			continue
		}
		first := ks.bsIndex
		if ks.keyword != "" {
			first = 0
			start, end := ks.startFrom, argc-1
			if ks.startFrom <= 0 {
				start, end = argc+ks.startFrom, 1
			}
			for i := start; i != end; {
				if i >= argc || i < 1 {
					break
				}
				if strings.EqualFold(string(args[i]), ks.keyword) {
					first = i + 1
					break
				}
				if start <= end {
					i++
				} else {
					i--
				}
			}
			if first == 0 {
				continue
			}
		}
		var last int
		step := ks.keyStep
		if !ks.keynum {
			switch {
			case ks.lastKey >= 0:
				last = first + ks.lastKey
			case ks.limit == 0:
				last = argc + ks.lastKey
			default:
				last = first + ((argc-first)/ks.limit + ks.lastKey)
			}
		} else {
			if first+ks.keynumIdx >= argc {
				return nil, false
			}
			n, err := strconv.ParseInt(string(args[first+ks.keynumIdx]), 10, 64)
			if err != nil || n < 0 {
				return nil, false
			}
			first += ks.firstKey
			last = first + int(n) - 1
		}
		if last >= argc || last < first || first >= argc {
			return nil, false
		}
		if step <= 0 {
			step = 1
		}
		for i := first; i <= last; i += step {
			out = append(out, acl.KeyRef{Pos: i, Flags: ks.flags})
		}
		if ks.incomplete {
			return nil, false
		}
	}
	return out, true
}

// aclKeys returns the key arguments of a command with their access flags
// (Redis's getKeysFromCommandWithSpecs).
func aclKeys(c *Command, args [][]byte) []acl.KeyRef {
	ac := c.acl
	if ac.specsUsable && !ac.varFlags {
		if keys, ok := keysFromSpecs(ac.specs, args); ok {
			return keys
		}
	}
	switch c.fullLow {
	case "set":
		return []acl.KeyRef{{Pos: 1, Flags: setKeyFlags(args)}}
	case "bitfield":
		return []acl.KeyRef{{Pos: 1, Flags: bitfieldKeyFlags(args)}}
	case "sort", "sort_ro":
		keys := []acl.KeyRef{{Pos: 1, Flags: acl.KeyAccess}}
		if c.fullLow == "sort" {
			if store := sortStoreKey(args); store > 0 {
				keys = append(keys, acl.KeyRef{Pos: store, Flags: acl.KeyUpdate})
			}
		}
		return keys
	}
	pos := c.keyPositions(args)
	keys := make([]acl.KeyRef, len(pos))
	for i, p := range pos {
		keys[i] = acl.KeyRef{Pos: p, Flags: ac.allFlags}
	}
	return keys
}

// setKeyFlags is Redis's setGetKeys: SET ... GET reads the key too.
func setKeyFlags(args [][]byte) acl.KeyFlags {
	for _, a := range args[3:] {
		if strings.EqualFold(string(a), "get") {
			return acl.KeyAccess | acl.KeyUpdate
		}
	}
	return acl.KeyUpdate
}

// bitfieldKeyFlags is Redis's bitfieldGetKeys: read-only when only GET
// (and OVERFLOW) appear.
func bitfieldKeyFlags(args [][]byte) acl.KeyFlags {
	for i := 2; i < len(args); i++ {
		rem := len(args) - i - 1
		a := string(args[i])
		switch {
		case strings.EqualFold(a, "get") && rem >= 2:
			i += 2
		case strings.EqualFold(a, "overflow") && rem >= 1:
			i++
		default:
			return acl.KeyAccess | acl.KeyUpdate
		}
	}
	return acl.KeyAccess
}

// sortStoreKey is the position of SORT's last STORE key, or 0 (Redis's
// sortGetKeys).
func sortStoreKey(args [][]byte) int {
	pos := 0
	for i := 2; i < len(args); i++ {
		a := strings.ToLower(string(args[i]))
		switch {
		case a == "limit":
			i += 2
		case a == "get" || a == "by":
			i++
		case a == "store" && i+1 < len(args):
			pos = i + 1
		}
	}
	return pos
}

// commandChannels gives the channel arguments of the pub/sub commands
// (Redis's commands_with_channels), nil for the others.
func commandChannels(name string) func(args [][]byte) []acl.ChannelRef {
	all := func(pattern, checked bool) func(args [][]byte) []acl.ChannelRef {
		return func(args [][]byte) []acl.ChannelRef {
			out := make([]acl.ChannelRef, 0, len(args)-1)
			for i := 1; i < len(args); i++ {
				out = append(out, acl.ChannelRef{Pos: i, Pattern: pattern, Checked: checked})
			}
			return out
		}
	}
	switch name {
	case "subscribe", "ssubscribe":
		return all(false, true)
	case "psubscribe":
		return all(true, true)
	case "publish", "spublish":
		return func(args [][]byte) []acl.ChannelRef {
			return []acl.ChannelRef{{Pos: 1, Checked: true}}
		}
	}
	return nil
}
