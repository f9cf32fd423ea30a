package aof

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/resp"
)

// collect loads in and returns the verdict and the commands applied.
func collect(in string, loadTruncated bool) (Result, []string) {
	var got []string
	res := Load(strings.NewReader(in), 0, loadTruncated, nil, func(args [][]byte) error {
		got = append(got, string(bytes.Join(args, []byte(" "))))
		return nil
	})
	return res, got
}

func TestLoadVerdicts(t *testing.T) {
	set := string(resp.AppendCommand(nil, []byte("SET"), []byte("k"), []byte("v")))
	multi := string(resp.AppendCommand(nil, []byte("MULTI")))
	exec := string(resp.AppendCommand(nil, []byte("EXEC")))
	cases := []struct {
		name      string
		in        string
		truncOK   bool
		status    Status
		validUpTo int64
		applied   int
	}{
		{"empty", "", true, Loaded, 0, 0},
		{"one", set, true, Loaded, 0, 1},
		{"annotations skipped", "#TS:1700000000\r\n" + set + "#TS:1700000001\r\n" + set, true, Loaded, 0, 2},
		{"torn argument", set + set[:len(set)-3], true, Truncated, int64(len(set)), 1},
		{"torn CRLF", set + set[:len(set)-1], true, Truncated, int64(len(set)), 1},
		{"lone star", set + "*", true, Truncated, int64(len(set)), 1},
		{"star count only", set + "*3", true, Truncated, int64(len(set)), 1},
		{"torn refused", set + set[:5], false, Failed, 0, 1},
		{"unfinished multi", set + multi + set, true, Truncated, int64(len(set)), 3},
		{"finished multi", set + multi + set + exec, true, Loaded, 0, 4},
		{"garbage in the middle", set + "garbage\r\n" + set, true, Failed, 0, 1},
		{"zero argc", "*0\r\n" + set, true, Failed, 0, 0},
		{"missing dollar", "*1\r\n:3\r\n", true, Failed, 0, 0},
		{"negative length", "*1\r\n$-3\r\n", true, Failed, 0, 0},
	}
	for _, c := range cases {
		res, got := collect(c.in, c.truncOK)
		if res.Status != c.status || (c.status == Truncated && res.ValidUpTo != c.validUpTo) || len(got) != c.applied {
			t.Errorf("%s: got %+v applied %d, want status %d validUpTo %d applied %d", c.name, res, len(got), c.status, c.validUpTo, c.applied)
		}
	}
}

// TestLoadEveryPrefix cuts a stream at every byte: each cut either loads
// (on a command boundary) or is truncated at the last boundary before it,
// never fails and never applies a partial command.
func TestLoadEveryPrefix(t *testing.T) {
	f := NewFeed()
	f.Timestamps = true
	var stream []byte
	var bounds []int
	for i := 0; i < 20; i++ {
		stream = f.Append(stream, i%3, [][]byte{[]byte("SET"), []byte("key"), bytes.Repeat([]byte{'x'}, i)}, int64(i/4), noPosition)
		bounds = append(bounds, len(stream))
	}
	for cut := 0; cut <= len(stream); cut++ {
		res, _ := collect(string(stream[:cut]), true)
		last := 0
		for _, b := range bounds {
			if b <= cut {
				last = b
			}
		}
		switch res.Status {
		case Loaded:
			// A cut right after a command, or inside a trailing annotation line
			// that fgets reads whole (e.g. "#TS:1\r").
		case Truncated:
			// The SELECT the feed writes is a command of its own, so the
			// cut may come after it.
			if res.ValidUpTo < int64(last) || res.ValidUpTo > int64(cut) {
				t.Fatalf("cut %d: truncated at %d, want between %d and the cut", cut, res.ValidUpTo, last)
			}
		default:
			t.Fatalf("cut %d: %+v", cut, res)
		}
	}
}

func TestLoadApplyErrorFails(t *testing.T) {
	boom := errors.New("Unknown command 'NOPE'")
	res := Load(strings.NewReader(string(resp.AppendCommand(nil, []byte("NOPE")))), 0, true, nil, func([][]byte) error { return boom })
	if res.Status != Failed || !errors.Is(res.Err, boom) {
		t.Fatalf("%+v", res)
	}
}

func TestFeedSelectsAndStamps(t *testing.T) {
	f := NewFeed()
	f.Timestamps = true
	var b []byte
	b = f.Append(b, 0, [][]byte{[]byte("SET"), []byte("a"), []byte("1")}, 100, noPosition)
	b = f.Append(b, 0, [][]byte{[]byte("DEL"), []byte("a")}, 100, noPosition)
	b = f.Append(b, 2, [][]byte{[]byte("DEL"), []byte("a")}, 101, noPosition)
	want := "#TS:100\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n" +
		"*2\r\n$3\r\nDEL\r\n$1\r\na\r\n" +
		"#TS:101\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n"
	if string(b) != want {
		t.Fatalf("got %q", b)
	}
}

func noPosition(int64) Position { return Position{} }

func FuzzLoad(f *testing.F) {
	f.Add([]byte(resp.AppendCommand(nil, []byte("SET"), []byte("k"), []byte("v"))))
	f.Add([]byte("*1\r\n$999999999999\r\nx"))
	f.Add([]byte("#TS:1\r\n*2\r\n$5\r\nMULTI\r\n"))
	f.Add([]byte("#RP:" + strings.Repeat("a", 40) + ":10:0\r\n#RPNEXT:" + strings.Repeat("b", 40) + ":99:1\r\n*1\r\n$4\r\nPING\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var tr Tracker
		res := Load(bytes.NewReader(in), 0, true, &tr, func(args [][]byte) error {
			if len(args) == 0 {
				t.Fatal("empty command applied")
			}
			return nil
		})
		if res.Status == Truncated && (res.ValidUpTo < 0 || res.ValidUpTo > int64(len(in))) {
			t.Fatalf("ValidUpTo %d outside the input (%d bytes)", res.ValidUpTo, len(in))
		}
		if p := tr.Position(); p.Known && (p.Offset < 0 || p.DB < 0 || len(p.ReplID) != 40) {
			t.Fatalf("position %+v read from a file is not a valid one", p)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("file a seq 1 type b\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseManifest(in)
		if err != nil {
			return
		}
		if _, err := ParseManifest(m.Format()); err != nil && !m.Empty() {
			t.Fatalf("formatted manifest does not parse: %v\n%q", err, m.Format())
		}
	})
}
