package chaos

import (
	"sort"
	"sync"
	"time"
)

// Kind is what an operation did.
type Kind string

// The operations clients perform. Every write goes to the key of one
// client only, so per-key histories are small and the checkers stay exact.
const (
	Set     Kind = "set"  // SET on the client's register key
	Get     Kind = "get"  // GET of a register or counter key
	Incr    Kind = "incr" // INCR on the client's counter key
	WaitSet Kind = "wset" // SET of a fresh key then WAIT 1 <timeout>
)

// Outcome is what the client learned of an operation.
type Outcome string

// A timeout or a dropped connection is Unknown (the write may have been
// applied), never Fail: Fail means the server answered an error, so the
// operation had no effect.
const (
	OK      Outcome = "ok"
	Fail    Outcome = "fail"
	Unknown Outcome = "unknown"
)

// Op is one completed operation of the history. Times are offsets on the
// run's one monotonic clock.
type Op struct {
	Client   int
	Kind     Kind
	Key      string
	Value    int64 // set/wset: the value written; incr/get: the value returned (ok only)
	Invoke   time.Duration
	Complete time.Duration
	Outcome  Outcome
	Member   string // the member that answered (ok only): from CLIENT INFO laddr
	Acked    bool   // writes: WAIT answered >= 1 replica
	Err      string // fail/unknown: what happened
	Addr     string // the master Service endpoint the client's connection was dialed to
	// OKAt is when the client had a write's OK (EXEC's reply), before the
	// WAIT that follows it; zero when the op has none (Complete then).
	OKAt time.Duration `json:",omitempty"`
}

// OKTime is when the client learnt the op succeeded: OKAt when set.
func (o Op) OKTime() time.Duration {
	if o.OKAt > 0 {
		return o.OKAt
	}
	return o.Complete
}

// IsWrite reports whether the op changes its key when it is applied.
func (o Op) IsWrite() bool { return o.Kind == Set || o.Kind == Incr || o.Kind == WaitSet }

// History is the shared, concurrent-safe record of a run.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []Op
}

// NewHistory starts a history whose clock reads zero now.
func NewHistory() *History { return &History{start: time.Now()} }

// Wall returns the wall-clock time of offset d on the history's clock: it
// places the history against the operators' logs.
func (h *History) Wall(d time.Duration) time.Time { return h.start.Add(d) }

// Now reads the history's monotonic clock (time.Since uses the monotonic
// reading, so wall-clock steps do not move it).
func (h *History) Now() time.Duration { return time.Since(h.start) }

// Add records a completed operation.
func (h *History) Add(op Op) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Ops returns the operations recorded so far, ordered by invocation.
func (h *History) Ops() []Op {
	h.mu.Lock()
	ops := append([]Op(nil), h.ops...)
	h.mu.Unlock()
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Invoke < ops[j].Invoke })
	return ops
}

// Sample is one observation of one member by the sampler.
type Sample struct {
	At       time.Duration
	Member   string
	RunID    string // INFO server run_id: a new one means the process restarted
	Role     string // master or slave
	Keys     int64  // DBSIZE
	SyncFull int64  // INFO stats sync_full: full syncs this member served
	// A replica's view of its master link (INFO replication), for the
	// failover timeline (cmd timeline): master_link_status, and how long
	// it has heard nothing from its master in milliseconds
	// (master_no_contact_ms; master_last_io_seconds_ago*1000 from a
	// member that only reports seconds; -1 when it says neither).
	Link        string `json:",omitempty"`
	NoContactMs int64  `json:",omitempty"`
}

// EndpointChange is the master Service's ready endpoint as the sampler saw
// it change ("" while it has none or several).
type EndpointChange struct {
	At   time.Duration
	Addr string
}
