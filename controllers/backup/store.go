package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/replnode/rdb"
)

// PartSize is the multipart part size of an upload of unknown length:
// minio-go holds one part in memory, so this bounds the memory a backup
// uses (the default for unknown sizes is hundreds of MiB).
const PartSize = 16 << 20

// Credentials are the S3 access key pair, read from the spec's Secret.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Bucket is a client bound to one object store's bucket.
type Bucket struct {
	Client *minio.Client
	Name   string
}

// NewBucket returns a client for spec's endpoint and bucket. caPEM, when
// not empty, is trusted besides the system roots.
func NewBucket(spec replv1.ObjectStoreSpec, creds Credentials, caPEM []byte) (*Bucket, error) {
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(creds.AccessKeyID, creds.SecretAccessKey, ""),
		Secure: !spec.Insecure,
		Region: spec.Region,
	}
	if len(caPEM) > 0 && !spec.Insecure {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("object store CA: no PEM certificate found")
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		opts.Transport = tr
	}
	c, err := minio.New(spec.Endpoint, opts)
	if err != nil {
		return nil, err
	}
	return &Bucket{Client: c, Name: spec.Bucket}, nil
}

// Upload streams snap into keys.Data, then writes the manifest to
// keys.Manifest. The payload passes through a sha256 and the RDB decoder on
// its way to PutObject; the manifest is written only when the upload
// completed, the decoder read a whole RDB with a good checksum, and the
// sizes agree. On any failure it returns an error and leaves no manifest
// (a data object possibly left behind is deleted best effort; it is not a
// backup either way).
func (b *Bucket) Upload(ctx context.Context, snap *Snapshot, keys Keys, source string, now func() time.Time) (*replv1.BackupManifest, error) {
	taken := now()
	// A retried backup reuses its keys: drop an earlier manifest first, so
	// that no manifest ever sits beside data it does not describe.
	if err := b.Client.RemoveObject(ctx, b.Name, keys.Manifest, minio.RemoveObjectOptions{}); err != nil {
		return nil, fmt.Errorf("remove old manifest: %w", err)
	}
	hash := sha256.New()
	pr, pw := io.Pipe()
	type decoded struct {
		res rdb.Result
		ver string
		err error
	}
	dec := make(chan decoded, 1)
	go func() {
		var ver string
		res, err := rdb.Load(pr, rdb.Handler{
			Aux: func(k, v string) error {
				if k == "redis-ver" {
					ver = v
				}
				return nil
			},
		})
		// Drain so the upload is never blocked by a decoder that stopped.
		_, _ = io.Copy(io.Discard, pr)
		if err != nil {
			pr.CloseWithError(err)
		}
		dec <- decoded{res, ver, err}
	}()
	counted := &countingReader{r: io.TeeReader(snap.Body, io.MultiWriter(hash, pw))}
	info, err := b.Client.PutObject(ctx, b.Name, keys.Data, counted, -1, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    PartSize,
	})
	pw.CloseWithError(err) // nil: the decoder sees EOF
	d := <-dec
	if err == nil && d.err != nil {
		err = fmt.Errorf("the snapshot is not a valid RDB: %w", d.err)
	}
	if err == nil && info.Size != counted.n {
		err = fmt.Errorf("stored %d bytes, streamed %d", info.Size, counted.n)
	}
	if err != nil {
		_ = b.Client.RemoveObject(context.WithoutCancel(ctx), b.Name, keys.Data, minio.RemoveObjectOptions{})
		return nil, err
	}
	m := &replv1.BackupManifest{
		SHA256:        hex.EncodeToString(hash.Sum(nil)),
		Size:          counted.n,
		Keys:          d.res.Keys,
		ReplID:        snap.ReplID,
		Offset:        snap.Offset,
		ServerVersion: d.ver,
		Source:        source,
		Time:          metav1.NewTime(taken.UTC().Truncate(time.Second)),
		DataKey:       keys.Data,
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := b.Client.PutObject(ctx, b.Name, keys.Manifest, bytes.NewReader(raw), int64(len(raw)), minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	return m, nil
}

// ReadManifest fetches and parses the manifest at key.
func (b *Bucket) ReadManifest(ctx context.Context, key string) (*replv1.BackupManifest, error) {
	obj, err := b.Client.GetObject(ctx, b.Name, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	raw, err := io.ReadAll(io.LimitReader(obj, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	var m replv1.BackupManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	if len(m.SHA256) != 64 || m.DataKey == "" || m.Size <= 0 {
		return nil, fmt.Errorf("manifest %s is incomplete (sha256, dataKey and size are required)", key)
	}
	return &m, nil
}

// Delete removes a backup: the manifest first, so that a pass interrupted
// between the two leaves a data object nobody will take for a backup.
func (b *Bucket) Delete(ctx context.Context, keys Keys) error {
	if err := b.Client.RemoveObject(ctx, b.Name, keys.Manifest, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s: %w", keys.Manifest, err)
	}
	if err := b.Client.RemoveObject(ctx, b.Name, keys.Data, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s: %w", keys.Data, err)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
