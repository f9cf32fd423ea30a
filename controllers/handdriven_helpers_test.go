package controllers

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ RECONCILERS DRIVEN BY HAND (envtest, fake nodes) ------
//
// Some specs (epoch_test.go, resume_envtest_test.go,
// switchover_chain_test.go) run reconcilers of their own, pass by pass,
// against one group. The suite's manager must stay out of that group: it
// skips groups being deleted, so the group is held by a finalizer and
// deleted, and the hand-driven reconcilers see it through a groupView that
// hides the deletion.

// groupView is a client whose Get of one group returns a snapshot (frozen)
// or the live object, in both cases without its deletion mark.
type groupView struct {
	client.Client
	key    types.NamespacedName
	frozen *replnodev1alpha1.ReplicationGroup
}

// Get implements client.Client.
func (c groupView) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	rg, ok := obj.(*replnodev1alpha1.ReplicationGroup)
	if !ok || key != c.key {
		return c.Client.Get(ctx, key, obj, opts...)
	}
	if c.frozen != nil {
		c.frozen.DeepCopyInto(rg)
	} else if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	rg.DeletionTimestamp, rg.Finalizers = nil, nil
	return nil
}

// keepSuiteManagerOut holds the group ns/name by a finalizer and deletes
// it, so the suite's manager leaves it alone, releases it when the spec
// ends, and returns once a pass of the manager that started before the
// deletion has finished (the group stays unchanged for a second).
func keepSuiteManagerOut(ns, name string) types.NamespacedName {
	key := types.NamespacedName{Namespace: ns, Name: name}
	rg := updateGroup(ns, name, func(rg *replnodev1alpha1.ReplicationGroup) {
		rg.Finalizers = append(rg.Finalizers, "test.replnode.io/hold")
	})
	Expect(k8sClient.Delete(suiteCtx, rg)).To(Succeed())
	DeferCleanup(func() {
		rg := &replnodev1alpha1.ReplicationGroup{}
		if err := k8sClient.Get(suiteCtx, key, rg); err == nil {
			rg.Finalizers = nil
			Expect(client.IgnoreNotFound(k8sClient.Update(suiteCtx, rg))).To(Succeed())
		}
	})
	Eventually(func() bool {
		before := getGroup(ns, name).ResourceVersion
		time.Sleep(time.Second)
		return getGroup(ns, name).ResourceVersion == before
	}, eventually, poll).Should(BeTrue())
	return key
}

// memberAddr is the fake kubelet's address of pod ns/name.
func memberAddr(ns, name string) string {
	GinkgoHelper()
	addr, err := kubelet.addrOf(suiteCtx, ns, name)
	Expect(err).NotTo(HaveOccurred())
	return addr
}
