package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/backup"
)

// ------ RESTORE FROM A BACKUP (spec.bootstrap.fromBackup) ------
//
// The first master of a group with spec.bootstrap.fromBackup gets an init
// container that runs `manager restore-from` (cmd/manager, from the same
// image): it downloads the backup into the data volume and verifies its
// sha256 against the manifest before renaming it to the dump the node
// loads; it never writes over a dump already there (docs/backup.md). Its
// outcome, written to the termination log, becomes the group's Restored
// condition. Only the pod created while the group has never had a master
// gets it, and it is left out of the template hash, so no member is ever
// rolled for it.

// +kubebuilder:rbac:groups=replnode.io,resources=backups,verbs=get;list;watch

// restoreContainerName is the init container's name.
const restoreContainerName = "restore"

// restoreSource is where a restore reads from.
type restoreSource struct {
	Store       replnodev1alpha1.ObjectStoreSpec
	ManifestKey string
}

// errRestoreNotReady: the named Backup does not exist or is not Completed.
type errRestoreNotReady struct{ msg string }

func (e errRestoreNotReady) Error() string { return e.msg }

// resolveRestore returns the restore source of a group, nil without
// spec.bootstrap.fromBackup.
func (r *ReplicationGroupReconciler) resolveRestore(ctx context.Context, rg *replnodev1alpha1.ReplicationGroup) (*restoreSource, error) {
	if rg.Spec.Bootstrap == nil || rg.Spec.Bootstrap.FromBackup == nil {
		return nil, nil
	}
	fb := rg.Spec.Bootstrap.FromBackup
	if fb.BackupName == "" {
		if fb.ObjectStore == nil || fb.Path == "" {
			return nil, errRestoreNotReady{"spec.bootstrap.fromBackup needs backupName, or objectStore and path"}
		}
		return &restoreSource{Store: *fb.ObjectStore, ManifestKey: fb.Path}, nil
	}
	var bk replnodev1alpha1.Backup
	if err := r.Get(ctx, types.NamespacedName{Namespace: rg.Namespace, Name: fb.BackupName}, &bk); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errRestoreNotReady{fmt.Sprintf("Backup %q does not exist", fb.BackupName)}
		}
		return nil, err
	}
	if bk.Status.Phase != replnodev1alpha1.BackupPhaseCompleted || bk.Status.ManifestKey == "" {
		return nil, errRestoreNotReady{fmt.Sprintf("Backup %q is %s, not Completed", fb.BackupName, bk.Status.Phase)}
	}
	return &restoreSource{Store: bk.Spec.ObjectStore, ManifestKey: bk.Status.ManifestKey}, nil
}

// restoreInitContainer returns the init container restoring src into the
// data volume, with the server container's security context.
func restoreInitContainer(server corev1.Container, src *restoreSource) corev1.Container {
	secretEnv := func(name, secret, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
		}}}
	}
	c := src.Store.Credentials
	env := []corev1.EnvVar{
		secretEnv("RESTORE_ACCESS_KEY_ID", c.SecretName, c.AccessKeyIDKeyOrDefault()),
		secretEnv("RESTORE_SECRET_ACCESS_KEY", c.SecretName, c.SecretAccessKeyKeyOrDefault()),
	}
	if ca := src.Store.CASecret; ca != nil {
		key := ca.Key
		if key == "" {
			key = "ca.crt"
		}
		env = append(env, secretEnv("RESTORE_CA_PEM", ca.SecretName, key))
	}
	args := []string{"restore-from",
		"-endpoint", src.Store.Endpoint, "-bucket", src.Store.Bucket, "-manifest", src.ManifestKey,
		"-dir", dataDir, "-dbfilename", "dump.rdb"}
	if src.Store.Region != "" {
		args = append(args, "-region", src.Store.Region)
	}
	if src.Store.Insecure {
		args = append(args, "-insecure")
	}
	var mounts []corev1.VolumeMount
	for _, m := range server.VolumeMounts {
		if m.Name == "data" || m.Name == "tmp" {
			mounts = append(mounts, m)
		}
	}
	return corev1.Container{
		Name:                     restoreContainerName,
		Image:                    server.Image,
		ImagePullPolicy:          server.ImagePullPolicy,
		Command:                  []string{"manager"},
		Args:                     args,
		Env:                      env,
		VolumeMounts:             mounts,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext:          server.SecurityContext.DeepCopy(),
		Resources:                corev1.ResourceRequirements{},
	}
}

// restoredCondition reads the restore init container's outcome from the
// pod: nil while it has not finished. The message's first word is the
// reason `manager restore-from` reports (RestoredFromBackup, DataPresent,
// ChecksumMismatch, RestoreFailed). Pure.
func restoredCondition(pod *corev1.Pod) *metav1.Condition {
	if pod == nil {
		return nil
	}
	for _, st := range pod.Status.InitContainerStatuses {
		if st.Name != restoreContainerName {
			continue
		}
		term := st.State.Terminated
		if term == nil {
			term = st.LastTerminationState.Terminated
		}
		if term == nil {
			return nil
		}
		reason, msg, _ := strings.Cut(strings.TrimSpace(term.Message), ": ")
		switch reason {
		case backup.ReasonRestored, backup.ReasonDataPresent, backup.ReasonChecksumMismatch, backup.ReasonRestoreFailed:
		default:
			reason, msg = backup.ReasonRestoreFailed, strings.TrimSpace(term.Message)
		}
		status := metav1.ConditionTrue
		if term.ExitCode != 0 {
			status = metav1.ConditionFalse
		}
		if msg == "" {
			msg = fmt.Sprintf("the restore step exited with code %d", term.ExitCode)
		}
		return &metav1.Condition{Type: replnodev1alpha1.ConditionRestored, Status: status, Reason: reason, Message: msg}
	}
	return nil
}

// withoutRestoreContainer drops the restore init container from a pod spec
// (for the template hash: only the first master ever has it).
func withoutRestoreContainer(spec *corev1.PodSpec) {
	var keep []corev1.Container
	for _, c := range spec.InitContainers {
		if c.Name != restoreContainerName {
			keep = append(keep, c)
		}
	}
	spec.InitContainers = keep
}

// restoreNotReady reports, in the Restored condition, why the first master
// is not created yet; the pass goes on and the resync retries.
func (r *ReplicationGroupReconciler) restoreNotReady(ctx context.Context, p *pass, err error) error {
	var nr errRestoreNotReady
	if !errors.As(err, &nr) {
		return err
	}
	meta.SetStatusCondition(&p.rg.Status.Conditions, metav1.Condition{
		Type: replnodev1alpha1.ConditionRestored, Status: metav1.ConditionFalse, Reason: "BackupNotReady",
		Message: nr.msg + "; the first master is created once it is", ObservedGeneration: p.rg.Generation,
	})
	return nil
}

// observeRestore copies a restore init container's outcome into the
// group's Restored condition.
func observeRestore(p *pass) {
	for _, pod := range p.pods {
		if c := restoredCondition(pod); c != nil {
			c.ObservedGeneration = p.rg.Generation
			meta.SetStatusCondition(&p.rg.Status.Conditions, *c)
		}
	}
}
