package server

import (
	"testing"

	"github.com/replnode/replnode/replnode/store"
)

// TestRenameAndMoveKeepSnapshotsFrozen: RENAME and MOVE while a BGSAVE or
// full-sync snapshot is live, then a write to the moved list, must not
// change what the snapshot saves (the replica would otherwise apply the
// write twice: once in the RDB, once from the stream).
func TestRenameAndMoveKeepSnapshotsFrozen(t *testing.T) {
	n := newCoreNode(t)
	n.do("RPUSH", "l1", "a")
	n.do("RPUSH", "l2", "a")
	var snaps []*store.Snapshot
	n.s.Exec(func() {
		for _, db := range n.s.Keyspace.DBs[:2] {
			snaps = append(snaps, db.Snapshot())
		}
	})
	n.run(transcript{
		{cmd("RENAME", "l1", "r1"), "OK"},
		{cmd("RPUSH", "r1", "b"), "(integer) 2"},
		{cmd("MOVE", "l2", "1"), "(integer) 1"},
		{cmd("SELECT", "1"), "OK"},
		{cmd("RPUSH", "l2", "b"), "(integer) 2"},
	})
	n.s.Exec(func() {
		for i, snap := range snaps {
			if err := snap.ForEach(func(k string, v store.Value, _ int64, _ bool) error {
				if l := v.(*store.List); l.Len() != 1 {
					t.Errorf("db %d snapshot: %s has %d elements, want the 1 it froze", i, k, l.Len())
				}
				return nil
			}); err != nil {
				t.Errorf("db %d snapshot: %v", i, err)
			}
			snap.Release()
		}
	})
}
