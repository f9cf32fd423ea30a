package acl

import "strings"

// Result is a permission decision, ordered as Redis's ACL_* codes: when
// no selector allows a command, the highest result is reported.
type Result int

const (
	OK            Result = iota
	DeniedCommand        // the command or subcommand is not allowed
	DeniedKey            // a key argument matches no pattern with the access needed
	DeniedAuth           // a failed AUTH (logged only)
	DeniedChannel        // a channel argument matches no channel pattern
)

// KeyFlags are the access flags of a key argument, from the command's key
// specs (Redis's CMD_KEY_ACCESS, INSERT, DELETE, UPDATE).
type KeyFlags uint8

const (
	KeyAccess KeyFlags = 1 << iota
	KeyInsert
	KeyDelete
	KeyUpdate
)

// KeyRef is one key argument: its index in args and how it is used.
type KeyRef struct {
	Pos   int
	Flags KeyFlags
}

// ChannelRef is one channel argument of a pub/sub command.
type ChannelRef struct {
	Pos int
	// Pattern is a PSUBSCRIBE pattern: it must equal an allowed pattern.
	Pattern bool
	// Checked is false for unsubscribes, which are never denied.
	Checked bool
}

// Request is one command to decide on.
type Request struct {
	Cmd  *Command
	Args [][]byte
	// Keys and Channels compute the command's key and channel arguments;
	// they are called at most once, only if a selector restricts keys or
	// channels. Either may be nil for a command without any.
	Keys     func() []KeyRef
	Channels func() []ChannelRef
}

// Check decides whether u may run the request (Redis's
// ACLCheckAllUserCommandPerm). On denial pos is the index in Args of the
// key or channel refused.
func (r *Registry) Check(u *User, req *Request) (res Result, pos int) {
	var keys []KeyRef
	keysDone := false
	relevant, lastIdx := DeniedCommand, 0
	for _, s := range u.selectors {
		got, idx := r.checkSelector(s, req, &keys, &keysDone)
		if got == OK {
			return OK, 0
		}
		if got > relevant || got == relevant && idx > lastIdx {
			relevant, lastIdx = got, idx
		}
	}
	return relevant, lastIdx
}

// checkSelector is Redis's ACLSelectorCheckCmd.
func (r *Registry) checkSelector(s *selector, req *Request, keys *[]KeyRef, keysDone *bool) (Result, int) {
	c := req.Cmd
	if !s.allCommands && !c.NoAuth && !s.bit(c.ID) {
		args := s.firstArgs[c.ID]
		idx := 1
		if c.Parent != nil {
			idx = 2
		}
		if len(req.Args) < 2 || len(args) == 0 || idx >= len(req.Args) {
			return DeniedCommand, 0
		}
		ok := false
		for _, a := range args {
			if strings.EqualFold(string(req.Args[idx]), a) {
				ok = true
				break
			}
		}
		if !ok {
			return DeniedCommand, 0
		}
	}
	if !s.allKeys && req.Keys != nil {
		if !*keysDone {
			*keys, *keysDone = req.Keys(), true
		}
		for _, k := range *keys {
			if !r.selectorAllowsKey(s, req.Args[k.Pos], k.Flags) {
				return DeniedKey, k.Pos
			}
		}
	}
	if !s.allChannels && req.Channels != nil {
		for _, ch := range req.Channels() {
			if !ch.Checked {
				continue
			}
			if !channelAllowed(s.channels, string(req.Args[ch.Pos]), ch.Pattern, r.match) {
				return DeniedChannel, ch.Pos
			}
		}
	}
	return OK, 0
}

// selectorAllowsKey is Redis's ACLSelectorCheckKey.
func (r *Registry) selectorAllowsKey(s *selector, key []byte, kf KeyFlags) bool {
	if s.allKeys {
		return true
	}
	need := 0
	if kf&KeyAccess != 0 {
		need |= permRead
	}
	if kf&(KeyInsert|KeyDelete|KeyUpdate) != 0 {
		need |= permWrite
	}
	for _, p := range s.patterns {
		if p.flags&need != need {
			continue
		}
		if r.match([]byte(p.pattern), key) {
			return true
		}
	}
	return false
}

// UnrestrictedKeyAccess reports whether a selector of u that allows the
// request also gives the access kf to every key ("~*", "%R~*" for read):
// SORT's BY and GET read keys named by the data (Redis's
// ACLUserCheckCmdWithUnrestrictedKeyAccess).
func (r *Registry) UnrestrictedKeyAccess(u *User, req *Request, kf KeyFlags) bool {
	var keys []KeyRef
	keysDone := false
	need := 0
	if kf&KeyAccess != 0 {
		need |= permRead
	}
	if kf&(KeyInsert|KeyDelete|KeyUpdate) != 0 {
		need |= permWrite
	}
	for _, s := range u.selectors {
		if res, _ := r.checkSelector(s, req, &keys, &keysDone); res != OK {
			continue
		}
		if s.allKeys {
			return true
		}
		for _, p := range s.patterns {
			if p.flags&need == need && p.pattern == "*" {
				return true
			}
		}
	}
	return false
}

// ChannelPermitted reports whether u may use a channel (or, with
// isPattern, a PSUBSCRIBE pattern) in any selector (Redis's
// ACLUserCheckChannelPerm).
func (r *Registry) ChannelPermitted(u *User, channel string, isPattern bool) bool {
	for _, s := range u.selectors {
		if s.allChannels || channelAllowed(s.channels, channel, isPattern, r.match) {
			return true
		}
	}
	return false
}

// KeyPermitted reports whether any selector of u gives the access kf to
// key (Redis's ACLUserCheckKeyPerm).
func (r *Registry) KeyPermitted(u *User, key []byte, kf KeyFlags) bool {
	for _, s := range u.selectors {
		if r.selectorAllowsKey(s, key, kf) {
			return true
		}
	}
	return false
}

// ErrorMessage is the reason a script or EXEC prints for a denial
// (Redis's getAclErrorMessage).
func ErrorMessage(res Result) string {
	switch res {
	case DeniedCommand:
		return "can't run this command or subcommand"
	case DeniedKey:
		return "can't access at least one of the keys mentioned in the command arguments"
	case DeniedChannel:
		return "can't publish to the channel mentioned in the command"
	}
	return "lacking the permissions for the command"
}
