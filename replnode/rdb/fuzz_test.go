package rdb

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/store"
)

// bufioReader wraps b for direct use by a decoder.
func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// FuzzLoad feeds arbitrary bytes to the decoder and to the DUMP parser:
// they may fail, never panic or hang. Seeds are small (the fuzzer's
// instrumented executions get slow on the multi-kilobyte golden files): the
// smallest golden file, a compact dump with one key of every type and
// encoding, and DUMP payloads. Crashers found by `go test -fuzz FuzzLoad`
// land in testdata/fuzz and then run as regression tests.
func FuzzLoad(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "bigenc.rdb"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	ks := store.NewKeyspace(2)
	db := ks.DBs[0]
	l := store.NewList()
	set, zs, h := store.NewSet(), store.NewZSet(), store.NewHash()
	for i := 0; i < 4; i++ {
		n := []byte(strconv.Itoa(i * 1000))
		l.PushBack(n)
		set.Add(n)
		zs.Add(n, float64(i)/3)
		h.Set(n, []byte("value"))
	}
	db.Set("list", l, false)
	db.Set("intset", set, false)
	db.Set("zset", zs, false)
	db.Set("hash", h, false)
	db.Set("str", store.NewString([]byte(strings.Repeat("compressible ", 4))), false)
	db.SetExpireAt("str", 4102444800000)
	ht := store.NewSet()
	ht.Add([]byte("a"))
	ht.Add([]byte("b"))
	ks.DBs[1].Set("htset", ht, false)
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, snapshots(ks), AuxInfo{RedisVer: "7.0.15", HasRepl: true, ReplID: "x", ReplOffset: 1}, DefaultOptions); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	db.ForEach(func(_ string, v store.Value, _ int64, _ bool) bool {
		f.Add(DumpPayload(v, DefaultOptions))
		return true
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		ks := store.NewKeyspace(16)
		if _, err := LoadKeyspace(bytes.NewReader(data), ks, LoadOptions{}); err == nil {
			// Whatever loaded must write and load again identically.
			var buf bytes.Buffer
			if err := WriteSnapshot(&buf, snapshots(ks), AuxInfo{}, DefaultOptions); err != nil {
				t.Fatal(err)
			}
			again := store.NewKeyspace(16)
			if _, err := LoadKeyspace(bytes.NewReader(buf.Bytes()), again, LoadOptions{}); err != nil {
				t.Fatalf("reloading our own output: %v", err)
			}
			if store.DatasetDigest(ks) != store.DatasetDigest(again) {
				t.Fatal("digest changed across a rewrite")
			}
		}
		// Only panics and hangs count here: arbitrary bytes are mostly
		// invalid, so the errors are expected and carry no verdict.
		_, _ = ParseDumpPayload(data)
		_, _ = ReadAux(bytes.NewReader(data))
	})
}

// FuzzRestorePayload is RESTORE's decoder alone, seeded with a DUMP
// payload of every type and encoding. Invariants: no panic; an accepted
// payload's value dumps again to a payload that is accepted and holds the
// same value (equal digests): nothing corrupt gets into a keyspace.
func FuzzRestorePayload(f *testing.F) {
	ks := store.NewKeyspace(1)
	db := ks.DBs[0]
	db.Set("str", store.NewString([]byte("hello")), false)
	db.Set("int", store.NewString([]byte("-12345")), false)
	l, set, ints, zs, h := store.NewList(), store.NewSet(), store.NewSet(), store.NewZSet(), store.NewHash()
	bigL, bigZ, bigH := store.NewList(), store.NewZSet(), store.NewHash()
	for i := 0; i < 5; i++ {
		n := []byte(strconv.Itoa(i*997 - 2000))
		s := []byte("m" + strconv.Itoa(i))
		l.PushBack(s)
		l.PushBack(n)
		set.Add(s)
		ints.Add(n)
		zs.Add(s, float64(i)/3)
		h.Set(s, n)
	}
	for i := 0; i < 300; i++ {
		s := []byte(strings.Repeat("v", i%80) + strconv.Itoa(i))
		bigL.PushBack(s)
		bigZ.Add(s, float64(i))
		bigH.Set(s, s)
	}
	for k, v := range map[string]store.Value{"list": l, "set": set, "intset": ints, "zset": zs, "hash": h, "biglist": bigL, "bigzset": bigZ, "bighash": bigH} {
		db.Set(k, v, false)
	}
	db.ForEach(func(_ string, v store.Value, _ int64, _ bool) bool {
		f.Add(DumpPayload(v, DefaultOptions))
		return true
	})
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := ParseDumpPayload(payload)
		if err != nil {
			return
		}
		again, err := ParseDumpPayload(DumpPayload(v, DefaultOptions))
		if err != nil {
			t.Fatalf("our own DUMP of an accepted value is refused: %v", err)
		}
		a, b := store.NewKeyspace(1), store.NewKeyspace(1)
		a.DBs[0].Set("k", v, false)
		b.DBs[0].Set("k", again, false)
		if store.DatasetDigest(a) != store.DatasetDigest(b) {
			t.Fatal("the value changed across DUMP and RESTORE")
		}
	})
}
