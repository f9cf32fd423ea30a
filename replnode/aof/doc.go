// Package aof owns the formats of Redis 7.0's multi-part append-only file:
// the manifest (appendonlydir/<appendfilename>.manifest, one
// `file <name> seq <n> type <b|h|i>` line per file, quoted as aof.c's
// sdscatrepr / sdssplitargs do), the names of base, incremental and
// temporary files, the command stream written to incremental files (SELECT
// when the database changes, #TS: annotations, commands in RESP as
// catAppendOnlyGenericCommand writes them), the plain-RESP form of a base
// file (aof-use-rdb-preamble no), and reading a file back command by
// command with the verdict aof.c's loadSingleAppendOnlyFile reaches: loaded,
// truncated at the last complete command (torn tail, unfinished MULTI) or a
// format error.
//
// It also carries what Redis 7.0's AOF lacks and its RDB has: the
// replication ID and offset the data stands at, as '#RP' annotation lines
// that redis-server and redis-check-aof skip (position.go). The feed writes
// them where counting bytes would not arrive at the position handed in;
// the loader follows them (Tracker) to the exact position of the data kept,
// torn tail included.
//
// It is pure: it reads and writes through io.Reader / io.Writer and byte
// slices and never opens files, fsyncs or takes the time. Package server
// does the file I/O, the fsync policy (appendfsync), background rewrites
// and replaying commands.
//
// It also decides, with the time and sizes handed in, when an automatic
// rewrite is due and when failed rewrites hold the next one back
// (policy.go).
//
// Files: manifest.go (manifest, names, quoting), feed.go (what is appended
// for each propagated command), position.go (replication position
// annotations and Tracker), reader.go (reading and the load verdict),
// rewrite.go (a snapshot as commands), policy.go (rewrite timing).
package aof
