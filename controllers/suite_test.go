package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
	"github.com/replnode/replnode/replnode/server"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// ------ SUITE ------
//
// The suite runs a real kube-apiserver and etcd built from source by
// `make k8s-bins` (hack/k8s/build.sh). They are found through
// KUBEBUILDER_ASSETS (exported by `make test`) or, when that is unset, at
// bin/k8s/<version>/ in the repository.

var (
	testEnv    *envtest.Environment
	testConfig *rest.Config
	suiteCtx   context.Context
	suiteStop  context.CancelFunc
	testScheme = runtime.NewScheme()
	k8sClient  client.Client
	fakeNodes  *nodeclient.Fake
	kubelet    *fakeKubelet
	processes  *processKubelet
)

// TestControllers runs the Ginkgo specs of the controllers package.
func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controllers Suite")
}

// repoRoot returns the repository root, two directories above this file.
func repoRoot() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// k8sAssetsDir returns the directory holding kube-apiserver and etcd, or an
// error naming `make k8s-bins` when they are not built yet.
func k8sAssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		matches, _ := filepath.Glob(filepath.Join(repoRoot(), "bin", "k8s", "v*", ".stamp"))
		if len(matches) == 0 {
			return "", fmt.Errorf("no control plane binaries: KUBEBUILDER_ASSETS is unset and bin/k8s/<version>/.stamp does not exist; run `make k8s-bins` (or `make test`)")
		}
		dir = filepath.Dir(matches[len(matches)-1])
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("control plane binary %s missing in %s: run `make k8s-bins`", bin, dir)
		}
	}
	return dir, nil
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	suiteCtx, suiteStop = context.WithCancel(context.Background())

	assets, err := k8sAssetsDir()
	Expect(err).NotTo(HaveOccurred())

	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		// A loaded 2-core machine shared by several developers starts
		// kube-apiserver slowly.
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	testConfig, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "starting envtest from %s", assets)
	Expect(testConfig).NotTo(BeNil())

	Expect(clientgoscheme.AddToScheme(testScheme)).To(Succeed())
	Expect(replnodev1alpha1.AddToScheme(testScheme)).To(Succeed())
	k8sClient, err = client.New(testConfig, client.Options{Scheme: testScheme})
	Expect(err).NotTo(HaveOccurred())

	// The operator runs in-process against the fake node client; the fake
	// kubelet starts the pods it creates.
	mgr, err := ctrl.NewManager(testConfig, ctrl.Options{
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	fakeNodes = nodeclient.NewFake()
	fakeNodes.NewACL = server.NewACLRegistry
	reconciler := &ReplicationGroupReconciler{
		Client:       mgr.GetClient(),
		Scheme:       mgr.GetScheme(),
		Recorder:     mgr.GetEventRecorder("replnode-operator"),
		Nodes:        routingClient{real: &nodeclient.RESP{Timeout: 5 * time.Second}, fake: fakeNodes},
		ResyncPeriod: time.Second,
	}
	Expect(reconciler.SetupWithManager(mgr)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
	kubelet = newFakeKubelet(k8sClient, fakeNodes)
	go kubelet.run(suiteCtx, 100*time.Millisecond)
	processes = newProcessKubelet(k8sClient)
	if processes != nil {
		go processes.run(suiteCtx, 200*time.Millisecond)
	}
})

var _ = AfterSuite(func() {
	if suiteStop != nil {
		suiteStop()
	}
	if processes != nil {
		processes.stopAll()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

var _ = Describe("envtest control plane", func() {
	It("answers discovery with the core API group", func() {
		dc, err := discovery.NewDiscoveryClientForConfig(testConfig)
		Expect(err).NotTo(HaveOccurred())
		version, err := dc.ServerVersion()
		Expect(err).NotTo(HaveOccurred())
		// Source-built binaries carry no version stamp (GitVersion is
		// "v0.0.0-master+$Format:%H$"), so only its presence is checked.
		Expect(version.GitVersion).NotTo(BeEmpty())
		resources, err := dc.ServerResourcesForGroupVersion("v1")
		Expect(err).NotTo(HaveOccurred())
		names := []string{}
		for _, r := range resources.APIResources {
			names = append(names, r.Name)
		}
		Expect(names).To(ContainElements("pods", "services", "configmaps", "secrets", "persistentvolumeclaims"))
	})
})
