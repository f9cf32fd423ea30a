// Package miniotest runs a real MinIO server (bin/minio, built by `make
// minio-bin` from hack/minio/build.sh) for tests: an S3 store on a loopback
// port with its data in a temporary directory. MinIO is AGPL-3.0 and is
// only ever run as a separate process, never imported.
package miniotest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The root credentials and bucket every server started here has.
const (
	User     = "replnode-test"
	Password = "replnode-test-secret"
	Bucket   = "backups"
)

// Server is one MinIO process.
type Server struct {
	bin, dir string
	port     int
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Path returns MINIO_BIN or <module>/bin/minio, skipping the test when
// neither exists.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("bin/minio is missing: run `make minio-bin` (hack/minio/build.sh) to build the MinIO server these tests use as their object store")
	}
	return p
}

// Start starts MinIO and creates Bucket; it is killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{bin: Path(t), dir: t.TempDir(), port: freePort(t), logPath: filepath.Join(t.TempDir(), "minio.log")}
	s.Restart(t)
	t.Cleanup(s.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Endpoint is host:port of the S3 API.
func (s *Server) Endpoint() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// Restart starts the process (again, on the same data) and waits until it
// is ready.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "server", "--quiet", "--address", s.Endpoint(),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)), s.dir)
	s.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+User, "MINIO_ROOT_PASSWORD="+Password,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = s.cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(s.logPath)
			t.Fatalf("minio exited:\n%s", b)
		default:
		}
		if r, err := http.Get("http://" + s.Endpoint() + "/minio/health/ready"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("minio did not become ready in 60s")
}

// Kill stops MinIO at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Client returns a minio-go client with the root credentials.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(User, Password, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
