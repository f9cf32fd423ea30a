package aof

import (
	"errors"
	"strings"
	"testing"
)

func TestManifestFormatMatchesRedis(t *testing.T) {
	m := &Manifest{}
	if got := m.NewBase("appendonly.aof", true); got != "appendonly.aof.1.base.rdb" {
		t.Fatalf("base name %q", got)
	}
	if got := m.LastIncr("appendonly.aof"); got != "appendonly.aof.1.incr.aof" {
		t.Fatalf("incr name %q", got)
	}
	m.NewIncr("appendonly.aof")
	m.NewBase("appendonly.aof", false)
	m.MarkRewrittenIncrAsHistory(true)
	// markRewrittenIncrAofAsHistory puts the rewritten incr files at the
	// head of the history list, before the old base.
	want := "file appendonly.aof.2.base.aof seq 2 type b\n" +
		"file appendonly.aof.1.incr.aof seq 1 type h\n" +
		"file appendonly.aof.1.base.rdb seq 1 type h\n" +
		"file appendonly.aof.2.incr.aof seq 2 type i\n"
	if got := string(m.Format()); got != want {
		t.Fatalf("manifest:\n%s\nwant:\n%s", got, want)
	}
	back, err := ParseManifest(m.Format())
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Format()) != want || back.CurBaseSeq != 2 || back.CurIncrSeq != 2 {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestManifestQuotesNamesAsSdscatrepr(t *testing.T) {
	m := &Manifest{}
	m.NewBase("my file\t\"x\".aof", true)
	got := string(m.Format())
	want := `file "my file\t\"x\".aof.1.base.rdb" seq 1 type b` + "\n"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	back, err := ParseManifest([]byte(got))
	if err != nil || back.Base.Name != "my file\t\"x\".aof.1.base.rdb" {
		t.Fatalf("parse back: %v %+v", err, back)
	}
	nonASCII := &Manifest{}
	nonASCII.NewIncr("a\x01\xff")
	if got := string(nonASCII.Format()); got != `file "a\x01\xff.1.incr.aof" seq 1 type i`+"\n" {
		t.Fatalf("got %q", got)
	}
}

func TestParseManifestErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"", "Found an empty AOF manifest"},
		{"\n", "Invalid AOF manifest file format"},
		{"file a seq 1\n", "Invalid AOF manifest file format"},
		{"file a seq 1 type b extra\n", "Invalid AOF manifest file format"},
		{"file a seq 0 type b\n", "Invalid AOF manifest file format"},
		{"file dir/a seq 1 type b\n", "File can't be a path, just a filename"},
		{"file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information"},
		{"file a seq 2 type i\nfile b seq 2 type i\n", "Found a non-monotonic sequence number"},
		{"file a seq 1 type x\n", "Unknown AOF file type"},
		{"file \"a seq 1 type b\n", "Invalid AOF manifest file format"},
		{"file a seq 1 type b", "The AOF manifest file contains too long line"},
		{"file " + strings.Repeat("a", 1100) + " seq 1 type b\n", "The AOF manifest file contains too long line"},
	}
	for _, c := range cases {
		_, err := ParseManifest([]byte(c.in))
		var me *ManifestError
		if !errors.As(err, &me) || me.Msg != c.msg {
			t.Errorf("%q: got %v, want %q", c.in, err, c.msg)
		}
	}
}

func TestParseManifestAcceptsCommentsAndUnknownKeys(t *testing.T) {
	in := "# comment\nfile a.rdb seq 3 type b newkey v\r\nFILE b seq 7 TYPE i\nfile c seq 2 type h\n"
	m, err := ParseManifest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if m.Base.Name != "a.rdb" || m.CurBaseSeq != 3 || len(m.Incr) != 1 || m.Incr[0].Seq != 7 || len(m.History) != 1 {
		t.Fatalf("%+v", m)
	}
}
