package controllers

import (
	"fmt"
	"strconv"
	"strings"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ NAMES AND LABELS ------

// Well-known ports, paths and keys shared by the builders.
const (
	// serverPort is the port every member listens on (the operator owns `port`).
	serverPort = 6379
	// metricsPortName names the members' /metrics container port
	// (spec.metrics), which PodMonitors select.
	metricsPortName = "metrics"
	// configDir is where the ConfigMap's redis.conf is mounted.
	configDir = "/etc/replnode"
	// configFile is the generated redis.conf inside the ConfigMap.
	configFile = "redis.conf"
	// dataDir is the members' data directory (PVC or emptyDir).
	dataDir = "/data"
	// passwordEnv carries the auth Secret's password into the container.
	passwordEnv = "REPLNODE_PASSWORD"
	// keepNewerDataEnv turns on a replnode node's replica-keep-newer-data
	// (replnode/server's KeepNewerDataEnv).
	keepNewerDataEnv = "REPLNODE_REPLICA_KEEP_NEWER_DATA"
	// podIPEnv carries the pod IP, announced to the master.
	podIPEnv = "POD_IP"
	// containerName is the server container of each member pod.
	containerName = "replnode"
	// fieldOwner identifies the operator's writes.
	fieldOwner = "replnode-operator"
)

// Labels and annotations the operator sets.
const (
	labelName      = "app.kubernetes.io/name"
	labelInstance  = "app.kubernetes.io/instance"
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelGroup     = "replnode.io/group"
	labelRole      = "replnode.io/role"
	labelMember    = "replnode.io/member"

	annotationTemplateHash = "replnode.io/template-hash"

	roleMaster  = "master"
	roleReplica = "replica"
)

// memberName returns the pod name of the member with ordinal i.
func memberName(rg *replnodev1alpha1.ReplicationGroup, i int) string {
	return fmt.Sprintf("%s-%d", rg.Name, i)
}

// memberOrdinal parses the ordinal out of a member name of group rg, or
// returns false when name is not <group>-<digits>.
func memberOrdinal(rg *replnodev1alpha1.ReplicationGroup, name string) (int, bool) {
	suffix, ok := strings.CutPrefix(name, rg.Name+"-")
	if !ok || suffix == "" {
		return 0, false
	}
	for _, c := range suffix {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(suffix)
	return i, err == nil
}

// pvcName returns the PersistentVolumeClaim of a member.
func pvcName(member string) string { return "data-" + member }

// configMapName returns the ConfigMap holding the group's redis.conf.
func configMapName(rg *replnodev1alpha1.ReplicationGroup) string { return rg.Name + "-config" }

// masterServiceName returns the Service that points at the master.
func masterServiceName(rg *replnodev1alpha1.ReplicationGroup) string { return rg.Name + "-master" }

// replicaServiceName returns the Service over the replicas.
func replicaServiceName(rg *replnodev1alpha1.ReplicationGroup) string { return rg.Name + "-replicas" }

// headlessServiceName returns the headless Service giving members DNS names.
func headlessServiceName(rg *replnodev1alpha1.ReplicationGroup) string { return rg.Name }

// selectorLabels are the labels that select every member of the group.
func selectorLabels(rg *replnodev1alpha1.ReplicationGroup) map[string]string {
	return map[string]string{
		labelName:     "replnode",
		labelInstance: rg.Name,
		labelGroup:    rg.Name,
	}
}

// commonLabels are set on every object the operator creates for the group.
func commonLabels(rg *replnodev1alpha1.ReplicationGroup) map[string]string {
	l := selectorLabels(rg)
	l[labelManagedBy] = "replnode-operator"
	return l
}
