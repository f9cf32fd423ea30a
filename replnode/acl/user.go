package acl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Key permissions of a key pattern (Redis's ACL_READ/WRITE_PERMISSION).
const (
	permRead  = 1
	permWrite = 2
	permAll   = permRead | permWrite
)

// keyPattern is ~pat (read and write), %R~pat or %W~pat.
type keyPattern struct {
	pattern string
	flags   int
}

func (p keyPattern) String() string {
	switch p.flags {
	case permRead:
		return "%R~" + p.pattern
	case permWrite:
		return "%W~" + p.pattern
	}
	return "~" + p.pattern
}

// selector is one set of permissions of a user: the root one (rules
// outside parentheses) or one added with (...). A command is allowed when
// any selector allows it.
type selector struct {
	root        bool
	allKeys     bool
	allChannels bool
	allCommands bool
	allowed     []uint64 // command bitmap by Command.ID, plus the future bit
	firstArgs   map[int][]string
	patterns    []keyPattern
	channels    []string
}

func newSelector(t *Table, root, allChannels bool) *selector {
	return &selector{root: root, allChannels: allChannels, allowed: make([]uint64, (t.size+63)/64)}
}

func (s *selector) clone() *selector {
	d := *s
	d.allowed = append([]uint64(nil), s.allowed...)
	d.patterns = append([]keyPattern(nil), s.patterns...)
	d.channels = append([]string(nil), s.channels...)
	d.firstArgs = nil
	for id, args := range s.firstArgs {
		if d.firstArgs == nil {
			d.firstArgs = map[int][]string{}
		}
		d.firstArgs[id] = append([]string(nil), args...)
	}
	return &d
}

func (s *selector) bit(id int) bool {
	w := id / 64
	return w < len(s.allowed) && s.allowed[w]&(1<<(id%64)) != 0
}

func (s *selector) setBit(id int, on bool) {
	w := id / 64
	if w >= len(s.allowed) {
		return
	}
	if on {
		s.allowed[w] |= 1 << (id % 64)
	} else {
		s.allowed[w] &^= 1 << (id % 64)
		s.allCommands = false
	}
}

// changePerm allows or denies a command and, for a container, all its
// subcommands; it drops the command's first-arg rules (ACLChangeSelectorPerm).
func (s *selector) changePerm(c *Command, allow bool) {
	s.setBit(c.ID, allow)
	delete(s.firstArgs, c.ID)
	for _, sub := range c.Subs {
		s.setBit(sub.ID, allow)
	}
}

// setCategory applies +@cat / -@cat to every command in it, recursing into
// subcommands as Redis does.
func (s *selector) setCategory(t *Table, flag uint64, allow bool) {
	for _, c := range t.top {
		if c.Categories&flag != 0 {
			s.changePerm(c, allow)
		}
		for _, sub := range c.Subs {
			if sub.Categories&flag != 0 {
				s.changePerm(sub, allow)
			}
		}
	}
}

func (s *selector) setAll(allow bool) {
	var v uint64
	if allow {
		v = ^uint64(0)
	}
	for i := range s.allowed {
		s.allowed[i] = v
	}
	s.allCommands = allow
	s.firstArgs = nil
}

func (s *selector) addFirstArg(id int, arg string) {
	if s.firstArgs == nil {
		s.firstArgs = map[int][]string{}
	}
	for _, a := range s.firstArgs[id] {
		if strings.EqualFold(a, arg) {
			return
		}
	}
	s.firstArgs[id] = append(s.firstArgs[id], arg)
}

// User is one ACL user. Its rules change only through a Registry.
type User struct {
	Name      string
	enabled   bool
	nopass    bool
	sanitize  int // 0 unset, 1 sanitize-payload, 2 skip-sanitize-payload
	passwords []string
	selectors []*selector
	desc      string // cached description, "" when stale
	// unrestricted caches "the root selector allows everything".
	unrestricted bool
}

func newUser(t *Table, name string, pubsubAll bool) *User {
	return &User{Name: name, selectors: []*selector{newSelector(t, true, pubsubAll)}}
}

func (u *User) root() *selector { return u.selectors[0] }

// Enabled reports whether the user can authenticate ("on").
func (u *User) Enabled() bool { return u.enabled }

// NoPass reports whether any password authenticates the user.
func (u *User) NoPass() bool { return u.nopass }

// Unrestricted reports whether the user may run every command on every key
// and channel, so the server can skip Check: the hot path.
func (u *User) Unrestricted() bool { return u.unrestricted }

func (u *User) copyFrom(src *User) {
	u.enabled, u.nopass, u.sanitize = src.enabled, src.nopass, src.sanitize
	u.passwords = append([]string(nil), src.passwords...)
	u.selectors = make([]*selector, len(src.selectors))
	for i, s := range src.selectors {
		u.selectors[i] = s.clone()
	}
	u.changed()
}

func (u *User) clone() *User {
	d := &User{Name: u.Name}
	d.copyFrom(u)
	return d
}

func (u *User) changed() {
	u.desc = ""
	r := u.root()
	u.unrestricted = r.allCommands && r.allKeys && r.allChannels
}

// HashPassword is the form a password is kept in: SHA-256, lower-case hex.
func HashPassword(pass []byte) string {
	sum := sha256.Sum256(pass)
	return hex.EncodeToString(sum[:])
}

// validHash is Redis's ACLCheckPasswordHash.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < 'a' || c > 'f') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// CheckPassword reports whether pass authenticates the user: enabled and
// nopass or one of its passwords (compared in constant time).
func (u *User) CheckPassword(pass []byte) bool {
	if !u.enabled {
		return false
	}
	if u.nopass {
		return true
	}
	h := HashPassword(pass)
	ok := false
	for _, p := range u.passwords {
		if subtle.ConstantTimeCompare([]byte(p), []byte(h)) == 1 {
			ok = true
		}
	}
	return ok
}

// Flags are the user's flags as GETUSER lists them.
func (u *User) Flags() []string {
	var out []string
	if u.enabled {
		out = append(out, "on")
	} else {
		out = append(out, "off")
	}
	if u.nopass {
		out = append(out, "nopass")
	}
	switch u.sanitize {
	case 2:
		out = append(out, "skip-sanitize-payload")
	case 1:
		out = append(out, "sanitize-payload")
	}
	return out
}

// Passwords are the password hashes, in the order they were added.
func (u *User) Passwords() []string { return append([]string(nil), u.passwords...) }
