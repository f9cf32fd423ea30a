package server

import (
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/resp"
)

// benchCommand runs one command repeatedly through dispatch on an internal
// client: the executor's share of a request (lookup, checks, handler,
// reply encoding), without sockets.
func benchCommand(b *testing.B, args ...string) { benchCommandOver(b, "xxx", args...) }

// benchCommandOver is benchCommand with key:000001 holding value first.
func benchCommandOver(b *testing.B, value string, args ...string) {
	n := newCoreNode(&testing.T{})
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	n.s.processCommand(n.c, [][]byte{[]byte("SET"), []byte("key:000001"), []byte(value)})
	n.c.w.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.s.processCommand(n.c, bargs)
		n.c.w.Reset()
	}
}

func BenchmarkDispatchGET(b *testing.B) { benchCommand(b, "GET", "key:000001") }
func BenchmarkDispatchSET(b *testing.B) { benchCommand(b, "SET", "key:000001", "xxx") }
func BenchmarkDispatchINCR(b *testing.B) {
	benchCommand(b, "INCR", "counter")
}

// The value-1KiB scenario's string commands (redis-benchmark -d 1024: one
// key, values of 1024 bytes).
func BenchmarkDispatchSET1KiB(b *testing.B) {
	benchCommand(b, "SET", "key:__rand_int__", strings.Repeat("x", 1024))
}

func BenchmarkDispatchGET1KiB(b *testing.B) {
	benchCommandOver(b, strings.Repeat("x", 1024), "GET", "key:000001")
}

func BenchmarkDispatchMSET1KiB(b *testing.B) {
	args := []string{"MSET"}
	for i := 0; i < 10; i++ {
		args = append(args, "key:__rand_int__", strings.Repeat("x", 1024))
	}
	benchCommand(b, args...)
}

// BenchmarkPipelineParse measures parsing a pipelined batch as the reader
// goroutine does.
func BenchmarkPipelineParse(b *testing.B) {
	var buf []byte
	for i := 0; i < 16; i++ {
		buf = resp.AppendCommandStrings(buf, "SET", "key:000001", "xxx")
	}
	var p resp.Parser
	flat := make([][]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		flat = flat[:0]
		for off := 0; off < len(buf); {
			args, n, err := p.ReadCommand(buf[off:], resp.DefaultLimits)
			if err != nil || n == 0 {
				b.Fatal(err)
			}
			flat = append(flat, args...)
			off += n
		}
	}
}

// BenchmarkDispatchMSET is redis-benchmark's MSET: ten pairs on the same
// key (no -r), three-byte values.
func BenchmarkDispatchMSET(b *testing.B) {
	args := []string{"MSET"}
	for i := 0; i < 10; i++ {
		args = append(args, "key:__rand_int__", "xxx")
	}
	benchCommand(b, args...)
}

// benchPipelined runs a command in batches of 16 as the reader does for
// redis-benchmark -P 16 (the batch shares its clock readings), with
// key:000001 holding "xxx" first.
func benchPipelined(b *testing.B, args ...string) {
	n := newCoreNode(&testing.T{})
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	n.s.processCommand(n.c, [][]byte{[]byte("SET"), []byte("key:000001"), []byte("xxx")})
	n.c.w.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 16 {
		n.s.beginBatch()
		for j := 0; j < 16; j++ {
			n.s.processCommand(n.c, bargs)
		}
		n.s.endBatch()
		n.c.w.Reset()
	}
}

func BenchmarkDispatchSETPipelined(b *testing.B) { benchPipelined(b, "SET", "key:000001", "xxx") }
func BenchmarkDispatchGETPipelined(b *testing.B) { benchPipelined(b, "GET", "key:000001") }
func BenchmarkDispatchINCRPipelined(b *testing.B) {
	benchPipelined(b, "INCR", "counter:__rand_int__")
}

func BenchmarkDispatchMSETPipelined(b *testing.B) {
	args := []string{"MSET"}
	for i := 0; i < 10; i++ {
		args = append(args, "key:__rand_int__", "xxx")
	}
	benchPipelined(b, args...)
}

// BenchmarkDispatchSETPipelinedStream is SETPipelined on a master with a
// replication stream: each write is encoded as the backlog does.
func BenchmarkDispatchSETPipelinedStream(b *testing.B) {
	n := newCoreNode(&testing.T{})
	var stream []byte
	n.s.Propagating = nil
	n.s.Propagator = func(db int, args [][]byte) {
		stream = resp.AppendCommand(stream[:0], args...)
	}
	args := [][]byte{[]byte("SET"), []byte("key:000001"), []byte("xxx")}
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 16 {
		n.s.beginBatch()
		for j := 0; j < 16; j++ {
			n.s.processCommand(n.c, args)
		}
		n.s.endBatch()
		n.c.w.Reset()
	}
}

// The collection commands exactly as redis-benchmark -P 16 sends them
// (no -r: "__rand_int__" stays literal, so SADD, HSET and ZADD rewrite one
// member of a one-member set, hash and sorted set, while LPUSH grows one
// list that RPOP drains and LRANGE_100 reads the head of).

func BenchmarkDispatchLPUSHPipelined(b *testing.B) { benchPipelined(b, "LPUSH", "mylist", "xxx") }

func BenchmarkDispatchRPOPPipelined(b *testing.B) {
	benchPipelinedFilled(b, b.N+16, "RPOP", "mylist")
}

func BenchmarkDispatchSADDPipelined(b *testing.B) {
	benchPipelined(b, "SADD", "myset", "element:__rand_int__")
}

func BenchmarkDispatchHSETPipelined(b *testing.B) {
	benchPipelined(b, "HSET", "myhash", "element:__rand_int__", "xxx")
}

func BenchmarkDispatchZADDPipelined(b *testing.B) {
	benchPipelined(b, "ZADD", "myzset", "0", "element:__rand_int__")
}

// LRANGE_100 reads the first 100 of the list redis-benchmark's preceding
// LPUSH run filled (as many elements as requests; 100000 here).
func BenchmarkDispatchLRANGE100Pipelined(b *testing.B) {
	benchPipelinedFilled(b, 100000, "LRANGE", "mylist", "0", "99")
}

// benchPipelinedFilled is benchPipelined with mylist holding n elements
// "xxx" first, pushed as redis-benchmark's LPUSH run does.
func benchPipelinedFilled(b *testing.B, n int, args ...string) {
	node := newCoreNode(&testing.T{})
	push := [][]byte{[]byte("LPUSH"), []byte("mylist"), []byte("xxx")}
	node.s.mu.Lock()
	for i := 0; i < n; i++ {
		node.s.processCommand(node.c, push)
		node.c.w.Reset()
	}
	node.s.mu.Unlock()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	node.s.mu.Lock()
	defer node.s.mu.Unlock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 16 {
		node.s.beginBatch()
		for j := 0; j < 16; j++ {
			node.s.processCommand(node.c, bargs)
		}
		node.s.endBatch()
		node.c.w.Reset()
	}
}

// The value-1KiB scenario's HSET: one field of myhash overwritten again and
// again with a 1024-byte value (over hash-max-listpack-value, so the hash is
// a hashtable).
func BenchmarkDispatchHSET1KiB(b *testing.B) {
	benchCommand(b, "HSET", "myhash", "element:__rand_int__", strings.Repeat("x", 1024))
}

// The value-1KiB scenario's LPUSH: 1024-byte elements onto one list.
func BenchmarkDispatchLPUSH1KiB(b *testing.B) {
	benchCommand(b, "LPUSH", "mylist", strings.Repeat("x", 1024))
}
