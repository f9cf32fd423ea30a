package controllers

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/replnode/replnode/controllers/failover"
	"github.com/replnode/replnode/controllers/nodeclient"
)

// ------ OBSERVING MEMBERS ------

// memberView is one member as the failover policy and the topology decision
// see it; built from the pod and the node's answers.
type memberView struct {
	observed observedMember
	failover failover.Member
	// staleAuth is true when the node accepted only the previous password.
	staleAuth bool
	// user and password are the credentials the node accepted this pass
	// (memberCredentials).
	user, password string
}

// credential is one way to authenticate to a member.
type credential struct {
	user, password string
	// stale marks the previous group password.
	stale bool
}

// memberCredentials are the ways to authenticate to a member, in order of
// preference: the operator's own ACL user (users.go), which members get
// once the users step ran; the group password as the default user (a new
// process, or a group from before the operator had its user); and the
// previous group password, for a member the rotation has not reached.
func (r *ReplicationGroupReconciler) memberCredentials(p *pass) []credential {
	if p.rg.Spec.Auth == nil {
		return []credential{{password: p.password}}
	}
	creds := []credential{{user: operatorUser, password: p.password}, {password: p.password}}
	if old, ok := r.knownPassword(p.key()); ok && old != p.password {
		creds = append(creds, credential{password: old, stale: true})
	}
	return creds
}

// observeMembers lists the group's pods and asks every running one for ROLE
// and INFO replication. Unreachable nodes are recorded as such, not errors.
func (r *ReplicationGroupReconciler) observeMembers(ctx context.Context, p *pass) (ctrl.Result, error) {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(p.rg.Namespace), client.MatchingLabels(selectorLabels(p.rg))); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing pods: %w", err)
	}
	p.views = nil
	// The recorded master is asked last, so what its replicas say can
	// bound the look at it (masterLooksSilent).
	var master *corev1.Pod
	masterOrd := 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !metav1.IsControlledBy(pod, p.rg) {
			continue
		}
		ord, ok := memberOrdinal(p.rg, pod.Name)
		if !ok {
			continue
		}
		p.pods[pod.Name] = pod
		if pod.Name == p.rg.Status.CurrentMaster {
			master, masterOrd = pod, ord
			continue
		}
		p.views = append(p.views, r.observePod(ctx, p, pod, ord, false))
	}
	p.reportsReadAt = r.now()
	if master != nil {
		quick := masterLooksSilent(p.views, master.Status.PodIP, failoverSettings(p.rg))
		mv := r.observePod(ctx, p, master, masterOrd, quick)
		if !mv.failover.Reachable && mv.observed.PodIP != "" && !mv.observed.Deleting {
			// The look at a master that did not answer took up to its
			// timeout, and its replicas' no-contact grew meanwhile: the
			// pass decides on their reports read again, so votes that
			// matured during the look count now instead of a pass (and
			// another look) later. Only those that answered are asked.
			for i, v := range p.views {
				if v.failover.Reachable {
					p.views[i] = r.observePod(ctx, p, p.pods[v.observed.Name], v.observed.Ordinal, false)
				}
			}
			p.reportsReadAt = r.now()
		}
		p.views = append(p.views, mv)
	}
	sort.Slice(p.views, func(i, j int) bool { return p.views[i].observed.Ordinal < p.views[j].observed.Ordinal })
	p.members = nil
	for _, v := range p.views {
		p.members = append(p.members, v.observed)
	}
	if m := p.view(p.rg.Status.CurrentMaster); m != nil && m.failover.Reachable && m.failover.Repl.Role == failover.RoleMaster {
		now := metav1.NewTime(r.now())
		p.rg.Status.MasterLastSeen = &now
		p.rg.Status.MasterReplID = m.failover.Repl.ReplID
		p.rg.Status.MasterOffset = m.failover.Repl.Offset
		recordMasterHistory(p, m.failover.Name, m.failover.Repl)
	}
	return ctrl.Result{}, nil
}

// masterLooksSilent reports whether a replica that follows the master at
// ip reports, in milliseconds, no contact with it for longer than a ping
// period plus CronSlack: a master that runs is heard at least that often,
// so it is frozen, stopped or cut off, and a look at it is bounded like a
// look at a member that did not answer. Without this, the first look at a
// frozen master waited the whole node timeout (2s), often in the very pass
// that could have seen the replicas' votes (issue 12, SIGSTOP RTO). A
// shorter look only decides whether the master counts as reachable; a
// master that does not answer is failed over only on its replicas' votes.
func masterLooksSilent(views []memberView, ip string, s failover.Settings) bool {
	limit := failover.PreciseGuardMargin(s).Milliseconds()
	for _, v := range views {
		r := v.failover.Repl
		if v.failover.Reachable && r.Role == failover.RoleReplica && ip != "" && r.MasterHost == ip && r.NoContactMs >= limit {
			return true
		}
	}
	return false
}

// observePod builds the view of one member pod, asking its node when it
// runs; quick bounds the look by silentMemberTimeout, as for a member that
// did not answer the last one.
func (r *ReplicationGroupReconciler) observePod(ctx context.Context, p *pass, pod *corev1.Pod, ord int, quick bool) (v memberView) {
	o := observedMember{
		Name:         pod.Name,
		Ordinal:      ord,
		PodExists:    true,
		Deleting:     !pod.DeletionTimestamp.IsZero(),
		Failed:       pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded,
		Ready:        podReady(pod),
		PodIP:        pod.Status.PodIP,
		RoleLabel:    pod.Labels[labelRole],
		TemplateHash: pod.Annotations[annotationTemplateHash],
		ProcessDown:  serverContainerDown(pod),
	}
	fm := failover.Member{
		Name: pod.Name, Ordinal: ord, Host: pod.Status.PodIP,
		Phase: failover.PodPhase(pod.Status.Phase), Ready: o.Ready, Deleted: o.Deleting,
		Fenced:      containsString(p.rg.Status.FencedMembers, pod.Name),
		ProcessDown: o.ProcessDown,
	}
	v = memberView{observed: o, failover: fm}
	// What its process declared, remembered while it does not answer
	// (set after everything below, whatever path returns).
	defer func() {
		v.failover.Guard = r.rememberGuard(pod.UID, v.failover.Reachable, v.failover.Repl.Guard)
	}()
	if o.PodIP == "" || o.Deleting || pod.Status.Phase != corev1.PodRunning {
		return v
	}
	if quick || r.wasSilent(pod.UID) {
		// It did not answer the last look (a frozen process, a cut): a
		// stopped process accepts the connection and never replies, so
		// every pass would wait the whole node timeout for it before
		// deciding anything — seconds added to every failover of a
		// frozen master or a stopped node. A member that answers again
		// does so within this.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, silentMemberTimeout)
		defer cancel()
	}
	defer func() { r.rememberSilent(pod.UID, !v.failover.Reachable) }()
	var info string
	var err error
	for _, c := range r.memberCredentials(p) {
		node := p.node(pod.Name, o.PodIP)
		node.User, node.Password = c.user, c.password
		if info, err = r.Nodes.InfoReplication(ctx, node); err != nil && isWrongPass(err) {
			continue
		}
		if err == nil {
			v.user, v.password, v.staleAuth = c.user, c.password, c.stale
		}
		break
	}
	if err != nil {
		logf.FromContext(ctx).V(1).Info("member does not answer", "member", pod.Name, "error", err.Error())
		return v
	}
	repl, err := failover.ParseInfoReplication(info)
	if err != nil {
		logf.FromContext(ctx).Info("member sent unreadable INFO replication", "member", pod.Name, "error", err.Error())
		return v
	}
	v.failover.Reachable, v.failover.Repl = true, repl
	v.observed.Reachable = true
	v.observed.Role = string(repl.Role)
	v.observed.MasterHost = repl.MasterHost
	v.observed.LinkUp = repl.LinkStatus == failover.LinkUp && !repl.SyncInProgress
	v.observed.Offset = repl.Offset
	v.observed.Repl = repl
	v.observed.GoodReplicas = repl.GoodReplicas
	return v
}

// serverContainerDown reports whether the kubelet says the server container
// of a running pod has exited and not been restarted yet (waiting or
// terminated). A container not reported at all is not known to be down.
func serverContainerDown(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == containerName {
			return cs.State.Running == nil
		}
	}
	return false
}

// isWrongPass reports whether err is the node refusing our password.
func isWrongPass(err error) bool {
	return nodeclient.IsServerError(err) && (strings.Contains(err.Error(), "WRONGPASS") || strings.Contains(err.Error(), "NOAUTH") || strings.Contains(err.Error(), "invalid password"))
}

// podReady reports the pod's Ready condition.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containsString reports whether list holds s.
func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// view returns the view of the named member, or nil.
func (p *pass) view(name string) *memberView {
	if name == "" {
		return nil
	}
	for i := range p.views {
		if p.views[i].observed.Name == name {
			return &p.views[i]
		}
	}
	return nil
}

// node returns the address and password to reach a member at ip.
func (p *pass) node(_ string, ip string) nodeclient.Node {
	return nodeclient.Node{Addr: net.JoinHostPort(ip, strconv.Itoa(serverPort)), Password: p.password, TLS: p.tls.Config}
}

// nodeOf returns how to reach the named member, or false when it has no IP.
func (p *pass) nodeOf(name string) (nodeclient.Node, bool) {
	pod := p.pods[name]
	if pod == nil || pod.Status.PodIP == "" {
		return nodeclient.Node{}, false
	}
	n := p.node(name, pod.Status.PodIP)
	if v := p.view(name); v != nil && v.failover.Reachable {
		// What it accepted when observed: the operator's user, or until
		// the rotation step has run the old password.
		n.User, n.Password = v.user, v.password
	}
	return n, true
}

// ------ PASSWORD ROTATION ------

// reconcilePasswordRotation applies a changed auth password to members that
// still accept only the previous one: CONFIG SET masterauth (so replication
// keeps working) then requirepass, replicas before the master. Pods need no
// restart: the password reaches new containers through the Secret reference.
func (r *ReplicationGroupReconciler) reconcilePasswordRotation(ctx context.Context, p *pass) (ctrl.Result, error) {
	if p.rg.Spec.Auth == nil {
		p.rg.Status.AuthSecretResourceVersion = ""
		return ctrl.Result{}, nil
	}
	var stale []*memberView
	for i := range p.views {
		if p.views[i].staleAuth {
			stale = append(stale, &p.views[i])
		}
	}
	sort.SliceStable(stale, func(i, j int) bool {
		return stale[j].observed.Name == p.rg.Status.CurrentMaster && stale[i].observed.Name != p.rg.Status.CurrentMaster
	})
	for _, v := range stale {
		n, ok := p.nodeOf(v.observed.Name)
		if !ok {
			continue
		}
		for _, param := range []string{"masterauth", "requirepass"} {
			if err := r.nodesFor(p).ConfigSet(ctx, n, param, p.password); err != nil {
				if actingRefused(err) {
					return ctrl.Result{}, err
				}
				r.event(p.rg, corev1.EventTypeWarning, "PasswordRotationFailed",
					fmt.Sprintf("could not set %s on %s: %v", param, v.observed.Name, err))
				return ctrl.Result{}, fmt.Errorf("CONFIG SET %s on %s: %w", param, v.observed.Name, err)
			}
		}
		v.staleAuth = false
		v.user, v.password = "", p.password
		r.event(p.rg, corev1.EventTypeNormal, "PasswordRotated", fmt.Sprintf("%s now uses the password from the auth Secret", v.observed.Name))
	}
	allAnswer := true
	for _, v := range p.views {
		if v.observed.PodIP != "" && !v.observed.Deleting && !v.failover.Reachable {
			allAnswer = false
		}
	}
	if allAnswer {
		r.rememberPassword(p.key(), p.password)
		p.rg.Status.AuthSecretResourceVersion = p.secretVersion
	}
	return ctrl.Result{}, nil
}
