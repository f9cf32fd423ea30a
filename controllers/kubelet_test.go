package controllers

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ A FAKE KUBELET FOR ENVTEST ------
//
// envtest runs no kubelet, so pods never start. fakeKubelet stands in: it
// gives every new pod of a ReplicationGroup an IP, marks it Running and
// Ready, and starts a fake node for it in the nodeclient.Fake with the
// password from the pod's Secret reference, the --replicaof argument from
// its command line and (spec.tls) the certificate of its mounted Secret, the
// way the real container would come up. It does not update mounted
// Secrets: tests do, with nodeclient.Fake.SetCertOnDisk, when they mean
// the kubelet to have caught up.

type fakeKubelet struct {
	c     client.Client
	nodes *nodeclient.Fake
	mu    sync.Mutex
	next  int
	ips   map[types.UID]string
	// hold lists pods (by name) the kubelet must leave Pending.
	hold map[string]bool
}

// newFakeKubelet returns a kubelet over c that starts nodes in nodes.
func newFakeKubelet(c client.Client, nodes *nodeclient.Fake) *fakeKubelet {
	return &fakeKubelet{c: c, nodes: nodes, ips: map[types.UID]string{}, hold: map[string]bool{}}
}

// run starts pods every interval until ctx ends.
func (k *fakeKubelet) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = k.startPods(ctx)
		}
	}
}

// startPods starts every pod with the operator's labels that has no IP yet.
func (k *fakeKubelet) startPods(ctx context.Context) error {
	var pods corev1.PodList
	if err := k.c.List(ctx, &pods, client.HasLabels{labelGroup}); err != nil {
		return err
	}
	var errs []error
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.Status.PodIP != "" || !pod.DeletionTimestamp.IsZero() || pod.Labels[processKubeletLabel] == "process" {
			continue
		}
		k.mu.Lock()
		held := k.hold[pod.Namespace+"/"+pod.Name]
		k.mu.Unlock()
		if held {
			continue
		}
		// A pod that cannot start stays Pending; the others still start.
		if err := k.startPod(ctx, pod); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// startPod starts one pod's fake node and reports it Running and Ready.
func (k *fakeKubelet) startPod(ctx context.Context, pod *corev1.Pod) error {
	k.mu.Lock()
	ip, ok := k.ips[pod.UID]
	if !ok {
		k.next++
		ip = fmt.Sprintf("10.%d.%d.%d", 10+k.next/65536, (k.next/256)%256, k.next%256)
		k.ips[pod.UID] = ip
	}
	k.mu.Unlock()
	c := pod.Spec.Containers[0]
	password := ""
	for _, e := range c.Env {
		if e.Name == passwordEnv && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			var s corev1.Secret
			ref := e.ValueFrom.SecretKeyRef
			if err := k.c.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, &s); err != nil {
				// A kubelet reports CreateContainerConfigError and keeps the pod Pending.
				return fmt.Errorf("pod %s: Secret %s: %w", pod.Name, ref.Name, err)
			}
			password = string(s.Data[ref.Key])
		}
	}
	master := ""
	for i, a := range c.Args {
		if a == "--replicaof" && i+2 < len(c.Args) {
			master = net.JoinHostPort(c.Args[i+1], c.Args[i+2])
		}
	}
	// A Secret volume (spec.tls) must exist to mount; the node then serves
	// the certificate it holds.
	var servedCert []byte
	for _, v := range pod.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		var s corev1.Secret
		if err := k.c.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: v.Secret.SecretName}, &s); err != nil {
			return fmt.Errorf("pod %s: volume %s: Secret %s: %w", pod.Name, v.Name, v.Secret.SecretName, err)
		}
		if v.Name == tlsVolume {
			block, _ := pem.Decode(s.Data[tlsCertKey])
			if block == nil {
				return fmt.Errorf("pod %s: %s of Secret %s holds no certificate", pod.Name, tlsCertKey, s.Name)
			}
			servedCert = block.Bytes
		}
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(serverPort))
	k.nodes.Start(addr, password, master)
	if servedCert != nil {
		k.nodes.StartTLS(addr, servedCert)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	return k.c.Status().Update(ctx, pod)
}

// addrOf returns the fake node address of a pod the kubelet started.
func (k *fakeKubelet) addrOf(ctx context.Context, ns, name string) (string, error) {
	var pod corev1.Pod
	if err := k.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &pod); err != nil {
		return "", err
	}
	if pod.Status.PodIP == "" {
		return "", fmt.Errorf("pod %s/%s has no IP yet", ns, name)
	}
	return net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(serverPort)), nil
}
