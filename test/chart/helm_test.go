package chart

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

// ------ LOCATING THE REPOSITORY AND HELM ------

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error

	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// repoRoot returns the repository root: the nearest parent directory of the
// test's working directory holding go.mod and charts/. It fails the test if
// there is none.
func repoRoot(t *testing.T) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "charts")) {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("no parent directory holds go.mod and charts/")
				return
			}
			dir = parent
		}
	})
	if rootErr != nil {
		t.Fatalf("finding the repository root: %v", rootErr)
	}
	return rootDir
}

// helmBin returns the path of bin/helm, running `make helm` once when it is
// missing. It fails the test with the command to run when helm cannot be
// built (e.g. the module proxy is unreachable).
func helmBin(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	helmOnce.Do(func() {
		helmPath = filepath.Join(root, "bin", "helm")
		if fileExists(helmPath) {
			return
		}
		cmd := exec.Command("make", "-C", root, "helm")
		out, err := cmd.CombinedOutput()
		if err != nil {
			helmErr = fmt.Errorf("bin/helm is missing and `make helm` failed: %v\n%s", err, out)
			return
		}
		if !fileExists(helmPath) {
			helmErr = fmt.Errorf("`make helm` succeeded but %s does not exist", helmPath)
		}
	})
	if helmErr != nil {
		t.Fatalf("%v\nbuild helm with `make helm` (needs the Go module proxy) and rerun", helmErr)
	}
	return helmPath
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ------ RUNNING HELM ------

// helm runs bin/helm with args in the repository root and returns its stdout,
// stderr and error (non-nil when helm exits non-zero).
func helm(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Dir = repoRoot(t)
	// Keep helm away from the user's config, cache and repositories.
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// object is one rendered manifest: its kind, name and namespace, the source
// template and the raw YAML, which callers decode into typed objects.
type object struct {
	Kind, Name, Namespace, Source string
	YAML                          []byte
}

// rendered is the output of one `helm template`, in order.
type rendered []object

var (
	documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	sourceComment     = regexp.MustCompile(`(?m)^# Source: (\S+)`)
)

// render runs `helm template release chartDir -n namespace args...` and
// splits the output into objects. It fails the test when helm fails.
func render(t *testing.T, chart, namespace string, args ...string) rendered {
	t.Helper()
	full := append([]string{"template", "test", filepath.Join("charts", chart), "--namespace", namespace}, args...)
	stdout, stderr, err := helm(t, full...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(full, " "), err, stderr)
	}
	objs, err := splitManifests(stdout)
	if err != nil {
		t.Fatalf("helm %s: %v", strings.Join(full, " "), err)
	}
	return objs
}

// splitManifests splits multi-document YAML into objects, skipping empty
// documents; a document without kind or metadata.name is an error.
func splitManifests(out string) (rendered, error) {
	var objs rendered
	for _, doc := range documentSeparator.Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("rendered document is not YAML: %v\n%s", err, doc)
		}
		if head.Kind == "" || head.Metadata.Name == "" {
			return nil, fmt.Errorf("rendered document has no kind or metadata.name:\n%s", doc)
		}
		src := ""
		if m := sourceComment.FindStringSubmatch(doc); m != nil {
			src = m[1]
		}
		objs = append(objs, object{Kind: head.Kind, Name: head.Metadata.Name, Namespace: head.Metadata.Namespace, Source: src, YAML: []byte(doc)})
	}
	return objs, nil
}

// stripComments drops whole-line YAML comments.
func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// ofKind returns the objects of one kind.
func (r rendered) ofKind(kind string) []object {
	var out []object
	for _, o := range r {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// kinds returns "Kind/name" for every object, for failure messages.
func (r rendered) kinds() []string {
	var out []string
	for _, o := range r {
		out = append(out, o.Kind+"/"+o.Name)
	}
	return out
}

// one decodes the single object of kind into into, failing the test unless
// exactly one exists.
func (r rendered) one(t *testing.T, kind string, into any) object {
	t.Helper()
	objs := r.ofKind(kind)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s, rendered %d (objects: %v)", kind, len(objs), r.kinds())
	}
	decode(t, objs[0], into)
	return objs[0]
}

// decode unmarshals o strictly into into: a field the Go type does not know
// fails the test, so misspelled or misplaced keys in a template are caught.
func decode(t *testing.T, o object, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(o.YAML, into); err != nil {
		t.Fatalf("decoding %s/%s from %s: %v", o.Kind, o.Name, o.Source, err)
	}
}

// yamlUnmarshal decodes YAML non-strictly (for partial views of objects).
func yamlUnmarshal(data []byte, into any) error {
	return yaml.Unmarshal(data, into)
}

// readYAML decodes the repository file rel (relative to the root) into into.
func readYAML(t *testing.T, rel string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}
