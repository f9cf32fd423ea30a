package controllers

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

func testRestoreSource() *restoreSource {
	return &restoreSource{
		Store: replnodev1alpha1.ObjectStoreSpec{Bucket: "bk", Endpoint: "minio:9000", Insecure: true,
			Credentials: replnodev1alpha1.ObjectStoreCredentials{SecretName: "s3"},
			CASecret:    &replnodev1alpha1.SecretKeyRef{SecretName: "ca"}},
		ManifestKey: "p/ns/g/b1/manifest.json",
	}
}

// The first master of a restored group runs restore-from before the node,
// on the data volume, with the keys from the Secret (never in args); the
// template hash ignores it, so no member is rolled for it.
func TestBuildPodRestoreInitContainer(t *testing.T) {
	rg := testGroup()
	plain := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "h"})
	pod := buildPod(rg, podParams{Ordinal: 0, Role: roleMaster, ConfigHash: "h", Restore: testRestoreSource()})
	if len(plain.Spec.InitContainers) != 0 {
		t.Fatalf("a pod without restore has init containers %v", plain.Spec.InitContainers)
	}
	if len(pod.Spec.InitContainers) != 1 {
		t.Fatalf("init containers %v, want the restore step", pod.Spec.InitContainers)
	}
	c := pod.Spec.InitContainers[0]
	wantArgs := []string{"restore-from", "-endpoint", "minio:9000", "-bucket", "bk", "-manifest", "p/ns/g/b1/manifest.json",
		"-dir", dataDir, "-dbfilename", "dump.rdb", "-insecure"}
	if c.Name != restoreContainerName || !slices.Equal(c.Command, []string{"manager"}) || !slices.Equal(c.Args, wantArgs) {
		t.Errorf("restore container %s %v %v", c.Name, c.Command, c.Args)
	}
	if c.Image != pod.Spec.Containers[0].Image {
		t.Errorf("restore image %q, server image %q", c.Image, pod.Spec.Containers[0].Image)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for name, key := range map[string]string{"RESTORE_ACCESS_KEY_ID": "accessKeyID", "RESTORE_SECRET_ACCESS_KEY": "secretAccessKey", "RESTORE_CA_PEM": "ca.crt"} {
		ref := env[name].ValueFrom
		if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Key != key {
			t.Errorf("env %s = %+v, want a secretKeyRef to key %s", name, env[name], key)
		}
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "data" && m.MountPath == dataDir }) {
		t.Errorf("restore mounts %v lack the data volume", c.VolumeMounts)
	}
	if c.SecurityContext == nil || c.SecurityContext.RunAsNonRoot == nil || !*c.SecurityContext.RunAsNonRoot {
		t.Errorf("restore security context %+v", c.SecurityContext)
	}
	if pod.Annotations[annotationTemplateHash] != plain.Annotations[annotationTemplateHash] {
		t.Error("the restore step changes the template hash: members would be rolled")
	}
}

func TestRestoredCondition(t *testing.T) {
	podWith := func(st corev1.ContainerStatus) *corev1.Pod {
		st.Name = restoreContainerName
		return &corev1.Pod{Status: corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{st}}}
	}
	term := func(code int32, msg string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: msg}}
	}
	cases := []struct {
		name   string
		pod    *corev1.Pod
		want   metav1.ConditionStatus
		reason string
	}{
		{"no pod", nil, "", ""},
		{"running", podWith(corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}), "", ""},
		{"restored", podWith(corev1.ContainerStatus{State: term(0, "RestoredFromBackup: s3://bk/x (5 keys)")}), metav1.ConditionTrue, "RestoredFromBackup"},
		{"data kept", podWith(corev1.ContainerStatus{State: term(0, "DataPresent: the volume already holds data")}), metav1.ConditionTrue, "DataPresent"},
		{"checksum refused, restarting", podWith(corev1.ContainerStatus{
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: term(3, "ChecksumMismatch: refused s3://bk/x: sha256 differs")}), metav1.ConditionFalse, "ChecksumMismatch"},
		{"unstructured message", podWith(corev1.ContainerStatus{State: term(1, "panic: boom here")}), metav1.ConditionFalse, "RestoreFailed"},
	}
	for _, c := range cases {
		got := restoredCondition(c.pod)
		if c.want == "" {
			if got != nil {
				t.Errorf("%s: got %+v, want none", c.name, got)
			}
			continue
		}
		if got == nil || got.Status != c.want || got.Reason != c.reason || got.Type != replnodev1alpha1.ConditionRestored || got.Message == "" {
			t.Errorf("%s: got %+v, want %s %s", c.name, got, c.want, c.reason)
		}
	}
}
