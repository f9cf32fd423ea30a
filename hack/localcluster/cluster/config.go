// Package cluster owns the local cluster's lifecycle: its configuration and
// state directory, generated certificates, the control-plane processes
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and the
// node-agent process, started and stopped through pid files, and the cleanup
// of whatever a dead run left behind. It also is the Go API for fault
// injection, which it forwards to the running agent over a unix socket.
//
// It must not run pods itself (package agent does) and must not touch
// processes it did not start: each process it starts carries the
// LOCALCLUSTER_MEMBER_OF=<state dir> marker in its environment, and cleanup
// kills only processes with that marker.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// MarkerEnv is the environment variable every process of a cluster carries,
// set to its state directory, so cleanup finds exactly those processes. It
// differs from LOCALCLUSTER_STATE_DIR on purpose: a shell that exports the
// state directory to choose a cluster must not be taken for one of its
// processes.
const MarkerEnv = "LOCALCLUSTER_MEMBER_OF"

// K8sVersion is the control-plane version built by hack/k8s/build.sh.
const K8sVersion = "v1.37.0"

// ImageRule maps image names matching Pattern (a path.Match glob applied to
// the image's repository base name, e.g. "replnode" for
// "ghcr.io/x/replnode:v1") to a local executable.
type ImageRule struct {
	Pattern string `json:"pattern"`
	Binary  string `json:"binary"`
}

// Config is the whole configuration of one local cluster. It is written to
// <StateDir>/cluster.json by Up so the agent and later CLI calls agree.
type Config struct {
	RepoRoot    string      `json:"repoRoot"`
	StateDir    string      `json:"stateDir"`
	K8sBinDir   string      `json:"k8sBinDir"`
	Nodes       int         `json:"nodes"`
	Bridge      string      `json:"bridge"`
	PodCIDR     string      `json:"podCIDR"`
	ServiceCIDR string      `json:"serviceCIDR"`
	Images      []ImageRule `json:"images"`

	// Ports are chosen free at Up time.
	EtcdPort      int `json:"etcdPort"`
	EtcdPeerPort  int `json:"etcdPeerPort"`
	APIServerPort int `json:"apiServerPort"`
	KubeletPort   int `json:"kubeletPort"` // the agent's container-log API on the gateway

	// RestartBackoffBaseSeconds is the first crash-restart delay; it doubles
	// per restart up to RestartBackoffMaxSeconds.
	RestartBackoffBaseSeconds int `json:"restartBackoffBaseSeconds"`
	RestartBackoffMaxSeconds  int `json:"restartBackoffMaxSeconds"`
}

// DefaultConfig returns the configuration for the repository at repoRoot:
// state in <repo>/.localcluster, three nodes, bridge lcbr0 on 10.244.0.0/24,
// and the default image mapping. LOCALCLUSTER_STATE_DIR, LOCALCLUSTER_NODES,
// LOCALCLUSTER_BRIDGE, LOCALCLUSTER_POD_CIDR and LOCALCLUSTER_IMAGES
// (comma-separated pattern=binary, tried before the defaults) override those
// from the environment.
func DefaultConfig(repoRoot string) (*Config, error) {
	c := &Config{
		RepoRoot:                  repoRoot,
		StateDir:                  filepath.Join(repoRoot, ".localcluster"),
		K8sBinDir:                 filepath.Join(repoRoot, "bin", "k8s", K8sVersion),
		Nodes:                     3,
		Bridge:                    "lcbr0",
		PodCIDR:                   "10.244.0.0/24",
		ServiceCIDR:               "10.96.0.0/16",
		RestartBackoffBaseSeconds: 1,
		RestartBackoffMaxSeconds:  30,
	}
	if v := os.Getenv("LOCALCLUSTER_STATE_DIR"); v != "" {
		abs, err := filepath.Abs(v)
		if err != nil {
			return nil, err
		}
		c.StateDir = abs
	}
	if v := os.Getenv("LOCALCLUSTER_NODES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			return nil, fmt.Errorf("LOCALCLUSTER_NODES=%q: want a number from 1 to 20", v)
		}
		c.Nodes = n
	}
	if v := os.Getenv("LOCALCLUSTER_BRIDGE"); v != "" {
		c.Bridge = v
	}
	if v := os.Getenv("LOCALCLUSTER_POD_CIDR"); v != "" {
		c.PodCIDR = v
	}
	if v := os.Getenv("LOCALCLUSTER_IMAGES"); v != "" {
		rules, err := ParseImageRules(v)
		if err != nil {
			return nil, err
		}
		c.Images = append(c.Images, rules...)
	}
	bin := filepath.Join(repoRoot, "bin")
	c.Images = append(c.Images,
		ImageRule{Pattern: "replnode*", Binary: filepath.Join(bin, "replnode")},
		ImageRule{Pattern: "*manager*", Binary: filepath.Join(bin, "manager")},
		ImageRule{Pattern: "*operator*", Binary: filepath.Join(bin, "manager")},
		ImageRule{Pattern: "controller", Binary: filepath.Join(bin, "manager")},
	)
	return c, nil
}

// ParseImageRules parses "pattern=binary,pattern=binary"; relative binaries
// are made absolute against the working directory.
func ParseImageRules(s string) ([]ImageRule, error) {
	var rules []ImageRule
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		pat, bin, ok := strings.Cut(part, "=")
		if !ok || pat == "" || bin == "" {
			return nil, fmt.Errorf("image rule %q: want pattern=binary", part)
		}
		if _, err := path.Match(pat, "x"); err != nil {
			return nil, fmt.Errorf("image rule %q: bad pattern: %v", part, err)
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			return nil, err
		}
		rules = append(rules, ImageRule{Pattern: pat, Binary: abs})
	}
	return rules, nil
}

// ImageBaseName returns the repository base name of an image reference:
// "ghcr.io/replnode/replnode:v1@sha256:..." -> "replnode".
func ImageBaseName(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, "/"); i >= 0 {
		image = image[i+1:]
	}
	if i := strings.Index(image, ":"); i >= 0 {
		image = image[:i]
	}
	return image
}

// ResolveImage returns the executable for image under the first matching
// rule, or an error saying no rule maps it (the agent reports ErrImagePull).
// A matching rule whose binary does not exist is an error too.
func ResolveImage(rules []ImageRule, image string) (string, error) {
	base := ImageBaseName(image)
	for _, r := range rules {
		if ok, _ := path.Match(r.Pattern, base); !ok {
			continue
		}
		if _, err := os.Stat(r.Binary); err != nil {
			return "", fmt.Errorf("image %q maps to %s, which does not exist (build it first)", image, r.Binary)
		}
		return r.Binary, nil
	}
	return "", fmt.Errorf("image %q is not mapped to a local binary (set LOCALCLUSTER_IMAGES=pattern=/path/to/binary)", image)
}

// ------ STATE DIRECTORY LAYOUT ------

// PKIDir holds certificates and keys.
func (c *Config) PKIDir() string { return filepath.Join(c.StateDir, "pki") }

// LogDir holds control-plane and agent logs.
func (c *Config) LogDir() string { return filepath.Join(c.StateDir, "logs") }

// PidDir holds one pid file per started process.
func (c *Config) PidDir() string { return filepath.Join(c.StateDir, "pids") }

// PodsDir holds one directory per pod: volumes, container logs.
func (c *Config) PodsDir() string { return filepath.Join(c.StateDir, "pods") }

// PVDir holds one directory per provisioned PersistentVolume.
func (c *Config) PVDir() string { return filepath.Join(c.StateDir, "pv") }

// AdminKubeconfig is the kubeconfig with cluster-admin rights for kubectl.
func (c *Config) AdminKubeconfig() string { return filepath.Join(c.StateDir, "admin.kubeconfig") }

// AgentSocket is the unix socket the agent serves fault injection on.
func (c *Config) AgentSocket() string { return filepath.Join(c.StateDir, "agent.sock") }

// ConfigFile is where Up writes the configuration.
func (c *Config) ConfigFile() string { return filepath.Join(c.StateDir, "cluster.json") }

// NodeNames returns local-0 .. local-(Nodes-1).
func (c *Config) NodeNames() []string {
	names := make([]string, c.Nodes)
	for i := range names {
		names[i] = fmt.Sprintf("local-%d", i)
	}
	return names
}

// Save writes the configuration to ConfigFile.
func (c *Config) Save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.ConfigFile(), b, 0o644)
}

// Load reads the configuration of the cluster whose state is in stateDir.
func Load(stateDir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, "cluster.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no local cluster in %s (run `localcluster up`)", stateDir)
		}
		return nil, err
	}
	c := &Config{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, "cluster.json"), err)
	}
	return c, nil
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FindRepoRoot walks up from dir to the directory holding go.mod with the
// replnode module.
func FindRepoRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/replnode/replnode\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no replnode repository above %s", dir)
		}
	}
}

// BuildBinary builds the localcluster command (the agent and container-init
// that Up needs) from the repository at repoRoot into out, for test suites
// that bring a cluster up from Go.
func BuildBinary(ctx context.Context, repoRoot, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./hack/localcluster")
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build hack/localcluster: %v\n%s", err, b)
	}
	return nil
}
