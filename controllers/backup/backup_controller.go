package backup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
)

// MaxAttempts is how many uploads a Backup tries before it is Failed.
const MaxAttempts = 3

// retryAfter is the wait before a Backup that could not start or failed an
// attempt is looked at again.
const retryAfter = 15 * time.Second

// TakeRequest is everything one snapshot-and-upload needs.
type TakeRequest struct {
	Addr   string
	Auth   NodeAuth
	Store  replv1.ObjectStoreSpec
	Creds  Credentials
	CAPEM  []byte
	Keys   Keys
	Source string
}

// Take streams a snapshot from the node to the object store (the I/O the
// Backup reconciler hands off; tests may replace it).
func Take(ctx context.Context, req TakeRequest, now func() time.Time) (*replv1.BackupManifest, error) {
	b, err := NewBucket(req.Store, req.Creds, req.CAPEM)
	if err != nil {
		return nil, err
	}
	snap, err := OpenSnapshot(ctx, req.Addr, req.Auth, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer snap.Body.Close()
	return b.Upload(ctx, snap, req.Keys, req.Source, now)
}

// BackupReconciler takes each Backup once: Pending until a source fits,
// Running while uploading (retried up to MaxAttempts), then Completed with
// the manifest or Failed.
type BackupReconciler struct {
	client.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// NodePort is the port the members serve on (6379 when 0).
	NodePort int
	// Take performs the upload (the package's Take when nil).
	Take func(ctx context.Context, req TakeRequest, now func() time.Time) (*replv1.BackupManifest, error)
}

func (r *BackupReconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// +kubebuilder:rbac:groups=replnode.io,resources=backups,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=replnode.io,resources=backups/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=replnode.io,resources=replicationgroups,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// SetupWithManager registers the reconciler.
func (r *BackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&replv1.Backup{}).Named("backup").Complete(r)
}

// Reconcile advances one Backup.
func (r *BackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var bk replv1.Backup
	if err := r.Get(ctx, req.NamespacedName, &bk); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if bk.Status.Phase == replv1.BackupPhaseCompleted || bk.Status.Phase == replv1.BackupPhaseFailed {
		return ctrl.Result{}, nil
	}
	waiting := func(reason, msg string) (ctrl.Result, error) {
		if bk.Status.Phase == "" {
			bk.Status.Phase = replv1.BackupPhasePending
		}
		r.setComplete(&bk, metav1.ConditionFalse, reason, msg)
		return ctrl.Result{RequeueAfter: retryAfter}, r.Status().Update(ctx, &bk)
	}
	var group replv1.ReplicationGroup
	if err := r.Get(ctx, types.NamespacedName{Namespace: bk.Namespace, Name: bk.Spec.Group}, &group); err != nil {
		if apierrors.IsNotFound(err) {
			return waiting("GroupNotFound", fmt.Sprintf("ReplicationGroup %q does not exist", bk.Spec.Group))
		}
		return ctrl.Result{}, err
	}
	source, err := ChooseSource(&group.Status, bk.Spec.Target)
	if err != nil {
		return waiting("NoSource", err.Error())
	}
	creds, ca, err := ReadStoreSecrets(ctx, r.Client, bk.Namespace, bk.Spec.ObjectStore)
	if err != nil {
		return waiting("CredentialsMissing", err.Error())
	}
	auth, err := r.nodeAuth(ctx, &group)
	if err != nil {
		return waiting("AuthSecretMissing", err.Error())
	}

	// Record the attempt before touching the store: a status written at
	// the read resourceVersion makes a second operator's attempt fail here.
	keys := KeysFor(bk.Spec.ObjectStore.Prefix, bk.Namespace, bk.Spec.Group, bk.Name)
	started := metav1.NewTime(r.now())
	bk.Status.Phase = replv1.BackupPhaseRunning
	bk.Status.Source = source.Name
	bk.Status.ObjectKey, bk.Status.ManifestKey = keys.Data, keys.Manifest
	bk.Status.StartedAt = &started
	bk.Status.Attempts++
	r.setComplete(&bk, metav1.ConditionFalse, "Uploading", fmt.Sprintf("streaming a snapshot of %s (attempt %d of %d)", source.Name, bk.Status.Attempts, MaxAttempts))
	if err := r.Status().Update(ctx, &bk); err != nil {
		return ctrl.Result{}, err
	}

	take := r.Take
	if take == nil {
		take = Take
	}
	port := r.NodePort
	if port == 0 {
		port = 6379
	}
	m, err := take(ctx, TakeRequest{
		Addr: net.JoinHostPort(source.PodIP, strconv.Itoa(port)), Auth: auth,
		Store: bk.Spec.ObjectStore, Creds: creds, CAPEM: ca, Keys: keys, Source: source.Name,
	}, r.now)
	if err != nil {
		log.FromContext(ctx).Info("backup attempt failed", "backup", req.NamespacedName, "attempt", bk.Status.Attempts, "error", err.Error())
		if bk.Status.Attempts >= MaxAttempts {
			bk.Status.Phase = replv1.BackupPhaseFailed
			r.setComplete(&bk, metav1.ConditionFalse, "UploadFailed", fmt.Sprintf("attempt %d of %d failed, giving up: %v", bk.Status.Attempts, MaxAttempts, err))
			return ctrl.Result{}, r.Status().Update(ctx, &bk)
		}
		r.setComplete(&bk, metav1.ConditionFalse, "UploadFailed", fmt.Sprintf("attempt %d of %d failed, retrying: %v", bk.Status.Attempts, MaxAttempts, err))
		return ctrl.Result{RequeueAfter: retryAfter}, r.Status().Update(ctx, &bk)
	}
	done := metav1.NewTime(r.now())
	bk.Status.Phase = replv1.BackupPhaseCompleted
	bk.Status.Manifest = m
	bk.Status.CompletedAt = &done
	r.setComplete(&bk, metav1.ConditionTrue, "Stored", fmt.Sprintf("%d keys, %d bytes from %s at offset %d", m.Keys, m.Size, m.Source, m.Offset))
	return ctrl.Result{}, r.Status().Update(ctx, &bk)
}

func (r *BackupReconciler) setComplete(bk *replv1.Backup, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&bk.Status.Conditions, metav1.Condition{
		Type: replv1.ConditionBackupComplete, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: bk.Generation, LastTransitionTime: metav1.NewTime(r.now()),
	})
}

// nodeAuth reads the group's password, when it has one.
func (r *BackupReconciler) nodeAuth(ctx context.Context, g *replv1.ReplicationGroup) (NodeAuth, error) {
	if g.Spec.Auth == nil {
		return NodeAuth{}, nil
	}
	key := g.Spec.Auth.Key
	if key == "" {
		key = "password"
	}
	v, err := secretValue(ctx, r.Client, g.Namespace, g.Spec.Auth.SecretName, key)
	if err != nil {
		return NodeAuth{}, err
	}
	return NodeAuth{Password: string(v)}, nil
}

// ReadStoreSecrets reads the access key pair and the optional CA of spec
// from Secrets in namespace.
func ReadStoreSecrets(ctx context.Context, c client.Reader, namespace string, spec replv1.ObjectStoreSpec) (Credentials, []byte, error) {
	id, err := secretValue(ctx, c, namespace, spec.Credentials.SecretName, spec.Credentials.AccessKeyIDKeyOrDefault())
	if err != nil {
		return Credentials{}, nil, err
	}
	key, err := secretValue(ctx, c, namespace, spec.Credentials.SecretName, spec.Credentials.SecretAccessKeyKeyOrDefault())
	if err != nil {
		return Credentials{}, nil, err
	}
	var ca []byte
	if spec.CASecret != nil {
		k := spec.CASecret.Key
		if k == "" {
			k = "ca.crt"
		}
		if ca, err = secretValue(ctx, c, namespace, spec.CASecret.SecretName, k); err != nil {
			return Credentials{}, nil, err
		}
	}
	return Credentials{AccessKeyID: string(id), SecretAccessKey: string(key)}, ca, nil
}

var errSecret = errors.New("secret")

func secretValue(ctx context.Context, c client.Reader, namespace, name, key string) ([]byte, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &s); err != nil {
		return nil, fmt.Errorf("%w %s/%s: %v", errSecret, namespace, name, err)
	}
	v, ok := s.Data[key]
	if !ok || len(v) == 0 {
		return nil, fmt.Errorf("%w %s/%s has no key %q", errSecret, namespace, name, key)
	}
	return v, nil
}
