package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// TestOptionalSecret: an existing Secret is returned, a missing one is nil
// with no error (the callers report it in a condition), and any other read
// failure is an error naming the Secret's use.
func TestOptionalSecret(t *testing.T) {
	ctx := context.Background()
	present := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "there"}}
	r := &ReplicationGroupReconciler{Client: fake.NewClientBuilder().WithObjects(present).Build()}
	s, err := r.optionalSecret(ctx, "ns", "there", "auth")
	if err != nil || s == nil || s.Name != "there" {
		t.Fatalf("existing Secret: %v, %v", s, err)
	}
	s, err = r.optionalSecret(ctx, "ns", "absent", "auth")
	if err != nil || s != nil {
		t.Fatalf("missing Secret: %v, %v; want nil, nil", s, err)
	}

	boom := errors.New("boom")
	r.Client = fake.NewClientBuilder().WithObjects(present).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return boom
		},
	}).Build()
	s, err = r.optionalSecret(ctx, "ns", "there", "TLS")
	if !errors.Is(err, boom) || s != nil || !strings.Contains(err.Error(), `reading TLS Secret "there"`) {
		t.Fatalf("failed read: %v, %v", s, err)
	}
}

// TestAuthSecretProblemChangeIsAnEvent: each new reason the auth Secret
// cannot be used for is an event, not only the first (the condition is
// updated in place, so the previous one must be a copy).
func TestAuthSecretProblemChangeIsAnEvent(t *testing.T) {
	ctx := context.Background()
	rec := events.NewFakeRecorder(10)
	r := &ReplicationGroupReconciler{Client: fake.NewClientBuilder().Build(), Recorder: rec}
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "g"}}
	rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "pw", Key: "password"}
	if _, err := r.reconcileAuth(ctx, newPass(rg)); err != errStop {
		t.Fatalf("missing Secret: %v", err)
	}
	if err := r.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pw"}, Data: map[string][]byte{"other": []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.reconcileAuth(ctx, newPass(rg)); err != errStop {
		t.Fatalf("missing key: %v", err)
	}
	var got []string
	for len(rec.Events) > 0 {
		got = append(got, strings.Fields(<-rec.Events)[1])
	}
	if strings.Join(got, ",") != "SecretNotFound,SecretKeyMissing" {
		t.Fatalf("events %v, want SecretNotFound then SecretKeyMissing", got)
	}
}
