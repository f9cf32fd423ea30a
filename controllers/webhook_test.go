package controllers

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ THE VALIDATING WEBHOOK ------

// TestValidateRedisConf is a table of spec.config values and the node's verdict.
func TestValidateRedisConf(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]replnodev1alpha1.ConfigValue
		// want is "" for accepted, else the field and message of the refusal.
		want string
	}{
		{"no config", nil, ""},
		{"good values", map[string]replnodev1alpha1.ConfigValue{"maxmemory": "100mb", "maxmemory-policy": "allkeys-lru", "hz": "20", "save": "900 1"}, ""},
		{"not a memory value", map[string]replnodev1alpha1.ConfigValue{"maxmemory": "lots"},
			`spec.config[maxmemory]: Invalid value: "lots": argument must be a memory value`},
		{"not a policy", map[string]replnodev1alpha1.ConfigValue{"maxmemory-policy": "sometimes"},
			`spec.config[maxmemory-policy]: Invalid value: "sometimes": argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction`},
		{"unknown directive", map[string]replnodev1alpha1.ConfigValue{"maxmemroy": "1gb"},
			`spec.config[maxmemroy]: Invalid value: "1gb": Bad directive or wrong number of arguments`},
		{"out of range", map[string]replnodev1alpha1.ConfigValue{"hz": "abc"},
			`spec.config[hz]: Invalid value: "abc": argument couldn't be parsed into an integer`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rg := testGroup()
			rg.Spec.Config = tc.config
			_, err := validateRedisConf(rg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want Invalid with %q", err, tc.want)
			}
		})
	}
}

// TestValidateUpdateRatchets checks an update that leaves redis.conf as it
// was is allowed even when it is bad (stored before the webhook existed),
// while an update that changes it is checked.
func TestValidateUpdateRatchets(t *testing.T) {
	old := testGroup()
	old.Spec.Config = map[string]replnodev1alpha1.ConfigValue{"maxmemory": "lots"}
	relabelled := old.DeepCopy()
	relabelled.Labels = map[string]string{"team": "shop"}
	relabelled.Spec.Master = "cache-1"
	if _, err := (ConfigValidator{}).ValidateUpdate(context.Background(), old, relabelled); err != nil {
		t.Errorf("an update that leaves the configuration alone was refused: %v", err)
	}
	changed := old.DeepCopy()
	changed.Spec.Config["hz"] = "20"
	if _, err := (ConfigValidator{}).ValidateUpdate(context.Background(), old, changed); err == nil {
		t.Error("an update that keeps a bad value while changing the configuration was accepted")
	}
	fixed := old.DeepCopy()
	fixed.Spec.Config = nil
	if _, err := (ConfigValidator{}).ValidateUpdate(context.Background(), old, fixed); err != nil {
		t.Errorf("the fix was refused: %v", err)
	}
}

// TestWebhookServed runs the webhook in a manager against envtest's API
// server, registered from config/webhook as the chart registers it: a bad
// value is refused at admission with the node's message; the CEL rules still
// apply; and with the manager gone (failurePolicy Ignore) the API accepts
// the group instead of blocking.
func TestWebhookServed(t *testing.T) {
	assets, err := k8sAssetsDir()
	if err != nil {
		t.Skip(err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        []string{filepath.Join(repoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		WebhookInstallOptions:    envtest.WebhookInstallOptions{Paths: []string{filepath.Join(repoRoot(), "config", "webhook")}},
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = replnodev1alpha1.AddToScheme(scheme)
	wh := &env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          webhook.NewServer(webhook.Options{Host: wh.LocalServingHost, Port: wh.LocalServingPort, CertDir: wh.LocalServingCertDir}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := SetupWebhookWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	group := func(name string, config map[string]replnodev1alpha1.ConfigValue) *replnodev1alpha1.ReplicationGroup {
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}}
		rg.Spec.Replicas = ptr.To[int32](1)
		rg.Spec.Config = config
		return rg
	}
	// The server needs a moment to listen; until then Ignore lets everything in.
	deadline := time.Now().Add(time.Minute)
	for i := 0; ; i++ {
		err := c.Create(context.Background(), group("probe-"+string(rune('a'+i%26))+strings.Repeat("x", i/26), map[string]replnodev1alpha1.ConfigValue{"maxmemory": "lots"}))
		if err != nil {
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.config[maxmemory]: Invalid value: "lots": argument must be a memory value`) {
				t.Fatalf("refused with %v, want the node's message on spec.config[maxmemory]", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook never refused maxmemory lots")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := c.Create(context.Background(), group("good", map[string]replnodev1alpha1.ConfigValue{"maxmemory": "64mb"})); err != nil {
		t.Fatalf("a good configuration was refused: %v", err)
	}
	err = c.Create(context.Background(), group("owned", map[string]replnodev1alpha1.ConfigValue{"port": "7000"}))
	if err == nil || !strings.Contains(err.Error(), "operator-owned") {
		t.Errorf("the CEL rule on operator-owned directives no longer applies: %v", err)
	}
	good := &replnodev1alpha1.ReplicationGroup{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "good"}, good); err != nil {
		t.Fatal(err)
	}
	good.Spec.Config["maxmemory-policy"] = "sometimes"
	if err := c.Update(context.Background(), good); err == nil || !strings.Contains(err.Error(), "spec.config[maxmemory-policy]") {
		t.Errorf("a bad update was not refused on its key: %v", err)
	}

	// The operator goes away: the API must not be blocked.
	stop()
	if err := <-done; err != nil {
		t.Fatalf("manager: %v", err)
	}
	if err := c.Create(context.Background(), group("while-down", map[string]replnodev1alpha1.ConfigValue{"maxmemory": "lots"})); err != nil {
		t.Errorf("with the webhook down the API refused a group: %v", err)
	}
}
