package backup

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
)

// LabelScheduledBackup marks the Backups a ScheduledBackup created.
const LabelScheduledBackup = "replnode.io/scheduled-backup"

// ScheduledBackupReconciler creates a Backup each time the schedule fires
// (once for a run of missed times, like a CronJob that skips them) and
// applies retention to the Completed Backups it created: their objects
// are deleted (manifest first), then the Backup object.
type ScheduledBackupReconciler struct {
	client.Client
	// Now is the clock (time.Now when nil); tests inject one.
	Now func() time.Time
}

func (r *ScheduledBackupReconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// +kubebuilder:rbac:groups=replnode.io,resources=scheduledbackups,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=replnode.io,resources=scheduledbackups/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=replnode.io,resources=backups,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=replnode.io,resources=scheduledbackups/finalizers,verbs=update

// SetupWithManager registers the reconciler; it also wakes when one of its
// Backups changes (so retention runs as soon as one completes).
func (r *ScheduledBackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&replv1.ScheduledBackup{}).Owns(&replv1.Backup{}).
		Named("scheduledbackup").Complete(r)
}

// DueRun returns the latest schedule time in (last, now], if any, and the
// first one after now. Missed runs collapse into the latest. After a long
// gap it starts looking two days back when the schedule fires in that
// window, so a minutely schedule does not walk months of minutes.
func DueRun(schedule string, last, now time.Time) (due time.Time, ok bool, next time.Time, err error) {
	t := last
	if recent := now.Add(-48 * time.Hour); recent.After(last) {
		if n, err := NextRun(schedule, recent); err == nil && !n.After(now) {
			t = recent
		}
	}
	for {
		n, err := NextRun(schedule, t)
		if err != nil {
			return time.Time{}, false, time.Time{}, err
		}
		if n.IsZero() || n.After(now) {
			return due, ok, n, nil
		}
		due, ok, t = n, true, n
	}
}

// Reconcile creates a due Backup and applies retention.
func (r *ScheduledBackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var sb replv1.ScheduledBackup
	if err := r.Get(ctx, req.NamespacedName, &sb); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	now := r.now()
	last := sb.CreationTimestamp.Time
	if sb.Status.LastScheduleTime != nil {
		last = sb.Status.LastScheduleTime.Time
	}
	due, ok, next, err := DueRun(sb.Spec.Schedule, last, now)
	if err != nil {
		r.setScheduled(&sb, metav1.ConditionFalse, "InvalidSchedule", err.Error())
		return ctrl.Result{}, r.Status().Update(ctx, &sb)
	}
	if ok && !sb.Spec.Suspend {
		name := fmt.Sprintf("%s-%d", sb.Name, due.Unix())
		bk := &replv1.Backup{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: sb.Namespace, Labels: map[string]string{LabelScheduledBackup: sb.Name}},
			Spec:       replv1.BackupSpec{Group: sb.Spec.Group, Target: sb.Spec.Target, ObjectStore: sb.Spec.ObjectStore},
		}
		if err := controllerutil.SetControllerReference(&sb, bk, r.Scheme()); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.Create(ctx, bk); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, err
		}
		dueT := metav1.NewTime(due)
		sb.Status.LastScheduleTime = &dueT
		sb.Status.LastBackup = name
	}
	nextT := metav1.NewTime(next)
	sb.Status.NextScheduleTime = &nextT
	msg := "next backup at " + next.Format(time.RFC3339)
	if sb.Spec.Suspend {
		msg = "suspended"
	}
	r.setScheduled(&sb, metav1.ConditionTrue, "Scheduled", msg)
	if err := r.Status().Update(ctx, &sb); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.applyRetention(ctx, &sb, now); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: next.Sub(now)}, nil
}

// applyRetention deletes the Completed Backups of sb its retention drops.
func (r *ScheduledBackupReconciler) applyRetention(ctx context.Context, sb *replv1.ScheduledBackup, now time.Time) error {
	ret := sb.Spec.Retention
	if ret.KeepLast == nil && ret.MaxAge == nil {
		return nil
	}
	var list replv1.BackupList
	if err := r.List(ctx, &list, client.InNamespace(sb.Namespace), client.MatchingLabels{LabelScheduledBackup: sb.Name}); err != nil {
		return err
	}
	byName := map[string]*replv1.Backup{}
	var stored []Stored
	for i := range list.Items {
		b := &list.Items[i]
		if b.Status.Phase != replv1.BackupPhaseCompleted || b.Status.Manifest == nil {
			continue
		}
		byName[b.Name] = b
		stored = append(stored, Stored{Name: b.Name, Time: b.Status.Manifest.Time.Time})
	}
	var maxAge *time.Duration
	if ret.MaxAge != nil {
		maxAge = &ret.MaxAge.Duration
	}
	expired := Expired(stored, ret.KeepLast, maxAge, now)
	if len(expired) == 0 {
		return nil
	}
	creds, ca, err := ReadStoreSecrets(ctx, r.Client, sb.Namespace, sb.Spec.ObjectStore)
	if err != nil {
		return err
	}
	for _, name := range expired {
		b := byName[name]
		bucket, err := NewBucket(b.Spec.ObjectStore, creds, ca)
		if err != nil {
			return err
		}
		if err := bucket.Delete(ctx, Keys{Data: b.Status.ObjectKey, Manifest: b.Status.ManifestKey}); err != nil {
			return err
		}
		if err := r.Delete(ctx, b); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

func (r *ScheduledBackupReconciler) setScheduled(sb *replv1.ScheduledBackup, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&sb.Status.Conditions, metav1.Condition{
		Type: replv1.ConditionScheduled, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: sb.Generation, LastTransitionTime: metav1.NewTime(r.now()),
	})
}
