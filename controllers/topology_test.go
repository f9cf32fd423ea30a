package controllers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/replnode/replnode/controllers/failover"
)

// topoHist is the history every member of the tables follows unless a case says otherwise.
const topoHist = "17af7cfa9a3d3b6a9c8c1b0e4fb2e8c0d1a2b3c4"

// ------ TOPOLOGY DECISION TABLES ------

// up returns a running, ready, reachable member with the given role and offset.
func up(name string, ord int, role string, masterIP string, offset int64) observedMember {
	m := observedMember{Name: name, Ordinal: ord, PodExists: true, Ready: true, Reachable: true,
		PodIP: fmt.Sprintf("10.0.0.%d", ord+1), Role: role, Offset: offset, TemplateHash: "t",
		Repl: failover.Replication{Role: failover.Role(role), ReplID: topoHist, Offset: offset}}
	if role == "slave" {
		m.MasterHost = masterIP
		m.LinkUp = true
		m.RoleLabel = roleReplica
	} else {
		m.RoleLabel = roleMaster
	}
	return m
}

// render joins actions for comparison.
func render(acts []topologyAction) string {
	parts := make([]string, 0, len(acts))
	for _, a := range acts {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, "; ")
}

func TestDecideTopology(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("g-%d", i) }
	const mip = "10.0.0.1"
	cases := []struct {
		name string
		in   topologyInput
		want string
	}{
		{
			name: "empty group bootstraps ordinal 0 as master, target first",
			in:   topologyInput{DesiredReplicas: 2},
			want: "SetTargetMaster g-0; CreatePod g-0 master",
		},
		{
			// All pods were deleted: the master came back alone, as a
			// replica (of its own Service). Without its replicas'
			// positions the failover policy waits, so topology recreates
			// them pointed at it; they keep their data (-NOMASTERLINK).
			name: "restarted master alone: missing replicas recreated, then wait",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0",
				Members: []observedMember{up("g-0", 0, "slave", "10.96.0.10", 0)}},
			want: "SetRoleLabel g-0 master; CreatePod g-1 replica; CreatePod g-2 replica; Wait",
		},
		{
			name: "target master pod missing is created",
			in:   topologyInput{DesiredReplicas: 2, TargetMaster: "g-0"},
			want: "CreatePod g-0 master",
		},
		{
			name: "target master not answering yet: wait",
			in: topologyInput{DesiredReplicas: 2, TargetMaster: "g-0",
				Members: []observedMember{{Name: "g-0", PodExists: true}}},
			want: "Wait",
		},
		{
			name: "target master answers ROLE master: current master recorded only now",
			in: topologyInput{DesiredReplicas: 2, TargetMaster: "g-0",
				Members: []observedMember{up("g-0", 0, "master", "", 0)}},
			want: "SetCurrentMaster g-0; SetRoleLabel g-0 master",
		},
		{
			name: "target answering as replica is promoted",
			in: topologyInput{DesiredReplicas: 1, TargetMaster: "g-1",
				Members: []observedMember{up("g-1", 1, "slave", "10.9.9.9", 50)}},
			want: "Promote g-1",
		},
		{
			name: "no status but one member reports master: adopted",
			in: topologyInput{DesiredReplicas: 1,
				Members: []observedMember{up("g-0", 0, "slave", "10.0.0.2", 5), up("g-1", 1, "master", "", 5)}},
			want: "SetTargetMaster g-1; SetCurrentMaster g-1",
		},
		{
			name: "no status, no master: the most advanced member is chosen",
			in: topologyInput{DesiredReplicas: 1,
				Members: []observedMember{up("g-0", 0, "slave", "x", 5), up("g-1", 1, "slave", "x", 9)}},
			want: "SetTargetMaster g-1",
		},
		// Review finding 8: bootstrap chose by raw offset across histories
		// and ignored members that do not answer.
		{
			name: "no status: a member on another history is not wiped by the most advanced one",
			in: topologyInput{DesiredReplicas: 1,
				Members: []observedMember{up("g-0", 0, "slave", "x", 9),
					func() observedMember { m := up("g-1", 1, "slave", "x", 5); m.Repl.ReplID = "66760bd4"; return m }()}},
			want: "Wait g-1",
		},
		{
			name: "no status: a member that does not answer may hold more",
			in: topologyInput{DesiredReplicas: 1,
				Members: []observedMember{up("g-0", 0, "slave", "x", 9), {Name: "g-1", Ordinal: 1, PodExists: true}}},
			want: "Wait g-1",
		},
		{
			name: "no status, accept-data-loss: the most advanced is chosen anyway",
			in: topologyInput{DesiredReplicas: 1, AcceptDataLoss: true,
				Members: []observedMember{up("g-0", 0, "slave", "x", 9), {Name: "g-1", Ordinal: 1, PodExists: true}}},
			want: "SetTargetMaster g-0",
		},
		{
			name: "healthy group: nothing",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10), up("g-2", 2, "slave", mip, 10)}},
			want: "",
		},
		{
			name: "two members claim master: stop",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "master", "", 10)}},
			want: "Wait",
		},
		{
			name: "scale up fills the lowest free ordinals",
			in: topologyInput{DesiredReplicas: 3, CurrentMaster: "g-1", TargetMaster: "g-1", TemplateHash: "t",
				Members: []observedMember{up("g-1", 1, "master", "", 10), up("g-3", 3, "slave", "10.0.0.2", 10)}},
			want: "CreatePod g-0 replica; CreatePod g-2 replica",
		},
		{
			name: "replica pod being deleted: recreated at its own ordinal once gone, no new member meanwhile",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 10), up("g-1", 1, "slave", mip, 10),
					func() observedMember { m := up("g-2", 2, "slave", mip, 10); m.Deleting = true; return m }()}},
			want: "",
		},
		{
			name: "every pod being deleted, the master still answering: wait, create nothing",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{
					func() observedMember { m := up("g-0", 0, "master", "", 10); m.Deleting = true; return m }(),
					func() observedMember { m := up("g-1", 1, "slave", mip, 10); m.Deleting = true; return m }(),
					func() observedMember { m := up("g-2", 2, "slave", mip, 10); m.Deleting = true; return m }()}},
			want: "Wait",
		},
		{
			name: "scale down removes unreachable, then lowest offset, never the master",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{
					up("g-0", 0, "master", "", 1), up("g-1", 1, "slave", mip, 100), up("g-2", 2, "slave", mip, 50),
					func() observedMember { m := up("g-3", 3, "slave", mip, 0); m.Reachable = false; m.Role = ""; return m }(),
				}},
			want: "DeletePod g-3; DeletePod g-2",
		},
		{
			name: "scale down on equal offsets removes the highest ordinal",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 1), up("g-1", 1, "slave", mip, 7), up("g-2", 2, "slave", mip, 7)}},
			want: "DeletePod g-2",
		},
		{
			name: "replica following another host is repointed; wrong label fixed",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 1),
					func() observedMember { m := up("g-1", 1, "slave", "10.9.9.9", 1); m.RoleLabel = roleMaster; return m }()}},
			want: "SetRoleLabel g-1 replica; ReplicaOf g-1",
		},
		// Review finding 10: the topology repointed any replica, even one
		// ahead of the master, which then full-synced from it.
		{
			name: "replica ahead of the master on its history is not repointed",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 100),
					func() observedMember { m := up("g-1", 1, "slave", "10.9.9.9", 150); m.LinkUp = false; return m }()}},
			want: "Wait g-1",
		},
		// A replica pointed at the master whose node refuses the master's
		// full sync (replica-keep-newer-data: the master is behind it)
		// keeps its data; once the user accepts the loss it is pointed
		// again, which carries the grant (apply.go).
		{
			name: "replica refusing the master's full sync is left alone",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 100),
					func() observedMember { m := up("g-1", 1, "slave", mip, 150); m.LinkUp = false; return m }()}},
			want: "",
		},
		{
			name: "replica refusing the master's full sync is pointed again with accept-data-loss",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t", AcceptDataLoss: true,
				Members: []observedMember{up("g-0", 0, "master", "", 100),
					func() observedMember { m := up("g-1", 1, "slave", mip, 150); m.LinkUp = false; return m }()}},
			want: "ReplicaOf g-1",
		},
		{
			name: "replica behind the master, link down, is not pointed again even with accept-data-loss",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t", AcceptDataLoss: true,
				Members: []observedMember{up("g-0", 0, "master", "", 100),
					func() observedMember { m := up("g-1", 1, "slave", mip, 50); m.LinkUp = false; return m }()}},
			want: "",
		},
		{
			// It follows the master Service and was asked after the master,
			// under writes: its offset is ahead only by the time between.
			name: "replica streaming the master's history through another address is repointed",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 100), up("g-1", 1, "slave", "10.96.0.10", 150)}},
			want: "ReplicaOf g-1",
		},
		{
			name: "replica on an unrelated history is not repointed, unless fenced",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t", Fenced: []string{"g-2"},
				Members: []observedMember{up("g-0", 0, "master", "", 100),
					func() observedMember {
						m := up("g-1", 1, "slave", "10.9.9.9", 50)
						m.Repl.ReplID = "66760bd4"
						return m
					}(),
					func() observedMember {
						m := up("g-2", 2, "slave", "10.9.9.9", 50)
						m.Repl.ReplID = "66760bd4"
						return m
					}()}},
			want: "Wait g-1; ReplicaOf g-2",
		},
		{
			name: "replica that moved on from the master's former history, behind its switch: repointed",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{func() observedMember {
					m := up("g-0", 0, "master", "", 100)
					m.Repl.ReplID, m.Repl.ReplID2, m.Repl.SecondReplOffset = "66760bd4", topoHist, 81
					return m
				}(), up("g-1", 1, "slave", "10.9.9.9", 80)}},
			want: "ReplicaOf g-1",
		},
		{
			name: "master not answering: labels only, then wait for failover",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{func() observedMember { m := up("g-0", 0, "master", "", 1); m.Reachable = false; return m }(),
					up("g-1", 1, "slave", mip, 1)}},
			want: "Wait",
		},
		{
			name: "master pod gone with replicas left: failover decides",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-1", 1, "slave", mip, 1)}},
			want: "Wait",
		},
		{
			name: "lone master pod gone: recreated on its data",
			in:   topologyInput{DesiredReplicas: 0, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t"},
			want: "CreatePod g-0 master",
		},
		{
			name: "ended replica pod is deleted to be recreated",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "t",
				Members: []observedMember{up("g-0", 0, "master", "", 1),
					func() observedMember {
						m := up("g-1", 1, "slave", mip, 1)
						m.Failed = true
						m.Reachable = false
						return m
					}()}},
			want: "DeletePod g-1",
		},
		{
			name: "rolling update: one replica at a time, highest ordinal first",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "new",
				Members: []observedMember{up("g-0", 0, "master", "", 1), up("g-1", 1, "slave", mip, 1), up("g-2", 2, "slave", mip, 1)}},
			want: "DeletePod g-2",
		},
		{
			name: "rolling update waits while a member is not ready",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "new",
				Members: []observedMember{up("g-0", 0, "master", "", 1), up("g-1", 1, "slave", mip, 1),
					func() observedMember {
						m := up("g-2", 2, "slave", mip, 1)
						m.Ready = false
						m.TemplateHash = "new"
						return m
					}()}},
			want: "",
		},
		{
			name: "rolling update of the master goes through a switchover to the most advanced replica",
			in: topologyInput{DesiredReplicas: 2, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "new",
				Members: []observedMember{up("g-0", 0, "master", "", 9),
					func() observedMember { m := up("g-1", 1, "slave", mip, 8); m.TemplateHash = "new"; return m }(),
					func() observedMember { m := up("g-2", 2, "slave", mip, 9); m.TemplateHash = "new"; return m }()}},
			want: "Switchover g-2",
		},
		{
			name: "rolling update holds while failover is busy",
			in: topologyInput{DesiredReplicas: 1, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "new", FailoverBusy: true,
				Members: []observedMember{up("g-0", 0, "master", "", 1), up("g-1", 1, "slave", mip, 1)}},
			want: "",
		},
		{
			name: "lone outdated master is recreated",
			in: topologyInput{DesiredReplicas: 0, CurrentMaster: "g-0", TargetMaster: "g-0", TemplateHash: "new",
				Members: []observedMember{up("g-0", 0, "master", "", 1)}},
			want: "DeletePod g-0",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.MemberName = name
			if got := render(decideTopology(c.in)); got != c.want {
				t.Errorf("decideTopology:\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
}
