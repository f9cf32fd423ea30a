package controllers

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ TLS ------
//
// spec.tls names a Secret in cert-manager's layout. The members listen with
// TLS only on serverPort (port 0, tls-port), replicate over TLS and require
// client certificates as spec.tls.clientCertificates says; the Secret is
// mounted read-only at tlsDir. The operator reads the same Secret to reach
// the members: it trusts ca.crt and presents tls.crt.
//
// A renewed certificate needs no restart. The kubelet rewrites the mounted
// files some time after the Secret changes (up to its sync period plus its
// cache TTL), and redis-server 7.0 — which replnode follows — never rereads
// them on its own: CONFIG SET tls-cert-file reloads them. So each pass asks
// every member which certificate it serves (a TLS handshake) and, while it
// is not the Secret's tls.crt, sends CONFIG SET tls-cert-file; a reload
// before the kubelet caught up loads the old files again and costs nothing.
// This was chosen over a node watching its files because it needs nothing
// redis-server lacks, and because the operator then sees — and reports in
// the TLSReady condition — which members serve which certificate, instead
// of assuming the kubelet and the node did their part.

const (
	// tlsDir is where the spec.tls Secret is mounted in member pods (not
	// under configDir: a mount inside the ConfigMap's volume would need a
	// mount point in a read-only volume).
	tlsDir = "/etc/replnode-tls"
	// tlsVolume is the pod volume of the spec.tls Secret.
	tlsVolume = "tls"
	// The Secret keys cert-manager writes.
	tlsCertKey = corev1.TLSCertKey       // tls.crt
	tlsKeyKey  = corev1.TLSPrivateKeyKey // tls.key
	tlsCAKey   = "ca.crt"
	// tlsRotationPoll is how soon a pass looks again at a member that does
	// not serve the Secret's certificate yet (the kubelet has not updated
	// its files).
	tlsRotationPoll = 10 * time.Second
)

// tlsConfLines are the redis.conf directives spec.tls sets: TLS only on
// serverPort, for clients and replication. Without spec.tls: the plain port.
func tlsConfLines(rg *replnodev1alpha1.ReplicationGroup) []string {
	if rg.Spec.TLS == nil {
		return []string{fmt.Sprintf("port %d", serverPort)}
	}
	return []string{
		"port 0",
		fmt.Sprintf("tls-port %d", serverPort),
		"tls-cert-file " + tlsDir + "/" + tlsCertKey,
		"tls-key-file " + tlsDir + "/" + tlsKeyKey,
		"tls-ca-cert-file " + tlsDir + "/" + tlsCAKey,
		"tls-replication yes",
		"tls-auth-clients " + rg.Spec.TLS.TLSAuthClients(),
	}
}

// tlsPodVolume is the Secret volume of spec.tls, nil without it. It
// projects the three keys by name (an unrelated key in the Secret is not
// mounted) and is never mounted with subPath, which would stop the kubelet
// from updating it.
func tlsPodVolume(rg *replnodev1alpha1.ReplicationGroup) *corev1.Volume {
	if rg.Spec.TLS == nil {
		return nil
	}
	return &corev1.Volume{Name: tlsVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: rg.Spec.TLS.SecretName,
		Items: []corev1.KeyToPath{
			{Key: tlsCertKey, Path: tlsCertKey}, {Key: tlsKeyKey, Path: tlsKeyKey}, {Key: tlsCAKey, Path: tlsCAKey},
		},
		// Readable by the server's group (fsGroup) only.
		DefaultMode: ptrInt32(0o440),
	}}}
}

func ptrInt32(v int32) *int32 { return &v }

// tlsResult is what the spec.tls Secret yields: the client configuration
// the operator reaches members with, the DER of the certificate members
// should serve, and the TLSReady condition. Key material stays in Config.
type tlsResult struct {
	Config    *tls.Config
	Leaf      []byte
	Condition metav1.Condition
	// Usable is false when spec.tls is set but the Secret cannot be used.
	Usable bool
}

// evaluateTLS turns spec.tls and the Secret it names (nil when not found)
// into a tlsResult. Pure: the caller fetches the Secret. previousCAs are
// CA certificates to keep trusting besides the Secret's (those it held
// before a CA change, for members not reloaded yet).
func evaluateTLS(spec *replnodev1alpha1.TLSSpec, secret *corev1.Secret, previousCAs []*x509.Certificate) tlsResult {
	cond := metav1.Condition{Type: replnodev1alpha1.ConditionTLSReady, Status: metav1.ConditionFalse}
	if spec == nil {
		return tlsResult{Usable: true}
	}
	bad := func(reason, msg string) tlsResult {
		cond.Reason, cond.Message = reason, msg
		return tlsResult{Condition: cond}
	}
	if secret == nil {
		return bad("SecretNotFound", fmt.Sprintf("Secret %q named by spec.tls.secretName does not exist", spec.SecretName))
	}
	for _, k := range []string{tlsCertKey, tlsKeyKey, tlsCAKey} {
		if len(secret.Data[k]) == 0 {
			return bad("SecretKeyMissing", fmt.Sprintf("Secret %q has no key %q (it needs %s, %s and %s, as cert-manager writes them)",
				spec.SecretName, k, tlsCertKey, tlsKeyKey, tlsCAKey))
		}
	}
	pair, err := tls.X509KeyPair(secret.Data[tlsCertKey], secret.Data[tlsKeyKey])
	if err != nil {
		// The error names what is wrong (no PEM block, a key that does not
		// match), never the key.
		return bad("InvalidCertificate", fmt.Sprintf("%s and %s of Secret %q do not form a certificate and its key: %v",
			tlsCertKey, tlsKeyKey, spec.SecretName, err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(secret.Data[tlsCAKey]) {
		return bad("InvalidCertificate", fmt.Sprintf("%s of Secret %q holds no PEM certificate", tlsCAKey, spec.SecretName))
	}
	for _, c := range previousCAs {
		pool.AddCert(c)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		// Members are reached by pod IP and cert-manager certificates name
		// Services: as Redis does between members, check the chain to the
		// CA and not the name (crypto/tls can skip only its whole check,
		// so VerifyConnection does the chain).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyChain(cs.PeerCertificates, pool)
		},
	}
	leaf := pair.Certificate[0]
	cond.Status, cond.Reason = metav1.ConditionTrue, "CertificateLoaded"
	cond.Message = fmt.Sprintf("certificate from Secret %q", spec.SecretName)
	return tlsResult{Config: cfg, Leaf: leaf, Condition: cond, Usable: true}
}

// verifyChain checks that a member's certificate leads to roots.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool) error {
	if len(chain) == 0 {
		return errors.New("the member sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

// caCerts parses the certificates of a PEM bundle, skipping what does not parse.
func caCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil && b.Type == "CERTIFICATE" {
			out = append(out, c)
		}
	}
}

// maxTrustedCAs bounds how many CA certificates the operator keeps
// trusting for a group: the Secret's and the ones it held before, so
// members not yet reloaded after a CA change stay reachable.
const maxTrustedCAs = 8

// knownTLS is what the reconciler keeps in memory per group: the last
// usable result (so a deleted or broken Secret does not cut the operator
// off from running members) and the CA certificates seen in the Secret.
type knownTLS struct {
	result tlsResult
	cas    []*x509.Certificate
}

// reconcileTLS reads the spec.tls Secret and sets the pass's TLS client
// configuration. A Secret that cannot be used stops the pass when the
// group never had a usable one (no pod could start without it); otherwise
// the operator keeps reaching members with the last usable one, and the
// TLSReady condition says what is wrong with the Secret.
func (r *ReplicationGroupReconciler) reconcileTLS(ctx context.Context, p *pass) (ctrl.Result, error) {
	spec := p.rg.Spec.TLS
	if spec == nil {
		meta.RemoveStatusCondition(&p.rg.Status.Conditions, replnodev1alpha1.ConditionTLSReady)
		r.forgetTLS(p.key())
		return ctrl.Result{}, nil
	}
	secret, err := r.optionalSecret(ctx, p.rg.Namespace, spec.SecretName, "TLS")
	if err != nil {
		return ctrl.Result{}, err
	}
	known, hadKnown := r.knownTLSOf(p.key())
	res := evaluateTLS(spec, secret, known.cas)
	res.Condition.ObservedGeneration = p.rg.Generation
	was := previousCondition(p.rg.Status.Conditions, replnodev1alpha1.ConditionTLSReady)
	if !res.Usable {
		meta.SetStatusCondition(&p.rg.Status.Conditions, res.Condition)
		if was == nil || was.Reason != res.Condition.Reason {
			r.event(p.rg, corev1.EventTypeWarning, "TLS"+res.Condition.Reason, res.Condition.Message)
		}
		if !hadKnown {
			p.progress(replnodev1alpha1.PhasePending, "TLS"+res.Condition.Reason, res.Condition.Message)
			return ctrl.Result{RequeueAfter: r.resyncPeriod()}, errStop
		}
		p.tls = known.result
		return ctrl.Result{}, nil
	}
	p.tls, p.tlsCurrent = res, true
	if was == nil || secretProblem(was.Reason) {
		meta.SetStatusCondition(&p.rg.Status.Conditions, res.Condition)
	}
	cas := caCerts(secret.Data[tlsCAKey])
	for _, c := range known.cas {
		if len(cas) < maxTrustedCAs && !containsCert(cas, c) {
			cas = append(cas, c)
		}
	}
	r.rememberTLS(p.key(), knownTLS{result: res, cas: cas})
	return ctrl.Result{}, nil
}

// secretProblem reports whether a TLSReady reason is about the Secret.
func secretProblem(reason string) bool {
	return reason == "SecretNotFound" || reason == "SecretKeyMissing" || reason == "InvalidCertificate"
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// reconcileTLSRotation makes every member that answers serve the Secret's
// current certificate (see the comment at the top of this file) and sets
// TLSReady to what it found.
func (r *ReplicationGroupReconciler) reconcileTLSRotation(ctx context.Context, p *pass) (ctrl.Result, error) {
	if p.rg.Spec.TLS == nil || !p.tlsCurrent {
		// Without a usable Secret there is nothing to roll out, and
		// TLSReady already says what is wrong with it.
		return ctrl.Result{}, nil
	}
	var behind, unasked []string
	for i := range p.views {
		v := &p.views[i]
		if v.observed.PodIP == "" || v.observed.Deleting {
			continue
		}
		n, ok := p.nodeOf(v.observed.Name)
		if !ok {
			continue
		}
		served, err := r.Nodes.ServedCertificate(ctx, n)
		if err != nil {
			unasked = append(unasked, v.observed.Name)
			continue
		}
		if bytes.Equal(served, p.tls.Leaf) {
			continue
		}
		if err := r.nodesFor(p).ConfigSet(ctx, n, "tls-cert-file", tlsDir+"/"+tlsCertKey); err != nil {
			if actingRefused(err) {
				return ctrl.Result{}, err
			}
			r.event(p.rg, corev1.EventTypeWarning, "TLSReloadFailed", fmt.Sprintf("%s could not reload its certificate: %v", v.observed.Name, err))
			behind = append(behind, v.observed.Name)
			continue
		}
		if served, err = r.Nodes.ServedCertificate(ctx, n); err == nil && bytes.Equal(served, p.tls.Leaf) {
			r.event(p.rg, corev1.EventTypeNormal, "TLSCertificateReloaded",
				fmt.Sprintf("%s serves the certificate of Secret %q", v.observed.Name, p.rg.Spec.TLS.SecretName))
			continue
		}
		// Reloaded the old files: the kubelet has not updated them yet.
		behind = append(behind, v.observed.Name)
	}
	cond := metav1.Condition{Type: replnodev1alpha1.ConditionTLSReady, ObservedGeneration: p.rg.Generation}
	switch {
	case len(behind) > 0:
		cond.Status, cond.Reason = metav1.ConditionFalse, "CertificateNotLoaded"
		cond.Message = fmt.Sprintf("%s still serve(s) another certificate than Secret %q holds (waiting for the kubelet to update the mounted files)",
			strings.Join(behind, ", "), p.rg.Spec.TLS.SecretName)
	default:
		cond.Status, cond.Reason = metav1.ConditionTrue, "CertificateServed"
		cond.Message = fmt.Sprintf("every member that answers serves the certificate of Secret %q", p.rg.Spec.TLS.SecretName)
		if len(unasked) > 0 {
			cond.Message += fmt.Sprintf(" (not reachable: %s)", strings.Join(unasked, ", "))
		}
	}
	meta.SetStatusCondition(&p.rg.Status.Conditions, cond)
	if len(behind) > 0 {
		return ctrl.Result{RequeueAfter: tlsRotationPoll}, nil
	}
	return ctrl.Result{}, nil
}

// knownTLSOf returns what is remembered of the group's TLS Secret.
func (r *ReplicationGroupReconciler) knownTLSOf(key types.NamespacedName) (knownTLS, bool) {
	return r.tlsKnown.recall(key)
}

// rememberTLS records the group's last usable TLS Secret.
func (r *ReplicationGroupReconciler) rememberTLS(key types.NamespacedName, k knownTLS) {
	r.tlsKnown.remember(key, k)
}

// forgetTLS drops what is remembered of a group's TLS Secret.
func (r *ReplicationGroupReconciler) forgetTLS(key types.NamespacedName) {
	r.tlsKnown.forget(key)
}
