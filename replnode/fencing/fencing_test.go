package fencing

import (
	"errors"
	"testing"
)

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		node, n int64
		err     string
	}{
		{0, 0, ""},
		{0, 1, ""},
		{4, 4, ""},
		{4, 9, ""},
		{4, 3, "STALEEPOCH failover epoch 3 is older than this node's 4"},
		{1 << 62, 0, "STALEEPOCH failover epoch 0 is older than this node's 4611686018427387904"},
	} {
		err := Set(tc.node, tc.n)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("Set(node %d, %d) = %q, want %q", tc.node, tc.n, got, tc.err)
		}
	}
}

func TestConnCheck(t *testing.T) {
	for _, tc := range []struct {
		conn Conn
		node int64
		err  string
	}{
		{Conn{}, 0, ""},
		{Conn{}, 7, ""}, // never set an epoch: behaves as with Redis
		{Conn{Epoch: 0, Set: true}, 0, ""},
		{Conn{Epoch: 3, Set: true}, 3, ""},
		{Conn{Epoch: 4, Set: true}, 3, ""}, // cannot happen (setting 4 raises the node), harmless
		{Conn{Epoch: 3, Set: true}, 4, "STALEEPOCH failover epoch 3 is older than this node's 4"},
		{Conn{Epoch: 0, Set: true}, 1, "STALEEPOCH failover epoch 0 is older than this node's 1"},
	} {
		err := tc.conn.Check(tc.node)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("%+v.Check(%d) = %q, want %q", tc.conn, tc.node, got, tc.err)
		}
	}
}

func TestEncodeParse(t *testing.T) {
	for _, n := range []int64{0, 1, 42, 1<<63 - 1} {
		got, err := Parse(Encode(n))
		if err != nil || got != n {
			t.Errorf("Parse(Encode(%d)) = %d, %v", n, got, err)
		}
	}
	for _, bad := range []string{"", "\n", "7", "-1\n", "+7\n", "07\n", "7\n\n", " 7\n", "9223372036854775808\n", "x\n"} {
		if n, err := Parse([]byte(bad)); !errors.Is(err, ErrBadFile) {
			t.Errorf("Parse(%q) = %d, %v: want ErrBadFile", bad, n, err)
		}
	}
}

// TestKeepNewerData: the guard holds whenever it is configured, except in
// the one epoch a grant names; a grant from an older epoch, or none, lifts
// nothing, and nothing turns the guard on when it is not configured.
func TestKeepNewerData(t *testing.T) {
	for _, tc := range []struct {
		configured bool
		grant      DataLossGrant
		node       int64
		want       bool
	}{
		{false, DataLossGrant{}, 0, false}, // redis-server's behaviour
		{false, DataLossGrant{Epoch: 3, Set: true}, 4, false},
		{true, DataLossGrant{}, 0, true},
		{true, DataLossGrant{}, 7, true},
		{true, DataLossGrant{Epoch: 0}, 0, true}, // the zero value grants nothing, even at epoch 0
		{true, DataLossGrant{Epoch: 0, Set: true}, 0, false},
		{true, DataLossGrant{Epoch: 5, Set: true}, 5, false},
		{true, DataLossGrant{Epoch: 5, Set: true}, 6, true}, // a newer failover decided again
		{true, DataLossGrant{Epoch: 6, Set: true}, 5, true}, // cannot happen (granting 6 raises the node), harmless
	} {
		if got := KeepNewerData(tc.configured, tc.grant, tc.node); got != tc.want {
			t.Errorf("KeepNewerData(%v, %+v, node %d) = %v, want %v", tc.configured, tc.grant, tc.node, got, tc.want)
		}
	}
}
