// Command kubectl-replnode is the kubectl plugin of the replnode operator
// (`kubectl replnode ...` once it is on the PATH):
//
//	kubectl replnode status GROUP [-o json]        members, roles, offsets, lag, last failover, conditions
//	kubectl replnode switchover GROUP [--to MEMBER] zero-loss switchover (sets spec.master)
//	kubectl replnode restart GROUP                  rolling restart, replicas first, the master last
//	kubectl replnode fence|unfence GROUP MEMBER     take a replica out of service, or back
//	kubectl replnode backup GROUP [--name N]        take a Backup (docs/backup.md)
//
// It only reads and writes the ReplicationGroup (and reads its pods), and
// creates Backups; the operator does the work. Kubeconfig, context and namespace are chosen as
// kubectl chooses them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

const usage = `kubectl replnode: operate replnode ReplicationGroups.

Usage:
  kubectl replnode status GROUP [-o text|json]
  kubectl replnode switchover GROUP [--to MEMBER]
  kubectl replnode restart GROUP
  kubectl replnode fence GROUP MEMBER
  kubectl replnode unfence GROUP MEMBER
  kubectl replnode backup GROUP [--name N] [--target replica|prefer-replica|master]
                          [--bucket B --endpoint HOST:PORT --credentials-secret S [--prefix P] [--region R] [--insecure]]

Commands:
  status      members with roles, offsets and lag, the last failover and the conditions, on one screen
  switchover  make MEMBER master without losing acknowledged writes (default: the most
              advanced in-sync replica); it sets spec.master, which pins the master there
              until spec.master is cleared
  restart     restart every member, replicas one at a time, then the master after a
              switchover (sets spec.podAnnotations[kubectl.kubernetes.io/restartedAt],
              as kubectl rollout restart does)
  fence       take a replica out of service: no Service selects it, it is never made
              master, it keeps running and replicating with its data (the
              replnode.io/fencedInstances annotation, as CloudNativePG's fencing)
  unfence     put it back in service
  backup      create a Backup of GROUP (default name GROUP-<UTC yyyymmddhhmmss>): the
              operator streams a snapshot from a caught-up replica to the object store.
              Without --bucket the object store is the one of the group's ScheduledBackup,
              else of its newest Backup

Flags:
`

// restartedAtAnnotation is the pod annotation kubectl rollout restart sets;
// a change of spec.podAnnotations rolls the group.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, time.Now); err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

// run parses args and runs one command, writing its output to out.
func run(ctx context.Context, args []string, out, errOut io.Writer, now func() time.Time) error {
	fs := pflag.NewFlagSet("kubectl-replnode", pflag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprint(errOut, usage)
		fs.PrintDefaults()
	}
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	overrides := &clientcmd.ConfigOverrides{}
	fs.StringVar(&loading.ExplicitPath, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&overrides.CurrentContext, "context", "", "the kubeconfig context to use")
	fs.StringVarP(&overrides.Context.Namespace, "namespace", "n", "", "namespace of the group (default: the context's)")
	output := fs.StringP("output", "o", "text", "status output format: text or json")
	to := fs.String("to", "", "switchover: the member to make master (default: the most advanced in-sync replica)")
	var bk backupOptions
	fs.StringVar(&bk.Name, "name", "", "backup: the Backup's name (default GROUP-<UTC yyyymmddhhmmss>)")
	fs.StringVar(&bk.Target, "target", string(replnodev1alpha1.BackupTargetReplica), "backup: the member to snapshot: replica, prefer-replica or master")
	fs.StringVar(&bk.Store.Bucket, "bucket", "", "backup: the bucket (with --endpoint and --credentials-secret)")
	fs.StringVar(&bk.Store.Endpoint, "endpoint", "", "backup: the S3 endpoint, host[:port]")
	fs.StringVar(&bk.Store.Credentials.SecretName, "credentials-secret", "", "backup: the Secret with accessKeyID and secretAccessKey")
	fs.StringVar(&bk.Store.Prefix, "prefix", "", "backup: the object key prefix")
	fs.StringVar(&bk.Store.Region, "region", "", "backup: the bucket's region")
	fs.BoolVar(&bk.Store.Insecure, "insecure", false, "backup: plain HTTP to the endpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return errors.New("a command and a GROUP are required")
	}
	command, group := fs.Arg(0), fs.Arg(1)
	wantArgs := 2
	if command == "fence" || command == "unfence" {
		wantArgs = 3
	}
	if fs.NArg() != wantArgs {
		fs.Usage()
		return fmt.Errorf("%s takes %d arguments, got %v", command, wantArgs-1, fs.Args()[1:])
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("--output must be text or json, not %q", *output)
	}
	kc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, overrides)
	ns, _, err := kc.Namespace()
	if err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	cfg, err := kc.ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := replnodev1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	key := client.ObjectKey{Namespace: ns, Name: group}
	switch command {
	case "status":
		return status(ctx, c, key, *output, out, now())
	case "switchover":
		return switchover(ctx, c, key, *to, out)
	case "restart":
		return restart(ctx, c, key, out, now())
	case "fence", "unfence":
		return fence(ctx, c, key, fs.Arg(2), command == "fence", out)
	case "backup":
		return takeBackup(ctx, c, key, bk, out, now())
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", command)
}
