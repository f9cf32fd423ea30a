package controllers

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/replnode/tlsconf/testpki"
)

// tlsSecret returns a Secret in cert-manager's layout for a certificate ca
// issues.
func tlsSecret(t *testing.T, ca *testpki.CA, name string) (*corev1.Secret, testpki.Pair) {
	t.Helper()
	pair := ca.Issue(t, "member")
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": pair.CertPEM, "tls.key": pair.KeyPEM, "ca.crt": ca.CertPEM},
	}, pair
}

// TestBuildRedisConfTLS checks spec.tls turns the plain port off and TLS on
// for clients and replication, with the mounted files' paths and nothing of
// their content.
func TestBuildRedisConfTLS(t *testing.T) {
	rg := testGroup()
	plain := buildRedisConf(rg)
	if !strings.Contains(plain, "port 6379\n") || strings.Contains(plain, "tls-") {
		t.Fatalf("without spec.tls:\n%s", plain)
	}
	rg.Spec.TLS = &replnodev1alpha1.TLSSpec{SecretName: "cache-tls"}
	conf := buildRedisConf(rg)
	for _, want := range []string{"port 0\n", "tls-port 6379\n", "tls-cert-file /etc/replnode-tls/tls.crt\n",
		"tls-key-file /etc/replnode-tls/tls.key\n", "tls-ca-cert-file /etc/replnode-tls/ca.crt\n",
		"tls-replication yes\n", "tls-auth-clients yes\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("redis.conf with spec.tls lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "port 6379\nbind") || strings.Contains(conf, "cache-tls") {
		t.Errorf("redis.conf with spec.tls keeps the plain port or names the Secret:\n%s", conf)
	}
	for mode, want := range map[string]string{"": "yes", "Required": "yes", "Optional": "optional", "None": "no"} {
		rg.Spec.TLS.ClientCertificates = mode
		if c := buildRedisConf(rg); !strings.Contains(c, "tls-auth-clients "+want+"\n") {
			t.Errorf("clientCertificates %q: want tls-auth-clients %s:\n%s", mode, want, c)
		}
	}
	if configHash(conf) == configHash(plain) {
		t.Error("turning TLS on does not change the config hash")
	}
}

// TestBuildPodTLS checks the Secret is mounted read-only, whole-directory
// (never subPath, which the kubelet would not update), with only the
// three keys, and that the template hash covers it.
func TestBuildPodTLS(t *testing.T) {
	rg := testGroup()
	plain := buildPod(rg, podParams{Ordinal: 1, Role: roleReplica, MasterHost: "10.0.0.1", ConfigHash: "h"})
	rg.Spec.TLS = &replnodev1alpha1.TLSSpec{SecretName: "cache-tls"}
	pod := buildPod(rg, podParams{Ordinal: 1, Role: roleReplica, MasterHost: "10.0.0.1", ConfigHash: "h"})
	var vol *corev1.Volume
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == tlsVolume {
			vol = &pod.Spec.Volumes[i]
		}
	}
	if vol == nil || vol.Secret == nil || vol.Secret.SecretName != "cache-tls" {
		t.Fatalf("no Secret volume for spec.tls: %+v", pod.Spec.Volumes)
	}
	var keys []string
	for _, it := range vol.Secret.Items {
		keys = append(keys, it.Key+"="+it.Path)
	}
	if strings.Join(keys, ",") != "tls.crt=tls.crt,tls.key=tls.key,ca.crt=ca.crt" || vol.Secret.DefaultMode == nil || *vol.Secret.DefaultMode != 0o440 {
		t.Errorf("Secret volume = %+v", vol.Secret)
	}
	var mount *corev1.VolumeMount
	for i, m := range pod.Spec.Containers[0].VolumeMounts {
		if m.Name == tlsVolume {
			mount = &pod.Spec.Containers[0].VolumeMounts[i]
		}
	}
	if mount == nil || mount.MountPath != tlsDir || !mount.ReadOnly || mount.SubPath != "" {
		t.Fatalf("TLS mount = %+v", mount)
	}
	for _, e := range pod.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "cache-tls" {
			t.Errorf("a TLS Secret key is passed in the environment: %+v", e)
		}
	}
	if pod.Annotations[annotationTemplateHash] == plain.Annotations[annotationTemplateHash] {
		t.Error("the template hash does not cover the TLS volume")
	}
}

func TestEvaluateTLS(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	good, _ := tlsSecret(t, ca, "cache-tls")
	other := testpki.NewCA(t, "other").Issue(t, "x")
	spec := &replnodev1alpha1.TLSSpec{SecretName: "cache-tls"}
	with := func(change func(d map[string][]byte)) *corev1.Secret {
		s := good.DeepCopy()
		change(s.Data)
		return s
	}
	cases := []struct {
		name   string
		spec   *replnodev1alpha1.TLSSpec
		secret *corev1.Secret
		usable bool
		reason string
	}{
		{"tls off", nil, nil, true, ""},
		{"secret missing", spec, nil, false, "SecretNotFound"},
		{"no ca.crt", spec, with(func(d map[string][]byte) { delete(d, "ca.crt") }), false, "SecretKeyMissing"},
		{"empty tls.key", spec, with(func(d map[string][]byte) { d["tls.key"] = nil }), false, "SecretKeyMissing"},
		{"key of another certificate", spec, with(func(d map[string][]byte) { d["tls.key"] = other.KeyPEM }), false, "InvalidCertificate"},
		{"ca.crt not PEM", spec, with(func(d map[string][]byte) { d["ca.crt"] = []byte("garbage") }), false, "InvalidCertificate"},
		{"good", spec, good, true, "CertificateLoaded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := evaluateTLS(c.spec, c.secret, nil)
			if got.Usable != c.usable || got.Condition.Reason != c.reason {
				t.Fatalf("usable %v reason %q (%s), want %v %q", got.Usable, got.Condition.Reason, got.Condition.Message, c.usable, c.reason)
			}
			if c.spec != nil && !strings.Contains(got.Condition.Message, `"cache-tls"`) {
				t.Errorf("the message does not name the Secret: %s", got.Condition.Message)
			}
			if c.secret != nil {
				for _, v := range c.secret.Data {
					if len(v) > 0 && strings.Contains(got.Condition.Message, strings.TrimSpace(string(v))) {
						t.Errorf("the message holds Secret content: %s", got.Condition.Message)
					}
				}
				if strings.Contains(got.Condition.Message, "PRIVATE KEY") {
					t.Errorf("the message holds key material: %s", got.Condition.Message)
				}
			}
		})
	}
}

// TestTLSClientConfigChecksTheChainNotTheName connects the operator's
// configuration to servers: one whose certificate the Secret's CA signed
// for another name (accepted: members are reached by IP), one another CA
// signed (refused), and one of an earlier CA passed as previous (accepted,
// for members not reloaded after a CA change).
func TestTLSClientConfigChecksTheChainNotTheName(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	secret, _ := tlsSecret(t, ca, "cache-tls")
	oldCA := testpki.NewCA(t, "old-ca")
	spec := &replnodev1alpha1.TLSSpec{SecretName: "cache-tls"}
	res := evaluateTLS(spec, secret, []*x509.Certificate{oldCA.Cert})
	for _, c := range []struct {
		name   string
		server testpki.Pair
		ok     bool
	}{
		{"same CA, other name", ca.Issue(t, "cache-2.cache.prod.svc"), true},
		{"foreign CA", testpki.NewCA(t, "foreign").Issue(t, "member"), false},
		{"previous CA", oldCA.Issue(t, "member"), true},
	} {
		kp, err := tls.X509KeyPair(c.server.CertPEM, c.server.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			a, err := l.Accept()
			if err != nil {
				return
			}
			_ = a.SetDeadline(time.Now().Add(10 * time.Second))
			_ = tls.Server(a, &tls.Config{Certificates: []tls.Certificate{kp}}).Handshake()
			_ = a.Close()
		}()
		b, err := net.DialTimeout("tcp", l.Addr().String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = b.SetDeadline(time.Now().Add(10 * time.Second))
		err = tls.Client(b, res.Config).Handshake()
		_ = b.Close()
		_ = l.Close()
		if (err == nil) != c.ok {
			t.Errorf("%s: handshake err=%v, want ok=%v", c.name, err, c.ok)
		}
	}
}
