package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/backup"
	"github.com/replnode/replnode/controllers/backup/miniotest"
	"github.com/replnode/replnode/replnode/redistest"
)

// restore-from, as the restoring pod's init container runs it, against a
// real MinIO: its exit codes and the termination message the operator
// turns into the Restored condition.
func TestRestoreFrom(t *testing.T) {
	store := miniotest.Start(t)
	node := redistest.StartBinary(t)
	c := node.Dial(t)
	for i := 0; i < 100; i++ {
		if r := c.MustDo(t, "SET", fmt.Sprintf("k%d", i), "v"); r.Type == '-' {
			t.Fatal(r.Str)
		}
	}
	spec := replv1.ObjectStoreSpec{Bucket: miniotest.Bucket, Endpoint: store.Endpoint(), Insecure: true}
	b, err := backup.NewBucket(spec, backup.Credentials{AccessKeyID: miniotest.User, SecretAccessKey: miniotest.Password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	snap, err := backup.OpenSnapshot(ctx, node.Addr, backup.NodeAuth{}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	keys := backup.KeysFor("", "ns", "g", "b1")
	if _, err := b.Upload(ctx, snap, keys, "g-0", time.Now); err != nil {
		t.Fatal(err)
	}
	snap.Body.Close()

	t.Setenv("RESTORE_ACCESS_KEY_ID", miniotest.User)
	t.Setenv("RESTORE_SECRET_ACCESS_KEY", miniotest.Password)
	run := func(dir, manifest string) (int, string) {
		t.Helper()
		termLog := filepath.Join(t.TempDir(), "termination-log")
		var out bytes.Buffer
		code := restoreFrom([]string{"-endpoint", store.Endpoint(), "-bucket", miniotest.Bucket, "-insecure",
			"-manifest", manifest, "-dir", dir, "-termination-log", termLog}, &out)
		msg, _ := os.ReadFile(termLog)
		if !strings.Contains(out.String(), string(msg)) {
			t.Errorf("stdout %q lacks the termination message %q", out.String(), msg)
		}
		if strings.Contains(out.String(), miniotest.Password) {
			t.Error("restore-from printed the secret key")
		}
		return code, string(msg)
	}

	dir := t.TempDir()
	code, msg := run(dir, keys.Manifest)
	if code != 0 || !strings.HasPrefix(msg, backup.ReasonRestored+": ") || !strings.Contains(msg, "100 keys") {
		t.Fatalf("restore: exit %d, %q", code, msg)
	}
	restored, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}

	code, msg = run(dir, keys.Manifest)
	if code != 0 || !strings.HasPrefix(msg, backup.ReasonDataPresent+": ") {
		t.Errorf("restore over data: exit %d, %q", code, msg)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "dump.rdb")); !bytes.Equal(again, restored) {
		t.Error("the existing dump changed")
	}

	code, msg = run(t.TempDir(), "ns/g/missing/manifest.json")
	if code != exitFailed || !strings.HasPrefix(msg, backup.ReasonRestoreFailed+": ") {
		t.Errorf("missing manifest: exit %d, %q", code, msg)
	}

	obj, err := store.Client(t).GetObject(ctx, miniotest.Bucket, keys.Data, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-10] ^= 0xff
	if _, err := store.Client(t).PutObject(ctx, miniotest.Bucket, keys.Data, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	code, msg = run(empty, keys.Manifest)
	if code != exitChecksum || !strings.HasPrefix(msg, backup.ReasonChecksumMismatch+": ") {
		t.Errorf("corrupted object: exit %d, %q", code, msg)
	}
	if left, _ := os.ReadDir(empty); len(left) != 0 {
		t.Errorf("a refused restore left %v", left)
	}
}
