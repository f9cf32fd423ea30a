package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/replnode/replnode/hack/localcluster/agent"
	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/hack/localcluster/podnet"
)

const usage = `localcluster: a local Kubernetes cluster whose pods are processes.

  localcluster up                      start a fresh cluster (cleans up a dead run first)
  localcluster down                    stop everything and remove the state
  localcluster status                  show the cluster's processes
  localcluster env                     print 'export KUBECONFIG=...'
  localcluster logs POD [-n NS] [-c CONTAINER] [-f]
                                       print a container's log
  localcluster fault kill POD [-n NS] [-c CONTAINER]
  localcluster fault stop-node NODE | resume-node NODE
  localcluster fault partition POD [-n NS] [-from pods|api|host|all]
                                       cut the pod off; -from takes a list (pods,host);
                                       all = pods,api (the host still reaches the pod)
  localcluster fault cut POD [-n NS] -from WHAT [-dir both|out|in]
                                       add one cut, print its id; WHAT is a list of
                                       pods, api, host, all, pod:NAME, pod:NS/NAME;
                                       -dir (peer pods only): out drops POD's packets
                                       to the peer, in the peer's packets to POD
  localcluster fault pause POD [-n NS] | resume POD [-n NS]
                                       SIGSTOP / SIGCONT every process of the pod
  localcluster fault heal [ID]         remove cut ID; without ID: every partition
                                       and cut, resume nodes and paused pods

Environment: LOCALCLUSTER_STATE_DIR (default <repo>/.localcluster),
LOCALCLUSTER_NODES (default 3), LOCALCLUSTER_IMAGES (pattern=binary,...).
`

// main dispatches the subcommand and exits non-zero with its error.
func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := dispatch(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// dispatch runs one subcommand.
func dispatch(cmd string, args []string) error {
	switch cmd {
	case "container-init":
		if len(args) != 1 {
			return fmt.Errorf("usage: container-init SPEC")
		}
		return agent.ContainerInit(args[0])
	case "agent":
		fs := flag.NewFlagSet("agent", flag.ContinueOnError)
		state := fs.String("state", "", "state directory of the cluster")
		if err := fs.Parse(args); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return agent.Run(ctx, *state)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "localcluster: "+format+"\n", a...) }
	switch cmd {
	case "up":
		self, err := os.Executable()
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := cluster.Up(ctx, cfg, self, logf); err != nil {
			return err
		}
		fmt.Printf("export KUBECONFIG=%s\n", cfg.AdminKubeconfig())
		return nil
	case "down":
		return cluster.Down(cfg, logf)
	case "status", "env", "logs", "fault":
		loaded, err := cluster.Load(cfg.StateDir)
		if err != nil {
			return err
		}
		switch cmd {
		case "status":
			lines, err := cluster.Status(loaded)
			fmt.Println(strings.Join(lines, "\n"))
			return err
		case "env":
			fmt.Printf("export KUBECONFIG=%s\n", loaded.AdminKubeconfig())
			return nil
		case "logs":
			return logs(loaded, args)
		default:
			return fault(loaded, args)
		}
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// config returns the configuration for the repository around the working
// directory (or around this executable).
func config() (*cluster.Config, error) {
	wd, _ := os.Getwd()
	root, err := cluster.FindRepoRoot(wd)
	if err != nil {
		self, _ := os.Executable()
		if root, err = cluster.FindRepoRoot(filepath.Dir(self)); err != nil {
			return nil, fmt.Errorf("run localcluster inside the replnode repository: %w", err)
		}
	}
	return cluster.DefaultConfig(root)
}

// podFlags parses "POD [-n NS] [-c CONTAINER] ..." with the pod name first
// or anywhere among the flags.
func podFlags(name string, args []string, extra func(*flag.FlagSet)) (pod, ns, container string, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	nsFlag := fs.String("n", "default", "namespace")
	cFlag := fs.String("c", "", "container")
	if extra != nil {
		extra(fs)
	}
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return "", "", "", err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		return "", "", "", fmt.Errorf("want exactly one pod name, got %v", positional)
	}
	return positional[0], *nsFlag, *cFlag, nil
}

// logs prints a container's log file (following it with -f).
func logs(c *cluster.Config, args []string) error {
	var follow bool
	pod, ns, container, err := podFlags("logs", args, func(fs *flag.FlagSet) { fs.BoolVar(&follow, "f", false, "follow") })
	if err != nil {
		return err
	}
	dirs, _ := filepath.Glob(filepath.Join(c.PodsDir(), ns+"_"+pod+"_*"))
	if len(dirs) == 0 {
		return fmt.Errorf("no pod %s/%s has run on this cluster", ns, pod)
	}
	sort.Slice(dirs, func(i, j int) bool { return modTime(dirs[i]).After(modTime(dirs[j])) })
	files, _ := filepath.Glob(filepath.Join(dirs[0], "logs", "*.log"))
	if container != "" {
		files = []string{filepath.Join(dirs[0], "logs", container+".log")}
	} else if len(files) != 1 {
		var names []string
		for _, f := range files {
			names = append(names, strings.TrimSuffix(filepath.Base(f), ".log"))
		}
		return fmt.Errorf("pod %s/%s has containers %v: choose one with -c", ns, pod, names)
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if _, err := io.Copy(os.Stdout, f); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// modTime returns a path's modification time (zero if missing).
func modTime(p string) time.Time {
	st, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// fault runs one fault-injection subcommand against the agent.
func fault(c *cluster.Config, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: fault kill|stop-node|resume-node|partition|heal ARGS")
	}
	f := cluster.NewFaults(c)
	ctx := context.Background()
	var msg string
	var err error
	switch args[0] {
	case "kill":
		pod, ns, container, perr := podFlags("kill", args[1:], nil)
		if perr != nil {
			return perr
		}
		msg, err = f.KillPod(ctx, ns, pod, container)
	case "stop-node", "resume-node":
		if len(args) != 2 {
			return fmt.Errorf("usage: fault %s NODE", args[0])
		}
		if args[0] == "stop-node" {
			msg, err = f.StopNode(ctx, args[1])
		} else {
			msg, err = f.ResumeNode(ctx, args[1])
		}
	case "partition":
		from := "all"
		pod, ns, _, perr := podFlags("partition", args[1:], func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "all", "pods, api, host or all (pods and api), comma-separated")
		})
		if perr != nil {
			return perr
		}
		cut, cerr := podnet.ParseCut(from)
		if cerr != nil {
			return cerr
		}
		msg, err = f.Partition(ctx, ns, pod, cut)
	case "cut":
		var from, dir string
		pod, ns, _, perr := podFlags("cut", args[1:], func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "", "pods, api, host, all, pod:NAME, pod:NS/NAME, comma-separated")
			fs.StringVar(&dir, "dir", "both", "for peer pods: both, out (POD to peer) or in (peer to POD)")
		})
		if perr != nil {
			return perr
		}
		if from == "" {
			return errors.New("cut: say what to cut the pod off from with -from")
		}
		spec, serr := cluster.ParseCutSpec(ns, pod, from, dir)
		if serr != nil {
			return serr
		}
		_, msg, err = f.Cut(ctx, spec)
	case "pause", "resume":
		pod, ns, _, perr := podFlags(args[0], args[1:], nil)
		if perr != nil {
			return perr
		}
		if args[0] == "pause" {
			msg, err = f.PausePod(ctx, ns, pod)
		} else {
			msg, err = f.ResumePod(ctx, ns, pod)
		}
	case "heal":
		switch len(args) {
		case 1:
			msg, err = f.HealAll(ctx)
		case 2:
			msg, err = f.HealCut(ctx, args[1])
		default:
			return errors.New("usage: fault heal [ID]")
		}
	default:
		return fmt.Errorf("unknown fault %q (kill, stop-node, resume-node, partition, cut, pause, resume, heal)", args[0])
	}
	if err != nil {
		return err
	}
	fmt.Println(msg)
	return nil
}
