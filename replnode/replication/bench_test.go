package replication

import "testing"

// BenchmarkBacklogAppend measures feeding typical small commands (a SET of
// ~40 bytes) into a 1 MB backlog that wraps continuously.
func BenchmarkBacklogAppend(b *testing.B) {
	bl := NewBacklog(1<<20, 0)
	cmd := []byte("*3\r\n$3\r\nSET\r\n$8\r\nkey:1234\r\n$8\r\nval:5678\r\n")
	b.SetBytes(int64(len(cmd)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bl.Append(cmd)
	}
}

// BenchmarkBacklogReadFrom measures serving a partial resync of 64 kB
// across the wrap point.
func BenchmarkBacklogReadFrom(b *testing.B) {
	bl := NewBacklog(1<<20, 0)
	chunk := make([]byte, 4096)
	for i := 0; i < 300; i++ {
		bl.Append(chunk)
	}
	from := bl.EndOffset() - 64<<10 + 1
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bl.ReadFrom(from); err != nil {
			b.Fatal(err)
		}
	}
}
