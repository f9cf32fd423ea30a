package failover

import "time"

// ------ ROLES AND LINK STATES ------

// Role is the replication role a node reports in ROLE / INFO replication.
type Role string

const (
	// RoleUnknown means the node could not be asked (unreachable) or did not say.
	RoleUnknown Role = ""
	// RoleMaster is ROLE "master" / INFO "role:master".
	RoleMaster Role = "master"
	// RoleReplica is ROLE "slave" / INFO "role:slave".
	RoleReplica Role = "slave"
)

// LinkStatus is a replica's master_link_status.
type LinkStatus string

const (
	// LinkUnknown means the replica was not asked or is not a replica.
	LinkUnknown LinkStatus = ""
	// LinkUp is master_link_status:up.
	LinkUp LinkStatus = "up"
	// LinkDown is master_link_status:down.
	LinkDown LinkStatus = "down"
)

// PodPhase mirrors the Kubernetes pod phases the decisions care about, kept as
// a string so this package does not depend on k8s.io/api.
type PodPhase string

const (
	// PodMissing means no pod exists for the member.
	PodMissing PodPhase = ""
	// PodPending is a pod not yet running.
	PodPending PodPhase = "Pending"
	// PodRunning is a running pod.
	PodRunning PodPhase = "Running"
	// PodSucceeded is a pod whose containers exited zero.
	PodSucceeded PodPhase = "Succeeded"
	// PodFailed is a pod whose containers failed.
	PodFailed PodPhase = "Failed"
	// PodUnknown is a pod whose node stopped reporting.
	PodUnknown PodPhase = "Unknown"
)

// ------ OBSERVATIONS ------

// NoSecondOffset is the second_repl_offset a node reports when it has no
// previous replication history (INFO shows -1).
const NoSecondOffset int64 = -1

// Replication is one node's replication state as reported by INFO replication
// (and ROLE). Offsets are absolute replication offsets in bytes.
type Replication struct {
	// Role is role: from INFO replication.
	Role Role
	// ReplID is master_replid: the history the node's data currently follows.
	ReplID string
	// ReplID2 is master_replid2: the history it followed before the last switch
	// ("0000..." or empty when none).
	ReplID2 string
	// SecondReplOffset is second_repl_offset: the first offset NOT shared with
	// ReplID2's history (the node's offset + 1 at the switch), -1 when none.
	SecondReplOffset int64
	// Offset is master_repl_offset: how many bytes of history the node holds.
	// 0 does not mean it holds no data: a node that loaded a dump or an
	// AOF carrying no replication ID starts a fresh history at 0 with all
	// its data. Only Empty says a node holds nothing.
	Offset int64
	// Empty is true when the node listed its keyspace (INFO keyspace) and
	// it holds no key in any database; false when it holds some or did not
	// say.
	Empty bool
	// LinkStatus is master_link_status (replicas only).
	LinkStatus LinkStatus
	// MasterHost and MasterPort are the master a replica follows (replicas only).
	MasterHost string
	MasterPort int
	// SyncInProgress is master_sync_in_progress:1, a replica loading a full sync.
	SyncInProgress bool
	// Loading is loading:1 (INFO persistence): the node is still loading
	// its files at startup, so its replid, offset and keyspace are not yet
	// its data's (the position comes back at the end of the load).
	Loading bool
	// LinkDownSeconds is master_link_down_since_seconds: how long a replica's
	// link has been down by its own clock; -1 when unknown or never up.
	LinkDownSeconds int64
	// LastIOSeconds is master_last_io_seconds_ago: how long ago, by its own
	// clock, a replica last read anything from its master; -1 when it has
	// no master connection (or the field is absent).
	LastIOSeconds int64
	// BacklogActive, BacklogFirstByte and BacklogHistLen describe the node's
	// replication backlog: it can serve partial resyncs for offsets in
	// [BacklogFirstByte, BacklogFirstByte+BacklogHistLen].
	BacklogActive    bool
	BacklogFirstByte int64
	BacklogHistLen   int64
	// GoodReplicas is min_slaves_good_slaves (masters with
	// min-replicas-to-write set): how many replicas have acknowledged
	// within min-replicas-max-lag, i.e. whether writes are accepted. -1
	// when the node does not report it.
	GoodReplicas int64
	// NoContactMs is replnode's master_no_contact_ms: how long, in ms by
	// its own clock, the master a replica follows cannot have heard from
	// it (since its last read while linked; since the link went down, or
	// it was pointed at that master, otherwise — also for a link that
	// never came up). 0 when the node does not report it (redis-server),
	// which is harmless: a reported 0 could not vote either.
	NoContactMs int64
	// Guard is the min-replicas guard the node reports running with
	// (replnode's min_replicas_guard_* fields); zero when not reported.
	Guard NodeGuard
}

// NodeGuard is the min-replicas guard a node runs with, as it reports it.
type NodeGuard struct {
	// Reported is true when the node reported its guard (a replnode node).
	Reported bool
	// Ms is min_replicas_guard_ms:1: it counts a replica as good while it
	// caught up within MaxLag milliseconds, by acknowledged offset
	// (docs/failover.md, "The guard, and how long a vote must wait").
	Ms bool
	// ToWrite and MaxLag are the min-replicas-to-write and
	// min-replicas-max-lag the node runs with.
	ToWrite int
	MaxLag  time.Duration
}

// Member is everything the operator observed about one member of the group.
type Member struct {
	// Name is the pod name, <group>-<ordinal>.
	Name string
	// Ordinal is the member's stable ordinal; ties between candidates go to the lowest.
	Ordinal int
	// Host is the address other members give REPLICAOF to reach this one
	// (pod IP or DNS name); compared with replicas' master_host. May be "".
	Host string
	// Phase is the pod phase, PodMissing when there is no pod.
	Phase PodPhase
	// Ready is the pod's Ready condition.
	Ready bool
	// Deleted is true when the pod has a deletion timestamp.
	Deleted bool
	// Fenced is true when the operator already fenced this member (it must not
	// come back as master until it has rejoined as a replica).
	Fenced bool
	// FencedByHand is true for a member the user fenced
	// (replnode.io/fencedInstances): out of service, so it is never
	// promoted. It still counts in N like every replica; while it runs
	// and answers it reports its position and votes like any other, and a
	// plan points it at the new master like every voter (Reachable says
	// whether it answered; a stopped one gives neither).
	FencedByHand bool
	// ProcessDown is true when the kubelet reports the member's server
	// container not running (it exited and waits to be restarted): a fact
	// from the API, not a network observation.
	ProcessDown bool
	// Reachable is true when the operator got answers to ROLE and INFO this pass.
	Reachable bool
	// Guard is what this member's process reported of its guard
	// (Replication.Guard), this pass or, while it does not answer, the
	// last time it did (same pod, so same image and, until a CONFIG SET,
	// same settings).
	Guard NodeGuard
	// Repl is the replication state; meaningful only when Reachable.
	Repl Replication
}

// Settings are the group's failover settings (spec.failover).
type Settings struct {
	// Enabled allows automatic failover; when false a failed master is only reported.
	Enabled bool
	// MasterDownAfter is how long the operator must be unable to reach the
	// master before it may declare it failed.
	MasterDownAfter time.Duration
	// PauseTimeout bounds CLIENT PAUSE WRITE on a master being fenced or
	// switched over; the pause expires on its own if the operator dies.
	PauseTimeout time.Duration
	// SwitchoverTimeout bounds how long a switchover waits for the target to
	// catch up before aborting and unpausing the master.
	SwitchoverTimeout time.Duration
	// Replicas is N, the number of replicas the group is meant to run
	// (spec.replicas), whether or not their pods exist or answer: quorums
	// are counted against it, never against the members that happen to be
	// reachable. 0 means "count the non-master members observed".
	Replicas int
	// MinReplicasToWrite is w, the master's effective min-replicas-to-write:
	// a write is accepted (and a WAIT w can succeed) only with w replicas
	// acknowledging within MinReplicasMaxLag.
	MinReplicasToWrite int
	// MinReplicasMaxLag is L, the master's min-replicas-max-lag.
	MinReplicasMaxLag time.Duration
	// ReplPingPeriod is repl-ping-replica-period: how often an idle master
	// is heard by its replicas. 0 means Redis's default, 10s.
	ReplPingPeriod time.Duration
	// ReplTimeout is repl-timeout (0: Redis's default, 60s).
	ReplTimeout time.Duration
	// AcceptDataLoss is the group's replnode.io/accept-data-loss: "true"
	// annotation: the user allows a member whose history is not proven to
	// contain the others' to become the source of their data.
	AcceptDataLoss bool
}

// Status is the part of the group's status the decisions read.
type Status struct {
	// CurrentMaster is status.currentMaster: the member confirmed as master.
	CurrentMaster string
	// TargetMaster is status.targetMaster: the member being made master, set
	// before acting and equal to CurrentMaster once done.
	TargetMaster string
	// LastMasterReplID and LastMasterOffset are the master's replid and
	// offset the last time it was reachable; used as the reference history
	// when the master is gone ("" / 0 when never seen).
	LastMasterReplID string
	LastMasterOffset int64
	// History is status.replicationHistory: the group's recorded chain of
	// histories, oldest first (timeline.go); nil when none was recorded.
	History []HistoryLink
}

// Observation is one reconcile pass's view of the group.
type Observation struct {
	// Members are all members, master included, in any order.
	Members []Member
	// Status is the group's recorded status.
	Status Status
	// Settings are the failover settings.
	Settings Settings
	// Now is the injected current time.
	Now time.Time
	// MasterLastSeen is the last time the operator reached CurrentMaster. The
	// zero time means "not since the operator started"; the caller should
	// then set it to the time it first found the master unreachable.
	MasterLastSeen time.Time
	// ReportsAge is how long before Now the replicas' replication state
	// was read (the caller asks the master after them, and a look at a
	// silent master takes a while). It only moves when to look again
	// (Evidence.VotesDueIn counts from Now): a vote always comes from a
	// report as read, never from one aged by the clock.
	ReportsAge time.Duration
}

// member returns the member with the given name, or nil.
func (o *Observation) member(name string) *Member {
	if name == "" {
		return nil
	}
	for i := range o.Members {
		if o.Members[i].Name == name {
			return &o.Members[i]
		}
	}
	return nil
}

// podRunning reports whether the member's pod exists, is not being deleted
// and is in phase Running: the only state in which it can serve as master.
func (m *Member) podRunning() bool {
	return m != nil && m.Phase == PodRunning && !m.Deleted
}
