package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ RECONCILER ------

// errStop is the sentinel a step returns to end the pass early without
// failing it: the status is still patched and the step's Result (usually a
// RequeueAfter) is honoured.
var errStop = errors.New("stop this pass and requeue")

// defaultResyncPeriod is how often a settled group is looked at again: node
// roles and offsets change without any Kubernetes event.
const defaultResyncPeriod = 2 * time.Second

// conflictRequeue is how soon a pass that lost a status write to a newer
// version of the group starts again.
const conflictRequeue = 200 * time.Millisecond

// notReadyPollPeriod is how often a group whose master is known but which is
// not Ready is looked at again.
const notReadyPollPeriod = 2 * time.Second

// ReplicationGroupReconciler reconciles ReplicationGroup objects.
type ReplicationGroupReconciler struct {
	client.Client
	Scheme *runtime.Scheme
	// Recorder emits events on the group (events.k8s.io/v1).
	Recorder events.EventRecorder
	// Nodes talks to the members' servers.
	Nodes nodeclient.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ResyncPeriod overrides defaultResyncPeriod when positive.
	ResyncPeriod time.Duration
	// APIReader reads the group past the cache (SetupWithManager sets the
	// manager's); nil reads through Client.
	APIReader client.Reader
	// Leader says whether this process still holds the leader lease
	// (leadership.go); nil when leader election is off (one operator).
	Leader Leadership

	// passwords remembers, per group, the last password the members were
	// known to accept, so a changed Secret can be rolled out with CONFIG SET
	// using the old one. It lives in memory only: secrets never go to status.
	passwords groupMemory[string]
	// tlsKnown remembers, per group, the last usable spec.tls Secret
	// (tls.go), in memory only.
	tlsKnown groupMemory[knownTLS]
	// masterUserSet remembers, per group, the server processes
	// (users.go: processKey) given masteruser; memory only, set again
	// after an operator restart.
	masterUserSet groupMemory[map[string]bool]
	// mu guards the maps below.
	mu sync.Mutex
	// guards remembers, per pod UID, the min-replicas guard its process
	// reported (failover.Member.Guard), so a master that stops answering
	// keeps its known guard. Memory only: after a restart the operator
	// knows it again once the pod answers, and until then uses the spec's
	// values with the whole-second threshold, which is safe for a master
	// running them.
	guards map[types.UID]failover.NodeGuard
	// silent marks pods whose node did not answer the last look
	// (observePod asks those with silentMemberTimeout).
	silent map[types.UID]bool
	// readFresh marks groups whose next pass must read the group past the
	// cache: this operator just wrote its status (or lost a write to a
	// newer version), and under load the cache can lag that write by
	// seconds, each pass from it failing its optimistic status write and
	// requeueing (a switchover's writes stay paused meanwhile).
	readFresh map[types.NamespacedName]time.Time
	// epochs is the newest status.failoverEpoch seen of each group, by
	// UID (mayAct).
	epochs map[types.UID]int64
}

// freshReadWindow is how long after its own status write a pass reads past
// the cache. Only that long: an operator paused past its lease should wake
// up reading its stale cache, so its optimistic write fails (epoch.go); a
// fresh copy read anyway (after a lost write) is stopped by the lease check
// (leadership.go).
const freshReadWindow = 2 * time.Second

// silentMemberTimeout bounds a look at a member that did not answer the
// previous one.
const silentMemberTimeout = 300 * time.Millisecond

// rememberSilent records whether a pod's node failed to answer this look.
func (r *ReplicationGroupReconciler) rememberSilent(uid types.UID, silent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.silent == nil {
		r.silent = map[types.UID]bool{}
	}
	if silent {
		r.silent[uid] = true
	} else {
		delete(r.silent, uid)
	}
}

// wasSilent reports whether a pod's node failed to answer the last look.
func (r *ReplicationGroupReconciler) wasSilent(uid types.UID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.silent[uid]
}

// markReadFresh makes the next pass of the group read it past the cache.
func (r *ReplicationGroupReconciler) markReadFresh(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.readFresh == nil {
		r.readFresh = map[types.NamespacedName]time.Time{}
	}
	r.readFresh[key] = time.Now()
}

// getGroup reads the group, past the cache when markReadFresh asked for it.
func (r *ReplicationGroupReconciler) getGroup(ctx context.Context, key types.NamespacedName, rg *replnodev1alpha1.ReplicationGroup) error {
	r.mu.Lock()
	marked, ok := r.readFresh[key]
	delete(r.readFresh, key)
	r.mu.Unlock()
	if ok && time.Since(marked) < freshReadWindow && r.APIReader != nil {
		return r.APIReader.Get(ctx, key, rg)
	}
	return r.Get(ctx, key, rg)
}

// rememberGuard records what a pod's process reported this pass and
// returns what is known of it (zero when never seen answering).
func (r *ReplicationGroupReconciler) rememberGuard(uid types.UID, answered bool, g failover.NodeGuard) failover.NodeGuard {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.guards == nil {
		r.guards = map[types.UID]failover.NodeGuard{}
	}
	if answered {
		r.guards[uid] = g
	}
	return r.guards[uid]
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=replnode.io,resources=replicationgroups,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=replnode.io,resources=replicationgroups/finalizers,verbs=update
// +kubebuilder:rbac:groups=replnode.io,resources=replicationgroups/status,verbs=get;update;patch

// Reconcile fetches the group and, unless it is being deleted (owner
// references let the garbage collector remove its objects), runs the steps of
// one pass in order, then patches the status once.
func (r *ReplicationGroupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if r.Leader != nil {
		if _, err := r.Leader.HeldFor(); err != nil {
			// Woken up past its lease: not even a read it could act on.
			logf.FromContext(ctx).Info("not acting: " + err.Error())
			return ctrl.Result{RequeueAfter: conflictRequeue}, nil
		}
	}
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := r.getGroup(ctx, req.NamespacedName, rg); err != nil {
		if apierrors.IsNotFound(err) {
			r.forgetPassword(req.NamespacedName)
			forgetGroupMetrics(req.NamespacedName)
			r.forgetTLS(req.NamespacedName)
			r.masterUserSet.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	r.seeEpoch(rg.UID, rg.Status.FailoverEpoch)
	if !rg.DeletionTimestamp.IsZero() {
		r.forgetEpoch(rg.UID)
		return ctrl.Result{}, nil
	}
	p := newPass(rg)
	res, err := r.runSteps(ctx, p)
	if errors.Is(err, errNotLeader) {
		// It may not be the leader any more: it writes nothing either
		// (controller-runtime ends the process once the elector notices).
		logf.FromContext(ctx).Info("not acting: " + err.Error())
		return ctrl.Result{RequeueAfter: conflictRequeue}, nil
	}
	if !errors.Is(err, errStatusConflict) {
		r.finishStatus(p)
		if perr := r.patchStatus(ctx, p); perr != nil && err == nil {
			err = perr
		}
		if !errors.Is(err, errStatusConflict) {
			observeGroupMetrics(p.original) // the status as last written
		}
	}
	if p.failoverBusy {
		logf.FromContext(ctx).Info("failover pass done", "passMs", msSince(p.started), "requeueMs", res.RequeueAfter.Milliseconds(),
			"conflict", errors.Is(err, errStatusConflict))
	}
	if errors.Is(err, errStatusConflict) {
		// Another writer (or our own write the cache has not seen yet) got
		// there first: nothing more was done; start over from a fresh read.
		logf.FromContext(ctx).V(1).Info("status changed since read; requeueing", "reason", err.Error())
		r.markReadFresh(req.NamespacedName)
		return ctrl.Result{RequeueAfter: conflictRequeue}, nil
	}
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		logf.FromContext(ctx).Error(err, "reconcile failed")
		return ctrl.Result{}, err
	}
	if res.RequeueAfter == 0 || res.RequeueAfter > r.resyncPeriod() {
		res.RequeueAfter = r.resyncPeriod()
	}
	// A group with a master that is not Ready is usually a moment from it
	// (a replica's first ACK, a sync finishing) and nothing in Kubernetes
	// changes when it gets there: look again soon.
	if rg.Status.CurrentMaster != "" && !meta.IsStatusConditionTrue(rg.Status.Conditions, replnodev1alpha1.ConditionReady) {
		res.RequeueAfter = min(res.RequeueAfter, notReadyPollPeriod)
	}
	return res, nil
}

// runSteps runs the steps of one pass, stopping at the first that returns an
// error or a requeue.
func (r *ReplicationGroupReconciler) runSteps(ctx context.Context, p *pass) (ctrl.Result, error) {
	steps := []func(context.Context, *pass) (ctrl.Result, error){
		r.reconcileAuth,
		r.reconcileTLS,
		r.reconcileConfigMap,
		r.reconcileServices,
		r.reconcilePDB,
		r.observeMembers,
		r.observeCordons,
		r.observeFencing,
		r.reportMemberFailures,
		r.reconcileUsers,
		r.reconcilePasswordRotation,
		r.reconcileFailover,
		r.reconcileTopology,
		r.reconcileTLSRotation,
	}
	var result ctrl.Result
	for _, step := range steps {
		res, err := step(ctx, p)
		if res.RequeueAfter > 0 && (result.RequeueAfter == 0 || res.RequeueAfter < result.RequeueAfter) {
			result.RequeueAfter = res.RequeueAfter
		}
		if err != nil {
			return result, err
		}
	}
	return result, nil
}

// now returns the reconciler's current time.
func (r *ReplicationGroupReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// resyncPeriod returns how often a settled group is looked at again.
func (r *ReplicationGroupReconciler) resyncPeriod() time.Duration {
	if r.ResyncPeriod > 0 {
		return r.ResyncPeriod
	}
	return defaultResyncPeriod
}

// event emits an event on the group; reason is UpperCamelCase.
func (r *ReplicationGroupReconciler) event(rg *replnodev1alpha1.ReplicationGroup, eventType, reason, message string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(rg, nil, eventType, reason, reason, "%s", message)
	}
}

// knownPassword returns the password the group's members last accepted.
func (r *ReplicationGroupReconciler) knownPassword(key types.NamespacedName) (string, bool) {
	return r.passwords.recall(key)
}

// rememberPassword records the password the group's members accept.
func (r *ReplicationGroupReconciler) rememberPassword(key types.NamespacedName, pw string) {
	r.passwords.remember(key, pw)
}

// forgetPassword drops a deleted group's password.
func (r *ReplicationGroupReconciler) forgetPassword(key types.NamespacedName) {
	r.passwords.forget(key)
}

// groupMemory is what the operator remembers per group in memory only
// (never in status), safe for concurrent passes. The zero value is empty.
type groupMemory[V any] struct {
	mu sync.Mutex
	m  map[types.NamespacedName]V
}

// recall returns what is remembered of the group.
func (g *groupMemory[V]) recall(key types.NamespacedName) (V, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.m[key]
	return v, ok
}

// remember records v for the group.
func (g *groupMemory[V]) remember(key types.NamespacedName, v V) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[types.NamespacedName]V{}
	}
	g.m[key] = v
}

// forget drops what is remembered of the group.
func (g *groupMemory[V]) forget(key types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.m, key)
}

// SetupWithManager registers the reconciler: it owns the objects it creates
// and watches Secrets named by spec.auth and spec.tls.
func (r *ReplicationGroupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&replnodev1alpha1.ReplicationGroup{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Pod{}).
		Owns(&corev1.PersistentVolumeClaim{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretToGroups)).
		Named("replicationgroup").
		Complete(r)
}

// ------ ONE PASS ------

// pass carries what the steps of one reconcile learn and decide.
type pass struct {
	rg *replnodev1alpha1.ReplicationGroup
	// original is the object as fetched, the base of the status merge patch.
	original *replnodev1alpha1.ReplicationGroup
	// password and secretVersion come from the auth Secret.
	password      string
	secretVersion string
	// tls is the spec.tls Secret's client configuration (tls.go);
	// tlsCurrent is false when it is a remembered one because the Secret
	// cannot be used now.
	tls        tlsResult
	tlsCurrent bool
	// confHash and templateHash describe what members should run.
	confHash     string
	templateHash string
	// pods are the group's pods by name; members what was observed of them.
	pods    map[string]*corev1.Pod
	views   []memberView
	members []observedMember
	// promotedOffset is the offset a new master reported when verified.
	promotedOffset int64
	// progressing is set by steps that changed something this pass.
	progressing *progressNote
	// failoverBusy is true when the failover policy acted or waits this pass.
	failoverBusy bool
	// cordoned lists the members whose node is cordoned (disruption.go).
	cordoned map[string]bool
	// fenced lists the members fenced by hand (fencing.go).
	fenced map[string]bool
	// epochTaken is true once this pass raised and stored the failover
	// epoch (beginFailoverEpoch): it holds the group's latest version.
	epochTaken bool
	// pausedUntil is, for each member this pass paused (CLIENT PAUSE),
	// the earliest instant its pause may end (failover_steps.go).
	pausedUntil map[string]time.Time
	// started is when the pass began (wall clock), so the failover log
	// says how much of a write pause each pass spent before acting.
	started time.Time
}

// progressNote is a step's account of what it is doing.
type progressNote struct {
	Phase   replnodev1alpha1.Phase
	Reason  string
	Message string
}

// newPass starts a pass over rg.
func newPass(rg *replnodev1alpha1.ReplicationGroup) *pass {
	return &pass{rg: rg, original: rg.DeepCopy(), pods: map[string]*corev1.Pod{}, started: time.Now()}
}

// progress records the first thing the pass is busy with (it names the phase).
func (p *pass) progress(phase replnodev1alpha1.Phase, reason, message string) {
	if p.progressing == nil {
		p.progressing = &progressNote{Phase: phase, Reason: reason, Message: message}
	}
}

// key returns the group's namespaced name.
func (p *pass) key() types.NamespacedName {
	return types.NamespacedName{Namespace: p.rg.Namespace, Name: p.rg.Name}
}

// patchStatus writes the status with one merge patch against the fetched
// object, only if the object is still at the resourceVersion it was read at
// (a conflict is errStatusConflict: see epoch.go). An unchanged status is
// not written.
func (r *ReplicationGroupReconciler) patchStatus(ctx context.Context, p *pass) error {
	if equality.Semantic.DeepEqual(p.original.Status, p.rg.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, p.rg, client.MergeFromWithOptions(p.original, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		if apierrors.IsConflict(err) {
			return fmt.Errorf("patching status: %w: %w", errStatusConflict, err)
		}
		return fmt.Errorf("patching status: %w", err)
	}
	recordMasterChange(p.rg, p.original.Status.LastFailover, p.rg.Status.LastFailover)
	r.seeEpoch(p.rg.UID, p.rg.Status.FailoverEpoch)
	p.original = p.rg.DeepCopy()
	r.markReadFresh(client.ObjectKeyFromObject(p.rg))
	return nil
}
