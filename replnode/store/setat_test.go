package store

import "testing"

// TestSetAtOverwritesInPlace: SetAt on an existing key replaces the value,
// the access time and (unless keepTTL) the expiry, keeps the key's SCAN
// position, and leaves a snapshot taken before with the old value.
func TestSetAtOverwritesInPlace(t *testing.T) {
	db := NewDB()
	db.SetAt([]byte("a"), NewString([]byte("1")), false, 100)
	db.SetAt([]byte("b"), NewString([]byte("2")), false, 100)
	db.SetExpireAt("a", 5000)
	snap := db.Snapshot()
	defer snap.Release()

	db.SetAt([]byte("a"), NewString([]byte("x")), true, 200)
	if at, ok := db.ExpireAt("a"); !ok || at != 5000 {
		t.Errorf("keepTTL lost the expiry: %d %v", at, ok)
	}
	if at, _ := db.AccessTime("a"); at != 200 {
		t.Errorf("access time %d, want 200", at)
	}
	db.SetAt([]byte("a"), NewString([]byte("y")), false, 300)
	if _, ok := db.ExpireAt("a"); ok {
		t.Error("expiry kept without keepTTL")
	}
	if v, _ := db.Peek("a"); string(v.(*String).B) != "y" {
		t.Errorf("value %q", v.(*String).B)
	}
	if db.Len() != 2 || db.KeyAt(0) != "a" || db.KeyAt(1) != "b" {
		t.Errorf("scan order broken: %d keys, %q %q", db.Len(), db.KeyAt(0), db.KeyAt(1))
	}
	seen := map[string]string{}
	if err := snap.ForEach(func(k string, v Value, _ int64, _ bool) error {
		seen[k] = string(v.(*String).B)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen["a"] != "1" || seen["b"] != "2" {
		t.Errorf("snapshot sees %v, want the values before the overwrite", seen)
	}
}

// TestSetMovedKeepsSnapshotsFrozen: a value moved to another key while a
// snapshot holds it (RENAME during BGSAVE) is cloned before it changes, so
// the snapshot keeps the content it froze.
func TestSetMovedKeepsSnapshotsFrozen(t *testing.T) {
	db := NewDB()
	l := NewList()
	l.PushBack([]byte("a"))
	db.Set("src", l, false)
	snap := db.Snapshot()
	defer snap.Release()

	v, _ := db.Peek("src")
	db.Delete("src")
	db.SetMoved("dst", v, 0)
	m, _ := db.Mutable("dst")
	m.(*List).PushBack([]byte("b"))

	if err := snap.ForEach(func(k string, v Value, _ int64, _ bool) error {
		if n := v.(*List).Len(); k != "src" || n != 1 {
			t.Errorf("snapshot has %s with %d elements, want src with 1", k, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Peek("dst"); got.(*List).Len() != 2 {
		t.Errorf("dst has %d elements, want 2", got.(*List).Len())
	}
}

// TestLookupHintNeverMisleads: the position the last search found is only
// a guess. After the key there is deleted (the last entry moves into its
// place), after the DB shrinks below it, and after a flush, lookups still
// find exactly the keys present, with their own values.
func TestLookupHintNeverMisleads(t *testing.T) {
	db := NewDB()
	for _, k := range []string{"a", "b", "c", "d"} {
		db.SetString([]byte(k), []byte("v"+k), EncTried, false, 0)
	}
	get := func(k string) string {
		b, _, ok := db.PeekStringTouch([]byte(k), 0)
		if !ok {
			return "<missing>"
		}
		return string(b)
	}
	if get("b") != "vb" { // hint: b's position (1)
		t.Fatal("b not found")
	}
	db.Delete("b") // d moves to position 1
	if got := get("b"); got != "<missing>" {
		t.Errorf("deleted b found as %q", got)
	}
	if get("d") != "vd" || get("a") != "va" || get("c") != "vc" {
		t.Errorf("after the move: a=%q c=%q d=%q", get("a"), get("c"), get("d"))
	}
	get("d") // hint at the last position
	db.Delete("a")
	db.Delete("c") // the hint is now beyond the last entry
	if got := get("c"); got != "<missing>" {
		t.Errorf("deleted c found as %q", got)
	}
	if !db.SetExpireAt("d", 100) || db.SetExpireAt("c", 100) {
		t.Error("SetExpireAt disagrees with the keys present")
	}
	db.Flush()
	if got := get("d"); got != "<missing>" || db.Persist("d") {
		t.Errorf("key found after Flush: %q", got)
	}
	db.SetString([]byte("e"), []byte("ve"), EncTried, false, 0)
	db.ResetLookupHint()
	if get("e") != "ve" || get("d") != "<missing>" {
		t.Error("lookups wrong after ResetLookupHint")
	}
}
