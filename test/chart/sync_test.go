package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// ------ DRIFT BETWEEN config/ AND THE CHART ------

// TestChartCopiesEqualConfig checks the chart's copies of the generated CRD
// and RBAC are byte-equal to config/ (what `make chart-check` checks too).
func TestChartCopiesEqualConfig(t *testing.T) {
	root := repoRoot(t)
	pairs := map[string]string{
		"config/crd/bases/replnode.io_replicationgroups.yaml": "charts/replnode-operator/files/crds/replnode.io_replicationgroups.yaml",
		"config/crd/bases/replnode.io_backups.yaml":           "charts/replnode-operator/files/crds/replnode.io_backups.yaml",
		"config/crd/bases/replnode.io_scheduledbackups.yaml":  "charts/replnode-operator/files/crds/replnode.io_scheduledbackups.yaml",
		"config/rbac/role.yaml":                               "charts/replnode-operator/files/rbac/role.yaml",
	}
	for src, dst := range pairs {
		want, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, dst))
		if err != nil {
			t.Fatalf("%v (run `make chart-sync`)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: run `make manifests chart-sync` and commit", dst, src)
		}
	}
	crds, _ := filepath.Glob(filepath.Join(root, "config/crd/bases/*.yaml"))
	for _, f := range crds {
		if _, ok := pairs["config/crd/bases/"+filepath.Base(f)]; !ok {
			t.Errorf("%s has no copy in the chart", f)
		}
	}
}

// TestSyncScriptCheck runs hack/chart/sync.sh --check, the `make chart-check`
// entry point, and expects it to agree that nothing drifted.
func TestSyncScriptCheck(t *testing.T) {
	root := repoRoot(t)
	cmd := exec.Command(filepath.Join(root, "hack/chart/sync.sh"), "--check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/chart/sync.sh --check: %v\n%s", err, out)
	}
}

// TestSyncScriptInACopy runs hack/chart/sync.sh in a scratch copy of the
// files it touches: after config/ changes, --check fails naming the file, a
// sync copies it, and --check passes again.
func TestSyncScriptInACopy(t *testing.T) {
	root := repoRoot(t)
	scratch := t.TempDir()
	for _, rel := range []string{"hack/chart", "config/crd/bases", "config/rbac", "charts/replnode-operator/files"} {
		if err := os.CopyFS(filepath.Join(scratch, rel), os.DirFS(filepath.Join(root, rel))); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(scratch, "hack/chart/sync.sh")
	run := func(args ...string) (string, error) {
		out, err := exec.Command(script, args...).CombinedOutput()
		return string(out), err
	}
	role := filepath.Join(scratch, "config/rbac/role.yaml")
	data, err := os.ReadFile(role)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(role, append(data, []byte("# a new marker\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run("--check")
	if err == nil || !strings.Contains(out, "charts/replnode-operator/files/rbac/role.yaml differs from config/rbac/role.yaml") ||
		!strings.Contains(out, "run 'make chart-sync'") {
		t.Fatalf("--check after a config/ change: err %v, output:\n%s", err, out)
	}
	if out, err := run(); err != nil || !strings.Contains(out, "updated charts/replnode-operator/files/rbac/role.yaml") {
		t.Fatalf("sync: err %v, output:\n%s", err, out)
	}
	if out, err := run("--check"); err != nil {
		t.Fatalf("--check after sync: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(scratch, "config/crd/bases/replnode.io_other.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("--check"); err == nil || !strings.Contains(out, "replnode.io_other.yaml has no copy") {
		t.Fatalf("--check with an unknown CRD: err %v, output:\n%s", err, out)
	}
}

// TestRenderedCRDEqualsConfig checks the CRD the chart renders is the
// generated one, changed only by the chart's labels and the keep annotation:
// the fromYaml/toYaml round trip in the template loses nothing.
func TestRenderedCRDEqualsConfig(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "config/crd/bases/*.yaml"))
	wants := map[string]map[string]any{}
	for _, f := range files {
		var want map[string]any
		readYAML(t, filepath.Join("config/crd/bases", filepath.Base(f)), &want)
		wants[want["metadata"].(map[string]any)["name"].(string)] = want
	}
	for _, keep := range []bool{true, false} {
		args := []string{}
		if !keep {
			args = append(args, "--set", "crds.keep=false")
		}
		objs := render(t, operatorChart, "ops", args...).ofKind("CustomResourceDefinition")
		if len(objs) != len(wants) {
			t.Fatalf("rendered %d CRDs, want %d", len(objs), len(wants))
		}
		for _, obj := range objs {
			var got map[string]any
			if err := yaml.Unmarshal(obj.YAML, &got); err != nil {
				t.Fatal(err)
			}
			meta := got["metadata"].(map[string]any)
			want, ok := wants[meta["name"].(string)]
			if !ok {
				t.Fatalf("rendered CRD %v is not in config/crd/bases", meta["name"])
			}
			ann, _ := meta["annotations"].(map[string]any)
			if keep != (ann["helm.sh/resource-policy"] == "keep") {
				t.Errorf("crds.keep=%v but annotations are %v", keep, ann)
			}
			delete(ann, "helm.sh/resource-policy")
			labels, _ := meta["labels"].(map[string]any)
			if labels["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("CRD labels %v lack the chart's labels", labels)
			}
			delete(meta, "labels")
			if !reflect.DeepEqual(got, want) {
				gotJSON, _ := yaml.Marshal(got)
				wantJSON, _ := yaml.Marshal(want)
				t.Errorf("rendered CRD %v (keep=%v) differs from config/crd/bases beyond labels and annotations:\n%s", meta["name"], keep, diffLines(string(wantJSON), string(gotJSON)))
			}
		}
	}
	if n := len(render(t, operatorChart, "ops", "--set", "crds.install=false").ofKind("CustomResourceDefinition")); n != 0 {
		t.Errorf("crds.install=false still renders %d CRDs", n)
	}
}

// diffLines returns the first lines where a and b differ, for messages.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out bytes.Buffer
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out.WriteString("line " + strconv.Itoa(i+1) + ":\n- " + x + "\n+ " + y + "\n")
			if out.Len() > 2000 {
				break
			}
		}
	}
	return out.String()
}
