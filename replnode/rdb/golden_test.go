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

// The golden files in testdata were written by a real redis-server 7.0 (see
// hack/rdb-golden/gen.sh). Loading one must reproduce every key with its
// type, expiry time and DEBUG DIGEST-VALUE, and the data set's DEBUG DIGEST.

var goldenSets = []string{"types", "nocompress", "quicklist", "bigenc"}

// goldenKey is one line of a NAME.keys file.
type goldenKey struct {
	db       int
	key      string
	typ      string
	expireAt int64 // -1: no expiry
	digest   string
}

// readGoldenKeys parses NAME.keys.
func readGoldenKeys(t *testing.T, name string) []goldenKey {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".keys"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []goldenKey
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 5 {
			t.Fatalf("%s.keys: bad line %q", name, sc.Text())
		}
		db, _ := strconv.Atoi(fields[0])
		exp, _ := strconv.ParseInt(fields[3], 10, 64)
		keys = append(keys, goldenKey{db, fields[1], fields[2], exp, fields[4]})
	}
	if len(keys) == 0 {
		t.Fatalf("%s.keys is empty", name)
	}
	return keys
}

// loadGolden loads testdata/NAME.rdb into a 16-database keyspace.
func loadGolden(t *testing.T, name string) (*store.Keyspace, KeyspaceResult, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".rdb"))
	if err != nil {
		t.Fatal(err)
	}
	ks := store.NewKeyspace(16)
	var notices []string
	res, err := LoadKeyspace(bytes.NewReader(data), ks, LoadOptions{Notice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatalf("loading %s.rdb: %v", name, err)
	}
	if res.Bytes != int64(len(data)) {
		t.Errorf("%s.rdb: consumed %d of %d bytes", name, res.Bytes, len(data))
	}
	return ks, res, notices
}

// checkAgainstGolden compares ks with NAME.keys and NAME.digest.
func checkAgainstGolden(t *testing.T, name string, ks *store.Keyspace) {
	t.Helper()
	keys := readGoldenKeys(t, name)
	total := 0
	for _, db := range ks.DBs {
		total += db.Len()
	}
	if total != len(keys) {
		t.Errorf("%s: loaded %d keys, golden has %d", name, total, len(keys))
	}
	for _, k := range keys {
		db := ks.DBs[k.db]
		v, ok := db.Peek(k.key)
		if !ok {
			t.Errorf("%s: key %q missing from db %d", name, k.key, k.db)
			continue
		}
		if v.Kind().String() != k.typ {
			t.Errorf("%s: key %q has type %s, want %s", name, k.key, v.Kind(), k.typ)
		}
		exp, has := db.ExpireAt(k.key)
		if !has {
			exp = -1
		}
		if exp != k.expireAt {
			t.Errorf("%s: key %q expires at %d, want %d", name, k.key, exp, k.expireAt)
		}
		if got := store.ValueDigest(db, k.key).String(); got != k.digest {
			t.Errorf("%s: key %q digest %s, want %s", name, k.key, got, k.digest)
		}
	}
	want, err := os.ReadFile(filepath.Join("testdata", name+".digest"))
	if err != nil {
		t.Fatal(err)
	}
	if got := store.DatasetDigest(ks).String(); got != strings.TrimSpace(string(want)) {
		t.Errorf("%s: DEBUG DIGEST %s, want %s", name, got, want)
	}
}

// TestGoldenLoad loads every golden file written by redis-server.
func TestGoldenLoad(t *testing.T) {
	for _, name := range goldenSets {
		t.Run(name, func(t *testing.T) {
			ks, res, notices := loadGolden(t, name)
			if res.Version != Version {
				t.Errorf("version %d", res.Version)
			}
			if name == "nocompress" && res.Checked {
				t.Errorf("rdbchecksum no file reported as checksummed")
			}
			if name != "nocompress" && !res.Checked {
				t.Errorf("checksum not verified")
			}
			if res.Aux["redis-ver"] != "7.0.15" || res.Aux["redis-bits"] != "64" {
				t.Errorf("aux fields %v", res.Aux)
			}
			if name == "quicklist" && (len(res.Functions) != 1 || !strings.HasPrefix(string(res.Functions[0]), "#!lua")) {
				t.Errorf("function library not loaded: %q (notices %q)", res.Functions, notices)
			}
			if name != "quicklist" && len(res.Functions) != 0 {
				t.Errorf("functions %q in a file without any", res.Functions)
			}
			checkAgainstGolden(t, name, ks)
		})
	}
}

// TestGoldenReencode writes each loaded golden data set back out and loads
// it again: the content must be unchanged.
func TestGoldenReencode(t *testing.T) {
	for _, name := range goldenSets {
		for _, opt := range []Options{DefaultOptions, {}} {
			ks, _, _ := loadGolden(t, name)
			var buf bytes.Buffer
			if err := WriteSnapshot(&buf, snapshots(ks), AuxInfo{RedisVer: "7.0.15", CTime: 1}, opt); err != nil {
				t.Fatal(err)
			}
			again := store.NewKeyspace(16)
			if _, err := LoadKeyspace(bytes.NewReader(buf.Bytes()), again, LoadOptions{}); err != nil {
				t.Fatalf("%s %+v: reloading our output: %v", name, opt, err)
			}
			checkAgainstGolden(t, name, again)
		}
	}
}

// snapshots takes a snapshot of every database of ks.
func snapshots(ks *store.Keyspace) []*store.Snapshot {
	out := make([]*store.Snapshot, len(ks.DBs))
	for i, db := range ks.DBs {
		out[i] = db.Snapshot()
	}
	return out
}
