package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/replnode/replnode/replnode/store"
)

// ErrBadDumpPayload is RESTORE's "DUMP payload version or checksum are
// wrong".
var ErrBadDumpPayload = errors.New("DUMP payload version or checksum are wrong")

// dumpFooterSize is the RDB version (2 bytes) plus the CRC64 (8 bytes).
const dumpFooterSize = 10

// ParseDumpPayload verifies a DUMP payload (version not newer than ours,
// CRC64 matching) and decodes its value. A failed verification returns
// ErrBadDumpPayload; a payload that verifies but does not decode returns a
// *FormatError.
func ParseDumpPayload(p []byte) (store.Value, error) { return ParseDumpPayloadWith(p, nil) }

// ParseDumpPayloadWith is ParseDumpPayload creating hashes, sets and sorted
// sets with a node's encoding thresholds (nil: store.DefaultLimits), as
// RESTORE does.
func ParseDumpPayloadWith(p []byte, lim *store.Limits) (store.Value, error) {
	if len(p) < dumpFooterSize+1 {
		return nil, ErrBadDumpPayload
	}
	footer := p[len(p)-dumpFooterSize:]
	if binary.LittleEndian.Uint16(footer) > Version {
		return nil, ErrBadDumpPayload
	}
	if CRC64(0, p[:len(p)-8]) != binary.LittleEndian.Uint64(footer[2:]) {
		return nil, ErrBadDumpPayload
	}
	// The value is read from the whole payload, footer included, and
	// what follows it is not looked at: Redis's restoreCommand does the
	// same (a string whose length reaches into the footer loads), and
	// RESTORE must accept what it accepts.
	d := &decoder{r: bufio.NewReader(bytes.NewReader(p)), h: &Handler{Limits: lim}, version: Version}
	t, err := d.byte()
	if err != nil {
		return nil, err
	}
	if !isValueType(t) {
		return nil, d.fail(0, "unknown value type %d", t)
	}
	v, err := d.value(0, t)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, d.fail(0, "empty value")
	}
	return v, nil
}

// ---------------------------------------------------------------- keyspace loading

// LoadOptions tune LoadKeyspace.
type LoadOptions struct {
	// DropExpiredAt, when non-zero, drops keys whose expiry time is at or
	// before it (unix ms): a master loading its own file does this, a
	// replica loading its master's payload does not.
	DropExpiredAt int64
	// Notice receives lines about skipped content, for the log.
	Notice func(msg string)
	// Limits are the encoding thresholds of the loaded values (nil:
	// store.DefaultLimits).
	Limits *store.Limits
	// OnAux, when set, sees each AUX field as it is read (the server
	// reports used-mem in INFO while the rest still loads).
	OnAux func(key, value string)
}

// KeyspaceResult is what LoadKeyspace learned besides the keys.
type KeyspaceResult struct {
	Result
	Aux     map[string]string
	Expired int64 // keys dropped by DropExpiredAt
	// Functions are the FUNCTION libraries' codes the file holds.
	Functions [][]byte
}

// LoadKeyspace decodes a complete RDB stream into ks, whose databases must
// be empty (the caller loads into a fresh keyspace and swaps it in only on
// success, so a failed load loses nothing). A database number beyond ks or a
// key present twice is an error.
func LoadKeyspace(r io.Reader, ks *store.Keyspace, opt LoadOptions) (KeyspaceResult, error) {
	out := KeyspaceResult{Aux: map[string]string{}}
	h := Handler{
		Aux: func(k, v string) error {
			out.Aux[k] = v
			if opt.OnAux != nil {
				opt.OnAux(k, v)
			}
			return nil
		},
		Function: func(code []byte) error {
			out.Functions = append(out.Functions, bytes.Clone(code))
			return nil
		},
		SelectDB: func(db int) error {
			if db >= len(ks.DBs) {
				return fmt.Errorf("the file selects database %d but this server has %d databases (raise 'databases')", db, len(ks.DBs))
			}
			return nil
		},
		ResizeDB: func(db int, keys, _ uint64) error {
			if db < len(ks.DBs) {
				ks.DBs[db].Reserve(int(min(keys, math.MaxInt32)))
			}
			return nil
		},
		Entry: func(e *Entry) error {
			if e.DB >= len(ks.DBs) {
				return fmt.Errorf("key %q is in database %d but this server has %d databases", e.Key, e.DB, len(ks.DBs))
			}
			if e.HasExpire && opt.DropExpiredAt != 0 && e.ExpireAt <= opt.DropExpiredAt {
				out.Expired++
				return nil
			}
			db := ks.DBs[e.DB]
			if !db.AdoptNew(e.Key, e.Value) {
				return fmt.Errorf("duplicate key %q found in database %d", e.Key, e.DB)
			}
			if e.HasExpire {
				db.SetExpireAt(e.Key, e.ExpireAt)
			}
			return nil
		},
		Notice: opt.Notice,
		Limits: opt.Limits,
		// Adopt copies keys and strings into the keyspace.
		Transient: true,
	}
	res, err := Load(r, h)
	out.Result = res
	return out, err
}

// ErrNotFunction is FUNCTION RESTORE's error for a payload holding
// something other than function libraries.
var ErrNotFunction = errors.New("given type is not a function")

// FunctionsDumpPayload serialises libraries as FUNCTION DUMP: each a
// FUNCTION2 opcode and its code, then the RDB version and the CRC64, as a
// DUMP payload.
func FunctionsDumpPayload(codes [][]byte) []byte {
	var buf sliceWriter
	e := NewEncoder(&buf, Options{})
	for _, code := range codes {
		e.Function(code)
	}
	e.flush() // a sliceWriter never fails
	out := binary.LittleEndian.AppendUint16(buf.b, Version)
	return binary.LittleEndian.AppendUint64(out, CRC64(0, out))
}

// ParseFunctionsPayload verifies a FUNCTION DUMP payload and returns the
// libraries' codes: ErrBadDumpPayload when the version or checksum is
// wrong, ErrNotFunction when it holds another type.
func ParseFunctionsPayload(p []byte) ([][]byte, error) {
	if len(p) < dumpFooterSize {
		return nil, ErrBadDumpPayload
	}
	body, footer := p[:len(p)-dumpFooterSize], p[len(p)-dumpFooterSize:]
	if binary.LittleEndian.Uint16(footer) > Version || CRC64(0, p[:len(p)-8]) != binary.LittleEndian.Uint64(footer[2:]) {
		return nil, ErrBadDumpPayload
	}
	d := &decoder{r: bufio.NewReader(bytes.NewReader(body)), h: &Handler{}, version: Version}
	var out [][]byte
	for d.off < int64(len(body)) {
		t, err := d.byte()
		if err != nil {
			return nil, err
		}
		if t != opFunction2 {
			return nil, ErrNotFunction
		}
		code, err := d.string()
		if err != nil {
			return nil, err
		}
		out = append(out, bytes.Clone(code))
	}
	return out, nil
}
