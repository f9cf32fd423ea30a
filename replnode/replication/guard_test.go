package replication

import "testing"

// TestStreamClockCaughtUpAt: a replica is caught up at its ACK when it
// acknowledged the master's whole offset, else when the master's offset
// first went past what it acknowledged — so a replica that keeps
// acknowledging an old offset (it no longer hears the master, its ACKs
// still arrive) ages like one that went silent.
func TestStreamClockCaughtUpAt(t *testing.T) {
	var c StreamClock
	c.Grew(100, 150, 1_000) // a write at 1s
	c.Grew(150, 164, 2_000) // PING at 2s
	c.Grew(164, 170, 2_000) // same ms: merged
	c.Grew(170, 184, 3_000) // PING at 3s
	for _, tc := range []struct {
		name          string
		acked, master int64
		want          int64
	}{
		{"acknowledged everything: now", 184, 184, 9_999},
		{"missing the 3s PING: caught up until 3s", 170, 184, 3_000},
		{"in the middle of the merged 2s growth", 160, 184, 2_000},
		{"missing the 2s PING", 150, 184, 2_000},
		{"missing the write at 1s", 100, 184, 1_000},
		{"before anything remembered: no later than the oldest known", 50, 184, 0},
	} {
		if got := c.CaughtUpAt(tc.acked, tc.master, 9_999); got != tc.want {
			t.Errorf("%s: CaughtUpAt(%d) = %d, want %d", tc.name, tc.acked, got, tc.want)
		}
	}
	// Growth older than the window is forgotten, and an offset from then
	// counts as caught up no later than the newest forgotten growth.
	c.Grew(184, 198, 2_000+streamClockWindowMs+1)
	if len(c.growths) != 2 {
		t.Fatalf("window kept %d growths: %+v", len(c.growths), c.growths)
	}
	if got := c.CaughtUpAt(150, 198, 40_000); got != 2_000 {
		t.Errorf("forgotten offset: CaughtUpAt = %d, want 2000 (the newest forgotten growth)", got)
	}
}
