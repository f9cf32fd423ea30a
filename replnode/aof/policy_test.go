package aof

import "testing"

func TestAutoRewriteDue(t *testing.T) {
	cases := []struct {
		current, base, perc, min int64
		growth                   int64
		due                      bool
	}{
		{100, 0, 100, 64, 9900, true},   // no base yet counts as 1 byte
		{64, 0, 100, 64, 0, false},      // not above the minimum
		{199, 100, 100, 64, 99, false},  // 99% growth
		{200, 100, 100, 64, 100, true},  // exactly 100%
		{1000, 100, 0, 64, 0, false},    // percentage 0 disables
		{150, 100, 50, 100, 50, true},   // other percentage
		{150, 100, 50, 150, 0, false},   // min size not exceeded
		{300, 200, 100, 100, 50, false}, // growth measured from the base
	}
	for _, c := range cases {
		growth, due := AutoRewriteDue(c.current, c.base, c.perc, c.min)
		if growth != c.growth || due != c.due {
			t.Errorf("%+v: got growth %d due %v", c, growth, due)
		}
	}
}

// TestRewriteLimiter follows aofRewriteLimited through a transcript of
// failures and clock readings.
func TestRewriteLimiter(t *testing.T) {
	var l RewriteLimiter
	steps := []struct {
		failures, now int64
		limited       bool
		started       int64
	}{
		{2, 0, false, 0},     // below the threshold
		{3, 100, true, 1},    // third failure: wait 1 minute
		{3, 159, true, 0},    // still waiting
		{3, 160, false, 0},   // the wait is over: one attempt
		{4, 161, true, 2},    // it failed: 2 minutes
		{4, 281, false, 0},   // over
		{5, 282, true, 4},    // 4
		{5, 522, false, 0},   //
		{6, 523, true, 8},    // 8
		{6, 1003, false, 0},  //
		{7, 1004, true, 16},  // 16
		{7, 1964, false, 0},  //
		{8, 1965, true, 32},  // 32
		{8, 3885, false, 0},  //
		{9, 3886, true, 60},  // capped at 60
		{9, 7486, false, 0},  //
		{10, 7487, true, 60}, // stays at 60
		{0, 7488, false, 0},  // a success resets
		{3, 7489, true, 1},   // and the delays start over
	}
	for i, s := range steps {
		limited, started := l.Limited(s.failures, s.now)
		if limited != s.limited || started != s.started {
			t.Fatalf("step %d %+v: got limited %v started %d", i, s, limited, started)
		}
	}
}
