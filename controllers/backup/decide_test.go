package backup

import (
	"errors"
	"reflect"
	"testing"
	"time"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
)

func TestChooseSource(t *testing.T) {
	master := replv1.MemberStatus{Name: "g-0", PodIP: "10.0.0.1", Role: "master", Ready: true}
	up := func(name string, lag int64) replv1.MemberStatus {
		return replv1.MemberStatus{Name: name, PodIP: "10.0.0.9", Role: "replica", LinkStatus: "up", LagBytes: lag, Ready: true}
	}
	down := up("g-1", 0)
	down.LinkStatus = "down"
	unready := up("g-2", 0)
	unready.Ready = false
	cases := []struct {
		name    string
		members []replv1.MemberStatus
		target  replv1.BackupTarget
		want    string
		noneErr bool
	}{
		{"least lag replica", []replv1.MemberStatus{master, up("g-1", 500), up("g-2", 10)}, replv1.BackupTargetReplica, "g-2", false},
		{"tie by name", []replv1.MemberStatus{master, up("g-2", 0), up("g-1", 0)}, "", "g-1", false},
		{"lagging replica is not caught up", []replv1.MemberStatus{master, up("g-1", MaxSourceLagBytes+1)}, replv1.BackupTargetReplica, "", true},
		{"link down or unready excluded", []replv1.MemberStatus{master, down, unready}, replv1.BackupTargetReplica, "", true},
		{"prefer-replica falls back to master", []replv1.MemberStatus{master, down}, replv1.BackupTargetPreferReplica, "g-0", false},
		{"prefer-replica takes a replica", []replv1.MemberStatus{master, up("g-1", 0)}, replv1.BackupTargetPreferReplica, "g-1", false},
		{"master target", []replv1.MemberStatus{master, up("g-1", 0)}, replv1.BackupTargetMaster, "g-0", false},
		{"no master", []replv1.MemberStatus{up("g-1", 0)}, replv1.BackupTargetMaster, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &replv1.ReplicationGroupStatus{CurrentMaster: "g-0", Members: c.members}
			got, err := ChooseSource(st, c.target)
			if c.noneErr {
				if !errors.Is(err, ErrNoSource) {
					t.Fatalf("got %q, %v; want ErrNoSource", got.Name, err)
				}
				return
			}
			if err != nil || got.Name != c.want {
				t.Fatalf("got %q, %v; want %q", got.Name, err, c.want)
			}
		})
	}
}

func TestKeysFor(t *testing.T) {
	for _, prefix := range []string{"", "/", "backups", "/backups/"} {
		k := KeysFor(prefix, "ns", "g", "b1")
		dir := "ns/g/b1"
		if prefix != "" && prefix != "/" {
			dir = "backups/" + dir
		}
		if k.Data != dir+"/dump.rdb" || k.Manifest != dir+"/manifest.json" {
			t.Errorf("prefix %q: %+v", prefix, k)
		}
	}
}

func TestNextRun(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 0, 30, 0, time.UTC)
	cases := map[string]time.Time{
		"* * * * *":    time.Date(2026, 12, 5, 0, 1, 0, 0, time.UTC),
		"*/15 * * * *": time.Date(2026, 12, 5, 0, 15, 0, 0, time.UTC),
		"0 3 * * *":    time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC),
		"@hourly":      time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC),
	}
	for s, want := range cases {
		got, err := NextRun(s, at)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: got %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "* * * *", "61 * * * *", "* * * * * *"} {
		if _, err := NextRun(bad, at); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestExpired(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	hours := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	backups := []Stored{{"b3", hours(3)}, {"b1", hours(1)}, {"b5", hours(5)}, {"b2", hours(2)}, {"b4", hours(4)}}
	two := int32(2)
	day := 24 * time.Hour
	threeAndHalf := 3*time.Hour + 30*time.Minute
	cases := []struct {
		name   string
		keep   *int32
		maxAge *time.Duration
		want   []string
	}{
		{"nothing set keeps all", nil, nil, nil},
		{"keep last 2", &two, nil, []string{"b5", "b4", "b3"}},
		{"max age", nil, &threeAndHalf, []string{"b5", "b4"}},
		{"both: the stricter wins", &two, &day, []string{"b5", "b4", "b3"}},
	}
	for _, c := range cases {
		got := Expired(backups, c.keep, c.maxAge, now)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDueRun(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 12, 5, h, m, s, 0, time.UTC) }
	cases := []struct {
		name      string
		sched     string
		last, now time.Time
		due       time.Time
		ok        bool
		next      time.Time
	}{
		{"not yet due", "* * * * *", at(0, 0, 0), at(0, 0, 59), time.Time{}, false, at(0, 1, 0)},
		{"due at the minute", "* * * * *", at(0, 0, 0), at(0, 1, 0), at(0, 1, 0), true, at(0, 2, 0)},
		{"missed runs collapse to the latest", "* * * * *", at(0, 0, 0), at(0, 5, 30), at(0, 5, 0), true, at(0, 6, 0)},
		{"hourly", "@hourly", at(0, 0, 0), at(2, 30, 0), at(2, 0, 0), true, at(3, 0, 0)},
		{"months missed, minutely", "* * * * *", at(0, 0, 0).AddDate(0, -6, 0), at(0, 5, 30), at(0, 5, 0), true, at(0, 6, 0)},
	}
	for _, c := range cases {
		due, ok, next, err := DueRun(c.sched, c.last, c.now)
		if err != nil || ok != c.ok || !due.Equal(c.due) || !next.Equal(c.next) {
			t.Errorf("%s: got %v %v %v %v; want %v %v %v", c.name, due, ok, next, err, c.due, c.ok, c.next)
		}
	}
}
