package controllers

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ OPERATOR METRICS ------
//
// The operator's own metrics, served with controller-runtime's (reconcile
// counts and errors, workqueue, client) on the manager's secured metrics
// endpoint. They are set from what a pass wrote to status, never from what
// it merely intended: a master change is counted by the status write that
// completes its record (status.lastFailover gaining endpointSwitchedAt),
// which the optimistic lock lets succeed exactly once.

var (
	failoversTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replnode_failovers_total",
		Help: "Completed automatic failovers (the master Service moved to the promoted replica), by the reason the old master was given up.",
	}, []string{"namespace", "group", "reason"})
	failoverDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "replnode_failover_duration_seconds",
		Help:    "Time from detecting the master's failure to the master Service selecting the promoted replica (status.lastFailover.durationMs).",
		Buckets: []float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300},
	})
	switchoversTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replnode_switchovers_total",
		Help: "Completed switchovers (spec.master, or the operator moving the master to roll it).",
	}, []string{"namespace", "group"})
	groupReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "replnode_group_ready",
		Help: "1 when the group's Ready condition is True, else 0.",
	}, []string{"namespace", "group"})
	memberLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "replnode_member_replication_lag_bytes",
		Help: "How far a member's replication offset is behind the master's (status.members[].lagBytes; 0 for the master).",
	}, []string{"namespace", "group", "member"})
	memberRole = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "replnode_member_role",
		Help: "1 for the role a member last reported (master, replica; unknown when it did not answer).",
	}, []string{"namespace", "group", "member", "role"})
)

func init() {
	metrics.Registry.MustRegister(failoversTotal, failoverDuration, switchoversTotal, groupReady, memberLag, memberRole)
}

// masterChangeCompleted reports whether a status write from before to after
// completes a master change: after's record has its endpoint switched and
// before did not hold that same completed record.
func masterChangeCompleted(before, after *replnodev1alpha1.FailoverRecord) bool {
	if after == nil || after.EndpointSwitchedAt == nil {
		return false
	}
	return before == nil || before.EndpointSwitchedAt == nil || before.From != after.From || before.To != after.To ||
		!before.EndpointSwitchedAt.Equal(after.EndpointSwitchedAt)
}

// isSwitchover tells a planned master move from a failover: the switchover
// steps of package failover give the record their reason (SwitchoverStarted,
// SwitchoverPromoting, ...), a failover the detected fault's.
func isSwitchover(rec *replnodev1alpha1.FailoverRecord) bool {
	return strings.HasPrefix(rec.Reason, "Switchover")
}

// recordMasterChange counts a master change that the status write from
// before to after completed.
func recordMasterChange(rg *replnodev1alpha1.ReplicationGroup, before, after *replnodev1alpha1.FailoverRecord) {
	if !masterChangeCompleted(before, after) {
		return
	}
	if isSwitchover(after) {
		switchoversTotal.WithLabelValues(rg.Namespace, rg.Name).Inc()
		return
	}
	failoversTotal.WithLabelValues(rg.Namespace, rg.Name, after.Reason).Inc()
	failoverDuration.Observe(float64(after.DurationMs) / 1000)
}

// groupSeries remembers each group's member series, so members that left
// (scale down) or changed role lose their old series.
var groupSeries = struct {
	sync.Mutex
	roles map[types.NamespacedName]map[string]string // member -> role label
}{roles: map[types.NamespacedName]map[string]string{}}

// observeGroupMetrics sets the group's gauges from its status.
func observeGroupMetrics(rg *replnodev1alpha1.ReplicationGroup) {
	key := types.NamespacedName{Namespace: rg.Namespace, Name: rg.Name}
	ready := 0.0
	if meta.IsStatusConditionTrue(rg.Status.Conditions, replnodev1alpha1.ConditionReady) {
		ready = 1
	}
	groupReady.WithLabelValues(rg.Namespace, rg.Name).Set(ready)

	groupSeries.Lock()
	defer groupSeries.Unlock()
	old := groupSeries.roles[key]
	now := make(map[string]string, len(rg.Status.Members))
	for _, m := range rg.Status.Members {
		role := m.Role
		if role == "" {
			role = "unknown"
		}
		now[m.Name] = role
		if was, ok := old[m.Name]; ok && was != role {
			memberRole.DeleteLabelValues(rg.Namespace, rg.Name, m.Name, was)
		}
		memberRole.WithLabelValues(rg.Namespace, rg.Name, m.Name, role).Set(1)
		memberLag.WithLabelValues(rg.Namespace, rg.Name, m.Name).Set(float64(m.LagBytes))
	}
	for name, role := range old {
		if _, ok := now[name]; !ok {
			memberRole.DeleteLabelValues(rg.Namespace, rg.Name, name, role)
			memberLag.DeleteLabelValues(rg.Namespace, rg.Name, name)
		}
	}
	groupSeries.roles[key] = now
}

// forgetGroupMetrics drops a deleted group's series (its counters too: a
// new group of the same name starts from zero, which Prometheus's rate()
// reads as a counter reset).
func forgetGroupMetrics(key types.NamespacedName) {
	labels := prometheus.Labels{"namespace": key.Namespace, "group": key.Name}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{failoversTotal, switchoversTotal, groupReady, memberLag, memberRole} {
		v.DeletePartialMatch(labels)
	}
	groupSeries.Lock()
	delete(groupSeries.roles, key)
	groupSeries.Unlock()
}
