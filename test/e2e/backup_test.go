package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/backup"
	"github.com/replnode/replnode/controllers/backup/miniotest"
	"github.com/replnode/replnode/hack/localcluster/cluster"
	"github.com/replnode/replnode/hack/localcluster/podnet"
	"github.com/replnode/replnode/test/internal/resp"
)

// The backup scenario's own groups, Secret and objects (never the sample
// group's).
const (
	backupSourceGroup   = "bk-src"
	backupRestoredGroup = "bk-restored"
	backupCorruptGroup  = "bk-corrupt"
	backupName          = "bk-manual"
	backupScheduleName  = "bk-minutely"
	backupCredentials   = "bk-s3"
	backupPrefix        = "e2e"
	// backupKeyCount keys are written before the backup.
	backupKeyCount = 100_000
)

// testBackupRestore is issue 20 end to end, against a real MinIO process
// on the cluster's bridge (reached by the operator on the host and by the
// restore init container in a pod alike): 100k keys written with WAIT, a
// Backup from a linked caught-up replica, the group and its PVCs deleted, a
// new group restored from the Backup with DEBUG DIGEST equal to the one
// taken at backup time on every member; a 1-minute ScheduledBackup keeping
// the last 2 (≥3 runs, exactly 2 backups left in the bucket and the API);
// and a restore from a corrupted object refused with ChecksumMismatch,
// while no pod serves from it.
func testBackupRestore(t *testing.T) {
	ctx := context.Background()
	began := time.Now()
	srv, store := startObjectStore(t)
	s3 := srv.Client(t)
	cleanupBackupScenario(t)

	// ------ A GROUP WITH 100k KEYS ------
	createBackupGroup(t, backupSourceGroup, nil)
	master := waitGroupSettled(t, backupSourceGroup, "", 4*time.Minute)
	masterAddr := membersOf(t, backupSourceGroup)[master].Status.PodIP + ":6379"
	writeStart := time.Now()
	writeBackupKeys(t, masterAddr)
	wrote := time.Since(writeStart)
	want := debugDigest(t, masterAddr)
	t.Logf("%d keys written with WAIT 2 in %s; DEBUG DIGEST %s", backupKeyCount, wrote.Round(time.Millisecond), want)
	// Nothing writes after the WAITs: every replica holds the same data.
	for name, p := range membersOf(t, backupSourceGroup) {
		waitDigest(t, name, p.Status.PodIP+":6379", want, time.Minute)
	}

	// ------ BACKUP FROM A REPLICA ------
	bk := &replnodev1alpha1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: backupName, Namespace: namespace},
		Spec:       replnodev1alpha1.BackupSpec{Group: backupSourceGroup, Target: replnodev1alpha1.BackupTargetReplica, ObjectStore: store},
	}
	backupStart := time.Now()
	if err := kube.Create(ctx, bk); err != nil {
		t.Fatalf("create Backup: %v", err)
	}
	bk = waitBackupCompleted(t, backupName, 3*time.Minute)
	backupTook := time.Since(backupStart)
	if bk.Status.Source == master || bk.Status.Source == "" {
		t.Fatalf("the Backup's source is %q; want a replica (the master is %s)", bk.Status.Source, master)
	}
	m := bk.Status.Manifest
	if m == nil || m.Keys != backupKeyCount || m.Size <= 0 || len(m.SHA256) != 64 || m.Source != bk.Status.Source {
		t.Fatalf("manifest in status %+v: want %d keys from %s with a size and sha256", m, backupKeyCount, bk.Status.Source)
	}
	stored, err := s3.StatObject(ctx, store.Bucket, bk.Status.ObjectKey, minio.StatObjectOptions{})
	if err != nil || stored.Size != m.Size {
		t.Fatalf("stored data object %s: size %d, %v; the manifest says %d", bk.Status.ObjectKey, stored.Size, err, m.Size)
	}
	if _, err := s3.StatObject(ctx, store.Bucket, bk.Status.ManifestKey, minio.StatObjectOptions{}); err != nil {
		t.Fatalf("stored manifest %s: %v", bk.Status.ManifestKey, err)
	}
	t.Logf("Backup %s Completed in %s from replica %s: %d bytes, %d keys, %s", backupName, backupTook.Round(time.Millisecond), m.Source, m.Size, m.Keys, bk.Status.ObjectKey)

	// ------ THE GROUP AND ITS PVCs GONE ------
	deleteGroupAndClaims(t, backupSourceGroup, 3*time.Minute)

	// ------ RESTORE INTO A NEW GROUP ------
	restoreStart := time.Now()
	createBackupGroup(t, backupRestoredGroup, &replnodev1alpha1.BootstrapSpec{FromBackup: &replnodev1alpha1.FromBackupSpec{BackupName: backupName}})
	waitGroupSettled(t, backupRestoredGroup, "", 5*time.Minute)
	restored := getGroupNamed(t, backupRestoredGroup)
	cond := apimeta.FindStatusCondition(restored.Status.Conditions, replnodev1alpha1.ConditionRestored)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != backup.ReasonRestored || !strings.Contains(cond.Message, m.SHA256) {
		t.Fatalf("Restored condition %+v; want True/%s naming sha256 %s", cond, backup.ReasonRestored, m.SHA256)
	}
	withRestore := 0
	for name, p := range membersOf(t, backupRestoredGroup) {
		for _, c := range p.Spec.InitContainers {
			if c.Name == "restore" {
				withRestore++
			}
		}
		waitDigest(t, name, p.Status.PodIP+":6379", want, 2*time.Minute)
	}
	if withRestore != 1 {
		t.Errorf("%d members of %s have the restore init container; want only the first master", withRestore, backupRestoredGroup)
	}
	restoreTook := time.Since(restoreStart)
	t.Logf("%s Ready and every member's DEBUG DIGEST is %s, %s after it was created; Restored: %s", backupRestoredGroup, want, restoreTook.Round(time.Millisecond), cond.Message)

	// ------ SCHEDULED EVERY MINUTE, KEEPING 2 ------
	// It runs while the corrupted restore below is checked.
	sb := &replnodev1alpha1.ScheduledBackup{
		ObjectMeta: metav1.ObjectMeta{Name: backupScheduleName, Namespace: namespace},
		Spec: replnodev1alpha1.ScheduledBackupSpec{
			Schedule: "* * * * *", Group: backupRestoredGroup, ObjectStore: store,
			Retention: replnodev1alpha1.RetentionSpec{KeepLast: ptr.To[int32](2)},
		},
	}
	scheduleStart := time.Now()
	if err := kube.Create(ctx, sb); err != nil {
		t.Fatalf("create ScheduledBackup: %v", err)
	}

	// ------ A CORRUPTED OBJECT IS REFUSED ------
	corruptObject(t, s3, store.Bucket, bk.Status.ObjectKey)
	createBackupGroup(t, backupCorruptGroup, &replnodev1alpha1.BootstrapSpec{FromBackup: &replnodev1alpha1.FromBackupSpec{BackupName: backupName}})
	var refused *metav1.Condition
	waitFor(t, 3*time.Minute, backupCorruptGroup+" Restored=False/"+backup.ReasonChecksumMismatch, func() bool {
		refused = apimeta.FindStatusCondition(getGroupNamed(t, backupCorruptGroup).Status.Conditions, replnodev1alpha1.ConditionRestored)
		if refused != nil && refused.Reason != backup.ReasonChecksumMismatch {
			t.Fatalf("Restored condition %+v; want False/%s", refused, backup.ReasonChecksumMismatch)
		}
		return refused != nil && refused.Status == metav1.ConditionFalse
	})
	t.Logf("%s refused: Restored=%s/%s: %s", backupCorruptGroup, refused.Status, refused.Reason, refused.Message)
	assertNothingServes(t, backupCorruptGroup, 20*time.Second)

	// ------ ≥3 SCHEDULED RUNS, 2 KEPT ------
	runs := waitScheduledRuns(t, 3, 4*time.Minute)
	scheduleTook := time.Since(scheduleStart)
	kept := checkRetention(t, s3, store, runs)

	line := fmt.Sprintf("backup-restore: %d keys written with WAIT in %s, Backup from replica %s in %s (%d bytes), restored group Ready with equal DEBUG DIGEST on 3/3 members %s after creation, "+
		"ScheduledBackup * * * * * keepLast 2: %d runs in %s, kept %v, corrupted object refused (%s), scenario %s",
		backupKeyCount, wrote.Round(100*time.Millisecond), m.Source, backupTook.Round(100*time.Millisecond), m.Size, restoreTook.Round(time.Second),
		len(runs), scheduleTook.Round(time.Second), kept, refused.Reason, time.Since(began).Round(time.Second))
	t.Log(line)
	record(line)
}

// ------ OBJECT STORE ------

// startObjectStore starts MinIO (bin/minio) as a host process listening on
// the cluster's bridge gateway, which the operator on the host and the pods
// both reach, carrying the cluster's marker so taking the cluster down
// stops it too; and creates the credentials Secret. It returns the server
// and the objectStore every object of the scenario names.
func startObjectStore(t *testing.T) (*miniotest.Server, replnodev1alpha1.ObjectStoreSpec) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot, "bin", "minio")); err != nil && os.Getenv("MINIO_BIN") == "" && os.Getenv("CI") == "true" {
		t.Fatalf("bin/minio is missing: run make minio-bin")
	}
	network, err := podnet.NewNetwork(cfg.Bridge, cfg.PodCIDR)
	if err != nil {
		t.Fatal(err)
	}
	srv := miniotest.StartWith(t, miniotest.Options{Host: network.Gateway.String(), Env: []string{cluster.MarkerEnv + "=" + cfg.StateDir}})
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(srv.LogPath()); err == nil {
				t.Logf("minio log:\n%s", b)
			}
		}
	})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: backupCredentials, Namespace: namespace},
		StringData: map[string]string{"accessKeyID": miniotest.User, "secretAccessKey": miniotest.Password},
	}
	_ = kube.Delete(context.Background(), secret)
	if err := kube.Create(context.Background(), secret); err != nil {
		t.Fatalf("create Secret %s: %v", backupCredentials, err)
	}
	t.Cleanup(func() { _ = kube.Delete(context.Background(), secret) })
	t.Logf("MinIO at %s (bucket %s), credentials in Secret %s", srv.Endpoint(), miniotest.Bucket, backupCredentials)
	return srv, replnodev1alpha1.ObjectStoreSpec{
		Bucket: miniotest.Bucket, Prefix: backupPrefix, Endpoint: srv.Endpoint(), Insecure: true,
		Credentials: replnodev1alpha1.ObjectStoreCredentials{SecretName: backupCredentials},
	}
}

// corruptObject flips one byte in the middle of an object, keeping its size.
func corruptObject(t *testing.T, s3 *minio.Client, bucket, key string) {
	t.Helper()
	ctx := context.Background()
	obj, err := s3.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	data, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || len(data) == 0 {
		t.Fatalf("read %s: %d bytes, %v", key, len(data), err)
	}
	data[len(data)/2] ^= 0x01
	if _, err := s3.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put corrupted %s: %v", key, err)
	}
	t.Logf("flipped one bit at byte %d of %s (%d bytes)", len(data)/2, key, len(data))
}

// ------ GROUPS ------

// createBackupGroup creates group name from config/samples' group (same
// Secret, replicas, storage and failover settings), with DEBUG allowed for
// DEBUG DIGEST, and bootstrap when not nil.
func createBackupGroup(t *testing.T, name string, bootstrap *replnodev1alpha1.BootstrapSpec) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config/samples/replnode_v1alpha1_replicationgroup.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rg *replnodev1alpha1.ReplicationGroup
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var probe metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &probe); err != nil || probe.Kind != "ReplicationGroup" {
			continue
		}
		rg = &replnodev1alpha1.ReplicationGroup{}
		if err := yaml.UnmarshalStrict([]byte(doc), rg); err != nil {
			t.Fatalf("the sample ReplicationGroup: %v", err)
		}
	}
	if rg == nil {
		t.Fatal("config/samples has no ReplicationGroup")
	}
	rg.ObjectMeta = metav1.ObjectMeta{Name: name, Namespace: namespace}
	if rg.Spec.Config == nil {
		rg.Spec.Config = map[string]replnodev1alpha1.ConfigValue{}
	}
	rg.Spec.Config["enable-debug-command"] = "yes"
	// 100k keys and the copies of a full sync must never be evicted: an
	// eviction would change the digest.
	rg.Spec.Config["maxmemory"] = "0"
	rg.Spec.Bootstrap = bootstrap
	if err := kube.Create(context.Background(), rg); err != nil {
		t.Fatalf("create ReplicationGroup %s: %v", name, err)
	}
}

// deleteGroupAndClaims deletes a group and its PVCs and waits until no pod
// or claim of it is left.
func deleteGroupAndClaims(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if err := kube.Delete(ctx, rg); client.IgnoreNotFound(err) != nil {
		t.Fatalf("delete ReplicationGroup %s: %v", name, err)
	}
	sel := client.MatchingLabels{"replnode.io/group": name}
	if err := kube.DeleteAllOf(ctx, &corev1.PersistentVolumeClaim{}, client.InNamespace(namespace), sel); err != nil {
		t.Fatalf("delete PVCs of %s: %v", name, err)
	}
	waitFor(t, timeout, "the pods and PVCs of "+name+" gone", func() bool {
		var pods corev1.PodList
		var claims corev1.PersistentVolumeClaimList
		if kube.List(ctx, &pods, client.InNamespace(namespace), sel) != nil || kube.List(ctx, &claims, client.InNamespace(namespace), sel) != nil {
			return false
		}
		return len(pods.Items) == 0 && len(claims.Items) == 0
	})
}

// cleanupBackupScenario removes what the scenario creates, now (a kept
// cluster's leftovers) and when it ends.
func cleanupBackupScenario(t *testing.T) {
	t.Helper()
	clean := func() {
		ctx := context.Background()
		_ = kube.Delete(ctx, &replnodev1alpha1.ScheduledBackup{ObjectMeta: metav1.ObjectMeta{Name: backupScheduleName, Namespace: namespace}})
		_ = kube.Delete(ctx, &replnodev1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Name: backupName, Namespace: namespace}})
		_ = kube.DeleteAllOf(ctx, &replnodev1alpha1.Backup{}, client.InNamespace(namespace), client.MatchingLabels{backup.LabelScheduledBackup: backupScheduleName})
		for _, g := range []string{backupSourceGroup, backupRestoredGroup, backupCorruptGroup} {
			deleteGroupAndClaims(t, g, 3*time.Minute)
		}
	}
	clean()
	t.Cleanup(clean)
}

// ------ DATA ------

// writeBackupKeys writes backupKeyCount keys of every type to the master at
// addr, 1000 at a time, each thousand acknowledged by WAIT 2 (both
// replicas have it).
func writeBackupKeys(t *testing.T, addr string) {
	t.Helper()
	c, err := resp.Dial(addr, password, 30*time.Second)
	if err != nil {
		t.Fatalf("dial master %s: %v", addr, err)
	}
	defer c.Close()
	// min-replicas-to-write counts a replica only after its first ACK.
	waitFor(t, 30*time.Second, "a write accepted by "+addr, func() bool {
		_, err := c.Do("SET", "bk:ready", "1")
		return err == nil
	})
	if _, err := c.Do("DEL", "bk:ready"); err != nil {
		t.Fatal(err)
	}
	const batch = 1000
	for base := 0; base < backupKeyCount; base += batch {
		mset := []string{"MSET"}
		for i := base; i < base+batch; i++ {
			key := fmt.Sprintf("bk:%06d", i)
			var args []string
			switch i % 25 { // one in 25 of each other type
			case 1:
				args = []string{"HSET", key, "field", strconv.Itoa(i), "other", key}
			case 2:
				args = []string{"RPUSH", key, "a", strconv.Itoa(i), "c"}
			case 3:
				args = []string{"SADD", key, "x", strconv.Itoa(i)}
			case 4:
				args = []string{"ZADD", key, strconv.Itoa(i), "m", "1.5", "n"}
			default:
				mset = append(mset, key, fmt.Sprintf("value-%d-%s", i, strings.Repeat(strconv.Itoa(i%10), 40)))
				continue
			}
			if _, err := c.Do(args...); err != nil {
				t.Fatalf("%s: %v", args[0], err)
			}
		}
		if _, err := c.Do(mset...); err != nil {
			t.Fatalf("MSET at %d: %v", base, err)
		}
		n, err := c.Do("WAIT", "2", "30000")
		if err != nil || n != int64(2) {
			t.Fatalf("WAIT 2 after key %d: %v, %v; want both replicas", base+batch, n, err)
		}
	}
	if n, err := c.Do("DBSIZE"); err != nil || n != int64(backupKeyCount) {
		t.Fatalf("DBSIZE %v, %v; want %d", n, err, backupKeyCount)
	}
}

// debugDigest returns DEBUG DIGEST of the node at addr.
func debugDigest(t *testing.T, addr string) string {
	t.Helper()
	v, err := command(addr, "DEBUG", "DIGEST")
	if err != nil {
		t.Fatalf("DEBUG DIGEST on %s: %v", addr, err)
	}
	d, _ := v.(string)
	if len(d) != 40 || d == strings.Repeat("0", 40) {
		t.Fatalf("DEBUG DIGEST on %s = %q; want the digest of a non-empty dataset", addr, d)
	}
	return d
}

// waitDigest waits until member name at addr has DEBUG DIGEST want (a
// replica may still be loading its full sync), failing with the last one
// seen.
func waitDigest(t *testing.T, name, addr, want string, timeout time.Duration) {
	t.Helper()
	var last any
	var lastErr error
	deadline := time.Now().Add(timeout)
	for {
		last, lastErr = command(addr, "DEBUG", "DIGEST")
		if lastErr == nil && last == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (%s): DEBUG DIGEST %v, %v after %s; want %s", name, addr, last, lastErr, timeout, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ------ BACKUPS ------

// waitBackupCompleted waits for Backup name to be Completed; Failed ends
// the test at once with its condition.
func waitBackupCompleted(t *testing.T, name string, timeout time.Duration) *replnodev1alpha1.Backup {
	t.Helper()
	bk := &replnodev1alpha1.Backup{}
	waitFor(t, timeout, "Backup "+name+" Completed", func() bool {
		if err := kube.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, bk); err != nil {
			return false
		}
		if bk.Status.Phase == replnodev1alpha1.BackupPhaseFailed {
			t.Fatalf("Backup %s Failed: %+v", name, bk.Status.Conditions)
		}
		return bk.Status.Phase == replnodev1alpha1.BackupPhaseCompleted
	})
	return bk
}

// assertNothingServes watches group name for the window: the member with
// the restore step never runs its server and accepts no connection, no
// member holds a key, the group gets no master and is not Ready.
func assertNothingServes(t *testing.T, name string, window time.Duration) {
	t.Helper()
	end := time.Now().Add(window)
	for {
		rg := getGroupNamed(t, name)
		if apimeta.IsStatusConditionTrue(rg.Status.Conditions, replnodev1alpha1.ConditionReady) || rg.Status.CurrentMaster != "" {
			t.Fatalf("%s restored from a corrupted object has master %q, Ready=%v", name, rg.Status.CurrentMaster,
				apimeta.IsStatusConditionTrue(rg.Status.Conditions, replnodev1alpha1.ConditionReady))
		}
		restoring := 0
		for pname, p := range membersOf(t, name) {
			if !slices.ContainsFunc(p.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "restore" }) {
				// Another member: whatever runs must hold no key.
				if p.Status.PodIP != "" {
					if n, err := command(p.Status.PodIP+":6379", "DBSIZE"); err == nil && n != int64(0) {
						t.Fatalf("%s of %s holds %v keys", pname, name, n)
					}
				}
				continue
			}
			restoring++
			for _, st := range p.Status.ContainerStatuses {
				if st.State.Running != nil || st.Ready || st.RestartCount > 0 || st.LastTerminationState.Terminated != nil {
					t.Fatalf("%s: container %s started after a refused restore: %+v", pname, st.Name, st.State)
				}
			}
			if p.Status.PodIP != "" {
				if _, err := command(p.Status.PodIP+":6379", "PING"); err == nil {
					t.Fatalf("%s answers on 6379 after a refused restore", pname)
				}
			}
		}
		// None for a moment if the operator replaces the stuck pod; never two.
		if restoring > 1 {
			t.Fatalf("%d members of %s carry the restore step; want at most 1", restoring, name)
		}
		if time.Now().After(end) {
			return
		}
		time.Sleep(time.Second)
	}
}

// waitScheduledRuns waits until the ScheduledBackup has created at least n
// Backups and the newest is Completed, then suspends it (retention still
// runs) so the state checked next is final. It returns every run's name,
// oldest first.
func waitScheduledRuns(t *testing.T, n int, timeout time.Duration) []string {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	waitFor(t, timeout, fmt.Sprintf("%d runs of ScheduledBackup %s", n, backupScheduleName), func() bool {
		var list replnodev1alpha1.BackupList
		if err := kube.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{backup.LabelScheduledBackup: backupScheduleName}); err != nil {
			return false
		}
		newest := ""
		var newestPhase replnodev1alpha1.BackupPhase
		for _, b := range list.Items {
			if b.Status.Phase == replnodev1alpha1.BackupPhaseFailed {
				t.Fatalf("scheduled Backup %s Failed: %+v", b.Name, b.Status.Conditions)
			}
			seen[b.Name] = true
			if b.Name > newest { // <name>-<unix time>: same length, so by time
				newest, newestPhase = b.Name, b.Status.Phase
			}
		}
		return len(seen) >= n && newestPhase == replnodev1alpha1.BackupPhaseCompleted
	})
	sb := &replnodev1alpha1.ScheduledBackup{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: namespace, Name: backupScheduleName}, sb); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(sb.DeepCopy())
	sb.Spec.Suspend = true
	if err := kube.Patch(ctx, sb, patch); err != nil {
		t.Fatalf("suspend %s: %v", backupScheduleName, err)
	}
	runs := make([]string, 0, len(seen))
	for name := range seen {
		runs = append(runs, name)
	}
	slices.Sort(runs)
	return runs
}

// checkRetention waits until the bucket holds exactly the 2 newest
// scheduled backups (manifest and data each) and the API exactly the
// matching Backups, and returns their names.
func checkRetention(t *testing.T, s3 *minio.Client, store replnodev1alpha1.ObjectStoreSpec, runs []string) []string {
	t.Helper()
	ctx := context.Background()
	// A run created between the last look and the suspension is one more.
	// Every backup of the restored group, scheduled ones only, lives under
	// <prefix>/<namespace>/<group>/.
	groupDir := path.Dir(path.Dir(backup.KeysFor(store.Prefix, namespace, backupRestoredGroup, "any").Data)) + "/"
	var list replnodev1alpha1.BackupList
	var problem string
	var kept []string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		problem = ""
		kept = nil
		if err := kube.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{backup.LabelScheduledBackup: backupScheduleName}); err != nil {
			problem = err.Error()
		}
		var apiKeys []string
		for _, b := range list.Items {
			if !slices.Contains(runs, b.Name) {
				runs = append(runs, b.Name)
				slices.Sort(runs)
			}
			if b.Status.Phase != replnodev1alpha1.BackupPhaseCompleted || b.Status.Manifest == nil {
				problem = fmt.Sprintf("Backup %s is %s", b.Name, b.Status.Phase)
				continue
			}
			if b.Status.Manifest.Keys != backupKeyCount {
				t.Fatalf("scheduled Backup %s of the restored group holds %d keys; want %d", b.Name, b.Status.Manifest.Keys, backupKeyCount)
			}
			kept = append(kept, b.Name)
			apiKeys = append(apiKeys, b.Status.ManifestKey, b.Status.ObjectKey)
		}
		slices.Sort(kept)
		slices.Sort(apiKeys)
		var bucketKeys []string
		for obj := range s3.ListObjects(ctx, store.Bucket, minio.ListObjectsOptions{Prefix: groupDir, Recursive: true}) {
			if obj.Err != nil {
				problem = obj.Err.Error()
				break
			}
			bucketKeys = append(bucketKeys, obj.Key)
		}
		slices.Sort(bucketKeys)
		newest := runs[max(0, len(runs)-2):]
		switch {
		case problem != "":
		case !slices.Equal(kept, newest):
			problem = fmt.Sprintf("the API holds Backups %v; want the newest 2 of the runs %v", kept, runs)
		case !slices.Equal(bucketKeys, apiKeys):
			problem = fmt.Sprintf("the bucket holds %v; the kept Backups name %v", bucketKeys, apiKeys)
		}
		if problem == "" {
			t.Logf("retention: runs %v, kept %v, bucket %v", runs, kept, bucketKeys)
			return kept
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention keepLast 2: %s", problem)
		}
		time.Sleep(time.Second)
	}
}
