package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ FENCING BY HAND (replnode.io/fencedInstances) ------
//
// What a fenced member is, is documented on AnnotationFencedInstances. Here
// the annotation is read and applied to this pass's observation; the
// decisions (role labels, repointing, rolling, switchover targets) read
// observedMember.Fenced, and the failover policy reads
// failover.Member.FencedByHand: it never promotes such a member, but one
// that runs and answers still reports its position and votes (it keeps
// replicating, so the master counts its acknowledgements and WAIT may have
// been answered by it), and a stopped one gives neither while it still
// counts in N (docs/failover.md, "Members fenced by hand").

// roleFenced is the role label of a fenced member: neither the master nor
// the replicas Service, nor a disruption budget, selects it.
const roleFenced = "fenced"

// fencingRequest is the parsed annotation.
type fencingRequest struct {
	// Fenced are the members fenced this pass (the master excluded).
	Fenced map[string]bool
	// MasterRefused is set when the annotation names the current master.
	MasterRefused bool
	// Err is set when the annotation is not a JSON array of strings.
	Err error
}

// parseFencedInstances reads AnnotationFencedInstances for a group whose
// master is master. Pure.
func parseFencedInstances(annotations map[string]string, master string) fencingRequest {
	req := fencingRequest{Fenced: map[string]bool{}}
	raw, ok := annotations[replnodev1alpha1.AnnotationFencedInstances]
	if !ok || strings.TrimSpace(raw) == "" {
		return req
	}
	var names []string
	if err := json.Unmarshal([]byte(raw), &names); err != nil {
		req.Err = fmt.Errorf("%s must be a JSON array of member names, like [\"cache-2\"]: %v", replnodev1alpha1.AnnotationFencedInstances, err)
		return req
	}
	for _, n := range names {
		if n == master && master != "" {
			req.MasterRefused = true
			continue
		}
		req.Fenced[n] = true
	}
	return req
}

// fencedCondition renders the request as the MembersFenced condition. Pure.
func fencedCondition(req fencingRequest, master string) metav1.Condition {
	c := metav1.Condition{Type: replnodev1alpha1.ConditionMembersFenced, Status: metav1.ConditionFalse, Reason: "NoneFenced", Message: "no member is fenced"}
	if req.Err != nil {
		c.Reason, c.Message = "InvalidAnnotation", req.Err.Error()
		return c
	}
	var names []string
	for n := range req.Fenced {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	if len(names) > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, "Fenced"
		parts = append(parts, fmt.Sprintf("fenced by hand (out of service, never made master): %s", strings.Join(names, ", ")))
	}
	if req.MasterRefused {
		c.Reason = "MasterNotFenced"
		parts = append(parts, fmt.Sprintf("master %s is not fenced: switch over first (kubectl replnode switchover)", master))
	}
	if len(parts) > 0 {
		c.Message = strings.Join(parts, "; ")
	}
	return c
}

// observeFencing applies the annotation to this pass's observation and
// reports it in the MembersFenced condition.
func (r *ReplicationGroupReconciler) observeFencing(_ context.Context, p *pass) (ctrl.Result, error) {
	req := parseFencedInstances(p.rg.Annotations, p.rg.Status.CurrentMaster)
	p.fenced = req.Fenced
	for i := range p.views {
		if p.fenced[p.views[i].observed.Name] {
			p.views[i].observed.Fenced = true
			// Never promoted, but what a running one reports is evidence
			// like any replica's: hiding it stalled every failover of a
			// group that needs its vote (N = 2, w = 1) and left it on the
			// old master when the plan repointed the voters.
			p.views[i].failover.FencedByHand = true
		}
	}
	for i := range p.members {
		p.members[i].Fenced = p.fenced[p.members[i].Name]
	}
	c := fencedCondition(req, p.rg.Status.CurrentMaster)
	c.ObservedGeneration = p.rg.Generation
	meta.SetStatusCondition(&p.rg.Status.Conditions, c)
	return ctrl.Result{}, nil
}

// roleLabelFor returns the role label a member's pod should carry.
func roleLabelFor(name, master string, fenced bool) string {
	switch {
	case name == master:
		return roleMaster
	case fenced:
		return roleFenced
	}
	return roleReplica
}
