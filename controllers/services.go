package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ SERVICES ------

// buildServices returns the group's Services: <name>-master selecting the
// member labelled role=master, <name>-replicas selecting role=replica, and
// the headless <name> giving every member (ready or not) a DNS name.
func buildServices(rg *replnodev1alpha1.ReplicationGroup) []*corev1.Service {
	ports := []corev1.ServicePort{{Name: "redis", Port: serverPort, TargetPort: intstr.FromString("redis"), Protocol: corev1.ProtocolTCP}}
	withRole := func(role string) map[string]string {
		s := selectorLabels(rg)
		s[labelRole] = role
		return s
	}
	svc := func(name string, selector map[string]string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rg.Namespace, Labels: commonLabels(rg)},
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeClusterIP,
				Selector: selector,
				Ports:    append([]corev1.ServicePort(nil), ports...),
			},
		}
	}
	master := svc(masterServiceName(rg), withRole(roleMaster))
	replicas := svc(replicaServiceName(rg), withRole(roleReplica))
	headless := svc(headlessServiceName(rg), selectorLabels(rg))
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	headless.Spec.PublishNotReadyAddresses = true
	return []*corev1.Service{master, replicas, headless}
}

// reconcileServices creates or updates the three Services, keeping what the
// API server assigned (clusterIP) and changing only selector, ports and labels.
func (r *ReplicationGroupReconciler) reconcileServices(ctx context.Context, p *pass) (ctrl.Result, error) {
	for _, want := range buildServices(p.rg) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: want.Namespace}}
		_, err := controllerutil.CreateOrUpdate(ctx, r.Client, svc, func() error {
			svc.Labels = mergeLabels(svc.Labels, want.Labels)
			if svc.CreationTimestamp.IsZero() {
				svc.Spec.ClusterIP = want.Spec.ClusterIP
			}
			svc.Spec.Type = want.Spec.Type
			svc.Spec.Selector = want.Spec.Selector
			svc.Spec.Ports = want.Spec.Ports
			svc.Spec.PublishNotReadyAddresses = want.Spec.PublishNotReadyAddresses
			return controllerutil.SetControllerReference(p.rg, svc, r.Scheme)
		})
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("service %s: %w", want.Name, err)
		}
	}
	p.rg.Status.MasterService = masterServiceName(p.rg)
	p.rg.Status.ReplicaService = replicaServiceName(p.rg)
	return ctrl.Result{}, nil
}
