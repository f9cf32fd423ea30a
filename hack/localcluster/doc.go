// Command localcluster runs a local Kubernetes cluster without Docker: a real
// control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// built from source into bin/k8s/<version>/) plus a node agent that runs the
// pods bound to its nodes as ordinary processes, each pod in its own network
// and mount namespace with an IP on a bridge.
//
// Usage:
//
//	localcluster up|down|status|env
//	localcluster logs POD [-n NS] [-c CONTAINER]
//	localcluster fault kill|stop-node|resume-node|partition|heal ...
//
// It owns: the CLI only. The control plane lives in package cluster, the
// node agent in package agent, certificates in package pki. It must not hold
// cluster logic itself, and it never touches processes, namespaces or
// interfaces it did not create (everything it creates is named lc-*/lcbr0 or
// carries the LOCALCLUSTER_MEMBER_OF marker in its environment).
package main
