package backup

import (
	"testing"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/controllers/backup/miniotest"
)

// testMinio adapts miniotest.Server to the tests of this package.
type testMinio struct{ *miniotest.Server }

const (
	minioUser     = miniotest.User
	minioPassword = miniotest.Password
	testBucket    = miniotest.Bucket
)

func minioPath(t *testing.T) string { return miniotest.Path(t) }

func startMinio(t *testing.T) *testMinio { return &testMinio{miniotest.Start(t)} }

func (m *testMinio) endpoint() string   { return m.Endpoint() }
func (m *testMinio) kill()              { m.Kill() }
func (m *testMinio) start(t *testing.T) { m.Restart(t) }

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
