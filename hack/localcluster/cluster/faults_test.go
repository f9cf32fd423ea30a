package cluster

import (
	"reflect"
	"testing"

	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// TestParseCutSpec checks the CLI's cut syntax: groups and peer pods mix,
// and a direction is only for peers.
func TestParseCutSpec(t *testing.T) {
	for _, tc := range []struct {
		from, dir string
		want      CutSpec
	}{
		{"pod:b", "", CutSpec{Namespace: "ns", Pod: "a", Peers: []string{"b"}, Direction: podnet.Both}},
		{"pod:b,pod:other/c", "out", CutSpec{Namespace: "ns", Pod: "a", Peers: []string{"b", "other/c"}, Direction: podnet.Outgoing}},
		{"api", "both", CutSpec{Namespace: "ns", Pod: "a", From: podnet.Cut{API: true}, Direction: podnet.Both}},
		{"host,pod:op", "in", CutSpec{Namespace: "ns", Pod: "a", From: podnet.Cut{Host: true}, Peers: []string{"op"}, Direction: podnet.Incoming}},
		{"all,host", "", CutSpec{Namespace: "ns", Pod: "a", From: podnet.Cut{Pods: true, API: true, Host: true}, Direction: podnet.Both}},
	} {
		got, err := ParseCutSpec("ns", "a", tc.from, tc.dir)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCutSpec(%q, %q) = %+v, %v; want %+v", tc.from, tc.dir, got, err, tc.want)
		}
	}
	for _, bad := range []struct{ from, dir string }{
		{"pod:", ""}, {"pod:x/", ""}, {"pod:a/b/c", ""}, {"nodes", ""}, {"api", "out"}, {"pod:b", "up"},
	} {
		if _, err := ParseCutSpec("ns", "a", bad.from, bad.dir); err == nil {
			t.Errorf("ParseCutSpec(%q, %q) accepted", bad.from, bad.dir)
		}
	}
}
