package backup

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
)

// MaxSourceLagBytes is how far behind the master a replica may be and
// still count as caught up for a backup.
const MaxSourceLagBytes = 1 << 20

// ErrNoSource: no member fits the backup's target.
var ErrNoSource = errors.New("no member fits the backup target")

// ChooseSource picks the member to snapshot from the group's observed
// status. A replica qualifies when its link is up and its lag at most
// MaxSourceLagBytes; among those the least behind wins (ties: lowest name).
// The master is used for target master, or for prefer-replica when no
// replica qualifies.
func ChooseSource(st *replv1.ReplicationGroupStatus, target replv1.BackupTarget) (replv1.MemberStatus, error) {
	if target == "" {
		target = replv1.BackupTargetReplica
	}
	var master *replv1.MemberStatus
	var replicas []replv1.MemberStatus
	for i := range st.Members {
		m := st.Members[i]
		if m.Name == st.CurrentMaster && m.Role == "master" {
			master = &st.Members[i]
			continue
		}
		if m.Role == "replica" && m.LinkStatus == "up" && m.Ready && m.PodIP != "" && m.LagBytes <= MaxSourceLagBytes {
			replicas = append(replicas, m)
		}
	}
	sort.Slice(replicas, func(i, j int) bool {
		if replicas[i].LagBytes != replicas[j].LagBytes {
			return replicas[i].LagBytes < replicas[j].LagBytes
		}
		return replicas[i].Name < replicas[j].Name
	})
	switch {
	case target != replv1.BackupTargetMaster && len(replicas) > 0:
		return replicas[0], nil
	case target == replv1.BackupTargetReplica:
		return replv1.MemberStatus{}, fmt.Errorf("%w: no replica is linked and within %d bytes of the master (target replica; use prefer-replica to allow the master)", ErrNoSource, MaxSourceLagBytes)
	case master == nil || master.PodIP == "":
		return replv1.MemberStatus{}, fmt.Errorf("%w: the group has no confirmed master", ErrNoSource)
	default:
		return *master, nil
	}
}

// Keys are where one backup's objects live in the bucket.
type Keys struct {
	Data     string
	Manifest string
}

// KeysFor returns the object keys of backup name of group in namespace:
// <prefix>/<namespace>/<group>/<name>/{dump.rdb,manifest.json}.
func KeysFor(prefix, namespace, group, name string) Keys {
	dir := path.Join(strings.Trim(prefix, "/"), namespace, group, name)
	return Keys{Data: dir + "/dump.rdb", Manifest: dir + "/manifest.json"}
}

// cronParser accepts the five standard fields and descriptors (@hourly).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// NextRun returns the first time after `after` that schedule fires, in UTC.
func NextRun(schedule string, after time.Time) (time.Time, error) {
	s, err := cronParser.Parse(schedule)
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule %q: %w", schedule, err)
	}
	return s.Next(after.UTC()), nil
}

// Stored is one completed backup as retention sees it.
type Stored struct {
	Name string
	Time time.Time
}

// Expired returns the names of the backups retention drops at now: all but
// the newest keepLast (when set) and those older than maxAge (when set),
// oldest first. With neither set nothing expires.
func Expired(backups []Stored, keepLast *int32, maxAge *time.Duration, now time.Time) []string {
	sorted := append([]Stored(nil), backups...)
	sort.Slice(sorted, func(i, j int) bool {
		if !sorted[i].Time.Equal(sorted[j].Time) {
			return sorted[i].Time.After(sorted[j].Time)
		}
		return sorted[i].Name > sorted[j].Name
	})
	var out []string
	for i, b := range sorted {
		if (keepLast != nil && i >= int(*keepLast)) || (maxAge != nil && now.Sub(b.Time) > *maxAge) {
			out = append(out, b.Name)
		}
	}
	// Oldest first, so an interrupted pass has removed the oldest.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
