package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ STATUS ------

// memberReport is one member's line of the status.
type memberReport struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Ready    bool   `json:"ready"`
	Link     string `json:"link,omitempty"`
	Offset   int64  `json:"offset"`
	LagBytes int64  `json:"lagBytes"`
	Node     string `json:"node,omitempty"`
	PodIP    string `json:"podIP,omitempty"`
	Restarts int32  `json:"restarts"`
	// Pending notes what is special: fenced by a failover, target of a switchover.
	Notes []string `json:"notes,omitempty"`
}

// statusReport is what `status` prints, text or JSON.
type statusReport struct {
	Group          string                             `json:"group"`
	Namespace      string                             `json:"namespace"`
	Phase          string                             `json:"phase"`
	Master         string                             `json:"master"`
	PinnedMaster   string                             `json:"pinnedMaster,omitempty"`
	Replicas       string                             `json:"replicas"`
	MasterService  string                             `json:"masterService,omitempty"`
	ReplicaService string                             `json:"replicaService,omitempty"`
	FailoverEpoch  int64                              `json:"failoverEpoch"`
	Members        []memberReport                     `json:"members"`
	Switchover     *replnodev1alpha1.SwitchoverStatus `json:"switchover,omitempty"`
	LastFailover   *replnodev1alpha1.FailoverRecord   `json:"lastFailover,omitempty"`
	Conditions     []metav1.Condition                 `json:"conditions"`
}

// buildReport combines the group's status with its pods (node, restarts).
// Pure.
func buildReport(rg *replnodev1alpha1.ReplicationGroup, pods []corev1.Pod) statusReport {
	r := statusReport{
		Group: rg.Name, Namespace: rg.Namespace, Phase: string(rg.Status.Phase), Master: rg.Status.CurrentMaster,
		PinnedMaster: rg.Spec.Master, Replicas: rg.Status.Replicas, MasterService: rg.Status.MasterService,
		ReplicaService: rg.Status.ReplicaService, FailoverEpoch: rg.Status.FailoverEpoch,
		Switchover: rg.Status.Switchover, LastFailover: rg.Status.LastFailover, Conditions: rg.Status.Conditions,
	}
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		byName[pods[i].Name] = &pods[i]
	}
	for _, m := range rg.Status.Members {
		mr := memberReport{Name: m.Name, Role: m.Role, Ready: m.Ready, Link: m.LinkStatus, Offset: m.Offset, LagBytes: m.LagBytes, PodIP: m.PodIP}
		if mr.Role == "" {
			mr.Role = "unknown"
		}
		if pod := byName[m.Name]; pod != nil {
			mr.Node = pod.Spec.NodeName
			for _, cs := range pod.Status.ContainerStatuses {
				mr.Restarts += cs.RestartCount
			}
		}
		for _, f := range rg.Status.FencedMembers {
			if f == m.Name {
				mr.Notes = append(mr.Notes, "fenced-by-failover")
			}
		}
		if slices.Contains(fencedByHand(rg), m.Name) {
			mr.Notes = append(mr.Notes, "fenced")
		}
		if sw := rg.Status.Switchover; sw != nil && sw.Phase != "" && sw.To == m.Name {
			mr.Notes = append(mr.Notes, "switchover target")
		}
		r.Members = append(r.Members, mr)
	}
	sort.Slice(r.Conditions, func(i, j int) bool { return r.Conditions[i].Type < r.Conditions[j].Type })
	return r
}

// renderText writes the report for a terminal: a header, the members, the
// last failover and the conditions. now dates the last failover. Pure.
func renderText(w io.Writer, r statusReport, now time.Time) error {
	master := r.Master
	if master == "" {
		master = "<none>"
	}
	fmt.Fprintf(w, "ReplicationGroup %s/%s: %s, master %s, replicas %s ready\n", r.Namespace, r.Group, orDash(r.Phase), master, orDash(r.Replicas))
	if r.PinnedMaster != "" {
		fmt.Fprintf(w, "spec.master pins the master to %s\n", r.PinnedMaster)
	}
	if r.MasterService != "" {
		fmt.Fprintf(w, "Services: %s (master), %s (replicas)\n", r.MasterService, r.ReplicaService)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tREADY\tLINK\tOFFSET\tLAG\tRESTARTS\tNODE\tNOTES")
	for _, m := range r.Members {
		lag := "-"
		if m.Role == "replica" {
			lag = fmt.Sprintf("%dB", m.LagBytes)
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%d\t%s\t%d\t%s\t%s\n", m.Name, m.Role, m.Ready, orDash(m.Link), m.Offset, lag, m.Restarts, orDash(m.Node), orDash(strings.Join(m.Notes, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if sw := r.Switchover; sw != nil && sw.Phase != "" {
		fmt.Fprintf(w, "Switchover under way: %s -> %s (%s)\n", sw.From, sw.To, sw.Phase)
	}
	if f := r.LastFailover; f != nil {
		when := "time unknown"
		if f.DetectedAt != nil {
			when = duration.HumanDuration(now.Sub(f.DetectedAt.Time)) + " ago"
		}
		took := "in progress"
		if f.EndpointSwitchedAt != nil {
			took = fmt.Sprintf("took %s", time.Duration(f.DurationMs)*time.Millisecond)
		}
		fmt.Fprintf(w, "Last failover: %s -> %s (%s), %s, %s, offset gap %dB, full resyncs %d\n",
			f.From, f.To, f.Reason, when, took, f.OffsetGapBytes, f.FullResyncs)
	} else {
		fmt.Fprintln(w, "Last failover: none")
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONDITION\tSTATUS\tREASON\tMESSAGE")
	for _, c := range r.Conditions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	return tw.Flush()
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// status prints the group's status.
func status(ctx context.Context, c client.Client, key client.ObjectKey, output string, out io.Writer, now time.Time) error {
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := c.Get(ctx, key, rg); err != nil {
		return err
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(key.Namespace), client.MatchingLabels{"replnode.io/group": key.Name}); err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	r := buildReport(rg, pods.Items)
	if output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return renderText(out, r, now)
}

// ------ SWITCHOVER ------

// chooseSwitchoverTarget returns the member to switch over to: to, checked
// to be a member other than the master; or, when empty, the ready replica
// with its link up and the smallest lag (then the lowest name). Pure.
func chooseSwitchoverTarget(rg *replnodev1alpha1.ReplicationGroup, to string) (string, error) {
	master := rg.Status.CurrentMaster
	if master == "" {
		return "", fmt.Errorf("group %s has no master yet", rg.Name)
	}
	if to != "" {
		if to == master {
			return "", fmt.Errorf("%s is already the master", to)
		}
		for _, m := range rg.Status.Members {
			if m.Name == to {
				return to, nil
			}
		}
		return "", fmt.Errorf("%s is not a member of %s", to, rg.Name)
	}
	var best *replnodev1alpha1.MemberStatus
	for i := range rg.Status.Members {
		m := &rg.Status.Members[i]
		if m.Name == master || m.Role != "replica" || !m.Ready || m.LinkStatus != "up" {
			continue
		}
		if best == nil || m.LagBytes < best.LagBytes || (m.LagBytes == best.LagBytes && m.Name < best.Name) {
			best = m
		}
	}
	if best == nil {
		return "", fmt.Errorf("group %s has no ready replica with its link up to switch over to", rg.Name)
	}
	return best.Name, nil
}

// switchover sets spec.master to the chosen member; the operator switches
// over without losing acknowledged writes (or refuses and says why in the
// SwitchoverReady condition).
func switchover(ctx context.Context, c client.Client, key client.ObjectKey, to string, out io.Writer) error {
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := c.Get(ctx, key, rg); err != nil {
		return err
	}
	target, err := chooseSwitchoverTarget(rg, to)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(rg.DeepCopy())
	rg.Spec.Master = target
	if err := c.Patch(ctx, rg, patch); err != nil {
		return fmt.Errorf("setting spec.master: %w", err)
	}
	fmt.Fprintf(out, "switchover of %s requested: %s -> %s (spec.master=%s keeps the master there; clear it to let failovers stand)\n",
		key.Name, rg.Status.CurrentMaster, target, target)
	fmt.Fprintf(out, "follow it with: kubectl replnode status %s -n %s\n", key.Name, key.Namespace)
	return nil
}

// ------ RESTART ------

// restart sets the restartedAt pod annotation: the change of template rolls
// the replicas one at a time, then switches over and restarts the old master.
func restart(ctx context.Context, c client.Client, key client.ObjectKey, out io.Writer, now time.Time) error {
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := c.Get(ctx, key, rg); err != nil {
		return err
	}
	patch := client.MergeFrom(rg.DeepCopy())
	if rg.Spec.PodAnnotations == nil {
		rg.Spec.PodAnnotations = map[string]string{}
	}
	stamp := now.UTC().Format(time.RFC3339)
	rg.Spec.PodAnnotations[restartedAtAnnotation] = stamp
	if err := c.Patch(ctx, rg, patch); err != nil {
		return fmt.Errorf("setting spec.podAnnotations: %w", err)
	}
	fmt.Fprintf(out, "rolling restart of %s requested (%s=%s): replicas one at a time, then a switchover and the old master\n",
		key.Name, restartedAtAnnotation, stamp)
	return nil
}

// ------ FENCING ------

// fencedByHand returns the members listed in the fencing annotation (an
// unreadable annotation lists none; the operator reports it).
func fencedByHand(rg *replnodev1alpha1.ReplicationGroup) []string {
	names, _ := parseFenced(rg)
	return names
}

// parseFenced parses the fencing annotation, a JSON array of member names.
func parseFenced(rg *replnodev1alpha1.ReplicationGroup) ([]string, error) {
	raw := rg.Annotations[replnodev1alpha1.AnnotationFencedInstances]
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var names []string
	if err := json.Unmarshal([]byte(raw), &names); err != nil {
		return nil, fmt.Errorf("annotation %s is not a JSON array of member names (%q): fix it by hand", replnodev1alpha1.AnnotationFencedInstances, raw)
	}
	return names, nil
}

// fencedList returns the annotation's list with member added or removed,
// sorted; it refuses to fence the master or a name that is not a member. Pure.
func fencedList(rg *replnodev1alpha1.ReplicationGroup, member string, fence bool) ([]string, error) {
	names, err := parseFenced(rg)
	if err != nil {
		return nil, err
	}
	if !fence {
		return slices.DeleteFunc(names, func(n string) bool { return n == member }), nil
	}
	if member == rg.Status.CurrentMaster {
		return nil, fmt.Errorf("%s is the master: switch over first (kubectl replnode switchover %s)", member, rg.Name)
	}
	known := false
	for _, m := range rg.Status.Members {
		known = known || m.Name == member
	}
	if !known {
		return nil, fmt.Errorf("%s is not a member of %s", member, rg.Name)
	}
	if !slices.Contains(names, member) {
		names = append(names, member)
	}
	sort.Strings(names)
	return names, nil
}

// fence adds member to (or removes it from) the fencing annotation.
func fence(ctx context.Context, c client.Client, key client.ObjectKey, member string, fenced bool, out io.Writer) error {
	rg := &replnodev1alpha1.ReplicationGroup{}
	if err := c.Get(ctx, key, rg); err != nil {
		return err
	}
	names, err := fencedList(rg, member, fenced)
	if err != nil {
		return err
	}
	patch := client.MergeFromWithOptions(rg.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if rg.Annotations == nil {
		rg.Annotations = map[string]string{}
	}
	if len(names) == 0 {
		delete(rg.Annotations, replnodev1alpha1.AnnotationFencedInstances)
	} else {
		data, _ := json.Marshal(names)
		rg.Annotations[replnodev1alpha1.AnnotationFencedInstances] = string(data)
	}
	if err := c.Patch(ctx, rg, patch); err != nil {
		return fmt.Errorf("setting %s: %w", replnodev1alpha1.AnnotationFencedInstances, err)
	}
	if fenced {
		fmt.Fprintf(out, "%s fenced: out of the Services, never made master, keeps its data and replicates (unfence: kubectl replnode unfence %s %s)\n", member, key.Name, member)
	} else {
		fmt.Fprintf(out, "%s unfenced: back in service as a replica\n", member)
	}
	return nil
}
