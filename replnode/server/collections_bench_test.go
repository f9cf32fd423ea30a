package server

import (
	"strconv"
	"testing"
)

// Benchmarks of the hot commands on small collections, the shape that keeps
// Redis's compact encodings (listpack hashes and sorted sets, one-node
// quicklists, intsets): a 10-field hash, a 20-member sorted set and a
// 20-element list as hack/membench loads them, a 20-member set and a
// 20-integer set. They measure the executor's
// share (lookup, handler, reply encoding) per command, without sockets.

// benchSmall loads the small collections, then runs cmds in order once per
// iteration.
func benchSmall(b *testing.B, cmds ...[]string) {
	n := newCoreNode(&testing.T{})
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	run := func(args [][]byte) {
		n.s.processCommand(n.c, args)
		n.c.w.Reset()
	}
	hset := [][]byte{[]byte("HSET"), []byte("h")}
	zadd := [][]byte{[]byte("ZADD"), []byte("z")}
	rpush := [][]byte{[]byte("RPUSH"), []byte("l")}
	sadd := [][]byte{[]byte("SADD"), []byte("s")}
	saddInts := [][]byte{[]byte("SADD"), []byte("si")}
	for i := 0; i < 20; i++ {
		if i < 10 {
			hset = append(hset, []byte("field:"+strconv.Itoa(i)), []byte("value:"+strconv.Itoa(1000+i)))
		}
		zadd = append(zadd, []byte(strconv.Itoa(1000+i)), []byte("member:"+strconv.Itoa(i)))
		rpush = append(rpush, []byte("element:"+strconv.Itoa(1000+i)))
		sadd = append(sadd, []byte("member:"+strconv.Itoa(i)))
		saddInts = append(saddInts, []byte(strconv.Itoa(1000+i)))
	}
	for _, setup := range [][][]byte{hset, zadd, rpush, sadd, saddInts} {
		run(setup)
	}
	bcmds := make([][][]byte, len(cmds))
	for i, c := range cmds {
		for _, a := range c {
			bcmds[i] = append(bcmds[i], []byte(a))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range bcmds {
			run(c)
		}
	}
}

func BenchmarkSmallHSET(b *testing.B) {
	benchSmall(b, []string{"HSET", "h", "field:7", "value:2007"})
}
func BenchmarkSmallHGET(b *testing.B) { benchSmall(b, []string{"HGET", "h", "field:7"}) }
func BenchmarkSmallHGETALL(b *testing.B) {
	benchSmall(b, []string{"HGETALL", "h"})
}

// BenchmarkSmallZADD moves one member back and forth between two scores.
func BenchmarkSmallZADD(b *testing.B) {
	benchSmall(b, []string{"ZADD", "z", "1002.5", "member:15"}, []string{"ZADD", "z", "1015", "member:15"})
}
func BenchmarkSmallZSCORE(b *testing.B) { benchSmall(b, []string{"ZSCORE", "z", "member:15"}) }
func BenchmarkSmallZRANGE(b *testing.B) {
	benchSmall(b, []string{"ZRANGE", "z", "0", "-1", "WITHSCORES"})
}

// BenchmarkSmallLPUSHRPOP keeps the list at 20 elements.
func BenchmarkSmallLPUSHRPOP(b *testing.B) {
	benchSmall(b, []string{"LPUSH", "l", "element:999"}, []string{"RPOP", "l"})
}
func BenchmarkSmallLRANGE(b *testing.B) { benchSmall(b, []string{"LRANGE", "l", "0", "-1"}) }
func BenchmarkSmallSADD(b *testing.B)   { benchSmall(b, []string{"SADD", "s", "member:7"}) }

// BenchmarkSmallSADDInt adds and removes one member of an intset.
func BenchmarkSmallSADDInt(b *testing.B) {
	benchSmall(b, []string{"SADD", "si", "1010"}, []string{"SREM", "si", "1010"})
}
func BenchmarkSmallSMEMBERSInt(b *testing.B) { benchSmall(b, []string{"SMEMBERS", "si"}) }
