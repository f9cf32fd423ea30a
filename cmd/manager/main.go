// Command manager runs the replnode operator, which reconciles
// ReplicationGroup objects (replnode.io/v1alpha1) into a master and replicas.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// main parses flags, builds the manager and runs it until SIGTERM/SIGINT.
// Bad flags print usage and exit 2.
func main() {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: manager [flags]\n\nRuns the replnode operator: reconciles ReplicationGroup objects (replnode.io/v1alpha1).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	metricsAddr := fs.String("metrics-bind-address", ":8080", "address the metrics endpoint binds to (\"0\" disables it)")
	probeAddr := fs.String("health-probe-bind-address", ":8081", "address the /healthz and /readyz endpoints bind to")
	leaderElect := fs.Bool("leader-elect", false, "enable leader election, so only one manager is active")
	leaderNamespace := fs.String("leader-election-namespace", "", "namespace of the leader election lease (default: the in-cluster namespace)")
	namespace := fs.String("namespace", "", "watch only this namespace (default: all namespaces)")
	nodeTimeout := fs.Duration("node-timeout", 5*time.Second, "timeout of each command sent to a replnode member")
	resync := fs.Duration("resync-period", 10*time.Second, "how often a settled group is checked again")
	kubeconfig := fs.String("kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, then in-cluster)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "manager: unexpected arguments %v\n", fs.Args())
		fs.Usage()
		os.Exit(2)
	}
	if *nodeTimeout <= 0 || *resync <= 0 {
		fmt.Fprintln(os.Stderr, "manager: -node-timeout and -resync-period must be positive")
		fs.Usage()
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		log.Error(err, "registering core types")
		os.Exit(1)
	}
	if err := replnodev1alpha1.AddToScheme(scheme); err != nil {
		log.Error(err, "registering replnode.io types")
		os.Exit(1)
	}
	opts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress:  *probeAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "replnode-operator.replnode.io",
		LeaderElectionNamespace: *leaderNamespace,
	}
	if *namespace != "" {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{*namespace: {}}
	}
	if *kubeconfig != "" {
		if err := os.Setenv("KUBECONFIG", *kubeconfig); err != nil {
			log.Error(err, "setting KUBECONFIG")
			os.Exit(1)
		}
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes configuration (-kubeconfig, $KUBECONFIG or in-cluster)")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		log.Error(err, "creating the manager")
		os.Exit(1)
	}
	r := &controllers.ReplicationGroupReconciler{
		Client:       mgr.GetClient(),
		Scheme:       mgr.GetScheme(),
		Recorder:     mgr.GetEventRecorder("replnode-operator"),
		Nodes:        &nodeclient.RESP{Timeout: *nodeTimeout},
		ResyncPeriod: *resync,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		log.Error(err, "setting up the ReplicationGroup controller")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "adding the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "adding the readiness check")
		os.Exit(1)
	}
	log.Info("starting the manager", "metrics", *metricsAddr, "probes", *probeAddr, "leaderElection", *leaderElect)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
