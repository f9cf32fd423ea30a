package agent

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ------ ENVIRONMENT AND $(VAR) EXPANSION (pure) ------

// Expand replaces $(NAME) in s with lookup(NAME) like the kubelet does:
// "$$" is a literal "$" (so "$$(X)" stays "$(X)"), and a reference to an
// unknown name, or an unterminated one, is left as written.
func Expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// EnvSource resolves the references an env var may hold; the agent backs it
// with the pod and the API, tests with maps.
type EnvSource interface {
	// Field returns the value of a downward-API field path of the pod.
	Field(path string) (string, error)
	// ConfigMapKey returns key of configmap name; ok is false if absent.
	ConfigMapKey(name, key string) (value string, ok bool, err error)
	// SecretKey returns key of secret name; ok is false if absent.
	SecretKey(name, key string) (value string, ok bool, err error)
	// ConfigMapData returns all keys of configmap name; ok is false if absent.
	ConfigMapData(name string) (data map[string]string, ok bool, err error)
	// SecretData returns all keys of secret name; ok is false if absent.
	SecretData(name string) (data map[string]string, ok bool, err error)
}

// BuildEnv returns the container's environment as ordered NAME=value pairs:
// base first (e.g. KUBERNETES_SERVICE_HOST), then envFrom, then env, each
// later entry overriding an earlier one of the same name and $(VAR) in
// values expanded against the entries before it. A missing non-optional
// reference is an error naming it.
func BuildEnv(c *corev1.Container, base []corev1.EnvVar, src EnvSource) ([]string, error) {
	values := map[string]string{}
	var order []string
	set := func(name, value string) {
		if _, seen := values[name]; !seen {
			order = append(order, name)
		}
		values[name] = value
	}
	lookup := func(name string) (string, bool) { v, ok := values[name]; return v, ok }
	for _, e := range base {
		set(e.Name, e.Value)
	}
	for _, from := range c.EnvFrom {
		var data map[string]string
		var ok bool
		var err error
		optional := false
		switch {
		case from.ConfigMapRef != nil:
			optional = from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
			data, ok, err = src.ConfigMapData(from.ConfigMapRef.Name)
			if err == nil && !ok && !optional {
				err = fmt.Errorf("configmap %q not found", from.ConfigMapRef.Name)
			}
		case from.SecretRef != nil:
			optional = from.SecretRef.Optional != nil && *from.SecretRef.Optional
			data, ok, err = src.SecretData(from.SecretRef.Name)
			if err == nil && !ok && !optional {
				err = fmt.Errorf("secret %q not found", from.SecretRef.Name)
			}
		}
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			set(from.Prefix+k, v)
		}
	}
	for _, e := range c.Env {
		v, err := resolveEnvVar(e, src, lookup)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		set(e.Name, v)
	}
	out := make([]string, 0, len(order))
	for _, name := range order {
		out = append(out, name+"="+values[name])
	}
	return out, nil
}

// resolveEnvVar returns the value of one env entry.
func resolveEnvVar(e corev1.EnvVar, src EnvSource, lookup func(string) (string, bool)) (string, error) {
	if e.ValueFrom == nil {
		return Expand(e.Value, lookup), nil
	}
	vf := e.ValueFrom
	switch {
	case vf.FieldRef != nil:
		return src.Field(vf.FieldRef.FieldPath)
	case vf.ResourceFieldRef != nil:
		return "0", nil
	case vf.ConfigMapKeyRef != nil:
		r := vf.ConfigMapKeyRef
		v, ok, err := src.ConfigMapKey(r.Name, r.Key)
		if err != nil {
			return "", err
		}
		if !ok && (r.Optional == nil || !*r.Optional) {
			return "", fmt.Errorf("key %q of configmap %q not found", r.Key, r.Name)
		}
		return v, nil
	case vf.SecretKeyRef != nil:
		r := vf.SecretKeyRef
		v, ok, err := src.SecretKey(r.Name, r.Key)
		if err != nil {
			return "", err
		}
		if !ok && (r.Optional == nil || !*r.Optional) {
			return "", fmt.Errorf("key %q of secret %q not found", r.Key, r.Name)
		}
		return v, nil
	}
	return "", fmt.Errorf("unsupported valueFrom")
}

// PodField returns a downward-API field of pod, as fieldRef and downwardAPI
// volumes see it; an unknown path is an error.
func PodField(pod *corev1.Pod, podIP, hostIP, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels['": pod.Labels, "metadata.annotations['": pod.Annotations} {
		if strings.HasPrefix(path, prefix) && strings.HasSuffix(path, "']") {
			return m[strings.TrimSuffix(strings.TrimPrefix(path, prefix), "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported field path %q", path)
}

// formatMap renders labels/annotations as the kubelet does: sorted key="value" lines.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// ExpandCommand returns command+args with $(VAR) expanded against env
// (NAME=value pairs), as the kubelet does for a container's argv.
func ExpandCommand(command, args []string, env []string) []string {
	values := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	lookup := func(n string) (string, bool) { v, ok := values[n]; return v, ok }
	var out []string
	for _, s := range append(append([]string{}, command...), args...) {
		out = append(out, Expand(s, lookup))
	}
	return out
}
