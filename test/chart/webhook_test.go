package chart

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// ------ THE VALIDATING WEBHOOK ------

// TestOperatorWebhook checks the chart's ValidatingWebhookConfiguration
// matches the one controller-gen writes from the operator's marker
// (config/webhook), that the generated certificate is valid for the webhook
// Service and signed by the caBundle, that the manager serves it from the
// mounted Secret, and the namespace scope, cert-manager and off switches.
func TestOperatorWebhook(t *testing.T) {
	var generated admissionregistrationv1.ValidatingWebhookConfiguration
	readYAML(t, "config/webhook/manifests.yaml", &generated)
	if len(generated.Webhooks) != 1 {
		t.Fatalf("config/webhook holds %d webhooks, want 1", len(generated.Webhooks))
	}
	want := generated.Webhooks[0]

	objs := render(t, operatorChart, "ops")
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	objs.one(t, "ValidatingWebhookConfiguration", &vwc)
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("chart renders %d webhooks, want 1", len(vwc.Webhooks))
	}
	wh := vwc.Webhooks[0]
	if wh.Name != want.Name || *wh.ClientConfig.Service.Path != *want.ClientConfig.Service.Path {
		t.Errorf("webhook %s at %s, config/webhook has %s at %s", wh.Name, *wh.ClientConfig.Service.Path, want.Name, *want.ClientConfig.Service.Path)
	}
	if !slices.EqualFunc(wh.Rules, want.Rules, func(a, b admissionregistrationv1.RuleWithOperations) bool {
		return slices.Equal(a.Operations, b.Operations) && slices.Equal(a.APIGroups, b.APIGroups) &&
			slices.Equal(a.APIVersions, b.APIVersions) && slices.Equal(a.Resources, b.Resources)
	}) {
		t.Errorf("rules %+v differ from config/webhook %+v", wh.Rules, want.Rules)
	}
	if *wh.FailurePolicy != admissionregistrationv1.Ignore || *wh.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("failurePolicy %s, sideEffects %s; want Ignore (the API is never blocked by the operator) and None", *wh.FailurePolicy, *wh.SideEffects)
	}
	if wh.NamespaceSelector != nil {
		t.Errorf("cluster scope restricts namespaces: %+v", wh.NamespaceSelector)
	}

	// The Service reaches the manager's webhook port.
	var svc corev1.Service
	for _, o := range objs.ofKind("Service") {
		if o.Name == wh.ClientConfig.Service.Name {
			decode(t, o, &svc)
		}
	}
	if svc.Name == "" || svc.Namespace != "ops" || wh.ClientConfig.Service.Namespace != "ops" {
		t.Fatalf("no Service %s/%s for the webhook (objects %v)", wh.ClientConfig.Service.Namespace, wh.ClientConfig.Service.Name, objs.kinds())
	}
	var dep appsv1.Deployment
	objs.one(t, "Deployment", &dep)
	c := managerContainer(t, &dep)
	port := int32(0)
	for _, p := range c.Ports {
		if p.Name == svc.Spec.Ports[0].TargetPort.String() {
			port = p.ContainerPort
		}
	}
	if port != 9443 || !slices.Contains(c.Args, "--webhook-port=9443") || !slices.Contains(c.Args, "--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs") {
		t.Errorf("manager port %d, args %v: the Service's target port and the webhook flags do not match", port, c.Args)
	}

	// The certificate: mounted where the manager reads it, valid for the Service, signed by the caBundle.
	var secret corev1.Secret
	objs.one(t, "Secret", &secret)
	mounted := false
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret.Name {
			for _, m := range c.VolumeMounts {
				mounted = mounted || (m.Name == v.Name && m.MountPath == "/tmp/k8s-webhook-server/serving-certs")
			}
		}
	}
	if !mounted {
		t.Errorf("Secret %s is not mounted at the manager's webhook cert dir", secret.Name)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(wh.ClientConfig.CABundle) {
		t.Fatalf("caBundle is not PEM: %q", wh.ClientConfig.CABundle)
	}
	block, _ := pem.Decode(secret.Data["tls.crt"])
	if block == nil {
		t.Fatal("tls.crt is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: svc.Name + ".ops.svc"}); err != nil {
		t.Errorf("the serving certificate does not verify for %s.ops.svc against the caBundle: %v", svc.Name, err)
	}
	if string(secret.Data["ca.crt"]) != string(wh.ClientConfig.CABundle) {
		t.Error("the Secret's ca.crt differs from the caBundle")
	}

	t.Run("namespace scope calls the webhook for the watched namespace only", func(t *testing.T) {
		objs := render(t, operatorChart, "ops", "--set", "watch.scope=namespace", "--set", "watch.namespace=cache")
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		objs.one(t, "ValidatingWebhookConfiguration", &vwc)
		sel := vwc.Webhooks[0].NamespaceSelector
		if sel == nil || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Key != "kubernetes.io/metadata.name" ||
			!slices.Equal(sel.MatchExpressions[0].Values, []string{"cache"}) {
			t.Errorf("namespaceSelector = %+v", sel)
		}
	})

	t.Run("cert-manager when its API is there", func(t *testing.T) {
		objs := render(t, operatorChart, "ops", "--api-versions", "cert-manager.io/v1")
		if n := len(objs.ofKind("Secret")); n != 0 {
			t.Errorf("rendered %d Secrets; cert-manager writes the certificate", n)
		}
		if len(objs.ofKind("Certificate")) != 1 || len(objs.ofKind("Issuer")) != 1 {
			t.Errorf("want one Certificate and one Issuer, got %v", objs.kinds())
		}
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		objs.one(t, "ValidatingWebhookConfiguration", &vwc)
		if vwc.Annotations["cert-manager.io/inject-ca-from"] != "ops/test-replnode-operator-webhook" || len(vwc.Webhooks[0].ClientConfig.CABundle) != 0 {
			t.Errorf("annotations %v, caBundle %d bytes: cert-manager must inject the CA", vwc.Annotations, len(vwc.Webhooks[0].ClientConfig.CABundle))
		}
		forced := render(t, operatorChart, "ops", "--api-versions", "cert-manager.io/v1", "--set", "webhook.certificate=helm")
		if len(forced.ofKind("Secret")) != 1 || len(forced.ofKind("Certificate")) != 0 {
			t.Errorf("webhook.certificate=helm: %v", forced.kinds())
		}
	})

	t.Run("off", func(t *testing.T) {
		objs := render(t, operatorChart, "ops", "--set", "webhook.enabled=false")
		for _, kind := range []string{"ValidatingWebhookConfiguration", "Secret", "Certificate"} {
			if n := len(objs.ofKind(kind)); n != 0 {
				t.Errorf("webhook off renders %d %s", n, kind)
			}
		}
		var dep appsv1.Deployment
		objs.one(t, "Deployment", &dep)
		for _, a := range managerContainer(t, &dep).Args {
			if a == "--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs" {
				t.Error("webhook off still passes --webhook-cert-dir")
			}
		}
	})

	t.Run("Fail is allowed, other policies are not", func(t *testing.T) {
		objs := render(t, operatorChart, "ops", "--set", "webhook.failurePolicy=Fail")
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		objs.one(t, "ValidatingWebhookConfiguration", &vwc)
		if *vwc.Webhooks[0].FailurePolicy != admissionregistrationv1.Fail {
			t.Errorf("failurePolicy = %s", *vwc.Webhooks[0].FailurePolicy)
		}
		if _, _, err := helm(t, "template", "test", "charts/"+operatorChart, "--set", "webhook.failurePolicy=Sometimes"); err == nil {
			t.Error("webhook.failurePolicy=Sometimes accepted")
		}
	})
}
