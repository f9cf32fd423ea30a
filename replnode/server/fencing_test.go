package server

import "testing"

// TestFencedCommandsRegistered: every fenced name but FAILOVER (not
// implemented) is a registered command carrying FlagFenced, and nothing
// else is fenced.
func TestFencedCommandsRegistered(t *testing.T) {
	newCoreNode(t)
	want := map[string]bool{}
	for _, name := range fencedCommands {
		c := lookupCommandPath(name)
		if c == nil {
			if name != "failover" {
				t.Errorf("fenced command %q is not registered", name)
			}
			continue
		}
		want[c.FullName()] = true
		for _, sub := range c.Subcommands {
			want[sub.FullName()] = true
		}
	}
	if !want["debug"] {
		t.Error("DEBUG is not fenced")
	}
	for _, c := range commandTable {
		for _, x := range append([]*Command{c}, c.Subcommands...) {
			if got := x.Flags&FlagFenced != 0; got != want[x.FullName()] {
				t.Errorf("%s: fenced = %v, want %v", x.FullName(), got, want[x.FullName()])
			}
		}
	}
}
