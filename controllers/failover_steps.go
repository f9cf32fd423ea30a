package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ FAILOVER AND SWITCHOVER ------

// Default failover durations for objects that never went through the API
// server's defaulting (the CRD carries the same defaults).
const (
	defaultMasterDownAfter   = 3 * time.Second
	defaultPauseTimeout      = 5 * time.Second
	defaultSwitchoverTimeout = 30 * time.Second
)

// failoverSettings converts the spec into the policy's settings: spec.failover,
// the group's size and write guard (min-replicas-to-write / max-lag), the
// replication timings the members run with, and the accept-data-loss
// annotation.
func failoverSettings(rg *replnodev1alpha1.ReplicationGroup) failover.Settings {
	d := func(v *metav1.Duration, def time.Duration) time.Duration {
		if v == nil || v.Duration <= 0 {
			return def
		}
		return v.Duration
	}
	ping, timeout := replTimings(rg)
	return failover.Settings{
		Enabled:            rg.Spec.FailoverEnabled(),
		MasterDownAfter:    d(rg.Spec.Failover.MasterDownAfter, defaultMasterDownAfter),
		PauseTimeout:       d(rg.Spec.Failover.PauseTimeout, defaultPauseTimeout),
		SwitchoverTimeout:  d(rg.Spec.Failover.SwitchoverTimeout, defaultSwitchoverTimeout),
		Replicas:           int(rg.Spec.DesiredReplicas()),
		MinReplicasToWrite: int(rg.Spec.EffectiveMinReplicasToWrite()),
		MinReplicasMaxLag:  time.Duration(rg.Spec.EffectiveMinReplicasMaxLag()) * time.Second,
		ReplPingPeriod:     ping,
		ReplTimeout:        timeout,
		AcceptDataLoss:     rg.Annotations[failover.AnnotationAcceptDataLoss] == "true",
	}
}

// switchoverState reads the persisted switchover state from status.
func switchoverState(s *replnodev1alpha1.SwitchoverStatus) failover.SwitchoverState {
	if s == nil {
		return failover.SwitchoverState{}
	}
	t := func(v *metav1.Time) time.Time {
		if v == nil {
			return time.Time{}
		}
		return v.Time
	}
	return failover.SwitchoverState{Phase: failover.SwitchoverPhase(s.Phase), From: s.From, To: s.To,
		StartedAt: t(s.StartedAt), PausedAt: t(s.PausedAt), RetryAfter: t(s.RetryAfter)}
}

// switchoverStatus converts a switchover state for status (nil when idle and
// no retry is pending).
func switchoverStatus(s failover.SwitchoverState) *replnodev1alpha1.SwitchoverStatus {
	if !s.Active() && s.RetryAfter.IsZero() {
		return nil
	}
	t := func(v time.Time) *metav1.Time {
		if v.IsZero() {
			return nil
		}
		mt := metav1.NewTime(v)
		return &mt
	}
	return &replnodev1alpha1.SwitchoverStatus{Phase: string(s.Phase), From: s.From, To: s.To,
		StartedAt: t(s.StartedAt), PausedAt: t(s.PausedAt), RetryAfter: t(s.RetryAfter)}
}

// observation builds the failover policy's view of the group.
func (r *ReplicationGroupReconciler) observation(p *pass) failover.Observation {
	obs := failover.Observation{
		Status: failover.Status{
			CurrentMaster: p.rg.Status.CurrentMaster, TargetMaster: p.rg.Status.TargetMaster,
			LastMasterReplID: p.rg.Status.MasterReplID, LastMasterOffset: p.rg.Status.MasterOffset,
		},
		Settings: failoverSettings(p.rg),
		Now:      r.now(),
	}
	if p.rg.Status.MasterLastSeen != nil {
		obs.MasterLastSeen = p.rg.Status.MasterLastSeen.Time
	}
	for _, v := range p.views {
		obs.Members = append(obs.Members, v.failover)
	}
	return obs
}

// reconcileFailover runs the failover policy once a master is recorded:
// a requested switchover (spec.master, or the drain of the master's node) or
// a failed master is handled by executing the plan's actions in order. A
// switchover under way that the operator started continues towards its own
// target.
func (r *ReplicationGroupReconciler) reconcileFailover(ctx context.Context, p *pass) (ctrl.Result, error) {
	if p.rg.Status.CurrentMaster == "" {
		return ctrl.Result{}, nil
	}
	// spec.master, or a switchover the operator started itself (to roll
	// the master, or to move it off a node being drained) until it ends:
	// see decideSwitchoverRequest.
	return r.runFailoverPass(ctx, p, r.switchoverRequestFor(p))
}

// switchoverChainBudget bounds how long one pass drives a switchover from
// step to step (runFailoverPass) before it hands the next step to a
// requeue: the master's writes are paused while it runs, and the worker
// serves no other group meanwhile.
const switchoverChainBudget = 2 * time.Second

// switchoverChainPoll is how long a pass waits before looking again at a
// target that has not caught up with the paused master: a target is
// usually a few milliseconds behind, and every look is a few INFOs.
const switchoverChainPoll = 10 * time.Millisecond

// switchoverChainWaitBudget bounds how long one pass polls a target that
// has not caught up; past it the pass ends and the next look is a requeue,
// so a slow target does not keep the worker from the other groups for the
// whole switchover timeout.
const switchoverChainWaitBudget = 250 * time.Millisecond

// runFailoverPass plans one failover pass with the given switchover request
// and executes it. A switchover whose step asks to be called again soon
// (failover.SwitchoverPollInterval) is driven on in the same pass: the
// members are observed again and the next step is planned from that fresh
// observation, until it completes, aborts or switchoverChainBudget is
// spent (a target that lags is polled for switchoverChainWaitBudget). Each
// step still sees only what the members report after the previous step's
// actions succeeded, exactly as across passes; only the requeue, the pass's other steps and the status writes between steps are
// gone (with the API server's latency on a loaded host they were most of
// a switchover's write pause, docs/benchmarks-failover.md). The state
// reached is stored once, by the pass's status write: a pass cut short
// before it leaves an earlier state in status, which StepSwitchover already
// resumes from (a target found master resumes as Promoted; an older
// PausedAt only makes the pause look shorter). The steps run under the
// failover epoch the pass took before its first node command, and its
// status write carries the pass's optimistic check (epoch.go).
func (r *ReplicationGroupReconciler) runFailoverPass(ctx context.Context, p *pass, requested string) (ctrl.Result, error) {
	var waitingSince time.Time
	for {
		res, plan, stepped, err := r.runFailoverPlan(ctx, p, requested)
		if err != nil && !errors.Is(err, errStop) {
			return res, err
		}
		if !stepped || !continueSwitchover(plan) || time.Since(p.started) >= switchoverChainBudget {
			return res, err
		}
		if plan.Step.Result == failover.SwitchoverWaiting {
			if waitingSince.IsZero() {
				waitingSince = time.Now()
			} else if time.Since(waitingSince) >= switchoverChainWaitBudget {
				return res, err
			}
			select {
			case <-ctx.Done():
				return res, err
			case <-time.After(switchoverChainPoll):
			}
		}
		if _, err := r.observeMembers(ctx, p); err != nil {
			return res, err
		}
	}
}

// continueSwitchover reports whether a planned pass is a switchover step
// whose next step depends only on the members' state (see
// failover.SwitchoverPollInterval).
func continueSwitchover(plan failover.Pass) bool {
	return plan.Step != nil && plan.Switchover.Active() &&
		plan.RequeueAfter > 0 && plan.RequeueAfter <= failover.SwitchoverPollInterval
}

// runFailoverPlan plans one failover step and executes it. stepped is true
// when every action ran and the plan's switchover state is in status.
func (r *ReplicationGroupReconciler) runFailoverPlan(ctx context.Context, p *pass, requested string) (res ctrl.Result, plan failover.Pass, stepped bool, err error) {
	obs := r.observation(p)
	plan = failover.PlanPass(obs, switchoverState(p.rg.Status.Switchover), requested)
	// A pass polling a lagging target logs its first look only.
	if len(plan.Actions) > 0 || (plan.Switchover.Active() && !p.failoverBusy) {
		logf.FromContext(ctx).Info("failover plan", "reason", plan.Condition.Reason, "switchover", string(plan.Switchover.Phase),
			"actions", len(plan.Actions), "requeueMs", plan.RequeueAfter.Milliseconds(), "passMs", msSince(p.started))
	}
	setPolicyCondition(p.rg, plan.Condition)
	if plan.SwitchoverCondition != nil {
		setPolicyCondition(p.rg, *plan.SwitchoverCondition)
	}
	res = ctrl.Result{RequeueAfter: plan.RequeueAfter}
	if len(plan.Actions) == 0 {
		p.rg.Status.Switchover = switchoverStatus(plan.Switchover)
		if plan.Switchover.Active() {
			p.failoverBusy = true
		}
		return res, plan, true, nil
	}
	p.failoverBusy = true
	if touchesNodes(plan.Actions) && !p.epochTaken {
		// Fence any other operator before touching a node (epoch.go).
		// Once per pass: the steps a pass chains run under the epoch it
		// took (members that learnt a newer one refuse them), and the
		// pass's status write carries its optimistic check.
		if err := r.beginFailoverEpoch(ctx, p); err != nil {
			return res, plan, false, err
		}
	}
	reason := plan.Condition.Reason
	if plan.Decision != nil && plan.Decision.Reason != "" {
		reason = plan.Decision.Reason
	}
	if plan.Decision != nil && plan.Decision.Kind == failover.KindFailover && plan.Decision.Detection.Reason != "" {
		// What happened to the master (MasterRestarted, MasterPodGone, ...)
		// says more in the record and the conditions than "FailingOver".
		reason = plan.Decision.Detection.Reason
	}
	p.progress(replnodev1alpha1.PhaseFailingOver, reason, plan.Condition.Message)
	completed, err := r.executeFailoverActions(ctx, p, plan.Actions, reason)
	if err != nil {
		return res, plan, false, err
	}
	if !completed {
		// A VerifyRole did not hold: keep the old switchover state and look again soon.
		return ctrl.Result{RequeueAfter: time.Second}, plan, false, errStop
	}
	p.rg.Status.Switchover = switchoverStatus(plan.Switchover)
	if !changesMembers(plan.Actions) && !plan.Switchover.Active() {
		// Only events and bookkeeping: the observation still holds.
		p.failoverBusy = false
		return res, plan, true, nil
	}
	if res.RequeueAfter == 0 {
		res.RequeueAfter = time.Second
	}
	// The members changed under us; the topology step works from the next observation.
	return res, plan, true, errStop
}

// changesMembers reports whether a plan touches a node, a pod or the master
// records, as opposed to only emitting events and fencing bookkeeping.
func changesMembers(actions []failover.Action) bool {
	for _, a := range actions {
		switch a.Kind {
		case failover.ActEvent, failover.ActClearFenced, failover.ActMarkFenced:
		default:
			return true
		}
	}
	return false
}

// setPolicyCondition records a condition the failover package produced.
func setPolicyCondition(rg *replnodev1alpha1.ReplicationGroup, c failover.Condition) {
	meta.SetStatusCondition(&rg.Status.Conditions, metav1.Condition{
		Type: c.Type, Status: metav1.ConditionStatus(c.Status), Reason: c.Reason, Message: c.Message,
		ObservedGeneration: rg.Generation,
	})
}

// executeFailoverActions performs actions in order. It returns false (and no
// error) when a VerifyRole does not hold, and an error when an action fails;
// either way the rest is skipped, and the next pass recomputes the plan.
func (r *ReplicationGroupReconciler) executeFailoverActions(ctx context.Context, p *pass, actions []failover.Action, reason string) (bool, error) {
	log := logf.FromContext(ctx)
	for _, a := range actions {
		began := time.Now()
		err := r.executeFailoverAction(ctx, p, a, reason)
		// The pass's age and each action's duration are what a write pause
		// of a switchover is made of (docs/benchmarks-failover.md).
		log.Info("failover action", "action", a.String(), "tookMs", msSince(began), "passMs", msSince(p.started))
		if err != nil {
			if errors.Is(err, errVerifyFailed) {
				return false, nil
			}
			if errors.Is(err, nodeclient.ErrStaleEpoch) {
				return false, r.staleEpoch(ctx, p, fmt.Errorf("failover action %s: %w", a, err))
			}
			return false, fmt.Errorf("failover action %s: %w", a, err)
		}
		if step, ok := failover.StepFor(a, r.now()); ok {
			r.announceStep(p, a, step)
			recordStep(p, step)
		}
	}
	return true, nil
}

// announceStep emits an event for a milestone of the master change under way
// (status.lastFailover, until its endpoint switch), the first time it is
// reached, so `kubectl describe rg` tells the story step by step; a resumed
// plan repeats actions but not events.
func (r *ReplicationGroupReconciler) announceStep(p *pass, a failover.Action, s failover.Step) {
	rec := p.rg.Status.LastFailover
	if rec == nil || rec.EndpointSwitchedAt != nil {
		return
	}
	switch {
	case s.Kind == failover.StepFenced && rec.FencedAt == nil && a.Member == rec.From:
		how := "its pod deleted"
		switch a.Kind {
		case failover.ActPauseWrites:
			how = fmt.Sprintf("writes paused (CLIENT PAUSE WRITE, %s)", a.Timeout)
		case failover.ActMarkFenced:
			how = "marked fenced: it comes back only as a replica"
		}
		r.event(p.rg, corev1.EventTypeNormal, "MasterFenced", fmt.Sprintf("old master %s fenced: %s", a.Member, how))
	case s.Kind == failover.StepPromoted && rec.PromotedAt == nil && s.Member == rec.To:
		r.event(p.rg, corev1.EventTypeNormal, "ReplicaPromoted", fmt.Sprintf("%s answers ROLE master", s.Member))
	case s.Kind == failover.StepEndpointSwitched && s.Member == rec.To:
		r.event(p.rg, corev1.EventTypeNormal, "MasterEndpointSwitched",
			fmt.Sprintf("role=master label moved to %s: Service %s now selects it", s.Member, masterServiceName(p.rg)))
	}
}

// errVerifyFailed means a VerifyRole found another role than expected.
var errVerifyFailed = errors.New("member did not report the expected role")

// executeFailoverAction performs one action.
func (r *ReplicationGroupReconciler) executeFailoverAction(ctx context.Context, p *pass, a failover.Action, reason string) error {
	switch a.Kind {
	case failover.ActSetTargetMaster:
		return r.setTargetMaster(ctx, p, a.Target, reason)
	case failover.ActClearTargetMaster:
		p.rg.Status.TargetMaster = p.rg.Status.CurrentMaster
		return nil
	case failover.ActPauseWrites, failover.ActUnpause, failover.ActPromote, failover.ActVerifyRole, failover.ActReplicaOf,
		failover.ActKillClients:
		return r.nodeAction(ctx, p, a)
	case failover.ActDeletePod:
		return r.deletePod(ctx, p, a.Member)
	case failover.ActMarkFenced:
		if !containsString(p.rg.Status.FencedMembers, a.Member) {
			p.rg.Status.FencedMembers = append(p.rg.Status.FencedMembers, a.Member)
		}
		if pod := p.pods[a.Member]; pod != nil && !pod.DeletionTimestamp.IsZero() {
			// An old master whose pod is terminating (deleted by someone
			// else) is no longer the master: the master Service stops
			// selecting it now, not once the new master is labelled
			// (review finding 5).
			return r.unlabelLeavingMaster(ctx, p, a.Member, a.Target)
		}
		return nil
	case failover.ActClearFenced:
		var kept []string
		for _, m := range p.rg.Status.FencedMembers {
			if m != a.Member {
				kept = append(kept, m)
			}
		}
		p.rg.Status.FencedMembers = kept
		return nil
	case failover.ActMoveMasterLabel:
		return r.moveMasterLabel(ctx, p, a.Target)
	case failover.ActSetCurrentMaster:
		p.rg.Status.CurrentMaster = a.Target
		p.rg.Status.TargetMaster = a.Target
		// The old master's history is no longer the reference: until a
		// pass sees the new master answer (observeMembers records its
		// replid), the policy learns the reference from the members. A
		// stale one would place members that moved on to the new history
		// at the fork point and let a behind member win (R1, R2).
		p.rg.Status.MasterReplID, p.rg.Status.MasterOffset = "", 0
		return nil
	case failover.ActEvent:
		eventType := corev1.EventTypeNormal
		if a.EventType == failover.EventWarning {
			eventType = corev1.EventTypeWarning
		}
		r.event(p.rg, eventType, a.Reason, a.Message)
		return nil
	}
	return fmt.Errorf("unknown action kind %q", a.Kind)
}

// masterEndpointWait bounds each wait of moveMasterLabel for the master
// Service's EndpointSlice to show a change.
const masterEndpointWait = time.Second

// masterEndpointPoll is how often moveMasterLabel reads the EndpointSlice.
const masterEndpointPoll = 10 * time.Millisecond

// moveMasterLabel labels target the master and every other pod a replica
// (or fenced); the master Service follows the label. kube-controller-
// manager's EndpointSlice controller syncs the Service once per pod change,
// and a sync that comes before its informer saw its own previous write is
// retried only after a second (defaultSyncBackOff). Pod changes in quick
// succession (a label patch after another, or after the old master's pod
// deletion) hit that almost every time on a loaded host: the slice lost
// the old master at once and listed the new one a second later, the
// largest part of a switchover's write pause (docs/benchmarks-failover.md).
// So the new master's label waits until the slice shows the other pods'
// changes (oldEndpointsOut). Every other pod is relabelled first, one being
// deleted too: a terminating old master labelled master would stay
// selected by the master Service, and kube-proxy sends traffic to a
// terminating endpoint that still serves when no ready one is left (review
// finding 5). The old master is a replica or contained by then, so nothing
// is written anywhere before the new label anyway.
func (r *ReplicationGroupReconciler) moveMasterLabel(ctx context.Context, p *pass, target string) error {
	targetIP := ""
	if pod := p.pods[target]; pod != nil {
		targetIP = pod.Status.PodIP
	}
	deleting := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(p.pods)) {
		if name == target {
			continue
		}
		if ip := p.pods[name].Status.PodIP; ip != "" && !p.pods[name].DeletionTimestamp.IsZero() {
			deleting[ip] = true
		}
		if err := r.setRoleLabel(ctx, p, name, roleLabelFor(name, target, p.fenced[name])); err != nil {
			return err
		}
	}
	r.waitMasterEndpoints(ctx, p, "old endpoints out", func(s []discoveryv1.EndpointSlice) bool {
		return oldEndpointsOut(s, targetIP, deleting)
	})
	return r.setRoleLabel(ctx, p, target, roleLabelFor(target, target, p.fenced[target]))
}

// waitMasterEndpoints waits, at most masterEndpointWait, until done holds
// for the master Service's EndpointSlices. It returns at once when the
// Service has no EndpointSlice (no controller maintains them, as under
// envtest) or they cannot be read: the waits only save time, the label
// move is correct without them.
func (r *ReplicationGroupReconciler) waitMasterEndpoints(ctx context.Context, p *pass, what string, done func([]discoveryv1.EndpointSlice) bool) {
	var reader client.Reader = r.Client
	if r.APIReader != nil {
		reader = r.APIReader
	}
	began := time.Now()
	for {
		var list discoveryv1.EndpointSliceList
		if err := reader.List(ctx, &list, client.InNamespace(p.rg.Namespace),
			client.MatchingLabels{discoveryv1.LabelServiceName: masterServiceName(p.rg)}); err != nil || len(list.Items) == 0 {
			return
		}
		ok := done(list.Items)
		if ok || time.Since(began) >= masterEndpointWait {
			logf.FromContext(ctx).Info("failover endpoint wait", "for", what, "done", ok, "waitedMs", msSince(began))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(masterEndpointPoll):
		}
	}
}

// oldEndpointsOut reports whether the slices show the changes made to the
// members other than the new master (targetIP): a pod being deleted
// (deleting) is listed terminating or not at all, and no other endpoint but
// the new master's is ready (a nil ready condition counts as ready, as the
// API says). Waiting for the terminating mark, not only for "not ready",
// matters: a killed master is not ready before its deletion, and the
// deletion's own sync must be seen before the next pod change.
func oldEndpointsOut(eps []discoveryv1.EndpointSlice, targetIP string, deleting map[string]bool) bool {
	for _, s := range eps {
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				switch {
				case a == targetIP:
				case deleting[a]:
					if e.Conditions.Terminating == nil || !*e.Conditions.Terminating {
						return false
					}
				case e.Conditions.Ready == nil || *e.Conditions.Ready:
					return false
				}
			}
		}
	}
	return true
}

// nodeAction sends the node command an action stands for. It is the one
// place a failover or switchover touches a node, so anything every such
// command needs (the failover epoch) belongs here.
func (r *ReplicationGroupReconciler) nodeAction(ctx context.Context, p *pass, a failover.Action) error {
	n, ok := p.nodeOf(a.Member)
	if !ok {
		if a.Kind == failover.ActVerifyRole {
			return errVerifyFailed
		}
		return fmt.Errorf("%s has no pod IP", a.Member)
	}
	ctx = epochContext(ctx, p.rg)
	switch a.Kind {
	case failover.ActPauseWrites:
		// The node starts the pause when the command arrives, after this
		// instant: the pause holds at least until sent+Timeout.
		sent := time.Now()
		if err := r.nodesFor(p).ClientPause(ctx, n, a.Timeout); err != nil {
			return err
		}
		if p.pausedUntil == nil {
			p.pausedUntil = map[string]time.Time{}
		}
		p.pausedUntil[a.Member] = sent.Add(a.Timeout)
		return nil
	case failover.ActUnpause:
		delete(p.pausedUntil, a.Member)
		return r.nodesFor(p).ClientUnpause(ctx, n)
	case failover.ActKillClients:
		return r.nodesFor(p).ClientKillNormal(ctx, n)
	case failover.ActPromote:
		return r.nodesFor(p).ReplicaOf(ctx, n, "", 0)
	case failover.ActReplicaOf:
		target := p.pods[a.Target]
		if target == nil || target.Status.PodIP == "" {
			return fmt.Errorf("target %s has no pod IP", a.Target)
		}
		if a.DiscardData {
			ctx = nodeclient.WithDataLossAccepted(ctx)
		} else if until, paused := p.pausedUntil[a.Member]; paused {
			targetNode, _ := p.nodeOf(a.Target)
			var cancel context.CancelFunc
			var err error
			ctx, cancel, err = r.handOverWithinPause(ctx, n, a, targetNode, until)
			defer cancel()
			if err != nil {
				return err
			}
		}
		return r.nodesFor(p).ReplicaOf(ctx, n, target.Status.PodIP, serverPort)
	case failover.ActVerifyRole:
		role, err := r.Nodes.Role(ctx, n)
		if err != nil || role.Role != string(a.Role) {
			return errVerifyFailed
		}
		if a.Role == failover.RoleMaster {
			p.promotedOffset = role.Offset
		}
		return nil
	}
	return nil
}

// ------ THE HAND-OVER HAPPENS WITHIN THE PAUSE ------
//
// A switchover hands over by pausing the old master again and making it a
// replica of the target, which the policy planned from an observation in
// which the target had caught up. The pass may stall between that
// observation and the REPLICAOF (a loaded API server, a GC, a paused
// process) past the end of the previous pause: the old master then took
// writes the target never saw, and REPLICAOF would discard them (review
// finding 3). So a REPLICAOF of a member this pass paused (and that may
// not lose data) is conditional on the member's position, checked while
// the fresh pause provably holds: the member's offset is read after the
// pause was sent and the target's position in the member's history after
// that, and the target must hold every byte (a paused master still sends
// replication PINGs; the target, read later, has those too). Client writes
// cannot land on the member between that read and the end of the pause,
// and the REPLICAOF is bounded so that it is sent at least
// handOverMargin before the pause can end (Go refuses a write past the
// connection's deadline, also after a pause of this process). Otherwise
// the action fails as a verification (errVerifyFailed): the switchover
// keeps its state and the next pass looks again.

// handOverMargin is the time left for the REPLICAOF's bytes to reach the
// old master before its pause can end.
const handOverMargin = time.Second

// errHandOverBehind means the target of a hand-over lacks some of the old
// master's bytes, or the pause that froze them is about to end.
var errHandOverBehind = fmt.Errorf("%w: hand-over not within the old master's pause", errVerifyFailed)

// handOverWithinPause checks a REPLICAOF of n (a.Member, paused until at
// least until) onto target and returns the context to send it with. It is
// a hand-over when the member answers as master and the target as a
// replica (not yet promoted): then the target must hold every byte of the
// member, and the context is bounded by the pause (see above). Anything
// else is not a hand-over (a failover demotes an old master after its
// replacement was promoted, and must demote it however late): ctx as is.
// The caller must call cancel.
func (r *ReplicationGroupReconciler) handOverWithinPause(ctx context.Context, n nodeclient.Node, a failover.Action, target nodeclient.Node, until time.Time) (context.Context, context.CancelFunc, error) {
	unbounded := func() {}
	fail := func(why string, args ...any) (context.Context, context.CancelFunc, error) {
		return ctx, unbounded, fmt.Errorf("%w: REPLICAOF %s %s: %s", errHandOverBehind, a.Member, a.Target, fmt.Sprintf(why, args...))
	}
	read := func(node nodeclient.Node) (failover.Replication, error) {
		text, err := r.Nodes.InfoReplication(ctx, node)
		if err != nil {
			return failover.Replication{}, err
		}
		return failover.ParseInfoReplication(text)
	}
	member, err := read(n)
	if err != nil {
		return fail("reading %s: %v", a.Member, err)
	}
	if member.Role != failover.RoleMaster {
		// Already a replica (a resumed hand-over): it takes no writes.
		return ctx, unbounded, nil
	}
	if target.Addr == "" {
		return fail("%s has no address", a.Target)
	}
	held, err := read(target)
	if err != nil {
		return fail("reading %s: %v", a.Target, err)
	}
	if held.Role != failover.RoleReplica {
		return ctx, unbounded, nil
	}
	if pos, ok := held.PositionIn(member.ReplID); !ok || pos < member.Offset {
		return fail("%s holds %d bytes of %s's %d (same history: %v)", a.Target, pos, a.Member, member.Offset, ok)
	}
	bounded, cancel := context.WithDeadline(ctx, until.Add(-handOverMargin))
	if bounded.Err() != nil {
		cancel()
		return fail("its pause may end within %s", handOverMargin)
	}
	return bounded, cancel, nil
}

// msSince is the time since t in milliseconds, for timing logs.
func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}

// ------ FAILOVER RECORD ------

// recordStep fills status.lastFailover with a milestone (first time wins).
func recordStep(p *pass, s failover.Step) {
	rec := p.rg.Status.LastFailover
	if rec == nil {
		return
	}
	at := metav1.NewTime(s.At)
	switch s.Kind {
	case failover.StepFenced:
		if rec.FencedAt == nil {
			rec.FencedAt = &at
		}
	case failover.StepPromoted:
		if rec.PromotedAt == nil && s.Member == rec.To {
			rec.PromotedAt = &at
			rec.OffsetGapBytes = max(0, p.rg.Status.MasterOffset-p.promotedOffset)
		}
	case failover.StepEndpointSwitched:
		if rec.EndpointSwitchedAt == nil && s.Member == rec.To {
			rec.EndpointSwitchedAt = &at
			if rec.DetectedAt != nil {
				rec.DurationMs = max(0, at.Sub(rec.DetectedAt.Time).Milliseconds())
			}
		}
	}
}
