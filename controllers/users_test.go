package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/nodeclient"
	"github.com/replnode/replnode/replnode/server"
)

// ------ SPEC.USERS ------

// userSpec is a spec.users entry whose password is key "password" of Secret secret.
func userSpec(name, rules, secret string) replnodev1alpha1.UserSpec {
	return replnodev1alpha1.UserSpec{Name: name, Rules: rules, PasswordSecretKeyRef: corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "password"}}
}

// TestValidateUsers: the admission check takes the rules the node takes,
// refuses the ones it refuses with its message, and refuses password
// rules without repeating them.
func TestValidateUsers(t *testing.T) {
	cases := []struct {
		name, rules string
		// want is "" for accepted, else a piece of the refusal.
		want string
	}{
		{"read-only", "~app:* +@read -@dangerous", ""},
		{"everything", "~* &* +@all", ""},
		{"off, subcommand, first arg, selector", "off ~* +client|list +config|get -select +select|0 (~tmp:* +set)", ""},
		{"read/write key permissions", "%R~r:* %W~w:* +@all", ""},
		{"unknown command", "~* +nosuchcommand",
			`Invalid value: "~* +nosuchcommand": refused by the node's ACL parser: Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL`},
		{"unknown category", "~* +@nosuchcategory", "Unknown command or category name in ACL"},
		{"unclosed selector", "~* (+get", "Unmatched parenthesis in acl selector starting at '(+get'."},
		{"adding a password", "~* +@all >s3cret-in-rules", "rule 3 sets or removes a password"},
		{"a hash", "#" + strings.Repeat("a", 64) + " ~*", "rule 1 sets or removes a password"},
		{"nopass", "nopass ~* +@all", "rule 1 sets or removes a password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rg := testGroup()
			rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "pw"}
			rg.Spec.Users = []replnodev1alpha1.UserSpec{userSpec("app", tc.rules, "app-pw")}
			_, err := ConfigValidator{}.ValidateCreate(context.Background(), rg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want Invalid with %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret-in-rules") {
				t.Fatalf("the refusal repeats the password: %v", err)
			}
		})
	}

	// An update that leaves the users as stored is never refused for them
	// (rules stored while the webhook was down); one that changes them is.
	old := testGroup()
	old.Spec.Users = []replnodev1alpha1.UserSpec{userSpec("app", "~* +nosuchcommand", "app-pw")}
	upd := old.DeepCopy()
	upd.Spec.Replicas = ptr.To[int32](3)
	if _, err := (ConfigValidator{}).ValidateUpdate(context.Background(), old, upd); err != nil {
		t.Fatalf("an update not touching the users was refused: %v", err)
	}
	upd.Spec.Users[0].Rules = "~* +nosuchcommand2"
	if _, err := (ConfigValidator{}).ValidateUpdate(context.Background(), old, upd); !apierrors.IsInvalid(err) {
		t.Fatalf("changed bad rules: got %v, want Invalid", err)
	}
}

// TestUsersNeverInConfigOrPods: users are applied live, so the ConfigMap
// and the pods name neither them nor their passwords.
func TestUsersNeverInConfigOrPods(t *testing.T) {
	rg := testGroup()
	rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "pw"}
	plain := buildRedisConf(rg)
	rg.Spec.Users = []replnodev1alpha1.UserSpec{userSpec("app", "~* +@all", "app-pw")}
	if conf := buildRedisConf(rg); conf != plain {
		t.Fatalf("spec.users changed redis.conf:\n%s", conf)
	}
	pod := buildPod(rg, podParams{Ordinal: 0, Role: roleReplica})
	if s := fmt.Sprint(pod.Spec); strings.Contains(s, "app-pw") || strings.Contains(s, "+@all") {
		t.Fatalf("the pod names a user: %s", s)
	}
}

// usersHarness runs the auth, observe and users steps of real passes
// over fake nodes and a fake API server.
type usersHarness struct {
	t      *testing.T
	r      *ReplicationGroupReconciler
	rg     *replnodev1alpha1.ReplicationGroup
	nodes  *nodeclient.Fake
	events *events.FakeRecorder
	addrs  []string
	notes  []string
	// lastViews are the members as the last pass observed them.
	lastViews []memberView
}

// restarted bumps member i's container restart count, as the kubelet
// does when its server process is restarted.
func (h *usersHarness) restarted(i int) {
	h.t.Helper()
	var pod corev1.Pod
	ctx := context.Background()
	if err := h.r.Get(ctx, client.ObjectKey{Namespace: "ns", Name: memberName(h.rg, i)}, &pod); err != nil {
		h.t.Fatal(err)
	}
	restarts := int32(0)
	if len(pod.Status.ContainerStatuses) > 0 {
		restarts = pod.Status.ContainerStatuses[0].RestartCount
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, RestartCount: restarts + 1,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if err := h.r.Status().Update(ctx, &pod); err != nil {
		h.t.Fatal(err)
	}
}

const usersGroupPassword = "group-pw-9d1f"

// newUsersHarness starts a group of three running members (ordinal 0
// master) with spec.auth and the given users and Secrets.
func newUsersHarness(t *testing.T, users []replnodev1alpha1.UserSpec, secrets ...*corev1.Secret) *usersHarness {
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns", UID: "rg-uid", Generation: 1}}
	rg.Spec.Replicas = ptr.To[int32](2)
	rg.Spec.Auth = &replnodev1alpha1.AuthSpec{SecretName: "group-pw", Key: "password"}
	rg.Spec.Users = users
	objs := []client.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "group-pw"},
		Data: map[string][]byte{"password": []byte(usersGroupPassword)}}}
	for _, s := range secrets {
		objs = append(objs, s)
	}
	h := &usersHarness{t: t, rg: rg, nodes: nodeclient.NewFake(), events: events.NewFakeRecorder(1000)}
	h.nodes.NewACL = server.NewACLRegistry
	for i := 0; i < 3; i++ {
		ip := fmt.Sprintf("10.0.0.%d", i+1)
		addr := ip + ":6379"
		h.addrs = append(h.addrs, addr)
		master := ""
		if i > 0 {
			master = h.addrs[0]
		}
		h.nodes.Start(addr, usersGroupPassword, master)
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: memberName(rg, i), Labels: selectorLabels(rg), UID: types.UID(fmt.Sprintf("pod-uid-%d", i)),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "replnode.io/v1alpha1", Kind: "ReplicationGroup",
					Name: "g", UID: "rg-uid", Controller: ptr.To(true)}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip},
		})
	}
	h.r = &ReplicationGroupReconciler{Client: fake.NewClientBuilder().WithObjects(objs...).Build(), Nodes: h.nodes, Recorder: h.events}
	return h
}

// pass runs one pass of the steps users depend on, in runSteps' order
// (users before the password rotation), and keeps its status.
func (h *usersHarness) pass() {
	h.t.Helper()
	p := newPass(h.rg)
	ctx := context.Background()
	for _, step := range []func(context.Context, *pass) (ctrl.Result, error){
		h.r.reconcileAuth, h.r.observeMembers, h.r.reconcileUsers, h.r.reconcilePasswordRotation,
	} {
		if _, err := step(ctx, p); err != nil {
			h.t.Fatalf("pass: %v", err)
		}
	}
	h.rg = p.rg
	h.lastViews = p.views
	for {
		select {
		case e := <-h.events.Events:
			h.notes = append(h.notes, e)
		default:
			return
		}
	}
}

// condition returns the UsersApplied condition.
func (h *usersHarness) condition() metav1.Condition {
	c := meta.FindStatusCondition(h.rg.Status.Conditions, replnodev1alpha1.ConditionUsersApplied)
	if c == nil {
		h.t.Fatal("no UsersApplied condition")
	}
	return *c
}

// setSecret replaces a Secret's password (a new resourceVersion).
func (h *usersHarness) setSecret(name, password string) {
	h.t.Helper()
	var s corev1.Secret
	ctx := context.Background()
	if err := h.r.Get(ctx, client.ObjectKey{Namespace: "ns", Name: name}, &s); err != nil {
		h.t.Fatal(err)
	}
	s.Data = map[string][]byte{"password": []byte(password)}
	if err := h.r.Update(ctx, &s); err != nil {
		h.t.Fatal(err)
	}
}

// passwordSecret is a user's password Secret.
func passwordSecret(name, password string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Data: map[string][]byte{"password": []byte(password)}}
}

// TestUsersAppliedOnEveryMember: the users reach every member with their
// rules and passwords, status says when and from which Secret version,
// and a second pass sends nothing.
func TestUsersAppliedOnEveryMember(t *testing.T) {
	h := newUsersHarness(t, []replnodev1alpha1.UserSpec{
		userSpec("reader", "~* +@read", "reader-pw"), userSpec("writer", "~* &* +@all", "writer-pw"),
	}, passwordSecret("reader-pw", "reader-secret-1"), passwordSecret("writer-pw", "writer-secret-1"))
	h.pass()
	c := h.condition()
	if c.Status != metav1.ConditionTrue || c.Reason != "Applied" || c.ObservedGeneration != 1 {
		t.Fatalf("condition %+v", c)
	}
	for _, addr := range h.addrs {
		if !h.nodes.ACLAccepts(addr, "reader", "reader-secret-1") || !h.nodes.ACLAccepts(addr, "writer", "writer-secret-1") {
			t.Fatalf("%s does not accept the users' passwords", addr)
		}
		if h.nodes.ACLAccepts(addr, "reader", "writer-secret-1") {
			t.Fatalf("%s takes the writer's password for the reader", addr)
		}
		lines, _ := h.nodes.ACLList(context.Background(), nodeclient.Node{Addr: addr, Password: usersGroupPassword})
		users := aclListUsers(lines)
		if !strings.HasPrefix(users["reader"], "user reader on sanitize-payload #") || !strings.HasSuffix(users["reader"], " ~* resetchannels -@all +@read") {
			t.Fatalf("%s has reader as %q", addr, users["reader"])
		}
	}
	if len(h.rg.Status.Users) != 2 || h.rg.Status.Users[0].Name != "reader" || h.rg.Status.Users[0].SecretName != "reader-pw" ||
		h.rg.Status.Users[0].SecretResourceVersion == "" || h.rg.Status.Users[0].AppliedAt == nil {
		t.Fatalf("status.users %+v", h.rg.Status.Users)
	}
	appliedAt := *h.rg.Status.Users[0].AppliedAt
	before := len(aclCalls(h.nodes, "SETUSER"))
	h.pass()
	if after := len(aclCalls(h.nodes, "SETUSER")); after != before {
		t.Fatalf("a settled pass sent %d ACL SETUSER", after-before)
	}
	if !h.rg.Status.Users[0].AppliedAt.Equal(&appliedAt) {
		t.Fatal("a settled pass moved appliedAt")
	}
	h.expectNoSecretsInStatusOrEvents("reader-secret-1", "writer-secret-1", usersGroupPassword)
}

// aclCalls returns the fake's ACL calls of one kind.
func aclCalls(f *nodeclient.Fake, kind string) []string {
	var out []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "ACL "+kind) {
			out = append(out, c)
		}
	}
	return out
}

// expectNoSecretsInStatusOrEvents fails when a password appears in the
// status or an event.
func (h *usersHarness) expectNoSecretsInStatusOrEvents(passwords ...string) {
	h.t.Helper()
	all := fmt.Sprintf("%+v\n%s", h.rg.Status, strings.Join(h.notes, "\n"))
	for _, pw := range passwords {
		if strings.Contains(all, pw) {
			h.t.Fatalf("password %q in status or events:\n%s", pw, all)
		}
	}
}

// rotationWatch is a node client that checks, after every ACL SETUSER,
// that no client is refused: while any member has stopped taking the old
// password, every member takes the new one.
type rotationWatch struct {
	*nodeclient.Fake
	t             *testing.T
	addrs         []string
	user, old, nu string
	removals      int
}

// ACLSetUser implements nodeclient.Client.
func (w *rotationWatch) ACLSetUser(ctx context.Context, n nodeclient.Node, name string, rules []string) error {
	err := w.Fake.ACLSetUser(ctx, n, name, rules)
	oldGone, newEverywhere := false, true
	for _, a := range w.addrs {
		oldGone = oldGone || !w.ACLAccepts(a, w.user, w.old)
		newEverywhere = newEverywhere && w.ACLAccepts(a, w.user, w.nu)
	}
	if oldGone {
		w.removals++
		if !newEverywhere {
			w.t.Errorf("after ACL SETUSER on %s a member refuses the old password while another refuses the new one", n.Addr)
		}
	}
	return err
}

// TestUserPasswordRotationRefusesNoClient: a changed password is added on
// every member before the old one goes; with a member not answering the
// old one stays until it does.
func TestUserPasswordRotationRefusesNoClient(t *testing.T) {
	h := newUsersHarness(t, []replnodev1alpha1.UserSpec{userSpec("app", "~app:* +@all", "app-pw")}, passwordSecret("app-pw", "app-old-7"))
	h.pass()
	if c := h.condition(); c.Status != metav1.ConditionTrue {
		t.Fatalf("condition %+v", c)
	}
	firstVersion := h.rg.Status.Users[0].SecretResourceVersion
	watch := &rotationWatch{Fake: h.nodes, t: t, addrs: h.addrs, user: "app", old: "app-old-7", nu: "app-new-8"}
	h.r.Nodes = watch

	// A member does not answer: the others take both passwords, status
	// keeps the old version.
	h.setSecret("app-pw", "app-new-8")
	h.nodes.SetReachable(h.addrs[2], false)
	h.pass()
	if c := h.condition(); c.Status != metav1.ConditionFalse || c.Reason != "MembersNotAnswering" || !strings.Contains(c.Message, "g-2") {
		t.Fatalf("condition %+v", c)
	}
	for _, a := range h.addrs[:2] {
		if !h.nodes.ACLAccepts(a, "app", "app-old-7") || !h.nodes.ACLAccepts(a, "app", "app-new-8") {
			t.Fatalf("%s does not take both passwords", a)
		}
	}
	if h.rg.Status.Users[0].SecretResourceVersion != firstVersion {
		t.Fatal("status reports the new Secret version before every member has it")
	}

	// It answers again: the new password everywhere, then the old one dropped.
	h.nodes.SetReachable(h.addrs[2], true)
	h.pass()
	if c := h.condition(); c.Status != metav1.ConditionTrue {
		t.Fatalf("condition %+v", c)
	}
	for _, a := range h.addrs {
		if h.nodes.ACLAccepts(a, "app", "app-old-7") || !h.nodes.ACLAccepts(a, "app", "app-new-8") {
			t.Fatalf("%s: old still taken or new refused", a)
		}
	}
	if watch.removals == 0 {
		t.Fatal("the watch never saw the old password removed")
	}
	if v := h.rg.Status.Users[0].SecretResourceVersion; v == firstVersion || v == "" {
		t.Fatalf("status.users secretResourceVersion %q after the rotation", v)
	}
	h.expectNoSecretsInStatusOrEvents("app-old-7", "app-new-8", usersGroupPassword)
}

// TestUsersMissingSecretTouchesNothing: a user whose Secret is missing
// stops every change, the condition names it, and removed users are
// deleted once it is back.
func TestUsersMissingSecretTouchesNothing(t *testing.T) {
	h := newUsersHarness(t, []replnodev1alpha1.UserSpec{
		userSpec("keep", "~* +@read", "keep-pw"), userSpec("gone", "~* +@read", "gone-pw"),
	}, passwordSecret("keep-pw", "keep-secret"), passwordSecret("gone-pw", "gone-secret"))
	h.pass()

	h.rg.Spec.Users = append(h.rg.Spec.Users[:1:1], userSpec("late", "~* +@all", "late-pw"))
	h.rg.Generation = 2
	before := len(h.nodes.Calls())
	h.pass()
	c := h.condition()
	if c.Status != metav1.ConditionFalse || c.Reason != "SecretNotFound" || !strings.Contains(c.Message, `"late-pw"`) || c.ObservedGeneration != 2 {
		t.Fatalf("condition %+v", c)
	}
	for _, call := range h.nodes.Calls()[before:] {
		if strings.HasPrefix(call, "ACL SETUSER") || strings.HasPrefix(call, "ACL DELUSER") {
			t.Fatalf("a pass with a missing Secret sent %s", call)
		}
	}
	for _, a := range h.addrs {
		if !h.nodes.ACLAccepts(a, "gone", "gone-secret") {
			t.Fatalf("%s lost user gone while a Secret was missing", a)
		}
	}
	found := false
	for _, n := range h.notes {
		found = found || strings.Contains(n, "UsersSecretNotFound")
	}
	if !found {
		t.Fatalf("no UsersSecretNotFound event in %v", h.notes)
	}

	if err := h.r.Create(context.Background(), passwordSecret("late-pw", "late-secret")); err != nil {
		t.Fatal(err)
	}
	h.pass()
	if c := h.condition(); c.Status != metav1.ConditionTrue {
		t.Fatalf("condition %+v", c)
	}
	for _, a := range h.addrs {
		lines, _ := h.nodes.ACLList(context.Background(), nodeclient.Node{Addr: a, Password: usersGroupPassword})
		users := aclListUsers(lines)
		if _, ok := users["gone"]; ok {
			t.Fatalf("%s still has the removed user", a)
		}
		if !h.nodes.ACLAccepts(a, "late", "late-secret") || !h.nodes.ACLAccepts(a, "keep", "keep-secret") {
			t.Fatalf("%s lacks a user", a)
		}
	}
	var names []string
	for _, u := range h.rg.Status.Users {
		names = append(names, u.Name)
	}
	if strings.Join(names, ",") != "keep,late" {
		t.Fatalf("status.users %v", names)
	}

	// A restarted member (its users gone with the process) gets them back
	// on the next pass.
	h.nodes.Start(h.addrs[1], usersGroupPassword, h.addrs[0])
	if h.nodes.ACLAccepts(h.addrs[1], "late", "late-secret") {
		t.Fatal("the fake kept live users across a restart")
	}
	h.pass()
	if !h.nodes.ACLAccepts(h.addrs[1], "late", "late-secret") {
		t.Fatal("a restarted member did not get the users back")
	}
	h.expectNoSecretsInStatusOrEvents("keep-secret", "gone-secret", "late-secret", usersGroupPassword)
}

// TestPlanMemberUsers: what a member needs, from its ACL LIST.
func TestPlanMemberUsers(t *testing.T) {
	w := wantedUser{spec: userSpec("u", "~* +@read", "s"), passwords: []string{"new"}}
	if err := w.describe(false); err != nil {
		t.Fatal(err)
	}
	oldLine, _ := describeUser(false, "u", userSetArgs(w.spec.Rules, ">old"))
	bothLine, _ := describeUser(false, "u", userSetArgs(w.spec.Rules, ">new", ">old"))

	if p := planMemberUsers(map[string]string{"u": w.line}, []wantedUser{w}, nil); !p.empty() {
		t.Fatalf("a member as specified gets %+v", p)
	}
	p := planMemberUsers(map[string]string{}, []wantedUser{w}, []string{"x"})
	if len(p.adds) != 1 || len(p.finishes) != 0 || len(p.deletes) != 0 {
		t.Fatalf("a new user: %+v", p)
	}
	p = planMemberUsers(map[string]string{"u": oldLine, "x": "user x off resetchannels -@all"}, []wantedUser{w}, []string{"x"})
	if len(p.adds) != 1 || len(p.finishes) != 1 || len(p.deletes) != 1 {
		t.Fatalf("a rotation: %+v", p)
	}
	if got, _ := describeUser(false, "u", p.adds[0].args); got != bothLine {
		t.Fatalf("the first step gives %q, want both passwords %q", got, bothLine)
	}
	if got, _ := describeUser(false, "u", p.finishes[0].args); got != w.line {
		t.Fatalf("the second step gives %q, want %q", got, w.line)
	}
}
