package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
)

// The reconcilers against a real kube-apiserver (envtest, built by make
// k8s-bins), called directly with an injected clock.

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func startEnvtest(t *testing.T) client.Client {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		matches, _ := filepath.Glob(filepath.Join(repoRoot(), "bin", "k8s", "v*", ".stamp"))
		if len(matches) == 0 {
			t.Fatal("no control plane binaries: set KUBEBUILDER_ASSETS or run `make k8s-bins`")
		}
		dir = filepath.Dir(matches[len(matches)-1])
	}
	ctrllog.SetLogger(logr.Discard())
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		CRDDirectoryPaths:        []string{filepath.Join(repoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := replv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func reconcile(t *testing.T, r interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}, ns, name string) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	if err != nil {
		t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

// groupWithMembers creates a group and sets its observed status.
func groupWithMembers(t *testing.T, c client.Client, ns, name string, members []replv1.MemberStatus) {
	t.Helper()
	g := &replv1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	mustCreate(t, c, g)
	g.Status.CurrentMaster = name + "-0"
	g.Status.Members = members
	if err := c.Status().Update(context.Background(), g); err != nil {
		t.Fatal(err)
	}
}

func getBackup(t *testing.T, c client.Client, ns, name string) *replv1.Backup {
	t.Helper()
	var b replv1.Backup
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &b); err != nil {
		t.Fatal(err)
	}
	return &b
}

func TestReconcilersEnvtest(t *testing.T) {
	c := startEnvtest(t)
	ctx := context.Background()
	ns := "backup-test"
	mustCreate(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	mustCreate(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s3"},
		Data: map[string][]byte{"accessKeyID": []byte(minioUser), "secretAccessKey": []byte(minioPassword)}})
	clock := &testClock{now: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
	store := replv1.ObjectStoreSpec{Bucket: testBucket, Endpoint: "127.0.0.1:1", Insecure: true,
		Credentials: replv1.ObjectStoreCredentials{SecretName: "s3"}}

	t.Run("no caught-up replica: Pending with NoSource", func(t *testing.T) {
		groupWithMembers(t, c, ns, "lagging", []replv1.MemberStatus{
			{Name: "lagging-0", PodIP: "10.0.0.1", Role: "master", Ready: true},
			{Name: "lagging-1", PodIP: "10.0.0.2", Role: "replica", LinkStatus: "up", LagBytes: MaxSourceLagBytes + 1, Ready: true},
		})
		mustCreate(t, c, &replv1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nosource"},
			Spec: replv1.BackupSpec{Group: "lagging", ObjectStore: store}})
		r := &BackupReconciler{Client: c, Now: clock.Now, Take: func(context.Context, TakeRequest, func() time.Time) (*replv1.BackupManifest, error) {
			t.Fatal("Take called without a source")
			return nil, nil
		}}
		if res := reconcile(t, r, ns, "nosource"); res.RequeueAfter == 0 {
			t.Error("a Pending backup is not retried")
		}
		b := getBackup(t, c, ns, "nosource")
		cond := meta.FindStatusCondition(b.Status.Conditions, replv1.ConditionBackupComplete)
		if b.Status.Phase != replv1.BackupPhasePending || cond == nil || cond.Reason != "NoSource" {
			t.Errorf("phase %s, condition %+v", b.Status.Phase, cond)
		}
	})

	t.Run("upload failing three times: Failed", func(t *testing.T) {
		groupWithMembers(t, c, ns, "flaky", []replv1.MemberStatus{
			{Name: "flaky-0", PodIP: "10.0.0.1", Role: "master", Ready: true},
			{Name: "flaky-1", PodIP: "10.0.0.2", Role: "replica", LinkStatus: "up", Ready: true},
		})
		mustCreate(t, c, &replv1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "flaky"},
			Spec: replv1.BackupSpec{Group: "flaky", ObjectStore: store}})
		var reqs []TakeRequest
		r := &BackupReconciler{Client: c, Now: clock.Now, NodePort: 7000, Take: func(_ context.Context, req TakeRequest, _ func() time.Time) (*replv1.BackupManifest, error) {
			reqs = append(reqs, req)
			return nil, errors.New("store unreachable")
		}}
		for i := 1; i <= MaxAttempts; i++ {
			reconcile(t, r, ns, "flaky")
			b := getBackup(t, c, ns, "flaky")
			if b.Status.Attempts != int32(i) || b.Status.Source != "flaky-1" {
				t.Fatalf("after attempt %d: %+v", i, b.Status)
			}
		}
		b := getBackup(t, c, ns, "flaky")
		cond := meta.FindStatusCondition(b.Status.Conditions, replv1.ConditionBackupComplete)
		if b.Status.Phase != replv1.BackupPhaseFailed || cond == nil || cond.Reason != "UploadFailed" || b.Status.Manifest != nil {
			t.Errorf("phase %s, condition %+v", b.Status.Phase, cond)
		}
		if len(reqs) != MaxAttempts || reqs[0].Addr != "10.0.0.2:7000" || reqs[0].Creds.AccessKeyID != minioUser ||
			reqs[0].Keys != KeysFor("", ns, "flaky", "flaky") {
			t.Errorf("take requests %+v", reqs)
		}
		reconcile(t, r, ns, "flaky") // a Failed backup is final
		if len(reqs) != MaxAttempts {
			t.Error("a Failed backup was attempted again")
		}
	})

	// The rest streams from a real replnode replica into a real MinIO.
	minioPath(t)
	m := startMinio(t)
	store.Endpoint = m.endpoint()
	master, replica := startPair(t)
	populate(t, master, 1000, "k", 16)
	waitCaughtUp(t, master, replica)
	members := func(g string) []replv1.MemberStatus {
		return []replv1.MemberStatus{
			{Name: g + "-0", PodIP: "127.0.0.2", Role: "master", Ready: true},
			{Name: g + "-1", PodIP: "127.0.0.1", Role: "replica", LinkStatus: "up", Ready: true},
		}
	}
	bucket := m.bucket(t)

	t.Run("Backup completes with the manifest in status", func(t *testing.T) {
		groupWithMembers(t, c, ns, "real", members("real"))
		mustCreate(t, c, &replv1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "real"},
			Spec: replv1.BackupSpec{Group: "real", ObjectStore: store}})
		r := &BackupReconciler{Client: c, Now: clock.Now, NodePort: replica.Port}
		reconcile(t, r, ns, "real")
		b := getBackup(t, c, ns, "real")
		cond := meta.FindStatusCondition(b.Status.Conditions, replv1.ConditionBackupComplete)
		if b.Status.Phase != replv1.BackupPhaseCompleted || cond == nil || cond.Status != metav1.ConditionTrue || b.Status.Manifest == nil {
			t.Fatalf("status %+v", b.Status)
		}
		stored, err := bucket.ReadManifest(ctx, b.Status.ManifestKey)
		if err != nil {
			t.Fatal(err)
		}
		if stored.SHA256 != b.Status.Manifest.SHA256 || stored.Keys != 1000 || b.Status.Manifest.Keys != 1000 || b.Status.Source != "real-1" {
			t.Errorf("stored manifest %+v, status %+v", stored, b.Status)
		}
	})

	t.Run("ScheduledBackup every minute keeps the last 2", func(t *testing.T) {
		groupWithMembers(t, c, ns, "sched", members("sched"))
		two := int32(2)
		sb := &replv1.ScheduledBackup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "every-minute"},
			Spec: replv1.ScheduledBackupSpec{Schedule: "* * * * *", Group: "sched", ObjectStore: store,
				Retention: replv1.RetentionSpec{KeepLast: &two}}}
		mustCreate(t, c, sb)
		created := sb.CreationTimestamp.Time
		clock.Set(created)
		sr := &ScheduledBackupReconciler{Client: c, Now: clock.Now}
		br := &BackupReconciler{Client: c, Now: clock.Now, NodePort: replica.Port}
		list := func() []replv1.Backup {
			var l replv1.BackupList
			if err := c.List(ctx, &l, client.InNamespace(ns), client.MatchingLabels{LabelScheduledBackup: "every-minute"}); err != nil {
				t.Fatal(err)
			}
			sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
			return l.Items
		}
		res := reconcile(t, sr, ns, "every-minute")
		if n := len(list()); n != 0 {
			t.Fatalf("%d backups before the first run", n)
		}
		first, _ := NextRun("* * * * *", created)
		if res.RequeueAfter != first.Sub(created) {
			t.Errorf("requeue after %v, want %v", res.RequeueAfter, first.Sub(created))
		}
		var names []string
		for i := 0; i < 4; i++ {
			at := first.Add(time.Duration(i) * time.Minute)
			clock.Set(at.Add(time.Second))
			reconcile(t, sr, ns, "every-minute")
			name := fmt.Sprintf("every-minute-%d", at.Unix())
			names = append(names, name)
			b := getBackup(t, c, ns, name)
			if b.Spec.Group != "sched" || len(b.OwnerReferences) != 1 || b.OwnerReferences[0].Name != "every-minute" {
				t.Fatalf("backup %s: spec %+v owners %+v", name, b.Spec, b.OwnerReferences)
			}
			reconcile(t, br, ns, name)
			if p := getBackup(t, c, ns, name).Status.Phase; p != replv1.BackupPhaseCompleted {
				t.Fatalf("backup %s is %s", name, p)
			}
			reconcile(t, sr, ns, "every-minute") // retention
		}
		var got []string
		for _, b := range list() {
			got = append(got, b.Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(names[2:]) {
			t.Errorf("backups kept %v, want %v", got, names[2:])
		}
		for i, name := range names {
			k := KeysFor("", ns, "sched", name)
			if want := i >= 2; exists(t, bucket, k.Manifest) != want || exists(t, bucket, k.Data) != want {
				t.Errorf("%s: objects exist %v/%v, want %v", name, exists(t, bucket, k.Manifest), exists(t, bucket, k.Data), want)
			}
		}
		var cur replv1.ScheduledBackup
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "every-minute"}, &cur); err != nil {
			t.Fatal(err)
		}
		last := first.Add(3 * time.Minute)
		if cur.Status.LastScheduleTime == nil || !cur.Status.LastScheduleTime.Time.Equal(last) ||
			cur.Status.NextScheduleTime == nil || !cur.Status.NextScheduleTime.Time.Equal(last.Add(time.Minute)) ||
			cur.Status.LastBackup != names[3] || !meta.IsStatusConditionTrue(cur.Status.Conditions, replv1.ConditionScheduled) {
			t.Errorf("scheduled status %+v", cur.Status)
		}
	})
}
