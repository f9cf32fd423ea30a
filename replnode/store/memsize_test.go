package store

import "testing"

// TestJemallocSize checks the size classes MEMORY USAGE rounds to.
func TestJemallocSize(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{1, 8}, {8, 8}, {9, 16}, {17, 32}, {128, 128}, {129, 160}, {257, 320},
		{1006, 1024}, {1025, 1280}, {40006, 40960},
	} {
		if got := jemallocSize(c.in); got != c.want {
			t.Errorf("jemallocSize(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestListpackEntrySize checks element sizes against listpack's encodings:
// 7-bit, 13-bit, 16/24/32/64-bit integers, 6-bit and 12-bit strings.
func TestListpackEntrySize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"5", 2}, {"-5", 3}, {"4095", 3}, {"30000", 4}, {"8000000", 5},
		{"2000000000", 6}, {"10000000000", 10}, {"a", 3}, {"05", 4},
		{string(make([]byte, 63)), 65}, {string(make([]byte, 64)), 67},
		{string(make([]byte, 200)), 204},
	} {
		if got := listpackEntrySize([]byte(c.in)); got != c.want {
			t.Errorf("listpackEntrySize(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
