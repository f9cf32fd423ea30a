package server

import "testing"

// TestParseSavePoints covers the forms of the save directive.
func TestParseSavePoints(t *testing.T) {
	pts, err := parseSavePoints("3600 1 300 100 60 10000")
	if err != nil || len(pts) != 3 || pts[1] != (savePoint{300, 100}) {
		t.Fatalf("%v %v", pts, err)
	}
	if pts, err := parseSavePoints(""); err != nil || len(pts) != 0 {
		t.Fatalf("empty: %v %v", pts, err)
	}
	for _, bad := range []string{"1", "a 1", "1 b", "0 1", "10 -1"} {
		if _, err := parseSavePoints(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestDueSavePoint is a table of serverCron's save-point decisions.
func TestDueSavePoint(t *testing.T) {
	pts := []savePoint{{3600, 1}, {300, 100}, {60, 10000}}
	const t0 = 1_700_000_000_000
	cases := []struct {
		name string
		st   saveClock
		now  int64
		want int64 // seconds of the chosen point, 0 for none
	}{
		{"nothing changed", saveClock{0, t0, 0, true}, t0 + 7200_000, 0},
		{"one change, not yet an hour", saveClock{1, t0, 0, true}, t0 + 3600_000, 0},
		{"one change, over an hour", saveClock{1, t0, 0, true}, t0 + 3601_000, 3600},
		{"100 changes after 301s", saveClock{100, t0, 0, true}, t0 + 301_000, 300},
		{"10000 changes after 61s", saveClock{10000, t0, 0, true}, t0 + 61_000, 60},
		{"10000 changes after 60s", saveClock{10000, t0, 0, true}, t0 + 60_000, 0},
		{"failed 3s ago", saveClock{10000, t0, t0 + 58_000, false}, t0 + 61_000, 0},
		{"failed 6s ago", saveClock{10000, t0, t0 + 55_000, false}, t0 + 61_000, 60},
	}
	for _, c := range cases {
		p, ok := dueSavePoint(pts, c.st, c.now)
		if (c.want == 0) == ok || ok && p.Seconds != c.want {
			t.Errorf("%s: got %v %v, want %d", c.name, p, ok, c.want)
		}
	}
}
