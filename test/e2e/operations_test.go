package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers"
)

// ------ DAY-2 OPERATIONS ------
//
// On the sample group under a WAIT-acknowledged writer: every node drained
// in turn (the master's switched over first, then evicted), a rolling
// upgrade of the image, and a bad spec.config refused at admission, then,
// with the webhook bypassed, crash-looping a replica until the spec is fixed
// and the group heals by itself.

// TestOperations runs the day-2 scenarios in order on the sample group.
func TestOperations(t *testing.T) {
	if out, err := kubectl("apply", "-n", namespace, "-k", filepath.Join(repoRoot, "config/samples")); err != nil {
		t.Fatalf("apply config/samples: %v\n%s", err, out)
	}
	waitSettled(t, "", 3*time.Minute)
	// A pin left by an earlier scenario would pull the master back after each drain.
	rg := getGroup(t)
	if rg.Spec.Master != "" {
		patch := client.MergeFrom(rg.DeepCopy())
		rg.Spec.Master = ""
		if err := kube.Patch(context.Background(), rg, patch); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("drain", func(t *testing.T) { testDrains(t) })
	t.Run("rolling-upgrade", func(t *testing.T) { testRollingUpgrade(t) })
	t.Run("bad-config", func(t *testing.T) { testBadConfigHeals(t) })
}

// kubectlFor runs kubectl against the suite's cluster with a timeout.
func kubectlFor(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// nodeNames returns the cluster's nodes, sorted.
func nodeNames(t *testing.T) []string {
	t.Helper()
	var nodes corev1.NodeList
	if err := kube.List(context.Background(), &nodes); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes.Items {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return names
}

// testDrains drains each node in turn under the writer: every drain
// completes (the master's eviction waits for the operator's switchover),
// nothing acknowledged is lost and the group is Ready again after each.
func testDrains(t *testing.T) {
	w := startWriter()
	defer w.Finish()
	waitFor(t, time.Minute, "acknowledged writes", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
	for _, node := range nodeNames(t) {
		master := waitSettled(t, "", 4*time.Minute)
		var here []string
		for name, p := range members(t) {
			if p.Spec.NodeName == node {
				here = append(here, name)
			}
		}
		sort.Strings(here)
		at := time.Now()
		out, err := kubectlFor(5*time.Minute, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=4m")
		took := time.Since(at)
		if err != nil {
			_, _ = kubectl("uncordon", node)
			t.Fatalf("drain %s (members %v, master %s) did not complete after %s: %v\n%s", node, here, master, took.Round(time.Second), err, out)
		}
		for name, p := range members(t) {
			if p.Spec.NodeName == node && p.DeletionTimestamp.IsZero() {
				t.Errorf("member %s still runs on drained node %s", name, node)
			}
		}
		if out, err := kubectl("uncordon", node); err != nil {
			t.Fatalf("uncordon %s: %v\n%s", node, err, out)
		}
		newMaster := waitSettled(t, "", 4*time.Minute)
		settledAt := time.Now()
		waitFor(t, time.Minute, "an acknowledged write after the drain", func() bool { return w.AckedAfter(settledAt) })
		lost := missing(t, masterEndpoint(), w.Acked())
		record(fmt.Sprintf("drain: %s (members %v, master %s -> %s) in %s, write pause %s, acked lost %d",
			node, here, master, newMaster, took.Round(100*time.Millisecond), w.Outage(at, settledAt).Round(10*time.Millisecond), lost))
		if lost > 0 {
			t.Errorf("%d acknowledged writes lost by the drain of %s", lost, node)
		}
		if contains(here, master) && newMaster == master {
			t.Errorf("the master %s was on drained node %s and is still master", master, node)
		}
	}
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// testRollingUpgrade changes spec.image under the writer: the replicas roll
// one at a time, then a switchover, then the old master; nothing
// acknowledged is lost and every member ends on the new image.
func testRollingUpgrade(t *testing.T) {
	old := waitSettled(t, "", 4*time.Minute)
	w := startWriter()
	defer w.Finish()
	waitFor(t, time.Minute, "acknowledged writes", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
	rg := getGroup(t)
	image := "replnode:e2e-upgrade"
	if rg.Spec.Image == image {
		image = "replnode:e2e-upgrade-2"
	}
	patch := client.MergeFrom(rg.DeepCopy())
	rg.Spec.Image = image
	at := time.Now()
	if err := kube.Patch(context.Background(), rg, patch); err != nil {
		t.Fatalf("set spec.image: %v", err)
	}
	waitFor(t, 8*time.Minute, "every member on "+image+" and the group Ready", func() bool {
		pods := members(t)
		if len(pods) != 3 {
			return false
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image || !p.DeletionTimestamp.IsZero() {
				return false
			}
		}
		_, ok := settled(t, "")
		return ok
	})
	took := time.Since(at)
	doneAt := time.Now()
	waitFor(t, time.Minute, "an acknowledged write after the upgrade", func() bool { return w.AckedAfter(doneAt) })
	lost := missing(t, masterEndpoint(), w.Acked())
	record(fmt.Sprintf("rolling-upgrade: image -> %s in %s (master %s -> %s), write pause %s, acked lost %d",
		image, took.Round(100*time.Millisecond), old, getGroup(t).Status.CurrentMaster, w.Outage(at, doneAt).Round(10*time.Millisecond), lost))
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost by the rolling upgrade", lost)
	}
}

// testBadConfigHeals: a bad spec.config is refused at admission with the
// node's message; with the webhook gone, the same value crash-loops the
// first replica the rollout recreates and shows in MemberFailing; fixing
// the spec heals the group with no manual step.
func testBadConfigHeals(t *testing.T) {
	waitSettled(t, "", 4*time.Minute)
	badPatch := `{"spec":{"config":{"maxmemory":"lots"}}}`

	stop := serveWebhook(t)
	var out string
	waitFor(t, time.Minute, "the webhook refusing maxmemory lots", func() bool {
		var err error
		out, err = kubectl("patch", "rg", group, "-n", namespace, "--type", "merge", "-p", badPatch)
		if err == nil {
			// Accepted before the webhook was reachable (failurePolicy Ignore): undo.
			_, _ = kubectl("patch", "rg", group, "-n", namespace, "--type", "merge", "-p", `{"spec":{"config":{"maxmemory":"100mb"}}}`)
			return false
		}
		return true
	})
	if !strings.Contains(out, "spec.config[maxmemory]") || !strings.Contains(out, "argument must be a memory value") {
		t.Errorf("kubectl patch was refused without the node's message:\n%s", out)
	}
	record("bad-config: kubectl patch refused at admission: " + strings.TrimSpace(out))
	stop()
	waitSettled(t, "", 4*time.Minute)

	out, err := kubectl("patch", "rg", group, "-n", namespace, "--type", "merge", "-p", badPatch)
	if err != nil {
		t.Fatalf("with the webhook bypassed the patch failed: %v\n%s", err, out)
	}
	at := time.Now()
	var message string
	waitFor(t, 4*time.Minute, "MemberFailing with the node's error", func() bool {
		c := apimeta.FindStatusCondition(getGroup(t).Status.Conditions, replnodev1alpha1.ConditionMemberFailing)
		if c == nil || c.Status != metav1.ConditionTrue {
			return false
		}
		message = c.Message
		return strings.Contains(c.Message, "argument must be a memory value")
	})
	record(fmt.Sprintf("bad-config: MemberFailing after %s: %s", time.Since(at).Round(time.Second), message))
	if getGroup(t).Status.CurrentMaster == "" {
		t.Fatal("the group lost its master to a bad replica config")
	}

	fixedAt := time.Now()
	if out, err := kubectl("patch", "rg", group, "-n", namespace, "--type", "merge", "-p", `{"spec":{"config":{"maxmemory":"100mb"}}}`); err != nil {
		t.Fatalf("fix: %v\n%s", err, out)
	}
	waitSettled(t, "", 5*time.Minute)
	waitFor(t, time.Minute, "MemberFailing False", func() bool {
		return apimeta.IsStatusConditionFalse(getGroup(t).Status.Conditions, replnodev1alpha1.ConditionMemberFailing)
	})
	record(fmt.Sprintf("bad-config: fixed spec healed the group by itself in %s", time.Since(fixedAt).Round(time.Second)))
}

// serveWebhook runs the operator's validating webhook (controllers.
// SetupWebhookWithManager, as the manager serves it) in this process on the
// host's loopback, where the local cluster's API server reaches it, and
// registers it with failurePolicy Ignore as the chart does. stop removes
// the registration and stops the server.
func serveWebhook(t *testing.T) (stop func()) {
	t.Helper()
	certDir := t.TempDir()
	caPEM := writeServingCert(t, certDir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	rest, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = replnodev1alpha1.AddToScheme(scheme)
	mgr, err := ctrl.NewManager(rest, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.SetupWebhookWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(ctx) }()
	url := fmt.Sprintf("https://127.0.0.1:%d%s", port, controllers.WebhookPath)
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "replnode-e2e"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "vreplicationgroup.replnode.io",
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			TimeoutSeconds:          ptr.To[int32](5),
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"replnode.io"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"replicationgroups"}},
			}},
		}},
	}
	if err := kube.Create(context.Background(), vwc); err != nil {
		cancel()
		t.Fatalf("register the webhook: %v", err)
	}
	return func() {
		_ = kube.Delete(context.Background(), vwc)
		cancel()
		<-done
	}
}

// writeServingCert writes a self-signed tls.crt/tls.key for 127.0.0.1 into
// dir and returns the certificate (its own CA) in PEM.
func writeServingCert(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "replnode-e2e-webhook"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}
