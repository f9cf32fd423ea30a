package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ------ SPEC ------

// ReplicationGroupSpec is the desired state of a ReplicationGroup: one master
// and Replicas replicas of the replnode server, each a Pod (and PVC) named
// <group>-<ordinal>.
//
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicasToWrite) || self.minReplicasToWrite <= self.replicas",message="minReplicasToWrite cannot exceed replicas: the master would refuse every write"
// +kubebuilder:validation:XValidation:rule="has(self.tls) == has(oldSelf.tls)",message="spec.tls cannot be added to or removed from an existing group: members rolled one at a time would stop reaching the others (plain and TLS-only ports); create a new group"
// +kubebuilder:validation:XValidation:rule="!has(self.users) || size(self.users) == 0 || has(self.auth)",message="spec.users needs spec.auth: without a password the default user lets every client do everything, whatever the users' rules"
type ReplicationGroupSpec struct {
	// Replicas is the number of replicas besides the master (0 runs a lone
	// master), so the group runs replicas+1 pods. It is also the scale
	// subresource's spec.replicas: `kubectl scale rg/NAME --replicas=N` sets
	// it, with the same meaning. The disruption controller never reads the
	// scale (see PodDisruptionBudgetSpec), because its "expected pods" would
	// then be one short of the pods the group runs.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=15
	// +kubebuilder:default=2
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Image is the container image of the replnode server.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:default=replnode
	// +optional
	Image string `json:"image,omitempty"`

	// ImagePullPolicy is the pull policy of the server container.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +kubebuilder:default=IfNotPresent
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// Resources are the compute resources of the server container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Storage requests a PersistentVolumeClaim per member for the data
	// directory. When omitted the data lives in an emptyDir and is lost with
	// the pod.
	// +optional
	Storage *StorageSpec `json:"storage,omitempty"`

	// Auth names the Secret whose key holds the password, used as both
	// requirepass and masterauth. When omitted the group runs without a password.
	// +optional
	Auth *AuthSpec `json:"auth,omitempty"`

	// TLS turns on TLS for clients and for replication from a Secret in
	// cert-manager's layout. Members then listen with TLS only, and the
	// operator's own connections use it too. A renewed certificate is
	// loaded without restarting pods.
	// +optional
	TLS *TLSSpec `json:"tls,omitempty"`

	// Users are ACL users the operator keeps on every member, live (ACL
	// SETUSER; a user removed from the list is deleted with ACL DELUSER),
	// each with its rules and a password read from a Secret. They need
	// spec.auth, which protects the default user.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Users []UserSpec `json:"users,omitempty"`

	// Config holds redis.conf directives (name → value) written into every
	// member's configuration. Directives the operator owns are rejected.
	// +kubebuilder:validation:MaxProperties=128
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z][a-z0-9-]*$'))",message="config keys must be lower-case redis.conf directive names (letters, digits and dashes)"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k in ['replicaof', 'slaveof', 'port', 'bind', 'dir', 'dbfilename', 'requirepass', 'masterauth', 'masteruser', 'daemonize', 'pidfile', 'logfile', 'include', 'unixsocket', 'supervised', 'rename-command', 'replica-announce-ip', 'slave-announce-ip', 'replica-announce-port', 'slave-announce-port', 'min-replicas-to-write', 'min-slaves-to-write', 'min-replicas-max-lag', 'min-slaves-max-lag', 'metrics-port', 'metrics-bind']))",message="config must not set operator-owned directives (replicaof, slaveof, port, bind, dir, dbfilename, requirepass, masterauth, masteruser, daemonize, pidfile, logfile, include, unixsocket, supervised, rename-command, replica-announce-*, min-replicas-*, metrics-*): use the dedicated spec fields"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k in ['tls-port', 'tls-cert-file', 'tls-key-file', 'tls-key-file-pass', 'tls-client-cert-file', 'tls-client-key-file', 'tls-client-key-file-pass', 'tls-ca-cert-file', 'tls-ca-cert-dir', 'tls-auth-clients', 'tls-replication', 'tls-cluster']))",message="config must not set the TLS files, ports or switches (tls-port, tls-*-file, tls-ca-cert-dir, tls-auth-clients, tls-replication, tls-cluster): use spec.tls"
	// +optional
	Config map[string]ConfigValue `json:"config,omitempty"`

	// Affinity of the member pods. When omitted the operator prefers to place
	// members of the same group on different nodes.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// No omitempty: a client that reads and writes back the whole object
	// keeps an explicit empty list, and the API server drops the null that
	// an unset list is written as (a non-nullable field), so it stays unset.

	// TopologySpreadConstraints of the member pods. Unset (or null), the
	// operator spreads each group's members over nodes
	// (kubernetes.io/hostname) and zones (topology.kubernetes.io/zone), both
	// with maxSkew 1 and whenUnsatisfiable ScheduleAnyway: a member that
	// replaces a failed one always schedules, even when the spread cannot be
	// kept, and a cluster whose nodes carry no zone label still schedules.
	// A list replaces these defaults; an empty list ([]) turns them off. A
	// constraint without a labelSelector counts the group's own members.
	//
	// Setting or changing the list rolls the members (replicas first, the
	// master last, through a switchover). The defaults themselves are not
	// part of the template hash, so an operator upgrade that brings them
	// does not roll existing groups: members get them when next recreated.
	// See docs/operations.md, "Placement".
	// +optional
	// +listType=atomic
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`

	// Tolerations of the member pods.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// NodeSelector of the member pods.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// PriorityClassName of the member pods.
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// PodAnnotations are added to every member pod.
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`

	// PodLabels are added to every member pod. Keys under replnode.io/ belong
	// to the operator.
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('replnode.io/'))",message="podLabels must not use the operator's replnode.io/ prefix"
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// PodDisruptionBudget limits voluntary evictions of members.
	// +kubebuilder:default={}
	// +optional
	PodDisruptionBudget PodDisruptionBudgetSpec `json:"podDisruptionBudget,omitempty"`

	// Failover controls automatic failover of a failed master.
	// +kubebuilder:default={}
	// +optional
	Failover FailoverSpec `json:"failover,omitempty"`

	// Persistence chooses how each member keeps its dataset on its volume
	// across a restart: RDB snapshots, an append-only file, both or
	// neither. Unset is rdb, see PersistenceSpec.
	// +kubebuilder:default={}
	// +optional
	Persistence PersistenceSpec `json:"persistence,omitempty"`

	// MinReplicasToWrite is min-replicas-to-write on the master: it refuses
	// writes unless this many replicas are connected with a lag of at most
	// MinReplicasMaxLag seconds, so a master cut off from all its replicas
	// stops taking writes that a failover would discard. 0 disables the
	// check. Unset: 1 when the group has replicas, else 0.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinReplicasToWrite *int32 `json:"minReplicasToWrite,omitempty"`

	// MinReplicasMaxLag is min-replicas-max-lag, in seconds: the master
	// refuses writes once fewer than minReplicasToWrite replicas acknowledged
	// within it. A failover after a partition waits until the replicas have
	// heard nothing from the old master for this long plus a margin (see
	// docs/failover.md), so it bounds the failover time. Replicas acknowledge
	// every second.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	// +kubebuilder:default=2
	// +optional
	MinReplicasMaxLag int32 `json:"minReplicasMaxLag,omitempty"`

	// Metrics makes every member serve Prometheus metrics, with
	// redis_exporter's names (redis_up, redis_connected_clients, ...), on a
	// container port named "metrics" at /metrics, for a PodMonitor to scrape
	// (the replnode-group chart has one). No exporter sidecar: the node
	// serves them itself (replnode's metrics-port directive).
	// +kubebuilder:default={}
	// +optional
	Metrics MetricsSpec `json:"metrics,omitempty"`

	// Master requests a switchover: the named member (<group>-<ordinal>)
	// becomes master without losing acknowledged writes. It stays in effect:
	// after a failover moves the master away, the group switches back to it
	// once it is a healthy replica again; clear it to let failovers stand.
	// Empty leaves the choice to the operator.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?-[0-9]+$`
	// +optional
	Master string `json:"master,omitempty"`

	// Bootstrap says where a new group's data comes from; it is read only
	// while the group has never had a master (docs/backup.md).
	// +optional
	Bootstrap *BootstrapSpec `json:"bootstrap,omitempty"`
}

// MetricsSpec configures the members' Prometheus endpoint.
// +kubebuilder:validation:XValidation:rule="!has(self.port) || self.port != 6379",message="metrics.port must differ from the server port 6379"
type MetricsSpec struct {
	// Enabled serves /metrics on Port in every member. Changing it rolls
	// the members like any template change.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Port of the metrics endpoint (redis_exporter's 9121 by default).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:default=9121
	// +optional
	Port int32 `json:"port,omitempty"`
}

// DefaultMetricsPort is MetricsSpec.Port's default, redis_exporter's port.
const DefaultMetricsPort = 9121

// EffectiveMetricsPort is the metrics port members listen on.
func (s *ReplicationGroupSpec) EffectiveMetricsPort() int32 {
	if s.Metrics.Port == 0 {
		return DefaultMetricsPort
	}
	return s.Metrics.Port
}

// ConfigValue is the value of one redis.conf directive: a single line, since
// a line break would smuggle in a second directive.
// +kubebuilder:validation:MaxLength=4096
// +kubebuilder:validation:XValidation:rule="!self.contains('\\n') && !self.contains('\\r')",message="config values must be a single line"
type ConfigValue string

// StorageSpec describes the PersistentVolumeClaim of each member.
type StorageSpec struct {
	// Size is the requested capacity of each member's volume.
	// +kubebuilder:validation:XValidation:rule="quantity(self).isGreaterThan(quantity('0'))",message="storage.size must be greater than zero"
	Size resource.Quantity `json:"size"`

	// StorageClassName of the claims; empty uses the cluster default.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// AuthSpec names the Secret holding the group's password.
type AuthSpec struct {
	// SecretName is the Secret, in the group's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`

	// Key within the Secret's data holding the password.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:default=password
	// +optional
	Key string `json:"key,omitempty"`
}

// UserSpec is one ACL user of the group's members.
type UserSpec struct {
	// Name is the ACL user name (AUTH <name> <password>). default is
	// spec.auth's; replnode-operator and replnode-replication are the
	// operator's and the replicas' own users.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[^\s]+$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['default', 'replnode-operator', 'replnode-replication'])",message="default, replnode-operator and replnode-replication are reserved: default is spec.auth's user, the others the operator's and the replicas'"
	Name string `json:"name"`

	// Rules are the user's ACL rules in Redis's language, as after
	// `ACL SETUSER <name>`, separated by spaces: for example
	// "~app:* +@read -@dangerous" or "~* &* +@all". The operator applies
	// `reset on <rules> ><password>`, so the user is on unless the rules
	// say off, and the rules must not set passwords (>, <, #, !, nopass,
	// resetpass): the password is the Secret's. They are checked at
	// admission by the node's own ACL parser.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Rules string `json:"rules"`

	// PasswordSecretKeyRef is the key of a Secret, in the group's
	// namespace, holding the user's password. A changed password is
	// added on every member before the old one is removed.
	// +kubebuilder:validation:XValidation:rule="!has(self.optional) || !self.optional",message="a user's password Secret cannot be optional"
	PasswordSecretKeyRef corev1.SecretKeySelector `json:"passwordSecretKeyRef"`
}

// TLSSpec names the Secret holding the members' certificate.
type TLSSpec struct {
	// SecretName is a Secret in the group's namespace with the keys
	// cert-manager writes: tls.crt (the members' certificate, with its
	// chain), tls.key (its private key) and ca.crt (the CA that signed the
	// members' and the clients' certificates). Members present tls.crt both
	// as servers and as clients (replication, the operator), so it must
	// allow server and client authentication (cert-manager usages: server
	// auth, client auth). Host names are not checked, as in Redis.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`

	// ClientCertificates is tls-auth-clients: Required (yes), Optional
	// (checked when sent) or None (not asked for).
	// +kubebuilder:validation:Enum=Required;Optional;None
	// +kubebuilder:default=Required
	// +optional
	ClientCertificates string `json:"clientCertificates,omitempty"`
}

// TLSAuthClients returns tls-auth-clients for spec.tls.clientCertificates
// (Required, its default, is yes).
func (t *TLSSpec) TLSAuthClients() string {
	switch t.ClientCertificates {
	case "Optional":
		return "optional"
	case "None":
		return "no"
	}
	return "yes"
}

// PodDisruptionBudgetSpec describes the disruption budgets of the group.
//
// The operator writes two PodDisruptionBudgets, both with an integer
// minAvailable that it computes, never maxUnavailable or a percentage: for
// those the disruption controller counts the expected pods through the
// owner's scale subresource, whose spec.replicas (spec.replicas here) counts
// the replicas but not the master, one pod short, so it would allow one
// eviction too many. With an integer minAvailable the expected count is the
// number of pods the budget selects, which is always right.
//
//   - <name> selects the replicas (role=replica) with minAvailable =
//     replicas - maxUnavailable (a percentage is taken of all members,
//     rounded up), so a drain evicts at most maxUnavailable replicas at once.
//   - <name>-master selects the master (role=master) with minAvailable 1:
//     the master is never evicted while it is master. When a node is cordoned
//     (kubectl drain) with the master on it, the operator switches the master
//     over to an in-sync replica on a schedulable node (the ordinary, no-loss
//     switchover); the old master's pod then carries role=replica, falls under
//     the first budget, and the drain's retried eviction goes through. A lone
//     master (replicas 0) has nowhere to go: its budget is minAvailable 0 when
//     maxUnavailable allows one member down. See docs/drain.md.
//
// The two selectors never overlap, since the eviction API refuses a pod that
// more than one budget selects.
type PodDisruptionBudgetSpec struct {
	// Enabled creates the PodDisruptionBudgets (replicas and master).
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// MaxUnavailable is how many replicas may be evicted at once (a
	// percentage is of all members, rounded up). The master is never evicted
	// while it is master: a drain switches it over first.
	// +kubebuilder:default=1
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// FailoverSpec controls automatic failover.
type FailoverSpec struct {
	// Enabled allows the operator to promote a replica when the master fails.
	// When false a failed master is only reported.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// MasterDownAfter is how long the master must be unreachable before it is
	// declared failed (a lower bound: the replicas must also prove it cannot
	// accept writes, which takes minReplicasMaxLag plus a margin).
	// +kubebuilder:default="3s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="failover.masterDownAfter must be at least 1s"
	// +kubebuilder:validation:Format=duration
	// +optional
	MasterDownAfter *metav1.Duration `json:"masterDownAfter,omitempty"`

	// PauseTimeout bounds CLIENT PAUSE WRITE on a master being fenced or
	// switched over; the pause expires on its own if the operator dies.
	// +kubebuilder:default="5s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms')",message="failover.pauseTimeout must be at least 100ms"
	// +kubebuilder:validation:Format=duration
	// +optional
	PauseTimeout *metav1.Duration `json:"pauseTimeout,omitempty"`

	// SwitchoverTimeout bounds how long a switchover waits for its target to
	// catch up before it is aborted and the master unpaused.
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="failover.switchoverTimeout must be at least 1s"
	// +kubebuilder:validation:Format=duration
	// +optional
	SwitchoverTimeout *metav1.Duration `json:"switchoverTimeout,omitempty"`
}

// PersistenceMode is what a member writes to its volume.
// +kubebuilder:validation:Enum=none;rdb;aof;rdb+aof
type PersistenceMode string

// The persistence modes.
const (
	// PersistenceNone writes nothing: a restarted member comes back empty
	// and full-syncs from the master (a pure cache; a restart of every
	// member at once loses the dataset).
	PersistenceNone PersistenceMode = "none"
	// PersistenceRDB is Redis's default: RDB snapshots at the save points
	// (save 3600 1 300 100 60 10000). A member restarted alone resyncs from
	// the master; a restart of every member at once loses the writes
	// since the last snapshot.
	PersistenceRDB PersistenceMode = "rdb"
	// PersistenceAOF is the append-only file (appendonly yes, save ""):
	// every write is appended before it is acknowledged and synced as
	// appendfsync says, so after a restart of every member at once the
	// volumes hold the acknowledged writes (appendfsync always), or all but
	// about the last second of them (everysec). The operator does not yet
	// restore a master on its own after such a restart (docs/failover.md).
	PersistenceAOF PersistenceMode = "aof"
	// PersistenceRDBAndAOF is the append-only file plus the RDB save
	// points, for backups taken from dump.rdb.
	PersistenceRDBAndAOF PersistenceMode = "rdb+aof"
)

// PersistenceSpec is the members' persistence.
//
// The default is rdb, what a Redis user gets from redis-server without a
// configuration and what this operator always did: for a replicated cache
// on PVCs, the replicas already hold every acknowledged write (WAIT, and
// min-replicas-to-write on the master), so a single member restarting
// loses nothing and snapshots only bound what a restart of the whole group
// at once loses. Choose aof (with appendfsync always) when that bound must
// be zero too, at the cost of an fsync per write on every member. See
// docs/failover.md, "Persistence and WAIT".
type PersistenceSpec struct {
	// Mode is none, rdb (the default), aof or rdb+aof. Changing it rolls
	// the members one at a time; a member restarting with the append-only
	// file newly on starts empty, as redis-server does (dump.rdb is not
	// read), and resyncs from the master: safe with replicas, but a group
	// with replicas: 0 loses its data.
	// +kubebuilder:default=rdb
	// +optional
	Mode PersistenceMode `json:"mode,omitempty"`

	// AppendFsync is appendfsync for the aof modes: always (fsync before
	// every acknowledgement), everysec (at most about one second of
	// acknowledged writes lost when every member stops at once) or no (the
	// kernel decides). Ignored without an append-only file.
	// +kubebuilder:validation:Enum=always;everysec;no
	// +kubebuilder:default=everysec
	// +optional
	AppendFsync string `json:"appendfsync,omitempty"`
}

// EffectiveMode returns spec.persistence.mode, rdb when unset.
func (p PersistenceSpec) EffectiveMode() PersistenceMode {
	if p.Mode == "" {
		return PersistenceRDB
	}
	return p.Mode
}

// EffectiveAppendFsync returns spec.persistence.appendfsync, everysec when
// unset.
func (p PersistenceSpec) EffectiveAppendFsync() string {
	if p.AppendFsync == "" {
		return "everysec"
	}
	return p.AppendFsync
}

// DesiredReplicas returns spec.replicas, or its default 2 when unset (an
// object built in Go that never went through the API server's defaulting).
func (s *ReplicationGroupSpec) DesiredReplicas() int32 {
	if s.Replicas == nil {
		return 2
	}
	return *s.Replicas
}

// EffectiveMinReplicasToWrite returns spec.minReplicasToWrite, or when it is
// unset 1 for a group with replicas and 0 for a lone master.
func (s *ReplicationGroupSpec) EffectiveMinReplicasToWrite() int32 {
	if s.MinReplicasToWrite != nil {
		return *s.MinReplicasToWrite
	}
	if s.DesiredReplicas() >= 1 {
		return 1
	}
	return 0
}

// EffectiveMinReplicasMaxLag returns spec.minReplicasMaxLag in seconds, or
// its CRD default, 2, for an object stored before it had one.
func (s *ReplicationGroupSpec) EffectiveMinReplicasMaxLag() int32 {
	if s.MinReplicasMaxLag == 0 {
		return 2
	}
	return s.MinReplicasMaxLag
}

// FailoverEnabled returns spec.failover.enabled, true when unset.
func (s *ReplicationGroupSpec) FailoverEnabled() bool {
	return s.Failover.Enabled == nil || *s.Failover.Enabled
}

// PDBEnabled returns spec.podDisruptionBudget.enabled, true when unset.
func (s *ReplicationGroupSpec) PDBEnabled() bool {
	return s.PodDisruptionBudget.Enabled == nil || *s.PodDisruptionBudget.Enabled
}

// AnnotationFencedInstances fences members by hand, as CloudNativePG's
// cnpg.io/fencedInstances does: a JSON array of member names, e.g.
// '["cache-2"]' (`kubectl replnode fence cache cache-2` edits it). A fenced
// member keeps running and replicating with its data, but is out of service:
// its pod's role label becomes "fenced", so neither the master nor the
// replicas Service (nor a disruption budget) selects it; it is never made
// master (no switchover, drain or failover picks it); and the topology
// neither repoints nor rolls it. It still counts in spec.replicas for the
// failover quorums: while it runs and answers it reports its replication
// position and votes like any replica (the master counts its
// acknowledgements), and a failover or switchover points it at the new
// master with the other replicas; while it is stopped it gives no vote and
// no position, so a failover may wait for it (docs/failover.md). The master
// cannot be fenced: its entry is ignored (switch over first) and the
// MembersFenced condition says so.
const AnnotationFencedInstances = "replnode.io/fencedInstances"

// ------ STATUS ------

// Phase summarises the state of a group in one word.
// +kubebuilder:validation:Enum=Pending;Creating;Running;Scaling;Updating;FailingOver;Degraded;Failed
type Phase string

// The phases a group moves through.
const (
	PhasePending     Phase = "Pending"
	PhaseCreating    Phase = "Creating"
	PhaseRunning     Phase = "Running"
	PhaseScaling     Phase = "Scaling"
	PhaseUpdating    Phase = "Updating"
	PhaseFailingOver Phase = "FailingOver"
	PhaseDegraded    Phase = "Degraded"
	PhaseFailed      Phase = "Failed"
)

// Condition types set on a group.
const (
	// ConditionReady: every member runs, is ready and replicates from the master.
	ConditionReady = "Ready"
	// ConditionAvailable: the master answers and the master Service points at it.
	ConditionAvailable = "Available"
	// ConditionProgressing: the operator is creating, scaling, rolling or failing over.
	ConditionProgressing = "Progressing"
	// ConditionDegraded: some member is missing, unready or not replicating.
	ConditionDegraded = "Degraded"
	// ConditionReplicasInSync: every replica's link is up and its lag small.
	ConditionReplicasInSync = "ReplicasInSync"
	// ConditionSecretMissing: the auth Secret or its key is missing.
	ConditionSecretMissing = "SecretMissing"
	// ConditionTLSReady: spec.tls's Secret is usable and every member
	// serves its current certificate; False says which is not (the Secret
	// or a key missing, a certificate not loaded yet).
	ConditionTLSReady = "TLSReady"
	// ConditionUsersApplied: every member has spec.users as specified
	// (False while applying, when a password Secret is missing, or when a
	// member refuses a user).
	ConditionUsersApplied = "UsersApplied"
	// ConditionMemberFailing: some member's server keeps exiting (crash
	// loop); the message carries its last error from the container's
	// termination message.
	ConditionMemberFailing = "MemberFailing"
	// ConditionMembersFenced: some members are fenced by
	// AnnotationFencedInstances; the message lists them.
	ConditionMembersFenced = "MembersFenced"
	// ConditionFailoverSafe: the settings keep the failover's no-loss
	// argument (docs/failover.md); False lists what weakens it.
	ConditionFailoverSafe = "FailoverSafe"
)

// MemberStatus is what the operator last observed about one member.
type MemberStatus struct {
	// Name is the pod name, <group>-<ordinal>.
	Name string `json:"name"`
	// PodIP is the pod's IP address.
	// +optional
	PodIP string `json:"podIP,omitempty"`
	// Role is the replication role the node reported ("master", "replica"),
	// empty when it could not be asked.
	// +optional
	Role string `json:"role,omitempty"`
	// LinkStatus is a replica's master_link_status ("up", "down").
	// +optional
	LinkStatus string `json:"linkStatus,omitempty"`
	// Offset is the node's replication offset in bytes.
	// +optional
	Offset int64 `json:"offset,omitempty"`
	// LagBytes is how far behind the master's offset a replica is.
	// +optional
	LagBytes int64 `json:"lagBytes,omitempty"`
	// Ready is the pod's Ready condition.
	Ready bool `json:"ready"`
}

// FailoverRecord describes the last failover or switchover.
type FailoverRecord struct {
	// From is the master that was replaced.
	From string `json:"from"`
	// To is the member promoted in its place.
	To string `json:"to"`
	// Reason is why (UpperCamelCase).
	Reason string `json:"reason"`
	// DetectedAt is when the master was declared failed or the switchover began.
	// +optional
	DetectedAt *metav1.Time `json:"detectedAt,omitempty"`
	// FencedAt is when the old master was paused or its pod deleted.
	// +optional
	FencedAt *metav1.Time `json:"fencedAt,omitempty"`
	// PromotedAt is when the new master first answered ROLE master.
	// +optional
	PromotedAt *metav1.Time `json:"promotedAt,omitempty"`
	// EndpointSwitchedAt is when the master Service moved to the new master.
	// +optional
	EndpointSwitchedAt *metav1.Time `json:"endpointSwitchedAt,omitempty"`
	// DurationMs runs from detection to the endpoint switch.
	// +optional
	DurationMs int64 `json:"durationMs,omitempty"`
	// OffsetGapBytes is how far the old master was ahead of the promoted replica.
	// +optional
	OffsetGapBytes int64 `json:"offsetGapBytes,omitempty"`
	// FullResyncs counts members that needed a full resync afterwards.
	// +optional
	FullResyncs int32 `json:"fullResyncs,omitempty"`
}

// SwitchoverStatus is the persisted state of a manual switchover in progress.
type SwitchoverStatus struct {
	// Phase is where the switchover stands (WaitingForSync, Promoted); empty when idle.
	// +optional
	Phase string `json:"phase,omitempty"`
	// From is the master being replaced.
	// +optional
	From string `json:"from,omitempty"`
	// To is the member being promoted.
	// +optional
	To string `json:"to,omitempty"`
	// StartedAt is when the switchover began.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// PausedAt is when the master's writes were last paused.
	// +optional
	PausedAt *metav1.Time `json:"pausedAt,omitempty"`
	// RetryAfter holds off the next attempt after an abort.
	// +optional
	RetryAfter *metav1.Time `json:"retryAfter,omitempty"`
}

// AppliedUser is a spec.users entry as applied to every member.
type AppliedUser struct {
	// Name is the ACL user.
	Name string `json:"name"`
	// SecretName is the Secret its password was read from.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// SecretResourceVersion is the resourceVersion of that Secret when its
	// password was applied.
	// +optional
	SecretResourceVersion string `json:"secretResourceVersion,omitempty"`
	// RulesHash identifies the rules applied (SHA-256 of the user's rules
	// text, never of the password).
	// +optional
	RulesHash string `json:"rulesHash,omitempty"`
	// AppliedAt is when every member last had the user as specified.
	// +optional
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`
}

// ReplicationHistoryEntry is one replication history of the group's chain
// (status.replicationHistory).
type ReplicationHistoryEntry struct {
	// ReplID is the history's replication ID (master_replid).
	// +kubebuilder:validation:MaxLength=64
	ReplID string `json:"replID"`
	// EndOffset is the first offset of this history that the next entry
	// does not contain: the next history's second_repl_offset. Absent on
	// the last entry, which is still being written.
	// +optional
	EndOffset int64 `json:"endOffset,omitempty"`
	// Parent is the history this one moved on from (its master's
	// master_replid2 when the operator first saw it), and StartOffset the
	// first offset it does not share with Parent (second_repl_offset).
	// Each entry keeps its own fork, so a branch the group later
	// abandoned still places members left on it.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Parent string `json:"parent,omitempty"`
	// +optional
	StartOffset int64 `json:"startOffset,omitempty"`
	// PromotedMember is the member that was master when the operator first
	// saw this history; absent when it learnt the history only as a later
	// master's previous one.
	// +optional
	PromotedMember string `json:"promotedMember,omitempty"`
	// Epoch is status.failoverEpoch when the operator first saw it.
	// +optional
	Epoch int64 `json:"epoch,omitempty"`
}

// ReplicationGroupStatus is the observed state of a ReplicationGroup.
type ReplicationGroupStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase summarises the group's state.
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// CurrentMaster is the member confirmed (by ROLE) as master.
	// +optional
	CurrentMaster string `json:"currentMaster,omitempty"`
	// TargetMaster is the member being made master; set before acting and
	// equal to CurrentMaster once done.
	// +optional
	TargetMaster string `json:"targetMaster,omitempty"`
	// FailoverEpoch numbers the operator's master changes. It is raised and
	// stored (with a resourceVersion check, so of two operators with the
	// same copy only one succeeds) before a failover, switchover or
	// two-master repair touches any node, and sent to every member with
	// REPLNODE EPOCH: a member then refuses administrative commands from a
	// connection that announced an older epoch, fencing an operator that
	// lost its lease while paused.
	// +optional
	FailoverEpoch int64 `json:"failoverEpoch,omitempty"`
	// ReadyReplicas counts ready members besides the master. It is the
	// scale subresource's status.replicas.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// Selector is the label selector of the group's pods, in its string
	// form: the scale subresource's status.selector (for autoscalers and
	// kubectl).
	// +optional
	Selector string `json:"selector,omitempty"`
	// Replicas is "ready/desired" replicas, for kubectl get.
	// +optional
	Replicas string `json:"replicas,omitempty"`
	// Members are the observed members, ordered by ordinal.
	// +listType=map
	// +listMapKey=name
	// +optional
	Members []MemberStatus `json:"members,omitempty"`
	// MasterService is the Service that always points at the master.
	// +optional
	MasterService string `json:"masterService,omitempty"`
	// ReplicaService is the Service over the ready replicas.
	// +optional
	ReplicaService string `json:"replicaService,omitempty"`
	// FencedMembers were fenced during a failover and may come back only as
	// replicas of the current master.
	// +listType=set
	// +optional
	FencedMembers []string `json:"fencedMembers,omitempty"`
	// MasterReplID and MasterOffset are the master's replication ID and offset
	// the last time it answered; the reference history when it is gone.
	// +optional
	MasterReplID string `json:"masterReplID,omitempty"`
	// +optional
	MasterOffset int64 `json:"masterOffset,omitempty"`
	// MasterLastSeen is the last time the master answered.
	// +optional
	MasterLastSeen *metav1.Time `json:"masterLastSeen,omitempty"`
	// ReplicationHistory is the chain of replication histories the group's
	// masters ran, oldest first, the current one last, as the masters
	// reported them (their replid, replid2 and second_repl_offset). A node
	// remembers only one previous history; the chain lets the operator
	// place data further back, e.g. a master that restarted from a dump
	// taken two promotions ago, and resync it from the replicas instead of
	// waiting. At most 128 entries: older ones are dropped.
	// +kubebuilder:validation:MaxItems=128
	// +listType=atomic
	// +optional
	ReplicationHistory []ReplicationHistoryEntry `json:"replicationHistory,omitempty"`
	// Switchover is the state of a manual switchover in progress.
	// +optional
	Switchover *SwitchoverStatus `json:"switchover,omitempty"`
	// ConfigHash identifies the generated configuration the members run.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`
	// AuthSecretResourceVersion is the resourceVersion of the auth Secret the
	// members were configured from; a change rolls the password out.
	// +optional
	AuthSecretResourceVersion string `json:"authSecretResourceVersion,omitempty"`
	// Users are the spec.users applied to every member: when, and from
	// which version of their password Secret. A user removed from the spec
	// stays listed until it is deleted from every member.
	// +listType=map
	// +listMapKey=name
	// +optional
	Users []AppliedUser `json:"users,omitempty"`
	// LastFailover describes the last failover or switchover.
	// +optional
	LastFailover *FailoverRecord `json:"lastFailover,omitempty"`
	// Conditions: Ready, Available, Progressing, Degraded, ReplicasInSync,
	// SecretMissing, TLSReady, UsersApplied, MasterAvailable, SwitchoverReady.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ------ KIND ------

// ReplicationGroup runs one replnode master and N replicas, keeps them
// replicating, and fails over to the most advanced replica when the master dies.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.readyReplicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=rg,categories=replnode
// +kubebuilder:printcolumn:name="Master",type=string,JSONPath=`.status.currentMaster`
// +kubebuilder:printcolumn:name="Replicas",type=string,JSONPath=`.status.replicas`,description="ready/desired replicas"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 50",message="metadata.name must be at most 50 characters so member and Service names stay valid"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.master) || size(self.spec.master) == 0 || (self.spec.master.startsWith(self.metadata.name + '-') && self.spec.master.substring(size(self.metadata.name) + 1).matches('^[0-9]+$'))",message="spec.master must name a member of this group: <name>-<ordinal>"
type ReplicationGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReplicationGroupSpec   `json:"spec,omitempty"`
	Status ReplicationGroupStatus `json:"status,omitempty"`
}

// ReplicationGroupList is a list of ReplicationGroups.
//
// +kubebuilder:object:root=true
type ReplicationGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReplicationGroup `json:"items"`
}
