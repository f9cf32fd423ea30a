package rdb

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/replnode/replnode/replnode/store"
)

// benchKeyspace is 100k string keys plus a few thousand aggregates, a
// typical cache-like mix.
func benchKeyspace() *store.Keyspace {
	ks := store.NewKeyspace(1)
	db := ks.DBs[0]
	for i := 0; i < 100000; i++ {
		db.Set("key:"+strconv.Itoa(i), store.NewString([]byte("value-"+strconv.Itoa(i*31))), false)
	}
	for i := 0; i < 1000; i++ {
		h := store.NewHash()
		z := store.NewZSet()
		l := store.NewList()
		for j := 0; j < 20; j++ {
			f := []byte("field" + strconv.Itoa(j))
			h.Set(f, []byte(strconv.Itoa(i*j)))
			z.Add(f, float64(j)*1.5)
			l.PushBack(f)
		}
		db.Set("hash:"+strconv.Itoa(i), h, false)
		db.Set("zset:"+strconv.Itoa(i), z, false)
		db.Set("list:"+strconv.Itoa(i), l, false)
	}
	return ks
}

// BenchmarkWriteSnapshot measures encoding throughput (bytes/s of RDB).
func BenchmarkWriteSnapshot(b *testing.B) {
	ks := benchKeyspace()
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap := ks.DBs[0].Snapshot()
		cw := &countingWriter{}
		if err := WriteSnapshot(cw, []*store.Snapshot{snap}, AuxInfo{RedisVer: "7.0.15"}, DefaultOptions); err != nil {
			b.Fatal(err)
		}
		snap.Release()
		size = cw.n
	}
	b.SetBytes(size)
}

// BenchmarkLoadKeyspace measures decoding throughput.
func BenchmarkLoadKeyspace(b *testing.B) {
	ks := benchKeyspace()
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, []*store.Snapshot{ks.DBs[0].Snapshot()}, AuxInfo{}, DefaultOptions); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := LoadKeyspace(bytes.NewReader(buf.Bytes()), store.NewKeyspace(1), LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLZF measures compression of a typical compressible value.
func BenchmarkLZF(b *testing.B) {
	in := bytes.Repeat([]byte("some json-ish {\"field\": 12345, \"name\": \"value\"} "), 40)
	b.SetBytes(int64(len(in)))
	var c lzfCompressor
	for i := 0; i < b.N; i++ {
		c.compress(in, len(in)-4)
	}
}

// countingWriter discards and counts.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkShortStrings measures writing many 100-byte compressible
// values, where per-string LZF setup cost dominates.
func BenchmarkShortStrings(b *testing.B) {
	ks := store.NewKeyspace(1)
	for i := 0; i < 20000; i++ {
		ks.DBs[0].Set("k"+strconv.Itoa(i), store.NewString(bytes.Repeat([]byte("ab"+strconv.Itoa(i%10)), 33)), false)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap := ks.DBs[0].Snapshot()
		if err := WriteSnapshot(&countingWriter{}, []*store.Snapshot{snap}, AuxInfo{}, DefaultOptions); err != nil {
			b.Fatal(err)
		}
		snap.Release()
	}
}

// stringKeyspace is n `key:N`=`value:N` strings stored as SET stores them
// (inline in the keyspace's slabs): make bench's full-sync dataset.
func stringKeyspace(n int) *store.Keyspace {
	ks := store.NewKeyspace(1)
	for i := range n {
		k := "key:" + strconv.Itoa(i)
		ks.DBs[0].SetString([]byte(k), []byte("value:"+strconv.Itoa(i)), store.EncTried, false, 0)
	}
	return ks
}

// BenchmarkWriteSnapshotStrings is BenchmarkWriteSnapshot over 1M inline
// strings: a full sync's encoding, snapshot taken and released included.
func BenchmarkWriteSnapshotStrings(b *testing.B) {
	ks := stringKeyspace(1_000_000)
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap := ks.DBs[0].Snapshot()
		cw := &countingWriter{}
		if err := WriteSnapshot(cw, []*store.Snapshot{snap}, AuxInfo{RedisVer: "7.0.15"}, DefaultOptions); err != nil {
			b.Fatal(err)
		}
		snap.Release()
		size = cw.n
	}
	b.SetBytes(size)
}

// BenchmarkLoadStrings is the replica's side of BenchmarkWriteSnapshotStrings.
func BenchmarkLoadStrings(b *testing.B) {
	ks := stringKeyspace(1_000_000)
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, []*store.Snapshot{ks.DBs[0].Snapshot()}, AuxInfo{}, DefaultOptions); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := LoadKeyspace(bytes.NewReader(buf.Bytes()), store.NewKeyspace(1), LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
