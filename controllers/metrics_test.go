package controllers

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ PURE: WHEN A MASTER CHANGE IS COUNTED ------

func TestMasterChangeCompleted(t *testing.T) {
	at := func(s int) *metav1.Time { v := metav1.NewTime(time.Unix(int64(s), 0)); return &v }
	started := &replnodev1alpha1.FailoverRecord{From: "g-0", To: "g-1", Reason: "MasterPodGone", DetectedAt: at(1)}
	promoted := &replnodev1alpha1.FailoverRecord{From: "g-0", To: "g-1", Reason: "MasterPodGone", DetectedAt: at(1), PromotedAt: at(2)}
	switched := &replnodev1alpha1.FailoverRecord{From: "g-0", To: "g-1", Reason: "MasterPodGone", DetectedAt: at(1), PromotedAt: at(2), EndpointSwitchedAt: at(3), DurationMs: 2000}
	next := &replnodev1alpha1.FailoverRecord{From: "g-1", To: "g-2", Reason: "MasterPodGone", DetectedAt: at(10), EndpointSwitchedAt: at(12)}
	for _, tc := range []struct {
		name          string
		before, after *replnodev1alpha1.FailoverRecord
		want          bool
	}{
		{"no record", nil, nil, false},
		{"record started", nil, started, false},
		{"promoted, endpoint not switched yet", started, promoted, false},
		{"endpoint switched in this write", promoted, switched, true},
		{"switched from nothing in one write", nil, switched, true},
		{"completed record written again", switched, switched.DeepCopy(), false},
		{"a newer completed record", switched, next, true},
	} {
		if got := masterChangeCompleted(tc.before, tc.after); got != tc.want {
			t.Errorf("%s: masterChangeCompleted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestGroupMetricsFollowStatus: gauges follow status; a member that left
// or changed role loses its old series; a deleted group loses all of them.
func TestGroupMetricsFollowStatus(t *testing.T) {
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "unit", Name: "series"}}
	rg.Status.Conditions = []metav1.Condition{{Type: replnodev1alpha1.ConditionReady, Status: metav1.ConditionTrue}}
	rg.Status.Members = []replnodev1alpha1.MemberStatus{
		{Name: "series-0", Role: "master"}, {Name: "series-1", Role: "replica", LagBytes: 42}, {Name: "series-2", Role: "replica"},
	}
	observeGroupMetrics(rg)
	if got := testutil.ToFloat64(groupReady.WithLabelValues("unit", "series")); got != 1 {
		t.Errorf("ready = %v", got)
	}
	if got := testutil.ToFloat64(memberLag.WithLabelValues("unit", "series", "series-1")); got != 42 {
		t.Errorf("lag = %v", got)
	}
	// series-0 fails over to series-1 and series-2 is scaled away.
	rg.Status.Conditions[0].Status = metav1.ConditionFalse
	rg.Status.Members = []replnodev1alpha1.MemberStatus{{Name: "series-0"}, {Name: "series-1", Role: "master"}}
	observeGroupMetrics(rg)
	want := `
# HELP replnode_member_role 1 for the role a member last reported (master, replica; unknown when it did not answer).
# TYPE replnode_member_role gauge
replnode_member_role{group="series",member="series-0",namespace="unit",role="unknown"} 1
replnode_member_role{group="series",member="series-1",namespace="unit",role="master"} 1
`
	if err := testutil.CollectAndCompare(memberRole, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(groupReady.WithLabelValues("unit", "series")); got != 0 {
		t.Errorf("ready after failure = %v", got)
	}
	if n := testutil.CollectAndCount(memberLag); n != 2 {
		t.Errorf("%d lag series, want 2 (series-2 left)", n)
	}
	forgetGroupMetrics(types.NamespacedName{Namespace: "unit", Name: "series"})
	for name, n := range map[string]int{"role": testutil.CollectAndCount(memberRole), "lag": testutil.CollectAndCount(memberLag), "ready": testutil.CollectAndCount(groupReady)} {
		if n != 0 {
			t.Errorf("%d %s series left after the group was deleted", n, name)
		}
	}
}

// ------ ENVTEST: THE ENDPOINT AGAINST A RECONCILED GROUP ------

// scrapeOperator serves controller-runtime's metrics.Registry as the
// manager's endpoint does and parses it with Prometheus's text parser.
func scrapeOperator() map[string]*dto.MetricFamily {
	srv := httptest.NewServer(promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return mfs
}

// sample returns the value of the series of name with exactly labels, ok
// false when there is none.
func sample(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

var _ = Describe("Operator metrics", func() {
	It("reports the group's readiness, members' roles and lag, then its switchover and failover", func() {
		ns := admissionNamespace("metrics")
		group := func(extra ...string) map[string]string {
			l := map[string]string{"namespace": ns, "group": "mx"}
			for i := 0; i+1 < len(extra); i += 2 {
				l[extra[i]] = extra[i+1]
			}
			return l
		}
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "mx", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](2)
		rg.Spec.Failover.MasterDownAfter = &metav1.Duration{Duration: 2 * time.Second}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "mx", 2)
		addr, err := kubelet.addrOf(suiteCtx, ns, "mx-0")
		Expect(err).NotTo(HaveOccurred())
		fakeNodes.AddWrites(addr, 1000)

		// Every member's series equals what status says, from the same pass.
		Eventually(func(g Gomega) {
			mfs := scrapeOperator()
			st := getGroup(ns, "mx").Status
			ready, ok := sample(mfs, "replnode_group_ready", group())
			g.Expect(ok).To(BeTrue(), "no replnode_group_ready")
			g.Expect(ready).To(Equal(1.0))
			g.Expect(st.Members).To(HaveLen(3))
			g.Expect(st.MasterOffset).To(BeNumerically(">=", 1000))
			for _, m := range st.Members {
				role, ok := sample(mfs, "replnode_member_role", group("member", m.Name, "role", m.Role))
				g.Expect(ok).To(BeTrue(), "no role series for %s (%s)", m.Name, m.Role)
				g.Expect(role).To(Equal(1.0))
				lag, ok := sample(mfs, "replnode_member_replication_lag_bytes", group("member", m.Name))
				g.Expect(ok).To(BeTrue(), "no lag series for %s", m.Name)
				g.Expect(lag).To(Equal(float64(m.LagBytes)), m.Name)
			}
			g.Expect(mfs["replnode_member_role"].GetMetric()).To(ContainElement(HaveField("Label", ContainElement(HaveField("Value", ptr.To("master"))))))
		}, eventually, poll).Should(Succeed())
		// controller-runtime's own metrics are on the same registry.
		Expect(scrapeOperator()).To(HaveKey("controller_runtime_reconcile_total"))

		// A switchover counts once, as a switchover.
		rg = getGroup(ns, "mx")
		rg.Spec.Master = "mx-2"
		Expect(k8sClient.Update(suiteCtx, rg)).To(Succeed())
		Eventually(func(g Gomega) {
			st := getGroup(ns, "mx").Status
			g.Expect(st.CurrentMaster).To(Equal("mx-2"))
			g.Expect(st.LastFailover).NotTo(BeNil())
			g.Expect(st.LastFailover.EndpointSwitchedAt).NotTo(BeNil())
			n, _ := sample(scrapeOperator(), "replnode_switchovers_total", group())
			g.Expect(n).To(Equal(1.0))
		}, eventually, poll).Should(Succeed())
		_, failed := sample(scrapeOperator(), "replnode_failovers_total", group("reason", getGroup(ns, "mx").Status.LastFailover.Reason))
		Expect(failed).To(BeFalse(), "a switchover was counted as a failover")

		// Let failovers stand, then lose the master: one failover, with the
		// record's reason, and its duration observed.
		rg = getGroup(ns, "mx")
		rg.Spec.Master = ""
		Expect(k8sClient.Update(suiteCtx, rg)).To(Succeed())
		expectRunning(ns, "mx", 2)
		durationsBefore, _ := sample(scrapeOperator(), "replnode_failover_duration_seconds", map[string]string{})
		addr, err = kubelet.addrOf(suiteCtx, ns, "mx-2")
		Expect(err).NotTo(HaveOccurred())
		fakeNodes.SetReachable(addr, false)
		Eventually(func(g Gomega) {
			st := getGroup(ns, "mx").Status
			g.Expect(st.CurrentMaster).To(BeElementOf("mx-0", "mx-1"))
			g.Expect(st.LastFailover).NotTo(BeNil())
			g.Expect(st.LastFailover.From).To(Equal("mx-2"))
			g.Expect(st.LastFailover.EndpointSwitchedAt).NotTo(BeNil())
			mfs := scrapeOperator()
			n, ok := sample(mfs, "replnode_failovers_total", group("reason", st.LastFailover.Reason))
			g.Expect(ok).To(BeTrue(), "no failover counted with reason %s", st.LastFailover.Reason)
			g.Expect(n).To(Equal(1.0))
			d, _ := sample(mfs, "replnode_failover_duration_seconds", map[string]string{})
			g.Expect(d).To(Equal(durationsBefore + 1))
			sw, _ := sample(mfs, "replnode_switchovers_total", group())
			g.Expect(sw).To(Equal(1.0))
		}, eventually, poll).Should(Succeed())

		// Deleting the group removes its series.
		Expect(k8sClient.Delete(suiteCtx, getGroup(ns, "mx"))).To(Succeed())
		Eventually(func(g Gomega) {
			_, ok := sample(scrapeOperator(), "replnode_group_ready", group())
			g.Expect(ok).To(BeFalse())
		}, eventually, poll).Should(Succeed())
	})
})

// TestDashboardOperatorMetricsExist: every replnode_* series the
// replnode-group chart's Grafana dashboard queries is one the operator
// registers (a histogram's _bucket, _sum and _count included).
func TestDashboardOperatorMetricsExist(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(), "charts", "replnode-group", "dashboards", "replnode-group.json"))
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	descs := make(chan *prometheus.Desc, 16)
	for _, c := range []prometheus.Collector{failoversTotal, failoverDuration, switchoversTotal, groupReady, memberLag, memberRole} {
		c.Describe(descs)
	}
	close(descs)
	for d := range descs {
		_, rest, _ := strings.Cut(d.String(), `fqName: "`)
		name, _, _ := strings.Cut(rest, `"`)
		registered[name] = true
	}
	used := regexp.MustCompile(`replnode_[a-z_]+`).FindAllString(string(data), -1)
	if len(used) == 0 {
		t.Fatal("the dashboard queries no replnode_* metric")
	}
	for _, name := range used {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !registered[base] && base != "replnode_group" && base != "replnode_member" { // PodMonitor target labels
			t.Errorf("the dashboard queries %s, which the operator does not register", name)
		}
	}
}

var _ = Describe("Secured metrics endpoint", func() {
	It("serves metrics over HTTPS only to a token whose owner may get /metrics", func() {
		// The manager's options (cmd/manager metricsOptions) with a free port.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := l.Addr().String()
		Expect(l.Close()).To(Succeed())
		httpClient, err := rest.HTTPClientFor(testConfig)
		Expect(err).NotTo(HaveOccurred())
		srv, err := metricsserver.NewServer(metricsserver.Options{
			BindAddress: addr, SecureServing: true, FilterProvider: filters.WithAuthenticationAndAuthorization,
		}, testConfig, httpClient)
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithCancel(suiteCtx)
		defer cancel()
		go func() { _ = srv.Start(ctx) }()

		ns := admissionNamespace("scrape")
		Expect(k8sClient.Create(suiteCtx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scraper", Namespace: ns}})).To(Succeed())
		clientset := kubernetes.NewForConfigOrDie(testConfig)
		tr, err := clientset.CoreV1().ServiceAccounts(ns).CreateToken(suiteCtx, "scraper",
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		// Self-signed: the scraper skips verification, as the chart's
		// ServiceMonitor does without metrics.certSecret.
		scraper := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		get := func(token string) (int, string) {
			req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
			Expect(err).NotTo(HaveOccurred())
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := scraper.Do(req)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		Eventually(func() int { code, _ := get(""); return code }, eventually, poll).Should(Equal(http.StatusUnauthorized))
		code, body := get(tr.Status.Token)
		Expect(code).To(Equal(http.StatusForbidden), "a token without the metrics-reader rule: %s", body)
		plain, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			plain.Body.Close()
			Expect(plain.StatusCode).To(Equal(http.StatusBadRequest), "plain HTTP must not be served")
		}

		// The chart's <fullname>-metrics-reader rule, bound to the scraper.
		reader := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-reader-"},
			Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
		Expect(k8sClient.Create(suiteCtx, reader)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-reader-"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: reader.Name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "scraper", Namespace: ns}}})).To(Succeed())
		Eventually(func() int { code, body = get(tr.Status.Token); return code }, eventually, poll).Should(Equal(http.StatusOK))
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		Expect(mfs).To(HaveKey("controller_runtime_reconcile_total"))
		Expect(mfs).To(HaveKey("replnode_failover_duration_seconds"))
	})
})
