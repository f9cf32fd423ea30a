package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
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
