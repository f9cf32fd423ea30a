package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/replnode/replnode/hack/localcluster/cluster"
)

// TestExpand covers $(VAR) references, $$ escapes and unknown names.
func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"$(A)":         "1",
		"x$(A)y$(B)z":  "x1ytwoz",
		"$$(A)":        "$(A)",
		"$(UNKNOWN)":   "$(UNKNOWN)",
		"$(A":          "$(A",
		"cost $5":      "cost $5",
		"trailing $":   "trailing $",
		"$$$(A)":       "$1",
		"--pass=$(B)!": "--pass=two!",
	} {
		if got := Expand(in, lookup); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

// mapSource is an EnvSource over maps.
type mapSource struct {
	fields  map[string]string
	cms     map[string]map[string]string
	secrets map[string]map[string]string
}

func (m mapSource) Field(p string) (string, error) { return m.fields[p], nil }
func (m mapSource) ConfigMapKey(n, k string) (string, bool, error) {
	v, ok := m.cms[n][k]
	return v, ok, nil
}
func (m mapSource) SecretKey(n, k string) (string, bool, error) {
	v, ok := m.secrets[n][k]
	return v, ok, nil
}
func (m mapSource) ConfigMapData(n string) (map[string]string, bool, error) {
	d, ok := m.cms[n]
	return d, ok, nil
}
func (m mapSource) SecretData(n string) (map[string]string, bool, error) {
	d, ok := m.secrets[n]
	return d, ok, nil
}

// TestBuildEnvOrderAndReferences checks precedence, references and errors.
func TestBuildEnvOrderAndReferences(t *testing.T) {
	src := mapSource{
		fields:  map[string]string{"status.podIP": "10.244.0.7"},
		cms:     map[string]map[string]string{"cfg": {"MODE": "fast"}},
		secrets: map[string]map[string]string{"sec": {"pw": "s3cret"}},
	}
	c := &corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}, Prefix: "CFG_"}},
		Env: []corev1.EnvVar{
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "pw"}}},
			{Name: "ADDR", Value: "$(IP):6379"},
			{Name: "HOSTNAME", Value: "override"},
		},
	}
	env, err := BuildEnv(c, []corev1.EnvVar{{Name: "HOSTNAME", Value: "pod"}}, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"HOSTNAME=override", "CFG_MODE=fast", "IP=10.244.0.7", "PW=s3cret", "ADDR=10.244.0.7:6379"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v, want %v", env, want)
	}
	missing := &corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "NOPE"}}}}}
	if _, err := BuildEnv(missing, nil, src); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("missing key error = %v", err)
	}
	missing.Env[0].ValueFrom.ConfigMapKeyRef.Optional = ptr.To(true)
	if env, err := BuildEnv(missing, nil, src); err != nil || !reflect.DeepEqual(env, []string{"X="}) {
		t.Errorf("optional missing key: %v %v", env, err)
	}
}

// TestPodField covers the downward-API paths.
func TestPodField(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"b": "2", "a": "1"}},
		Spec: corev1.PodSpec{NodeName: "local-1"}}
	for path, want := range map[string]string{
		"metadata.name": "p", "metadata.namespace": "ns", "metadata.uid": "u1", "spec.nodeName": "local-1",
		"status.podIP": "10.0.0.2", "status.hostIP": "10.0.0.1", "metadata.labels['b']": "2", "metadata.labels": "a=\"1\"\nb=\"2\"",
	} {
		got, err := PodField(pod, "10.0.0.2", "10.0.0.1", path)
		if err != nil || got != want {
			t.Errorf("PodField(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := PodField(pod, "", "", "spec.bogus"); err == nil {
		t.Error("unknown field path accepted")
	}
}

// TestContainerArgv checks entrypoint mapping and command resolution.
func TestContainerArgv(t *testing.T) {
	env := []string{"PORT=7000"}
	got, err := containerArgv(nil, "/opt/bin/replnode", "replnode", nil, []string{"--port", "$(PORT)"}, env)
	if err != nil || !reflect.DeepEqual(got, []string{"/opt/bin/replnode", "--port", "7000"}) {
		t.Errorf("no command: %v %v", got, err)
	}
	got, err = containerArgv(nil, "/opt/bin/replnode", "replnode", []string{"replnode"}, []string{"/etc/r.conf"}, env)
	if err != nil || got[0] != "/opt/bin/replnode" {
		t.Errorf("command naming the image program: %v %v", got, err)
	}
	got, err = containerArgv(nil, "/opt/bin/replnode", "replnode", []string{"sh", "-c", "echo"}, nil, env)
	if err != nil || !filepath.IsAbs(got[0]) || filepath.Base(got[0]) != "sh" {
		t.Errorf("command on PATH: %v %v", got, err)
	}
	got, err = containerArgv(nil, "/usr/bin/redis-server", "replnode", []string{"/usr/local/bin/replnode", "/etc/r.conf"}, nil, env)
	if err != nil || got[0] != "/usr/bin/redis-server" || got[1] != "/etc/r.conf" {
		t.Errorf("command naming the image, mapped to another binary: %v %v", got, err)
	}
	if _, err := containerArgv(nil, "/opt/bin/replnode", "replnode", []string{"/no/such/thing"}, nil, env); err == nil {
		t.Error("missing absolute executable accepted")
	}
	// The image's other program: "manager" in the replnode image runs the
	// binary the rules map manager to, by its base name, absolute or not.
	dir := t.TempDir()
	manager := filepath.Join(dir, "manager-build")
	if err := os.WriteFile(manager, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rules := []cluster.ImageRule{{Pattern: "replnode*", Binary: "/opt/bin/replnode"}, {Pattern: "*manager*", Binary: manager}}
	for _, cmd := range []string{"manager", "/usr/local/bin/manager"} {
		got, err = containerArgv(rules, "/opt/bin/replnode", "replnode", []string{cmd}, []string{"restore-from", "-dir", "/data"}, env)
		if err != nil || !reflect.DeepEqual(got, []string{manager, "restore-from", "-dir", "/data"}) {
			t.Errorf("command %q naming another mapped program: %v %v", cmd, got, err)
		}
	}
	// A rule whose binary is missing does not hide a host program of that
	// name, and an unmapped name still comes from the host.
	got, err = containerArgv([]cluster.ImageRule{{Pattern: "sh", Binary: filepath.Join(dir, "absent")}}, "/opt/bin/replnode", "replnode", []string{"sh"}, nil, env)
	if err != nil || filepath.Base(got[0]) != "sh" || got[0] == filepath.Join(dir, "absent") {
		t.Errorf("missing mapped binary: %v %v", got, err)
	}
}

// TestResolveInRootKeepsLinksInside checks that absolute symlinks resolve
// inside the root rather than on the host.
func TestResolveInRootKeepsLinksInside(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/run", filepath.Join(root, "var", "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../run", filepath.Join(root, "var", "rel")); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"/var/run/secrets/x": "/run/secrets/x",
		"/var/rel/a":         "/run/a",
		"/data":              "/data",
		"/../../etc":         "/etc",
	} {
		got, err := resolveInRoot(root, in)
		if err != nil || got != filepath.Join(root, want) {
			t.Errorf("resolveInRoot(%s) = %s, %v; want %s", in, got, err, filepath.Join(root, want))
		}
	}
}

// TestWriteVolumeFiles checks modes, nesting and path escapes.
func TestWriteVolumeFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	files := []volumeFile{{path: "a.conf", data: []byte("x"), mode: 0o600}, {path: "sub/b", data: []byte("y"), mode: 0o644}}
	if err := writeVolumeFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "a.conf"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("a.conf: %v %v", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "b")); string(b) != "y" {
		t.Errorf("sub/b = %q", b)
	}
	if err := writeVolumeFiles(dir, []volumeFile{{path: "../escape", data: nil, mode: 0o644}}); err == nil {
		t.Error("escaping path accepted")
	}
}

// TestMountsUnder reads the mounts below /dev from a mountinfo file: only
// strictly below, shallowest first, each once.
func TestMountsUnder(t *testing.T) {
	info := `22 1 0:21 / /dev rw,nosuid - devtmpfs udev rw
23 22 0:22 / /dev/pts rw - devpts devpts rw
24 22 0:23 / /dev/shm rw - tmpfs tmpfs rw
25 24 0:24 / /dev/shm/inner rw - tmpfs tmpfs rw
26 22 0:23 / /dev/shm rw - tmpfs tmpfs rw
27 1 0:25 / /devices rw - tmpfs tmpfs rw
28 22 0:26 / /dev/mqueue rw - mqueue mqueue rw
`
	path := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(path, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := mountsUnder(path, "/dev")
	want := []string{"/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/shm/inner"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("mountsUnder = %v, %v; want %v", got, err, want)
	}
}
