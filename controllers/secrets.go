package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ AUTH SECRET ------

// authResult is what the auth Secret yields: the password and the
// SecretMissing condition. The password is never logged or put in status.
type authResult struct {
	Password        string
	ResourceVersion string
	Condition       metav1.Condition
	// Usable is false when spec.auth is set but the password cannot be read.
	Usable bool
}

// evaluateAuth turns spec.auth and the Secret it names (nil when not found)
// into an authResult. Pure: the caller fetches the Secret.
func evaluateAuth(spec *replnodev1alpha1.AuthSpec, secret *corev1.Secret) authResult {
	cond := metav1.Condition{Type: replnodev1alpha1.ConditionSecretMissing, Status: metav1.ConditionFalse}
	if spec == nil {
		cond.Reason, cond.Message = "AuthDisabled", "spec.auth is not set; members run without a password"
		return authResult{Condition: cond, Usable: true}
	}
	key := spec.Key
	if key == "" {
		key = "password"
	}
	value, reason, message := secretKeyValue(secret, spec.SecretName, key, "spec.auth.secretName")
	if reason != "" {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, reason, message
		return authResult{Condition: cond}
	}
	cond.Reason, cond.Message = "SecretFound", fmt.Sprintf("password read from key %q of Secret %q", key, spec.SecretName)
	return authResult{Password: string(value), ResourceVersion: secret.ResourceVersion, Condition: cond, Usable: true}
}

// secretKeyValue returns the non-empty value of key in secret (nil when
// the Secret named name, which namedBy names, does not exist), or the
// reason it cannot (SecretNotFound, SecretKeyMissing, SecretKeyEmpty) and
// a message naming the Secret and key, never the value.
func secretKeyValue(secret *corev1.Secret, name, key, namedBy string) (value []byte, reason, message string) {
	if secret == nil {
		return nil, "SecretNotFound", fmt.Sprintf("Secret %q named by %s does not exist", name, namedBy)
	}
	value, ok := secret.Data[key]
	if !ok {
		return nil, "SecretKeyMissing", fmt.Sprintf("Secret %q has no key %q", name, key)
	}
	if len(value) == 0 {
		return nil, "SecretKeyEmpty", fmt.Sprintf("key %q of Secret %q is empty", key, name)
	}
	return value, "", ""
}

// optionalSecret reads the Secret name in namespace ns: nil when it does not
// exist (the callers report that in a condition), an error naming the
// Secret's use (what: "auth", "TLS") when it cannot be read.
func (r *ReplicationGroupReconciler) optionalSecret(ctx context.Context, ns, name, what string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, s)
	switch {
	case err == nil:
		return s, nil
	case apierrors.IsNotFound(err):
		return nil, nil
	}
	return nil, fmt.Errorf("reading %s Secret %q: %w", what, name, err)
}

// reconcileAuth reads the auth Secret and records the SecretMissing
// condition. Without a usable password no pod can start, so the pass stops
// here (the Secret watch brings the group back when the Secret appears).
func (r *ReplicationGroupReconciler) reconcileAuth(ctx context.Context, p *pass) (ctrl.Result, error) {
	var secret *corev1.Secret
	if auth := p.rg.Spec.Auth; auth != nil {
		var err error
		if secret, err = r.optionalSecret(ctx, p.rg.Namespace, auth.SecretName, "auth"); err != nil {
			return ctrl.Result{}, err
		}
	}
	res := evaluateAuth(p.rg.Spec.Auth, secret)
	res.Condition.ObservedGeneration = p.rg.Generation
	was := previousCondition(p.rg.Status.Conditions, replnodev1alpha1.ConditionSecretMissing)
	meta.SetStatusCondition(&p.rg.Status.Conditions, res.Condition)
	if !res.Usable {
		if was == nil || was.Status != metav1.ConditionTrue || was.Reason != res.Condition.Reason {
			r.event(p.rg, corev1.EventTypeWarning, res.Condition.Reason, res.Condition.Message)
		}
		p.progress(replnodev1alpha1.PhasePending, res.Condition.Reason, res.Condition.Message)
		return ctrl.Result{RequeueAfter: r.resyncPeriod()}, errStop
	}
	if p.rg.Status.AuthSecretResourceVersion != "" && res.ResourceVersion != "" && p.rg.Status.AuthSecretResourceVersion != res.ResourceVersion {
		r.event(p.rg, corev1.EventTypeNormal, "SecretChanged",
			fmt.Sprintf("auth Secret %q changed; applying the password to every member", p.rg.Spec.Auth.SecretName))
	}
	p.password = res.Password
	p.secretVersion = res.ResourceVersion
	return ctrl.Result{}, nil
}

// secretToGroups maps a Secret to the groups in its namespace that name it in
// spec.auth, spec.tls or spec.users, so creating or changing the Secret
// reconciles them.
func (r *ReplicationGroupReconciler) secretToGroups(ctx context.Context, obj client.Object) []reconcile.Request {
	var list replnodev1alpha1.ReplicationGroupList
	if err := r.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, rg := range list.Items {
		if (rg.Spec.Auth != nil && rg.Spec.Auth.SecretName == obj.GetName()) ||
			(rg.Spec.TLS != nil && rg.Spec.TLS.SecretName == obj.GetName()) ||
			namesUserSecret(&rg, obj.GetName()) {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rg.Namespace, Name: rg.Name}})
		}
	}
	return reqs
}
