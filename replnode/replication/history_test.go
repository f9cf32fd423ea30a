package replication

import (
	"strings"
	"testing"
)

func TestIdentityContainsFollowsPSyncRules(t *testing.T) {
	A, B, C := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	// B was promoted from A at offset 1000 and wrote 500 bytes since.
	promoted := Identity{ReplID: B, ReplID2: A, SecondOffset: 1001, Offset: 1500}
	fresh := Identity{ReplID: A, ReplID2: ZeroReplID, SecondOffset: -1, Offset: 1200}
	cases := []struct {
		name string
		id   Identity
		p    Position
		want bool
	}{
		{"own history, behind", promoted, Position{B, 1400}, true},
		{"own history, at the offset", promoted, Position{B, 1500}, true},
		{"own history, ahead", promoted, Position{B, 1501}, false},
		{"old history up to the switch", promoted, Position{A, 1000}, true},
		{"old history before the switch", promoted, Position{A, 10}, true},
		// The diverged branch: A's old master kept writing after the
		// promotion. Its offset is below B's, and B still lacks its bytes.
		{"old history past the switch, below the offset", promoted, Position{A, 1001}, false},
		{"old history past the switch, far behind the offset", promoted, Position{A, 1300}, false},
		{"unrelated history", promoted, Position{C, 1}, false},
		{"no replid2", fresh, Position{C, 1}, false},
		{"zero replid2 never matches", fresh, Position{ZeroReplID, 0}, false},
		{"zero offset on own history", fresh, Position{A, 0}, true},
		{"not a replid", fresh, Position{"?", 0}, false},
	}
	for _, c := range cases {
		if got := c.id.Contains(c.p); got != c.want {
			t.Errorf("%s: %+v contains %+v = %v, want %v", c.name, c.id, c.p, got, c.want)
		}
	}
}

func TestContainsDataOfPlacesANodeThatWroteNothingSinceItsSwitch(t *testing.T) {
	A, B, C := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	master := Identity{ReplID: A, ReplID2: ZeroReplID, SecondOffset: -1, Offset: 2000}
	// C was promoted from A at 1000 and demoted before any write: it holds
	// A's first 1000 bytes only, which the master on A contains.
	idle := Identity{ReplID: C, ReplID2: A, SecondOffset: 1001, Offset: 1000}
	if !master.ContainsDataOf(idle) {
		t.Errorf("%+v should contain %+v: nothing written since the switch", master, idle)
	}
	// One write after the switch: those bytes are C's alone.
	wrote := idle
	wrote.Offset = 1014
	if master.ContainsDataOf(wrote) {
		t.Errorf("%+v must not contain %+v: it wrote past its switch", master, wrote)
	}
	// Two levels of promotion: B moved on from C, which moved on from A.
	// B's identity shows only C, so A's bytes cannot be proven there.
	grand := Identity{ReplID: B, ReplID2: C, SecondOffset: 1101, Offset: 3000}
	onA := Identity{ReplID: A, ReplID2: ZeroReplID, SecondOffset: -1, Offset: 900}
	if grand.ContainsDataOf(onA) {
		t.Errorf("%+v cannot prove it contains %+v (two switches away)", grand, onA)
	}
}
