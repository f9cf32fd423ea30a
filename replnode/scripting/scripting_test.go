package scripting

import (
	"math"
	"testing"

	"github.com/replnode/replnode/replnode/resp"
)

func TestParseShebang(t *testing.T) {
	for _, tc := range []struct {
		body  string
		flags Flags
		n     int
		err   string
	}{
		{"return 1", FlagEvalCompat, 0, ""},
		{"#!lua\nreturn 1", 0, 5, ""},
		{"#!lua flags=no-writes,allow-oom\nx", FlagNoWrites | FlagAllowOOM, 31, ""},
		{"#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\n", FlagAllowStale | FlagNoCluster | FlagAllowCrossSlot, 56, ""},
		{"#!lua flags=\nx", 0, 12, ""},
		{"#!lua", 0, 0, "Invalid script shebang"},
		{"#!js\n", 0, 0, "Unexpected engine in script shebang: #!js"},
		{"#!lua flags=bogus\n", 0, 0, "Unexpected flag in script shebang: bogus"},
		{"#!lua name=x\n", 0, 0, "Unknown lua shebang option: name=x"},
	} {
		flags, n, err := ParseShebang([]byte(tc.body))
		if flags != tc.flags || n != tc.n || err != tc.err {
			t.Errorf("ParseShebang(%q) = %v, %d, %q; want %v, %d, %q", tc.body, flags, n, err, tc.flags, tc.n, tc.err)
		}
	}
}

func TestNumberFormats(t *testing.T) {
	for _, tc := range []struct {
		f        float64
		g17, g14 string
	}{
		{3, "3", "3"},
		{0.1, "0.10000000000000001", "0.1"},
		{1e15, "1000000000000000", "1e+15"},
		{1e20, "1e+20", "1e+20"},
		{10.0 / 3, "3.3333333333333335", "3.3333333333333"},
		{math.Inf(1), "inf", "inf"},
		{math.Inf(-1), "-inf", "-inf"},
		{-0.5, "-0.5", "-0.5"},
	} {
		if got := formatG17(tc.f); got != tc.g17 {
			t.Errorf("formatG17(%v) = %q, want %q", tc.f, got, tc.g17)
		}
		if got := formatNumber(tc.f); got != tc.g14 {
			t.Errorf("formatNumber(%v) = %q, want %q", tc.f, got, tc.g14)
		}
	}
}

func TestStr2d(t *testing.T) {
	for _, tc := range []struct {
		s  string
		f  float64
		ok bool
	}{
		{"1e2", 100, true}, {"  12  ", 12, true}, {"0x10", 16, true}, {"-0x10", -16, true},
		{".5", 0.5, true}, {"5.", 5, true}, {"+1", 1, true},
		{"abc", 0, false}, {"1e", 0, false}, {"", 0, false}, {" 0x ", 0, false}, {"- 1", 0, false}, {"--1", 0, false},
	} {
		f, ok := str2d(tc.s)
		if ok != tc.ok || (ok && f != tc.f) {
			t.Errorf("str2d(%q) = %v, %v; want %v, %v", tc.s, f, ok, tc.f, tc.ok)
		}
	}
}

// TestLrand48 checks the generator against glibc's lrand48 after
// srand48(42) and srand48(-7) (values read from libc through ctypes).
func TestLrand48(t *testing.T) {
	for _, tc := range []struct {
		seed int32
		want []int32
	}{
		{42, []int32{1598855263, 735945821, 238553827, 906966006, 174184913}},
		{-7, []int32{161516272, 1756144977, 1991260049}},
	} {
		r := newLrand48()
		r.seed(tc.seed)
		for i, w := range tc.want {
			if got := r.next(); got != w {
				t.Fatalf("seed %d value %d = %d, want %d", tc.seed, i, got, w)
			}
		}
	}
}

// fakeHost answers every command with a fixed reply.
type fakeHost struct {
	reply []byte
	calls [][]string
	errs  []string
}

func (h *fakeHost) Call(args [][]byte, proto int) []byte {
	var a []string
	for _, x := range args {
		a = append(a, string(x))
	}
	h.calls = append(h.calls, a)
	return h.reply
}
func (h *fakeHost) SetRepl(int)                           {}
func (h *fakeHost) ACLCheckCmd([][]byte) (bool, bool)     { return true, true }
func (h *fakeHost) Log(int, string)                       {}
func (h *fakeHost) ErrorReplied(msg string, counted bool) { h.errs = append(h.errs, msg) }

// TestRunConversions runs scripts against a fake Host: arguments reach
// it converted as Redis does, replies come back converted both ways.
func TestRunConversions(t *testing.T) {
	e := New()
	for _, tc := range []struct {
		script string
		reply  string
		want   string
		args   []string
	}{
		{"return redis.call('set', 'k', 1.5)", "+OK\r\n", "OK", []string{"set", "k", "1.5"}},
		{"return redis.call('incrby', 'k', 3)", ":4\r\n", "(integer) 4", []string{"incrby", "k", "3"}},
		{"return redis.call('get', 'k')", "$-1\r\n", "(nil)", []string{"get", "k"}},
		{"return {redis.call('lrange', 'l', 0, -1)}", "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "[[\"a\", \"b\"]]", []string{"lrange", "l", "0", "-1"}},
		{"return redis.pcall('incr', 's')", "-ERR not an integer\r\n", "(error) ERR not an integer", []string{"incr", "s"}},
	} {
		h := &fakeHost{reply: []byte(tc.reply)}
		sc, msg := e.Load([]byte(tc.script))
		if sc == nil {
			t.Fatalf("%s: %s", tc.script, msg)
		}
		w := resp.NewWriter(2)
		if msg, _ := e.Run(sc, h, w, nil, nil); msg != "" {
			t.Fatalf("%s: %s", tc.script, msg)
		}
		r, _, err := resp.ReadReply(w.Bytes())
		if err != nil || r.String() != tc.want {
			t.Errorf("%s: reply %v (%v), want %s", tc.script, r, err, tc.want)
		}
		if len(h.calls) != 1 || len(h.calls[0]) != len(tc.args) {
			t.Fatalf("%s: calls %q, want %q", tc.script, h.calls, tc.args)
		}
		for i := range tc.args {
			if h.calls[0][i] != tc.args[i] {
				t.Errorf("%s: calls %q, want %q", tc.script, h.calls, tc.args)
			}
		}
	}
}
