package resp

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestAppendCommand pins the multibulk request form shared by the
// replication stream, the backlog and AOF files (catAppendOnlyGenericCommand).
func TestAppendCommand(t *testing.T) {
	got := string(AppendCommandStrings(nil, "SET", "k", ""))
	if got != "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n" {
		t.Fatalf("AppendCommandStrings = %q", got)
	}
}

func TestReadCommand(t *testing.T) {
	big := "*1\r\n$" + "600000000" + "\r\n"
	cases := []struct {
		name     string
		in       string
		lim      Limits
		want     []string // nil: incomplete
		consumed int
		err      string
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", DefaultLimits, []string{"GET", "k"}, 20, ""},
		{"multibulk trailing", "*1\r\n$4\r\nPING\r\n*1", DefaultLimits, []string{"PING"}, 14, ""},
		{"incomplete header", "*2\r", DefaultLimits, nil, 0, ""},
		{"incomplete bulk", "*2\r\n$3\r\nGET\r\n$1\r\nk", DefaultLimits, nil, 0, ""},
		{"empty multibulk", "*0\r\n", DefaultLimits, []string{}, 4, ""},
		{"negative multibulk", "*-1\r\n", DefaultLimits, []string{}, 5, ""},
		{"inline", "SET a \"b c\"\r\n", DefaultLimits, []string{"SET", "a", "b c"}, 13, ""},
		{"inline lf", "PING\n", DefaultLimits, []string{"PING"}, 5, ""},
		{"inline empty", "\r\n", DefaultLimits, []string{}, 2, ""},
		{"inline hex", `ECHO "\x41\n" 'it\'s'` + "\n", DefaultLimits, []string{"ECHO", "A\n", "it's"}, 22, ""},
		{"unbalanced", "SET \"a\n", DefaultLimits, nil, 0, "Protocol error: unbalanced quotes in request"},
		{"quote followed", "SET \"a\"b\n", DefaultLimits, nil, 0, "Protocol error: unbalanced quotes in request"},
		{"bad count", "*x\r\n", DefaultLimits, nil, 0, "Protocol error: invalid multibulk length"},
		{"huge count", "*3000000000\r\n", DefaultLimits, nil, 0, "Protocol error: invalid multibulk length"},
		{"expected dollar", "*1\r\n:1\r\n", DefaultLimits, nil, 0, "Protocol error: expected '$', got ':'"},
		{"bad bulk len", "*1\r\n$-5\r\n", DefaultLimits, nil, 0, "Protocol error: invalid bulk length"},
		{"bulk over limit", big, DefaultLimits, nil, 0, "Protocol error: invalid bulk length"},
		{"unauth count", "*11\r\n", Limits{MaxBulkLen: 1 << 20, Unauthenticated: true}, nil, 0, "Protocol error: unauthenticated multibulk length"},
		{"unauth bulk", "*1\r\n$16385\r\n", Limits{MaxBulkLen: 1 << 20, Unauthenticated: true}, nil, 0, "Protocol error: unauthenticated bulk length"},
		{"too big inline", strings.Repeat("a", InlineMaxSize+1), DefaultLimits, nil, 0, "Protocol error: too big inline request"},
		{"too big mbulk", "*" + strings.Repeat("1", InlineMaxSize+1), DefaultLimits, nil, 0, "Protocol error: too big mbulk count string"},
		{"too big bulk count", "*1\r\n$" + strings.Repeat("1", InlineMaxSize+1), DefaultLimits, nil, 0, "Protocol error: too big bulk count string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Parser
			args, n, err := p.ReadCommand([]byte(c.in), c.lim)
			if c.err != "" {
				if err == nil || err.Error() != c.err || !IsProtocolError(err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.want == nil {
				if args != nil || n != 0 {
					t.Fatalf("want incomplete, got %q %d", args, n)
				}
				return
			}
			if n != c.consumed {
				t.Fatalf("consumed %d, want %d", n, c.consumed)
			}
			if len(args) != len(c.want) {
				t.Fatalf("args %q, want %q", args, c.want)
			}
			for i := range args {
				if string(args[i]) != c.want[i] {
					t.Fatalf("args %q, want %q", args, c.want)
				}
			}
		})
	}
}

func TestWriterRESP2AndRESP3(t *testing.T) {
	write := func(w *Writer) {
		w.OK()
		w.Error("ERR bad\nthing")
		w.Int(-7)
		w.BulkString("hi")
		w.Null()
		w.NullArray()
		w.MapLen(1)
		w.BulkString("k")
		w.Double(1.1)
		w.SetLen(1)
		w.Bool(true)
		w.PushLen(2)
		w.BulkString("message")
		w.Verbatim("txt", "v")
		w.BigNumber("123")
		w.Double(-1.0 / zero())
	}
	w2, w3 := NewWriter(2), NewWriter(3)
	write(w2)
	write(w3)
	want2 := "+OK\r\n-ERR bad thing\r\n:-7\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n*2\r\n$1\r\nk\r\n$18\r\n1.1000000000000001\r\n" +
		"*1\r\n:1\r\n*2\r\n$7\r\nmessage\r\n$1\r\nv\r\n$3\r\n123\r\n$4\r\n-inf\r\n"
	want3 := "+OK\r\n-ERR bad thing\r\n:-7\r\n$2\r\nhi\r\n_\r\n_\r\n%1\r\n$1\r\nk\r\n,1.1000000000000001\r\n" +
		"~1\r\n#t\r\n>2\r\n$7\r\nmessage\r\n=5\r\ntxt:v\r\n(123\r\n,-inf\r\n"
	if got := string(w2.Bytes()); got != want2 {
		t.Errorf("RESP2:\n got %q\nwant %q", got, want2)
	}
	if got := string(w3.Bytes()); got != want3 {
		t.Errorf("RESP3:\n got %q\nwant %q", got, want3)
	}
	rs, err := ReadAll(w3.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range rs {
		texts = append(texts, r.String())
	}
	got := strings.Join(texts, " | ")
	want := `OK | (error) ERR bad thing | (integer) -7 | "hi" | (nil) | (nil) | {"k": (double) 1.1000000000000001} | ~[(true)] | >["message", "v"] | (big) 123 | (double) -inf`
	if got != want {
		t.Errorf("decoded:\n got %s\nwant %s", got, want)
	}
}

func zero() float64 { return 0 }

func TestDeferredLen(t *testing.T) {
	w := NewWriter(3)
	outer := w.Deferred()
	inner := w.Deferred()
	w.Int(1)
	w.Int(2)
	w.SetArrayLen(inner, 2)
	w.BulkString("x")
	w.SetMapLen(outer, 1)
	want := "%1\r\n*2\r\n:1\r\n:2\r\n$1\r\nx\r\n"
	if string(w.Bytes()) != want {
		t.Fatalf("got %q want %q", w.Bytes(), want)
	}
}

func TestDoubleFormatting(t *testing.T) {
	cases := map[float64]string{1: "1", 0.5: "0.5", 1e20: "1e+20", 1e-5: "1.0000000000000001e-05", 3.0e15: "3000000000000000", 123456789012345678: "1.2345678901234568e+17"}
	for in, want := range cases {
		if got := string(AppendDouble(nil, in)); got != want {
			t.Errorf("%v: got %s want %s", in, got, want)
		}
	}
}

func BenchmarkReadCommand(b *testing.B) {
	buf := []byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$3\r\nxxx\r\n")
	var p Parser
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		if _, _, err := p.ReadCommand(buf, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterBulk(b *testing.B) {
	w := NewWriter(2)
	v := []byte("xxxxxxxxxxxxxxxx")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.Reset()
		w.Bulk(v)
		w.Int(int64(i))
		w.OK()
	}
}

// TestAppendRepr pins sdscatrepr's escapes (sds.c) and that SplitArgs reads
// every byte value back, as the AOF manifest and config files rely on.
func TestAppendRepr(t *testing.T) {
	got := string(AppendRepr([]byte("x="), []byte("a \"q\\\n\r\t\a\b\x00\x7f\xffz")))
	want := `x="a \"q\\\n\r\t\a\b\x00\x7f\xffz"`
	if got != want {
		t.Fatalf("AppendRepr = %s, want %s", got, want)
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	args, _, ok := SplitArgs(AppendRepr(nil, all), nil, nil)
	if !ok || len(args) != 1 || string(args[0]) != string(all) {
		t.Fatalf("SplitArgs(AppendRepr(all bytes)) = %q, %v", args, ok)
	}
}

// TestBulkHeaderLengths checks the bulk header on both sides of the short
// paths (one digit, two digits, strconv) for Bulk and BulkString, and
// integers and array lengths around them, negative ones included.
func TestBulkHeaderLengths(t *testing.T) {
	w := NewWriter(2)
	for n := int64(-1200); n <= 1200; n++ {
		w.Reset()
		w.Int(n)
		if got, want := string(w.Bytes()), ":"+strconv.FormatInt(n, 10)+"\r\n"; got != want {
			t.Fatalf("Int(%d) wrote %q", n, got)
		}
		if n < 0 {
			continue
		}
		w.Reset()
		w.ArrayLen(int(n))
		if got, want := string(w.Bytes()), "*"+strconv.FormatInt(n, 10)+"\r\n"; got != want {
			t.Fatalf("ArrayLen(%d) wrote %q", n, got)
		}
	}
	for n := 0; n <= 1200; n++ {
		b := bytes.Repeat([]byte{'x'}, n)
		want := "$" + strconv.Itoa(n) + "\r\n" + string(b) + "\r\n"
		w.Reset()
		w.Bulk(b)
		if got := string(w.Bytes()); got != want {
			t.Fatalf("Bulk of %d bytes wrote %q", n, got)
		}
		w.Reset()
		w.BulkString(string(b))
		if got := string(w.Bytes()); got != want {
			t.Fatalf("BulkString of %d bytes wrote %q", n, got)
		}
	}
}
