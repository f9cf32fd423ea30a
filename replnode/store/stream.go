package store

import (
	"bytes"
	"math"
	"sort"
	"strconv"
)

// ---------------------------------------------------------------- streams

// This file holds the stream value type, laid out as Redis 7.0's t_stream.c
// lays it out: a sequence of nodes (the radix tree of listpacks), each node
// a master entry (the field names of its first entry) followed by entries
// delta-encoded against it. Entries are never removed from a node: XDEL and
// exact trimming only flag them deleted, and a node goes away whole when
// its last live entry does (or when approximate trimming drops it). Node
// boundaries decide what MAXLEN ~ trims, what MEMORY USAGE counts and the
// bytes the RDB holds, so they follow Redis exactly: a node is full at
// stream-node-max-bytes of listpack or stream-node-max-entries entries.
//
// The node content is kept decoded (ids, flags, field and value slices) and
// its listpack size is tracked as Redis's lpBytes would report it; package
// rdb turns a node into the very listpack Redis writes and back.

// StreamID is a stream entry ID, <ms>-<seq>.
type StreamID struct{ Ms, Seq uint64 }

// MaxStreamID is the largest ID (the "+" of XRANGE).
var MaxStreamID = StreamID{math.MaxUint64, math.MaxUint64}

// Compare returns -1, 0 or 1 as a is before, equal to or after b.
func (a StreamID) Compare(b StreamID) int {
	switch {
	case a.Ms > b.Ms:
		return 1
	case a.Ms < b.Ms:
		return -1
	case a.Seq > b.Seq:
		return 1
	case a.Seq < b.Seq:
		return -1
	}
	return 0
}

// Less reports a < b.
func (a StreamID) Less(b StreamID) bool { return a.Compare(b) < 0 }

// IsZero reports a == 0-0.
func (a StreamID) IsZero() bool { return a.Ms == 0 && a.Seq == 0 }

// Incr returns the successor of a (streamIncrID); ok is false for the
// largest ID, whose "successor" is 0-0.
func (a StreamID) Incr() (StreamID, bool) {
	if a.Seq == math.MaxUint64 {
		if a.Ms == math.MaxUint64 {
			return StreamID{}, false
		}
		return StreamID{a.Ms + 1, 0}, true
	}
	return StreamID{a.Ms, a.Seq + 1}, true
}

// Decr returns the predecessor of a (streamDecrID); ok is false for 0-0,
// whose "predecessor" is the largest ID.
func (a StreamID) Decr() (StreamID, bool) {
	if a.Seq == 0 {
		if a.Ms == 0 {
			return MaxStreamID, false
		}
		return StreamID{a.Ms - 1, math.MaxUint64}, true
	}
	return StreamID{a.Ms, a.Seq - 1}, true
}

// String spells the ID as Redis replies it.
func (a StreamID) String() string { return string(a.Append(nil)) }

// Append appends the ID's spelling to b.
func (a StreamID) Append(b []byte) []byte {
	b = strconv.AppendUint(b, a.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, a.Seq, 10)
}

// Entry flags, as stored in each entry's flags field.
const (
	StreamFlagDeleted    = 1
	StreamFlagSameFields = 2
)

// streamEntry is one entry of a node, live or deleted.
type streamEntry struct {
	id    StreamID
	flags int64
	// fields is nil when the entry has the master fields (SAMEFIELDS).
	fields [][]byte
	values [][]byte
}

// streamNode is one listpack of the stream.
type streamNode struct {
	master       StreamID
	masterFields [][]byte
	entries      []streamEntry
	live         int64 // "count" of the master entry
	deleted      int64
	// body is the listpack bytes of every element but the two counters.
	body int
	// prealloc is what lpNew reserved for a node XADD created and has not
	// closed yet (lpShrinkToFit frees the rest when the next node opens);
	// 0 for closed nodes and nodes loaded from an RDB.
	prealloc int
}

// allocSize is zmalloc_size of the node's listpack.
func (n *streamNode) allocSize() int64 {
	return jemallocSize(int64(max(n.bytes(), n.prealloc)))
}

// lpIntSize is the listpack size of an integer element (with back length).
func lpIntSize(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 2
	case v >= -4096 && v <= 4095:
		return 3
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 4
	case v >= -(1<<23) && v < 1<<23:
		return 5
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 6
	}
	return 10
}

// Bytes is the node's lpBytes.
func (n *streamNode) bytes() int {
	return 6 + 1 + lpIntSize(n.live) + lpIntSize(n.deleted) + n.body
}

// entrySize is the listpack size of entry e of n.
func (n *streamNode) entrySize(e *streamEntry) int {
	sz := lpIntSize(e.flags) + lpIntSize(int64(e.id.Ms-n.master.Ms)) + lpIntSize(int64(e.id.Seq-n.master.Seq))
	nf := int64(len(e.values))
	lpCount := nf + 3
	if e.flags&StreamFlagSameFields == 0 {
		sz += lpIntSize(nf)
		for _, f := range e.fields {
			sz += listpackEntrySize(f)
		}
		lpCount += nf + 1
	}
	for _, v := range e.values {
		sz += listpackEntrySize(v)
	}
	return sz + lpIntSize(lpCount)
}

// fieldsOf returns the field names of entry e.
func (n *streamNode) fieldsOf(e *streamEntry) [][]byte {
	if e.flags&StreamFlagSameFields != 0 {
		return n.masterFields
	}
	return e.fields
}

// lastID is the ID of the node's last entry, deleted or not
// (lpGetEdgeStreamID(lp, 0, ...)).
func (n *streamNode) lastID() StreamID { return n.entries[len(n.entries)-1].id }

// Stream is a Redis stream.
type Stream struct {
	nodes        []*streamNode
	length       uint64
	LastID       StreamID // last-generated-id
	FirstID      StreamID // recorded-first-entry-id
	MaxDeletedID StreamID // max-deleted-entry-id
	EntriesAdded uint64
	groups       []*ConsumerGroup // ordered by name, as the cgroups rax
}

// NewStream returns an empty stream.
func NewStream() *Stream { return &Stream{} }

// Kind reports KindStream.
func (*Stream) Kind() Kind { return KindStream }

// Encoding is always "stream".
func (*Stream) Encoding() string { return "stream" }

// Len is the number of live entries (XLEN).
func (s *Stream) Len() uint64 { return s.length }

// NodeCount is the number of listpack nodes (radix-tree-keys).
func (s *Stream) NodeCount() int { return len(s.nodes) }

// Clone returns a deep copy.
func (s *Stream) Clone() Value {
	c := *s
	c.nodes = make([]*streamNode, len(s.nodes))
	for i, n := range s.nodes {
		nn := *n
		nn.entries = append([]streamEntry(nil), n.entries...)
		c.nodes[i] = &nn
	}
	c.groups = make([]*ConsumerGroup, len(s.groups))
	for i, g := range s.groups {
		c.groups[i] = g.clone()
	}
	return &c
}

// ---------------------------------------------------------------- adding

// StreamLimits are stream-node-max-bytes and stream-node-max-entries.
type StreamLimits struct {
	NodeMaxBytes   int64
	NodeMaxEntries int64
}

// streamListpackMaxSize is STREAM_LISTPACK_MAX_SIZE.
const streamListpackMaxSize = 1 << 30

// streamPrealloc is STREAM_LISTPACK_MAX_PRE_ALLOCATE.
const streamPrealloc = 4096

// StreamMaxPayload is the largest total of field and value lengths one
// entry may have.
const StreamMaxPayload = streamListpackMaxSize

// Append adds an entry with id (which the caller made greater than LastID)
// and the field/value pairs fv (kept without copying), as streamAppendItem
// does after choosing the ID.
func (s *Stream) Append(id StreamID, fv [][]byte, lim StreamLimits) {
	totelelen := 0
	for _, b := range fv {
		totelelen += len(b)
	}
	numfields := len(fv) / 2
	var n *streamNode
	if len(s.nodes) > 0 {
		n = s.nodes[len(s.nodes)-1]
		maxBytes := lim.NodeMaxBytes
		if maxBytes == 0 || maxBytes > streamListpackMaxSize {
			maxBytes = streamListpackMaxSize
		}
		if int64(n.bytes()+totelelen) >= maxBytes {
			n = nil
		} else if lim.NodeMaxEntries != 0 && n.live+n.deleted >= lim.NodeMaxEntries {
			n = nil
		}
	}
	e := streamEntry{id: id}
	values := make([][]byte, numfields)
	for i := range values {
		values[i] = fv[2*i+1]
	}
	e.values = values
	if n == nil {
		if len(s.nodes) > 0 {
			s.nodes[len(s.nodes)-1].prealloc = 0
		}
		n = &streamNode{master: id, live: 1, prealloc: streamPrealloc}
		if lim.NodeMaxBytes > 0 && lim.NodeMaxBytes < streamPrealloc {
			n.prealloc = int(lim.NodeMaxBytes)
		}
		n.masterFields = make([][]byte, numfields)
		n.body = lpIntSize(int64(numfields)) + lpIntSize(0)
		for i := range n.masterFields {
			n.masterFields[i] = fv[2*i]
			n.body += listpackEntrySize(fv[2*i])
		}
		s.nodes = append(s.nodes, n)
		e.flags = StreamFlagSameFields
	} else {
		n.live++
		same := numfields == len(n.masterFields)
		for i := 0; same && i < numfields; i++ {
			same = bytes.Equal(fv[2*i], n.masterFields[i])
		}
		if same {
			e.flags = StreamFlagSameFields
		}
	}
	if e.flags&StreamFlagSameFields == 0 {
		e.fields = make([][]byte, numfields)
		for i := range e.fields {
			e.fields[i] = fv[2*i]
		}
	}
	n.body += n.entrySize(&e)
	n.entries = append(n.entries, e)
	s.length++
	s.EntriesAdded++
	s.LastID = id
	if s.length == 1 {
		s.FirstID = id
	}
}

// ---------------------------------------------------------------- reading

// seekNode returns the index of the last node whose master ID is <= id, or
// 0 when there is none (raxSeek "<=" falling back to "^").
func (s *Stream) seekNode(id StreamID) int {
	i := sort.Search(len(s.nodes), func(i int) bool { return id.Less(s.nodes[i].master) })
	if i == 0 {
		return 0
	}
	return i - 1
}

// Range calls fn for the live entries with start <= ID <= end, in order
// (from end to start when rev), until fn returns false. fv alternates
// fields and values and must not be kept or modified.
func (s *Stream) Range(start, end StreamID, rev bool, fn func(id StreamID, fv [][]byte) bool) {
	s.iterate(start, end, rev, true, func(n *streamNode, e *streamEntry) bool {
		fields := n.fieldsOf(e)
		fv := make([][]byte, 0, 2*len(e.values))
		for i, v := range e.values {
			fv = append(fv, fields[i], v)
		}
		return fn(e.id, fv)
	})
}

// iterate walks the entries in [start, end] as streamIteratorGetID does.
func (s *Stream) iterate(start, end StreamID, rev, skipTombstones bool, fn func(n *streamNode, e *streamEntry) bool) {
	if len(s.nodes) == 0 || end.Less(start) {
		return
	}
	if !rev {
		for ni := s.seekNode(start); ni < len(s.nodes); ni++ {
			n := s.nodes[ni]
			i := sort.Search(len(n.entries), func(i int) bool { return !n.entries[i].id.Less(start) })
			for ; i < len(n.entries); i++ {
				e := &n.entries[i]
				if skipTombstones && e.flags&StreamFlagDeleted != 0 {
					continue
				}
				if end.Less(e.id) {
					return
				}
				if !fn(n, e) {
					return
				}
			}
		}
		return
	}
	for ni := s.seekNode(end); ni >= 0; ni-- {
		n := s.nodes[ni]
		i := sort.Search(len(n.entries), func(i int) bool { return end.Less(n.entries[i].id) }) - 1
		for ; i >= 0; i-- {
			e := &n.entries[i]
			if skipTombstones && e.flags&StreamFlagDeleted != 0 {
				continue
			}
			if e.id.Less(start) {
				return
			}
			if !fn(n, e) {
				return
			}
		}
	}
}

// Exists reports whether a live entry has id (streamEntryExists).
func (s *Stream) Exists(id StreamID) bool {
	found := false
	s.iterate(id, id, false, true, func(*streamNode, *streamEntry) bool { found = true; return false })
	return found
}

// EdgeID is streamGetEdgeID: the first (or last) entry's ID, tombstones
// included unless skipTombstones; with no such entry, the largest ID for
// first and 0-0 for last.
func (s *Stream) EdgeID(first, skipTombstones bool) StreamID {
	var id StreamID
	found := false
	s.iterate(StreamID{}, MaxStreamID, !first, skipTombstones, func(_ *streamNode, e *streamEntry) bool {
		id, found = e.id, true
		return false
	})
	if !found {
		if first {
			return MaxStreamID
		}
		return StreamID{}
	}
	return id
}

// LastValidID is the ID of the last live entry (streamLastValidID).
func (s *Stream) LastValidID() StreamID { return s.EdgeID(false, true) }

// ---------------------------------------------------------------- deleting

// Delete flags the live entry with id deleted and reports whether there was
// one (streamDeleteItem). It does not touch FirstID or MaxDeletedID: XDEL
// does.
func (s *Stream) Delete(id StreamID) bool {
	if len(s.nodes) == 0 {
		return false
	}
	ni := s.seekNode(id)
	n := s.nodes[ni]
	i := sort.Search(len(n.entries), func(i int) bool { return !n.entries[i].id.Less(id) })
	if i == len(n.entries) || n.entries[i].id != id || n.entries[i].flags&StreamFlagDeleted != 0 {
		return false
	}
	if n.live == 1 {
		s.nodes = append(s.nodes[:ni:ni], s.nodes[ni+1:]...)
	} else {
		n.entries[i].flags |= StreamFlagDeleted
		n.live--
		n.deleted++
	}
	s.length--
	return true
}

// TrimStrategy says how Trim trims.
type TrimStrategy uint8

const (
	TrimNone TrimStrategy = iota
	TrimMaxLen
	TrimMinID
)

// TrimArgs are the parsed trimming options of XADD and XTRIM.
type TrimArgs struct {
	Strategy TrimStrategy
	Approx   bool
	Limit    int64
	MaxLen   int64
	MinID    StreamID
}

// Trim trims the stream from its head as streamTrim does and returns the
// number of entries removed.
func (s *Stream) Trim(a TrimArgs) int64 {
	if a.Strategy == TrimNone {
		return 0
	}
	var deleted int64
	for len(s.nodes) > 0 {
		if a.Strategy == TrimMaxLen && s.length <= uint64(a.MaxLen) {
			break
		}
		n := s.nodes[0]
		entries := n.live
		if a.Limit != 0 && deleted+entries > a.Limit {
			break
		}
		var remove bool
		if a.Strategy == TrimMaxLen {
			remove = int64(s.length)-entries >= a.MaxLen
		} else {
			remove = n.lastID().Less(a.MinID)
		}
		if remove {
			s.nodes = s.nodes[1:]
			s.length -= uint64(entries)
			deleted += entries
			continue
		}
		if a.Approx {
			break
		}
		var fromNode int64
		for i := range n.entries {
			e := &n.entries[i]
			var stop bool
			if a.Strategy == TrimMaxLen {
				stop = s.length <= uint64(a.MaxLen)
			} else {
				stop = !e.id.Less(a.MinID)
			}
			if stop {
				break
			}
			if e.flags&StreamFlagDeleted == 0 {
				e.flags |= StreamFlagDeleted
				fromNode++
				s.length--
			}
		}
		deleted += fromNode
		n.live -= fromNode
		n.deleted += fromNode
		break
	}
	if s.length == 0 {
		s.FirstID = StreamID{}
	} else if deleted != 0 {
		s.FirstID = s.EdgeID(true, true)
	}
	return deleted
}

// ---------------------------------------------------------------- lag

// RangeHasTombstones is streamRangeHasTombstones (end nil: to the end).
func (s *Stream) RangeHasTombstones(start StreamID, end *StreamID) bool {
	if s.length == 0 || s.MaxDeletedID.IsZero() {
		return false
	}
	if s.FirstID.Compare(s.MaxDeletedID) > 0 {
		return false
	}
	endID := MaxStreamID
	if end != nil {
		endID = *end
	}
	return start.Compare(s.MaxDeletedID) <= 0 && s.MaxDeletedID.Compare(endID) <= 0
}

// InvalidEntriesRead is SCG_INVALID_ENTRIES_READ.
const InvalidEntriesRead = -1

// EstimateDistance is streamEstimateDistanceFromFirstEverEntry.
func (s *Stream) EstimateDistance(id StreamID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	if s.length == 0 && id.Compare(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	cmpLast := id.Compare(s.LastID)
	if cmpLast == 0 {
		return int64(s.EntriesAdded)
	} else if cmpLast > 0 {
		return InvalidEntriesRead
	}
	cmpFirst := id.Compare(s.FirstID)
	if s.MaxDeletedID.IsZero() || s.MaxDeletedID.Less(s.FirstID) {
		if cmpFirst < 0 {
			return int64(s.EntriesAdded - s.length)
		} else if cmpFirst == 0 {
			return int64(s.EntriesAdded - s.length + 1)
		}
	}
	return InvalidEntriesRead
}

// Lag is the lag XINFO reports for g; ok is false for a null reply
// (streamReplyWithCGLag).
func (s *Stream) Lag(g *ConsumerGroup) (int64, bool) {
	if s.EntriesAdded == 0 {
		return 0, true
	}
	if g.EntriesRead != InvalidEntriesRead && !s.RangeHasTombstones(g.LastID, nil) {
		return int64(s.EntriesAdded) - g.EntriesRead, true
	}
	if er := s.EstimateDistance(g.LastID); er != InvalidEntriesRead {
		return int64(s.EntriesAdded) - er, true
	}
	return 0, false
}

// ---------------------------------------------------------------- radix tree shape

// RaxNodes is the number of nodes Redis's rax holds for the stream's node
// keys (XINFO STREAM radix-tree-nodes).
func (s *Stream) RaxNodes() int {
	keys := make([][]byte, len(s.nodes))
	for i, n := range s.nodes {
		keys[i] = EncodeStreamID(n.master)
	}
	return RaxNodeCount(keys)
}

// EncodeStreamID is the 128-bit big endian form of id, the rax key.
func EncodeStreamID(id StreamID) []byte {
	b := make([]byte, 16)
	for i := 0; i < 8; i++ {
		b[i] = byte(id.Ms >> (56 - 8*i))
		b[8+i] = byte(id.Seq >> (56 - 8*i))
	}
	return b
}

// DecodeStreamID is the reverse of EncodeStreamID.
func DecodeStreamID(b []byte) StreamID {
	var id StreamID
	for i := 0; i < 8; i++ {
		id.Ms = id.Ms<<8 | uint64(b[i])
		id.Seq = id.Seq<<8 | uint64(b[8+i])
	}
	return id
}

// RaxNodeCount is the node count of a fully compressed rax holding the
// sorted, distinct keys, none a prefix of another: an empty rax is its root
// alone; a run of bytes shared by every key below a node is one compressed
// node; a byte where keys diverge is one branching node; each key ends in a
// leaf.
func RaxNodeCount(keys [][]byte) int {
	if len(keys) == 0 {
		return 1
	}
	return raxCount(keys, 0)
}

// raxCount counts the nodes holding keys from byte depth on.
func raxCount(keys [][]byte, depth int) int {
	if len(keys) == 1 {
		if len(keys[0]) == depth {
			return 1
		}
		return 2 // compressed node with the rest, then the leaf
	}
	// Common prefix from depth.
	lcp := 0
	first, last := keys[0], keys[len(keys)-1]
	for depth+lcp < len(first) && depth+lcp < len(last) && first[depth+lcp] == last[depth+lcp] {
		lcp++
	}
	if lcp > 0 {
		return 1 + raxBranch(keys, depth+lcp)
	}
	return raxBranch(keys, depth)
}

// raxBranch counts a branching node at depth and its children.
func raxBranch(keys [][]byte, depth int) int {
	total := 1
	for i := 0; i < len(keys); {
		j := i
		for j < len(keys) && keys[j][depth] == keys[i][depth] {
			j++
		}
		total += raxCount(keys[i:j], depth+1)
		i = j
	}
	return total
}

// ---------------------------------------------------------------- consumer groups

// PendingEntry is a NACK: an entry delivered to a consumer and not yet
// acknowledged.
type PendingEntry struct {
	DeliveryTime  int64
	DeliveryCount uint64
	Consumer      *Consumer // nil only transiently (XCLAIM FORCE)
}

// PEL is a pending entries list ordered by ID: a map for lookups plus the
// IDs in sorted chunks, so that acknowledging the oldest entries one by one
// (the usual order) costs a chunk's worth of copying, not the whole list's.
type PEL struct {
	chunks [][]StreamID
	m      map[StreamID]*PendingEntry
}

// pelChunkMax is the size at which a chunk splits in two.
const pelChunkMax = 512

// Len is the number of pending entries.
func (p *PEL) Len() int { return len(p.m) }

// Get returns the entry for id.
func (p *PEL) Get(id StreamID) (*PendingEntry, bool) {
	e, ok := p.m[id]
	return e, ok
}

// chunkFor is the index of the first chunk whose last ID is >= id
// (len(p.chunks) if none).
func (p *PEL) chunkFor(id StreamID) int {
	return sort.Search(len(p.chunks), func(i int) bool {
		c := p.chunks[i]
		return !c[len(c)-1].Less(id)
	})
}

// posIn is the position of the first ID >= id in chunk c.
func posIn(c []StreamID, id StreamID) int {
	return sort.Search(len(c), func(i int) bool { return !c[i].Less(id) })
}

// Insert adds id unless present and reports whether it did.
func (p *PEL) Insert(id StreamID, e *PendingEntry) bool {
	if p.m == nil {
		p.m = make(map[StreamID]*PendingEntry)
	}
	if _, ok := p.m[id]; ok {
		return false
	}
	p.m[id] = e
	if len(p.chunks) == 0 {
		p.chunks = [][]StreamID{{id}}
		return true
	}
	ci := p.chunkFor(id)
	if ci == len(p.chunks) {
		ci--
	}
	c := p.chunks[ci]
	i := posIn(c, id)
	c = append(c, StreamID{})
	copy(c[i+1:], c[i:])
	c[i] = id
	if len(c) > pelChunkMax {
		half := len(c) / 2
		right := append([]StreamID(nil), c[half:]...)
		c = c[:half:half]
		p.chunks = append(p.chunks, nil)
		copy(p.chunks[ci+2:], p.chunks[ci+1:])
		p.chunks[ci+1] = right
	}
	p.chunks[ci] = c
	return true
}

// Remove deletes id and reports whether it was present.
func (p *PEL) Remove(id StreamID) bool {
	if _, ok := p.m[id]; !ok {
		return false
	}
	delete(p.m, id)
	ci := p.chunkFor(id)
	c := p.chunks[ci]
	i := posIn(c, id)
	c = append(c[:i], c[i+1:]...)
	if len(c) == 0 {
		p.chunks = append(p.chunks[:ci], p.chunks[ci+1:]...)
	} else {
		p.chunks[ci] = c
	}
	return true
}

// Next returns the first pending entry with an ID >= from.
func (p *PEL) Next(from StreamID) (StreamID, *PendingEntry, bool) {
	ci := p.chunkFor(from)
	if ci == len(p.chunks) {
		return StreamID{}, nil, false
	}
	c := p.chunks[ci]
	id := c[posIn(c, from)]
	return id, p.m[id], true
}

// First and Last are the lowest and highest pending IDs (the PEL must not
// be empty).
func (p *PEL) First() StreamID { return p.chunks[0][0] }

// Last is the highest pending ID.
func (p *PEL) Last() StreamID {
	c := p.chunks[len(p.chunks)-1]
	return c[len(c)-1]
}

// Ascend calls fn for each pending entry in ID order until it returns
// false; fn must not change the PEL.
func (p *PEL) Ascend(fn func(id StreamID, e *PendingEntry) bool) {
	for _, c := range p.chunks {
		for _, id := range c {
			if !fn(id, p.m[id]) {
				return
			}
		}
	}
}

// ids returns every pending ID in order.
func (p *PEL) ids() []StreamID {
	out := make([]StreamID, 0, p.Len())
	for _, c := range p.chunks {
		out = append(out, c...)
	}
	return out
}

// cloneWith copies the PEL's order, taking each entry from entry.
func (p *PEL) cloneWith(entry func(id StreamID, e *PendingEntry) *PendingEntry) PEL {
	c := PEL{chunks: make([][]StreamID, len(p.chunks)), m: make(map[StreamID]*PendingEntry, len(p.m))}
	for i, ch := range p.chunks {
		c.chunks[i] = append([]StreamID(nil), ch...)
	}
	for id, e := range p.m {
		c.m[id] = entry(id, e)
	}
	return c
}

// Consumer is a consumer of a group.
type Consumer struct {
	Name     []byte
	SeenTime int64
	PEL      PEL
}

// ConsumerGroup is a consumer group.
type ConsumerGroup struct {
	Name        []byte
	LastID      StreamID
	EntriesRead int64
	PEL         PEL
	consumers   []*Consumer // ordered by name
}

// Groups returns the groups in name order (not to be modified).
func (s *Stream) Groups() []*ConsumerGroup { return s.groups }

// Group returns the group named name.
func (s *Stream) Group(name []byte) *ConsumerGroup {
	i := sort.Search(len(s.groups), func(i int) bool { return bytes.Compare(s.groups[i].Name, name) >= 0 })
	if i < len(s.groups) && bytes.Equal(s.groups[i].Name, name) {
		return s.groups[i]
	}
	return nil
}

// CreateGroup adds a group (name not copied) and returns it, or nil if the
// name exists.
func (s *Stream) CreateGroup(name []byte, last StreamID, entriesRead int64) *ConsumerGroup {
	i := sort.Search(len(s.groups), func(i int) bool { return bytes.Compare(s.groups[i].Name, name) >= 0 })
	if i < len(s.groups) && bytes.Equal(s.groups[i].Name, name) {
		return nil
	}
	g := &ConsumerGroup{Name: name, LastID: last, EntriesRead: entriesRead}
	s.groups = append(s.groups, nil)
	copy(s.groups[i+1:], s.groups[i:])
	s.groups[i] = g
	return g
}

// DestroyGroup removes the group named name and reports whether it existed.
func (s *Stream) DestroyGroup(name []byte) bool {
	i := sort.Search(len(s.groups), func(i int) bool { return bytes.Compare(s.groups[i].Name, name) >= 0 })
	if i < len(s.groups) && bytes.Equal(s.groups[i].Name, name) {
		s.groups = append(s.groups[:i:i], s.groups[i+1:]...)
		return true
	}
	return false
}

// Consumers returns the consumers in name order (not to be modified).
func (g *ConsumerGroup) Consumers() []*Consumer { return g.consumers }

// Consumer returns the consumer named name.
func (g *ConsumerGroup) Consumer(name []byte) *Consumer {
	i := sort.Search(len(g.consumers), func(i int) bool { return bytes.Compare(g.consumers[i].Name, name) >= 0 })
	if i < len(g.consumers) && bytes.Equal(g.consumers[i].Name, name) {
		return g.consumers[i]
	}
	return nil
}

// CreateConsumer adds a consumer (name not copied) seen at seen, or returns
// nil if the name exists.
func (g *ConsumerGroup) CreateConsumer(name []byte, seen int64) *Consumer {
	i := sort.Search(len(g.consumers), func(i int) bool { return bytes.Compare(g.consumers[i].Name, name) >= 0 })
	if i < len(g.consumers) && bytes.Equal(g.consumers[i].Name, name) {
		return nil
	}
	c := &Consumer{Name: name, SeenTime: seen}
	g.consumers = append(g.consumers, nil)
	copy(g.consumers[i+1:], g.consumers[i:])
	g.consumers[i] = c
	return c
}

// DeleteConsumer removes c and its pending entries from the group
// (streamDelConsumer).
func (g *ConsumerGroup) DeleteConsumer(c *Consumer) {
	for _, id := range c.PEL.ids() {
		g.PEL.Remove(id)
	}
	i := sort.Search(len(g.consumers), func(i int) bool { return bytes.Compare(g.consumers[i].Name, c.Name) >= 0 })
	if i < len(g.consumers) && g.consumers[i] == c {
		g.consumers = append(g.consumers[:i:i], g.consumers[i+1:]...)
	}
}

// clone deep-copies the group, its consumers and its PEL.
func (g *ConsumerGroup) clone() *ConsumerGroup {
	c := &ConsumerGroup{Name: g.Name, LastID: g.LastID, EntriesRead: g.EntriesRead}
	nacks := make(map[*PendingEntry]*PendingEntry, g.PEL.Len())
	c.PEL = g.PEL.cloneWith(func(_ StreamID, e *PendingEntry) *PendingEntry {
		ne := *e
		nacks[e] = &ne
		return &ne
	})
	c.consumers = make([]*Consumer, len(g.consumers))
	for i, cons := range g.consumers {
		nc := &Consumer{Name: cons.Name, SeenTime: cons.SeenTime}
		nc.PEL = cons.PEL.cloneWith(func(_ StreamID, e *PendingEntry) *PendingEntry {
			ne := nacks[e]
			ne.Consumer = nc
			return ne
		})
		c.consumers[i] = nc
	}
	return c
}

// ---------------------------------------------------------------- raw nodes (RDB)

// StreamNode is a node exposed to package rdb: its master ID and its
// listpack elements in order, each either an integer (IsInt) or a string.
type StreamNode struct {
	Master StreamID
	Elems  []StreamElem
}

// StreamElem is one listpack element of a node.
type StreamElem struct {
	IsInt bool
	Int   int64
	Str   []byte
}

// RawNodes returns the stream's nodes as the listpack elements Redis holds.
func (s *Stream) RawNodes() []StreamNode {
	out := make([]StreamNode, len(s.nodes))
	for i, n := range s.nodes {
		in := func(v int64) StreamElem { return StreamElem{IsInt: true, Int: v} }
		el := []StreamElem{in(n.live), in(n.deleted), in(int64(len(n.masterFields)))}
		for _, f := range n.masterFields {
			el = append(el, StreamElem{Str: f})
		}
		el = append(el, in(0))
		for j := range n.entries {
			e := &n.entries[j]
			el = append(el, in(e.flags), in(int64(e.id.Ms-n.master.Ms)), in(int64(e.id.Seq-n.master.Seq)))
			nf := int64(len(e.values))
			lpCount := nf + 3
			if e.flags&StreamFlagSameFields == 0 {
				el = append(el, in(nf))
				for k, f := range e.fields {
					el = append(el, StreamElem{Str: f}, StreamElem{Str: e.values[k]})
				}
				lpCount += nf + 1
			} else {
				for _, v := range e.values {
					el = append(el, StreamElem{Str: v})
				}
			}
			el = append(el, in(lpCount))
		}
		out[i] = StreamNode{Master: n.master, Elems: el}
	}
	return out
}

// streamNodeError is a structural problem in a loaded node.
type streamNodeError string

func (e streamNodeError) Error() string { return string(e) }

// AppendRawNode adds a node read from an RDB: master ID and the listpack's
// elements, integers spelled in decimal. Nodes must come in increasing
// master ID order. It returns the number of live entries the node holds.
func (s *Stream) AppendRawNode(master StreamID, elems [][]byte) (int64, error) {
	p := 0
	next := func() ([]byte, bool) {
		if p >= len(elems) {
			return nil, false
		}
		p++
		return elems[p-1], true
	}
	nextInt := func() (int64, bool) {
		b, ok := next()
		if !ok {
			return 0, false
		}
		v, err := strconv.ParseInt(string(b), 10, 64)
		return v, err == nil
	}
	bad := streamNodeError("stream listpack integrity check failed")
	live, ok1 := nextInt()
	deleted, ok2 := nextInt()
	nmf, ok3 := nextInt()
	if !ok1 || !ok2 || !ok3 || nmf < 0 || live < 0 || deleted < 0 {
		return 0, bad
	}
	if len(s.nodes) > 0 && !s.nodes[len(s.nodes)-1].master.Less(master) {
		return 0, bad
	}
	n := &streamNode{master: master, live: live, deleted: deleted}
	n.body = lpIntSize(nmf) + lpIntSize(0)
	for i := int64(0); i < nmf; i++ {
		f, ok := next()
		if !ok {
			return 0, bad
		}
		n.masterFields = append(n.masterFields, f)
		n.body += listpackEntrySize(f)
	}
	if z, ok := nextInt(); !ok || z != 0 {
		return 0, bad
	}
	var gotLive, gotDeleted int64
	for p < len(elems) {
		flags, ok1 := nextInt()
		dms, ok2 := nextInt()
		dseq, ok3 := nextInt()
		if !ok1 || !ok2 || !ok3 {
			return 0, bad
		}
		e := streamEntry{flags: flags, id: StreamID{master.Ms + uint64(dms), master.Seq + uint64(dseq)}}
		nf := nmf
		if flags&StreamFlagSameFields == 0 {
			v, ok := nextInt()
			if !ok || v < 0 {
				return 0, bad
			}
			nf = v
			for i := int64(0); i < nf; i++ {
				f, ok1 := next()
				v, ok2 := next()
				if !ok1 || !ok2 {
					return 0, bad
				}
				e.fields = append(e.fields, f)
				e.values = append(e.values, v)
			}
		} else {
			for i := int64(0); i < nf; i++ {
				v, ok := next()
				if !ok {
					return 0, bad
				}
				e.values = append(e.values, v)
			}
		}
		lpCount, ok := nextInt()
		want := nf + 3
		if flags&StreamFlagSameFields == 0 {
			want += nf + 1
		}
		if !ok || lpCount != want {
			return 0, bad
		}
		if len(n.entries) > 0 && !n.entries[len(n.entries)-1].id.Less(e.id) {
			return 0, bad
		}
		if flags&StreamFlagDeleted != 0 {
			gotDeleted++
		} else {
			gotLive++
		}
		n.body += n.entrySize(&e)
		n.entries = append(n.entries, e)
	}
	if gotLive != live || gotDeleted != deleted || len(n.entries) == 0 {
		return 0, bad
	}
	s.nodes = append(s.nodes, n)
	return live, nil
}

// SetLength sets the entry count after loading nodes.
func (s *Stream) SetLength(n uint64) { s.length = n }

// ---------------------------------------------------------------- memory

// Sizes of Redis 7.0's stream structures (64-bit).
const (
	streamStructSize   = 80 // stream
	streamCGSize       = 40 // streamCG
	streamNACKSize     = 24 // streamNACK
	streamConsumerSize = 24 // streamConsumer
	raxNodeSize        = 4  // raxNode header
)

// raxMemory is streamRadixTreeMemoryUsage for a rax of numele keys and
// numnodes nodes (the sizeof(*rax) it starts with is overwritten in Redis).
func raxMemory(numele, numnodes int) int64 {
	return int64(numele)*16 + int64(numnodes)*raxNodeSize + int64(numnodes)*8*30
}

// pelRaxNodes is the node count of a PEL's rax.
func pelRaxNodes(p *PEL) int {
	ids := p.ids()
	keys := make([][]byte, len(ids))
	for i, id := range ids {
		keys[i] = EncodeStreamID(id)
	}
	return RaxNodeCount(keys)
}

// memory is objectComputeSize for a stream.
func (s *Stream) memory(samples int) int64 {
	size := int64(robjSize + streamStructSize)
	size += raxMemory(len(s.nodes), s.RaxNodes())
	var lpsize int64
	n := 0
	for n < samples && n < len(s.nodes) {
		lpsize += s.nodes[n].allocSize()
		n++
	}
	if len(s.nodes) <= n {
		size += lpsize
	} else {
		if n > 0 {
			lpsize /= int64(n)
		}
		size += lpsize * int64(len(s.nodes)-1)
		size += s.nodes[len(s.nodes)-1].allocSize()
	}
	for _, g := range s.groups {
		size += streamCGSize
		size += raxMemory(g.PEL.Len(), pelRaxNodes(&g.PEL))
		size += streamNACKSize * int64(g.PEL.Len())
		for _, c := range g.consumers {
			size += streamConsumerSize + int64(len(c.Name))
			size += raxMemory(c.PEL.Len(), pelRaxNodes(&c.PEL))
		}
	}
	return size
}
