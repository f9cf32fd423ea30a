package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

// ------ THE PLUGIN AGAINST A REAL API SERVER (envtest) ------
//
// No operator runs: the test writes the group's status as the operator
// would, runs the plugin's commands through a kubeconfig file, and checks
// what they print and what they change in the API.

// repoRoot is the repository root, two directories above this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// startAPI starts envtest with the CRDs and returns a client and the path of
// an admin kubeconfig whose context's namespace is "default".
func startAPI(t *testing.T) (client.Client, string) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		matches, _ := filepath.Glob(filepath.Join(repoRoot(), "bin", "k8s", "v*", ".stamp"))
		if len(matches) == 0 {
			t.Skip("no control plane binaries: set KUBEBUILDER_ASSETS or run `make k8s-bins`")
		}
		assets = filepath.Dir(matches[len(matches)-1])
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        []string{filepath.Join(repoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme := k8sruntime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = replnodev1alpha1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, path
}

// plugin runs the plugin with args and returns its output.
func plugin(t *testing.T, kubeconfig string, now time.Time, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"--kubeconfig", kubeconfig}, args...), &out, &errOut, func() time.Time { return now })
	return out.String() + errOut.String(), err
}

func TestPlugin(t *testing.T) {
	c, kubeconfig := startAPI(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "cache", Namespace: "shop"}}
	rg.Spec.Replicas = ptr.To[int32](2)
	if err := c.Create(ctx, rg); err != nil {
		t.Fatal(err)
	}
	detected := metav1.NewTime(time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC))
	switched := metav1.NewTime(detected.Add(850 * time.Millisecond))
	rg.Status = replnodev1alpha1.ReplicationGroupStatus{
		Phase: replnodev1alpha1.PhaseRunning, CurrentMaster: "cache-1", TargetMaster: "cache-1", Replicas: "2/2", ReadyReplicas: 2,
		MasterService: "cache-master", ReplicaService: "cache-replicas", FailoverEpoch: 3,
		Members: []replnodev1alpha1.MemberStatus{
			{Name: "cache-0", Role: "replica", Ready: true, LinkStatus: "up", Offset: 900, LagBytes: 100, PodIP: "10.1.0.5"},
			{Name: "cache-1", Role: "master", Ready: true, Offset: 1000, PodIP: "10.1.0.6"},
			{Name: "cache-2", Role: "replica", Ready: true, LinkStatus: "up", Offset: 1000, LagBytes: 0, PodIP: "10.1.0.7"},
		},
		LastFailover: &replnodev1alpha1.FailoverRecord{From: "cache-0", To: "cache-1", Reason: "MasterPodGone",
			DetectedAt: &detected, EndpointSwitchedAt: &switched, DurationMs: 850},
		Conditions: []metav1.Condition{
			{Type: replnodev1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "AllMembersReady", Message: "every member is ready", LastTransitionTime: detected},
			{Type: replnodev1alpha1.ConditionMemberFailing, Status: metav1.ConditionFalse, Reason: "ServersRunning", Message: "no member's server is failing", LastTransitionTime: detected},
		},
	}
	if err := c.Status().Update(ctx, rg); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "cache-2", Namespace: "shop", Labels: map[string]string{"replnode.io/group": "cache"}},
		Spec:       corev1.PodSpec{NodeName: "local-2", Containers: []corev1.Container{{Name: "replnode", Image: "replnode"}}},
	}
	if err := c.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "replnode", RestartCount: 4, Image: "replnode", ImageID: "x"}}
	if err := c.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	now := detected.Add(5 * time.Minute)

	t.Run("status text", func(t *testing.T) {
		out, err := plugin(t, kubeconfig, now, "status", "cache", "-n", "shop")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{
			"ReplicationGroup shop/cache: Running, master cache-1, replicas 2/2 ready",
			"Services: cache-master (master), cache-replicas (replicas)",
			"Last failover: cache-0 -> cache-1 (MasterPodGone), 5m ago, took 850ms, offset gap 0B, full resyncs 0",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		lines := strings.Split(out, "\n")
		find := func(prefix string) []string {
			for _, l := range lines {
				if strings.HasPrefix(l, prefix) {
					return strings.Fields(l)
				}
			}
			t.Fatalf("no line starting with %q:\n%s", prefix, out)
			return nil
		}
		if got := find("cache-2 "); strings.Join(got, " ") != "cache-2 replica true up 1000 0B 4 local-2 -" {
			t.Errorf("cache-2 line = %v", got)
		}
		if got := find("cache-1 "); strings.Join(got, " ") != "cache-1 master true - 1000 - 0 - -" {
			t.Errorf("cache-1 line = %v", got)
		}
		if got := find("MemberFailing "); strings.Join(got[:3], " ") != "MemberFailing False ServersRunning" {
			t.Errorf("condition line = %v", got)
		}
	})

	t.Run("status json", func(t *testing.T) {
		out, err := plugin(t, kubeconfig, now, "-n", "shop", "status", "cache", "-o", "json")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var r statusReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if r.Master != "cache-1" || len(r.Members) != 3 || r.Members[2].Node != "local-2" || r.Members[2].Restarts != 4 ||
			r.LastFailover == nil || r.LastFailover.DurationMs != 850 || len(r.Conditions) != 2 || r.FailoverEpoch != 3 {
			t.Errorf("report = %+v", r)
		}
	})

	t.Run("unknown group", func(t *testing.T) {
		if out, err := plugin(t, kubeconfig, now, "-n", "shop", "status", "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("err = %v, out %s", err, out)
		}
	})

	t.Run("switchover picks the in-sync replica with the least lag", func(t *testing.T) {
		out, err := plugin(t, kubeconfig, now, "-n", "shop", "switchover", "cache")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := &replnodev1alpha1.ReplicationGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "cache"}, got); err != nil {
			t.Fatal(err)
		}
		if got.Spec.Master != "cache-2" || !strings.Contains(out, "cache-1 -> cache-2") {
			t.Errorf("spec.master = %q, out %s", got.Spec.Master, out)
		}
	})

	t.Run("switchover --to", func(t *testing.T) {
		if out, err := plugin(t, kubeconfig, now, "-n", "shop", "switchover", "cache", "--to", "cache-0"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := &replnodev1alpha1.ReplicationGroup{}
		_ = c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "cache"}, got)
		if got.Spec.Master != "cache-0" {
			t.Errorf("spec.master = %q", got.Spec.Master)
		}
		for _, bad := range []string{"cache-1", "cache-9"} {
			if _, err := plugin(t, kubeconfig, now, "-n", "shop", "switchover", "cache", "--to", bad); err == nil {
				t.Errorf("switchover to %s accepted", bad)
			}
		}
	})

	t.Run("restart sets kubectl's restartedAt pod annotation", func(t *testing.T) {
		if out, err := plugin(t, kubeconfig, now, "-n", "shop", "restart", "cache"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := &replnodev1alpha1.ReplicationGroup{}
		_ = c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "cache"}, got)
		if got.Spec.PodAnnotations[restartedAtAnnotation] != "2026-12-04T22:05:00Z" {
			t.Errorf("podAnnotations = %v", got.Spec.PodAnnotations)
		}
	})

	t.Run("fence and unfence edit the fencing annotation", func(t *testing.T) {
		annotation := func() string {
			got := &replnodev1alpha1.ReplicationGroup{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "cache"}, got); err != nil {
				t.Fatal(err)
			}
			return got.Annotations[replnodev1alpha1.AnnotationFencedInstances]
		}
		for _, m := range []string{"cache-2", "cache-0", "cache-2"} {
			if out, err := plugin(t, kubeconfig, now, "-n", "shop", "fence", "cache", m); err != nil {
				t.Fatalf("fence %s: %v\n%s", m, err, out)
			}
		}
		if got := annotation(); got != `["cache-0","cache-2"]` {
			t.Errorf("annotation = %s", got)
		}
		out, err := plugin(t, kubeconfig, now, "-n", "shop", "status", "cache")
		if err != nil || !strings.Contains(out, "local-2  fenced") {
			t.Errorf("status does not note cache-2 fenced (%v):\n%s", err, out)
		}
		if _, err := plugin(t, kubeconfig, now, "-n", "shop", "fence", "cache", "cache-1"); err == nil || !strings.Contains(err.Error(), "switch over first") {
			t.Errorf("fencing the master: %v", err)
		}
		if _, err := plugin(t, kubeconfig, now, "-n", "shop", "fence", "cache", "cache-7"); err == nil {
			t.Error("fencing a non-member was accepted")
		}
		for _, m := range []string{"cache-0", "cache-2"} {
			if out, err := plugin(t, kubeconfig, now, "-n", "shop", "unfence", "cache", m); err != nil {
				t.Fatalf("unfence %s: %v\n%s", m, err, out)
			}
		}
		if got := annotation(); got != "" {
			t.Errorf("annotation after unfencing all = %q", got)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"status"}, {"frobnicate", "cache"}, {"status", "cache", "-o", "yaml"}, {"fence", "cache"}, {"status", "cache", "extra"}} {
			if _, err := plugin(t, kubeconfig, now, args...); err == nil {
				t.Errorf("%v accepted", args)
			}
		}
	})
}

// TestChooseSwitchoverTarget checks the default target needs a ready replica
// with its link up.
func TestChooseSwitchoverTarget(t *testing.T) {
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "cache"}}
	rg.Status.CurrentMaster = "cache-0"
	rg.Status.Members = []replnodev1alpha1.MemberStatus{
		{Name: "cache-0", Role: "master", Ready: true},
		{Name: "cache-1", Role: "replica", Ready: false, LinkStatus: "up"},
		{Name: "cache-2", Role: "replica", Ready: true, LinkStatus: "down"},
	}
	if got, err := chooseSwitchoverTarget(rg, ""); err == nil {
		t.Errorf("chose %s with no eligible replica", got)
	}
	rg.Status.Members[1].Ready = true
	if got, err := chooseSwitchoverTarget(rg, ""); err != nil || got != "cache-1" {
		t.Errorf("got %q, %v", got, err)
	}
}

// TestBackupCommand runs `backup` against a real API server: the Backup it
// creates, where its object store comes from, and what it refuses.
func TestBackupCommand(t *testing.T) {
	c, kubeconfig := startAPI(t)
	ctx := context.Background()
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "cache", Namespace: "default"}}
	rg.Spec.Replicas = ptr.To[int32](2)
	if err := c.Create(ctx, rg); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 23, 4, 5, 0, time.UTC)
	get := func(name string) *replnodev1alpha1.Backup {
		t.Helper()
		bk := &replnodev1alpha1.Backup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, bk); err != nil {
			t.Fatalf("get Backup %s: %v", name, err)
		}
		return bk
	}

	// No object store anywhere: refused, saying how to give one.
	if out, err := plugin(t, kubeconfig, now, "backup", "cache"); err == nil || !strings.Contains(err.Error(), "--bucket") {
		t.Fatalf("backup with no object store: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"backup", "cache", "--bucket", "b"}, // partial object store
		{"backup", "cache", "--target", "leader", "--bucket", "b", "--endpoint", "e:9000", "--credentials-secret", "s"}, // bad target
		{"backup", "nosuch", "--bucket", "backups", "--endpoint", "e:9000", "--credentials-secret", "s"},                // no group
		{"backup"}, {"backup", "cache", "extra"},
	} {
		if out, err := plugin(t, kubeconfig, now, args...); err == nil {
			t.Errorf("%v accepted:\n%s", args, out)
		}
	}
	var list replnodev1alpha1.BackupList
	if err := c.List(ctx, &list); err != nil || len(list.Items) != 0 {
		t.Fatalf("refused commands left Backups: %d, %v", len(list.Items), err)
	}

	// From the flags, with a name.
	out, err := plugin(t, kubeconfig, now, "backup", "cache", "--name", "before-migration", "--target", "prefer-replica",
		"--bucket", "backups", "--endpoint", "minio.storage:9000", "--credentials-secret", "s3-creds", "--prefix", "prod", "--insecure")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "backup.replnode.io/before-migration created") {
		t.Errorf("output:\n%s", out)
	}
	bk := get("before-migration")
	want := replnodev1alpha1.ObjectStoreSpec{Bucket: "backups", Prefix: "prod", Endpoint: "minio.storage:9000", Insecure: true,
		Credentials: replnodev1alpha1.ObjectStoreCredentials{SecretName: "s3-creds", AccessKeyIDKey: "accessKeyID", SecretAccessKeyKey: "secretAccessKey"}}
	if bk.Spec.Group != "cache" || bk.Spec.Target != replnodev1alpha1.BackupTargetPreferReplica || bk.Spec.ObjectStore != want {
		t.Errorf("Backup spec %+v; want group cache, prefer-replica, %+v", bk.Spec, want)
	}
	// The same name again: the API's conflict, not a second Backup.
	if _, err := plugin(t, kubeconfig, now, "backup", "cache", "--name", "before-migration"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second Backup with the same name: %v", err)
	}

	// No flags: the newest Backup's object store, the default name and target.
	out, err = plugin(t, kubeconfig, now, "backup", "cache")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	bk = get("cache-20261205230405")
	if bk.Spec.ObjectStore != want || bk.Spec.Target != replnodev1alpha1.BackupTargetReplica || !strings.Contains(out, "from Backup before-migration") {
		t.Errorf("default Backup %+v\n%s", bk.Spec, out)
	}

	// A ScheduledBackup of the group wins over its Backups; another
	// group's does not count.
	for _, sb := range []*replnodev1alpha1.ScheduledBackup{
		{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default"}, Spec: replnodev1alpha1.ScheduledBackupSpec{Schedule: "0 3 * * *", Group: "cache",
			ObjectStore: replnodev1alpha1.ObjectStoreSpec{Bucket: "nightly-bucket", Endpoint: "s3.example:443", Credentials: replnodev1alpha1.ObjectStoreCredentials{SecretName: "aws"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "default"}, Spec: replnodev1alpha1.ScheduledBackupSpec{Schedule: "0 3 * * *", Group: "other",
			ObjectStore: replnodev1alpha1.ObjectStoreSpec{Bucket: "other-bucket", Endpoint: "s3.example:443", Credentials: replnodev1alpha1.ObjectStoreCredentials{SecretName: "aws"}}}},
	} {
		if err := c.Create(ctx, sb); err != nil {
			t.Fatal(err)
		}
	}
	out, err = plugin(t, kubeconfig, now.Add(time.Minute), "backup", "cache")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if bk = get("cache-20261205230505"); bk.Spec.ObjectStore.Bucket != "nightly-bucket" || !strings.Contains(out, "from ScheduledBackup nightly") {
		t.Errorf("Backup with a ScheduledBackup present: %+v\n%s", bk.Spec.ObjectStore, out)
	}
}
