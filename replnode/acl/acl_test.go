package acl

import (
	"path"
	"strings"
	"testing"
)

// testTable is a small command table: enough commands in enough
// categories for the describer to have choices.
func testTable() *Table {
	read, write, str, fast, slow := CategoryFlag("read"), CategoryFlag("write"), CategoryFlag("string"), CategoryFlag("fast"), CategoryFlag("slow")
	admin, dangerous, conn, pubsub := CategoryFlag("admin"), CategoryFlag("dangerous"), CategoryFlag("connection"), CategoryFlag("pubsub")
	id := 0
	cmd := func(name string, cats uint64) *Command {
		id++
		return &Command{ID: id, Name: name, Categories: cats}
	}
	config := cmd("config", 0)
	for _, sub := range []*Command{cmd("config|get", admin|slow|dangerous), cmd("config|set", admin|slow|dangerous)} {
		sub.Parent = config
		config.Subs = append(config.Subs, sub)
	}
	auth := cmd("auth", fast|conn)
	auth.NoAuth = true
	return NewTable([]*Command{
		auth, config,
		cmd("get", read|str|fast), cmd("mget", read|str|fast), cmd("set", write|str|slow),
		cmd("del", write|slow), cmd("flushall", write|slow|dangerous),
		cmd("publish", pubsub|fast), cmd("select", fast|conn),
	})
}

func newTestRegistry() *Registry {
	return New(testTable(), func(p, s []byte) bool {
		ok, _ := path.Match(string(p), string(s))
		return ok
	})
}

func TestSetUserDescribe(t *testing.T) {
	for _, tc := range []struct {
		rules []string
		want  string // ACL LIST's text after "user u "
		err   string
	}{
		{nil, "off resetchannels -@all", ""},
		{[]string{"on", "nopass", "~*", "&*", "+@all"}, "on nopass ~* &* +@all", ""},
		{[]string{"+@read"}, "off resetchannels -@all +@read", ""},
		{[]string{"+@all", "-@dangerous"}, "off resetchannels +@all -@dangerous", ""},
		{[]string{"+@string", "-set"}, "off resetchannels -@all +@read", ""},
		{[]string{"+get", "+set"}, "off resetchannels -@all +@string -mget", ""},
		{[]string{"+config"}, "off resetchannels -@all +@admin +config", ""},
		{[]string{"+config|get"}, "off resetchannels -@all +config|get", ""},
		{[]string{"+@all", "-config|set"}, "off resetchannels +@all -config|set", ""},
		{[]string{"+select|0", "+select|1", "+select|0"}, "off resetchannels -@all +select|0 +select|1", ""},
		{[]string{"+select|0", "+select"}, "off resetchannels -@all +select", ""},
		{[]string{"%R~a", "%W~a", "~b", "%RW~c"}, "off ~a ~b ~c resetchannels -@all", ""},
		{[]string{"(~x +get)", "(&c +publish)"}, "off resetchannels -@all (~x resetchannels -@all +get) (resetchannels &c -@all +@pubsub)", ""},
		{[]string{"(~x", "+get)"}, "off resetchannels -@all (~x resetchannels -@all +get)", ""},
		{[]string{"(~x +get)", "clearselectors"}, "off resetchannels -@all", ""},
		{[]string{"on", ">p", "~*", "+@all", "reset"}, "off sanitize-payload resetchannels -@all", ""},
		{[]string{"+config|get|x"}, "", "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not supported"},
		{[]string{"+select|"}, "", "Error in ACL SETUSER modifier '+select|': Syntax error"},
		{[]string{"+config|get|"}, "", "Error in ACL SETUSER modifier '+config|get|': Allowing first-arg of a subcommand is not supported"},
		{[]string{"~*", "~x"}, "", "Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"},
		{[]string{"&*", "&x"}, "", "Error in ACL SETUSER modifier '&x': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"},
		{[]string{"<nope"}, "", "Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not exist"},
		{[]string{"#abc"}, "", "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"},
		{[]string{"%~x"}, "", "Error in ACL SETUSER modifier '%~x': Syntax error"},
		{[]string{"(+nope)"}, "", "Error in ACL SETUSER modifier '(+nope)': Unknown command or category name in ACL"},
		{[]string{"(~x", "+get"}, "", "Unmatched parenthesis in acl selector starting at '(~x'."},
	} {
		r := newTestRegistry()
		_, err := r.SetUser("u", tc.rules)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("SetUser %q: error %v, want %q", tc.rules, err, tc.err)
			}
			if r.User("u") != nil {
				t.Errorf("SetUser %q failed but created the user", tc.rules)
			}
			continue
		}
		if err != nil {
			t.Errorf("SetUser %q: %v", tc.rules, err)
			continue
		}
		if got := r.Describe(r.User("u")); got != tc.want {
			t.Errorf("SetUser %q: describes as %q, want %q", tc.rules, got, tc.want)
		}
	}
}

// TestDescribeRoundTrip feeds every description back as rules: the user
// must come out the same, which is what ACL SAVE then LOAD relies on.
func TestDescribeRoundTrip(t *testing.T) {
	cases := [][]string{
		{"on", ">a", ">b", "~k*", "%R~r*", "&c", "+@all", "-config|set", "-flushall", "(+get %W~w)"},
		{"+select|0", "+@read", "-mget", "+config|get"},
		{"+@all", "-@string", "+get"},
	}
	for _, rules := range cases {
		r := newTestRegistry()
		if _, err := r.SetUser("u", rules); err != nil {
			t.Fatal(err)
		}
		desc := r.Describe(r.User("u"))
		r2 := newTestRegistry()
		if _, err := r2.LoadText("user u "+desc+"\n", "f"); err != nil {
			t.Fatalf("%q does not load back: %v", desc, err)
		}
		if got := r2.Describe(r2.User("u")); got != desc {
			t.Errorf("round trip of %q gave %q", desc, got)
		}
	}
}

func TestCheck(t *testing.T) {
	r := newTestRegistry()
	tab := r.Table()
	mustSet := func(name string, rules ...string) *User {
		t.Helper()
		if _, err := r.SetUser(name, rules); err != nil {
			t.Fatal(err)
		}
		return r.User(name)
	}
	rw := mustSet("rw", "+@all", "%R~r*", "%W~w*", "~both*", "&news")
	sel := mustSet("sel", "+get", "~a*", "(+set ~b*)", "(+mget %R~*)")
	first := mustSet("first", "+select|0", "+config|get")
	keys := func(flags KeyFlags, pos ...int) func() []KeyRef {
		return func() []KeyRef {
			var out []KeyRef
			for _, p := range pos {
				out = append(out, KeyRef{Pos: p, Flags: flags})
			}
			return out
		}
	}
	read, write := KeyAccess, KeyUpdate
	for _, tc := range []struct {
		u       *User
		args    []string
		keys    func() []KeyRef
		chans   bool
		want    Result
		wantPos int
	}{
		{rw, []string{"get", "r1"}, keys(read, 1), false, OK, 0},
		{rw, []string{"get", "w1"}, keys(read, 1), false, DeniedKey, 1},
		{rw, []string{"set", "w1", "v"}, keys(write, 1), false, OK, 0},
		{rw, []string{"set", "r1", "v"}, keys(write, 1), false, DeniedKey, 1},
		{rw, []string{"set", "both1", "v"}, keys(read|write, 1), false, OK, 0},
		{rw, []string{"mget", "r1", "x", "y"}, keys(read, 1, 2, 3), false, DeniedKey, 2},
		{rw, []string{"publish", "news", "m"}, nil, true, OK, 0},
		{rw, []string{"publish", "sport", "m"}, nil, true, DeniedChannel, 1},
		{rw, []string{"auth", "x"}, nil, false, OK, 0},
		{sel, []string{"get", "a1"}, keys(read, 1), false, OK, 0},
		{sel, []string{"get", "b1"}, keys(read, 1), false, DeniedKey, 1},
		{sel, []string{"set", "b1", "v"}, keys(write, 1), false, OK, 0},
		{sel, []string{"set", "a1", "v"}, keys(write, 1), false, DeniedKey, 1},
		{sel, []string{"mget", "zz", "a1"}, keys(read, 1, 2), false, OK, 0},
		{sel, []string{"del", "a1"}, keys(write, 1), false, DeniedCommand, 0},
		{first, []string{"select", "0"}, nil, false, OK, 0},
		{first, []string{"SELECT", "1"}, nil, false, DeniedCommand, 0},
		{first, []string{"select"}, nil, false, DeniedCommand, 0},
		{first, []string{"config", "get", "x"}, nil, false, OK, 0},
		{first, []string{"config", "set", "x", "y"}, nil, false, DeniedCommand, 0},
	} {
		name := tc.args[0]
		if name == "config" {
			name += "|" + tc.args[1]
		}
		req := &Request{Cmd: tab.Lookup(name), Keys: tc.keys}
		for _, a := range tc.args {
			req.Args = append(req.Args, []byte(a))
		}
		if tc.chans {
			req.Channels = func() []ChannelRef { return []ChannelRef{{Pos: 1, Checked: true}} }
		}
		got, pos := r.Check(tc.u, req)
		if got != tc.want || pos != tc.wantPos {
			t.Errorf("%s %q: got %v at %d, want %v at %d", tc.u.Name, tc.args, got, pos, tc.want, tc.wantPos)
		}
	}
	if !r.Default.Unrestricted() || rw.Unrestricted() {
		t.Errorf("Unrestricted: default %v, rw %v", r.Default.Unrestricted(), rw.Unrestricted())
	}
}

func TestLogGroupsSimilarEntriesWithinAMinute(t *testing.T) {
	var l Log
	e := func(obj string, at int64) LogEntry {
		return LogEntry{Reason: DeniedKey, Context: "toplevel", Object: obj, Username: "u", CreatedMs: at, ClientInfo: obj}
	}
	l.Add(e("a", 0), 10)
	l.Add(e("b", 1000), 10)
	l.Add(e("a", 30000), 10) // grouped with the first, moved to the front
	l.Add(e("a", 95000), 10) // 65 s after the group's last update: new entry
	got := l.Entries(10)
	var objs []string
	for _, x := range got {
		objs = append(objs, x.Object)
	}
	if strings.Join(objs, ",") != "a,a,b" || got[1].Count != 2 || got[0].Count != 1 || got[1].CreatedMs != 30000 {
		t.Fatalf("log: %v counts %d %d", objs, got[0].Count, got[1].Count)
	}
	l.Add(e("c", 96000), 2)
	if n := len(l.Entries(10)); n != 2 {
		t.Fatalf("acllog-max-len 2 kept %d entries", n)
	}
	l.Reset()
	if n := len(l.Entries(10)); n != 0 {
		t.Fatalf("after Reset: %d entries", n)
	}
}

func TestLoadTextIsAllOrNothing(t *testing.T) {
	r := newTestRegistry()
	if _, err := r.SetUser("keep", []string{"on", "nopass", "+get"}); err != nil {
		t.Fatal(err)
	}
	def := r.Default
	_, err := r.LoadText("user a on +get\nuser b on +nope\nfoo\nuser a\n", "users.acl")
	want := "users.acl:2: Error in applying operation '+nope': Unknown command or category name in ACL. users.acl:3 should start with user keyword followed by the username. WARNING: Duplicate user 'a' found on line 4. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
	if err == nil || err.Error() != want {
		t.Fatalf("LoadText error:\n got  %v\n want %s", err, want)
	}
	if r.User("keep") == nil || r.User("a") != nil {
		t.Fatal("a failed load changed the users")
	}
	gone, err := r.LoadText("user default on >pw ~* +@all\nuser a on nopass +get\n", "users.acl")
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0].Name != "keep" {
		t.Fatalf("replaced users: %v", gone)
	}
	if r.Default != def || r.User("default") != def || def.NoPass() || !def.CheckPassword([]byte("pw")) {
		t.Fatal("the default user must keep its identity and take the file's rules")
	}
}

func TestRevocation(t *testing.T) {
	r := newTestRegistry()
	if _, err := r.SetUser("s", []string{"&a", "&b*"}); err != nil {
		t.Fatal(err)
	}
	if rev, _ := r.SetUser("s", []string{"&c"}); rev != nil {
		t.Fatal("adding a channel revoked something")
	}
	rev, _ := r.SetUser("s", []string{"resetchannels", "&b*", "&c"})
	if rev == nil || rev.User != r.User("s") {
		t.Fatal("dropping &a must ask for a check of s's subscribers")
	}
	if rev.Allows("a", false) || !rev.Allows("b1", false) || !rev.Allows("b*", true) || rev.Allows("b1*", true) {
		t.Fatal("Revocation.Allows does not follow the new channels")
	}
	if rev, _ := r.SetUser("s", []string{"allchannels"}); rev != nil {
		t.Fatal("allchannels revoked something")
	}
}
