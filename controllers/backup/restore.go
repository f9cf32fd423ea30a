package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"

	replv1 "github.com/replnode/replnode/api/v1alpha1"
)

// Errors a restore refuses with; the restoring pod reports them and the
// group's Restored condition carries the reason.
var (
	// ErrDataPresent: the data directory already holds a dump; it is kept.
	ErrDataPresent = errors.New("the data directory already holds data")
	// ErrChecksumMismatch: the stored object is not the one the manifest describes.
	ErrChecksumMismatch = errors.New("the backup object does not match its manifest")
)

// checkEmpty returns ErrDataPresent when dir holds anything but a volume's
// lost+found and the temporary files of an earlier, interrupted restore
// (which it removes): a dump, an append-only directory, anything a node
// wrote is data a restore must not hide.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch {
		case e.Name() == "lost+found":
		case strings.HasPrefix(e.Name(), restoreTempPrefix):
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %s holds %s", ErrDataPresent, dir, e.Name())
		}
	}
	return nil
}

// restoreTempPrefix names the file a download is written to before it is
// verified.
const restoreTempPrefix = ".restore-"

// Restore downloads the backup whose manifest is at manifestKey into
// dir/dbfilename. The object is written to a temporary file in dir while
// its sha256 and size are computed; only when both equal the manifest's is
// the file synced and renamed to dbfilename, so the node can never load an
// unverified snapshot. When dir already holds data (checkEmpty) nothing is
// downloaded and ErrDataPresent is returned: a restore never overwrites
// or shadows data.
func (b *Bucket) Restore(ctx context.Context, manifestKey, dir, dbfilename string) (*replv1.BackupManifest, error) {
	dest := filepath.Join(dir, dbfilename)
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	m, err := b.ReadManifest(ctx, manifestKey)
	if err != nil {
		return nil, err
	}
	obj, err := b.Client.GetObject(ctx, b.Name, m.DataKey, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	tmp, err := os.CreateTemp(dir, restoreTempPrefix+"*.rdb")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	defer tmp.Close()
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hash), obj)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", m.DataKey, err)
	}
	if sum := hex.EncodeToString(hash.Sum(nil)); n != m.Size || sum != m.SHA256 {
		return nil, fmt.Errorf("%w: %s has %d bytes with sha256 %s, the manifest says %d bytes with sha256 %s",
			ErrChecksumMismatch, m.DataKey, n, sum, m.Size, m.SHA256)
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Link, not rename: it fails if a dump appeared meanwhile, never replacing it.
	if err := os.Link(tmp.Name(), dest); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s exists", ErrDataPresent, dest)
		}
		return nil, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return m, nil
}

// The outcomes of a restore, as `manager restore-from` reports them (the
// first word of its termination message) and the group's Restored
// condition carries them.
const (
	ReasonRestored         = "RestoredFromBackup"
	ReasonDataPresent      = "DataPresent"
	ReasonChecksumMismatch = "ChecksumMismatch"
	ReasonRestoreFailed    = "RestoreFailed"
)
