//go:build tools

// Package tools pins the Kubernetes control-plane commands that `make k8s-bins`
// builds from source. It is never compiled into replnode; the blank imports only
// keep the commands in this wrapper module's dependency graph.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
