package acl

import (
	"fmt"
	"sort"
	"strings"
)

// Registry holds the users. The zero value is not usable: call New.
type Registry struct {
	table *Table
	match func(pattern, s []byte) bool
	users map[string]*User
	// Default is the "default" user. It is never replaced, only changed
	// in place, so connections that hold it keep it.
	Default *User
	// PubsubDefaultAll is acl-pubsub-default allchannels: new users and
	// selectors start with every channel allowed.
	PubsubDefaultAll bool
}

// New returns a registry with Redis's default user (on, nopass, ~* &*
// +@all). match is the glob matcher for key and channel patterns (Redis's
// stringmatchlen).
func New(t *Table, match func(pattern, s []byte) bool) *Registry {
	r := &Registry{table: t, match: match, users: map[string]*User{}}
	r.Default = r.defaultUser()
	r.users["default"] = r.Default
	return r
}

// Table is the command table the registry resolves rules against.
func (r *Registry) Table() *Table { return r.table }

func (r *Registry) defaultUser() *User {
	u := newUser(r.table, "default", r.PubsubDefaultAll)
	for _, op := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		_ = r.applyUserOp(u, op)
	}
	return u
}

// User returns the named user, or nil.
func (r *Registry) User(name string) *User { return r.users[name] }

// Users returns every user in name order (Redis's radix tree order).
func (r *Registry) Users() []*User {
	out := make([]*User, 0, len(r.users))
	for _, u := range r.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Revocation describes channel permissions a SETUSER took away from a
// user: the server disconnects that user's subscribers whose channels or
// patterns the new rules no longer allow (Redis's
// ACLKillPubsubClientsIfNeeded).
type Revocation struct {
	User     *User
	upcoming []string
	match    func(pattern, s []byte) bool
}

// Allows reports whether a subscription survives the change. isPattern is
// true for a PSUBSCRIBE pattern, which must equal an allowed pattern.
func (v *Revocation) Allows(channel string, isPattern bool) bool {
	return channelAllowed(v.upcoming, channel, isPattern, v.match)
}

func channelAllowed(list []string, channel string, isPattern bool, match func(p, s []byte) bool) bool {
	for _, p := range list {
		if isPattern && p == channel || !isPattern && match([]byte(p), []byte(channel)) {
			return true
		}
	}
	return false
}

// SetUser applies rules to the named user, creating it if needed, as
// ACL SETUSER (Redis's ACLStringSetUser): every rule is tried on a copy
// first and nothing changes if one fails. The error is the reply text
// without "ERR ". A non-nil Revocation asks the server to check the user's
// subscribers.
func (r *Registry) SetUser(name string, rules []string) (*Revocation, error) {
	merged, bad := mergeSelectorArgs(rules)
	if bad >= 0 {
		return nil, fmt.Errorf("Unmatched parenthesis in acl selector starting at '%s'.", rules[bad])
	}
	u := r.users[name]
	temp := newUser(r.table, name, r.PubsubDefaultAll)
	if u != nil {
		temp.copyFrom(u)
	}
	for _, op := range merged {
		if err := r.applyUserOp(temp, op); err != nil {
			return nil, fmt.Errorf("Error in ACL SETUSER modifier '%s': %s", op, err)
		}
	}
	var rev *Revocation
	if u != nil {
		rev = r.revocation(temp, u)
	} else {
		u = &User{Name: name}
		r.users[name] = u
	}
	u.copyFrom(temp)
	if rev != nil {
		rev.User = u
	}
	return rev, nil
}

// revocation decides whether original's subscribers must be checked
// against next's channels: not when next allows all channels or a
// superset of original's patterns.
func (r *Registry) revocation(next, original *User) *Revocation {
	var upcoming []string
	for _, s := range next.selectors {
		if s.allChannels {
			return nil
		}
		upcoming = append(upcoming, s.channels...)
	}
	for _, s := range original.selectors {
		if s.allChannels {
			return &Revocation{upcoming: upcoming, match: r.match}
		}
		for _, c := range s.channels {
			found := false
			for _, x := range upcoming {
				found = found || x == c
			}
			if !found {
				return &Revocation{upcoming: upcoming, match: r.match}
			}
		}
	}
	return nil
}

// DelUser removes users as ACL DELUSER: the default user cannot be
// removed (the whole command fails). It returns the users removed, whose
// connections the server must close.
func (r *Registry) DelUser(names []string) ([]*User, error) {
	for _, n := range names {
		if n == "default" {
			return nil, fmt.Errorf("The 'default' user cannot be removed")
		}
	}
	var gone []*User
	for _, n := range names {
		if u := r.users[n]; u != nil {
			delete(r.users, n)
			gone = append(gone, u)
		}
	}
	return gone, nil
}

// SetDefaultPassword applies requirepass to the default user (Redis's
// ACLUpdateDefaultUserPassword): "" makes it nopass.
func (r *Registry) SetDefaultPassword(pass string) {
	_ = r.applyUserOp(r.Default, "resetpass")
	if pass != "" {
		_ = r.applyUserOp(r.Default, ">"+pass)
	} else {
		_ = r.applyUserOp(r.Default, "nopass")
	}
}

// CheckUserLine validates a `user <name> rules...` line of redis.conf
// as Redis's ACLAppendUserForLoading: a rule that fails is fatal when the
// file is read; unknown commands are reported only when the users are
// loaded. The argument quoted in the error is args[j] for the j-th rule,
// not the rule itself: Redis indexes the line with the rule's position,
// and users see that text.
func (r *Registry) CheckUserLine(args []string) error {
	merged, bad := mergeSelectorArgs(args[2:])
	if bad >= 0 {
		// Redis reports a stale errno here; the shipped 7.0.15 says this.
		return fmt.Errorf("Error in user declaration '%s': %s", args[bad], errUnknown)
	}
	fake := newUser(r.table, args[1], r.PubsubDefaultAll)
	for j, op := range merged {
		if err := r.applyUserOp(fake, op); err != nil && err != errUnknown {
			return fmt.Errorf("Error in user declaration '%s': %s", args[j], err)
		}
	}
	return nil
}

// LoadConfigUsers applies the `user` lines of redis.conf at startup
// (Redis's ACLLoadConfiguredUsers), each naming a different user (the
// configuration refuses duplicates). A `user default` line resets the
// default user first.
func (r *Registry) LoadConfigUsers(lines [][]string) error {
	for _, args := range lines {
		name := args[1]
		if hasSpaces(name) {
			return fmt.Errorf("Spaces not allowed in ACL usernames")
		}
		u := r.users[name]
		if u == nil {
			u = newUser(r.table, name, r.PubsubDefaultAll)
			r.users[name] = u
		} else {
			_ = r.applyUserOp(u, "reset")
		}
		merged, _ := mergeSelectorArgs(args[2:])
		for _, op := range merged {
			if err := r.applyUserOp(u, op); err != nil {
				return fmt.Errorf("Error loading ACL rule '%s' for the user named '%s': %s", op, name, err)
			}
		}
	}
	return nil
}

// LoadText loads an ACL file's contents as ACL LOAD (Redis's
// ACLLoadFromFile): all or nothing. On success the users are replaced (the
// default user keeps its identity, with the file's rules or the initial
// ones) and the users replaced are returned: their connections must be
// closed. On failure the error lists every problem, in Redis's words.
func (r *Registry) LoadText(text, filename string) ([]*User, error) {
	var errs strings.Builder
	users := map[string]*User{}
	for i, line := range strings.Split(text, "\n") {
		linenum := i + 1
		line = strings.Trim(line, " \t\r\n")
		if line == "" {
			continue
		}
		var argv []string
		for _, a := range strings.Split(line, " ") {
			argv = append(argv, a)
		}
		if argv[0] != "user" || len(argv) < 2 {
			fmt.Fprintf(&errs, "%s:%d should start with user keyword followed by the username. ", filename, linenum)
			continue
		}
		if hasSpaces(argv[1]) {
			fmt.Fprintf(&errs, "'%s:%d: username '%s' contains invalid characters. ", filename, linenum, argv[1])
			continue
		}
		if users[argv[1]] != nil {
			fmt.Fprintf(&errs, "WARNING: Duplicate user '%s' found on line %d. ", argv[1], linenum)
			continue
		}
		u := newUser(r.table, argv[1], r.PubsubDefaultAll)
		users[argv[1]] = u
		merged, bad := mergeSelectorArgs(argv[2:])
		if bad >= 0 {
			fmt.Fprintf(&errs, "%s:%d: Unmatched parenthesis in selector definition.", filename, linenum)
		}
		syntaxError := false
		for _, op := range merged {
			op = strings.Trim(op, "\t\r\n")
			if err := r.applyUserOp(u, op); err != nil {
				if err == errUnknown {
					fmt.Fprintf(&errs, "%s:%d: Error in applying operation '%s': %s. ", filename, linenum, op, err)
				} else if !syntaxError {
					fmt.Fprintf(&errs, "%s:%d: %s. ", filename, linenum, err)
					syntaxError = true
				}
			}
		}
	}
	if errs.Len() > 0 {
		errs.WriteString("WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
		return nil, fmt.Errorf("%s", errs.String())
	}
	newDefault := users["default"]
	if newDefault == nil {
		newDefault = r.defaultUser()
	}
	r.Default.copyFrom(newDefault)
	users["default"] = r.Default
	var gone []*User
	for name, u := range r.users {
		if name != "default" {
			gone = append(gone, u)
		}
	}
	r.users = users
	return gone, nil
}

// SaveText is the ACL file ACL SAVE writes: one `user` line per user, in
// name order.
func (r *Registry) SaveText() string {
	var b strings.Builder
	for _, line := range r.UserLines() {
		b.WriteString(line + "\n")
	}
	return b.String()
}

// UserLines are the users as ACL LIST prints them: "user <name> <rules>".
func (r *Registry) UserLines() []string {
	var out []string
	for _, u := range r.Users() {
		out = append(out, "user "+u.Name+" "+r.Describe(u))
	}
	return out
}
