package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/replnode/replnode/controllers"
)

// inClusterNamespaceFile holds the namespace of a pod's service account.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// leaderLock builds the Lease lock controller-runtime would build for
// opts' leader election (same Lease, namespace defaulting, identity and
// client timeout), wrapped in a controllers.RenewalTracker so the
// reconciler can check, right before acting on a node, that this process
// renewed the lease within the renew deadline (controllers/leadership.go).
func leaderLock(cfg *rest.Config, id, namespace string) (*controllers.RenewalTracker, error) {
	if namespace == "" {
		b, err := os.ReadFile(inClusterNamespaceFile)
		if err != nil {
			return nil, fmt.Errorf("no -leader-election-namespace and not in a cluster (%w)", err)
		}
		namespace = strings.TrimSpace(string(b))
	}
	if namespace == "" {
		return nil, errors.New("leader election namespace is empty")
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	cfg = rest.AddUserAgent(cfg, "leader-election")
	// A single hung request must not cost the lease (as controller-runtime).
	cfg.Timeout = max(leaseRenewDeadline/2, time.Second)
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	coordination, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, namespace, id, core, coordination,
		resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
	if err != nil {
		return nil, err
	}
	return &controllers.RenewalTracker{Interface: lock, ValidFor: leaseRenewDeadline}, nil
}
