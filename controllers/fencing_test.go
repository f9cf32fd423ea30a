package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
)

// ------ FENCING BY HAND ------

// TestParseFencedInstances is a table of annotation values.
func TestParseFencedInstances(t *testing.T) {
	cases := []struct {
		value     string
		fenced    string
		refused   bool
		condition string
	}{
		{"", "", false, "False NoneFenced"},
		{`[]`, "", false, "False NoneFenced"},
		{`["cache-2"]`, "cache-2", false, "True Fenced"},
		{`["cache-1","cache-2"]`, "cache-1,cache-2", false, "True Fenced"},
		{`["cache-0","cache-2"]`, "cache-2", true, "True MasterNotFenced"},
		{`["cache-0"]`, "", true, "False MasterNotFenced"},
		{`cache-2`, "", false, "False InvalidAnnotation"},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			ann := map[string]string{}
			if tc.value != "" {
				ann[replnodev1alpha1.AnnotationFencedInstances] = tc.value
			}
			req := parseFencedInstances(ann, "cache-0")
			var names []string
			for _, n := range []string{"cache-0", "cache-1", "cache-2"} {
				if req.Fenced[n] {
					names = append(names, n)
				}
			}
			if got := strings.Join(names, ","); got != tc.fenced || req.MasterRefused != tc.refused {
				t.Errorf("fenced %q refused %v, want %q %v", got, req.MasterRefused, tc.fenced, tc.refused)
			}
			c := fencedCondition(req, "cache-0")
			if got := string(c.Status) + " " + c.Reason; got != tc.condition {
				t.Errorf("condition %s (%s), want %s", got, c.Message, tc.condition)
			}
			if c.Status == metav1.ConditionTrue && !strings.Contains(c.Message, "cache-2") {
				t.Errorf("message %q does not name the fenced member", c.Message)
			}
		})
	}
}

// TestFencedMemberInTopology checks a fenced replica gets the fenced label,
// is not repointed, holds up no rolling update and is never a switchover or
// drain target.
func TestFencedMemberInTopology(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("g-%d", i) }
	const mip = "10.0.0.1"
	fenced := func(m observedMember) observedMember { m.Fenced = true; return m }
	in := func(members ...observedMember) topologyInput {
		return topologyInput{DesiredReplicas: len(members) - 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t", Members: members, MemberName: name}
	}
	cases := []struct {
		name string
		in   topologyInput
		want string
	}{
		{"labelled fenced", in(up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), fenced(up("g-2", 2, "slave", mip, 10))),
			"SetRoleLabel g-2 fenced"},
		{"not repointed", in(up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10),
			func() observedMember {
				m := fenced(up("g-2", 2, "slave", "10.9.9.9", 10))
				m.RoleLabel = roleFenced
				return m
			}()), ""},
		{"neither rolled nor holding the roll up when not ready", in(up("g-0", 0, "master", "", 10),
			func() observedMember { m := up("g-1", 1, "slave", mip, 10); m.TemplateHash = "old"; return m }(),
			func() observedMember {
				m := fenced(up("g-2", 2, "slave", mip, 10))
				m.RoleLabel, m.TemplateHash, m.Ready = roleFenced, "old", false
				return m
			}()), "DeletePod g-1"},
		{"unfenced: back to replica", in(up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10),
			func() observedMember { m := up("g-2", 2, "slave", mip, 10); m.RoleLabel = roleFenced; return m }()), "SetRoleLabel g-2 replica"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(decideTopology(tc.in)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}

	members := []observedMember{up("g-0", 0, "master", "", 10), fenced(up("g-1", 1, "slave", mip, 20)), up("g-2", 2, "slave", mip, 10)}
	if got := decideSwitchoverRequest(switchoverRequestInput{SpecMaster: "g-1", CurrentMaster: "g-0", Members: members}); got.Member != "" {
		t.Errorf("spec.master naming a fenced member was passed on: %+v", got)
	}
	got := decideSwitchoverRequest(switchoverRequestInput{CurrentMaster: "g-0", Cordoned: map[string]bool{"g-0": true}, Members: members})
	if got.Member != "g-2" {
		t.Errorf("drain target = %+v, want g-2 (g-1 is more advanced but fenced)", got)
	}
}

// TestFencedReplicaCountsInTheFailoverQuorum checks what the failover
// policy sees of a member fenced by hand (review finding 3): with two
// replicas and min-replicas-to-write 1 both must vote the master's guard
// expired. A fenced replica that runs and answers votes and reports its
// position, is not promoted, and is pointed at the new master before the
// promotion; a stopped one gives no vote, so the policy waits.
func TestFencedReplicaCountsInTheFailoverQuorum(t *testing.T) {
	const hist = "17af7cfa29967cbe6bcfa483f4806a442a846923"
	replicaView := func(name string, ord int, offset int64, answers bool) memberView {
		fm := failover.Member{Name: name, Ordinal: ord, Phase: failover.PodRunning, Ready: answers, Reachable: answers}
		if answers {
			fm.Repl = failover.Replication{Role: failover.RoleReplica, ReplID: hist, SecondReplOffset: -1, Offset: offset,
				LinkStatus: failover.LinkDown, LinkDownSeconds: 60, LastIOSeconds: -1}
		} else {
			fm.ProcessDown = true
		}
		return memberView{observed: observedMember{Name: name, Ordinal: ord, PodExists: true, Ready: answers, Reachable: answers}, failover: fm}
	}
	decide := func(fencedAnswers bool) failover.Decision {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns",
			Annotations: map[string]string{replnodev1alpha1.AnnotationFencedInstances: `["g-2"]`}}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Status.CurrentMaster, rg.Status.TargetMaster, rg.Status.MasterReplID = "g-0", "g-0", hist
		p := newPass(rg)
		p.views = []memberView{
			{observed: observedMember{Name: "g-0", Ordinal: 0, PodExists: true}, failover: failover.Member{Name: "g-0", Ordinal: 0, Phase: failover.PodRunning}},
			replicaView("g-1", 1, 900, true),
			replicaView("g-2", 2, 800, fencedAnswers),
		}
		r := &ReplicationGroupReconciler{Now: func() time.Time { return time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC) }}
		if _, err := r.observeFencing(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		return failover.Decide(r.observation(p), failover.SwitchoverState{})
	}

	d := decide(true)
	if d.Kind != failover.KindFailover || d.To != "g-1" {
		t.Fatalf("fenced replica running: decision %s →%s %s: %s", d.Kind, d.To, d.Reason, d.Message)
	}
	repointed, promoted := -1, -1
	for i, a := range d.Actions {
		switch {
		case a.Kind == failover.ActReplicaOf && a.Member == "g-2" && a.Target == "g-1":
			repointed = i
		case a.Kind == failover.ActPromote:
			promoted = i
			if a.Member != "g-1" {
				t.Fatalf("promotes %s", a.Member)
			}
		}
	}
	if repointed < 0 || promoted < 0 || repointed > promoted {
		t.Fatalf("the fenced voter must follow g-1 before g-1 is promoted: %v", d.Actions)
	}

	d = decide(false)
	if d.Kind == failover.KindFailover {
		t.Fatalf("fenced replica stopped: failed over with one vote of the two needed: %s", d.Message)
	}
	if ev := d.Detection.Evidence; ev.Votes != 1 || ev.Replicas != 2 {
		t.Fatalf("fenced replica stopped: %d votes of %d replicas", ev.Votes, ev.Replicas)
	}
}
