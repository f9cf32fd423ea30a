package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/backup"
)

// setupBackupControllers registers the Backup and ScheduledBackup reconcilers.
func setupBackupControllers(mgr ctrl.Manager) error {
	if err := (&backup.BackupReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&backup.ScheduledBackupReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)
}

// restoreCommand is the subcommand a restoring member's init container
// runs (docs/backup.md): manager restore-from -bucket B -key K -dir D ...
const restoreCommand = "restore-from"

// Exit codes of restore-from. A refused restore exits non-zero so the pod
// never starts its node on unverified data; ExitDataPresent is a success
// (the volume's own data is kept).
const (
	exitRestored    = 0
	exitFailed      = 1
	exitUsage       = 2
	exitChecksum    = 3
	exitDataPresent = 0
)

// restoreFrom downloads and verifies a backup into a data directory. The
// S3 keys come from the environment (RESTORE_ACCESS_KEY_ID,
// RESTORE_SECRET_ACCESS_KEY, optional RESTORE_CA_PEM) so they never appear
// in the pod spec's arguments. Its last line, also written to
// -termination-log, is what the operator copies into the group's Restored
// condition.
func restoreFrom(args []string, out io.Writer) int {
	fs := flag.NewFlagSet(restoreCommand, flag.ContinueOnError)
	fs.SetOutput(out)
	var spec replv1.ObjectStoreSpec
	var key, dir, dbfilename, termLog string
	var timeout time.Duration
	fs.StringVar(&spec.Endpoint, "endpoint", "", "S3 endpoint host[:port]")
	fs.StringVar(&spec.Bucket, "bucket", "", "bucket")
	fs.StringVar(&spec.Region, "region", "", "region")
	fs.BoolVar(&spec.Insecure, "insecure", false, "plain HTTP")
	fs.StringVar(&key, "manifest", "", "the backup's manifest key")
	fs.StringVar(&dir, "dir", "/data", "the node's data directory")
	fs.StringVar(&dbfilename, "dbfilename", "dump.rdb", "the node's dump file name")
	fs.StringVar(&termLog, "termination-log", "/dev/termination-log", "file the outcome is written to for the operator")
	fs.DurationVar(&timeout, "timeout", time.Hour, "bound on the whole download")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if spec.Endpoint == "" || spec.Bucket == "" || key == "" {
		fmt.Fprintln(out, "restore-from: -endpoint, -bucket and -manifest are required")
		return exitUsage
	}
	report := func(code int, format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintln(out, msg)
		if termLog != "" {
			_ = os.WriteFile(termLog, []byte(msg), 0o644)
		}
		return code
	}
	ca := []byte(os.Getenv("RESTORE_CA_PEM"))
	creds := backup.Credentials{AccessKeyID: os.Getenv("RESTORE_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("RESTORE_SECRET_ACCESS_KEY")}
	b, err := backup.NewBucket(spec, creds, ca)
	if err != nil {
		return report(exitFailed, backup.ReasonRestoreFailed+": %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := b.Restore(ctx, key, dir, dbfilename)
	switch {
	case errors.Is(err, backup.ErrDataPresent):
		return report(exitDataPresent, backup.ReasonDataPresent+": the volume already holds data; it is kept and nothing was restored (%v)", err)
	case errors.Is(err, backup.ErrChecksumMismatch):
		return report(exitChecksum, backup.ReasonChecksumMismatch+": refused s3://%s/%s: %v", spec.Bucket, key, err)
	case err != nil:
		return report(exitFailed, backup.ReasonRestoreFailed+": s3://%s/%s: %v", spec.Bucket, key, err)
	}
	return report(exitRestored, backup.ReasonRestored+": s3://%s/%s (%d keys, %d bytes, sha256 %s, taken %s from %s)",
		spec.Bucket, key, m.Keys, m.Size, m.SHA256, m.Time.UTC().Format(time.RFC3339), m.Source)
}
