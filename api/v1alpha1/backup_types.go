package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ------ OBJECT STORE ------

// ObjectStoreSpec says where backups live: an S3-compatible bucket. It is
// shared by Backup, ScheduledBackup and a group's spec.bootstrap.fromBackup.
type ObjectStoreSpec struct {
	// Bucket holds the backups; it must exist.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`

	// Prefix is prepended to every object key (no leading slash).
	// +kubebuilder:validation:Pattern=`^([^/].*)?$`
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// Endpoint is the S3 endpoint as host[:port] (no scheme), for example
	// s3.amazonaws.com or minio.storage.svc:9000.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^[^/:]+(:[0-9]+)?$`
	Endpoint string `json:"endpoint"`

	// Region of the bucket; empty lets the client discover it.
	// +optional
	Region string `json:"region,omitempty"`

	// Credentials names the Secret holding the access key pair.
	Credentials ObjectStoreCredentials `json:"credentials"`

	// Insecure talks plain HTTP instead of HTTPS.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// CASecret names a Secret key holding PEM CA certificates to trust for
	// the endpoint's TLS certificate, besides the system roots.
	// +optional
	CASecret *SecretKeyRef `json:"caSecret,omitempty"`
}

// ObjectStoreCredentials names the Secret (in the object's namespace) and
// the keys holding the S3 access key ID and secret access key.
type ObjectStoreCredentials struct {
	// SecretName is the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
	// AccessKeyIDKey is the key holding the access key ID.
	// +kubebuilder:default=accessKeyID
	// +optional
	AccessKeyIDKey string `json:"accessKeyIDKey,omitempty"`
	// SecretAccessKeyKey is the key holding the secret access key.
	// +kubebuilder:default=secretAccessKey
	// +optional
	SecretAccessKeyKey string `json:"secretAccessKeyKey,omitempty"`
}

// SecretKeyRef names one key of a Secret in the object's namespace.
type SecretKeyRef struct {
	// SecretName is the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
	// Key within the Secret's data.
	// +kubebuilder:default=ca.crt
	// +optional
	Key string `json:"key,omitempty"`
}

// AccessKeyIDKeyOrDefault returns the access key ID's key, accessKeyID when unset.
func (c ObjectStoreCredentials) AccessKeyIDKeyOrDefault() string {
	if c.AccessKeyIDKey == "" {
		return "accessKeyID"
	}
	return c.AccessKeyIDKey
}

// SecretAccessKeyKeyOrDefault returns the secret key's key, secretAccessKey when unset.
func (c ObjectStoreCredentials) SecretAccessKeyKeyOrDefault() string {
	if c.SecretAccessKeyKey == "" {
		return "secretAccessKey"
	}
	return c.SecretAccessKeyKey
}

// ------ BACKUP ------

// BackupTarget says which member a backup is taken from.
// +kubebuilder:validation:Enum=replica;prefer-replica;master
type BackupTarget string

// The backup targets.
const (
	// BackupTargetReplica: a linked, caught-up replica; fail if there is none.
	BackupTargetReplica BackupTarget = "replica"
	// BackupTargetPreferReplica: a linked, caught-up replica, else the master.
	BackupTargetPreferReplica BackupTarget = "prefer-replica"
	// BackupTargetMaster: the master.
	BackupTargetMaster BackupTarget = "master"
)

// BackupSpec is an on-demand backup of one ReplicationGroup.
type BackupSpec struct {
	// Group is the ReplicationGroup, in the Backup's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="group is immutable"
	Group string `json:"group"`

	// Target is the member to snapshot: replica (default; the master does no
	// extra work), prefer-replica (fall back to the master) or master.
	// +kubebuilder:default=replica
	// +optional
	Target BackupTarget `json:"target,omitempty"`

	// ObjectStore is where the snapshot and its manifest are written.
	ObjectStore ObjectStoreSpec `json:"objectStore"`
}

// BackupPhase summarises a backup in one word.
// +kubebuilder:validation:Enum=Pending;Running;Completed;Failed
type BackupPhase string

// The phases of a backup.
const (
	BackupPhasePending   BackupPhase = "Pending"
	BackupPhaseRunning   BackupPhase = "Running"
	BackupPhaseCompleted BackupPhase = "Completed"
	BackupPhaseFailed    BackupPhase = "Failed"
)

// Condition types of Backup, ScheduledBackup and a restored group.
const (
	// ConditionBackupComplete: the data and manifest objects are stored.
	ConditionBackupComplete = "Complete"
	// ConditionScheduled: the schedule parses and the next run is planned.
	ConditionScheduled = "Scheduled"
	// ConditionRestored (on a ReplicationGroup): where the group's data came
	// from; False with the reason when a restore was refused.
	ConditionRestored = "Restored"
)

// BackupManifest describes one stored snapshot. It is stored as JSON next
// to the data object, written after it: a data object without a manifest
// is not a backup.
type BackupManifest struct {
	// SHA256 is the hex digest of the data object.
	SHA256 string `json:"sha256"`
	// Size of the data object in bytes.
	Size int64 `json:"size"`
	// Keys in the snapshot, all databases.
	Keys int64 `json:"keys"`
	// ReplID and Offset are the source's replication ID and offset the
	// snapshot corresponds to.
	ReplID string `json:"replID"`
	Offset int64  `json:"offset"`
	// ServerVersion is the source's redis-ver.
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`
	// Source is the member the snapshot was streamed from.
	// +optional
	Source string `json:"source,omitempty"`
	// Time the snapshot was taken.
	Time metav1.Time `json:"time"`
	// DataKey is the data object's key in the bucket.
	DataKey string `json:"dataKey"`
}

// BackupStatus is the observed state of a Backup.
type BackupStatus struct {
	// Phase summarises the backup.
	// +optional
	Phase BackupPhase `json:"phase,omitempty"`
	// Source is the member snapshotted.
	// +optional
	Source string `json:"source,omitempty"`
	// ObjectKey is the data object's key; ManifestKey the manifest's.
	// +optional
	ObjectKey string `json:"objectKey,omitempty"`
	// +optional
	ManifestKey string `json:"manifestKey,omitempty"`
	// Manifest is a copy of the stored manifest, once Completed.
	// +optional
	Manifest *BackupManifest `json:"manifest,omitempty"`
	// StartedAt and CompletedAt bound the last attempt.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
	// Attempts counts upload attempts.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// Conditions: Complete.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Backup streams one snapshot of a ReplicationGroup to object storage.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=replnode
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.status.source`
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.status.manifest.size`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Backup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupSpec   `json:"spec,omitempty"`
	Status BackupStatus `json:"status,omitempty"`
}

// BackupList is a list of Backups.
//
// +kubebuilder:object:root=true
type BackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Backup `json:"items"`
}

// ------ SCHEDULED BACKUP ------

// RetentionSpec says which scheduled backups to keep; a backup is deleted
// (manifest first, then data, then the Backup object) once either limit
// drops it. Both empty keeps everything.
type RetentionSpec struct {
	// KeepLast keeps the newest N completed backups.
	// +kubebuilder:validation:Minimum=1
	// +optional
	KeepLast *int32 `json:"keepLast,omitempty"`
	// MaxAge deletes completed backups older than this.
	// +kubebuilder:validation:Format=duration
	// +optional
	MaxAge *metav1.Duration `json:"maxAge,omitempty"`
}

// ScheduledBackupSpec takes a Backup of a group on a cron schedule.
type ScheduledBackupSpec struct {
	// Schedule is a five-field cron expression (minute hour day month
	// weekday) or a descriptor such as @hourly, in UTC.
	// +kubebuilder:validation:MinLength=1
	Schedule string `json:"schedule"`
	// Suspend stops new backups; retention still applies.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// Group, Target and ObjectStore are copied into each Backup.
	// +kubebuilder:validation:MinLength=1
	Group string `json:"group"`
	// +kubebuilder:default=replica
	// +optional
	Target      BackupTarget    `json:"target,omitempty"`
	ObjectStore ObjectStoreSpec `json:"objectStore"`
	// Retention bounds the kept backups.
	// +optional
	Retention RetentionSpec `json:"retention,omitempty"`
}

// ScheduledBackupStatus is the observed state of a ScheduledBackup.
type ScheduledBackupStatus struct {
	// LastScheduleTime is the schedule time of the last Backup created.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// NextScheduleTime is when the next Backup is due.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// LastBackup is the name of the last Backup created.
	// +optional
	LastBackup string `json:"lastBackup,omitempty"`
	// Conditions: Scheduled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ScheduledBackup creates Backups of a group on a schedule and deletes
// those its retention drops.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=replnode
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Last",type=date,JSONPath=`.status.lastScheduleTime`
// +kubebuilder:printcolumn:name="Next",type=date,JSONPath=`.status.nextScheduleTime`
type ScheduledBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScheduledBackupSpec   `json:"spec,omitempty"`
	Status ScheduledBackupStatus `json:"status,omitempty"`
}

// ScheduledBackupList is a list of ScheduledBackups.
//
// +kubebuilder:object:root=true
type ScheduledBackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScheduledBackup `json:"items"`
}

// ------ BOOTSTRAP ------

// BootstrapSpec says where a new group's data comes from.
type BootstrapSpec struct {
	// FromBackup restores the first master from a stored backup.
	// +optional
	FromBackup *FromBackupSpec `json:"fromBackup,omitempty"`
}

// FromBackupSpec names a backup: a Backup object in the group's namespace,
// or a backup's path in a bucket.
// +kubebuilder:validation:XValidation:rule="has(self.backupName) != (has(self.objectStore) && has(self.path))",message="fromBackup needs either backupName or both objectStore and path"
type FromBackupSpec struct {
	// BackupName is a Completed Backup in the group's namespace.
	// +optional
	BackupName string `json:"backupName,omitempty"`
	// ObjectStore and Path name a backup directly: Path is the manifest's
	// key (…/manifest.json) in the bucket.
	// +optional
	ObjectStore *ObjectStoreSpec `json:"objectStore,omitempty"`
	// +optional
	Path string `json:"path,omitempty"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, &Backup{}, &BackupList{}, &ScheduledBackup{}, &ScheduledBackupList{})
		return nil
	})
}
