package chart

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// ------ RBAC: LEAST PRIVILEGE, TRACED TO MARKERS ------

// permission is one (API group, resource, verb) triple.
type permission struct{ Group, Resource, Verb string }

// String formats p as group/resource:verb ("core" for the empty group).
func (p permission) String() string {
	g := p.Group
	if g == "" {
		g = "core"
	}
	return g + "/" + p.Resource + ":" + p.Verb
}

// markerPermissions parses every `+kubebuilder:rbac:` marker in the Go files
// under controllers/ (tests excluded) into the permissions it grants, each
// mapped to the file:line that declares it.
func markerPermissions(t *testing.T) map[permission]string {
	t.Helper()
	perms := map[permission]string{}
	root := repoRoot(t)
	err := filepath.WalkDir(filepath.Join(root, "controllers"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			text := strings.TrimSpace(sc.Text())
			rest, ok := strings.CutPrefix(text, "// +kubebuilder:rbac:")
			if !ok {
				continue
			}
			where := fmt.Sprintf("%s:%d", strings.TrimPrefix(path, root+"/"), line)
			fields := map[string][]string{}
			for _, kv := range strings.Split(rest, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("%s: marker field %q is not key=value", where, kv)
				}
				v = strings.Trim(v, `"`)
				fields[k] = strings.Split(v, ";")
			}
			if fields["groups"] == nil || fields["resources"] == nil || fields["verbs"] == nil {
				return fmt.Errorf("%s: marker lacks groups, resources or verbs: %s", where, text)
			}
			for _, g := range fields["groups"] {
				for _, r := range fields["resources"] {
					for _, v := range fields["verbs"] {
						perms[permission{g, r, v}] = where
					}
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) == 0 {
		t.Fatal("no +kubebuilder:rbac markers under controllers/")
	}
	return perms
}

// expand returns the permissions a rule grants. Rules with resourceNames or
// nonResourceURLs are returned as an error: the operator declares neither.
func expand(r rbacv1.PolicyRule) ([]permission, error) {
	if len(r.NonResourceURLs) > 0 || len(r.ResourceNames) > 0 {
		return nil, fmt.Errorf("rule %+v uses nonResourceURLs or resourceNames, which no marker declares", r)
	}
	var out []permission
	for _, g := range r.APIGroups {
		for _, res := range r.Resources {
			for _, v := range r.Verbs {
				out = append(out, permission{g, res, v})
			}
		}
	}
	return out, nil
}

// renderedRules returns every RBAC rule the chart renders with args, keyed by
// "Kind/name".
func renderedRules(t *testing.T, args ...string) map[string][]rbacv1.PolicyRule {
	t.Helper()
	// The metrics endpoint's RBAC is not the operator's: TestOperatorMetricsRBAC.
	objs := withoutMetricsRBAC(render(t, operatorChart, "ops", args...))
	out := map[string][]rbacv1.PolicyRule{}
	for _, o := range objs.ofKind("ClusterRole") {
		var r rbacv1.ClusterRole
		decode(t, o, &r)
		if r.AggregationRule != nil {
			t.Errorf("ClusterRole %s aggregates other roles", r.Name)
		}
		out["ClusterRole/"+r.Name] = r.Rules
	}
	for _, o := range objs.ofKind("Role") {
		var r rbacv1.Role
		decode(t, o, &r)
		out["Role/"+r.Name] = r.Rules
	}
	return out
}

// TestRBACLeastPrivilege checks, for cluster and namespace scope with leader
// election, that every granted permission is declared by a
// +kubebuilder:rbac marker in controllers/, that nothing is a wildcard,
// pods/exec (or attach, portforward) or a Secret write, and that every
// declared permission is granted (the operator would fail otherwise).
func TestRBACLeastPrivilege(t *testing.T) {
	declared := markerPermissions(t)
	dangerousSubresources := []string{"pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy", "nodes/proxy"}
	readVerbs := []string{"get", "list", "watch"}
	for _, scope := range []string{"cluster", "namespace"} {
		t.Run(scope, func(t *testing.T) {
			roles := renderedRules(t, "--set", "watch.scope="+scope, "--set", "replicaCount=2")
			if len(roles) != 2 {
				t.Fatalf("want the operator role and the leader-election Role, got %v", slices.Collect(maps.Keys(roles)))
			}
			granted := map[permission]bool{}
			for name, rules := range roles {
				for _, r := range rules {
					perms, err := expand(r)
					if err != nil {
						t.Errorf("%s: %v", name, err)
						continue
					}
					for _, p := range perms {
						granted[p] = true
						if p.Group == "*" || p.Resource == "*" || p.Verb == "*" || strings.Contains(p.Resource, "*") {
							t.Errorf("%s grants the wildcard %s", name, p)
						}
						if slices.Contains(dangerousSubresources, p.Resource) {
							t.Errorf("%s grants %s", name, p)
						}
						if p.Group == "" && p.Resource == "secrets" && !slices.Contains(readVerbs, p.Verb) {
							t.Errorf("%s grants Secret write %s", name, p)
						}
						if p.Verb == "escalate" || p.Verb == "bind" || p.Verb == "impersonate" {
							t.Errorf("%s grants %s", name, p)
						}
						if _, ok := declared[p]; !ok {
							t.Errorf("%s grants %s, which no +kubebuilder:rbac marker in controllers/ declares", name, p)
						}
					}
				}
			}
			for p, where := range declared {
				if !granted[p] {
					t.Errorf("%s is declared at %s but the chart does not grant it", p, where)
				}
			}
		})
	}
}
