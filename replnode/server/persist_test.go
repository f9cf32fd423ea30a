package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/store"
)

// newPersistNode is a core node whose dump lives in a fresh temp dir.
func newPersistNode(t *testing.T, directives ...string) (*coreNode, string) {
	t.Helper()
	dir := t.TempDir()
	n := newCoreNode(t, append([]string{"dir " + dir, "save \"\"", "enable-debug-command yes"}, directives...)...)
	// The fake clock is installed after New, which read the real one.
	n.s.LastSaveUnix = n.now / 1000
	return n, dir
}

// infoField returns one field of the persistence INFO section.
func (n *coreNode) infoField(name string) string {
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	for _, line := range strings.Split(n.s.PersistenceInfo(), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return v
		}
	}
	n.t.Fatalf("INFO has no field %s", name)
	return ""
}

// fill stores values of every type.
func (n *coreNode) fill() {
	n.t.Helper()
	n.s.mu.Lock()
	db := n.s.Keyspace.DBs[0]
	n.s.mu.Unlock()
	_ = db
	n.run(transcript{
		{cmd("SET", "s", "hello"), "OK"},
		{cmd("SET", "n", "12345"), "OK"},
		{cmd("SET", "ttl", "v", "PXAT", "4102444800000"), "OK"},
		{cmd("SELECT", "3"), "OK"},
		{cmd("SET", "in3", strings.Repeat("compress me ", 10)), "OK"},
		{cmd("SELECT", "0"), "OK"},
	})
}

// TestSaveAndReload covers SAVE, LASTSAVE, the dirty counter, DEBUG DIGEST
// and DEBUG RELOAD.
func TestSaveAndReload(t *testing.T) {
	n, dir := newPersistNode(t)
	n.run(transcript{
		{cmd("DEBUG", "DIGEST"), strings.Repeat("0", 40)},
		{cmd("DEBUG", "DIGEST-VALUE", "nokey"), `[` + strings.Repeat("0", 40) + `]`},
	})
	n.fill()
	if got := n.infoField("rdb_changes_since_last_save"); got != "4" {
		t.Errorf("dirty = %s", got)
	}
	digest := n.do("DEBUG", "DIGEST")
	n.now += 5000
	n.run(transcript{{cmd("SAVE"), "OK"}})
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil {
		t.Fatal(err)
	}
	if got := n.infoField("rdb_changes_since_last_save"); got != "0" {
		t.Errorf("dirty after SAVE = %s", got)
	}
	if got := n.do("LASTSAVE"); got != "(integer) 1700000005" {
		t.Errorf("LASTSAVE = %s", got)
	}
	n.run(transcript{
		{cmd("SET", "s", "changed"), "OK"},
		{cmd("DEBUG", "RELOAD", "NOSAVE"), "OK"},
		{cmd("GET", "s"), `"hello"`},
		{cmd("DEBUG", "DIGEST"), digest},
		{cmd("DEBUG", "RELOAD"), "OK"},
		{cmd("DEBUG", "DIGEST"), digest},
	})
	n.expectExpire("ttl", 4102444800000)
	n.run(transcript{
		{cmd("DEBUG", "RELOAD", "NOFLUSH"), "(error) ERR Error trying to load the RDB dump, check server logs."},
		{cmd("DEBUG", "RELOAD", "NOFLUSH", "MERGE"), "OK"},
		{cmd("DEBUG", "RELOAD", "BOGUS"), "(error) ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."},
		{cmd("DEBUG", "NOSUCH"), "(error) ERR unknown subcommand or wrong number of arguments for 'NOSUCH'. Try DEBUG HELP."},
		{cmd("DEBUG", "DIGEST", "x"), "(error) ERR unknown subcommand or wrong number of arguments for 'DIGEST'. Try DEBUG HELP."},
	})
}

// waitBgsave runs the cron until no background save is in progress.
func (n *coreNode) waitBgsave() {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for n.infoField("rdb_bgsave_in_progress") == "1" {
		if time.Now().After(deadline) {
			n.t.Fatal("background save did not finish")
		}
		time.Sleep(10 * time.Millisecond)
		n.s.mu.Lock()
		n.s.persist().cron(n.now)
		n.s.mu.Unlock()
	}
}

// TestBgsave checks BGSAVE's replies, that writes during the save do not
// leak into it, and the INFO fields afterwards.
func TestBgsave(t *testing.T) {
	n, dir := newPersistNode(t)
	n.fill()
	digest := n.do("DEBUG", "DIGEST")
	n.run(transcript{
		{cmd("BGSAVE", "NOW"), "(error) ERR syntax error"},
		{cmd("BGSAVE"), "Background saving started"},
		{cmd("SET", "s", "written during the save"), "OK"},
	})
	n.waitBgsave()
	if got := n.infoField("rdb_last_bgsave_status"); got != "ok" {
		t.Errorf("status %s", got)
	}
	if got := n.infoField("rdb_changes_since_last_save"); got != "1" {
		t.Errorf("dirty after BGSAVE = %s (the write during the save must remain)", got)
	}
	if got := n.infoField("rdb_saves"); got != "1" {
		t.Errorf("rdb_saves = %s", got)
	}
	n.run(transcript{
		{cmd("DEBUG", "RELOAD", "NOSAVE"), "OK"},
		{cmd("DEBUG", "DIGEST"), digest},
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %v", entries)
	}
}

// TestBgsaveFailureMisconf checks that a failed background save is
// reported and, with save points, refuses writes with MISCONF.
func TestBgsaveFailureMisconf(t *testing.T) {
	n, dir := newPersistNode(t, "save 3600 1")
	n.fill()
	os.RemoveAll(dir) // the save cannot create its temp file
	n.run(transcript{{cmd("BGSAVE"), "Background saving started"}})
	n.waitBgsave()
	if got := n.infoField("rdb_last_bgsave_status"); got != "err" {
		t.Fatalf("status %s", got)
	}
	if got := n.do("SET", "x", "y"); !strings.HasPrefix(got, "(error) MISCONF") {
		t.Errorf("write after failed save: %s", got)
	}
	n.run(transcript{{cmd("GET", "s"), `"hello"`}})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n.run(transcript{
		{cmd("SAVE"), "OK"},
		{cmd("SET", "x", "y"), "OK"},
	})
}

// TestSavePointsTriggerBgsave checks that the cron starts a save when a
// save point is due.
func TestSavePointsTriggerBgsave(t *testing.T) {
	n, dir := newPersistNode(t, "save 10 2")
	n.fill()
	n.s.mu.Lock()
	n.s.persist().cron(n.now + 5000)
	n.s.mu.Unlock()
	if n.infoField("rdb_bgsave_in_progress") != "0" {
		t.Fatal("saved before the save point was due")
	}
	n.now += 11000
	n.s.mu.Lock()
	n.s.persist().cron(n.now)
	n.s.mu.Unlock()
	n.waitBgsave()
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil || n.infoField("rdb_changes_since_last_save") != "0" {
		t.Fatalf("save point did not save: %v", err)
	}
}

// TestDumpRestore follows Redis 7.0's replies for DUMP and RESTORE.
func TestDumpRestore(t *testing.T) {
	n, _ := newPersistNode(t)
	n.fill()
	n.run(transcript{
		{cmd("DUMP", "nokey"), "(nil)"},
		{cmd("RESTORE", "k", "0", "xxx"), "(error) ERR DUMP payload version or checksum are wrong"},
	})
	payload := dumpBytes(t, n, "s")
	n.run(transcript{
		{cmd("RESTORE", "s", "0", payload), "(error) BUSYKEY Target key name already exists."},
		{cmd("RESTORE", "copy", "-1", payload), "(error) ERR Invalid TTL value, must be >= 0"},
		{cmd("RESTORE", "copy", "0", payload, "FREQ", "300"), "(error) ERR Invalid FREQ value, must be >= 0 and <= 255"},
		{cmd("RESTORE", "copy", "0", payload, "IDLETIME", "-1"), "(error) ERR Invalid IDLETIME value, must be >= 0"},
		{cmd("RESTORE", "copy", "0", payload, "IDLETIME", "1", "FREQ", "1"), "(error) ERR syntax error"},
		{cmd("RESTORE", "copy", "0", payload, "BOGUS"), "(error) ERR syntax error"},
		{cmd("RESTORE", "copy", "0", payload), "OK"},
		{cmd("GET", "copy"), `"hello"`},
		{cmd("RESTORE", "copy", "5000", payload, "REPLACE", "IDLETIME", "10"), "OK"},
	})
	n.expectExpire("copy", n.now+5000)
	n.run(transcript{{cmd("RESTORE", "copy", "1000", payload, "REPLACE", "ABSTTL"), "OK"}})
	n.expectExpire("copy", -2)
	n.run(transcript{{cmd("RESTORE", "abs", "4102444800000", payload, "ABSTTL", "FREQ", "5"), "OK"}})
	n.expectExpire("abs", 4102444800000)
}

// expectExpire checks key's absolute expiry in db 0: -1 for none, -2 for
// a missing key.
func (n *coreNode) expectExpire(key string, want int64) {
	n.t.Helper()
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	db := n.s.Keyspace.DBs[0]
	got := int64(-2)
	if _, ok := db.Peek(key); ok {
		got = -1
		if t, has := db.ExpireAt(key); has {
			got = t
		}
	}
	if got != want {
		n.t.Errorf("%s: expiry %d, want %d", key, got, want)
	}
}

// dumpBytes returns DUMP key's payload as a string argument.
func dumpBytes(t *testing.T, n *coreNode, key string) string {
	t.Helper()
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	v, ok := n.s.Keyspace.DBs[0].Peek(key)
	if !ok {
		t.Fatalf("no key %s", key)
	}
	return string(dumpPayloadFor(n.s, v))
}

// TestBgsaveDoesNotBlockAndIsIsolated runs commands while a background
// save of a large data set is in progress: they are served (the executor
// is free) and their changes, including in-place ones, stay out of the
// dump, which holds exactly the data set as of BGSAVE.
func TestBgsaveDoesNotBlockAndIsIsolated(t *testing.T) {
	n, dir := newPersistNode(t)
	val := make([]byte, 512<<10)
	for i := 0; i < 40; i++ {
		for j := range val {
			val[j] = byte((i*7919 + j*104729) >> 3)
		}
		n.run(transcript{{cmd("SET", "big:"+strconv.Itoa(i), string(val)), "OK"}})
	}
	before := n.do("DEBUG", "DIGEST")
	n.run(transcript{{cmd("BGSAVE"), "Background saving started"}})
	served := 0
	for i := 0; i < 40 && n.infoField("rdb_bgsave_in_progress") == "1"; i++ {
		k := "big:" + strconv.Itoa(i)
		n.do("APPEND", k, "appended during the save")
		n.do("SETRANGE", k, "0", "overwritten")
		n.do("SET", "new:"+strconv.Itoa(i), "x")
		served++
	}
	if served == 0 {
		t.Fatal("no command was served while the background save ran")
	}
	n.waitBgsave()
	ks, _, found, err := loadDumpFile(filepath.Join(dir, "dump.rdb"), 16, rdb.LoadOptions{})
	if err != nil || !found {
		t.Fatalf("loading the dump: %v", err)
	}
	if got := store.DatasetDigest(ks).String(); got != before {
		t.Fatalf("dump digest %s, want the data set as of BGSAVE %s (%d commands ran during the save)", got, before, served)
	}
	if n.do("DEBUG", "DIGEST") == before {
		t.Fatal("the commands during the save changed nothing")
	}
}

// TestFlushAllSavesWithSavePoints: FLUSHALL with save points writes the
// empty data set at once, as Redis does.
func TestFlushAllSavesWithSavePoints(t *testing.T) {
	n, dir := newPersistNode(t, "save 3600 1")
	if _, ok := any(n.s).(flushAllNotifier); !ok {
		t.Skip("FLUSHALL hook not available")
	}
	n.fill()
	n.run(transcript{{cmd("SAVE"), "OK"}, {cmd("FLUSHALL"), "OK"}})
	ks, _, _, err := loadDumpFile(filepath.Join(dir, "dump.rdb"), 16, rdb.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := store.DatasetDigest(ks); got != (store.Digest{}) {
		t.Error("dump still holds data after FLUSHALL")
	}
	if got := n.infoField("rdb_changes_since_last_save"); got != "1" {
		t.Errorf("dirty after FLUSHALL = %s, want 1", got)
	}
	// A background save stopped by FLUSHALL is not a failure.
	n.fill()
	n.run(transcript{{cmd("BGSAVE"), "Background saving started"}, {cmd("FLUSHALL"), "OK"}})
	if got := n.infoField("rdb_last_bgsave_status"); got != "ok" {
		t.Errorf("status after a BGSAVE stopped by FLUSHALL: %s", got)
	}
	n.run(transcript{{cmd("SET", "after", "flush"), "OK"}})
}

// TestLoadDropsExpiredKeysOnMaster: a master loading its dump drops keys
// already expired and reports them in INFO.
func TestLoadDropsExpiredKeysOnMaster(t *testing.T) {
	n, dir := newPersistNode(t)
	ks := store.NewKeyspace(1)
	ks.DBs[0].Set("old", store.NewString([]byte("x")), false)
	ks.DBs[0].SetExpireAt("old", n.now-1000)
	ks.DBs[0].Set("live", store.NewString([]byte("y")), false)
	ks.DBs[0].SetExpireAt("live", n.now+1000)
	f, err := os.Create(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.WriteSnapshot(f, []*store.Snapshot{ks.DBs[0].Snapshot()}, rdb.AuxInfo{RedisVer: Version}, rdb.DefaultOptions); err != nil {
		t.Fatal(err)
	}
	f.Close()
	n.s.persist().loadAtStartup()
	n.expectExpire("old", -2)
	n.expectExpire("live", n.now+1000)
	if got := n.infoField("rdb_last_load_keys_expired"); got != "1" {
		t.Errorf("keys expired = %s", got)
	}
	if got := n.infoField("rdb_last_load_keys_loaded"); got != "1" {
		t.Errorf("keys loaded = %s", got)
	}
}

// TestReloadInvalidatesWatch: DEBUG RELOAD makes a watching transaction
// fail, as the flush in Redis's reload does.
func TestReloadInvalidatesWatch(t *testing.T) {
	n, _ := newPersistNode(t)
	n.fill()
	n.run(transcript{
		{cmd("WATCH", "s"), "OK"},
		{cmd("DEBUG", "RELOAD"), "OK"},
		{cmd("MULTI"), "OK"},
		{cmd("GET", "s"), "QUEUED"},
		{cmd("EXEC"), "(nil)"},
	})
}
