package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/store"
)

// This file does the file side of RDB persistence: writing a dump so that
// dir/dbfilename is always either the old file or the complete new one, and
// loading a dump at startup.

// tempDumpSeq makes temporary file names unique within the process.
var tempDumpSeq atomic.Int64

// writeDumpFile writes a dump to path atomically: into a temporary file in
// the same directory, flushed and fsynced, then renamed over path, and the
// directory fsynced so the rename survives a crash. On any error the
// temporary file is removed and path is untouched. write produces the
// content.
func writeDumpFile(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp := filepath.Join(dir, fmt.Sprintf("temp-%d-%d.rdb", os.Getpid(), tempDumpSeq.Add(1)))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("failed opening the temp RDB file %s (in server root dir %s) for saving: %w", filepath.Base(tmp), dir, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err = write(bw); err != nil {
		return fmt.Errorf("write error saving DB on disk: %w", err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write error saving DB on disk: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("fsync error saving DB on disk: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write error saving DB on disk: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("error moving temp DB file %s on the final destination %s: %w", filepath.Base(tmp), filepath.Base(path), err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // best effort: some filesystems refuse fsync on directories
		d.Close()
	}
	return nil
}

// loadDumpFile loads path into a fresh keyspace of n databases. A missing
// file is not an error (found is false). Any other failure names the file,
// and for format errors the offset, and leaves the file as it is.
func loadDumpFile(path string, n int, opt rdb.LoadOptions) (ks *store.Keyspace, res rdb.KeyspaceResult, found bool, err error) {
	return loadDumpFileCounting(path, n, opt, nil)
}

// loadDumpFileCounting is loadDumpFile adding the bytes read to loaded as
// it goes (nil: not counted), for INFO's loading_loaded_bytes.
func loadDumpFileCounting(path string, n int, opt rdb.LoadOptions, loaded *atomic.Int64) (ks *store.Keyspace, res rdb.KeyspaceResult, found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, res, false, nil
	}
	if err != nil {
		return nil, res, false, fmt.Errorf("can't open the RDB file %s: %w", path, err)
	}
	defer f.Close()
	ks = store.NewKeyspace(n)
	var r io.Reader = f
	if loaded != nil {
		r = &countingReader{r: f, n: loaded}
	}
	res, err = rdb.LoadKeyspace(r, ks, opt)
	if err != nil {
		return nil, res, true, fmt.Errorf("can't load the RDB file %s: %w", path, err)
	}
	return ks, res, true, nil
}

// countingReader adds what it reads to n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

// Read reads from the underlying reader and counts the bytes.
func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// ReadDumpReplInfo reads the replication ID and offset stored in the AUX
// fields of the dump at path, for the replication layer to resume from after
// a restart. ok is false when the file has none (or does not exist).
func ReadDumpReplInfo(path string) (replID string, offset int64, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, err
	}
	defer f.Close()
	aux, err := rdb.ReadAux(f)
	if err != nil {
		return "", 0, false, fmt.Errorf("reading %s: %w", path, err)
	}
	return replInfoFromAux(aux)
}

// replInfoFromAux extracts repl-id and repl-offset from AUX fields.
func replInfoFromAux(aux map[string]string) (replID string, offset int64, ok bool, err error) {
	id, hasID := aux["repl-id"]
	off, hasOff := aux["repl-offset"]
	if !hasID || !hasOff {
		return "", 0, false, nil
	}
	offset, err = strconv.ParseInt(off, 10, 64)
	if err != nil {
		return "", 0, false, fmt.Errorf("bad repl-offset %q in RDB aux fields", off)
	}
	return id, offset, true, nil
}
