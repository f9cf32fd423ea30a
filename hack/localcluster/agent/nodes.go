package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/replnode/replnode/hack/localcluster/cluster"
)

// heartbeatInterval is how often Node status and Lease are renewed; the
// controller manager runs with a 20s node-monitor grace period.
const heartbeatInterval = 5 * time.Second

// ------ NODES AND HEARTBEATS ------

// registerNode creates (or takes over) the Node object with the capacity,
// addresses and Ready condition of a healthy node.
func (a *Agent) registerNode(ctx context.Context, name string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname":        name,
			"kubernetes.io/os":              "linux",
			"kubernetes.io/arch":            "amd64",
			"localcluster.replnode.io/node": "true",
		}},
	}
	_, err := a.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return a.updateNodeStatus(ctx, name)
}

// updateNodeStatus writes a fresh Ready heartbeat into the Node's status.
func (a *Agent) updateNodeStatus(ctx context.Context, name string) error {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("8"),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("50Gi"),
	}
	status := corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "localcluster agent is posting ready status"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "no memory pressure"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "no PID pressure"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: a.net.Gateway.String()},
			{Type: corev1.NodeHostName, Address: name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(a.cfg.KubeletPort)}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          cluster.K8sVersion,
			ContainerRuntimeVersion: "localcluster://processes",
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			OSImage:                 "localcluster",
		},
	}
	// Keep transition times of conditions whose status did not change.
	if cur, err := a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
		for i := range status.Conditions {
			for _, old := range cur.Status.Conditions {
				if old.Type == status.Conditions[i].Type && old.Status == status.Conditions[i].Status {
					status.Conditions[i].LastTransitionTime = old.LastTransitionTime
				}
			}
		}
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	_, err = a.client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (a *Agent) renewLease(ctx context.Context, name string) error {
	leases := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(name), LeaseDurationSeconds: ptr.To(int32(40)),
				AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the node's status and lease until ctx ends, skipping
// every beat while a fault has the node stopped. A node object deleted by
// someone is registered again.
func (a *Agent) heartbeat(ctx context.Context, name string) {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a.nodeStopped(name) {
			continue
		}
		if err := a.updateNodeStatus(ctx, name); err != nil {
			if apierrors.IsNotFound(err) {
				err = a.registerNode(ctx, name)
			}
			if err != nil && ctx.Err() == nil {
				a.logger.Printf("node %s status: %v", name, err)
			}
		}
		if err := a.renewLease(ctx, name); err != nil && ctx.Err() == nil {
			a.logger.Printf("node %s lease: %v", name, err)
		}
	}
}

// ------ STORAGE: DEFAULT STORAGECLASS AND PV PROVISIONER ------

// Provisioner is the provisioner name of the cluster's default StorageClass.
const Provisioner = "localcluster.replnode.io/local-path"

// StorageClassName is the default StorageClass the agent provisions for.
const StorageClassName = "local-path"

// ensureStorageClass creates the default local-path StorageClass.
func (a *Agent) ensureStorageClass(ctx context.Context) error {
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClassName, Annotations: map[string]string{
			"storageclass.kubernetes.io/is-default-class": "true",
		}},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}
	_, err := a.client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// provisionLoop provisions and deletes volumes every two seconds until ctx ends.
func (a *Agent) provisionLoop(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if err := a.provisionOnce(ctx); err != nil && ctx.Err() == nil {
			a.logger.Printf("provisioner: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// wantsLocalPath reports whether pvc is ours to provision: pending, unbound
// and of the local-path class (explicitly or as the default).
func wantsLocalPath(pvc *corev1.PersistentVolumeClaim) bool {
	if pvc.Spec.VolumeName != "" || pvc.Status.Phase != corev1.ClaimPending || pvc.DeletionTimestamp != nil {
		return false
	}
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName == StorageClassName
	}
	return pvc.Annotations["volume.kubernetes.io/storage-provisioner"] == Provisioner
}

// provisionOnce creates a PV (a directory under <state>/pv) pre-bound to each
// pending local-path claim, and deletes released PVs it provisioned whose
// reclaim policy is Delete, with their data.
func (a *Agent) provisionOnce(ctx context.Context) error {
	pvcs, err := a.client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range pvcs.Items {
		pvc := &pvcs.Items[i]
		if !wantsLocalPath(pvc) {
			continue
		}
		pvName := "pvc-" + string(pvc.UID)
		dir := filepath.Join(a.cfg.PVDir(), pvName)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		if size.IsZero() {
			size = resource.MustParse("1Gi")
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{
				"pv.kubernetes.io/provisioned-by": Provisioner,
			}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
				AccessModes:                   pvc.Spec.AccessModes,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				StorageClassName:              StorageClassName,
				VolumeMode:                    pvc.Spec.VolumeMode,
				ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
					Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: ptr.To(corev1.HostPathDirectory)},
				},
			},
		}
		if len(pv.Spec.AccessModes) == 0 {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		}
		if _, err := a.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create PV for %s/%s: %w", pvc.Namespace, pvc.Name, err)
		}
	}
	pvs, err := a.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range pvs.Items {
		pv := &pvs.Items[i]
		if pv.Annotations["pv.kubernetes.io/provisioned-by"] != Provisioner || pv.Status.Phase != corev1.VolumeReleased ||
			pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
			continue
		}
		if pv.Spec.HostPath != nil && filepath.Dir(pv.Spec.HostPath.Path) == a.cfg.PVDir() {
			if err := os.RemoveAll(pv.Spec.HostPath.Path); err != nil {
				return err
			}
		}
		if err := a.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
