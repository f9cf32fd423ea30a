package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/replnode/replnode/replnode/aof"
	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/store"
)

// ------ APPEND-ONLY FILE ------
//
// Redis 7.0's multi-part AOF (aof.c): package aof owns the formats; this
// file does the I/O. Every propagated command (Server.aofFeed, the same
// stream replicas get) is appended to a buffer on the executor; the buffer
// is written to the current incremental file before any reply leaves the
// executor (Server.aofBeforeReply, called from flushOutLocked), and with
// appendfsync always it is fdatasync'ed there too, so an acknowledged write
// is on disk. everysec syncs from a background worker at most once a
// second; no leaves it to the kernel.
//
// BGREWRITEAOF is BGSAVE's mechanism: copy-on-write snapshots taken on the
// executor, written by a goroutine into a temporary file, collected by the
// cron, which renames it to the new base and swaps the manifest
// (backgroundRewriteDoneHandler). Writes go to a fresh incremental file
// from the moment the rewrite starts, so nothing needs to be merged.
//
// Every incr file starts with the replication position of the dataset at
// that moment (the base snapshot's), and the feed adds the position after
// a change wherever counting bytes would not give it (aof/position.go);
// loading follows them and hands the position to the replication layer,
// as an RDB's repl-id / repl-offset, so a node restarted from its AOF
// continues its history and can be compared with the other members.

// aofStatus is aof_state.
type aofStatus int

const (
	aofOff         aofStatus = iota
	aofOn                    // appending to the last incr file
	aofWaitRewrite           // CONFIG SET appendonly yes: first rewrite running
)

// aofState is the append-only layer of one Server; its fields belong to
// the executor except inside an aofRewriteJob, as noted there.
type aofState struct {
	s     *Server
	state aofStatus

	manifest *aof.Manifest
	file     *os.File // current incr file (or the temp incr while waiting)
	buf      []byte   // appended, not yet written
	feed     *aof.Feed
	// hereBeforeNext: a file reopened after loading gets the position
	// written before its next command (feedCommand).
	hereBeforeNext bool

	// Policy, cached from the configuration (OnConfigSet).
	fsyncPolicy     string // always, everysec, no
	noFsyncRewrite  bool
	rewritePerc     int64
	rewriteMinSize  int64
	useRDBPreamble  bool
	loadTruncated   bool
	disableAutoGC   bool
	incrementalSync bool

	currentSize     int64 // aof_current_size
	baseSize        int64 // aof_rewrite_base_size
	lastIncrSize    int64
	lastIncrFsynced int64
	lastFsyncUnix   int64
	lastWriteOK     bool
	lastWriteErr    error

	job                 *aofRewriteJob
	scheduled           bool
	lastRewriteOK       bool
	lastRewriteSecs     int64
	rewrites            int64
	consecutiveFailures int64
	limiter             aof.RewriteLimiter

	bio bioWorker

	// paths are read off the executor by the startup loader, so they are
	// computed on it (refreshPaths) and published atomically.
	paths atomic.Pointer[aofPaths]
}

// aofPaths locate the AOF files: dir is the appenddirname directory, work
// the directory of temporary rewrite files and of an old single-file AOF
// ("" is the working directory, which is dir after startup), file is
// appendfilename.
type aofPaths struct{ dir, work, file string }

// aofRewriteJob is one background rewrite. The goroutine writes err and
// closes done; everything else is set on the executor before it starts.
type aofRewriteJob struct {
	startMs int64
	tmp     string
	base    *baseWrite
	cancel  atomic.Bool
	done    chan struct{}
	err     error
}

// bioWorker runs fsync and close jobs in order on one goroutine, as
// Redis's BIO_AOF_FSYNC thread, so an fsync of a file never races its
// close. The status of the last background fsync is kept for INFO.
type bioWorker struct {
	once    sync.Once
	jobs    chan bioJob
	pending atomic.Int64
	failed  atomic.Bool
	// syncFile replaces fdatasync for the background jobs and for the
	// sync of the old incr file at a switch (nil: fdatasync), so tests can
	// see the order of syncs and writes and make a sync fail. Set before
	// the first job.
	syncFile func(*os.File) error
}

type bioJob struct {
	f     *os.File
	close bool
}

func (b *bioWorker) submit(f *os.File, closeAfter bool) {
	b.once.Do(func() {
		b.jobs = make(chan bioJob, 1024)
		go func() {
			for j := range b.jobs {
				if err := b.sync(j.f); err != nil {
					b.failed.Store(true)
				} else {
					b.failed.Store(false)
				}
				if j.close {
					j.f.Close()
				}
				b.pending.Add(-1)
			}
		}()
	})
	b.pending.Add(1)
	b.jobs <- bioJob{f, closeAfter}
}

// sync is fdatasync, or the syncFile a test set.
func (b *bioWorker) sync(f *os.File) error {
	if b.syncFile != nil {
		return b.syncFile(f)
	}
	return fdatasync(f)
}

// fdatasync is redis_fsync on Linux.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

var aofStates layerTable[aofState]

// aofLayer returns the append-only layer of s.
func (s *Server) aofLayer() *aofState {
	return aofStates.get(s)
}

func init() { onNewServer(initAOF) }

// initAOF installs the append-only layer. The dataset is loaded from the
// AOF by the persistence layer's startup loader (loadAtStartup) when
// appendonly is yes; the files are opened after it.
func initAOF(s *Server) {
	a := &aofState{s: s, manifest: &aof.Manifest{}, feed: aof.NewFeed(), lastWriteOK: true,
		lastRewriteOK: true, lastRewriteSecs: -1}
	aofStates.set(s, a)
	a.readPolicy()
	a.refreshPaths()
	if s.Config.Bool("appendonly") {
		a.state = aofOn
	}
	s.OnCron(a.cron)
	s.OnConfigSet(a.configChanged)
	// The feed is installed once the files are open (openAtStartup).
	s.OnStartup(a.openAtStartup)
}

// readPolicy caches the AOF directives.
func (a *aofState) readPolicy() {
	cfg := a.s.Config
	a.fsyncPolicy = cfg.String("appendfsync")
	a.noFsyncRewrite = cfg.Bool("no-appendfsync-on-rewrite")
	a.rewritePerc = cfg.Int("auto-aof-rewrite-percentage")
	a.rewriteMinSize = cfg.Int("auto-aof-rewrite-min-size")
	a.useRDBPreamble = cfg.Bool("aof-use-rdb-preamble")
	a.loadTruncated = cfg.Bool("aof-load-truncated")
	a.disableAutoGC = cfg.Bool("aof-disable-auto-gc")
	a.incrementalSync = cfg.Bool("aof-rewrite-incremental-fsync")
	a.feed.Timestamps = cfg.Bool("aof-timestamp-enabled")
}

// updateHooks installs the core's seams while the AOF is on.
func (a *aofState) updateHooks() {
	if a.state == aofOff {
		a.s.aofFeed, a.s.aofBeforeReply = nil, nil
		return
	}
	a.s.aofFeed, a.s.aofBeforeReply = a.feedCommand, a.beforeReply
}

// configChanged applies CONFIG SET of an AOF directive: appendonly starts
// (with a rewrite) or stops appending, as updateAppendonly.
func (a *aofState) configChanged(name string) {
	if name == "dir" {
		a.refreshPaths()
		return
	}
	if !strings.HasPrefix(name, "append") && !strings.Contains(name, "aof") {
		return
	}
	a.readPolicy()
	if name != "appendonly" {
		return
	}
	on := a.s.Config.Bool("appendonly")
	switch {
	case on && a.state == aofOff:
		if err := a.start(); err != nil {
			// CONFIG SET cannot fail from here: put the directive back.
			_ = a.s.Config.SetMany([][2]string{{"appendonly", "no"}})
		}
	case !on && a.state != aofOff:
		a.stop()
	}
}

// ---------------------------------------------------------------- paths

// refreshPaths computes the paths from the configuration: appenddirname
// inside dir, which is the working directory once the binary has chdir'd
// (as persist's dumpPath). Runs on the executor (or before serving).
func (a *aofState) refreshPaths() {
	cfg := a.s.Config
	p := &aofPaths{dir: cfg.String("appenddirname"), file: cfg.String("appendfilename")}
	if dir := cfg.String("dir"); filepath.IsAbs(dir) {
		p.work = dir
		p.dir = filepath.Join(dir, p.dir)
	}
	a.paths.Store(p)
}

// dirPath is the AOF directory.
func (a *aofState) dirPath() string { return a.paths.Load().dir }

// inDir is the path of a file of the AOF directory.
func (a *aofState) inDir(name string) string { return filepath.Join(a.dirPath(), name) }

// inWorkDir is the path of a file in dir (temporary rewrite files, the
// old single-file AOF).
func (a *aofState) inWorkDir(name string) string {
	if w := a.paths.Load().work; w != "" {
		return filepath.Join(w, name)
	}
	return name
}

func (a *aofState) filename() string { return a.paths.Load().file }

// ---------------------------------------------------------------- manifest

// persistManifest writes m atomically: temp file, fsync, rename, fsync of
// the directory (writeAofManifestFile).
func (a *aofState) persistManifest(m *aof.Manifest) error {
	tmp := a.inDir(aof.TempManifestName(a.filename()))
	path := a.inDir(aof.ManifestName(a.filename()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
	if err != nil {
		a.s.Log.Warningf("Can't open the AOF manifest file %s: %v", filepath.Base(tmp), err)
		return err
	}
	if _, err = f.Write(m.Format()); err == nil {
		err = fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		a.s.Log.Warningf("Error trying to write the temporary AOF manifest file %s: %v", filepath.Base(tmp), err)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		a.s.Log.Warningf("Error trying to rename the temporary AOF manifest file %s into %s: %v", filepath.Base(tmp), filepath.Base(path), err)
		return err
	}
	return syncDir(a.dirPath())
}

// syncDir fsyncs a directory so a rename or create in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// readManifest loads the manifest from disk: an empty one when the
// directory or the file is missing (aofLoadManifestFromDisk).
func (a *aofState) readManifest() (*aof.Manifest, error) {
	data, err := os.ReadFile(a.inDir(aof.ManifestName(a.filename())))
	if errors.Is(err, fs.ErrNotExist) {
		return &aof.Manifest{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("can't open the AOF manifest file %s for reading: %w", aof.ManifestName(a.filename()), err)
	}
	return aof.ParseManifest(data)
}

// ---------------------------------------------------------------- feeding and writing

// feedCommand is the core's aofFeed: the command goes to the buffer when
// the AOF is on, or while the first rewrite after enabling it runs.
func (a *aofState) feedCommand(db int, args [][]byte) {
	if a.state == aofOn || (a.state == aofWaitRewrite && a.job != nil) {
		if a.hereBeforeNext {
			// The AOF is fed before the stream: the position now is
			// where this command starts.
			a.buf = a.feed.Here(a.buf, a.s.replPosition())
			a.hereBeforeNext = false
		}
		a.buf = a.feed.Append(a.buf, db, args, a.s.clock()/1000, func(n int64) aof.Position {
			return a.s.replPositionAfter(db, n)
		})
	}
}

// beforeReply is the core's aofBeforeReply.
func (a *aofState) beforeReply() {
	if len(a.buf) > 0 || a.lastIncrFsynced != a.lastIncrSize {
		a.flush()
	}
}

// childActive is hasActiveChildProcess: a background save or rewrite.
func (a *aofState) childActive() bool {
	return a.job != nil || a.s.persist().job != nil
}

// flush writes the buffer and syncs as the policy says
// (flushAppendOnlyFile). With appendfsync always a failed write or fsync
// ends the process: the reply must not be sent for a write that is not on
// disk, and the dataset cannot be rolled back.
func (a *aofState) flush() {
	if a.file == nil {
		return
	}
	now := a.s.clock() / 1000
	if len(a.buf) > 0 {
		n, err := a.file.Write(a.buf)
		if err != nil || n != len(a.buf) {
			if err == nil {
				err = io.ErrShortWrite
			}
			a.s.Log.Warningf("Error writing to the AOF file: %v", err)
			if n > 0 {
				// Remove the partial write so the file ends on a command.
				if terr := a.file.Truncate(a.lastIncrSize); terr != nil {
					a.s.Log.Warningf("Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: %v", terr)
					a.currentSize += int64(n)
					a.lastIncrSize += int64(n)
					a.buf = a.buf[n:]
				}
			}
			if a.fsyncPolicy == "always" {
				a.s.Log.Warningf("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
				os.Exit(1)
			}
			a.lastWriteOK, a.lastWriteErr = false, err
			return
		}
		if !a.lastWriteOK {
			a.s.Log.Warningf("AOF write error looks solved, Redis can write again.")
			a.lastWriteOK, a.lastWriteErr = true, nil
		}
		a.currentSize += int64(n)
		a.lastIncrSize += int64(n)
		if cap(a.buf) < 4000 {
			a.buf = a.buf[:0]
		} else {
			a.buf = nil
		}
	}
	if a.noFsyncRewrite && a.childActive() {
		return
	}
	switch a.fsyncPolicy {
	case "always":
		if a.lastIncrFsynced == a.lastIncrSize {
			return
		}
		if err := fdatasync(a.file); err != nil {
			a.s.Log.Warningf("Can't persist AOF for fsync error when the AOF fsync policy is 'always': %v. Exiting...", err)
			os.Exit(1)
		}
		a.lastIncrFsynced, a.lastFsyncUnix = a.lastIncrSize, now
	case "everysec":
		if now > a.lastFsyncUnix && a.lastIncrFsynced != a.lastIncrSize {
			// One fsync at a time, as aofFsyncInProgress: the next second
			// takes what this one could not.
			if a.bio.pending.Load() == 0 {
				a.bio.submit(a.file, false)
				a.lastIncrFsynced = a.lastIncrSize
			}
			a.lastFsyncUnix = now
		}
	}
}

// ---------------------------------------------------------------- start, stop

// start turns the AOF on at runtime: a rewrite first, appending once it is
// done (startAppendOnly).
func (a *aofState) start() error {
	a.state = aofWaitRewrite
	a.updateHooks()
	switch {
	case a.s.persist().job != nil:
		a.scheduled = true
		a.s.Log.Warningf("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.")
	case len(a.s.pendingProp) > 0:
		// Inside a transaction whose earlier writes are not propagated
		// yet: a snapshot now would hold them and the new incr file too.
		a.scheduled = true
		a.s.Log.Warningf("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.")
	default:
		if a.job != nil {
			a.s.Log.Warningf("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.")
			a.killRewrite()
		}
		if err := a.startRewrite(); err != nil {
			a.state = aofOff
			a.updateHooks()
			a.s.Log.Warningf("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.")
			return err
		}
	}
	a.lastFsyncUnix = a.s.clock() / 1000
	if a.bio.failed.Swap(false) {
		a.s.Log.Warningf("AOF reopen, just ignore the AOF fsync error in bio job")
	}
	if !a.lastWriteOK {
		a.s.Log.Warningf("AOF reopen, just ignore the last error.")
		a.lastWriteOK = true
	}
	return nil
}

// stop turns the AOF off (stopAppendOnly): what is buffered is written and
// synced, the file closed, a running rewrite abandoned.
func (a *aofState) stop() {
	a.flush()
	if a.file != nil {
		if err := fdatasync(a.file); err != nil {
			a.s.Log.Warningf("Fail to fsync the AOF file: %v", err)
		}
		// Closed by the worker, after any fsync it still has queued.
		a.bio.submit(a.file, true)
		a.file = nil
	}
	a.feed.Reset()
	a.hereBeforeNext = false
	a.state = aofOff
	a.scheduled = false
	a.lastIncrSize, a.lastIncrFsynced = 0, 0
	a.killRewrite()
	a.buf = nil
	a.updateHooks()
}

// restartAfterSync starts the AOF over after a full sync from a master
// replaced the dataset (restartAOFAfterSYNC): stop, then start with a
// rewrite of the new dataset.
func (a *aofState) restartAfterSync() {
	if a.state == aofOff {
		return
	}
	a.stop()
	if err := a.start(); err != nil {
		a.s.Log.Warningf("Failed enabling the AOF after successful master synchronization! The AOF stays off until CONFIG SET appendonly yes.")
		_ = a.s.Config.SetMany([][2]string{{"appendonly", "no"}})
	}
}

// openAtStartup opens the AOF for appending once the dataset is loaded
// (aofOpenIfNeededOnServerStart): a base is created for an empty
// directory, then the last incr file is opened (or created) and the
// manifest persisted. A failure ends the process, as in Redis.
func (a *aofState) openAtStartup() {
	if a.state != aofOn || a.file != nil {
		return
	}
	if err := a.openAfterLoad(); err != nil {
		a.s.Log.Warningf("%v", err)
		a.s.Log.Warningf("Can't open the append-only file. Exiting.")
		os.Exit(1)
	}
}

func (a *aofState) openAfterLoad() error {
	if err := os.MkdirAll(a.dirPath(), 0o755); err != nil {
		return fmt.Errorf("can't open or create append-only dir %s: %w", a.dirPath(), err)
	}
	m := a.manifest
	created := len(m.Incr) == 0
	if m.Base == nil && len(m.Incr) == 0 {
		name := m.NewBase(a.filename(), a.useRDBPreamble)
		if err := a.rewriteNow(a.inDir(name)); err != nil {
			return err
		}
		a.s.Log.Noticef("Creating AOF base file %s on server start", name)
	}
	name := m.LastIncr(a.filename())
	f, err := os.OpenFile(a.inDir(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("can't open the append-only file %s: %w", name, err)
	}
	if err := a.persistManifest(m); err != nil {
		f.Close()
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	a.file = f
	a.lastIncrSize, a.lastIncrFsynced = fi.Size(), fi.Size()
	if created {
		a.startFile()
	} else {
		// Reopened as it was loaded: the position written before the
		// next command says where that command starts, whatever the end
		// of the file (cut at a torn tail) leaves a load in the middle
		// of. Nothing is written until then, as redis-server appends
		// nothing to a file it only reopens.
		a.feed.Reset()
		a.hereBeforeNext = true
	}
	if created {
		a.s.Log.Noticef("Creating AOF incr file %s on server start", name)
	} else {
		a.s.Log.Noticef("Opening AOF incr file %s on server start", name)
	}
	a.updateHooks()
	return nil
}

// ---------------------------------------------------------------- rewriting

// baseWrite is everything writing a base file needs, taken on the
// executor so the writing goroutine reads nothing of the Server.
type baseWrite struct {
	snaps       []*store.Snapshot
	functions   [][]byte
	rdbPreamble bool
	info        rdb.AuxInfo // AUX fields of the RDB preamble
	opt         rdb.Options
	timestamp   int64 // #TS: at the top of a command base, 0 for none
	delay       time.Duration
	syncEvery   bool // aof-rewrite-incremental-fsync
}

// newBaseWrite freezes the dataset and the settings of a base file.
// Runs on the executor.
func (a *aofState) newBaseWrite() *baseWrite {
	p := a.s.persist()
	bw := &baseWrite{snaps: p.snapshotAll(), functions: a.s.functionCodes(), rdbPreamble: a.useRDBPreamble,
		opt: p.encodeOptions(), delay: p.keySaveDelay(), syncEvery: a.incrementalSync}
	if bw.rdbPreamble {
		bw.info = p.auxInfo()
		bw.info.HasRepl, bw.info.AOFBase = false, true
	}
	if a.feed.Timestamps {
		bw.timestamp = a.s.clock() / 1000
	}
	return bw
}

// release ends the snapshots. Runs on the executor.
func (b *baseWrite) release() {
	for _, sn := range b.snaps {
		sn.Release()
	}
}

// content writes the dataset as a base file: an RDB with aof-base 1 when
// aof-use-rdb-preamble, else commands. cancel, when not nil, stops it.
func (b *baseWrite) content(w io.Writer, cancel *atomic.Bool) error {
	eachKey := func() error {
		if cancel != nil && cancel.Load() {
			return errSaveCanceled
		}
		if b.delay > 0 && cancel != nil {
			time.Sleep(b.delay)
		}
		return nil
	}
	if b.rdbPreamble {
		info := b.info
		info.Functions = b.functions
		return rdb.WriteSnapshotFunc(w, b.snaps, info, b.opt, eachKey)
	}
	if b.timestamp != 0 {
		if _, err := w.Write(aof.AppendTimestamp(nil, b.timestamp)); err != nil {
			return err
		}
	}
	return aof.WriteCommands(w, b.snaps, b.functions, eachKey)
}

// writeTemp writes the base file to tmp, synced and closed.
func (b *baseWrite) writeTemp(tmp string, cancel *atomic.Bool) (err error) {
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("opening the temp file for AOF rewrite: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var w io.Writer = f
	if b.syncEvery {
		w = &syncingWriter{f: f}
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	if err = b.content(bw, cancel); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// syncingWriter fdatasyncs every 4 MB written (aof-rewrite-incremental-fsync,
// REDIS_AUTOSYNC_BYTES) so a big rewrite does not end in one long fsync.
type syncingWriter struct {
	f       *os.File
	pending int
}

func (w *syncingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.pending += n
	if err == nil && w.pending >= 4<<20 {
		w.pending = 0
		err = fdatasync(w.f)
	}
	return n, err
}

// rewriteNow writes the current dataset to path on the executor
// (rewriteAppendOnlyFile): the base of an empty directory at startup.
func (a *aofState) rewriteNow(path string) error {
	bw := a.newBaseWrite()
	defer bw.release()
	tmp := a.inWorkDir(fmt.Sprintf("temp-rewriteaof-%d.aof", os.Getpid()))
	if err := bw.writeTemp(tmp, nil); err != nil {
		a.s.Log.Warningf("Write error writing append only file on disk: %v", err)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		a.s.Log.Warningf("Error moving temp append only file on the final destination: %v", err)
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// openNewIncr switches appending to a new incr file when a rewrite starts
// (openNewIncrAofForAppend): with the AOF on a new numbered file is added
// to the manifest, which is persisted first; while waiting for the first
// rewrite, a temporary incr file collects the writes.
func (a *aofState) openNewIncr() error {
	if a.state == aofOff {
		return nil
	}
	var m *aof.Manifest
	var name string
	if a.state == aofWaitRewrite {
		name = aof.TempIncrName(a.filename())
	} else {
		m = a.manifest.Clone()
		name = m.NewIncr(a.filename())
	}
	f, err := os.OpenFile(a.inDir(name), os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
	if err != nil {
		a.s.Log.Warningf("Can't open the append-only file %s: %v", name, err)
		return err
	}
	if m != nil {
		if err := a.persistManifest(m); err != nil {
			f.Close()
			return err
		}
	}
	a.s.Log.Noticef("Creating AOF incr file %s on background rewrite", name)
	vouched := true
	if a.file != nil {
		// The new file's position header vouches for every byte before
		// it, the old file's tail included. Under everysec or no that
		// tail may not be on disk yet, and the kernel may write the new
		// file first: after a power loss the header would survive and the
		// tail not, a position ahead of the data. So the tail is synced
		// here, once per rewrite, before the header is written. If that
		// fails the new file starts with no position and writes are
		// refused (MISCONF, as after a failed background fsync) until the
		// background sync of the old file, queued next, succeeds: later
		// positions in the new file then vouch only for synced bytes.
		if a.lastIncrFsynced < a.lastIncrSize {
			if err := a.bio.sync(a.file); err != nil {
				a.s.Log.Warningf("Can't fsync the append-only file before switching to %s: %v", name, err)
				a.bio.failed.Store(true)
				vouched = false
			}
		}
		a.bio.submit(a.file, true)
		a.lastFsyncUnix = a.s.clock() / 1000
	}
	a.file = f
	a.lastIncrSize, a.lastIncrFsynced = 0, 0
	if m != nil {
		a.manifest = m
	}
	if vouched {
		a.startFile()
	} else {
		a.feed.Reset()
		a.hereBeforeNext = false
	}
	return nil
}

// startFile begins appending to a new incr file with the position the
// dataset stands at now, when it has one: the position of the base
// snapshot a rewrite takes in the same executor turn (or of the dataset
// an empty directory starts from). It is written at once so that a
// manifest naming the file never names it without its position. With no
// position nothing is written, and the file is the one redis-server would
// write: a load attributes no position to a base or to the commands of a
// file before an annotation.
func (a *aofState) startFile() {
	a.feed.Reset()
	a.hereBeforeNext = false
	if pos := a.s.replPosition(); pos.Known {
		a.buf = a.feed.Here(a.buf, pos)
		a.flush()
	}
}

// startRewrite starts a background rewrite
// (rewriteAppendOnlyFileBackground). The caller checked that no background
// job runs.
func (a *aofState) startRewrite() error {
	s := a.s
	if err := os.MkdirAll(a.dirPath(), 0o755); err != nil {
		s.Log.Warningf("Can't open or create append-only dir %s: %v", a.dirPath(), err)
		a.lastRewriteOK = false
		return err
	}
	a.feed.Reset()
	a.flush()
	if err := a.openNewIncr(); err != nil {
		a.lastRewriteOK = false
		return err
	}
	a.rewrites++
	job := &aofRewriteJob{startMs: s.clock(), base: a.newBaseWrite(), done: make(chan struct{}),
		tmp: a.inWorkDir(fmt.Sprintf("temp-rewriteaof-bg-%d.aof", os.Getpid()))}
	a.job, a.scheduled = job, false
	s.Log.Noticef("Background append only file rewriting started")
	go func() {
		job.err = job.base.writeTemp(job.tmp, &job.cancel)
		close(job.done)
	}()
	return nil
}

// collectRewrite finishes a completed rewrite on the executor
// (backgroundRewriteDoneHandler). It reports whether a job was collected.
func (a *aofState) collectRewrite(wait bool) bool {
	job := a.job
	if job == nil {
		return false
	}
	if wait {
		<-job.done
	} else {
		select {
		case <-job.done:
		default:
			return false
		}
	}
	s := a.s
	job.base.release()
	a.job = nil
	a.lastRewriteSecs = (s.clock() - job.startMs) / 1000
	switch {
	case errors.Is(job.err, errSaveCanceled):
		s.Log.Warningf("Background AOF rewrite terminated by signal 10")
	case job.err != nil:
		s.Log.Warningf("Write error writing append only file on disk: %v", job.err)
		s.Log.Warningf("Background AOF rewrite terminated with error")
		a.rewriteFailed()
	default:
		s.Log.Noticef("Background AOF rewrite terminated with success")
		a.installRewrite(job)
	}
	os.Remove(job.tmp)
	if a.state == aofWaitRewrite {
		// The rewrite failed or was abandoned: the writes collected for it
		// go, the next rewrite starts over.
		a.buf = nil
		if a.file != nil {
			a.bio.submit(a.file, true)
			a.file = nil
		}
		os.Remove(a.inDir(aof.TempIncrName(a.filename())))
		a.s.Log.Noticef("Removing the temp incr aof file %s in the background", aof.TempIncrName(a.filename()))
	}
	return true
}

func (a *aofState) rewriteFailed() {
	a.lastRewriteOK = false
	a.consecutiveFailures++
}

// installRewrite makes a finished rewrite the new base: rename, swap in
// the manifest (old base and covered incr files become history), delete
// the history files.
func (a *aofState) installRewrite(job *aofRewriteJob) {
	s := a.s
	m := a.manifest.Clone()
	baseName := m.NewBase(a.filename(), a.useRDBPreamble)
	basePath := a.inDir(baseName)
	if err := os.Rename(job.tmp, basePath); err != nil {
		s.Log.Warningf("Error trying to rename the temporary AOF base file %s into %s: %v", filepath.Base(job.tmp), baseName, err)
		a.rewriteFailed()
		return
	}
	s.Log.Noticef("Successfully renamed the temporary AOF base file %s into %s", filepath.Base(job.tmp), baseName)
	var incrPath string
	if a.state == aofWaitRewrite {
		// Flush what the temp incr collected, then give it its name.
		a.flush()
		tmpName := aof.TempIncrName(a.filename())
		incrName := m.NewIncr(a.filename())
		incrPath = a.inDir(incrName)
		if err := os.Rename(a.inDir(tmpName), incrPath); err != nil {
			s.Log.Warningf("Error trying to rename the temporary AOF incr file %s into %s: %v", tmpName, incrName, err)
			os.Remove(basePath)
			a.rewriteFailed()
			return
		}
		s.Log.Noticef("Successfully renamed the temporary AOF incr file %s into %s", tmpName, incrName)
	}
	m.MarkRewrittenIncrAsHistory(a.state != aofOff)
	if err := a.persistManifest(m); err != nil {
		os.Remove(basePath)
		if incrPath != "" {
			os.Remove(incrPath)
		}
		a.rewriteFailed()
		return
	}
	a.manifest = m
	if a.state != aofOff {
		var baseSize int64
		if fi, err := os.Stat(basePath); err == nil {
			baseSize = fi.Size()
		}
		a.currentSize = baseSize + a.lastIncrSize
		a.baseSize = a.currentSize
	}
	a.deleteHistory()
	a.lastRewriteOK = true
	a.consecutiveFailures = 0
	s.Log.Noticef("Background AOF rewrite finished successfully")
	if a.state == aofWaitRewrite {
		a.state = aofOn
	}
}

// deleteHistory removes the history files and records that in the
// manifest (aofDelHistoryFiles), unless aof-disable-auto-gc.
func (a *aofState) deleteHistory() {
	m := a.manifest
	if a.disableAutoGC || len(m.History) == 0 {
		return
	}
	for _, h := range m.History {
		a.s.Log.Noticef("Removing the history file %s in the background", h.Name)
		os.Remove(a.inDir(h.Name))
	}
	m.History = nil
	_ = a.persistManifest(m)
}

// killRewrite abandons a running rewrite (killAppendOnlyChild).
func (a *aofState) killRewrite() {
	if a.job == nil {
		return
	}
	a.s.Log.Noticef("Killing running AOF rewrite child")
	a.job.cancel.Store(true)
	a.collectRewrite(true)
}

// rewriteLimited is aofRewriteLimited (package aof decides).
func (a *aofState) rewriteLimited(nowUnix int64) bool {
	limited, started := a.limiter.Limited(a.consecutiveFailures, nowUnix)
	if started > 0 {
		a.s.Log.Warningf("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in %d minutes", started)
	}
	return limited
}

// cron collects a finished rewrite, starts a scheduled or automatic one,
// and keeps everysec syncing when no command comes (serverCron and
// beforeSleep's flushAppendOnlyFile).
func (a *aofState) cron(nowMs int64) {
	a.collectRewrite(false)
	nowUnix := nowMs / 1000
	if !a.childActive() && a.scheduled && !a.rewriteLimited(nowUnix) {
		_ = a.startRewrite()
	}
	if a.state == aofOn && !a.childActive() {
		growth, due := aof.AutoRewriteDue(a.currentSize, a.baseSize, a.rewritePerc, a.rewriteMinSize)
		if due && !a.rewriteLimited(nowUnix) {
			a.s.Log.Noticef("Starting automatic rewriting of AOF on %d%% growth", growth)
			_ = a.startRewrite()
		}
	}
	if a.state == aofOn {
		a.flush()
	}
}

// shutdown is the AOF part of shutting down: a running rewrite is
// abandoned, the buffer written and synced.
func (a *aofState) shutdown() {
	if a.job != nil {
		a.s.Log.Warningf("There is a child rewriting the AOF. Killing it!")
		a.killRewrite()
	}
	if a.state != aofOff && a.file != nil {
		a.s.Log.Noticef("Calling fsync() on the AOF file.")
		a.flush()
		_ = fdatasync(a.file)
	}
}

// writeError is the AOF's MISCONF: writes are refused while the last write
// to the AOF failed (writeCommandsDeniedByDiskError).
func (a *aofState) writeError() string {
	if a.state != aofOff && (!a.lastWriteOK || a.bio.failed.Load()) {
		msg := "unknown error"
		if a.lastWriteErr != nil {
			msg = a.lastWriteErr.Error()
		}
		return "MISCONF Errors writing to the AOF file: " + msg
	}
	return ""
}

// ---------------------------------------------------------------- loading

// errAOFNotExist is a manifest with no base and no incr file.
var errAOFNotExist = errors.New("no append only file")

// upgradeOldAOF moves an old single-file AOF (appendfilename in dir) into
// the AOF directory with a manifest naming it the base (aofUpgradePrepare),
// when the directory does not list anything yet.
func (a *aofState) upgradeOldAOF(m *aof.Manifest) (*aof.Manifest, error) {
	old := a.inWorkDir(a.filename())
	if _, err := os.Stat(old); err != nil {
		return m, nil
	}
	_, dirErr := os.Stat(a.dirPath())
	oldNamedBase := m.Base != nil && len(m.Incr) == 0 && m.Base.Name == a.filename()
	if _, err := os.Stat(a.inDir(a.filename())); oldNamedBase && err == nil {
		oldNamedBase = false
	}
	if dirErr == nil && !m.Empty() && !oldNamedBase {
		return m, nil
	}
	if err := os.MkdirAll(a.dirPath(), 0o755); err != nil {
		return nil, fmt.Errorf("can't open or create append-only dir %s: %w", a.dirPath(), err)
	}
	m = &aof.Manifest{Base: &aof.FileInfo{Name: a.filename(), Seq: 1, Type: aof.TypeBase}, CurBaseSeq: 1}
	if err := a.persistManifest(m); err != nil {
		return nil, err
	}
	if err := os.Rename(old, a.inDir(a.filename())); err != nil {
		return nil, fmt.Errorf("error trying to move the old AOF file %s into dir %s: %w", a.filename(), a.dirPath(), err)
	}
	a.s.Log.Noticef("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", a.filename(), a.dirPath())
	return m, nil
}

// aofReplay runs commands of the AOF on the executor through an internal
// client, as the fake AOF client of loadSingleAppendOnlyFile: no reply, no
// propagation, none of the checks a client's command gets.
type aofReplay struct {
	a     *aofState
	c     *Client
	exec  func(fn func()) // runs fn on the executor
	batch [][][]byte
	name  string
	// refused counts the commands processCommand refused before running
	// them. Redis's loader runs commands without those checks, so there
	// should be none; if there are, the data loaded is not what the files
	// say and no replication position is taken from them.
	refused int64
}

func (r *aofReplay) apply(args [][]byte) error {
	if lookupCommandName(args[0]) == nil {
		r.a.s.Log.Warningf("Unknown command '%s' reading the append only file %s", args[0], r.name)
		return fmt.Errorf("unknown command '%s' reading the append only file %s", args[0], r.name)
	}
	r.batch = append(r.batch, args)
	if len(r.batch) >= 1024 {
		r.flush()
	}
	return nil
}

func (r *aofReplay) flush() {
	if len(r.batch) == 0 {
		return
	}
	batch := r.batch
	r.batch = nil
	r.exec(func() {
		s := r.a.s
		if r.c == nil {
			r.c = s.NewInternalClient(ClientMaster | ClientNoReply)
		}
		// Loading stays set, as server.loading during Redis's AOF load:
		// a TTL in the past is kept, not turned into a DEL
		// (checkAlreadyExpired); replaying lets the commands through
		// dispatch's -LOADING, stops propagation and lazy expiry.
		loading := s.Loading
		s.Loading, s.replaying = true, true
		before := r.c.rejected
		for _, args := range batch {
			s.processCommand(r.c, args)
		}
		r.refused += r.c.rejected - before
		s.Loading, s.replaying = loading, false
	})
}

// close frees the replay client; a MULTI it had open is dropped.
func (r *aofReplay) close() {
	r.exec(func() {
		if r.c != nil {
			r.a.s.freeClient(r.c)
			r.c = nil
		}
	})
}

// loadFiles loads the files of m into the server: the base (an RDB, or
// commands) into a fresh keyspace that replaces the current one, then the
// incr files replayed as commands (loadAppendOnlyFiles). exec runs a
// function on the executor (Server.Exec off it, a direct call on it).
// A torn tail of the last file is cut when aof-load-truncated; anything
// else wrong is an error, and nothing on disk is changed then.
//
// t, when not nil, follows the replication position through the files:
// after a load it is where the data loaded stands.
func (a *aofState) loadFiles(m *aof.Manifest, exec func(fn func()), loaded *atomic.Int64, t *aof.Tracker) error {
	s := a.s
	if m.Empty() {
		return errAOFNotExist
	}
	files := []aof.FileInfo{}
	if m.Base != nil {
		files = append(files, *m.Base)
	}
	files = append(files, m.Incr...)
	var total int64
	for _, fi := range files {
		st, err := os.Stat(a.inDir(fi.Name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				s.Log.Warningf("The append log file %s doesn't exist: %v", fi.Name, err)
			}
			return fmt.Errorf("can't open the append log file %s: %w", fi.Name, err)
		}
		total += st.Size()
	}
	exec(func() {
		a.s.persist().loadTotalBytes = total
	})
	if total == 0 {
		return nil // AOF_EMPTY
	}
	var ndb int
	var loadTruncated bool
	exec(func() { ndb, loadTruncated = len(s.Keyspace.DBs), a.loadTruncated })
	// The dataset starts empty; an RDB base replaces it whole.
	exec(func() { s.swapInDatabases(store.NewKeyspace(ndb).DBs) })
	var baseSize int64
	rp := &aofReplay{a: a, exec: exec}
	defer rp.close()
	defer func() {
		if rp.refused > 0 && t != nil {
			s.Log.Warningf("%d commands of the append only file were refused while loading: no replication position is taken from it", rp.refused)
			t.Replaced()
		}
	}()
	for i, fi := range files {
		last := i == len(files)-1
		path := a.inDir(fi.Name)
		start := time.Now()
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("fatal error: can't open the append log file %s for reading: %w", fi.Name, err)
		}
		st, _ := f.Stat()
		if fi.Type == aof.TypeBase {
			baseSize = st.Size()
		}
		if st.Size() == 0 {
			f.Close()
			continue
		}
		if t != nil {
			t.StartFile()
		}
		var r io.Reader = f
		if loaded != nil {
			r = &countingReader{r: f, n: loaded}
		}
		// Read through a buffer of rdb.LoadBufferSize, which the RDB
		// decoder uses as is: the commands after an RDB preamble (an old
		// single-file AOF) stay unread for aof.Load.
		br := bufio.NewReaderSize(r, rdb.LoadBufferSize)
		var commandsFrom int64
		if sig, _ := br.Peek(5); bytes.Equal(sig, []byte("REDIS")) {
			oldStyle := fi.Name == a.filename()
			if oldStyle {
				s.Log.Noticef("Reading RDB preamble from AOF file...")
			} else {
				s.Log.Noticef("Reading RDB base file on AOF loading...")
			}
			ks := store.NewKeyspace(ndb)
			var opt rdb.LoadOptions
			exec(func() { opt = a.s.persist().loadOptions() })
			// Keys already expired are kept, as rdbLoad with
			// RDBFLAGS_AOF_PREAMBLE: the commands after the base may
			// refer to them.
			opt.DropExpiredAt = 0
			res, err := rdb.LoadKeyspace(br, ks, opt)
			if err != nil {
				f.Close()
				if oldStyle {
					s.Log.Warningf("Error reading the RDB preamble of the AOF file %s, AOF loading aborted", fi.Name)
				} else {
					s.Log.Warningf("Error reading the RDB base file %s, AOF loading aborted", fi.Name)
				}
				return fmt.Errorf("can't load the RDB base file %s: %w", fi.Name, err)
			}
			exec(func() { a.s.persist().install(ks, res) })
			if t != nil {
				// Our base files carry no position: the head of the
				// incr file written with it does.
				t.Replaced()
			}
			if _, err := br.Peek(1); err != nil {
				f.Close()
				s.Log.Noticef("DB loaded from base file %s: %.3f seconds", fi.Name, time.Since(start).Seconds())
				continue
			}
			if oldStyle {
				s.Log.Noticef("Reading the remaining AOF tail...")
			}
			commandsFrom = res.Bytes
		}
		rp.name = fi.Name
		res := aof.Load(br, commandsFrom, loadTruncated, t, rp.apply)
		f.Close()
		if res.Status != aof.Failed {
			rp.flush()
		}
		kind := "incr"
		if fi.Type == aof.TypeBase {
			kind = "base"
		}
		switch res.Status {
		case aof.Loaded:
			s.Log.Noticef("DB loaded from %s file %s: %.3f seconds", kind, fi.Name, time.Since(start).Seconds())
		case aof.Truncated:
			if res.RevertedMulti {
				s.Log.Warningf("Revert incomplete MULTI/EXEC transaction in AOF file %s", fi.Name)
			}
			s.Log.Warningf("!!! Warning: short read while loading the AOF file %s!!!", fi.Name)
			s.Log.Warningf("!!! Truncating the AOF %s at offset %d !!!", fi.Name, res.ValidUpTo)
			if !last {
				s.Log.Warningf("Fatal error: the truncated file is not the last file")
				return fmt.Errorf("the truncated file %s is not the last file", fi.Name)
			}
			if err := os.Truncate(path, res.ValidUpTo); err != nil {
				s.Log.Warningf("Error truncating the AOF file %s: %v", fi.Name, err)
				return err
			}
			s.Log.Warningf("AOF %s loaded anyway because aof-load-truncated is enabled", fi.Name)
			total -= st.Size() - res.ValidUpTo
		default:
			var fe *aof.FormatError
			switch {
			case errors.Is(res.Err, aof.ErrTruncated):
				s.Log.Warningf("Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.", fi.Name)
			case errors.As(res.Err, &fe):
				s.Log.Warningf("Bad file format reading the append only file %s: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", fi.Name)
			}
			return fmt.Errorf("can't load the append only file %s: %w", fi.Name, res.Err)
		}
	}
	exec(func() {
		a.currentSize, a.baseSize = total, baseSize
	})
	return nil
}

// loadAtStartup loads the dataset from the AOF directory (appendonly yes:
// the AOF is preferred over the RDB, even when it does not exist). It runs
// off the executor while clients get -LOADING; false is a fatal error.
func (a *aofState) loadAtStartup() bool {
	s := a.s
	start := time.Now()
	p := s.persist()
	s.Exec(func() {
		s.Loading = true
		p.loadStartUnix, p.loadTotalBytes = start.Unix(), 0
		p.loadedBytes.Store(0)
	})
	fatal := func(err error) bool {
		s.Log.Warningf("Fatal error loading the DB from the append only file: %v. Exiting.", err)
		s.Exec(func() {
			s.Loading = false
			s.exitCode = 1
		})
		return false
	}
	m, err := a.readManifestLogged()
	if err != nil {
		return fatal(err)
	}
	if m, err = a.upgradeOldAOF(m); err != nil {
		return fatal(err)
	}
	var pos aof.Tracker
	err = a.loadFiles(m, s.Exec, &p.loadedBytes, &pos)
	if err != nil && !errors.Is(err, errAOFNotExist) {
		return fatal(err)
	}
	if errors.Is(err, errAOFNotExist) {
		var dump string
		s.Exec(func() { dump = p.dumpPath() })
		if _, serr := os.Stat(dump); serr == nil {
			// Redis does the same, silently: say it, since the dump's
			// keys are not loaded.
			s.Log.Warningf("appendonly is yes and there is no append only file: starting with an empty dataset; %s is NOT loaded (as in Redis). Turn the AOF on with CONFIG SET appendonly yes on a running server to keep the data.", dump)
		}
	}
	s.Exec(func() {
		a.manifest = m
		s.Loading = false
		if err == nil {
			s.Log.Noticef("DB loaded from append only file: %.3f seconds", time.Since(start).Seconds())
			if at := pos.Position(); at.Known {
				// As loadDataFromDisk does with an RDB's repl-id and
				// repl-offset.
				s.Log.Noticef("Replication position from the append only file: replid %s offset %d", at.ReplID, at.Offset)
				if r, ok := any(s).(replInfoRestorer); ok {
					r.RestoreReplicationInfo(at.ReplID, at.Offset, at.DB)
				}
			}
		}
		s.Dirty = 0
		a.deleteHistory()
	})
	return true
}

// readManifestLogged is readManifest logging a bad manifest as
// aofLoadManifestFromFile does before it exits.
func (a *aofState) readManifestLogged() (*aof.Manifest, error) {
	m, err := a.readManifest()
	var me *aof.ManifestError
	if errors.As(err, &me) {
		a.s.Log.Warningf("*** FATAL AOF MANIFEST FILE ERROR ***")
		if me.Line > 0 {
			a.s.Log.Warningf("Reading the manifest file, at line %d", me.Line)
			a.s.Log.Warningf(">>> '%s'", me.Text)
		}
		a.s.Log.Warningf("%s", me.Msg)
	}
	return m, err
}

// loadManifestOnly reads the manifest at startup with the AOF off
// (aofLoadManifestFromDisk runs either way) and deletes history files;
// false is a fatal error, as in Redis.
func (a *aofState) loadManifestOnly() bool {
	m, err := a.readManifestLogged()
	if err != nil {
		a.s.Log.Warningf("Fatal error loading the AOF manifest: %v. Exiting.", err)
		a.s.Exec(func() {
			a.s.Loading = false
			a.s.exitCode = 1
		})
		return false
	}
	a.s.Exec(func() {
		a.manifest = m
		a.deleteHistory()
	})
	return true
}

// swapInDatabases replaces every database, invalidating WATCH and client
// side caches as emptyData does.
func (s *Server) swapInDatabases(dbs []*store.DB) {
	for i := range s.Keyspace.DBs {
		s.touchAllWatchedKeysInDB(i, -1)
		s.Keyspace.DBs[i] = dbs[i]
		s.touchAllWatchedKeysInDB(i, -1)
	}
	s.trackingInvalidateKeysOnFlush()
}

// ---------------------------------------------------------------- commands, INFO

func init() {
	register(&Command{Name: "bgrewriteaof", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading, Group: "server", Handler: bgrewriteaofCommand})
	registerDebug("loadaof", debugLoadAOFCommand)
}

// bgrewriteaofCommand is BGREWRITEAOF.
func bgrewriteaofCommand(ctx *Ctx) {
	a := ctx.S.aofLayer()
	a.collectRewrite(false)
	switch {
	case a.job != nil:
		ctx.Error("ERR Background append only file rewriting already in progress")
	case a.childActive() || ctx.C.callDepth > 1:
		a.scheduled = true
		a.consecutiveFailures = 0
		ctx.W.SimpleString("Background append only file rewriting scheduled")
	default:
		if err := a.startRewrite(); err != nil {
			ctx.Error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
			return
		}
		ctx.W.SimpleString("Background append only file rewriting started")
	}
}

// debugLoadAOFCommand is DEBUG LOADAOF: write out the buffer, then load
// the AOF directory again in place of the dataset. Unlike Redis, which
// exits when that fails, a failed load puts the previous dataset back.
func debugLoadAOFCommand(ctx *Ctx) {
	s := ctx.S
	a := s.aofLayer()
	if a.state == aofOn {
		a.flush()
	}
	m, err := a.readManifest()
	if err == nil {
		a.manifest = m
		a.deleteHistory()
		old := append([]*store.DB(nil), s.Keyspace.DBs...)
		loading := s.Loading
		s.Loading = true
		// DEBUG LOADAOF leaves replication as it is, as in Redis.
		err = a.loadFiles(m, func(fn func()) { fn() }, nil, nil)
		s.Loading = loading
		if err != nil && !errors.Is(err, errAOFNotExist) {
			s.swapInDatabases(old)
		} else {
			err = nil
		}
	}
	if err != nil {
		s.Log.Warningf("%v", err)
		ctx.Error("ERR Error trying to load the AOF files, check server logs.")
		return
	}
	s.Dirty = 0
	s.Log.Noticef("Append Only File loaded by DEBUG LOADAOF")
	ctx.W.OK()
}

// info appends the aof_* fields of INFO persistence, after the rdb ones.
func (a *aofState) info(line func(k string, v any), now int64) {
	inProgress, current := 0, int64(-1)
	if a.job != nil {
		inProgress, current = 1, (now-a.job.startMs)/1000
	}
	okErr := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "err"
	}
	enabled := 0
	if a.state != aofOff {
		enabled = 1
	}
	scheduled := 0
	if a.scheduled {
		scheduled = 1
	}
	line("aof_enabled", enabled)
	line("aof_rewrite_in_progress", inProgress)
	line("aof_rewrite_scheduled", scheduled)
	line("aof_last_rewrite_time_sec", a.lastRewriteSecs)
	line("aof_current_rewrite_time_sec", current)
	line("aof_last_bgrewrite_status", okErr(a.lastRewriteOK))
	line("aof_rewrites", a.rewrites)
	line("aof_rewrites_consecutive_failures", a.consecutiveFailures)
	line("aof_last_write_status", okErr(a.lastWriteOK && !a.bio.failed.Load()))
	line("aof_last_cow_size", 0)
}

// infoExtra is the block Redis adds when appendonly is configured yes.
func (a *aofState) infoExtra(line func(k string, v any)) {
	if !a.s.Config.Bool("appendonly") {
		return
	}
	line("aof_current_size", a.currentSize)
	line("aof_base_size", a.baseSize)
	scheduled := 0
	if a.scheduled {
		scheduled = 1
	}
	line("aof_pending_rewrite", scheduled)
	line("aof_buffer_length", len(a.buf))
	line("aof_pending_bio_fsync", a.bio.pending.Load())
	// Writes are never postponed behind a running fsync here (Redis's
	// aof_flush_postponed_start), so none is ever delayed.
	line("aof_delayed_fsync", 0)
}
