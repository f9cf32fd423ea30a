package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ BACKUP ------

// backupOptions are the flags of `backup`.
type backupOptions struct {
	Name   string
	Target string
	// Store is the object store given on the command line; Bucket empty
	// means none was given.
	Store replnodev1alpha1.ObjectStoreSpec
}

// backupName is the default name of an on-demand Backup: the group and the
// UTC time to the second, as `kubectl cnpg backup` names its backups.
func backupName(group string, now time.Time) string {
	return group + "-" + now.UTC().Format("20060102150405")
}

// storeFromFlags returns the object store the flags describe, an error when
// they describe only part of one, and ok=false when they name none.
func storeFromFlags(s replnodev1alpha1.ObjectStoreSpec) (replnodev1alpha1.ObjectStoreSpec, bool, error) {
	given := s.Bucket != "" || s.Endpoint != "" || s.Credentials.SecretName != "" || s.Prefix != "" || s.Region != "" || s.Insecure
	if !given {
		return s, false, nil
	}
	if s.Bucket == "" || s.Endpoint == "" || s.Credentials.SecretName == "" {
		return s, false, errors.New("--bucket, --endpoint and --credentials-secret go together")
	}
	return s, true, nil
}

// groupObjectStore returns the object store the group's backups already
// use: its ScheduledBackup's (the newest, if several), else its newest
// Backup's, and where it came from.
func groupObjectStore(ctx context.Context, c client.Client, key client.ObjectKey) (replnodev1alpha1.ObjectStoreSpec, string, error) {
	var scheduled replnodev1alpha1.ScheduledBackupList
	if err := c.List(ctx, &scheduled, client.InNamespace(key.Namespace)); err != nil {
		return replnodev1alpha1.ObjectStoreSpec{}, "", fmt.Errorf("listing ScheduledBackups: %w", err)
	}
	var newestSB *replnodev1alpha1.ScheduledBackup
	for i := range scheduled.Items {
		sb := &scheduled.Items[i]
		if sb.Spec.Group == key.Name && (newestSB == nil || newer(sb.ObjectMeta, newestSB.ObjectMeta)) {
			newestSB = sb
		}
	}
	if newestSB != nil {
		return newestSB.Spec.ObjectStore, "ScheduledBackup " + newestSB.Name, nil
	}
	var backups replnodev1alpha1.BackupList
	if err := c.List(ctx, &backups, client.InNamespace(key.Namespace)); err != nil {
		return replnodev1alpha1.ObjectStoreSpec{}, "", fmt.Errorf("listing Backups: %w", err)
	}
	var newestBk *replnodev1alpha1.Backup
	for i := range backups.Items {
		b := &backups.Items[i]
		if b.Spec.Group == key.Name && (newestBk == nil || newer(b.ObjectMeta, newestBk.ObjectMeta)) {
			newestBk = b
		}
	}
	if newestBk != nil {
		return newestBk.Spec.ObjectStore, "Backup " + newestBk.Name, nil
	}
	return replnodev1alpha1.ObjectStoreSpec{}, "", fmt.Errorf("group %s has no ScheduledBackup or Backup to take the object store from: pass --bucket, --endpoint and --credentials-secret (docs/backup.md)", key.Name)
}

// newer orders objects by creation time, then name (for equal seconds).
func newer(a, b metav1.ObjectMeta) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

// takeBackup creates a Backup of the group; the operator streams the
// snapshot from a caught-up replica (by default) to the object store.
func takeBackup(ctx context.Context, c client.Client, key client.ObjectKey, opts backupOptions, out io.Writer, now time.Time) error {
	target := replnodev1alpha1.BackupTarget(opts.Target)
	switch target {
	case replnodev1alpha1.BackupTargetReplica, replnodev1alpha1.BackupTargetPreferReplica, replnodev1alpha1.BackupTargetMaster:
	default:
		return fmt.Errorf("--target must be replica, prefer-replica or master, not %q", opts.Target)
	}
	store, given, err := storeFromFlags(opts.Store)
	if err != nil {
		return err
	}
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := c.Get(ctx, key, rg); err != nil {
		return err
	}
	from := "the command line"
	if !given {
		if store, from, err = groupObjectStore(ctx, c, key); err != nil {
			return err
		}
	}
	name := opts.Name
	if name == "" {
		name = backupName(key.Name, now)
	}
	bk := &replnodev1alpha1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: key.Namespace},
		Spec:       replnodev1alpha1.BackupSpec{Group: key.Name, Target: target, ObjectStore: store},
	}
	if err := c.Create(ctx, bk); err != nil {
		return fmt.Errorf("creating Backup %s: %w", name, err)
	}
	fmt.Fprintf(out, "backup.replnode.io/%s created: group %s, target %s, bucket %s at %s (object store from %s)\n",
		name, key.Name, target, store.Bucket, store.Endpoint, from)
	fmt.Fprintf(out, "follow it with: kubectl get backup %s -n %s -w\n", name, key.Namespace)
	return nil
}
