package aof

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/resp"
)

// event is a point of the written file where the dataset stands at a
// known place of its history: the end of a change, or a "here" line.
type event struct {
	end int // file offset just past it
	pos Position
}

// writeStream feeds n random changes through a Feed the way the server
// does, with the replication position after each one as the node would
// compute it: stream bytes the AOF never sees (PING, REPLCONF GETACK, the
// stream's own SELECTs, a replica's raw bytes of another length), new
// histories (promotion), stretches with no history (no backlog),
// transactions, and reopened files ("here" lines). It returns the file
// and where each position holds.
func writeStream(rng *rand.Rand, n int) ([]byte, []event) {
	f := NewFeed()
	f.Timestamps = rng.Intn(2) == 0
	var file []byte
	var events []event
	newID := func() string { return fmt.Sprintf("%040x", rng.Uint64()) }
	id, off, known := newID(), int64(rng.Intn(1000)), true
	streamDB := -1
	here := func() {
		p := Position{ReplID: id, Offset: off, DB: max(streamDB, 0), Known: known}
		if !known {
			p = Position{}
		}
		f.Reset()
		file = f.Here(file, p)
		events = append(events, event{len(file), p})
	}
	here()
	now := int64(1)
	// propagate is one command of the stream: its bytes on the stream
	// side, then the AOF side.
	propagate := func(db int, args [][]byte, completes bool) {
		if known {
			if db != streamDB && rng.Intn(4) > 0 {
				off += int64(len("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"))
				streamDB = db
			}
			if rng.Intn(5) == 0 {
				off += int64(rng.Intn(60)) // a replica's raw bytes differ
			}
		}
		var after Position
		if known {
			off += int64(len(resp.AppendCommand(nil, args...)))
			after = Position{ReplID: id, Offset: off, DB: db, Known: true}
		}
		file = f.Append(file, db, args, now, func(n int64) Position {
			if want := int64(len(resp.AppendCommand(nil, args...))); n != want {
				panic(fmt.Sprintf("after(%d) for a command of %d bytes", n, want))
			}
			return after
		})
		if completes {
			events = append(events, event{len(file), after})
		}
	}
	for i := 0; i < n; i++ {
		switch r := rng.Intn(20); {
		case r == 0:
			off += 14 // PING
		case r == 1:
			off += 37 // REPLCONF GETACK *
		case r == 2:
			id, streamDB = newID(), -1 // promoted: a new history
		case r == 3:
			known = !known
			if known {
				id = newID()
			}
		case r == 4:
			here() // reopened after a restart, or a new incr file
		case r == 5:
			now++
		case r < 9:
			db := rng.Intn(3)
			propagate(db, [][]byte{[]byte("MULTI")}, false)
			for j := rng.Intn(3); j >= 0; j-- {
				db = rng.Intn(3)
				propagate(db, [][]byte{[]byte("INCR"), []byte("k")}, false)
			}
			propagate(db, [][]byte{[]byte("EXEC")}, true)
		default:
			val := strings.Repeat("v", rng.Intn(30))
			propagate(rng.Intn(3), [][]byte{[]byte("SET"), []byte("k"), []byte(val)}, true)
		}
	}
	return file, events
}

// TestPositionAtEveryCut is the guarantee: whatever byte the file is cut
// at (a torn tail, loaded with aof-load-truncated), the position the load
// arrives at is exactly the one where the data it kept stands: never
// ahead of it, never behind it.
func TestPositionAtEveryCut(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewSource(seed))
		file, events := writeStream(rng, 40)
		for cut := 0; cut <= len(file); cut++ {
			var tr Tracker
			res := Load(bytes.NewReader(file[:cut]), 0, true, &tr, func([][]byte) error { return nil })
			if res.Status == Failed {
				t.Fatalf("seed %d cut %d: %v", seed, cut, res.Err)
			}
			kept := int64(cut)
			if res.Status == Truncated {
				kept = res.ValidUpTo
			}
			// Every event that is whole before the cut holds: a change's
			// end is a command's end, and a change that ends a MULTI
			// closes it, so none of them is dropped with a torn tail.
			var want Position
			for _, e := range events {
				if e.end <= cut {
					want = e.pos
				}
			}
			if got := tr.Position(); !samePosition(got, want) {
				t.Fatalf("seed %d cut %d (kept %d of %d): position %+v, want %+v\n%q", seed, cut, kept, len(file), got, want, file[:cut])
			}
		}
	}
}

// TestPositionAnnotationsOnlyWhereNeeded: a master's own stream, the same
// bytes as its AOF, needs the head line and nothing more.
func TestPositionAnnotationsOnlyWhereNeeded(t *testing.T) {
	f := NewFeed()
	id := strings.Repeat("a", 40)
	file := f.Here(nil, Position{ReplID: id, Offset: 100, DB: 0, Known: true})
	off := int64(100)
	for i := 0; i < 10; i++ {
		start := len(file)
		args := [][]byte{[]byte("SET"), []byte("k"), []byte(fmt.Sprint(i))}
		// The stream selects db 0 as the AOF does, so the bytes agree.
		probe := NewFeed()
		if i > 0 {
			probe.selectedDB = 0
		}
		off += int64(len(probe.Append(nil, 0, args, 0, noPosition)))
		file = f.Append(file, 0, args, 0, func(int64) Position { return Position{ReplID: id, Offset: off, DB: 0, Known: true} })
		if bytes.Contains(file[start:], []byte("#RPNEXT")) || i > 0 && bytes.Contains(file[start:], []byte("#RP")) {
			t.Fatalf("command %d got an annotation: %q", i, file[start:])
		}
	}
	var tr Tracker
	if res := Load(bytes.NewReader(file), 0, false, &tr, func([][]byte) error { return nil }); res.Status != Loaded {
		t.Fatalf("%+v", res)
	}
	if got := tr.Position(); got != (Position{ReplID: id, Offset: off, DB: 0, Known: true}) {
		t.Fatalf("position %+v, want offset %d", got, off)
	}
}

// TestPositionAnnotationParsing: a damaged position line is an unknown
// position, never a guessed one; other annotations are not positions.
func TestPositionAnnotationParsing(t *testing.T) {
	id := strings.Repeat("c", 40)
	for _, c := range []struct {
		line  string
		known bool
		isPos bool
	}{
		{"#RP:" + id + ":5:2\r\n", true, true},
		{"#RPNEXT:" + id + ":5:2\r\n", true, true},
		{"#RP:?\r\n", false, true},
		{"#RP:" + id + ":5:2\n", false, true},
		{"#RP:" + id[:39] + ":5:2\r\n", false, true},
		{"#RP:" + id + ":-5:2\r\n", false, true},
		{"#RP:" + id + ":5\r\n", false, true},
		{"#RP:" + id + ":5:x\r\n", false, true},
		{"#TS:1700000000\r\n", false, false},
		{"# a comment\r\n", false, false},
	} {
		p, _, ok := parsePosition([]byte(c.line))
		if ok != c.isPos || p.Known != c.known {
			t.Errorf("%q: known %v annotation %v, want %v %v", c.line, p.Known, ok, c.known, c.isPos)
		}
	}
}

// TestPositionBaseAndFiles: a base loaded whole has no position; a file
// with commands before any annotation (written by redis-server, or before
// positions existed) gives none either; an empty file changes nothing.
func TestPositionBaseAndFiles(t *testing.T) {
	id := strings.Repeat("d", 40)
	set := string(AppendHere(nil, Position{ReplID: id, Offset: 7, DB: 1, Known: true}))
	cmd := "*1\r\n$4\r\nPING\r\n"
	var tr Tracker
	load := func(s string) {
		tr.StartFile()
		if res := Load(strings.NewReader(s), 0, false, &tr, func([][]byte) error { return nil }); res.Status != Loaded {
			t.Fatalf("%+v", res)
		}
	}
	load(set)
	load("")
	if p := tr.Position(); p.Offset != 7 || !p.Known {
		t.Fatalf("after an empty file: %+v", p)
	}
	load(set + cmd)
	if p := tr.Position(); p.Offset != 7+int64(len(cmd)) || p.DB != 1 {
		t.Fatalf("after a command: %+v", p)
	}
	load(cmd)
	if p := tr.Position(); p.Known {
		t.Fatalf("a file without annotations: %+v", p)
	}
	load(set)
	tr.Replaced()
	if p := tr.Position(); p.Known {
		t.Fatalf("after a base: %+v", p)
	}
}

// TestPositionForeignAppend: commands another server appended after our
// annotations (redis-server started on the directory: its session starts
// with SELECT, with or without #TS) are in no stream of ours: the load
// gives no position, until an annotation of ours says one again.
func TestPositionForeignAppend(t *testing.T) {
	id := strings.Repeat("e", 40)
	f := NewFeed()
	ours := f.Here(nil, Position{ReplID: id, Offset: 10, DB: 0, Known: true})
	set := [][]byte{[]byte("SET"), []byte("k"), []byte("v")}
	n := int64(len(resp.AppendCommand(nil, set...)))
	sel := int64(len(resp.AppendCommand(nil, []byte("SELECT"), []byte("0"))))
	ours = f.Append(ours, 0, set, 0, func(int64) Position { return Position{ReplID: id, Offset: 10 + sel + n, Known: true} })
	load := func(file string) Position {
		var tr Tracker
		if res := Load(strings.NewReader(file), 0, false, &tr, func([][]byte) error { return nil }); res.Status != Loaded {
			t.Fatalf("%+v", res)
		}
		return tr.Position()
	}
	if p := load(string(ours)); !p.Known || p.Offset != 10+sel+n {
		t.Fatalf("our own file: %+v (%q)", p, ours)
	}
	theirs := string(NewFeed().Append(nil, 0, set, 0, noPosition))
	stamped := "#TS:1700000000\r\n" + theirs
	for _, foreign := range []string{theirs, stamped} {
		if p := load(string(ours) + foreign); p.Known {
			t.Fatalf("a foreign session appended %q: position %+v", foreign, p)
		}
		again := NewFeed()
		back := again.Here(nil, Position{ReplID: id, Offset: 500, DB: 0, Known: true})
		if p := load(string(ours) + foreign + string(back)); !p.Known || p.Offset != 500 {
			t.Fatalf("our annotation after a foreign session: %+v", p)
		}
	}
}
