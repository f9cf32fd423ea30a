package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/replnode/replnode/replnode/redistest"
	"github.com/replnode/replnode/replnode/resp"
)

// These tests run real replnode processes and a real MinIO (bin/minio).

// must sends a command and fails the test on an I/O error or an error reply.
func must(t *testing.T, c *redistest.Client, args ...string) resp.Reply {
	t.Helper()
	r := c.MustDo(t, args...)
	if r.Type == '-' {
		t.Fatalf("%q: %s", args, r.Str)
	}
	return r
}

// populate writes n keys <prefix>:<i> with random (incompressible) values
// of size bytes to the master, pipelined; unlike DEBUG POPULATE, the writes
// replicate.
func populate(t *testing.T, in *redistest.Instance, n int, prefix string, size int) {
	t.Helper()
	c := in.Dial(t)
	rng := rand.New(rand.NewPCG(uint64(n), uint64(size)))
	val := make([]byte, size)
	const batch = 500
	for i := 0; i < n; i += batch {
		var buf []byte
		m := min(batch, n-i)
		for j := 0; j < m; j++ {
			for k := range val {
				val[k] = byte(rng.Uint32())
			}
			key := fmt.Sprintf("%s:%d", prefix, i+j)
			buf = fmt.Appendf(buf, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, len(val))
			buf = append(append(buf, val...), "\r\n"...)
		}
		if err := c.SendRaw(buf); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < m; j++ {
			r, err := c.Receive()
			if err != nil || r.Type == '-' {
				t.Fatalf("populate: %v %s", err, r.Str)
			}
		}
	}
}

// debugOn lets the tests use DEBUG POPULATE and DEBUG DIGEST.
const debugOn = "enable-debug-command local"

func info(t *testing.T, c *redistest.Client, section string) map[string]string {
	t.Helper()
	r := must(t, c, "INFO", section)
	out := map[string]string{}
	for _, line := range strings.Split(r.Str, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// startPair starts a replnode master and a replica of it (with extra
// directives), synced.
func startPair(t *testing.T, replicaDirectives ...string) (master, replica *redistest.Instance) {
	t.Helper()
	master = redistest.StartBinary(t, debugOn)
	replica = redistest.StartBinary(t, append([]string{debugOn, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port)}, replicaDirectives...)...)
	waitCaughtUp(t, master, replica)
	return master, replica
}

func waitCaughtUp(t *testing.T, master, replica *redistest.Instance) {
	t.Helper()
	mc, rc := master.Dial(t), replica.Dial(t)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mi, ri := info(t, mc, "replication"), info(t, rc, "replication")
		if ri["master_link_status"] == "up" && ri["slave_repl_offset"] == mi["master_repl_offset"] {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("replica did not catch up in 60s")
}

func digest(t *testing.T, in *redistest.Instance) string {
	t.Helper()
	return must(t, in.Dial(t), "DEBUG", "DIGEST").Str
}

func takeBackup(t *testing.T, b *Bucket, from *redistest.Instance, name string) (Keys, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	snap, err := OpenSnapshot(ctx, from.Addr, NodeAuth{}, 30*time.Second)
	if err != nil {
		t.Fatalf("open snapshot: %v", err)
	}
	defer snap.Body.Close()
	keys := KeysFor("test", "ns", "g", name)
	_, err = b.Upload(ctx, snap, keys, "g-1", time.Now)
	return keys, err
}

func objectSHA(t *testing.T, b *Bucket, key string) (string, int64) {
	t.Helper()
	obj, err := b.Client.GetObject(context.Background(), b.Name, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

func exists(t *testing.T, b *Bucket, key string) bool {
	t.Helper()
	_, err := b.Client.StatObject(context.Background(), b.Name, key, minio.StatObjectOptions{})
	if err == nil {
		return true
	}
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return false
	}
	t.Fatalf("stat %s: %v", key, err)
	return false
}

// restoreAndStart restores the backup into a fresh directory and starts a
// node on it (bin is replnode or redis-server), returning it.
func restoreAndStart(t *testing.T, b *Bucket, keys Keys, start func(testing.TB, ...string) *redistest.Instance) *redistest.Instance {
	t.Helper()
	dir := t.TempDir()
	if _, err := b.Restore(context.Background(), keys.Manifest, dir, "dump.rdb"); err != nil {
		t.Fatalf("restore: %v", err)
	}
	in := start(t, debugOn, "dir "+dir, "dbfilename dump.rdb")
	c := in.Dial(t)
	deadline := time.Now().Add(60 * time.Second)
	for info(t, c, "persistence")["loading"] != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the restored node is still loading after 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return in
}

// The snapshot comes from a replica while the master takes writes; the
// manifest describes the object exactly, and the restored node holds the
// manifest's key count.
func TestBackupFromReplicaUnderWrites(t *testing.T) {
	store := startMinio(t)
	b := store.bucket(t)
	master, replica := startPair(t)
	mc := master.Dial(t)
	populate(t, master, 20000, "key", 100)
	waitCaughtUp(t, master, replica)

	stop := make(chan struct{})
	var wrote atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := redistest.Dial(master.Addr)
		if err != nil {
			return
		}
		defer c.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Do("SET", "w:"+strconv.Itoa(i), strings.Repeat("x", 64)); err == nil {
				wrote.Add(1)
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	keys, err := takeBackup(t, b, replica, "under-writes")
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if wrote.Load() == 0 {
		t.Fatal("no write happened during the backup")
	}
	m, err := b.ReadManifest(context.Background(), keys.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	sum, size := objectSHA(t, b, keys.Data)
	if m.SHA256 != sum || m.Size != size || m.DataKey != keys.Data {
		t.Errorf("manifest %+v does not describe the object (sha256 %s, %d bytes)", m, sum, size)
	}
	mi := info(t, mc, "replication")
	if m.ReplID != mi["master_replid"] {
		t.Errorf("manifest replid %q, master's %q", m.ReplID, mi["master_replid"])
	}
	if now, _ := strconv.ParseInt(mi["master_repl_offset"], 10, 64); m.Offset <= 0 || m.Offset > now {
		t.Errorf("manifest offset %d, master now at %s", m.Offset, mi["master_repl_offset"])
	}
	if ver := info(t, replica.Dial(t), "server")["redis_version"]; m.ServerVersion != ver {
		t.Errorf("manifest serverVersion %q, node says %q", m.ServerVersion, ver)
	}
	if m.Keys < 20000 || m.Keys > 20000+wrote.Load() {
		t.Errorf("manifest keys %d, want between 20000 and %d", m.Keys, 20000+wrote.Load())
	}
	if m.Time.IsZero() || time.Since(m.Time.Time) > 5*time.Minute {
		t.Errorf("manifest time %v", m.Time)
	}
	restored := restoreAndStart(t, b, keys, redistest.StartBinary)
	if n := must(t, restored.Dial(t), "DBSIZE").Int; n != m.Keys {
		t.Errorf("restored node has %d keys, manifest says %d", n, m.Keys)
	}
}

// A quiet group's digest at backup time is the digest of a node restored
// from the backup, on replnode and on redis-server 7.0 alike.
func TestRestoreDigestEqualsBackupDigest(t *testing.T) {
	store := startMinio(t)
	b := store.bucket(t)
	master, replica := startPair(t)
	mc := master.Dial(t)
	populate(t, master, 5000, "s", 32)
	must(t, mc, "HSET", "h", "a", "1", "b", "2")
	must(t, mc, "ZADD", "z", "1", "one", "2.5", "two")
	must(t, mc, "RPUSH", "l", "x", "y", "z")
	must(t, mc, "SADD", "set", "m1", "m2")
	must(t, mc, "SET", "exp", "v", "EX", "3600")
	waitCaughtUp(t, master, replica)
	want := digest(t, master)
	if got := digest(t, replica); got != want {
		t.Fatalf("replica digest %s before backup, master %s", got, want)
	}
	keys, err := takeBackup(t, b, replica, "digest")
	if err != nil {
		t.Fatal(err)
	}
	if got := digest(t, restoreAndStart(t, b, keys, redistest.StartBinary)); got != want {
		t.Errorf("replnode restored digest %s, at backup time %s", got, want)
	}
	if got := digest(t, restoreAndStart(t, b, keys, redistest.StartRedis)); got != want {
		t.Errorf("redis-server restored digest %s, at backup time %s", got, want)
	}
}

// One flipped byte in the stored object: the restore refuses it and leaves
// no dump behind; a directory that already holds a dump is never touched.
func TestRestoreRefusesCorruptObjectAndExistingData(t *testing.T) {
	store := startMinio(t)
	b := store.bucket(t)
	master, replica := startPair(t)
	populate(t, master, 2000, "k", 16)
	waitCaughtUp(t, master, replica)
	keys, err := takeBackup(t, b, replica, "corrupt")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	existing := t.TempDir()
	old := []byte("not to be overwritten")
	if err := os.WriteFile(filepath.Join(existing, "dump.rdb"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(ctx, keys.Manifest, existing, "dump.rdb"); !errors.Is(err, ErrDataPresent) {
		t.Errorf("restore over an existing dump: %v, want ErrDataPresent", err)
	}
	if got, _ := os.ReadFile(filepath.Join(existing, "dump.rdb")); string(got) != string(old) {
		t.Error("existing dump was changed")
	}
	// An append-only directory is data too; a volume's lost+found and an
	// interrupted restore's temporary file are not.
	aof := t.TempDir()
	if err := os.Mkdir(filepath.Join(aof, "appendonlydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(ctx, keys.Manifest, aof, "dump.rdb"); !errors.Is(err, ErrDataPresent) {
		t.Errorf("restore beside an appendonlydir: %v, want ErrDataPresent", err)
	}
	fresh := t.TempDir()
	if err := os.Mkdir(filepath.Join(fresh, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fresh, ".restore-123.rdb"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(ctx, keys.Manifest, fresh, "dump.rdb"); err != nil {
		t.Errorf("restore into a volume with lost+found and a stale temp file: %v", err)
	}
	if left, _ := os.ReadDir(fresh); len(left) != 2 {
		t.Errorf("after the restore the volume holds %v, want lost+found and dump.rdb", left)
	}

	obj, err := b.Client.GetObject(ctx, b.Name, keys.Data, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if _, err := b.Client.PutObject(ctx, b.Name, keys.Data, strings.NewReader(string(data)), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = b.Restore(ctx, keys.Manifest, dir, "dump.rdb")
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("restore of a corrupted object: %v, want ErrChecksumMismatch", err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("the refused restore left %v in the data directory", left)
	}
}

// Retention keeping the last 2 of 4 backups deletes the two oldest,
// manifests and data, and keeps the newest restorable.
func TestRetentionKeepsLastN(t *testing.T) {
	store := startMinio(t)
	b := store.bucket(t)
	master, replica := startPair(t)
	populate(t, master, 100, "k", 8)
	waitCaughtUp(t, master, replica)
	var stored []Stored
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("b%d", i)
		if _, err := takeBackup(t, b, replica, name); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, Stored{Name: name, Time: base.Add(time.Duration(i) * time.Minute)})
	}
	two := int32(2)
	expired := Expired(stored, &two, nil, time.Now())
	if strings.Join(expired, ",") != "b0,b1" {
		t.Fatalf("expired %v, want b0,b1", expired)
	}
	for _, name := range expired {
		if err := b.Delete(context.Background(), KeysFor("test", "ns", "g", name)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 4; i++ {
		k := KeysFor("test", "ns", "g", fmt.Sprintf("b%d", i))
		want := i >= 2
		if exists(t, b, k.Manifest) != want || exists(t, b, k.Data) != want {
			t.Errorf("b%d: manifest/data exist = %v/%v, want %v", i, exists(t, b, k.Manifest), exists(t, b, k.Data), want)
		}
	}
	restoreAndStart(t, b, KeysFor("test", "ns", "g", "b3"), redistest.StartBinary)
}

// killAfter kills MinIO once n bytes of the snapshot have been read.
type killAfter struct {
	io.ReadCloser
	n     int64
	read  int64
	kill  func()
	once  sync.Once
	fired bool
}

func (k *killAfter) Read(p []byte) (int, error) {
	n, err := k.ReadCloser.Read(p)
	k.read += int64(n)
	if k.read > k.n {
		k.once.Do(func() { k.fired = true; k.kill() })
	}
	return n, err
}

// MinIO dies in the middle of a multipart upload: the upload fails, and
// after MinIO comes back there is no manifest, so nothing looks like a
// backup; a restore of that name is refused.
func TestKilledObjectStoreLeavesNoValidBackup(t *testing.T) {
	store := startMinio(t)
	b := store.bucket(t)
	// ~30 MiB of random values: two 16 MiB parts and more.
	master, replica := startPair(t)
	populate(t, master, 30000, "big", 1024)
	waitCaughtUp(t, master, replica)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	snap, err := OpenSnapshot(ctx, replica.Addr, NodeAuth{}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Body.Close()
	killer := &killAfter{ReadCloser: snap.Body, n: PartSize + PartSize/2, kill: store.kill}
	snap.Body = killer
	keys := KeysFor("test", "ns", "g", "killed")
	_, err = b.Upload(ctx, snap, keys, "g-1", time.Now)
	if !killer.fired {
		t.Fatalf("the snapshot ended after %d bytes, before MinIO was killed: the test proves nothing", killer.read)
	}
	if err == nil {
		t.Fatal("upload succeeded although MinIO was killed during it")
	}
	t.Logf("upload failed as it must: %v", err)
	store.start(t)
	if exists(t, b, keys.Manifest) {
		t.Fatal("a manifest exists for the failed upload")
	}
	if _, err := b.Restore(context.Background(), keys.Manifest, t.TempDir(), "dump.rdb"); err == nil {
		t.Fatal("restore of the failed upload succeeded")
	}
}

// A truncated snapshot (the node goes away mid-stream) fails the upload
// and leaves no manifest, even though MinIO itself is fine.
func TestTruncatedSnapshotLeavesNoValidBackup(t *testing.T) {
	store := startMinio(t)
	b := store.bucket(t)
	// ~30 MiB: far more than the socket buffers hold when the node dies.
	master, replica := startPair(t)
	populate(t, master, 30000, "k", 1024)
	waitCaughtUp(t, master, replica)
	ctx := context.Background()
	snap, err := OpenSnapshot(ctx, replica.Addr, NodeAuth{}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Body.Close()
	// The source node dies after 1 MiB of the snapshot.
	killer := &killAfter{ReadCloser: snap.Body, n: 1 << 20, kill: func() { _ = replica.Signal(syscall.SIGKILL) }}
	snap.Body = killer
	keys := KeysFor("test", "ns", "g", "truncated")
	_, err = b.Upload(ctx, snap, keys, "g-1", time.Now)
	if !killer.fired {
		t.Fatalf("the snapshot ended after %d bytes, before the node was killed: the test proves nothing", killer.read)
	}
	if err == nil {
		t.Fatal("upload of a truncated snapshot succeeded")
	}
	t.Logf("upload failed as it must: %v", err)
	if exists(t, b, keys.Manifest) {
		t.Fatal("a manifest exists for a truncated snapshot")
	}
}

// The snapshot from a real redis-server 7.0 (diskless by default, so the
// $EOF:<mark> form) and from one with a password: the manifest describes
// it and a node restored from it has the source's digest.
func TestBackupFromRedisServer(t *testing.T) {
	store := startMinio(t)
	b := store.bucket(t)
	for _, tc := range []struct {
		name       string
		directives []string
		auth       NodeAuth
	}{
		{"diskless", []string{"repl-diskless-sync yes", "repl-diskless-sync-delay 1"}, NodeAuth{}},
		{"disk with password", []string{"repl-diskless-sync no"}, NodeAuth{Password: "s3cret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := redistest.StartRedis(t, append([]string{debugOn}, tc.directives...)...)
			c := src.Dial(t)
			if tc.auth.Password != "" {
				// Set after start: the start-up check pings without a password.
				must(t, c, "CONFIG", "SET", "requirepass", tc.auth.Password)
			}
			for i := 0; i < 2000; i++ {
				must(t, c, "SET", fmt.Sprintf("k%d", i), strings.Repeat("v", i%50))
			}
			must(t, c, "HSET", "h", "f", "v")
			want := must(t, c, "DEBUG", "DIGEST").Str
			ctx := context.Background()
			if tc.auth.Password != "" {
				_, err := OpenSnapshot(ctx, src.Addr, NodeAuth{Password: "wrong"}, 10*time.Second)
				if err == nil || strings.Contains(err.Error(), "wrong") {
					t.Fatalf("wrong password: %v (must fail without echoing it)", err)
				}
			}
			snap, err := OpenSnapshot(ctx, src.Addr, tc.auth, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Body.Close()
			keys := KeysFor("test", "ns", "redis", strings.ReplaceAll(tc.name, " ", "-"))
			m, err := b.Upload(ctx, snap, keys, "redis-0", time.Now)
			if err != nil {
				t.Fatal(err)
			}
			// The pseudo-replica is gone as soon as the payload is read,
			// before Body is closed: it must never linger as an online
			// replica that min-replicas-to-write could count.
			deadline := time.Now().Add(2 * time.Second)
			for info(t, c, "replication")["connected_slaves"] != "0" {
				if time.Now().After(deadline) {
					t.Fatalf("the pseudo-replica is still connected after the upload: %v", info(t, c, "replication"))
				}
				time.Sleep(20 * time.Millisecond)
			}
			if m.Keys != 2001 || !strings.HasPrefix(m.ServerVersion, "7.0") || m.ReplID != info(t, c, "replication")["master_replid"] {
				t.Errorf("manifest %+v", m)
			}
			if sum, size := objectSHA(t, b, keys.Data); sum != m.SHA256 || size != m.Size {
				t.Errorf("object sha256 %s size %d, manifest %s %d", sum, size, m.SHA256, m.Size)
			}
			if got := digest(t, restoreAndStart(t, b, keys, redistest.StartBinary)); got != want {
				t.Errorf("restored digest %s, source %s", got, want)
			}
		})
	}
}
