package failover

import "testing"

// TestPositionIn checks how many bytes of a history a node holds, including through replid2.
func TestPositionIn(t *testing.T) {
	onA := Replication{ReplID: histA, ReplID2: zeros, SecondReplOffset: -1, Offset: 500}
	movedOn := Replication{ReplID: histB, ReplID2: histA, SecondReplOffset: 301, Offset: 900}
	cases := []struct {
		name    string
		r       Replication
		history string
		wantPos int64
		wantOK  bool
	}{
		{"same history holds its offset", onA, histA, 500, true},
		{"other history holds nothing", onA, histB, 0, false},
		{"moved-on node holds the old history up to the switch", movedOn, histA, 300, true},
		{"moved-on node on its new history", movedOn, histB, 900, true},
		{"zero replid2 matches nothing", onA, zeros, 0, false},
		{"empty history matches nothing", onA, "", 0, false},
		{"replid2 without a second offset is not trusted", Replication{ReplID: histB, ReplID2: histA, SecondReplOffset: -1}, histA, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pos, ok := c.r.PositionIn(c.history)
			if pos != c.wantPos || ok != c.wantOK {
				t.Fatalf("PositionIn = (%d, %v), want (%d, %v)", pos, ok, c.wantPos, c.wantOK)
			}
		})
	}
}

// TestPredictResync checks the partial/full prediction and divergence against Redis's PSYNC rules.
func TestPredictResync(t *testing.T) {
	// A master on history A at offset 1000 with the whole history in its backlog.
	masterA := Replication{Role: RoleMaster, ReplID: histA, ReplID2: zeros, SecondReplOffset: -1, Offset: 1000,
		BacklogActive: true, BacklogFirstByte: 1, BacklogHistLen: 1000}
	// The same node promoted at 600 from history A, now at 1000 on history B.
	promotedB := Replication{Role: RoleMaster, ReplID: histB, ReplID2: histA, SecondReplOffset: 601, Offset: 1000,
		BacklogActive: true, BacklogFirstByte: 1, BacklogHistLen: 1000}
	smallBacklog := masterA
	smallBacklog.BacklogFirstByte, smallBacklog.BacklogHistLen = 900, 101
	noBacklog := masterA
	noBacklog.BacklogActive = false

	cases := []struct {
		name         string
		replica      Replication
		master       Replication
		wantMode     ResyncMode
		wantDiverged int64
		wantKnown    bool
	}{
		{"behind on the same history", Replication{ReplID: histA, Offset: 700}, masterA, ResyncPartial, 0, true},
		{"caught up on the same history", Replication{ReplID: histA, Offset: 1000}, masterA, ResyncPartial, 0, true},
		{"ahead on the same history", Replication{ReplID: histA, Offset: 1200}, masterA, ResyncFull, 200, true},
		{"behind but out of the backlog", Replication{ReplID: histA, Offset: 500}, smallBacklog, ResyncFull, 0, true},
		{"at the backlog's first byte", Replication{ReplID: histA, Offset: 899}, smallBacklog, ResyncPartial, 0, true},
		{"no backlog", Replication{ReplID: histA, Offset: 700}, noBacklog, ResyncFull, 0, true},
		{"old history before the switch", Replication{ReplID: histA, Offset: 550}, promotedB, ResyncPartial, 0, true},
		{"old history exactly at the switch", Replication{ReplID: histA, Offset: 600}, promotedB, ResyncPartial, 0, true},
		{"old master ahead of the switch diverged", Replication{ReplID: histA, Offset: 750}, promotedB, ResyncFull, 150, true},
		{"unrelated history", Replication{ReplID: histC, Offset: 10}, promotedB, ResyncFull, 0, false},
		{"empty data set restarted", Replication{ReplID: histC, Offset: 0}, masterA, ResyncFull, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := PredictResync(c.replica, c.master)
			if p.Mode != c.wantMode || p.DivergedBytes != c.wantDiverged || p.DivergenceKnown != c.wantKnown {
				t.Fatalf("PredictResync = %+v, want mode %s diverged %d known %v", p, c.wantMode, c.wantDiverged, c.wantKnown)
			}
			if p.Reason == "" {
				t.Fatal("prediction has no reason")
			}
		})
	}
}

// TestAfterPromotionMatchesRedis checks AfterPromotion against a real redis-server 7.0 promotion.
func TestAfterPromotionMatchesRedis(t *testing.T) {
	// testdata/info_replica.txt and info_promoted.txt are INFO replication from
	// a real redis-server 7.0 replica before and after REPLICAOF NO ONE.
	before := mustParseInfo(t, "testdata/info_replica.txt")
	after := mustParseInfo(t, "testdata/info_promoted.txt")
	predicted := AfterPromotion(before)
	if predicted.ReplID2 != after.ReplID2 || predicted.SecondReplOffset != after.SecondReplOffset ||
		predicted.Offset != after.Offset || predicted.Role != after.Role {
		t.Fatalf("AfterPromotion = %+v, redis reported %+v", predicted, after)
	}
	if predicted.ReplID == before.ReplID || predicted.ReplID == after.ReplID {
		t.Fatalf("the predicted new replid %q must match no real history", predicted.ReplID)
	}
	// The replica's old master asking to continue from the promoted node: partial.
	oldMaster := mustParseInfo(t, "testdata/info_master.txt")
	if p := PredictResync(oldMaster, after); p.Mode != ResyncPartial || p.DivergedBytes != 0 {
		t.Fatalf("old master at the same offset should resync partially, got %+v", p)
	}
}

// TestPredictResyncDivergedOldMasterMatchesRedis checks the prediction for a diverged old master against real redis-server 7.0.
func TestPredictResyncDivergedOldMasterMatchesRedis(t *testing.T) {
	// Captured from redis-server 7.0: a replica was promoted at offset 118
	// while its master kept taking writes up to 176; the old master was then
	// pointed at the new one and redis answered PSYNC with a full resync
	// (sync_partial_err +1, sync_full +1), discarding its 58 extra bytes.
	old := mustParseInfo(t, "testdata/info_diverged_old_master.txt")
	promoted := mustParseInfo(t, "testdata/info_diverged_new_master.txt")
	p := PredictResync(old, promoted)
	if p.Mode != ResyncFull || !p.DivergenceKnown || p.DivergedBytes != 58 {
		t.Fatalf("prediction %+v, want full with 58 diverged bytes", p)
	}
}
