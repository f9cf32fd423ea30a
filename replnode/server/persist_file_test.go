package server

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/store"
)

// TestWriteDumpFileAtomic checks that a failed write leaves the old dump
// and no temporary file, and a successful one replaces it.
func TestWriteDumpFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.rdb")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := writeDumpFile(path, func(w io.Writer) error {
		if _, err := w.Write([]byte("partial")); err != nil {
			t.Errorf("partial write: %v", err)
		}
		return errors.New("disk on fire")
	})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("error %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("old dump changed to %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary file left behind: %v", entries)
	}
	ks := store.NewKeyspace(2)
	ks.DBs[1].Set("k", store.NewString([]byte("v")), false)
	snaps := []*store.Snapshot{ks.DBs[0].Snapshot(), ks.DBs[1].Snapshot()}
	info := rdb.AuxInfo{RedisVer: Version, HasRepl: true, ReplID: strings.Repeat("f", 40), ReplOffset: 777}
	if err := writeDumpFile(path, func(w io.Writer) error { return rdb.WriteSnapshot(w, snaps, info, rdb.DefaultOptions) }); err != nil {
		t.Fatal(err)
	}
	back, res, found, err := loadDumpFile(path, 2, rdb.LoadOptions{})
	if err != nil || !found || res.Keys != 1 || back.DBs[1].Len() != 1 {
		t.Fatalf("reload: %v found=%v keys=%d", err, found, res.Keys)
	}
	id, off, ok, err := ReadDumpReplInfo(path)
	if err != nil || !ok || id != info.ReplID || off != 777 {
		t.Fatalf("repl info %q %d %v %v", id, off, ok, err)
	}
}

// TestLoadDumpFileRefusesCorruption checks that truncated and corrupted
// dumps are refused with the file name and an offset, and left untouched.
func TestLoadDumpFileRefusesCorruption(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.rdb")
	if _, _, found, err := loadDumpFile(path, 16, rdb.LoadOptions{}); found || err != nil {
		t.Fatalf("missing file: found=%v err=%v", found, err)
	}
	ks := store.NewKeyspace(1)
	ks.DBs[0].Set("key", store.NewString([]byte(strings.Repeat("value", 20))), false)
	if err := writeDumpFile(path, func(w io.Writer) error {
		return rdb.WriteSnapshot(w, []*store.Snapshot{ks.DBs[0].Snapshot()}, rdb.AuxInfo{RedisVer: Version}, rdb.DefaultOptions)
	}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-20] ^= 0x40
	for name, content := range map[string][]byte{
		"truncated":    good[:len(good)-5],
		"bad checksum": flipped,
	} {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := loadDumpFile(path, 16, rdb.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset") {
			t.Errorf("%s: error %v", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != string(content) {
			t.Errorf("%s: file modified", name)
		}
	}
}

// TestReplInfoFromAux covers the AUX parsing behind ReadDumpReplInfo.
func TestReplInfoFromAux(t *testing.T) {
	if _, _, ok, err := replInfoFromAux(map[string]string{"repl-id": "x"}); ok || err != nil {
		t.Error("partial info accepted")
	}
	if _, _, _, err := replInfoFromAux(map[string]string{"repl-id": "x", "repl-offset": "5abc"}); err == nil {
		t.Error("bad offset accepted")
	}
	if id, off, ok, err := replInfoFromAux(map[string]string{"repl-id": "x", "repl-offset": "42"}); !ok || err != nil || id != "x" || off != 42 {
		t.Errorf("got %q %d %v %v", id, off, ok, err)
	}
}
