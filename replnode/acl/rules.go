package acl

import (
	"errors"
	"strings"
)

// Rule errors, with the texts of Redis's ACLSetUserStringError.
var (
	errUnknown       = errors.New("Unknown command or category name in ACL")
	errSyntax        = errors.New("Syntax error")
	errKeyAfterAll   = errors.New("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
	errChanAfterAll  = errors.New("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
	errNoSuchPass    = errors.New("The password you are trying to remove from the user does not exist")
	errBadHash       = errors.New("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	errFirstArgOfSub = errors.New("Allowing first-arg of a subcommand is not supported")
)

// hasSpaces is Redis's ACLStringHasSpaces: isspace() or NUL bytes.
func hasSpaces(s string) bool { return strings.ContainsAny(s, " \t\n\v\f\r\x00") }

// HasSpaces reports whether a user name is one Redis refuses.
func HasSpaces(s string) bool { return hasSpaces(s) }

// applySelectorOp is Redis's ACLSetSelector.
func (r *Registry) applySelectorOp(s *selector, op string) error {
	t := r.table
	switch {
	case strings.EqualFold(op, "allkeys") || op == "~*":
		s.allKeys, s.patterns = true, nil
	case strings.EqualFold(op, "resetkeys"):
		s.allKeys, s.patterns = false, nil
	case strings.EqualFold(op, "allchannels") || op == "&*":
		s.allChannels, s.channels = true, nil
	case strings.EqualFold(op, "resetchannels"):
		s.allChannels, s.channels = false, nil
	case strings.EqualFold(op, "allcommands") || strings.EqualFold(op, "+@all"):
		s.setAll(true)
	case strings.EqualFold(op, "nocommands") || strings.EqualFold(op, "-@all"):
		s.setAll(false)
	case op[0] == '~' || op[0] == '%':
		if s.allKeys {
			return errKeyAfterAll
		}
		flags, off := 0, 1
		if op[0] == '%' {
			for ; off < len(op); off++ {
				c := op[off]
				if (c == 'R' || c == 'r') && flags&permRead == 0 {
					flags |= permRead
				} else if (c == 'W' || c == 'w') && flags&permWrite == 0 {
					flags |= permWrite
				} else if c == '~' {
					off++
					break
				} else {
					return errSyntax
				}
			}
			// "%~x" gives no permission: redis-server 7.0.15 (as
			// shipped) refuses it; "%R" alone is an empty pattern.
			if flags == 0 {
				return errSyntax
			}
		} else {
			flags = permAll
		}
		if off > len(op) {
			off = len(op)
		}
		pat := op[off:]
		if hasSpaces(pat) {
			return errSyntax
		}
		found := false
		for i := range s.patterns {
			if s.patterns[i].pattern == pat {
				s.patterns[i].flags |= flags
				found = true
			}
		}
		if !found {
			s.patterns = append(s.patterns, keyPattern{pattern: pat, flags: flags})
		}
		s.allKeys = false
	case op[0] == '&':
		if s.allChannels {
			return errChanAfterAll
		}
		pat := op[1:]
		if hasSpaces(pat) {
			return errSyntax
		}
		found := false
		for _, c := range s.channels {
			found = found || c == pat
		}
		if !found {
			s.channels = append(s.channels, pat)
		}
		s.allChannels = false
	case op[0] == '+' && (len(op) < 2 || op[1] != '@'):
		name := op[1:]
		bar := strings.LastIndexByte(name, '|')
		if bar < 0 {
			c := t.Lookup(name)
			if c == nil {
				return errUnknown
			}
			s.changePerm(c, true)
			return nil
		}
		c := t.Lookup(name[:bar])
		if c == nil {
			return errUnknown
		}
		if c.Parent != nil {
			return errFirstArgOfSub
		}
		sub := name[bar+1:]
		if sub == "" {
			return errSyntax
		}
		if len(c.Subs) > 0 {
			sc := t.Lookup(name)
			if sc == nil {
				return errUnknown
			}
			s.changePerm(sc, true)
			return nil
		}
		s.addFirstArg(c.ID, sub)
	case op[0] == '-' && (len(op) < 2 || op[1] != '@'):
		c := t.Lookup(op[1:])
		if c == nil {
			return errUnknown
		}
		s.changePerm(c, false)
	case (op[0] == '+' || op[0] == '-') && op[1] == '@':
		flag := CategoryFlag(op[2:])
		if flag == 0 {
			return errUnknown
		}
		s.setCategory(t, flag, op[0] == '+')
	default:
		return errSyntax
	}
	return nil
}

// applyUserOp is Redis's ACLSetUser: one rule applied to u.
func (r *Registry) applyUserOp(u *User, op string) error {
	defer u.changed()
	if op == "" {
		return nil
	}
	switch {
	case strings.EqualFold(op, "on"):
		u.enabled = true
	case strings.EqualFold(op, "off"):
		u.enabled = false
	case strings.EqualFold(op, "skip-sanitize-payload"):
		u.sanitize = 2
	case strings.EqualFold(op, "sanitize-payload"):
		u.sanitize = 1
	case strings.EqualFold(op, "nopass"):
		u.nopass, u.passwords = true, nil
	case strings.EqualFold(op, "resetpass"):
		u.nopass, u.passwords = false, nil
	case op[0] == '>' || op[0] == '#':
		var h string
		if op[0] == '>' {
			h = HashPassword([]byte(op[1:]))
		} else {
			if !validHash(op[1:]) {
				return errBadHash
			}
			h = op[1:]
		}
		found := false
		for _, p := range u.passwords {
			found = found || p == h
		}
		if !found {
			u.passwords = append(u.passwords, h)
		}
		u.nopass = false
	case op[0] == '<' || op[0] == '!':
		var h string
		if op[0] == '<' {
			h = HashPassword([]byte(op[1:]))
		} else {
			if !validHash(op[1:]) {
				return errBadHash
			}
			h = op[1:]
		}
		for i, p := range u.passwords {
			if p == h {
				u.passwords = append(u.passwords[:i:i], u.passwords[i+1:]...)
				return nil
			}
		}
		return errNoSuchPass
	case op[0] == '(' && op[len(op)-1] == ')':
		s := newSelector(r.table, false, r.PubsubDefaultAll)
		for _, inner := range splitArgs(op[1 : len(op)-1]) {
			if err := r.applySelectorOp(s, inner); err != nil {
				return err
			}
		}
		u.selectors = append(u.selectors, s)
	case strings.EqualFold(op, "clearselectors"):
		u.selectors = u.selectors[:1]
	case strings.EqualFold(op, "reset"):
		u.nopass, u.passwords = false, nil
		root := u.root()
		root.allKeys, root.patterns = false, nil
		root.allChannels, root.channels = r.PubsubDefaultAll, nil
		u.enabled = false
		u.sanitize = 1
		u.selectors = u.selectors[:1]
		root.setAll(false)
	default:
		return r.applySelectorOp(u.root(), op)
	}
	return nil
}

// splitArgs splits a selector's inside on spaces, honouring quotes as
// Redis's sdssplitargs (a selector's rules never need escapes).
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// mergeSelectorArgs joins a selector written across several arguments
// ("(+get", "~k)") into one, as Redis's ACLMergeSelectorArguments. It
// returns the index of an unclosed selector's start, or -1.
func mergeSelectorArgs(args []string) ([]string, int) {
	var out []string
	open := -1
	var sel string
	for j, op := range args {
		if len(op) > 0 && op[0] == '(' && op[len(op)-1] != ')' {
			sel, open = op, j
			continue
		}
		if open != -1 {
			sel += " " + op
			if len(op) > 0 && op[len(op)-1] == ')' {
				open = -1
				out = append(out, sel)
			}
			continue
		}
		out = append(out, op)
	}
	if open != -1 {
		return nil, open
	}
	return out, -1
}
