package controllers

import (
	"context"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// historyChain reads status.replicationHistory for the failover policy.
func historyChain(rg *replnodev1alpha1.ReplicationGroup) []failover.HistoryLink {
	var out []failover.HistoryLink
	for _, e := range rg.Status.ReplicationHistory {
		out = append(out, failover.HistoryLink{ReplID: e.ReplID, EndOffset: e.EndOffset, Parent: e.Parent, StartOffset: e.StartOffset, PromotedMember: e.PromotedMember, Epoch: e.Epoch})
	}
	return out
}

// recordMasterHistory extends status.replicationHistory with what member,
// answering as master, reports (failover.ExtendHistory). It only changes
// the pass's copy of the status: the chain is written with the rest of it
// (patchStatus, optimistic lock), so a promotion's link goes out with or
// before the promotion's currentMaster. A write lost to a crash leaves the
// chain short, which only leaves positions unplaced.
func recordMasterHistory(p *pass, member string, r failover.Replication) {
	chain := failover.ExtendHistory(historyChain(p.rg), r, member, p.rg.Status.FailoverEpoch)
	var out []replnodev1alpha1.ReplicationHistoryEntry
	for _, l := range chain {
		out = append(out, replnodev1alpha1.ReplicationHistoryEntry{ReplID: l.ReplID, EndOffset: l.EndOffset, Parent: l.Parent, StartOffset: l.StartOffset, PromotedMember: l.PromotedMember, Epoch: l.Epoch})
	}
	p.rg.Status.ReplicationHistory = out
}

// recordPromotedHistory asks a member just verified as master for its
// replication state and records its history. A failed INFO is not the
// promotion's failure: the next pass that reaches the master records it.
func (r *ReplicationGroupReconciler) recordPromotedHistory(ctx context.Context, p *pass, member string, n nodeclient.Node) {
	text, err := r.Nodes.InfoReplication(ctx, n)
	if err != nil {
		return
	}
	repl, err := failover.ParseInfoReplication(text)
	if err != nil {
		return
	}
	recordMasterHistory(p, member, repl)
}
