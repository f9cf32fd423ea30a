package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/hack/localcluster/podnet"
)

// ------ LAUNCHING A CONTAINER ------

// MountSpec is one bind mount of a container: a host path at a target path.
type MountSpec struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

// InitSpec is what `localcluster container-init SPEC` needs to turn itself
// into the container's process.
type InitSpec struct {
	NetNS    string      `json:"netns"`
	Hostname string      `json:"hostname"`
	Scratch  string      `json:"scratch"` // directory for the root's tmpfs and overlay
	Hosts    string      `json:"hosts"`
	Mounts   []MountSpec `json:"mounts"`
	Argv     []string    `json:"argv"`
	Env      []string    `json:"env"`
	WorkDir  string      `json:"workDir"`
	ErrFile  string      `json:"errFile"`
}

// launch resolves c's image, environment, command and mounts and starts its
// process; on failure it returns the kubelet's waiting reason with the error.
func (w *podWorker) launch(ctx context.Context, pod *corev1.Pod, c *ctr) (*os.Process, string, error) {
	binary, err := cluster.ResolveImage(w.a.cfg.Images, c.spec.Image)
	if err != nil {
		return nil, "ErrImagePull", err
	}
	env, err := BuildEnv(&c.spec, w.baseEnv(pod), &apiEnvSource{ctx: ctx, w: w, pod: pod})
	if err != nil {
		return nil, "CreateContainerConfigError", err
	}
	argv, err := containerArgv(w.a.cfg.Images, binary, cluster.ImageBaseName(c.spec.Image), c.spec.Command, c.spec.Args, env)
	if err != nil {
		return nil, "RunContainerError", err
	}
	var mounts []MountSpec
	for _, m := range c.spec.VolumeMounts {
		src, ok := w.volumes[m.Name]
		if !ok {
			return nil, "CreateContainerConfigError", fmt.Errorf("volume mount %q names no volume of the pod", m.Name)
		}
		if m.SubPath != "" {
			if strings.Contains(m.SubPath, "..") || filepath.IsAbs(m.SubPath) {
				return nil, "CreateContainerConfigError", fmt.Errorf("subPath %q must be relative and stay inside the volume", m.SubPath)
			}
			src = filepath.Join(src, m.SubPath)
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := os.MkdirAll(src, 0o777); err != nil {
					return nil, "CreateContainerConfigError", err
				}
			}
		}
		mounts = append(mounts, MountSpec{Source: src, Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	runDir := filepath.Join(w.dir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, "RunContainerError", err
	}
	// As the kubelet: a fresh file of the container's own, bind-mounted at
	// terminationMessagePath (/dev/termination-log by default), read when
	// it exits. Mounted last, so a path inside a volume lands on top.
	if path := c.spec.TerminationMessagePath; path != "" {
		termFile := w.terminationLogPath(c.spec.Name)
		if err := os.WriteFile(termFile, nil, 0o666); err != nil {
			return nil, "RunContainerError", err
		}
		_ = os.Chmod(termFile, 0o666) // any user the container runs as may write it
		mounts = append(mounts, MountSpec{Source: termFile, Target: path})
	}
	spec := InitSpec{
		NetNS:    podnet.NamespacePath(w.nsName),
		Hostname: podHostname(pod),
		Scratch:  filepath.Join(runDir, c.spec.Name+".root"),
		Hosts:    fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost\n%s\t%s\n", w.ip, podHostname(pod)),
		Mounts:   mounts,
		Argv:     argv,
		Env:      append(env, cluster.MarkerEnv+"="+w.a.cfg.StateDir),
		WorkDir:  c.spec.WorkingDir,
		ErrFile:  filepath.Join(runDir, c.spec.Name+".err"),
	}
	if err := os.MkdirAll(spec.Scratch, 0o755); err != nil {
		return nil, "RunContainerError", err
	}
	_ = os.Remove(spec.ErrFile)
	specPath := filepath.Join(runDir, c.spec.Name+".json")
	b, _ := json.MarshalIndent(spec, "", "  ")
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		return nil, "RunContainerError", err
	}
	logFile, err := os.OpenFile(w.logPath(c.spec.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, "RunContainerError", err
	}
	defer logFile.Close()
	self, err := os.Executable()
	if err != nil {
		return nil, "RunContainerError", err
	}
	// The child holds the write end of a pipe as fd 3, close-on-exec: the
	// read end sees EOF exactly when the container's program has been
	// exec'd (or container-init died), so "Running" means running.
	execDone, execSignal, err := os.Pipe()
	if err != nil {
		return nil, "RunContainerError", err
	}
	defer execDone.Close()
	cmd := exec.Command(self, "container-init", specPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{execSignal}
	cmd.Env = []string{cluster.MarkerEnv + "=" + w.a.cfg.StateDir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS, Setpgid: true}
	err = cmd.Start()
	execSignal.Close()
	if err != nil {
		return nil, "RunContainerError", err
	}
	_ = execDone.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, _ = io.Copy(io.Discard, execDone)
	// A container-init that failed before exec has written ErrFile and
	// exits; handleExit reports that as StartError.
	return cmd.Process, "", nil
}

// logPath is the log file of a container of this pod.
func (w *podWorker) logPath(container string) string {
	return filepath.Join(w.dir, "logs", container+".log")
}

// terminationLogPath is the host file behind a container's
// terminationMessagePath.
func (w *podWorker) terminationLogPath(container string) string {
	return filepath.Join(w.dir, "run", container+".termination-log")
}

// podHostname is the pod's hostname: spec.hostname or its name, at most 63 chars.
func podHostname(pod *corev1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

// containerArgv returns the process argv. Without a command the image's
// binary is the entrypoint. With one, command[0] runs as given when it is an
// existing absolute path or found on PATH; a command naming the image's own
// program (the binary's or the image's base name, e.g. "replnode" or
// "/manager") runs the mapped binary. A command naming another program the
// rules map (e.g. "manager" in the replnode image) runs that program's
// binary: the real image ships both binaries (hack/image/Dockerfile), and
// the restore init container of a member pod runs `manager restore-from`.
func containerArgv(rules []cluster.ImageRule, binary, imageBase string, command, args, env []string) ([]string, error) {
	argv := ExpandCommand(command, args, env)
	if len(command) == 0 {
		return append([]string{binary}, argv...), nil
	}
	first := argv[0]
	if filepath.Base(first) == filepath.Base(binary) || filepath.Base(first) == imageBase {
		argv[0] = binary
		return argv, nil
	}
	if program, err := cluster.ResolveImage(rules, filepath.Base(first)); err == nil {
		argv[0] = program
		return argv, nil
	}
	if filepath.IsAbs(first) {
		if _, err := os.Stat(first); err == nil {
			return argv, nil
		}
		return nil, fmt.Errorf("executable %q not found (the image maps to %s)", first, binary)
	}
	if p, err := exec.LookPath(first); err == nil {
		argv[0] = p
		return argv, nil
	}
	return nil, fmt.Errorf("executable %q not found in PATH (the image maps to %s)", first, binary)
}

// baseEnv is the environment every container gets before its own: the
// in-cluster API server address and the hostname.
func (w *podWorker) baseEnv(pod *corev1.Pod) []corev1.EnvVar {
	host := w.a.net.Gateway.String()
	port := fmt.Sprint(w.a.cfg.APIServerPort)
	return []corev1.EnvVar{
		{Name: "PATH", Value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{Name: "HOSTNAME", Value: podHostname(pod)},
		{Name: "KUBERNETES_SERVICE_HOST", Value: host},
		{Name: "KUBERNETES_SERVICE_PORT", Value: port},
		{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: port},
		{Name: "KUBERNETES_PORT", Value: "tcp://" + host + ":" + port},
		{Name: "KUBERNETES_PORT_443_TCP", Value: "tcp://" + host + ":" + port},
		{Name: "KUBERNETES_PORT_443_TCP_PROTO", Value: "tcp"},
		{Name: "KUBERNETES_PORT_443_TCP_ADDR", Value: host},
		{Name: "KUBERNETES_PORT_443_TCP_PORT", Value: port},
	}
}

// apiEnvSource resolves env references against the pod and the API.
type apiEnvSource struct {
	ctx context.Context
	w   *podWorker
	pod *corev1.Pod
}

// Field implements EnvSource.
func (s *apiEnvSource) Field(path string) (string, error) {
	ip := ""
	if s.w.ip != nil {
		ip = s.w.ip.String()
	}
	return PodField(s.pod, ip, s.w.a.net.Gateway.String(), path)
}

// ConfigMapData implements EnvSource.
func (s *apiEnvSource) ConfigMapData(name string) (map[string]string, bool, error) {
	cm, err := s.w.a.client.CoreV1().ConfigMaps(s.pod.Namespace).Get(s.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	data := map[string]string{}
	for k, v := range cm.Data {
		data[k] = v
	}
	for k, v := range cm.BinaryData {
		data[k] = string(v)
	}
	return data, true, nil
}

// SecretData implements EnvSource.
func (s *apiEnvSource) SecretData(name string) (map[string]string, bool, error) {
	sec, err := s.w.a.client.CoreV1().Secrets(s.pod.Namespace).Get(s.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	data := map[string]string{}
	for k, v := range sec.Data {
		data[k] = string(v)
	}
	for k, v := range sec.StringData {
		data[k] = v
	}
	return data, true, nil
}

// ConfigMapKey implements EnvSource.
func (s *apiEnvSource) ConfigMapKey(name, key string) (string, bool, error) {
	data, ok, err := s.ConfigMapData(name)
	if err != nil || !ok {
		return "", false, err
	}
	v, ok := data[key]
	return v, ok, nil
}

// SecretKey implements EnvSource.
func (s *apiEnvSource) SecretKey(name, key string) (string, bool, error) {
	data, ok, err := s.SecretData(name)
	if err != nil || !ok {
		return "", false, err
	}
	v, ok := data[key]
	return v, ok, nil
}

// ------ CONTAINER INIT (runs in the new process) ------

// ContainerInit turns the current process into a container: it joins the
// pod's network namespace, builds a private root (an overlay of the host's
// root with a tmpfs upper layer, fresh /proc and /tmp, the host's /dev and
// /sys) with the volumes bind-mounted at their paths, chroots into it and
// execs the container's argv with its environment. The process must have
// been started in new mount and UTS namespaces. On failure it writes the
// reason to the spec's ErrFile for the agent and returns the error.
func ContainerInit(specPath string) (err error) {
	runtime.LockOSThread() // setns applies to this thread, which then execs
	syscall.CloseOnExec(3) // the agent's exec-done pipe: closes when we exec
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec InitSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("container spec %s: %w", specPath, err)
	}
	defer func() {
		if err != nil && spec.ErrFile != "" {
			_ = os.WriteFile(spec.ErrFile, []byte(err.Error()), 0o644)
		}
	}()
	if len(spec.Argv) == 0 {
		return errors.New("container spec has no command")
	}
	fd, err := syscall.Open(spec.NetNS, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("join network namespace %s: %w", spec.NetNS, err)
	}
	syscall.Close(fd)
	// The program is opened now, in the host's view: the pod gets a private
	// /tmp, so a mapped binary under /tmp (a checkout or a test's temp dir)
	// would be invisible after the chroot. It is exec'd through
	// /proc/self/fd then.
	var program *os.File
	if filepath.IsAbs(spec.Argv[0]) {
		program, _ = os.Open(spec.Argv[0])
	}
	if err := syscall.Sethostname([]byte(spec.Hostname)); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := syscall.Mount("tmpfs", spec.Scratch, "tmpfs", 0, "size=1g,mode=0755"); err != nil {
		return fmt.Errorf("scratch tmpfs: %w", err)
	}
	upper, work, root := filepath.Join(spec.Scratch, "upper"), filepath.Join(spec.Scratch, "work"), filepath.Join(spec.Scratch, "root")
	for _, d := range []string{upper, work, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount("overlay", root, "overlay", 0, fmt.Sprintf("lowerdir=/,upperdir=%s,workdir=%s", upper, work)); err != nil {
		return fmt.Errorf("root overlay: %w", err)
	}
	// /dev is the host's devices under an overlay whose upper layer is the
	// scratch tmpfs: a file a container creates there (the default
	// terminationMessagePath is /dev/termination-log) stays its own
	// instead of landing in the host's /dev for every pod to see. The
	// overlay does not show the mounts under the host's /dev (pts, shm,
	// mqueue), so they are bound again on top.
	devUpper, devWork := filepath.Join(spec.Scratch, "dev-upper"), filepath.Join(spec.Scratch, "dev-work")
	for _, d := range []string{devUpper, devWork} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	base := []struct {
		src, target, fstype string
		flags               uintptr
		data                string
	}{
		{"proc", "/proc", "proc", 0, ""},
		{"overlay", "/dev", "overlay", 0, fmt.Sprintf("lowerdir=/dev,upperdir=%s,workdir=%s", devUpper, devWork)},
		{"/sys", "/sys", "", syscall.MS_BIND | syscall.MS_REC, ""},
		{"tmpfs", "/tmp", "tmpfs", 0, "mode=1777,size=512m"},
	}
	for _, m := range base {
		t, err := resolveInRoot(root, m.target)
		if err != nil {
			return err
		}
		_ = os.MkdirAll(t, 0o755)
		if err := syscall.Mount(m.src, t, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mount %s: %w", m.target, err)
		}
	}
	devMounts, err := mountsUnder("/proc/self/mountinfo", "/dev")
	if err != nil {
		return err
	}
	for _, d := range devMounts {
		t, err := resolveInRoot(root, d)
		if err != nil {
			return err
		}
		_ = os.MkdirAll(t, 0o755)
		if err := syscall.Mount(d, t, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", d, err)
		}
	}
	for name, content := range map[string]string{"/etc/hostname": spec.Hostname + "\n", "/etc/hosts": spec.Hosts} {
		if p, err := resolveInRoot(root, name); err == nil {
			_ = os.Remove(p) // a link or the lower layer's file: replace it in the upper layer
			_ = os.WriteFile(p, []byte(content), 0o644)
		}
	}
	for _, m := range spec.Mounts {
		if err := bindInto(root, m); err != nil {
			return err
		}
	}
	if err := syscall.Chroot(root); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	wd := spec.WorkDir
	if wd == "" {
		wd = "/"
	}
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return err
	}
	if err := os.Chdir(wd); err != nil {
		return fmt.Errorf("working directory %s: %w", wd, err)
	}
	argv0 := spec.Argv[0]
	if !strings.Contains(argv0, "/") {
		for _, kv := range spec.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				os.Setenv("PATH", v)
			}
		}
		p, err := exec.LookPath(argv0)
		if err != nil {
			return fmt.Errorf("executable %q: %w", argv0, err)
		}
		argv0 = p
	} else if _, err := os.Stat(argv0); err != nil && program != nil {
		argv0 = fmt.Sprintf("/proc/self/fd/%d", program.Fd())
	}
	if err := syscall.Exec(argv0, spec.Argv, spec.Env); err != nil {
		return fmt.Errorf("exec %s: %w", argv0, err)
	}
	return nil
}

// mountsUnder returns the mount points strictly below dir listed in a
// mountinfo file (field 5), shallowest first, each once.
func mountsUnder(mountinfo, dir string) ([]string, error) {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		// Octal escapes (\040 for a space) are left as they are: no device
		// mount point has one.
		mp := fields[4]
		if !strings.HasPrefix(mp, dir+"/") || seen[mp] {
			continue
		}
		seen[mp] = true
		out = append(out, mp)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.Count(out[i], "/") < strings.Count(out[j], "/") })
	return out, nil
}

// bindInto bind-mounts m.Source at m.Target under root, creating the target
// as a file or directory to match the source, read-only when asked.
func bindInto(root string, m MountSpec) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("volume source %s: %w", m.Source, err)
	}
	t, err := resolveInRoot(root, m.Target)
	if err != nil {
		return err
	}
	if st.IsDir() {
		if err := os.MkdirAll(t, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
			return err
		}
		if f, err := os.OpenFile(t, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	if err := syscall.Mount(m.Source, t, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s at %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := syscall.Mount("", t, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", m.Target, err)
		}
	}
	return nil
}

// resolveInRoot returns the host path of p inside the directory tree root,
// following symlinks as if root were "/" (an absolute link like
// /var/run -> /run stays inside root), so creating mount points never
// touches the host's own directories.
func resolveInRoot(root, p string) (string, error) {
	rest := strings.Split(strings.Trim(filepath.Clean("/"+p), "/"), "/")
	cur := "/"
	for links := 0; len(rest) > 0; {
		comp := rest[0]
		rest = rest[1:]
		if comp == "" || comp == "." {
			continue
		}
		if comp == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, comp)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("too many symlinks resolving %s", p)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(cur, target)
		}
		rest = append(strings.Split(strings.Trim(filepath.Clean(target), "/"), "/"), rest...)
		cur = "/"
	}
	return filepath.Join(root, cur), nil
}
