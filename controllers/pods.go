package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ MEMBER PODS ------

// runAsID is the non-root user and group the server runs as.
const runAsID = 1000

// podParams are the per-member inputs of buildPod.
type podParams struct {
	// Ordinal is the member's ordinal; the pod is <group>-<ordinal>.
	Ordinal int
	// Role is roleMaster or roleReplica; it sets the role label.
	Role string
	// MasterHost is the address the replica follows (--replicaof); "" for
	// the master, which follows its group's master Service instead.
	MasterHost string
	// ConfigHash is the digest of the generated redis.conf.
	ConfigHash string
	// Restore, on the first master of a group bootstrapped from a backup,
	// adds the restore init container (restore.go).
	Restore *restoreSource
}

// buildPod returns the pod of one member: the replnode container started
// with the generated redis.conf, always as a replica (see serverContainer), the password
// (when spec.auth is set) passed through an environment variable from the
// Secret, probes, and a restricted-PSS security context. The template-hash
// annotation covers everything but the role, so a role change never restarts
// a member while a spec change rolls it.
func buildPod(rg *replnodev1alpha1.ReplicationGroup, p podParams) *corev1.Pod {
	name := memberName(rg, p.Ordinal)
	labels := map[string]string{}
	maps.Copy(labels, rg.Spec.PodLabels)
	maps.Copy(labels, commonLabels(rg))
	labels[labelMember] = name
	labels[labelRole] = p.Role
	annotations := map[string]string{}
	maps.Copy(annotations, rg.Spec.PodAnnotations)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   rg.Namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: corev1.PodSpec{
			Hostname:                     name,
			Subdomain:                    headlessServiceName(rg),
			RestartPolicy:                corev1.RestartPolicyAlways,
			AutomountServiceAccountToken: ptr.To(false),
			EnableServiceLinks:           ptr.To(false),
			NodeSelector:                 rg.Spec.NodeSelector,
			Tolerations:                  rg.Spec.Tolerations,
			PriorityClassName:            rg.Spec.PriorityClassName,
			Affinity:                     podAffinity(rg),
			TopologySpreadConstraints:    topologySpread(rg),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](runAsID),
				RunAsGroup:     ptr.To[int64](runAsID),
				FSGroup:        ptr.To[int64](runAsID),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{serverContainer(rg, p)},
			Volumes:    podVolumes(rg, name),
		},
	}
	if p.Restore != nil {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, restoreInitContainer(pod.Spec.Containers[0], p.Restore))
	}
	pod.Annotations[annotationTemplateHash] = templateHash(rg, pod, p.ConfigHash)
	return pod
}

// serverContainer returns the replnode container of a member. Every member
// starts as a replica, the master too: a replica follows the master it was
// created for, the first master follows the group's master Service, and the
// operator makes a member master only with REPLICAOF NO ONE. A master whose
// process restarts therefore comes back as a replica that answers its old
// replicas' PSYNC with -NOMASTERLINK, instead of a master that would make them
// full-resync and drop everything it lost (the restart-without-persistence
// data loss Redis's replication docs warn about); the failover policy then
// promotes the most advanced replica. Through the Service, a restarted member
// also finds whoever is master by then.
func serverContainer(rg *replnodev1alpha1.ReplicationGroup, p podParams) corev1.Container {
	args := []string{configDir + "/" + configFile, "--replica-announce-ip", "$(" + podIPEnv + ")"}
	env := []corev1.EnvVar{{
		Name:      podIPEnv,
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}},
	}, {
		// R1 on the node (docs/failover.md, "Keeping newer data"): a
		// replica the operator cannot reach still follows an old master's
		// address, and a member behind it answering there would wipe it
		// with a full sync; with replica-keep-newer-data the node refuses
		// unless the operator granted the loss. Through the environment,
		// not redis.conf or the command line, which a redis-server must
		// accept too (it ignores the variable).
		Name: keepNewerDataEnv, Value: "yes",
	}}
	if rg.Spec.Auth != nil {
		key := rg.Spec.Auth.Key
		if key == "" {
			key = "password"
		}
		env = append(env, corev1.EnvVar{
			Name: passwordEnv,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: rg.Spec.Auth.SecretName},
				Key:                  key,
			}},
		})
		args = append(args, "--requirepass", "$("+passwordEnv+")", "--masterauth", "$("+passwordEnv+")")
	}
	masterHost := p.MasterHost
	if masterHost == "" {
		masterHost = masterServiceName(rg) + "." + rg.Namespace + ".svc"
	}
	ports := []corev1.ContainerPort{{Name: "redis", ContainerPort: serverPort, Protocol: corev1.ProtocolTCP}}
	if rg.Spec.Metrics.Enabled {
		// Before --replicaof: templateHash ignores the per-member tail.
		metricsPort := rg.Spec.EffectiveMetricsPort()
		args = append(args, "--metrics-port", strconv.Itoa(int(metricsPort)))
		ports = append(ports, corev1.ContainerPort{Name: metricsPortName, ContainerPort: metricsPort, Protocol: corev1.ProtocolTCP})
	}
	args = append(args, "--replicaof", masterHost, strconv.Itoa(serverPort))
	pullPolicy := rg.Spec.ImagePullPolicy
	if pullPolicy == "" {
		pullPolicy = corev1.PullIfNotPresent
	}
	image := rg.Spec.Image
	if image == "" {
		image = "replnode"
	}
	probe := func(initialDelay, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(serverPort)}},
			InitialDelaySeconds: initialDelay,
			PeriodSeconds:       period,
			TimeoutSeconds:      2,
			FailureThreshold:    failures,
		}
	}
	mounts := []corev1.VolumeMount{
		{Name: "config", MountPath: configDir, ReadOnly: true},
		{Name: "data", MountPath: dataDir},
		{Name: "tmp", MountPath: "/tmp"},
	}
	if rg.Spec.TLS != nil {
		mounts = append(mounts, corev1.VolumeMount{Name: tlsVolume, MountPath: tlsDir, ReadOnly: true})
	}
	return corev1.Container{
		Name:            containerName,
		Image:           image,
		ImagePullPolicy: pullPolicy,
		Command:         []string{"replnode"},
		Args:            args,
		Env:             env,
		Ports:           ports,
		Resources:       rg.Spec.Resources,
		// A server that exits on a bad config writes why to its log only:
		// the log's tail becomes the termination message, which the
		// MemberFailing condition shows (selfheal.go).
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		StartupProbe:             probe(0, 2, 60),
		ReadinessProbe:           probe(0, 5, 3),
		LivenessProbe:            probe(0, 10, 6),
		VolumeMounts:             mounts,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// podVolumes returns the config, data (PVC or emptyDir) and tmp volumes,
// and the spec.tls Secret's.
func podVolumes(rg *replnodev1alpha1.ReplicationGroup, member string) []corev1.Volume {
	data := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	if rg.Spec.Storage != nil {
		data = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvcName(member)}}
	}
	vols := []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: configMapName(rg)},
		}}},
		{Name: "data", VolumeSource: data},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if v := tlsPodVolume(rg); v != nil {
		vols = append(vols, *v)
	}
	return vols
}

// podAffinity returns spec.affinity, or by default a preferred anti-affinity
// spreading the group's members over nodes.
func podAffinity(rg *replnodev1alpha1.ReplicationGroup) *corev1.Affinity {
	if rg.Spec.Affinity != nil {
		return rg.Spec.Affinity
	}
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   corev1.LabelHostname,
				LabelSelector: &metav1.LabelSelector{MatchLabels: selectorLabels(rg)},
			},
		}},
	}}
}

// topologySpread returns the members' topology spread constraints:
// spec.topologySpreadConstraints when set (an empty list: none), each
// without a labelSelector given the group's selector, or by default one
// over nodes and one over zones, maxSkew 1, both ScheduleAnyway.
//
// ScheduleAnyway, not DoNotSchedule: the replacement of a failed member must
// schedule. A node that is down but still registered counts as a domain,
// holding none of the group's pods once its member's pod is deleted, so under
// DoNotSchedule that member's replacement could go to no other node while
// the others hold one each. And a node without the zone
// label would be filtered out entirely. As a score the zone constraint costs
// nothing on an unlabelled cluster: the scheduler then scores no node for
// spreading (it ignores nodes lacking any of the constraints' keys), and
// the default pod anti-affinity (podAffinity) still spreads over nodes.
func topologySpread(rg *replnodev1alpha1.ReplicationGroup) []corev1.TopologySpreadConstraint {
	if rg.Spec.TopologySpreadConstraints != nil {
		constraints := make([]corev1.TopologySpreadConstraint, len(rg.Spec.TopologySpreadConstraints))
		for i := range rg.Spec.TopologySpreadConstraints {
			rg.Spec.TopologySpreadConstraints[i].DeepCopyInto(&constraints[i])
			if constraints[i].LabelSelector == nil {
				constraints[i].LabelSelector = &metav1.LabelSelector{MatchLabels: selectorLabels(rg)}
			}
		}
		return constraints
	}
	spread := func(key string) corev1.TopologySpreadConstraint {
		return corev1.TopologySpreadConstraint{
			MaxSkew:           1,
			TopologyKey:       key,
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     &metav1.LabelSelector{MatchLabels: selectorLabels(rg)},
		}
	}
	return []corev1.TopologySpreadConstraint{spread(corev1.LabelHostname), spread(corev1.LabelTopologyZone)}
}

// templateHash digests what a member's pod is made of, plus the redis.conf
// digest. It leaves out what differs per member or changes on failover
// without needing a restart: the role label, the --replicaof arguments, the
// hostname and the claim name. Every member of an up-to-date group has the
// same hash.
//
// The default topology spread constraints are left out too, and
// spec.topologySpreadConstraints goes in only when set, after everything
// that was there before: a group that leaves it unset keeps the hash it had
// under an operator without placement defaults, so upgrading the operator
// does not roll every group at once for a scheduling preference that only
// matters when a pod is placed (TestTemplateHashStableAcrossUpgrade).
func templateHash(rg *replnodev1alpha1.ReplicationGroup, pod *corev1.Pod, confHash string) string {
	spec := pod.Spec.DeepCopy()
	var spread *[]corev1.TopologySpreadConstraint
	if rg.Spec.TopologySpreadConstraints != nil {
		set := spec.TopologySpreadConstraints
		if set == nil {
			set = []corev1.TopologySpreadConstraint{} // an explicit "none" hashes as []
		}
		spread = &set
	}
	spec.TopologySpreadConstraints = nil
	// Per-member fields: the same template gives each member its own name and claim.
	spec.Hostname = ""
	withoutRestoreContainer(spec)
	for i := range spec.Volumes {
		if pvc := spec.Volumes[i].PersistentVolumeClaim; pvc != nil {
			pvc.ClaimName = ""
		}
	}
	for i := range spec.Containers {
		args := spec.Containers[i].Args
		for j := range args {
			if args[j] == "--replicaof" {
				args = args[:j]
				break
			}
		}
		spec.Containers[i].Args = args
	}
	labels := map[string]string{}
	maps.Copy(labels, rg.Spec.PodLabels)
	input := struct {
		Spec        *corev1.PodSpec
		Labels      map[string]string
		Annotations map[string]string
		Config      string
		Spread      *[]corev1.TopologySpreadConstraint `json:",omitempty"`
	}{spec, labels, rg.Spec.PodAnnotations, confHash, spread}
	data, _ := json.Marshal(input)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:16]
}

// buildPVC returns the data claim of a member, or nil without spec.storage.
func buildPVC(rg *replnodev1alpha1.ReplicationGroup, member string) *corev1.PersistentVolumeClaim {
	if rg.Spec.Storage == nil {
		return nil
	}
	labels := commonLabels(rg)
	labels[labelMember] = member
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: pvcName(member), Namespace: rg.Namespace, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: rg.Spec.Storage.StorageClassName,
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: rg.Spec.Storage.Size},
			},
		},
	}
}
