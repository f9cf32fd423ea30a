package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/replnode/replnode/replnode/rdb"
	"github.com/replnode/replnode/replnode/store"
)

// ------ RDB PERSISTENCE ------
//
// SAVE writes the dump on the executor, like Redis's foreground save.
// BGSAVE takes copy-on-write snapshots of every database on the executor
// (cheap: pointers only), encodes them from a goroutine while clients keep
// writing, and the cron collects the result on the executor, where the
// snapshots are released: the same shape as Redis's fork + checkChildrenDone.
// The dump file is replaced atomically (see writeDumpFile).

// persistState is the persistence layer of one Server. All fields belong to
// the executor except inside a bgsaveJob, as noted there.
type persistState struct {
	s *Server

	job *bgsaveJob // running background save, nil when none
	// bgsaveScheduled is BGSAVE SCHEDULE while an AOF rewrite runs
	// (rdb_bgsave_scheduled): the cron starts it when the rewrite ends.
	bgsaveScheduled bool

	lastBgsaveOK bool
	// aof caches the append-only layer for writeError, which runs on
	// every write command: aofLayer takes a lock and a map lookup (5% of
	// a pipelined INCR's dispatch in the Go profile).
	aof             *aofState
	lastTryMs       int64 // last background save attempt (unix ms)
	lastBgsaveSecs  int64 // duration of the last background save, -1 before any
	saves           int64 // successful saves (rdb_saves)
	lastLoadLoaded  int64
	lastLoadExpired int64

	// The startup load's progress for INFO (loading_*): start (unix s) and
	// size are set on the executor before it starts, the loader goroutine
	// counts bytes and records the file's used-mem.
	loadStartUnix  int64
	loadTotalBytes int64
	loadedBytes    atomic.Int64
	loadRDBUsedMem atomic.Int64
}

// bgsaveJob is one background save. The goroutine writes err and closes
// done; everything else is set on the executor before it starts.
type bgsaveJob struct {
	startMs     int64
	dirtyBefore int64
	snaps       []*store.Snapshot
	keysTotal   int64
	keysDone    atomic.Int64 // written by the goroutine, read by INFO
	cancel      atomic.Bool  // set by the executor to abandon the save
	done        chan struct{}
	err         error
}

var persistStates layerTable[persistState]

// persist returns the persistence layer of s.
func (s *Server) persist() *persistState {
	return persistStates.get(s)
}

// init installs the persistence layer on every new server.
func init() { onNewServer(initPersistence) }

// initPersistence installs the persistence layer on a new server: startup
// load, save points in the cron, save on shutdown and the MISCONF check.
func initPersistence(s *Server) {
	p := &persistState{s: s, lastBgsaveOK: true, lastBgsaveSecs: -1}
	persistStates.set(s, p)
	s.LastSaveUnix = s.clock() / 1000
	s.OnStartupLoad(p.loadAtStartup)
	s.OnCron(p.cron)
	s.ShutdownHook = p.shutdownHook
	s.WriteError = p.writeError
	if f, ok := any(s).(flushAllNotifier); ok {
		f.OnFlushAll(p.afterFlushAll)
	}
}

// flushAllNotifier is the FLUSHALL hook of the keyspace commands
// (t_keys.go), reached through an interface like the replication methods.
type flushAllNotifier interface {
	OnFlushAll(fn func())
}

// afterFlushAll is flushAllDataAndResetRDB's persistence part: a running
// background save is abandoned (it would resurrect the data), and with save
// points configured the now empty data set is saved at once. The dirty
// counter ends at 1 as in Redis, so the FLUSHALL itself counts as a change.
func (p *persistState) afterFlushAll() {
	s := p.s
	if p.job != nil {
		p.killBgsave()
	}
	if len(s.Config.SaveParams()) > 0 {
		_ = p.saveNow() // failures are logged; FLUSHALL still succeeds, as in Redis
		s.Dirty++
	}
}

// The replication layer (repl_rdbinfo.go) supplies these methods on
// Server; the persistence code reaches them through interfaces so that it
// does not depend on that file being present.
type (
	// replAuxFiller fills the repl-id, repl-offset and repl-stream-db
	// AUX fields of a save made now (rdbPopulateSaveInfo).
	replAuxFiller interface {
		ReplicationAuxInfo(info *rdb.AuxInfo)
	}
	// replInfoRestorer takes back the replication position stored in the
	// dump loaded at startup.
	replInfoRestorer interface {
		RestoreReplicationInfo(replID string, offset int64, streamDB int)
	}
)

var errSaveCanceled = errors.New("background save canceled")

// ---------------------------------------------------------------- paths and options

// dumpPath is dir/dbfilename. The process has chdir'd into dir at startup
// (as redis-server does), so a relative dir means the current directory.
func (p *persistState) dumpPath() string {
	name := p.s.Config.String("dbfilename")
	if dir := p.s.Config.String("dir"); filepath.IsAbs(dir) {
		return filepath.Join(dir, name)
	}
	return name
}

// encodeOptions are rdbcompression and rdbchecksum.
func (p *persistState) encodeOptions() rdb.Options {
	return rdb.Options{Compress: p.s.Config.Bool("rdbcompression"), Checksum: p.s.Config.Bool("rdbchecksum")}
}

// auxInfo is the AUX content of a save made now, replication info included.
func (p *persistState) auxInfo() rdb.AuxInfo {
	info := rdb.AuxInfo{RedisVer: Version, CTime: p.s.clock() / 1000, UsedMem: p.s.usedMemory.Load(), Functions: p.s.functionCodes()}
	if r, ok := any(p.s).(replAuxFiller); ok {
		r.ReplicationAuxInfo(&info)
	}
	return info
}

// snapshotAll freezes every database.
func (p *persistState) snapshotAll() []*store.Snapshot {
	snaps := make([]*store.Snapshot, len(p.s.Keyspace.DBs))
	for i, db := range p.s.Keyspace.DBs {
		snaps[i] = db.Snapshot()
	}
	return snaps
}

// keySaveDelay is rdb-key-save-delay (microseconds slept per key written),
// Redis's testing knob for slow saves; 0 when the directive is unknown.
func (p *persistState) keySaveDelay() time.Duration {
	v, ok := p.s.Config.Get("rdb-key-save-delay")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.Duration(n) * time.Microsecond
}

// writeSnapshots encodes snaps to w, honouring cancel and the per-key delay.
func writeSnapshots(w io.Writer, snaps []*store.Snapshot, info rdb.AuxInfo, opt rdb.Options, delay time.Duration, job *bgsaveJob) error {
	return rdb.WriteSnapshotFunc(w, snaps, info, opt, func() error {
		if job != nil {
			if job.cancel.Load() {
				return errSaveCanceled
			}
			job.keysDone.Add(1)
		}
		if delay > 0 {
			time.Sleep(delay)
		}
		return nil
	})
}

// ---------------------------------------------------------------- foreground save

// saveNow writes the dump on the executor (SAVE, shutdown, DEBUG RELOAD).
// On success the dirty counter and LASTSAVE are reset, as rdbSave does.
func (p *persistState) saveNow() error {
	s := p.s
	snaps := p.snapshotAll()
	defer func() {
		for _, sn := range snaps {
			sn.Release()
		}
	}()
	info, opt := p.auxInfo(), p.encodeOptions()
	err := writeDumpFile(p.dumpPath(), func(w io.Writer) error {
		return writeSnapshots(w, snaps, info, opt, 0, nil)
	})
	if err != nil {
		s.Log.Warningf("%v", err)
		return err
	}
	s.Log.Noticef("DB saved on disk")
	s.Dirty = 0
	s.LastSaveUnix = s.clock() / 1000
	p.lastBgsaveOK = true
	p.saves++
	return nil
}

// ---------------------------------------------------------------- background save

// startBgsave starts a background save. The caller checked that none runs.
func (p *persistState) startBgsave() {
	s := p.s
	now := s.clock()
	job := &bgsaveJob{startMs: now, dirtyBefore: s.Dirty, snaps: p.snapshotAll(), done: make(chan struct{})}
	for _, sn := range job.snaps {
		job.keysTotal += int64(sn.Len())
	}
	p.job, p.lastTryMs = job, now
	info, opt, delay, path := p.auxInfo(), p.encodeOptions(), p.keySaveDelay(), p.dumpPath()
	s.Log.Noticef("Background saving started")
	go func() {
		defer close(job.done)
		// A panic fails the save, as a crashed child fails Redis's.
		job.err = s.protect("the background save", func() error {
			return writeDumpFile(path, func(w io.Writer) error {
				return writeSnapshots(w, job.snaps, info, opt, delay, job)
			})
		})
	}()
}

// collectBgsave finishes a completed background save on the executor:
// releases the snapshots and records the outcome. It reports whether a job
// was collected.
func (p *persistState) collectBgsave(wait bool) bool {
	job := p.job
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
	s := p.s
	for _, sn := range job.snaps {
		sn.Release()
	}
	p.job = nil
	now := s.clock()
	p.lastBgsaveSecs = (now - job.startMs) / 1000
	switch {
	case errors.Is(job.err, errSaveCanceled):
		// An intentional stop (Redis kills its child with SIGUSR1) is not a
		// failure: the status, and so MISCONF, stay as they were.
		s.Log.Warningf("Background saving terminated by signal 10")
	case job.err != nil:
		s.Log.Warningf("%v", job.err)
		s.Log.Warningf("Background saving error")
		p.lastBgsaveOK = false
	default:
		s.Log.Noticef("Background saving terminated with success")
		s.Dirty -= job.dirtyBefore
		s.LastSaveUnix = now / 1000
		p.lastBgsaveOK = true
		p.saves++
	}
	return true
}

// killBgsave abandons a running background save and waits for its
// goroutine, which removes its temporary file.
func (p *persistState) killBgsave() {
	if p.job == nil {
		return
	}
	p.job.cancel.Store(true)
	p.collectBgsave(true)
}

// ---------------------------------------------------------------- cron, shutdown, MISCONF

// cron collects a finished background save and starts one when a save
// point is due or one was scheduled (serverCron).
func (p *persistState) cron(nowMs int64) {
	s := p.s
	p.collectBgsave(false)
	if p.job != nil || s.aofLayer().job != nil {
		// One background job at a time, as Redis's single child.
		return
	}
	if p.bgsaveScheduled {
		p.bgsaveScheduled = false
		p.startBgsave()
		return
	}
	var points []savePoint
	for _, sp := range s.Config.SaveParams() {
		points = append(points, savePoint{Seconds: sp[0], Changes: sp[1]})
	}
	st := saveClock{Dirty: s.Dirty, LastSaveMs: s.LastSaveUnix * 1000, LastTryMs: p.lastTryMs, LastBgsaveOK: p.lastBgsaveOK}
	if sp, due := dueSavePoint(points, st, nowMs); due {
		s.Log.Noticef("%d changes in %d seconds. Saving...", sp.Changes, sp.Seconds)
		p.startBgsave()
	}
}

// shutdownHook is the persistence part of SHUTDOWN: stop a running
// background save, then save in the foreground when asked.
func (p *persistState) shutdownHook(save bool) error {
	p.s.aofLayer().shutdown()
	if p.job != nil {
		p.s.Log.Warningf("There is a child saving an .rdb. Killing it!")
		p.killBgsave()
	}
	if !save {
		return nil
	}
	p.s.Log.Noticef("Saving the final RDB snapshot before exiting.")
	return p.saveNow()
}

// misconfError is Redis's shared.bgsaveerr.
const misconfError = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
	"Commands that may modify the data set are disabled, because this instance is configured to report errors during writes " +
	"if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

// writeError refuses writes after a failed background save when
// stop-writes-on-bgsave-error is set and save points are configured.
func (p *persistState) writeError() string {
	// Checked on every write command: test the cheap flag first so the
	// common case (the last save succeeded) never parses configuration.
	if p.aof == nil {
		p.aof = p.s.aofLayer() // installed once with the server, never replaced
	}
	if p.lastBgsaveOK {
		return p.aof.writeError()
	}
	s := p.s
	if s.Config.Bool("stop-writes-on-bgsave-error") && len(s.Config.SaveParams()) > 0 {
		return misconfError
	}
	return p.aof.writeError()
}

// ---------------------------------------------------------------- loading

// loadAtStartup loads dir/dbfilename while the server already accepts
// clients, as redis-server does: it runs WITHOUT the executor lock, so
// clients are answered meanwhile, with -LOADING for every command not
// flagged loading (Server.Loading). It returns false after a fatal error
// (logged as Redis logs it, exit code 1): the file is left as it is, so
// nothing is lost, and the caller must stop without saving.
func (p *persistState) loadAtStartup() bool {
	s := p.s
	if s.Config.Bool("appendonly") {
		// The AOF, when on, is the dataset; the dump is not read.
		return s.aofLayer().loadAtStartup()
	}
	// The manifest is read even with the AOF off, as redis-server does, so
	// a BGREWRITEAOF or CONFIG SET appendonly yes continues its sequence.
	if !s.aofLayer().loadManifestOnly() {
		return false
	}
	var path string
	var ndb int
	var opt rdb.LoadOptions
	start := time.Now()
	s.Exec(func() {
		s.Loading = true
		path, ndb, opt = p.dumpPath(), len(s.Keyspace.DBs), p.loadOptions()
		p.loadStartUnix, p.loadTotalBytes = start.Unix(), 0
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			p.loadTotalBytes = fi.Size()
		}
		p.loadedBytes.Store(0)
		p.loadRDBUsedMem.Store(0)
	})
	logAux := opt.OnAux
	opt.OnAux = func(k, v string) {
		if k == "used-mem" {
			n, _ := strconv.ParseInt(v, 10, 64)
			p.loadRDBUsedMem.Store(n)
		}
		logAux(k, v)
	}
	ks, res, found, err := loadDumpFileCounting(path, ndb, opt, &p.loadedBytes)
	ok := true
	s.Exec(func() {
		defer func() { s.Loading = false }()
		if err != nil {
			logFatalLoadError(s.Log, err)
			s.exitCode = 1
			ok = false
			return
		}
		if !found {
			return
		}
		p.install(ks, res)
		s.Log.Noticef("DB loaded from disk: %.3f seconds", time.Since(start).Seconds())
		if id, off, ok, _ := replInfoFromAux(res.Aux); ok {
			// Without repl-stream-db the info is not used, as Redis's
			// rsi.repl_stream_db stays -1 (RestoreReplicationInfo).
			streamDB := -1
			if v, has := res.Aux["repl-stream-db"]; has {
				streamDB, _ = strconv.Atoi(v)
			}
			if r, ok := any(s).(replInfoRestorer); ok {
				r.RestoreReplicationInfo(id, off, streamDB)
			}
		}
	})
	return ok
}

// logFatalLoadError logs a dump that does not load with the lines
// redis-server 7.0 prints before exit(1): "Short read..." for a truncated
// file, "Wrong RDB checksum..." for a bad trailer, then the "Internal error
// in RDB reading offset" line that tools and people grep for.
func logFatalLoadError(log *Logger, err error) {
	var fe *rdb.FormatError
	if !errors.As(err, &fe) {
		// Not a format problem: the file could not be opened or read.
		log.Warningf("Fatal error loading the DB: %v. Exiting.", err)
		return
	}
	var ce *rdb.ChecksumError
	switch {
	case errors.Is(err, rdb.ErrTruncated):
		log.Warningf("Short read or OOM loading DB. Unrecoverable error, aborting now.")
		log.Warningf("Internal error in RDB reading offset 0, function at rdb.c:0 -> Unexpected EOF reading RDB file (%v)", err)
	case errors.As(err, &ce):
		log.Warningf("Wrong RDB checksum expected: (%016x) but got (%016x). Aborting now.", ce.Computed, ce.Stored)
		log.Warningf("Internal error in RDB reading offset %d, function at rdb.c:0 -> RDB CRC error (%v)", fe.Offset, err)
	default:
		log.Warningf("Internal error in RDB reading offset %d, function at rdb.c:0 -> %v", fe.Offset, err)
	}
}

// logLoadAux logs what a dump says about itself as its AUX fields are
// read, before the keys load, as Redis's rdbLoad does. nowMs is when the
// load began.
func logLoadAux(log *Logger, k, v string, nowMs int64) {
	switch k {
	case "redis-ver":
		log.Noticef("Loading RDB produced by version %s", v)
	case "ctime":
		if ct, err := strconv.ParseInt(v, 10, 64); err == nil {
			log.Noticef("RDB age %d seconds", nowMs/1000-ct)
		}
	case "used-mem":
		if um, err := strconv.ParseInt(v, 10, 64); err == nil {
			log.Noticef("RDB memory usage when created %.2f Mb", float64(um)/(1024*1024))
		}
	}
}

// loadOptions are the options of loading the dump: expired keys are
// dropped on a master and kept on a replica, as rdbLoad does.
func (p *persistState) loadOptions() rdb.LoadOptions {
	s := p.s
	now := s.clock()
	opt := rdb.LoadOptions{Notice: func(m string) { s.Log.Warningf("%s", m) }, Limits: s.limits,
		OnAux: func(k, v string) { logLoadAux(s.Log, k, v, now) }}
	// At startup the replication layer may not have applied `replicaof`
	// yet, so the directive counts as well.
	_, _, replicaByConfig := s.Config.ReplicaOf()
	if !s.IsReplica() && !replicaByConfig {
		opt.DropExpiredAt = s.clock() - 1 // keys expiring strictly before now
	}
	return opt
}

// loadInto loads path into a fresh keyspace and, only if that succeeds,
// replaces the server's databases with it (DEBUG RELOAD, on the executor).
func (p *persistState) loadInto(path string) (rdb.KeyspaceResult, bool, error) {
	s := p.s
	s.Loading = true
	defer func() { s.Loading = false }()
	ks, res, found, err := loadDumpFile(path, len(s.Keyspace.DBs), p.loadOptions())
	if err != nil || !found {
		return res, found, err
	}
	p.install(ks, res)
	return res, true, nil
}

// install replaces the server's databases with a loaded keyspace and logs
// the count, as rdbLoad does. Runs on the executor.
func (p *persistState) install(ks *store.Keyspace, res rdb.KeyspaceResult) {
	s := p.s
	// WATCHed keys that existed before or exist after the load are
	// invalidated, and tracking clients get the flush message, as
	// emptyData's flush signal does in Redis.
	for i := range s.Keyspace.DBs {
		s.touchAllWatchedKeysInDB(i, -1)
		s.Keyspace.DBs[i] = ks.DBs[i]
		s.touchAllWatchedKeysInDB(i, -1)
	}
	s.trackingInvalidateKeysOnFlush()
	s.restoreFunctions(res.Functions)
	p.lastLoadLoaded, p.lastLoadExpired = res.Keys-res.Expired, res.Expired
	s.Log.Noticef("Done loading RDB, keys loaded: %d, keys expired: %d.", p.lastLoadLoaded, p.lastLoadExpired)
}

// mergeFrom loads path and adds its keys to the current data set. A key
// present on both sides is replaced when allowDup is set and is an error
// otherwise, detected before anything changes.
func (p *persistState) mergeFrom(path string, allowDup bool) error {
	s := p.s
	s.Loading = true
	defer func() { s.Loading = false }()
	ks, _, found, err := loadDumpFile(path, len(s.Keyspace.DBs), rdb.LoadOptions{Notice: func(m string) { s.Log.Warningf("%s", m) }, Limits: s.limits})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no RDB file at %s", path)
	}
	for i, db := range ks.DBs {
		var dup string
		db.ForEach(func(k string, _ store.Value, _ int64, _ bool) bool {
			if _, ok := s.Keyspace.DBs[i].Peek(k); ok && !allowDup {
				dup = k
				return false
			}
			return true
		})
		if dup != "" {
			return fmt.Errorf("RDB has duplicated key '%s' in DB %d", dup, i)
		}
	}
	for i, db := range ks.DBs {
		target := s.Keyspace.DBs[i]
		db.ForEach(func(k string, v store.Value, exp int64, has bool) bool {
			target.Adopt(k, v, false)
			if has {
				target.SetExpireAt(k, exp)
			}
			return true
		})
	}
	return nil
}

// ---------------------------------------------------------------- INFO

// PersistenceInfo returns the body of INFO's "# Persistence" section, with
// Redis 7.0's fields in its order. Runs on the executor.
func (s *Server) PersistenceInfo() string {
	p := s.persist()
	now := s.clock()
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	inProgress, current, processed, total := 0, int64(-1), int64(0), int64(0)
	if p.job != nil {
		inProgress, current = 1, (now-p.job.startMs)/1000
		processed, total = p.job.keysDone.Load(), p.job.keysTotal
	}
	status := "ok"
	if !p.lastBgsaveOK {
		status = "err"
	}
	loading := 0
	if s.Loading {
		loading = 1
	}
	line("loading", loading)
	line("async_loading", 0)
	line("current_cow_peak", 0)
	line("current_cow_size", 0)
	line("current_cow_size_age", 0)
	line("current_fork_perc", "0.00")
	line("current_save_keys_processed", processed)
	line("current_save_keys_total", total)
	line("rdb_changes_since_last_save", s.Dirty)
	line("rdb_bgsave_in_progress", inProgress)
	line("rdb_last_save_time", s.LastSaveUnix)
	line("rdb_last_bgsave_status", status)
	line("rdb_last_bgsave_time_sec", p.lastBgsaveSecs)
	line("rdb_current_bgsave_time_sec", current)
	line("rdb_saves", p.saves)
	line("rdb_last_cow_size", 0)
	line("rdb_last_load_keys_expired", p.lastLoadExpired)
	line("rdb_last_load_keys_loaded", p.lastLoadLoaded)
	a := s.aofLayer()
	a.info(line, now)
	line("module_fork_in_progress", 0)
	line("module_fork_last_cow_size", 0)
	a.infoExtra(line)
	if s.Loading {
		p.loadingInfo(line)
	}
	return b.String()
}

// loadingInfo adds the loading_* fields INFO persistence shows while the
// dataset loads, computed as Redis 7.0's genRedisInfoString does.
func (p *persistState) loadingInfo(line func(k string, v any)) {
	loaded := p.loadedBytes.Load()
	perc, remaining := 0.0, int64(1)
	if p.loadTotalBytes > 0 {
		perc = float64(loaded) / float64(p.loadTotalBytes+1) * 100
		remaining = p.loadTotalBytes - loaded
	}
	elapsed := p.s.clock()/1000 - p.loadStartUnix
	eta := int64(1) // Redis's figure when no time has passed yet
	if elapsed != 0 {
		eta = elapsed * remaining / (loaded + 1)
	}
	line("loading_start_time", p.loadStartUnix)
	line("loading_total_bytes", p.loadTotalBytes)
	line("loading_rdb_used_mem", p.loadRDBUsedMem.Load())
	line("loading_loaded_bytes", loaded)
	line("loading_loaded_perc", fmt.Sprintf("%.2f", perc))
	line("loading_eta_seconds", eta)
}

// ---------------------------------------------------------------- SAVE BGSAVE LASTSAVE

// init registers SAVE, BGSAVE and LASTSAVE.
func init() {
	register(
		&Command{Name: "save", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading | FlagNoMulti, Group: "server", Handler: saveCommand},
		&Command{Name: "bgsave", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading, Group: "server", Handler: bgsaveCommand},
		&Command{Name: "lastsave", Arity: 1, Flags: FlagLoading | FlagStale | FlagFast, Group: "server", Handler: lastsaveCommand},
	)
}

// saveCommand is SAVE: a foreground save, refused while a background save
// runs.
func saveCommand(ctx *Ctx) {
	p := ctx.S.persist()
	p.collectBgsave(false)
	if p.job != nil {
		ctx.Error("ERR Background save already in progress")
		return
	}
	if err := p.saveNow(); err != nil {
		ctx.Error("ERR")
		return
	}
	ctx.W.OK()
}

// bgsaveCommand is BGSAVE [SCHEDULE]: refused while an AOF rewrite runs,
// or with SCHEDULE started by the cron once it is done.
func bgsaveCommand(ctx *Ctx) {
	if len(ctx.Args) > 2 || len(ctx.Args) == 2 && !ctx.ArgIs(1, "schedule") {
		ctx.Error(ErrSyntax)
		return
	}
	p := ctx.S.persist()
	p.collectBgsave(false)
	if p.job != nil {
		ctx.Error("ERR Background save already in progress")
		return
	}
	if a := ctx.S.aofLayer(); a.job != nil {
		a.collectRewrite(false)
	}
	if ctx.S.aofLayer().job != nil {
		if len(ctx.Args) == 2 {
			p.bgsaveScheduled = true
			ctx.W.SimpleString("Background saving scheduled")
			return
		}
		ctx.Error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
		return
	}
	p.startBgsave()
	ctx.W.SimpleString("Background saving started")
}

// lastsaveCommand is LASTSAVE: the unix time of the last successful save.
func lastsaveCommand(ctx *Ctx) { ctx.W.Int(ctx.S.LastSaveUnix) }
