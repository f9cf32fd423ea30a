package resp

import (
	"bytes"
	"testing"
)

// FuzzParser feeds arbitrary bytes to the request parser (multibulk and
// inline), the reply decoder and the argument splitter. Invariants: no
// panic, a request is consumed only when complete (every proper prefix of
// it asks for more input), the bytes consumed re-parse to the same
// arguments, and a parsed request written back as RESP parses to the same
// arguments again.
func FuzzParser(f *testing.F) {
	for _, seed := range []string{
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
		"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
		"PING\r\n", "SET k \"a\\x00b\" 'c d'\n", "\"unbalanced\n",
		"*-1\r\n", "*0\r\n", "*2\r\n$-1\r\n", "*1\r\n$9223372036854775807\r\n",
		"*9223372036854775807\r\n", "*1\r\nx", "$5\r\nhello\r\n", "+OK\r\n-ERR x\r\n:1\r\n",
		"%1\r\n+a\r\n,1.5\r\n", ">2\r\n+a\r\n_\r\n", "*2\r\n$1\r\na\n$1\r\nb\r\n",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, buf []byte, unauth bool) {
		lim := Limits{MaxBulkLen: 1 << 20, Unauthenticated: unauth}
		var p Parser
		rest := buf
		for len(rest) > 0 {
			args, n, err := p.ReadCommand(rest, lim)
			if err != nil || n == 0 {
				break
			}
			if n > len(rest) {
				t.Fatalf("consumed %d of %d bytes", n, len(rest))
			}
			got := cloneArgs(args)
			var again Parser
			args2, n2, err := again.ReadCommand(rest[:n], lim)
			if err != nil || n2 != n || !sameArgs(got, args2) {
				t.Fatalf("%q re-parsed as %q, %d, %v (was %q, %d)", rest[:n], args2, n2, err, got, n)
			}
			for _, cut := range []int{1, n / 2, n - 1} {
				if cut <= 0 || cut >= n {
					continue
				}
				var part Parser
				if a, m, err := part.ReadCommand(rest[:cut], lim); err != nil || m != 0 || a != nil {
					t.Fatalf("prefix %q of %q: %q, %d, %v; want to read more", rest[:cut], rest[:n], a, m, err)
				}
			}
			if len(got) > 0 {
				var w Writer
				w.ArrayLen(len(got))
				for _, a := range got {
					w.Bulk(a)
				}
				var rt Parser
				args3, n3, err := rt.ReadCommand(w.Bytes(), Limits{MaxBulkLen: 1 << 20})
				if err != nil || n3 != w.Len() || !sameArgs(got, args3) {
					t.Fatalf("%q written as %q parsed as %q, %v", got, w.Bytes(), args3, err)
				}
			}
			rest = rest[n:]
		}
		_, _ = ReadAll(buf)
		_, _, _ = SplitArgs(buf, nil, nil)
	})
}

func cloneArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = bytes.Clone(a)
	}
	return out
}

func sameArgs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
