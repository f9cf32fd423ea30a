package store

import (
	"strconv"
	"testing"
)

// TestLimitsArePerOwner checks that values follow the Limits they were
// created with, that Set applies to values created earlier, and that a nil
// *Limits means DefaultLimits.
func TestLimitsArePerOwner(t *testing.T) {
	tight := NewLimits(EncodingLimits{HashMaxListpackEntries: 1, HashMaxListpackValue: 64,
		SetMaxIntsetEntries: 1, ZSetMaxListpackEntries: 1, ZSetMaxListpackValue: 64})
	loose := NewLimits(DefaultLimits)

	ts, ls, ds := tight.NewSet(), loose.NewSet(), NewSet()
	th, lh := tight.NewHash(), loose.NewHash()
	tz, lz := tight.NewZSet(), loose.NewZSet()
	for i := 0; i < 2; i++ {
		m := []byte(strconv.Itoa(i))
		ts.Add(m)
		ls.Add(m)
		ds.Add(m)
		th.Set(m, m)
		lh.Set(m, m)
		tz.Add(m, float64(i))
		lz.Add(m, float64(i))
	}
	for _, c := range []struct{ got, want string }{
		{ts.Encoding(), "hashtable"}, {ls.Encoding(), "intset"}, {ds.Encoding(), "intset"},
		{th.Encoding(), "hashtable"}, {lh.Encoding(), "listpack"},
		{tz.Encoding(), "skiplist"}, {lz.Encoding(), "listpack"},
		{ts.Clone().Encoding(), "hashtable"},
	} {
		if c.got != c.want {
			t.Errorf("encoding %s, want %s", c.got, c.want)
		}
	}

	// A clone keeps its owner's limits; changing them affects later adds.
	cl := ls.Clone().(*Set)
	loose.Set(EncodingLimits{SetMaxIntsetEntries: 2, HashMaxListpackEntries: 128, HashMaxListpackValue: 64,
		ZSetMaxListpackEntries: 128, ZSetMaxListpackValue: 64})
	cl.Add([]byte("7"))
	if cl.Encoding() != "hashtable" {
		t.Errorf("clone after Set: %s, want hashtable", cl.Encoding())
	}
	if got := (*Limits)(nil).Get(); got != DefaultLimits {
		t.Errorf("nil Limits: %+v", got)
	}
}
