package failover

import (
	"strings"
	"testing"
	"time"
)

// TestChooseCandidate checks eligibility, ranking by position in the reference history, ties and rejection reasons.
func TestChooseCandidate(t *testing.T) {
	m0 := unreachable(master("g-0", 0, histA, 1000))
	notReady := replica("g-3", 3, histA, 5000, LinkDown)
	notReady.Ready = false
	fenced := replica("g-3", 3, histB, 5000, LinkDown) // an old master's diverged history
	fenced.Fenced = true
	rejoined := replica("g-3", 3, histA, 5000, LinkDown)
	rejoined.Fenced = true
	syncing := replica("g-3", 3, histA, 5000, LinkDown)
	syncing.Repl.SyncInProgress = true
	deleting := replica("g-3", 3, histA, 5000, LinkDown)
	deleting.Deleted = true
	pending := replica("g-3", 3, histA, 5000, LinkDown)
	pending.Phase = PodPending
	// A replica that already followed a promoted node: it holds history A up
	// to 700 and more on history B.
	movedOn := replica("g-3", 3, histB, 5000, LinkDown)
	movedOn.Repl.ReplID2, movedOn.Repl.SecondReplOffset = histA, 701
	// One that switched to history B and holds nothing past the switch yet.
	switchedOnly := movedOn
	switchedOnly.Repl.Offset = 700

	cases := []struct {
		name         string
		members      []Member
		lastReplID   string
		want         string
		wantPosition int64
		wantRejected string
	}{
		{"highest offset wins", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), replica("g-2", 2, histA, 950, LinkDown)}, histA, "g-2", 950, ""},
		{"tie goes to the lowest ordinal", []Member{m0, replica("g-2", 2, histA, 950, LinkDown), replica("g-1", 1, histA, 950, LinkDown)}, histA, "g-1", 950, ""},
		{"offsets on another history are never compared", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), replica("g-2", 2, histC, 99999, LinkDown)}, histA, "g-1", 900, "g-2: history 66760bd4 does not contain"},
		{"not ready is skipped", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), notReady}, histA, "g-1", 900, "g-3: pod is not ready"},
		{"fenced is skipped", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), fenced}, histA, "g-1", 900, "g-3: is fenced and has not rejoined"},
		{"fenced but resynced into the master's history is a candidate", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), rejoined}, histA, "g-3", 5000, ""},
		{"loading a full sync is skipped", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), syncing}, histA, "g-1", 900, "g-3: is loading a full sync"},
		{"being deleted is skipped", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), deleting}, histA, "g-1", 900, "g-3: pod is being deleted"},
		{"pending pod is skipped", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), pending}, histA, "g-1", 900, "g-3: pod is Pending"},
		{"unreachable is skipped", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), unreachable(replica("g-3", 3, histA, 5000, LinkDown))}, histA, "g-1", 900, "g-3: is unreachable"},
		{"replid2 chain counts up to the switch", []Member{m0, replica("g-1", 1, histA, 650, LinkDown), switchedOnly}, histA, "g-3", 700, ""},
		{"replid2 chain loses to a further replica", []Member{m0, replica("g-1", 1, histA, 800, LinkDown), switchedOnly}, histA, "g-1", 800, ""},
		// A replica with bytes past its switch from the recorded history:
		// a master was promoted after the last sighting and wrote them
		// (possibly WAIT-acknowledged); the later history is the reference.
		// Measured against A, g-3 would tie g-1 at 700 and could be wiped
		// (fault-model seed 60761).
		{"a replica that moved on with writes of its own makes its history the reference",
			[]Member{m0, replica("g-1", 1, histA, 650, LinkDown), movedOn}, histA, "g-3", 5000, ""},
		{"past the switch on the older history is not placed in the later one",
			[]Member{m0, replica("g-1", 1, histA, 800, LinkDown), movedOn}, histA, "g-3", 5000, "g-1: history 17af7cfa does not contain the master's history 30cd0889"},
		{"the later history wins over the replicas' majority on the older one",
			[]Member{m0, replica("g-1", 1, histA, 700, LinkDown), replica("g-2", 2, histA, 690, LinkDown), movedOn}, "", "g-3", 5000, ""},
		{"without a recorded replid the replicas' majority history is the reference",
			[]Member{m0, replica("g-1", 1, histA, 900, LinkDown), replica("g-2", 2, histA, 800, LinkDown), replica("g-3", 3, histC, 5000, LinkDown)}, "", "g-1", 900, "g-3: history"},
		{"a member answering as master is not a candidate", []Member{m0, replica("g-1", 1, histA, 900, LinkDown), master("g-2", 2, histA, 5000)}, histA, "g-1", 900, `g-2: reports role "master"`},
		{"nobody eligible", []Member{m0, unreachable(replica("g-1", 1, histA, 900, LinkDown)), notReady}, histA, "", 0, "g-1: is unreachable; g-3: pod is not ready"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := observe("g-0", time.Minute, c.members...)
			obs.Status.LastMasterReplID = c.lastReplID
			ch := ChooseCandidate(obs, "g-0")
			got, pos := "", int64(0)
			if ch.Best != nil {
				got, pos = ch.Best.Name, ch.Best.Position
			}
			if got != c.want || pos != c.wantPosition {
				t.Fatalf("chose %q at %d, want %q at %d (rejected: %s)", got, pos, c.want, c.wantPosition, ch.RejectionSummary())
			}
			if !strings.Contains(ch.RejectionSummary(), c.wantRejected) {
				t.Fatalf("rejections %q do not contain %q", ch.RejectionSummary(), c.wantRejected)
			}
		})
	}
}

// TestChooseCandidateIgnoresMemberOrder checks the choice does not depend on the order members are listed in.
func TestChooseCandidateIgnoresMemberOrder(t *testing.T) {
	a := []Member{replica("g-3", 3, histA, 700, LinkDown), replica("g-1", 1, histA, 700, LinkDown), replica("g-2", 2, histA, 700, LinkDown)}
	for i := range a {
		rotated := append(append([]Member{}, a[i:]...), a[:i]...)
		obs := observe("g-0", time.Minute, rotated...)
		obs.Status.LastMasterReplID = histA
		if ch := ChooseCandidate(obs, "g-0"); ch.Best == nil || ch.Best.Name != "g-1" {
			t.Fatalf("rotation %d chose %+v", i, ch.Best)
		}
	}
}

// TestReferenceHistory checks where the reference history comes from, in order of trust.
func TestReferenceHistory(t *testing.T) {
	cases := []struct {
		name       string
		obs        Observation
		lastReplID string
		want       Reference
	}{
		{"master answering", observe("g-0", 0, master("g-0", 0, histA, 10), replica("g-1", 1, histB, 10, LinkUp)), histC, Reference{ReplID: histA, Source: "master"}},
		{"status when the master is gone", observe("g-0", time.Minute, replica("g-1", 1, histB, 10, LinkDown)), histC, Reference{ReplID: histC, Source: "status"}},
		{"replicas' majority", observe("g-0", time.Minute, replica("g-1", 1, histB, 10, LinkDown), replica("g-2", 2, histB, 5, LinkDown), replica("g-3", 3, histC, 99, LinkDown)), "", Reference{ReplID: histB, Source: "replicas"}},
		{"replicas tied: most bytes", observe("g-0", time.Minute, replica("g-1", 1, histB, 10, LinkDown), replica("g-3", 3, histC, 99, LinkDown)), "", Reference{ReplID: histC, Source: "replicas"}},
		{"replicas tied on bytes: smaller replid", observe("g-0", time.Minute, replica("g-1", 1, histB, 10, LinkDown), replica("g-3", 3, histA, 10, LinkDown)), "", Reference{ReplID: histA, Source: "replicas"}},
		{"nothing known", observe("g-0", time.Minute, unreachable(replica("g-1", 1, histB, 10, LinkDown))), "", Reference{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.obs.Status.LastMasterReplID = c.lastReplID
			if got := ReferenceHistory(c.obs); got.ReplID != c.want.ReplID || got.Source != c.want.Source {
				t.Fatalf("ReferenceHistory = %+v, want %+v", got, c.want)
			}
		})
	}
}
