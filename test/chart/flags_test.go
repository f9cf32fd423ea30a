package chart

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestManagerAcceptsChartFlags checks every flag the chart passes to the
// manager, over all value sets, is one bin/manager declares (its -h output),
// so renaming a flag in cmd/manager cannot silently break the chart. It
// skips when bin/manager is missing (`make build`; make test builds it).
func TestManagerAcceptsChartFlags(t *testing.T) {
	manager := filepath.Join(repoRoot(t), "bin", "manager")
	if !fileExists(manager) {
		t.Skip("bin/manager is missing; run `make build` (make test does)")
	}
	// -h prints usage and exits 0; the flag list is what matters.
	usage, _ := exec.Command(manager, "-h").CombinedOutput()
	declared := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(usage), -1) {
		declared[m[1]] = true
	}
	if !declared["leader-elect"] || !declared["metrics-bind-address"] {
		t.Fatalf("could not read the flags from `bin/manager -h`:\n%s", usage)
	}
	for name, args := range valueSets(t) {
		var dep appsv1.Deployment
		render(t, operatorChart, "ops", args...).one(t, "Deployment", &dep)
		for _, a := range managerContainer(t, &dep).Args {
			flag, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") || !declared[flag] {
				t.Errorf("%s: the chart passes %q, which bin/manager does not declare", name, a)
			}
		}
	}
}
