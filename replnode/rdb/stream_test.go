package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/store"
)

// Streams through RDB, both ways, against a real redis-server 7.0: a dump
// redis-server wrote loads into the same streams (per-key DEBUG
// DIGEST-VALUE), our encoding of each stream is byte for byte what
// redis-server writes (uncompressed DUMP: listpacks, counters, groups,
// PELs), and redis-server loads our whole dump file (redis-check-rdb OK,
// equal DEBUG DIGEST, equal XINFO STREAM FULL — groups and PELs included).

// populateStreams writes streams with every structural feature: several
// nodes (stream-node-max-entries 4), tombstones, a node made only of
// tombstones and live entries trimmed away, entries with their own field
// names, integers of every listpack width, a value big enough to be LZF
// compressed, consumer groups with PELs, consumers with and without
// pending entries, an empty stream with a group, and XSETID counters.
func populateStreams(t *testing.T, r *realRedis) []string {
	t.Helper()
	r.must(t, "CONFIG", "SET", "stream-node-max-entries", "4")
	for i := 1; i <= 30; i++ {
		args := []string{"XADD", "s1", fmt.Sprintf("%d-%d", 1000+i*3, i%4), "f", strconv.Itoa(i * 977)}
		if i%5 == 0 {
			args = append(args, "n", strconv.Itoa(-i*100000), "big", strings.Repeat("xyz", 40))
		}
		r.must(t, args...)
	}
	r.must(t, "XDEL", "s1", "1006-2", "1009-3", "1012-0", "1015-1")
	r.must(t, "XTRIM", "s1", "MINID", "1005")
	r.must(t, "XGROUP", "CREATE", "s1", "g1", "0")
	r.must(t, "XGROUP", "CREATE", "s1", "g2", "1040", "ENTRIESREAD", "9")
	r.must(t, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "s1", ">")
	r.must(t, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "s1", ">")
	r.must(t, "XCLAIM", "s1", "g1", "carol", "0", "1024-3", "TIME", "123456789", "RETRYCOUNT", "9")
	r.must(t, "XGROUP", "CREATECONSUMER", "s1", "g2", "idle")
	r.must(t, "XREADGROUP", "GROUP", "g2", "dan", "NOACK", "STREAMS", "s1", ">")
	r.must(t, "XADD", "s2", "1-1", "a", "1")
	r.must(t, "XDEL", "s2", "1-1")
	r.must(t, "XGROUP", "CREATE", "s2", "g", "$")
	r.must(t, "XSETID", "s2", "5-5", "ENTRIESADDED", "10", "MAXDELETEDID", "3-3")
	r.must(t, "XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
	r.must(t, "XADD", "s3", "18446744073709551615-0", "x", strings.Repeat("long value ", 600))
	r.must(t, "XADD", "s3", "18446744073709551615-18446744073709551615", "12345678901", "-9223372036854775808")
	return []string{"s1", "s2", "empty", "s3"}
}

func TestStreamsRealRedisDumpLoads(t *testing.T) {
	dir := t.TempDir()
	r := startRedis(t, dir)
	keys := populateStreams(t, r)
	r.must(t, "SAVE")
	f, err := os.Open(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ks := store.NewKeyspace(16)
	if _, err := LoadKeyspace(f, ks, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	db := ks.DBs[0]
	r.must(t, "CONFIG", "SET", "rdbcompression", "no")
	for _, k := range keys {
		want := r.must(t, "DEBUG", "DIGEST-VALUE", k).([]any)[0]
		if got := store.ValueDigest(db, k).String(); got != want {
			t.Errorf("%s: digest %s, redis %s", k, got, want)
		}
		v, _ := db.Peek(k)
		ours := DumpPayload(v, Options{})
		theirs := r.must(t, "DUMP", k).(string)
		if string(ours) != theirs {
			t.Errorf("%s: our encoding differs from redis-server's:\nredis    %q\nreplnode %q", k, theirs, ours)
		}
	}
	if got, want := store.DatasetDigest(ks).String(), r.must(t, "DEBUG", "DIGEST"); got != want {
		t.Errorf("DEBUG DIGEST %s, redis %s", got, want)
	}
}

func TestStreamsRealRedisLoadsOurDump(t *testing.T) {
	if _, err := exec.LookPath("redis-check-rdb"); err != nil {
		t.Skip("redis-check-rdb not installed")
	}
	src := startRedis(t, t.TempDir())
	keys := populateStreams(t, src)
	ks := store.NewKeyspace(16)
	for _, k := range keys {
		v, err := ParseDumpPayload([]byte(src.must(t, "DUMP", k).(string)))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		ks.DBs[0].Set(k, v, false)
	}
	for i, opt := range []Options{DefaultOptions, {}} {
		dir := t.TempDir()
		path := writeOurDump(t, dir, ks, opt)
		out, err := exec.Command("redis-check-rdb", path).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("RDB looks OK!")) {
			t.Fatalf("options %d: redis-check-rdb: %v\n%s", i, err, out)
		}
		r := startRedis(t, dir)
		if got, want := r.must(t, "DEBUG", "DIGEST"), src.must(t, "DEBUG", "DIGEST"); got != want {
			t.Errorf("options %d: digest %v, want %v", i, got, want)
		}
		for _, k := range keys {
			got := fmt.Sprint(r.must(t, "XINFO", "STREAM", k, "FULL"))
			want := fmt.Sprint(src.must(t, "XINFO", "STREAM", k, "FULL"))
			if got != want {
				t.Errorf("options %d: %s:\n got %s\nwant %s", i, k, got, want)
			}
		}
	}
}

// streamV1Payload is a DUMP payload of type 15 (RDB_TYPE_STREAM_LISTPACKS,
// Redis 5 and 6): no first ID, max deleted ID, entries added, nor group
// entries-read. Redis 7.0 derives them on load.
func streamV1Payload(s *store.Stream) []byte {
	var buf sliceWriter
	e := NewEncoder(&buf, Options{})
	e.writeByte(typeStreamListpacks)
	nodes := s.RawNodes()
	e.writeLen(uint64(len(nodes)))
	for _, n := range nodes {
		e.writeString(store.EncodeStreamID(n.Master))
		var lp listpackBuilder
		for _, el := range n.Elems {
			if el.IsInt {
				lp.appendInt(el.Int)
			} else {
				lp.append(el.Str)
			}
		}
		e.writeString(lp.finish())
	}
	e.writeLen(s.Len())
	e.writeLen(s.LastID.Ms)
	e.writeLen(s.LastID.Seq)
	e.writeLen(uint64(len(s.Groups())))
	for _, g := range s.Groups() {
		e.writeString(g.Name)
		e.writeLen(g.LastID.Ms)
		e.writeLen(g.LastID.Seq)
		e.writeLen(0) // empty PEL
		e.writeLen(0) // no consumers
	}
	e.flush()
	out := append(buf.b, byte(Version), 0)
	return appendCRC(out)
}

func appendCRC(p []byte) []byte {
	c := CRC64(0, p)
	for i := 0; i < 8; i++ {
		p = append(p, byte(c>>(8*i)))
	}
	return p
}

// TestStreamOldAndNewerTypes: type 15 loads with the counters 7.0 derives
// (entries-added = length, first ID from the entries, entries-read
// estimated), as redis-server 7.0 loads the same payload; type 21 (Redis
// 7.2) is refused, as 7.0 refuses it.
func TestStreamOldAndNewerTypes(t *testing.T) {
	r := startRedis(t, t.TempDir())
	r.must(t, "XADD", "s", "1-1", "a", "1")
	r.must(t, "XADD", "s", "2-1", "a", "2")
	r.must(t, "XADD", "s", "3-1", "b", "3")
	r.must(t, "XDEL", "s", "1-1")
	r.must(t, "XGROUP", "CREATE", "s", "old", "2-1")
	r.must(t, "XGROUP", "CREATE", "s", "new", "0")
	v, err := ParseDumpPayload([]byte(r.must(t, "DUMP", "s").(string)))
	if err != nil {
		t.Fatal(err)
	}
	p := streamV1Payload(v.(*store.Stream))
	r.must(t, "RESTORE", "v1", "0", string(p))
	got, err := ParseDumpPayload(p)
	if err != nil {
		t.Fatal(err)
	}
	ks := store.NewKeyspace(1)
	ks.DBs[0].Set("v1", got, false)
	if a, b := store.ValueDigest(ks.DBs[0], "v1").String(), r.must(t, "DEBUG", "DIGEST-VALUE", "v1").([]any)[0]; a != b {
		t.Errorf("type 15 digest %s, redis %s", a, b)
	}
	// Re-dumped by both: the derived counters must agree.
	r.must(t, "CONFIG", "SET", "rdbcompression", "no")
	if ours, theirs := string(DumpPayload(got, Options{})), r.must(t, "DUMP", "v1").(string); ours != theirs {
		t.Errorf("type 15 loaded differently:\nredis    %q\nreplnode %q", theirs, ours)
	}

	v21 := append([]byte{21}, p[1:len(p)-10]...)
	v21 = appendCRC(append(v21, byte(Version), 0))
	if _, err := r.do("RESTORE", "v21", "0", string(v21)); err == nil {
		t.Errorf("redis-server accepted a type 21 payload")
	}
	if _, err := ParseDumpPayload(v21); err == nil || errors.Is(err, ErrBadDumpPayload) {
		t.Errorf("type 21: err %v, want a format error", err)
	}
}
