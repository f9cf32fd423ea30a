package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/store"
)

// ---------------------------------------------------------------- primitives

// TestCRC64CheckValue uses the check value from Redis's crc64.c test.
func TestCRC64CheckValue(t *testing.T) {
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64 = %016x", got)
	}
	// Incremental use equals one pass.
	if CRC64(CRC64(0, []byte("1234")), []byte("56789")) != 0xe9c6d914c4b8d9ca {
		t.Fatal("incremental crc64 differs")
	}
}

// TestCRC64SlicingMatchesBitwise checks the slicing-by-8 loop against
// Redis's bit-at-a-time definition (crc64.c's _crc64) on Redis's long
// check value and on random data cut at random points, so every
// alignment and tail length of the 8-byte loop is crossed.
func TestCRC64SlicingMatchesBitwise(t *testing.T) {
	lorem := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed " +
		"do eiusmod tempor incididunt ut labore et dolore magna " +
		"aliqua. Ut enim ad minim veniam, quis nostrud exercitation " +
		"ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis " +
		"aute irure dolor in reprehenderit in voluptate velit esse " +
		"cillum dolore eu fugiat nulla pariatur. Excepteur sint " +
		"occaecat cupidatat non proident, sunt in culpa qui officia " +
		"deserunt mollit anim id est laborum.\x00" // sizeof(li) counts the NUL
	if got := CRC64(0, []byte(lorem)); got != 0xc7794709e69683b3 {
		t.Fatalf("crc64(lorem) = %016x", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		p := make([]byte, rng.IntN(3000))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		want := bitwiseCRC64(0, p)
		cut := 0
		if len(p) > 0 {
			cut = rng.IntN(len(p) + 1)
		}
		if got := CRC64(CRC64(0, p[:cut]), p[cut:]); got != want {
			t.Fatalf("len %d cut %d: crc64 %016x, bitwise %016x", len(p), cut, got, want)
		}
	}
}

// bitwiseCRC64 is crc64.c's _crc64: reflected input, one bit at a time.
func bitwiseCRC64(crc uint64, p []byte) uint64 {
	const poly = 0xad93d23594c935a9
	reflect := func(x uint64, bits int) uint64 {
		var r uint64
		for range bits {
			r = r<<1 | x&1
			x >>= 1
		}
		return r
	}
	crc = reflect(crc, 64) // _crc64 keeps the register unreflected
	for _, c := range p {
		for i := 0; i < 8; i++ {
			bit := crc&(1<<63) != 0
			if c&(1<<i) != 0 {
				bit = !bit
			}
			crc <<= 1
			if bit {
				crc ^= poly
			}
		}
	}
	return reflect(crc, 64)
}

// TestLZFRoundTrip compresses and expands inputs of many shapes.
func TestLZFRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	inputs := [][]byte{
		bytes.Repeat([]byte("a"), 1000),
		[]byte(strings.Repeat("abcdefghij", 500)),
		bytes.Repeat([]byte("ab"), 40000), // offsets and lengths at their limits
	}
	for i := 0; i < 50; i++ {
		b := make([]byte, 21+r.IntN(20000))
		for j := range b {
			b[j] = byte('a' + r.IntN(1+i%26))
		}
		inputs = append(inputs, b)
	}
	for i, in := range inputs {
		c := lzfCompress(in, len(in)-4)
		if c == nil {
			continue // incompressible: stored raw
		}
		out, err := lzfDecompress(c, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("input %d: round trip failed: %v", i, err)
		}
	}
	random := make([]byte, 1000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	if lzfCompress(random, len(random)-4) != nil {
		t.Error("random bytes should not compress below len-4")
	}
	if _, err := lzfDecompress([]byte{0x20, 0x05}, 10); err == nil {
		t.Error("back reference before the start accepted")
	}
}

// TestStringEncodings checks the bytes written for each string case.
func TestStringEncodings(t *testing.T) {
	cases := []struct {
		in   string
		opt  Options
		want []byte
	}{
		{"12", Options{}, []byte{0xc0, 12}},
		{"-3000", Options{}, []byte{0xc1, 0x48, 0xf4}},
		{"2000000000", Options{}, []byte{0xc2, 0x00, 0x94, 0x35, 0x77}},
		{"007", Options{}, []byte{3, '0', '0', '7'}},
		{"9000000000", Options{}, append([]byte{10}, "9000000000"...)},
		{"hi", Options{}, []byte{2, 'h', 'i'}},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		e := NewEncoder(&buf, c.opt)
		e.writeString([]byte(c.in))
		e.flush()
		if !bytes.Equal(buf.Bytes(), c.want) {
			t.Errorf("%q: wrote %x, want %x", c.in, buf.Bytes(), c.want)
		}
	}
	long := strings.Repeat("z", 100)
	var buf bytes.Buffer
	e := NewEncoder(&buf, DefaultOptions)
	e.writeString([]byte(long))
	e.flush()
	if buf.Bytes()[0] != 0xc3 {
		t.Errorf("long repetitive string not LZF-compressed: %x", buf.Bytes()[:4])
	}
	// Lengths in all four encodings read back.
	for _, n := range []uint64{0, 63, 64, 16383, 16384, math.MaxUint32, math.MaxUint32 + 1} {
		var buf bytes.Buffer
		e := NewEncoder(&buf, Options{})
		e.writeLen(n)
		e.flush()
		d := &decoder{r: bufioReader(buf.Bytes()), h: &Handler{}}
		got, err := d.plainLength()
		if err != nil || got != n {
			t.Errorf("length %d read back as %d (%v)", n, got, err)
		}
	}
}

// ---------------------------------------------------------------- round trips

// sampleKeyspace builds values of every type in both of their encodings.
func sampleKeyspace() *store.Keyspace {
	ks := store.NewKeyspace(16)
	db := ks.DBs[0]
	db.Set("s:int", store.NewString([]byte("-42")), false)
	db.Set("s:raw", store.NewString([]byte(strings.Repeat("raw string ", 30))), false)
	db.Set("s:bin", store.NewString([]byte{0, 1, 2, 255}), false)
	db.Set("s:ttl", store.NewString([]byte("x")), false)
	db.SetExpireAt("s:ttl", 4102444800999)

	l := store.NewList()
	for i := 0; i < 5000; i++ {
		l.PushBack([]byte("item-" + strconv.Itoa(i)))
	}
	l.PushBack(bytes.Repeat([]byte("L"), 20000)) // a node of its own
	for _, n := range []int64{0, 127, -4096, 4095, 32767, -8388608, 2147483647, math.MinInt64, math.MaxInt64} {
		l.PushBack(strconv.AppendInt(nil, n, 10))
	}
	db.Set("l:big", l, false)

	small := store.NewSet()
	for _, m := range []string{"1", "-70000", "5000000000"} {
		small.Add([]byte(m))
	}
	db.Set("set:int", small, false)
	big := store.NewSet()
	for i := 0; i < 700; i++ {
		big.Add([]byte("m" + strconv.Itoa(i)))
	}
	db.Set("set:ht", big, false)

	zs := store.NewZSet()
	for i, s := range []float64{1, -2.5, 0.1, math.Inf(1), math.Inf(-1), 1e300, 5e-324, math.Copysign(0, -1)} {
		zs.Add([]byte("z"+strconv.Itoa(i)), s)
	}
	db.Set("z:lp", zs, false)
	zb := store.NewZSet()
	for i := 0; i < 300; i++ {
		zb.Add([]byte("member-"+strconv.Itoa(i)), float64(i)/3)
	}
	db.Set("z:sl", zb, false)

	h := store.NewHash()
	h.Set([]byte("a"), []byte("1"))
	h.Set([]byte("b"), []byte("two"))
	db.Set("h:lp", h, false)
	hb := store.NewHash()
	for i := 0; i < 200; i++ {
		hb.Set([]byte("f"+strconv.Itoa(i)), []byte("v"+strconv.Itoa(i)))
	}
	db.Set("h:ht", hb, false)
	ks.DBs[3].Set("other", store.NewString([]byte("db3")), false)
	return ks
}

// TestRoundTrip writes the sample keyspace with every option combination and
// reads it back: same digest, same expiry times, same encodings.
func TestRoundTrip(t *testing.T) {
	for _, opt := range []Options{DefaultOptions, {}, {Compress: true}, {Checksum: true}} {
		ks := sampleKeyspace()
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, snapshots(ks), AuxInfo{RedisVer: "7.0.15", HasRepl: true, ReplID: "id", ReplOffset: 99}, opt); err != nil {
			t.Fatal(err)
		}
		back := store.NewKeyspace(16)
		res, err := LoadKeyspace(bytes.NewReader(buf.Bytes()), back, LoadOptions{})
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		if res.Checked != opt.Checksum {
			t.Errorf("%+v: checksum checked = %v", opt, res.Checked)
		}
		if res.Aux["repl-id"] != "id" || res.Aux["repl-offset"] != "99" {
			t.Errorf("aux %v", res.Aux)
		}
		if a, b := store.DatasetDigest(ks), store.DatasetDigest(back); a != b {
			t.Errorf("%+v: digest changed", opt)
		}
		ks.DBs[0].ForEach(func(k string, v store.Value, exp int64, has bool) bool {
			w, _ := back.DBs[0].Peek(k)
			if w.Encoding() != v.Encoding() {
				t.Errorf("%s: encoding %s became %s", k, v.Encoding(), w.Encoding())
			}
			e2, h2 := back.DBs[0].ExpireAt(k)
			if e2 != exp || h2 != has {
				t.Errorf("%s: expiry changed", k)
			}
			return true
		})
		aux, err := ReadAux(bytes.NewReader(buf.Bytes()))
		if err != nil || aux["repl-id"] != "id" || aux["redis-ver"] != "7.0.15" {
			t.Errorf("ReadAux = %v, %v", aux, err)
		}
	}
}

// TestDumpPayload round-trips every sample value and checks that
// corruption is detected.
func TestDumpPayload(t *testing.T) {
	ks := sampleKeyspace()
	ks.DBs[0].ForEach(func(k string, v store.Value, _ int64, _ bool) bool {
		p := DumpPayload(v, DefaultOptions)
		got, err := ParseDumpPayload(p)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		a, b := store.NewDB(), store.NewDB()
		a.Set(k, v, false)
		b.Set(k, got, false)
		if store.ValueDigest(a, k) != store.ValueDigest(b, k) {
			t.Errorf("%s: value changed", k)
		}
		bad := append([]byte(nil), p...)
		bad[0] ^= 1
		if _, err := ParseDumpPayload(bad); !errors.Is(err, ErrBadDumpPayload) {
			t.Errorf("%s: corrupt payload gave %v", k, err)
		}
		newer := append([]byte(nil), p...)
		binary.LittleEndian.PutUint16(newer[len(p)-10:], Version+1)
		binary.LittleEndian.PutUint64(newer[len(p)-8:], CRC64(0, newer[:len(p)-8]))
		if _, err := ParseDumpPayload(newer); !errors.Is(err, ErrBadDumpPayload) {
			t.Errorf("%s: newer version accepted", k)
		}
		return true
	})
}

// ---------------------------------------------------------------- old encodings

// rdbFile assembles an RDB of the given version around body (opcodes and
// entries), with EOF and a correct checksum when the version has one.
func rdbFile(version int, body ...[]byte) []byte {
	b := []byte("REDIS" + strconv.FormatInt(int64(10000+version), 10)[1:])
	for _, p := range body {
		b = append(b, p...)
	}
	b = append(b, opEOF)
	if version >= checksumSinceVersion {
		b = binary.LittleEndian.AppendUint64(b, CRC64(0, b))
	}
	return b
}

// rawString is a length-prefixed string (short lengths only).
func rawString(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// ziplist builds a ziplist of string and small-integer entries.
func ziplist(entries ...string) []byte {
	var body []byte
	prev, last := 0, ziplistHdrSize
	for _, e := range entries {
		start := len(body)
		last = ziplistHdrSize + start
		body = append(body, byte(prev))
		if n, err := strconv.Atoi(e); err == nil && n >= -32768 && n <= 32767 && strconv.Itoa(n) == e {
			if n >= 0 && n <= 12 {
				body = append(body, byte(zipIntImmMin+n))
			} else {
				body = append(body, zipInt16B, byte(n), byte(n>>8))
			}
		} else {
			body = append(body, byte(len(e)))
			body = append(body, e...)
		}
		prev = len(body) - start
	}
	b := make([]byte, ziplistHdrSize)
	binary.LittleEndian.PutUint32(b, uint32(ziplistHdrSize+len(body)+1))
	binary.LittleEndian.PutUint32(b[4:], uint32(last))
	binary.LittleEndian.PutUint16(b[8:], uint16(len(entries)))
	b = append(b, body...)
	return append(b, zipEnd)
}

// setListpack builds a listpack of members with the encoder's builder.
func setListpack(members ...string) []byte {
	var lp listpackBuilder
	for _, m := range members {
		lp.append([]byte(m))
	}
	return lp.finish()
}

// blobString wraps a blob as a length-prefixed RDB string.
func blobString(b []byte) []byte {
	var buf bytes.Buffer
	e := NewEncoder(&buf, Options{})
	e.writeLen(uint64(len(b)))
	e.flush()
	return append(buf.Bytes(), b...)
}

// TestOldEncodings loads the encodings Redis 7.0 no longer writes but
// still loads: ziplist lists, hashes and zsets, v1 quicklists, zipmaps,
// linked lists, string-scored zsets and second-resolution expiry times.
func TestOldEncodings(t *testing.T) {
	zipmap := []byte{2, 1, 'a', 1, 0, '1', 2, 'b', 'b', 3, 2, 'x', 'y', 'z', 0, 0, zipmapEnd}
	file := rdbFile(6,
		[]byte{opSelectDB, 0},
		[]byte{typeListZiplist}, rawString("zl"), blobString(ziplist("a", "7", "-300", "hello")),
		[]byte{typeListQuicklist}, rawString("ql"), []byte{2},
		blobString(ziplist("x", "y")), blobString(ziplist("12", "z")),
		[]byte{typeHashZiplist}, rawString("hz"), blobString(ziplist("f", "v", "n", "5")),
		[]byte{typeZSetZiplist}, rawString("zz"), blobString(ziplist("m", "1.5", "n", "2")),
		[]byte{typeHashZipmap}, rawString("hm"), blobString(zipmap),
		[]byte{typeList}, rawString("ll"), []byte{2}, rawString("p"), rawString("q"),
		[]byte{typeZSet}, rawString("zo"), []byte{2}, rawString("a"), []byte{3}, []byte("0.5"), rawString("b"), []byte{doubleNegInf},
		[]byte{typeSet}, rawString("so"), []byte{2}, rawString("x"), rawString("1"),
		[]byte{opExpireTimeSec, 0x00, 0xca, 0x9a, 0x3b}, []byte{typeString}, rawString("old-ttl"), rawString("v"),
	)
	ks := store.NewKeyspace(16)
	if _, err := LoadKeyspace(bytes.NewReader(file), ks, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	db := ks.DBs[0]
	list := func(k string) string {
		v, _ := db.Peek(k)
		var parts []string
		v.(*store.List).Range(func(e []byte) bool { parts = append(parts, string(e)); return true })
		return strings.Join(parts, ",")
	}
	if got := list("zl"); got != "a,7,-300,hello" {
		t.Errorf("ziplist list = %s", got)
	}
	if got := list("ql"); got != "x,y,12,z" {
		t.Errorf("quicklist v1 = %s", got)
	}
	if got := list("ll"); got != "p,q" {
		t.Errorf("linked list = %s", got)
	}
	hash := func(k, f string) string {
		v, _ := db.Peek(k)
		b, _ := v.(*store.Hash).Get([]byte(f))
		return string(b)
	}
	if hash("hz", "n") != "5" || hash("hm", "a") != "1" || hash("hm", "bb") != "xyz" {
		t.Errorf("ziplist/zipmap hashes wrong")
	}
	score := func(k, m string) float64 {
		v, _ := db.Peek(k)
		s, _ := v.(*store.ZSet).Score([]byte(m))
		return s
	}
	if score("zz", "m") != 1.5 || score("zz", "n") != 2 || score("zo", "a") != 0.5 || !math.IsInf(score("zo", "b"), -1) {
		t.Errorf("old zsets wrong")
	}
	if exp, ok := db.ExpireAt("old-ttl"); !ok || exp != 1000000000*1000 {
		t.Errorf("second expiry = %d %v", exp, ok)
	}
}

// TestRDB11TypesRefused: the set listpack (20) and stream (21) codes of
// Redis 7.2 are unknown to Redis 7.0, in a file and in a DUMP payload.
func TestRDB11TypesRefused(t *testing.T) {
	file := rdbFile(10,
		[]byte{opSelectDB, 0},
		[]byte{typeStreamListpacks2 + 1}, rawString("slp"), blobString(setListpack("x", "7", "-9000")),
	)
	if _, err := LoadKeyspace(bytes.NewReader(file), store.NewKeyspace(16), LoadOptions{}); err == nil {
		t.Error("a v10 file with type 20 loaded")
	}
	body := append([]byte{typeStreamListpacks2 + 1}, blobString(setListpack("x", "7", "-9000"))...)
	payload := append(body, Version, 0)
	payload = binary.LittleEndian.AppendUint64(payload, CRC64(0, payload))
	if _, err := ParseDumpPayload(payload); err == nil {
		t.Error("a DUMP payload of type 20 was accepted")
	}
}

// ---------------------------------------------------------------- errors

// TestCorruptInput checks that truncation at every offset, a flipped
// checksum, bad opcodes and module values are all errors naming an offset,
// and that none panics.
func TestCorruptInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "types.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(data); cut += 1 + cut/50 {
		_, err := LoadKeyspace(bytes.NewReader(data[:cut]), store.NewKeyspace(16), LoadOptions{})
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("truncated at %d: error %v is not a FormatError", cut, err)
		}
	}
	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 0xff
	_, err = LoadKeyspace(bytes.NewReader(bad), store.NewKeyspace(16), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "checksum") || !strings.Contains(err.Error(), "offset "+strconv.Itoa(len(data)-8)) {
		t.Errorf("bad checksum: %v", err)
	}
	cases := map[string][]byte{
		"unknown opcode":    rdbFile(10, []byte{8}),
		"module value":      rdbFile(10, []byte{typeModule2}, rawString("k")),
		"stream value":      rdbFile(10, []byte{typeStreamListpacks2}, rawString("k")),
		"bad version":       []byte("REDIS0011\xff"),
		"not rdb":           []byte("HELLO0010\xff"),
		"lying length":      rdbFile(10, []byte{typeString}, rawString("k"), []byte{0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0}),
		"lying count":       rdbFile(10, []byte{typeList}, rawString("k"), []byte{0x80, 0x7f, 0xff, 0xff, 0xff}),
		"lzf bomb":          rdbFile(10, []byte{typeString}, rawString("k"), []byte{0xc3, 1, 0x80, 0x10, 0, 0, 0, 0}),
		"duplicate key":     rdbFile(10, []byte{typeString}, rawString("k"), rawString("a"), []byte{typeString}, rawString("k"), rawString("b")),
		"db out of range":   rdbFile(10, []byte{opSelectDB, 20}),
		"corrupt listpack":  rdbFile(10, []byte{typeHashListpack}, rawString("k"), blobString([]byte{9, 0, 0, 0, 2, 0, 0x81, 'a', 0xff})),
		"pre-GA functions":  rdbFile(10, []byte{opFunction}),
		"bad module aux op": rdbFile(10, []byte{opModuleAux, 1, 5, 0}),
	}
	for name, file := range cases {
		_, err := LoadKeyspace(bytes.NewReader(file), store.NewKeyspace(16), LoadOptions{})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestModuleAuxSkipped checks that module AUX data is skipped and reported.
func TestModuleAuxSkipped(t *testing.T) {
	id := []byte{0x81, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xd4, 0x02} // encver 2
	file := rdbFile(10,
		[]byte{opModuleAux}, id, []byte{moduleOpUInt, 2},
		[]byte{moduleOpUInt, 7, moduleOpString}, rawString("abc"), []byte{moduleOpDouble, 0, 0, 0, 0, 0, 0, 0, 0, moduleOpEOF},
		[]byte{typeString}, rawString("k"), rawString("v"))
	var notices []string
	ks := store.NewKeyspace(1)
	if _, err := LoadKeyspace(bytes.NewReader(file), ks, LoadOptions{Notice: func(m string) { notices = append(notices, m) }}); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "module") || ks.DBs[0].Len() != 1 {
		t.Errorf("notices %q, keys %d", notices, ks.DBs[0].Len())
	}
}

// TestDropExpired checks the master-side load option.
func TestDropExpired(t *testing.T) {
	ks := sampleKeyspace()
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, snapshots(ks), AuxInfo{}, DefaultOptions); err != nil {
		t.Fatal(err)
	}
	back := store.NewKeyspace(16)
	res, err := LoadKeyspace(bytes.NewReader(buf.Bytes()), back, LoadOptions{DropExpiredAt: 4102444800999})
	if err != nil || res.Expired != 1 {
		t.Fatalf("expired %d, %v", res.Expired, err)
	}
	if _, ok := back.DBs[0].Peek("s:ttl"); ok {
		t.Error("expired key loaded")
	}
}

// TestParseScoreAsStrtod: listpack scores read as Redis's zzlStrtod, the
// longest numeric prefix, 0 for none, NaN refused.
func TestParseScoreAsStrtod(t *testing.T) {
	for in, want := range map[string]float64{
		"1.5": 1.5, "1/5": 1, "\xce.5": 0, "-3e2x": -300, "  7": 7, "1e": 1, "1e+": 1,
		".5": 0.5, "5.": 5, "-inf": math.Inf(-1), "Infinity": math.Inf(1), "0x10": 16,
		"0x1p4": 16, "0x": 0, "": 0, "abc": 0, "1e400": math.Inf(1),
	} {
		if got, err := parseScore([]byte(in)); err != nil || got != want {
			t.Errorf("parseScore(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"nan", "-NaN(1)"} {
		if _, err := parseScore([]byte(in)); err == nil {
			t.Errorf("parseScore(%q) accepted", in)
		}
	}
}

// TestQuicklistNodesFillGreedily: a list is written as quicklist nodes of
// at most quicklistNodeBytes (a bigger element alone in its node), each
// node as full as the next element allows, and the elements read back in
// order, for element sizes that put the node boundaries everywhere.
func TestQuicklistNodesFillGreedily(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 40 {
		l := store.NewList()
		var want []string
		for range 1 + rng.IntN(400) {
			n := rng.IntN(300)
			if rng.IntN(30) == 0 {
				n = quicklistNodeBytes + rng.IntN(3000) // alone in its node
			}
			el := strings.Repeat(string(rune('a'+rng.IntN(26))), n)
			if rng.IntN(5) == 0 {
				el = strconv.Itoa(rng.IntN(100000)) // stored as an integer
			}
			l.PushBack([]byte(el))
			want = append(want, el)
		}
		payload := DumpPayload(l, DefaultOptions)
		d := &decoder{r: bufio.NewReader(bytes.NewReader(payload)), h: &Handler{}, version: Version}
		if op, err := d.byte(); err != nil || op != typeListQuicklist2 {
			t.Fatalf("round %d: type %d %v", round, op, err)
		}
		nodes, err := d.plainLength()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var prevSize int
		for i := range nodes {
			if c, err := d.plainLength(); err != nil || c != quicklistNodePacked {
				t.Fatalf("round %d node %d: container %d %v", round, i, c, err)
			}
			blob, err := d.string()
			if err != nil {
				t.Fatal(err)
			}
			elems, err := parseListpack(blob)
			if err != nil {
				t.Fatalf("round %d node %d: %v", round, i, err)
			}
			if len(blob) > quicklistNodeBytes && len(elems) > 1 {
				t.Fatalf("round %d node %d: %d bytes with %d elements", round, i, len(blob), len(elems))
			}
			if i > 0 && prevSize+len(appendListpackEntry(nil, elems[0])) <= quicklistNodeBytes {
				t.Fatalf("round %d node %d: its first element fitted in the previous node (%d bytes)", round, i, prevSize)
			}
			prevSize = len(blob)
			for _, e := range elems {
				got = append(got, string(e))
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("round %d: elements differ after the round trip", round)
		}
	}
}
