package acl

import (
	"math"
	"strings"
)

// commandRules describes a selector's command bitmap as the shortest-ish
// rule list Redis prints (ACLDescribeSelectorCommandRules): +@all or -@all,
// then the categories that fit best, then single commands and first-args.
// Single commands come in table order; Redis prints them in its hash
// table's order, which differs between processes.
func (r *Registry) commandRules(s *selector) string {
	t := r.table
	var b strings.Builder
	fake := newSelector(t, false, false)
	additive := !s.bit(t.futureBit())
	if additive {
		b.WriteString("-@all ")
	} else {
		b.WriteString("+@all ")
		fake.setAll(true)
	}
	temp := newSelector(t, false, false)
	copy(temp.allowed, s.allowed)
	applied := make([]bool, len(categoryNames))
	for {
		best := -1
		mindiff, maxsame := uint64(math.MaxInt32), uint64(0)
		for j := range categoryNames {
			if applied[j] {
				continue
			}
			on, off := countCategory(t, temp, 1<<j)
			diff, same := on, off
			if additive {
				diff, same = off, on
			}
			if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
				best, mindiff, maxsame = j, diff, same
			}
		}
		if best == -1 {
			break
		}
		fake.setCategory(t, 1<<best, additive)
		temp.setCategory(t, 1<<best, !additive)
		if additive {
			b.WriteString("+@")
		} else {
			b.WriteString("-@")
		}
		b.WriteString(categoryNames[best])
		b.WriteByte(' ')
		applied[best] = true
	}
	describeSingle := func(c *Command) {
		user, f := s.bit(c.ID), fake.bit(c.ID)
		if user != f {
			if user {
				b.WriteByte('+')
			} else {
				b.WriteByte('-')
			}
			b.WriteString(c.Name)
			b.WriteByte(' ')
			fake.changePerm(c, user)
		}
	}
	describeFirstArgs := func(c *Command) {
		if !s.bit(c.ID) {
			for _, a := range s.firstArgs[c.ID] {
				b.WriteString("+" + c.Name + "|" + a + " ")
			}
		}
	}
	for _, c := range t.top {
		describeSingle(c)
		for _, sub := range c.Subs {
			describeSingle(sub)
			describeFirstArgs(sub)
		}
		describeFirstArgs(c)
	}
	return strings.TrimSuffix(b.String(), " ")
}

// countCategory counts the commands of a category a selector allows (on)
// and denies (off).
func countCategory(t *Table, s *selector, flag uint64) (on, off uint64) {
	t.each(func(c *Command) {
		if c.Categories&flag != 0 {
			if s.bit(c.ID) {
				on++
			} else {
				off++
			}
		}
	})
	return on, off
}

// describeSelector is Redis's ACLDescribeSelector: keys, channels, then
// command rules.
func (r *Registry) describeSelector(s *selector) string {
	var b strings.Builder
	if s.allKeys {
		b.WriteString("~* ")
	} else {
		for _, p := range s.patterns {
			b.WriteString(p.String())
			b.WriteByte(' ')
		}
	}
	if s.allChannels {
		b.WriteString("&* ")
	} else {
		b.WriteString("resetchannels ")
		for _, c := range s.channels {
			b.WriteString("&" + c + " ")
		}
	}
	b.WriteString(r.commandRules(s))
	return b.String()
}

// Describe is the user's rules as ACL LIST prints them after "user <name> "
// (Redis's ACLDescribeUser).
func (r *Registry) Describe(u *User) string {
	if u.desc != "" {
		return u.desc
	}
	var b strings.Builder
	for _, f := range u.Flags() {
		b.WriteString(f + " ")
	}
	for _, p := range u.passwords {
		b.WriteString("#" + p + " ")
	}
	for _, s := range u.selectors {
		if s.root {
			b.WriteString(r.describeSelector(s))
		} else {
			b.WriteString(" (" + r.describeSelector(s) + ")")
		}
	}
	u.desc = b.String()
	return u.desc
}

// SelectorInfo is one selector as ACL GETUSER shows it.
type SelectorInfo struct {
	Commands, Keys, Channels string
}

// selectorInfo is Redis's aclAddReplySelectorDescription.
func (r *Registry) selectorInfo(s *selector) SelectorInfo {
	info := SelectorInfo{Commands: r.commandRules(s)}
	if s.allKeys {
		info.Keys = "~*"
	} else {
		parts := make([]string, len(s.patterns))
		for i, p := range s.patterns {
			parts[i] = p.String()
		}
		info.Keys = strings.Join(parts, " ")
	}
	if s.allChannels {
		info.Channels = "&*"
	} else {
		parts := make([]string, len(s.channels))
		for i, c := range s.channels {
			parts[i] = "&" + c
		}
		info.Channels = strings.Join(parts, " ")
	}
	return info
}

// UserInfo is ACL GETUSER's reply: flags, passwords, the root selector and
// the others.
type UserInfo struct {
	Flags     []string
	Passwords []string
	Root      SelectorInfo
	Selectors []SelectorInfo
}

// Info describes a user for ACL GETUSER.
func (r *Registry) Info(u *User) UserInfo {
	info := UserInfo{Flags: u.Flags(), Passwords: u.Passwords(), Root: r.selectorInfo(u.root())}
	for _, s := range u.selectors[1:] {
		info.Selectors = append(info.Selectors, r.selectorInfo(s))
	}
	return info
}
