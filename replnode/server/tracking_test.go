package server

import "testing"

// TestPrefixOverlap checks the BCAST prefix collision rule (Redis's
// stringCheckPrefix): one prefix of the other, equal ones and the empty
// prefix overlap.
func TestPrefixOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"user:", "user:1", true},
		{"user:1", "user:", true},
		{"a", "a", true},
		{"", "anything", true},
		{"user:", "obj:", false},
		{"ab", "ac", false},
	} {
		if got := prefixOverlap([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("prefixOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestTrackingMessageOrder checks where invalidations land in a client's
// output: after its own command's reply, after the whole EXEC reply for
// keys a transaction modified, and at once for another client's write.
func TestTrackingMessageOrder(t *testing.T) {
	n := newCoreNode(t)
	other := n.newClient()
	n.run(transcript{
		{cmd("HELLO", "3"), n.do("HELLO", "3")}, // any reply: switches to RESP3
		{cmd("CLIENT", "TRACKING", "on"), "OK"},
		{cmd("GET", "a"), "(nil)"},
		{cmd("SET", "a", "1"), `OK | >["invalidate", ["a"]]`},
		{cmd("MGET", "a", "b"), `["1", (nil)]`},
		{cmd("MULTI"), "OK"},
		{cmd("SET", "a", "2"), "QUEUED"},
		{cmd("SET", "b", "2"), "QUEUED"},
		{cmd("EXEC"), `[OK, OK] | >["invalidate", ["a"]] | >["invalidate", ["b"]]`},
		{cmd("GET", "a"), `"2"`},
	})
	n.doClient(other, "DEL", "a")
	n.run(transcript{
		{cmd("PING"), `>["invalidate", ["a"]] | PONG`},
		{cmd("GET", "a"), "(nil)"},
		{cmd("FLUSHALL"), `OK | >["invalidate", (nil)]`},
	})
}
