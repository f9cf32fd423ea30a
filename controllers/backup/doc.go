// Package backup owns backups of a ReplicationGroup to S3-compatible object
// storage and their restore: the Backup and ScheduledBackup reconcilers, the
// snapshot stream, the upload, retention and the download a restoring pod
// runs before its node starts.
//
// Deciding is separate from acting. decide.go is pure, with injected time:
// which member to snapshot (ChooseSource), where objects go (Keys), when a
// schedule is due (NextRun) and which backups retention drops (Expired).
// The I/O is in three files: stream.go reads an RDB from a node as a
// pseudo-replica (PSYNC ? -1, the payload only, then closes), store.go moves
// objects with minio-go, restore.go downloads and verifies a backup into a
// data directory. The reconcilers (backup_controller.go,
// scheduled_controller.go) only read the cluster, call the decisions and
// apply them.
//
// The rules it keeps:
//   - The snapshot is streamed: node socket → sha256 and RDB decoder →
//     multipart PutObject with unknown size. There is no local copy.
//   - A backup is its manifest. The manifest object is written only after
//     the data object is complete and the stream decoded to its end with a
//     good CRC64; retention deletes the manifest first, then the data. An
//     object without a manifest is never restored.
//   - A restore verifies the sha256 and size of the whole object against the
//     manifest before the file is renamed to the dump name, and never writes
//     into a data directory that already holds a dump.
//
// It must not write to a node (the pseudo-replica only reads), hold a whole
// snapshot in memory or on disk, or log secret values. MinIO itself (AGPL)
// is only a test tool run from bin/minio, never imported.
package backup
