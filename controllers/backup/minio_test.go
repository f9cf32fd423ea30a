package backup

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/replnode/redistest"
)

// testMinio is a real MinIO server (bin/minio, built by make minio-bin)
// run by a test: an S3 store on a loopback port with data in a temp dir.
type testMinio struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	exited   chan struct{}
}

const (
	minioUser     = "replnode-test"
	minioPassword = "replnode-test-secret"
	testBucket    = "backups"
)

// minioPath returns MINIO_BIN or <module>/bin/minio, skipping the test
// when neither exists.
func minioPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("bin/minio is missing: run `make minio-bin` (hack/minio/build.sh) to build the MinIO server these tests use as their object store")
	}
	return p
}

// startMinio starts MinIO and creates testBucket.
func startMinio(t *testing.T) *testMinio {
	t.Helper()
	m := &testMinio{bin: minioPath(t), dir: t.TempDir(), port: redistest.FreePort(t)}
	m.start(t)
	t.Cleanup(m.kill)
	c := m.bucket(t).Client
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, testBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return m
}

func (m *testMinio) endpoint() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

func (m *testMinio) start(t *testing.T) {
	t.Helper()
	console := redistest.FreePort(t)
	m.cmd = exec.Command(m.bin, "server", "--quiet", "--address", m.endpoint(),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console), m.dir)
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+minioUser, "MINIO_ROOT_PASSWORD="+minioPassword,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	log, err := os.Create(filepath.Join(t.TempDir(), "minio.log"))
	if err != nil {
		t.Fatal(err)
	}
	m.cmd.Stdout, m.cmd.Stderr = log, log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(m.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-m.exited:
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("minio exited:\n%s", b)
		default:
		}
		if r, err := http.Get("http://" + m.endpoint() + "/minio/health/ready"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("minio did not become ready in 60s")
}

// kill stops MinIO at once (SIGKILL), as a crash would.
func (m *testMinio) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	select {
	case <-m.exited:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
}

func (m *testMinio) spec() replv1.ObjectStoreSpec {
	return replv1.ObjectStoreSpec{Bucket: testBucket, Prefix: "test", Endpoint: m.endpoint(), Insecure: true,
		Credentials: replv1.ObjectStoreCredentials{SecretName: "unused"}}
}

func (m *testMinio) bucket(t *testing.T) *Bucket {
	t.Helper()
	b, err := NewBucket(m.spec(), Credentials{AccessKeyID: minioUser, SecretAccessKey: minioPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
