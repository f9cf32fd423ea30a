// Package miniotest runs a real MinIO server (bin/minio, built by `make
// minio-bin` from hack/minio/build.sh) for tests: an S3 store on a loopback
// port (or an address the test names, such as a local cluster's bridge)
// with its data in a temporary directory. MinIO is AGPL-3.0 and is
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
	"strconv"
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
	host     string
	port     int
	env      []string
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Options say where a server listens and what else its process carries.
type Options struct {
	// Host is the address to listen on; empty is 127.0.0.1. The end-to-end
	// suite uses the local cluster's bridge gateway, which its pods reach.
	Host string
	// Env is added to the process's environment (e.g. the local cluster's
	// marker, so taking the cluster down stops it too).
	Env []string
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

// Start starts MinIO on a loopback port and creates Bucket; it is killed
// when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts MinIO as opts say and creates Bucket; it is killed when
// the test ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	s := &Server{bin: Path(t), dir: t.TempDir(), host: host, port: freePort(t, host), env: opts.Env, logPath: filepath.Join(t.TempDir(), "minio.log")}
	s.Restart(t)
	t.Cleanup(s.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return s
}

// freePort returns a port free on host now.
func freePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Endpoint is host:port of the S3 API.
func (s *Server) Endpoint() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// LogPath is the server's log file (for a failing test to show).
func (s *Server) LogPath() string { return s.logPath }

// Restart starts the process (again, on the same data) and waits until it
// is ready.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "server", "--quiet", "--address", s.Endpoint(),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1")), s.dir)
	s.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+User, "MINIO_ROOT_PASSWORD="+Password,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	s.cmd.Env = append(s.cmd.Env, s.env...)
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
