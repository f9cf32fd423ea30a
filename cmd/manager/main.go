// Command manager runs the replnode operator, which reconciles
// ReplicationGroup objects (replnode.io/v1alpha1) into a master and replicas.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// options are the manager's command-line settings.
type options struct {
	metricsAddr, probeAddr, leaderNamespace, namespace, kubeconfig string
	leaderElect                                                    bool
	metricsSecure, enableHTTP2                                     bool
	metricsCertDir                                                 string
	nodeTimeout, resync                                            time.Duration
	// webhookCertDir holds tls.crt and tls.key of the validating webhook;
	// empty serves no webhook.
	webhookCertDir string
	webhookPort    int
	zap            zap.Options
}

// parseFlags parses args (without the program name). On bad flags it prints
// the error and usage to out and returns an error; -h returns flag.ErrHelp.
func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: manager [flags]\n\nRuns the replnode operator: reconciles ReplicationGroup objects (replnode.io/v1alpha1).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", "address the metrics endpoint binds to (\"0\" disables it)")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", true, "serve metrics over HTTPS to callers whose bearer token may get the /metrics URL (TokenReview and SubjectAccessReview); -metrics-secure=false serves plain HTTP to anyone")
	fs.StringVar(&o.metricsCertDir, "metrics-cert-dir", "", "directory holding tls.crt and tls.key for the metrics endpoint, reloaded when they change (default: a self-signed certificate made at startup)")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "allow HTTP/2 on the metrics endpoint (off: HTTP/2 Rapid Reset, CVE-2023-44487 and CVE-2023-39325)")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address the /healthz and /readyz endpoints bind to")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader through a Lease, so only one manager acts at a time (-leader-elect=false for a single local run)")
	fs.StringVar(&o.leaderNamespace, "leader-election-namespace", "", "namespace of the leader election lease (default: the in-cluster namespace)")
	fs.StringVar(&o.namespace, "namespace", "", "watch only this namespace (default: all namespaces)")
	fs.DurationVar(&o.nodeTimeout, "node-timeout", 2*time.Second, "timeout of each command sent to a replnode member (a master that stopped answering costs this much per look)")
	fs.DurationVar(&o.resync, "resync-period", 2*time.Second, "how often a settled group is checked again (members' roles and offsets change without Kubernetes events)")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", "", "directory holding tls.crt and tls.key: serve the validating webhook of ReplicationGroups (spec.config checked by the node's parser) with them (default: no webhook)")
	fs.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the validating webhook (with -webhook-cert-dir)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to a kubeconfig file (default: $KUBECONFIG, then in-cluster)")
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments %v", fs.Args())
		fmt.Fprintln(out, err)
		fs.Usage()
		return nil, err
	}
	if o.nodeTimeout <= 0 || o.resync <= 0 {
		err := errors.New("-node-timeout and -resync-period must be positive")
		fmt.Fprintln(out, err)
		fs.Usage()
		return nil, err
	}
	return o, nil
}

// Leader election timings. A leader that cannot renew its Lease for
// leaseRenewDeadline stops leading, and controller-runtime then makes
// mgr.Start return "leader election lost" (skipping graceful shutdown), so
// the process exits; another manager may take over leaseDuration after the
// last renewal. RenewDeadline < LeaseDuration leaves the old leader
// leaseDuration-leaseRenewDeadline to exit before a new one can start. A
// leader paused longer than that (SIGSTOP, a frozen VM) can still wake up
// mid-reconcile: the reconciler then checks, right before each node command,
// that the lease was renewed less than leaseRenewDeadline ago, and runs the
// command bounded by that instant so nothing is sent after it however long
// the call or a pause takes (leaderLock, controllers/leadership.go): the
// leaseDuration-leaseRenewDeadline left is the bytes' time to reach the node.
// status.failoverEpoch with the optimistic status lock fence a command that
// gets through anyway.
const (
	leaseDuration      = 15 * time.Second
	leaseRenewDeadline = 10 * time.Second
	leaseRetryPeriod   = 2 * time.Second
)

// managerOptions turns the flags into the manager's options.
func managerOptions(o *options, scheme *runtime.Scheme) ctrl.Options {
	opts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOptions(o),
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "replnode-operator.replnode.io",
		LeaderElectionNamespace: o.leaderNamespace,
		LeaseDuration:           new(leaseDuration),
		RenewDeadline:           new(leaseRenewDeadline),
		RetryPeriod:             new(leaseRetryPeriod),
		// On SIGTERM the leader gives the Lease up at once, so a rolling
		// update of the operator does not wait leaseDuration for a leader.
		LeaderElectionReleaseOnCancel: true,
	}
	if o.webhookCertDir != "" {
		opts.WebhookServer = webhook.NewServer(webhook.Options{Port: o.webhookPort, CertDir: o.webhookCertDir})
	}
	if o.namespace != "" {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{o.namespace: {}}
	}
	return opts
}

// metricsOptions configures controller-runtime's metrics endpoint as
// kubebuilder scaffolds it: by default HTTPS, and each request's bearer
// token must pass a TokenReview and a SubjectAccessReview for "get" on the
// non-resource URL /metrics (the chart's <fullname>-metrics-reader
// ClusterRole grants it; the manager itself needs tokenreviews and
// subjectaccessreviews create, the chart's <fullname>-metrics-auth).
func metricsOptions(o *options) metricsserver.Options {
	m := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.metricsSecure, CertDir: o.metricsCertDir}
	if o.metricsSecure {
		m.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if !o.enableHTTP2 {
		m.TLSOpts = append(m.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	return m
}

// main parses flags, builds the manager and runs it until SIGTERM/SIGINT.
// Bad flags print usage and exit 2.
func main() {
	if len(os.Args) > 1 && os.Args[1] == restoreCommand {
		os.Exit(restoreFrom(os.Args[2:], os.Stderr))
	}
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
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
	opts := managerOptions(o, scheme)
	if o.kubeconfig != "" {
		if err := os.Setenv("KUBECONFIG", o.kubeconfig); err != nil {
			log.Error(err, "setting KUBECONFIG")
			os.Exit(1)
		}
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes configuration (-kubeconfig, $KUBECONFIG or in-cluster)")
		os.Exit(1)
	}
	var leader *controllers.RenewalTracker
	if opts.LeaderElection {
		if leader, err = leaderLock(cfg, opts.LeaderElectionID, opts.LeaderElectionNamespace); err != nil {
			log.Error(err, "creating the leader election lock")
			os.Exit(1)
		}
		opts.LeaderElectionResourceLockInterface = leader
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
		Nodes:        &nodeclient.RESP{Timeout: o.nodeTimeout},
		ResyncPeriod: o.resync,
	}
	if leader != nil {
		// Checked right before every node command (controllers/leadership.go).
		r.Leader = leader
	}
	if err := r.SetupWithManager(mgr); err != nil {
		log.Error(err, "setting up the ReplicationGroup controller")
		os.Exit(1)
	}
	if o.webhookCertDir != "" {
		if err := controllers.SetupWebhookWithManager(mgr); err != nil {
			log.Error(err, "setting up the validating webhook")
			os.Exit(1)
		}
		if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
			log.Error(err, "adding the webhook readiness check")
			os.Exit(1)
		}
	}
	if err := setupBackupControllers(mgr); err != nil {
		log.Error(err, "setting up the Backup controllers")
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
	log.Info("starting the manager", "metrics", o.metricsAddr, "metricsSecure", o.metricsSecure, "probes", o.probeAddr, "leaderElection", o.leaderElect, "webhookCertDir", o.webhookCertDir)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
