package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/failover"
)

// endpointController stands in for kube-controller-manager's EndpointSlice
// controller over a fake client: some time after each pod change it
// rewrites the master Service's slice from the pods labelled master (a pod
// being deleted is listed not ready). It records, for every role label the
// operator patched, what the slice held at that moment.
type endpointController struct {
	c     client.Client
	rg    *replnodev1alpha1.ReplicationGroup
	delay time.Duration

	mu      sync.Mutex
	patches []labelPatch
	pending sync.WaitGroup
}

// labelPatch is one role label patch and the slice when it was sent.
type labelPatch struct {
	pod, role string
	// ready, terminating and listed are the slice's ready, terminating
	// and listed addresses.
	ready, terminating, listed map[string]bool
}

func (e *endpointController) slice(ctx context.Context) (ready, terminating, listed map[string]bool) {
	ready, terminating, listed = map[string]bool{}, map[string]bool{}, map[string]bool{}
	var s discoveryv1.EndpointSlice
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: e.rg.Namespace, Name: masterServiceName(e.rg)}, &s); err != nil {
		return ready, terminating, listed
	}
	for _, ep := range s.Endpoints {
		for _, a := range ep.Addresses {
			listed[a] = true
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready[a] = true
			}
			if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating {
				terminating[a] = true
			}
		}
	}
	return ready, terminating, listed
}

// sync rewrites the slice from the pods as they are now.
func (e *endpointController) sync(ctx context.Context) {
	var pods corev1.PodList
	_ = e.c.List(ctx, &pods, client.InNamespace(e.rg.Namespace))
	var s discoveryv1.EndpointSlice
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: e.rg.Namespace, Name: masterServiceName(e.rg)}, &s); err != nil {
		return
	}
	s.Endpoints = nil
	for _, p := range pods.Items {
		if p.Labels[labelRole] != roleMaster {
			continue
		}
		deleting := !p.DeletionTimestamp.IsZero()
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(!deleting), Terminating: ptr.To(deleting)}})
	}
	_ = e.c.Update(ctx, &s)
}

// interceptor records each pod patch with the slice at that moment and
// schedules a sync after delay.
func (e *endpointController) funcs() interceptor.Funcs {
	return interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
		if pod, ok := obj.(*corev1.Pod); ok {
			ready, terminating, listed := e.slice(ctx)
			e.mu.Lock()
			e.patches = append(e.patches, labelPatch{pod: pod.Name, role: pod.Labels[labelRole], ready: ready, terminating: terminating, listed: listed})
			e.mu.Unlock()
		}
		if err := c.Patch(ctx, obj, patch, opts...); err != nil {
			return err
		}
		e.pending.Add(1)
		go func() {
			defer e.pending.Done()
			time.Sleep(e.delay)
			e.sync(context.Background())
		}()
		return nil
	}}
}

// TestMoveMasterLabelWaitsForTheEndpointSlice: each role label change waits
// until the master Service's EndpointSlice shows the previous pod change,
// so the EndpointSlice controller never syncs on a cache behind its own
// write (it then backs off a second, which was most of a switchover's write
// pause). The old master is relabelled first, also when its pod is being
// deleted (review finding 5: a terminating pod labelled master stays
// selected by the master Service); the new master only once no other
// endpoint is ready and a pod being deleted is listed terminating or not
// at all.
func TestMoveMasterLabelWaitsForTheEndpointSlice(t *testing.T) {
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "rg-uid"}}
	pod := func(name, ip, role string, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
			Labels: map[string]string{labelRole: role}}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}}
		if deleting {
			p.DeletionTimestamp = ptr.To(metav1.Now())
			p.Finalizers = []string{"test.replnode.io/hold"}
		}
		return p
	}
	cases := []struct {
		name string
		pods []*corev1.Pod
		// killed: the old master's endpoint is already not ready (its
		// process died) before its deletion is synced.
		killed bool
		// want is the order of the label patches.
		want []string
	}{
		{"switchover: the old master is a running replica",
			[]*corev1.Pod{pod("g-0", "10.0.0.1", roleMaster, false), pod("g-1", "10.0.0.2", roleReplica, false), pod("g-2", "10.0.0.3", roleReplica, false)},
			false, []string{"g-0 replica", "g-2 master"}},
		{"failover: the old master's pod is being deleted",
			[]*corev1.Pod{pod("g-0", "10.0.0.1", roleMaster, true), pod("g-1", "10.0.0.2", roleReplica, false), pod("g-2", "10.0.0.3", roleReplica, false)},
			false, []string{"g-0 replica", "g-2 master"}},
		{"failover: the killed old master was not ready before its pod was deleted",
			[]*corev1.Pod{pod("g-0", "10.0.0.1", roleMaster, true), pod("g-1", "10.0.0.2", roleReplica, false), pod("g-2", "10.0.0.3", roleReplica, false)},
			true, []string{"g-0 replica", "g-2 master"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: masterServiceName(rg), Namespace: "ns",
				Labels: map[string]string{discoveryv1.LabelServiceName: masterServiceName(rg)}}, AddressType: discoveryv1.AddressTypeIPv4}
			objs := []client.Object{slice}
			for _, p := range c.pods {
				objs = append(objs, p)
			}
			// The slice as it was before the old master's pod deletion
			// (if any): it is listed ready; the deletion's own sync comes
			// later, like any other.
			for _, pd := range c.pods {
				if pd.Labels[labelRole] == roleMaster {
					slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{pd.Status.PodIP},
						Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(!c.killed)}})
				}
			}
			ec := &endpointController{rg: rg, delay: 50 * time.Millisecond}
			ec.c = fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(objs...).WithInterceptorFuncs(ec.funcs()).Build()
			ec.pending.Add(1)
			go func() {
				defer ec.pending.Done()
				time.Sleep(ec.delay)
				ec.sync(context.Background())
			}()
			r := &ReplicationGroupReconciler{Client: ec.c}
			p := newPass(rg)
			for _, pd := range c.pods {
				var cur corev1.Pod
				if err := ec.c.Get(context.Background(), client.ObjectKeyFromObject(pd), &cur); err != nil {
					t.Fatal(err)
				}
				p.pods[pd.Name] = &cur
			}
			if err := r.moveMasterLabel(context.Background(), p, "g-2"); err != nil {
				t.Fatal(err)
			}
			ec.pending.Wait()
			var got []string
			for _, lp := range ec.patches {
				got = append(got, lp.pod+" "+lp.role)
				switch {
				case lp.pod == "g-2":
					others := maps.Clone(lp.ready)
					delete(others, "10.0.0.3")
					if len(others) > 0 {
						t.Errorf("the new master was labelled while the slice still had other ready endpoints: %v", slices.Sorted(maps.Keys(others)))
					}
					if c.pods[0].DeletionTimestamp != nil && lp.listed["10.0.0.1"] && !lp.terminating["10.0.0.1"] {
						t.Errorf("the new master was labelled before the slice showed the old master's deletion")
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("label patches %v, want %v", got, c.want)
			}
			ready, _, listed := ec.slice(context.Background())
			if len(ready) != 1 || !ready["10.0.0.3"] {
				t.Fatalf("the slice ends with ready endpoints %v, want only the new master", slices.Sorted(maps.Keys(ready)))
			}
			if len(listed) != 1 {
				t.Fatalf("the slice ends listing %v, want only the new master (no terminating old master)", slices.Sorted(maps.Keys(listed)))
			}
		})
	}
}

// TestLeavingMasterLosesItsLabel pins review finding 5 (LOW): during a
// failover the old master's terminating pod kept role=master until the new
// master was labelled (after the promotion), so the master Service still
// selected it, and kube-proxy sends traffic to a terminating endpoint that
// still serves when no ready one is left. Now the pod loses the label
// before the failover deletes it, and a pod deleted by someone else loses
// it when the failover fences it. On main both keep role=master.
func TestLeavingMasterLosesItsLabel(t *testing.T) {
	ctx := context.Background()
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "rg-uid"}}
	for _, c := range []struct {
		name      string
		deletedBy string
		action    failover.Action
	}{
		{"the failover deletes the old master's pod", "", failover.Action{Kind: failover.ActDeletePod, Member: "g-0"}},
		{"the old master's pod was deleted by someone else", "kubelet", failover.Action{Kind: failover.ActMarkFenced, Member: "g-0", Target: "g-2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "g-0", Namespace: "ns", UID: "pod-uid",
				Labels: map[string]string{labelRole: roleMaster}, Finalizers: []string{"test.replnode.io/hold"}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}}
			c2 := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(pod).Build()
			if c.deletedBy != "" {
				if err := c2.Delete(ctx, pod.DeepCopy()); err != nil {
					t.Fatal(err)
				}
			}
			r := &ReplicationGroupReconciler{Client: c2}
			p := newPass(rg.DeepCopy())
			var cur corev1.Pod
			if err := c2.Get(ctx, client.ObjectKeyFromObject(pod), &cur); err != nil {
				t.Fatal(err)
			}
			p.pods["g-0"] = &cur
			if err := r.executeFailoverAction(ctx, p, c.action, "test"); err != nil {
				t.Fatal(err)
			}
			if err := c2.Get(ctx, client.ObjectKeyFromObject(pod), &cur); err != nil {
				t.Fatal(err)
			}
			if cur.DeletionTimestamp.IsZero() {
				t.Fatal("the old master's pod is not being deleted")
			}
			if cur.Labels[labelRole] == roleMaster {
				t.Fatalf("the terminating old master still has role=%s: the master Service selects it", roleMaster)
			}
		})
	}
}
