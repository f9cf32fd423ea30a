package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
	"github.com/replnode/replnode/replnode/acl"
	"github.com/replnode/replnode/replnode/server"
)

// ------ ACL USERS (spec.users) ------
//
// The operator keeps spec.users on every running member, live: members
// start with the default user only (the ConfigMap names no user and holds
// no password), and every pass compares each member's ACL LIST with the
// line the node itself would print for the user as specified, computed
// with the node's own ACL code (server.NewACLRegistry). A member that
// differs gets `ACL SETUSER <name> reset on <rules> ><password>`; a user
// removed from the spec gets ACL DELUSER. A restarted member therefore
// lacks the users until the next pass (seconds).
//
// A changed password is rolled out in two steps so that no client is
// refused: first every member gets the new password while keeping the
// hashes it had (the old password still works everywhere), and only when
// every running member answered and accepts the new one are the old
// hashes dropped — the order the group password's rotation follows
// (members.go: masterauth before requirepass, all before forgetting the
// old one). It needs no memory: the old hashes are read from ACL LIST, so
// an operator restarted halfway finishes the job.

// ------ THE OPERATOR'S OWN USERS ------
//
// With spec.auth, every member also gets two users of the operator's,
// applied the same way, with the group password:
//
//   - replnode-operator, which the operator authenticates as: only the
//     commands package nodeclient sends (the Client interface: PING, ROLE,
//     INFO, REPLICAOF, CONFIG SET, CLIENT PAUSE/UNPAUSE/KILL, REPLNODE
//     EPOCH, ACL LIST/SETUSER/DELUSER), no key, no channel;
//   - replnode-replication, which replicas authenticate to their master as
//     (masteruser, set with CONFIG SET once every member has the user):
//     PSYNC, REPLCONF and PING, what Redis's ACL documentation gives a
//     replication user.
//
// Nothing in the pods changes, so existing groups upgrade in place: the
// operator keeps reaching a member as the default user until the member
// has its user (observePod tries it first), and a member's replication
// link switches user at its next connection. A restarted process has
// neither user until the next pass gives them back; this step runs before
// the failover steps, so a member is never promoted without them. While
// the group password is rotated both users accept the old and the new one
// (members.go rotates masterauth and requirepass member by member).

const (
	operatorUser    = "replnode-operator"
	replicationUser = "replnode-replication"
)

// systemUsers are the operator's own users and their rules.
var systemUsers = []struct{ name, rules string }{
	{operatorUser, "+ping +role +info +replicaof +config|set +client|pause +client|unpause +client|kill +replnode|epoch +acl|list +acl|setuser +acl|deluser"},
	{replicationUser, "+psync +replconf +ping"},
}

// setMasterUser makes every running member's replication link
// authenticate as replnode-replication (CONFIG SET masteruser), once per
// server process (pod UID and container restart count): a restarted
// process starts from the pod's configuration, with the default user.
// Called once every member has the user. What it remembers is the group's
// current processes only.
func (r *ReplicationGroupReconciler) setMasterUser(ctx context.Context, p *pass) {
	if p.rg.Spec.Auth == nil {
		return
	}
	done, _ := r.masterUserSet.recall(p.key())
	next := map[string]bool{}
	for _, v := range p.views {
		pod := p.pods[v.observed.Name]
		if pod == nil || !v.failover.Reachable {
			continue
		}
		process := processKey(pod)
		if done[process] {
			next[process] = true
			continue
		}
		n, _ := p.nodeOf(v.observed.Name)
		// Like every mutating command: only as the leader, in the
		// group's epoch (leadership.go, epoch.go).
		if err := r.nodesFor(p).ConfigSet(epochContext(ctx, p.rg), n, "masteruser", replicationUser); err != nil {
			logf.FromContext(ctx).Info("could not set masteruser", "member", v.observed.Name, "error", err.Error())
			continue
		}
		next[process] = true
	}
	r.masterUserSet.remember(p.key(), next)
}

// processKey names a member's server process: its pod and the container's
// restart count.
func processKey(pod *corev1.Pod) string {
	restarts := int32(0)
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == containerName {
			restarts = cs.RestartCount
		}
	}
	return fmt.Sprintf("%s/%d", pod.UID, restarts)
}

// wantedUser is a spec.users entry with its password read, or one of the
// operator's own users (system).
type wantedUser struct {
	spec replnodev1alpha1.UserSpec
	// passwords are the ones the user must accept: the Secret's, and for
	// the operator's users the previous group password too while the group
	// password is being rotated.
	passwords []string
	// system marks the operator's own users (not in spec or status.users).
	system bool
	// secretVersion is the password Secret's resourceVersion.
	secretVersion string
	// line is the user as ACL LIST prints it once applied.
	line string
	// final is the ACL SETUSER rules that make the user as specified.
	final []string
}

// passwordRule reports whether an ACL rule sets or removes a password.
func passwordRule(op string) bool {
	if op == "" {
		return false
	}
	switch op[0] {
	case '>', '<', '#', '!':
		return true
	}
	return strings.EqualFold(op, "nopass") || strings.EqualFold(op, "resetpass")
}

// userSetArgs is what ACL SETUSER is given for a user: a clean slate,
// on (the rules may say off), the rules, then the password rules.
func userSetArgs(rules string, passwordOps ...string) []string {
	return append(append([]string{"reset", "on"}, strings.Fields(rules)...), passwordOps...)
}

// rulesHash identifies a user's rules text in status (never the password).
func rulesHash(rules string) string {
	sum := sha256.Sum256([]byte(rules))
	return hex.EncodeToString(sum[:8])
}

// checkUserRules checks a user's rules as a node would apply them, with
// the node's ACL parser and command table. The error never quotes a
// password rule.
func checkUserRules(u replnodev1alpha1.UserSpec) error {
	for i, op := range strings.Fields(u.Rules) {
		if passwordRule(op) {
			return fmt.Errorf("rule %d sets or removes a password (>, <, #, !, nopass, resetpass): the password is passwordSecretKeyRef's", i+1)
		}
	}
	_, err := server.NewACLRegistry().SetUser(u.Name, userSetArgs(u.Rules))
	return err
}

// validateUsers is the admission check of spec.users: each user's rules
// go through the node's own parser (the CRD checks names and shapes).
func validateUsers(users []replnodev1alpha1.UserSpec) field.ErrorList {
	var errs field.ErrorList
	for i, u := range users {
		path := field.NewPath("spec", "users").Index(i).Child("rules")
		if err := checkUserRules(u); err != nil {
			if strings.Contains(err.Error(), "password") {
				// Never echo a rule that may hold a password.
				errs = append(errs, field.Forbidden(path, err.Error()))
			} else {
				errs = append(errs, field.Invalid(path, u.Rules, "refused by the node's ACL parser: "+err.Error()))
			}
		}
	}
	return errs
}

// describeUser returns the ACL LIST line a node prints for a user after
// ACL SETUSER name args, on a node whose acl-pubsub-default is
// allchannels when pubsubAll (what reset gives the user).
func describeUser(pubsubAll bool, name string, args []string) (string, error) {
	reg := server.NewACLRegistry()
	reg.PubsubDefaultAll = pubsubAll
	if _, err := reg.SetUser(name, args); err != nil {
		return "", err
	}
	return "user " + name + " " + reg.Describe(reg.User(name)), nil
}

// aclListUsers maps the lines of ACL LIST to the users' names.
func aclListUsers(lines []string) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "user" {
			out[f[1]] = l
		}
	}
	return out
}

// lineHashes returns the password hashes of an ACL LIST line.
func lineHashes(line string) []string {
	var out []string
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "#") {
			out = append(out, f[1:])
		}
	}
	return out
}

// userStep is one ACL SETUSER for one user on one member.
type userStep struct {
	user string
	args []string
}

// memberUsersPlan is what one member needs for its users to be as
// specified: adds (first pass: new passwords added, old ones kept),
// finishes (second pass, once every member accepts the new passwords:
// old ones dropped) and deletes (users removed from the spec).
type memberUsersPlan struct {
	adds, finishes []userStep
	deletes        []string
}

// empty reports whether the member is as specified.
func (m memberUsersPlan) empty() bool {
	return len(m.adds) == 0 && len(m.finishes) == 0 && len(m.deletes) == 0
}

// planMemberUsers compares a member's users (name → ACL LIST line) with
// the wanted ones and the removed names. Pure.
func planMemberUsers(current map[string]string, wanted []wantedUser, removed []string) memberUsersPlan {
	var plan memberUsersPlan
	for _, w := range wanted {
		cur, ok := current[w.spec.Name]
		if ok && cur == w.line {
			continue
		}
		wantedHash := map[string]bool{}
		for _, pw := range w.passwords {
			wantedHash[acl.HashPassword([]byte(pw))] = true
		}
		var keep []string
		for _, h := range lineHashes(cur) {
			if !wantedHash[h] {
				keep = append(keep, "#"+h)
			}
		}
		if len(keep) == 0 {
			plan.adds = append(plan.adds, userStep{user: w.spec.Name, args: w.final})
			continue
		}
		plan.adds = append(plan.adds, userStep{user: w.spec.Name, args: append(append([]string(nil), w.final...), keep...)})
		plan.finishes = append(plan.finishes, userStep{user: w.spec.Name, args: w.final})
	}
	for _, name := range removed {
		if _, ok := current[name]; ok {
			plan.deletes = append(plan.deletes, name)
		}
	}
	return plan
}

// usersProblem is why spec.users cannot be applied now.
type usersProblem struct {
	reason, message string
}

// wantedUsers reads every user's password Secret and computes the line
// each user must have. A problem (a Secret or key missing, rules the node
// refuses) means nothing may be touched.
func (r *ReplicationGroupReconciler) wantedUsers(ctx context.Context, p *pass) ([]wantedUser, *usersProblem, error) {
	pubsubAll := string(p.rg.Spec.Config["acl-pubsub-default"]) == "allchannels"
	var out []wantedUser
	for _, u := range p.rg.Spec.Users {
		ref := u.PasswordSecretKeyRef
		secret, err := r.optionalSecret(ctx, p.rg.Namespace, ref.Name, "user password")
		if err != nil {
			return nil, nil, err
		}
		value, reason, message := secretKeyValue(secret, ref.Name, ref.Key, fmt.Sprintf("spec.users[%s].passwordSecretKeyRef", u.Name))
		if reason != "" {
			return nil, &usersProblem{reason: reason, message: fmt.Sprintf("user %q: %s; no member's users were changed", u.Name, message)}, nil
		}
		if err := checkUserRules(u); err != nil {
			return nil, &usersProblem{reason: "InvalidRules", message: fmt.Sprintf("user %q: %v; no member's users were changed", u.Name, err)}, nil
		}
		w := wantedUser{spec: u, passwords: []string{string(value)}, secretVersion: secret.ResourceVersion}
		if err := w.describe(pubsubAll); err != nil {
			return nil, &usersProblem{reason: "InvalidRules", message: fmt.Sprintf("user %q: %v; no member's users were changed", u.Name, err)}, nil
		}
		out = append(out, w)
	}
	if p.rg.Spec.Auth == nil {
		return out, nil, nil
	}
	passwords := []string{p.password}
	if old, ok := r.knownPassword(p.key()); ok && old != "" && old != p.password {
		// The group password is being rotated: members not rotated yet
		// still authenticate their replication link (and the operator
		// them) with the old one.
		passwords = append(passwords, old)
	}
	for _, su := range systemUsers {
		w := wantedUser{spec: replnodev1alpha1.UserSpec{Name: su.name, Rules: su.rules}, passwords: passwords, system: true}
		if err := w.describe(pubsubAll); err != nil {
			return nil, nil, fmt.Errorf("the operator's user %s: %w", su.name, err)
		}
		out = append(out, w)
	}
	return out, nil, nil
}

// describe sets the ACL SETUSER rules and the ACL LIST line of w.
func (w *wantedUser) describe(pubsubAll bool) error {
	var ops []string
	for _, pw := range w.passwords {
		ops = append(ops, ">"+pw)
	}
	w.final = userSetArgs(w.spec.Rules, ops...)
	var err error
	w.line, err = describeUser(pubsubAll, w.spec.Name, w.final)
	return err
}

// redactPasswords removes the users' passwords from a node's message.
func redactPasswords(msg string, wanted []wantedUser) string {
	for _, w := range wanted {
		for _, pw := range w.passwords {
			msg = strings.ReplaceAll(msg, pw, "<redacted>")
		}
	}
	return msg
}

// usersRefused ends the users step on a refusal of the fence (this
// operator may not act, or a member knows a newer epoch) without recording
// anything: the members did not refuse the users, this operator was
// refused, and the rest of the pass meets the same refusal on its own.
func (r *ReplicationGroupReconciler) usersRefused(ctx context.Context, err error, wanted []wantedUser) (ctrl.Result, error) {
	logf.FromContext(ctx).Info("not applying users: " + redactPasswords(err.Error(), wanted))
	return ctrl.Result{RequeueAfter: r.resyncPeriod()}, nil
}

// reconcileUsers applies spec.users to every running member (see the top
// of this file) and reports it in status.users and the UsersApplied
// condition. It never stops the pass: users do not hold up replication
// or failover.
func (r *ReplicationGroupReconciler) reconcileUsers(ctx context.Context, p *pass) (ctrl.Result, error) {
	st := &p.rg.Status
	if len(p.rg.Spec.Users) == 0 && len(st.Users) == 0 && p.rg.Spec.Auth == nil {
		meta.RemoveStatusCondition(&st.Conditions, replnodev1alpha1.ConditionUsersApplied)
		return ctrl.Result{}, nil
	}
	wanted, problem, err := r.wantedUsers(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	if problem != nil {
		r.setUsersCondition(p, metav1.ConditionFalse, problem.reason, problem.message, corev1.EventTypeWarning)
		return ctrl.Result{RequeueAfter: r.resyncPeriod()}, nil
	}
	inSpec := map[string]bool{}
	specUsers := 0
	for _, w := range wanted {
		inSpec[w.spec.Name] = true
		if !w.system {
			specUsers++
		}
	}
	var removed []string
	for _, a := range st.Users {
		if !inSpec[a.Name] {
			removed = append(removed, a.Name)
		}
	}

	type memberWork struct {
		name string
		plan memberUsersPlan
	}
	var work []memberWork
	var silent, failures []string
	for _, v := range p.views {
		o := v.observed
		if o.PodIP == "" || o.Deleting || p.pods[o.Name] == nil || p.pods[o.Name].Status.Phase != corev1.PodRunning {
			continue
		}
		if !v.failover.Reachable {
			silent = append(silent, o.Name)
			continue
		}
		n, _ := p.nodeOf(o.Name)
		lines, err := r.Nodes.ACLList(ctx, n)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %s", o.Name, redactPasswords(err.Error(), wanted)))
			continue
		}
		work = append(work, memberWork{name: o.Name, plan: planMemberUsers(aclListUsers(lines), wanted, removed)})
	}
	touched := map[string]bool{}
	var changedMembers []string
	// ACL changes are fenced like every mutating command: only as the
	// leader, in the group's epoch (leadership.go, epoch.go). A refusal
	// ends the step: another operator acts, or this one may not.
	nodes, actx := r.nodesFor(p), epochContext(ctx, p.rg)
	var refused error
	refusal := func(err error) bool {
		if refused == nil && (actingRefused(err) || errors.Is(err, nodeclient.ErrStaleEpoch)) {
			refused = err
		}
		return refused != nil
	}
	apply := func(member string, steps []userStep) bool {
		n, _ := p.nodeOf(member)
		for _, s := range steps {
			if refused != nil {
				return false
			}
			if err := nodes.ACLSetUser(actx, n, s.user, s.args); err != nil {
				if refusal(err) {
					return false
				}
				failures = append(failures, fmt.Sprintf("%s: user %q: %s", member, s.user, redactPasswords(err.Error(), wanted)))
				return false
			}
			touched[s.user] = true
		}
		return true
	}
	// First every member accepts the new passwords (and loses removed users).
	for _, m := range work {
		if m.plan.empty() {
			continue
		}
		changedMembers = append(changedMembers, m.name)
		if !apply(m.name, m.plan.adds) {
			continue
		}
		n, _ := p.nodeOf(m.name)
		for _, name := range m.plan.deletes {
			if err := nodes.ACLDelUser(actx, n, name); err != nil {
				if refusal(err) {
					break
				}
				failures = append(failures, fmt.Sprintf("%s: deleting user %q: %s", m.name, name, redactPasswords(err.Error(), wanted)))
			}
		}
	}
	if refused != nil {
		return r.usersRefused(ctx, refused, wanted)
	}
	if len(failures) > 0 {
		r.setUsersCondition(p, metav1.ConditionFalse, "ApplyFailed", "members refused users: "+strings.Join(failures, "; "), corev1.EventTypeWarning)
		return ctrl.Result{RequeueAfter: r.resyncPeriod()}, nil
	}
	if len(silent) > 0 {
		// A member that did not answer may still accept only an old
		// password: the old ones stay everywhere until it does.
		r.setUsersCondition(p, metav1.ConditionFalse, "MembersNotAnswering",
			fmt.Sprintf("waiting for %s to answer before finishing the users", strings.Join(silent, ", ")), "")
		return ctrl.Result{RequeueAfter: r.resyncPeriod()}, nil
	}
	// Then, every member accepting the new passwords, the old ones go.
	for _, m := range work {
		apply(m.name, m.plan.finishes)
	}
	if refused != nil {
		return r.usersRefused(ctx, refused, wanted)
	}
	if len(failures) > 0 {
		r.setUsersCondition(p, metav1.ConditionFalse, "ApplyFailed", "members refused users: "+strings.Join(failures, "; "), corev1.EventTypeWarning)
		return ctrl.Result{RequeueAfter: r.resyncPeriod()}, nil
	}

	now := metav1.NewTime(r.now())
	previous := map[string]replnodev1alpha1.AppliedUser{}
	for _, a := range st.Users {
		previous[a.Name] = a
	}
	var applied []replnodev1alpha1.AppliedUser
	for _, w := range wanted {
		if w.system {
			continue
		}
		a := replnodev1alpha1.AppliedUser{
			Name: w.spec.Name, SecretName: w.spec.PasswordSecretKeyRef.Name,
			SecretResourceVersion: w.secretVersion, RulesHash: rulesHash(w.spec.Rules), AppliedAt: &now,
		}
		if prev, ok := previous[a.Name]; ok && !touched[a.Name] && prev.AppliedAt != nil &&
			prev.SecretResourceVersion == a.SecretResourceVersion && prev.RulesHash == a.RulesHash && prev.SecretName == a.SecretName {
			a.AppliedAt = prev.AppliedAt
		}
		applied = append(applied, a)
	}
	st.Users = applied
	for _, name := range removed {
		r.event(p.rg, corev1.EventTypeNormal, "UserDeleted", fmt.Sprintf("user %q was deleted from every member", name))
	}
	r.setMasterUser(ctx, p)
	if len(changedMembers) > 0 {
		var names []string
		for name := range touched {
			names = append(names, name)
		}
		sort.Strings(names)
		if len(names) > 0 {
			r.event(p.rg, corev1.EventTypeNormal, "UsersApplied",
				fmt.Sprintf("users %s applied on %s", strings.Join(names, ", "), strings.Join(changedMembers, ", ")))
		}
	}
	msg := fmt.Sprintf("%d users as specified on every running member", specUsers)
	if p.rg.Spec.Auth != nil {
		msg += fmt.Sprintf(", with the operator's %s and the replicas' %s", operatorUser, replicationUser)
	}
	r.setUsersCondition(p, metav1.ConditionTrue, "Applied", msg, "")
	return ctrl.Result{}, nil
}

// setUsersCondition records UsersApplied and, for a warning, emits it as
// an event when the reason changes ("Users"+reason).
func (r *ReplicationGroupReconciler) setUsersCondition(p *pass, status metav1.ConditionStatus, reason, message, eventType string) {
	wasReason := ""
	if was := previousCondition(p.rg.Status.Conditions, replnodev1alpha1.ConditionUsersApplied); was != nil {
		wasReason = was.Reason
	}
	meta.SetStatusCondition(&p.rg.Status.Conditions, metav1.Condition{
		Type: replnodev1alpha1.ConditionUsersApplied, Status: status, Reason: reason, Message: message,
		ObservedGeneration: p.rg.Generation,
	})
	if eventType != "" && wasReason != reason {
		r.event(p.rg, eventType, "Users"+reason, message)
	}
}

// namesUserSecret reports whether one of the group's users takes its
// password from the named Secret.
func namesUserSecret(rg *replnodev1alpha1.ReplicationGroup, secret string) bool {
	for _, u := range rg.Spec.Users {
		if u.PasswordSecretKeyRef.Name == secret {
			return true
		}
	}
	return false
}
