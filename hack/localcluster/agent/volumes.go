package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// ------ VOLUMES ------

// prepareVolumes materialises every volume of pod on the host and returns
// volume name -> host path. Content volumes (configMap, secret, downwardAPI,
// projected) are written when the pod starts and kept up to date while it
// runs (refreshVolumes); emptyDir survives
// container restarts; a persistentVolumeClaim maps to its bound PV's
// directory, which outlives the pod.
func (w *podWorker) prepareVolumes(ctx context.Context, pod *corev1.Pod) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(w.dir, "volumes", v.Name)
		var err error
		switch {
		case v.EmptyDir != nil:
			err = os.MkdirAll(dir, 0o777)
		case v.HostPath != nil:
			dir = v.HostPath.Path
			if v.HostPath.Type != nil && *v.HostPath.Type == corev1.HostPathDirectoryOrCreate {
				err = os.MkdirAll(dir, 0o755)
			} else if _, serr := os.Stat(dir); serr != nil {
				err = fmt.Errorf("hostPath %s: %w", dir, serr)
			}
		case v.PersistentVolumeClaim != nil:
			dir, err = w.claimPath(ctx, pod.Namespace, v.PersistentVolumeClaim.ClaimName)
		case v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
			var files []volumeFile
			files, err = w.volumeFiles(ctx, pod, v)
			if err == nil {
				err = writeVolumeFiles(dir, files)
			}
		default:
			err = fmt.Errorf("volume %q: this volume type is not supported by localcluster", v.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		out[v.Name] = dir
	}
	return out, nil
}

// volumeSyncPeriod is how often a running pod's configMap, secret,
// downwardAPI and projected volumes are rewritten from the API, as the
// kubelet's periodic sync does (it takes up to a minute or two; shorter
// here, so tests of renewals wait less).
const volumeSyncPeriod = 10 * time.Second

// refreshVolumes brings the content volumes of a running pod up to date:
// changed files are replaced in place inside the volume's directory, which
// the containers have bind-mounted (replacing the directory itself, as
// writeVolumeFiles does at start, would leave them the old one). A volume
// whose source cannot be read keeps its content, as on a kubelet.
func (w *podWorker) refreshVolumes(ctx context.Context, pod *corev1.Pod) {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap == nil && v.Secret == nil && v.DownwardAPI == nil && v.Projected == nil {
			continue
		}
		if hasTokenSource(v.Projected) {
			// A new token every sync would be a TokenRequest and a
			// rewrite each time; it stays as written at start, as before.
			continue
		}
		dir, ok := w.volumes[v.Name]
		if !ok {
			continue
		}
		files, err := w.volumeFiles(ctx, pod, v)
		if err == nil {
			err = updateVolumeFiles(dir, files)
		}
		if err != nil {
			w.logf("refreshing volume %q: %v", v.Name, err)
		}
	}
}

// hasTokenSource reports whether a projected volume holds a service
// account token.
func hasTokenSource(p *corev1.ProjectedVolumeSource) bool {
	if p == nil {
		return false
	}
	for _, src := range p.Sources {
		if src.ServiceAccountToken != nil {
			return true
		}
	}
	return false
}

// updateVolumeFiles makes dir hold exactly files, keeping dir itself:
// each changed file is written beside its target and renamed over it
// (a reader sees the old or the new content, never a torn one), and files
// no longer in the volume are removed.
func updateVolumeFiles(dir string, files []volumeFile) error {
	want := map[string]bool{}
	for _, f := range files {
		clean := filepath.Clean(f.path)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("file path %q must stay inside the volume", f.path)
		}
		want[clean] = true
		p := filepath.Join(dir, clean)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.data) {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm() == f.mode.Perm() {
				continue
			}
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		tmp := filepath.Join(filepath.Dir(p), ".."+filepath.Base(p)+".tmp")
		if err := os.WriteFile(tmp, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(tmp, f.mode); err != nil {
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
	}
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !want[rel] {
			return os.Remove(p)
		}
		return nil
	})
}

// claimPath returns the host directory of the PV bound to a claim.
func (w *podWorker) claimPath(ctx context.Context, namespace, claim string) (string, error) {
	pvc, err := w.a.client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("persistentvolumeclaim %q: %w", claim, err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("persistentvolumeclaim %q is not bound yet", claim)
	}
	pv, err := w.a.client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("persistentvolume %q: %w", pvc.Spec.VolumeName, err)
	}
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, os.MkdirAll(pv.Spec.HostPath.Path, 0o777)
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("persistentvolume %q is neither hostPath nor local", pv.Name)
}

// volumeFile is one file of a content volume.
type volumeFile struct {
	path string
	data []byte
	mode os.FileMode
}

// volumeFiles lists the files of a configMap, secret, downwardAPI or
// projected volume.
func (w *podWorker) volumeFiles(ctx context.Context, pod *corev1.Pod, v corev1.Volume) ([]volumeFile, error) {
	switch {
	case v.ConfigMap != nil:
		return w.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, modeOr(v.ConfigMap.DefaultMode, 0o644))
	case v.Secret != nil:
		return w.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, modeOr(v.Secret.DefaultMode, 0o644))
	case v.DownwardAPI != nil:
		return w.downwardFiles(pod, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode, 0o644))
	}
	def := modeOr(v.Projected.DefaultMode, 0o644)
	var files []volumeFile
	for _, src := range v.Projected.Sources {
		var part []volumeFile
		var err error
		switch {
		case src.ConfigMap != nil:
			part, err = w.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def)
		case src.Secret != nil:
			part, err = w.secretFiles(ctx, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def)
		case src.DownwardAPI != nil:
			part, err = w.downwardFiles(pod, src.DownwardAPI.Items, def)
		case src.ServiceAccountToken != nil:
			var tok string
			tok, err = w.serviceAccountToken(ctx, pod, src.ServiceAccountToken)
			part = []volumeFile{{path: src.ServiceAccountToken.Path, data: []byte(tok), mode: def}}
		default:
			err = fmt.Errorf("unsupported projected source")
		}
		if err != nil {
			return nil, err
		}
		files = append(files, part...)
	}
	return files, nil
}

// modeOr returns *m as a file mode, or def when m is nil.
func modeOr(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m) & 0o777
}

// selectItems returns the files of data: every key, or only the listed items
// with their paths and modes. A listed key missing from data is an error.
func selectItems(data map[string][]byte, items []corev1.KeyToPath, def os.FileMode, what string) ([]volumeFile, error) {
	var files []volumeFile
	if len(items) == 0 {
		for k, v := range data {
			files = append(files, volumeFile{path: k, data: v, mode: def})
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("%s has no key %q", what, it.Key)
		}
		files = append(files, volumeFile{path: it.Path, data: v, mode: modeOr(it.Mode, def)})
	}
	return files, nil
}

// configMapFiles returns the files of a configmap (nothing if optional and absent).
func (w *podWorker) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) ([]volumeFile, error) {
	cm, err := w.a.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("configmap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return selectItems(data, items, def, fmt.Sprintf("configmap %q", name))
}

// secretFiles returns the files of a secret (nothing if optional and absent).
func (w *podWorker) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) ([]volumeFile, error) {
	sec, err := w.a.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	return selectItems(sec.Data, items, def, fmt.Sprintf("secret %q", name))
}

// downwardFiles returns the files of downward-API items.
func (w *podWorker) downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def os.FileMode) ([]volumeFile, error) {
	ip := ""
	if w.ip != nil {
		ip = w.ip.String()
	}
	var files []volumeFile
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = PodField(pod, ip, w.a.net.Gateway.String(), it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			v = "0"
		}
		if err != nil {
			return nil, err
		}
		files = append(files, volumeFile{path: it.Path, data: []byte(v), mode: modeOr(it.Mode, def)})
	}
	return files, nil
}

// serviceAccountToken requests a token for the pod's service account bound
// to the pod, through the TokenRequest API.
func (w *podWorker) serviceAccountToken(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: p.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	if req.Spec.ExpirationSeconds == nil {
		req.Spec.ExpirationSeconds = ptr.To(int64(3607))
	}
	resp, err := w.a.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %q: %w", sa, err)
	}
	return resp.Status.Token, nil
}

// writeVolumeFiles replaces dir's content with files; a path escaping dir
// is rejected.
func writeVolumeFiles(dir string, files []volumeFile) error {
	tmp := dir + ".new"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		clean := filepath.Clean(f.path)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("file path %q must stay inside the volume", f.path)
		}
		p := filepath.Join(tmp, clean)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
	}
	_ = os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}
