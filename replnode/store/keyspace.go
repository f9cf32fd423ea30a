package store

// Keyspace is the set of numbered databases a node serves (the `databases`
// directive). SELECT, SWAPDB, MOVE and FLUSHALL work on it.
type Keyspace struct {
	DBs []*DB
}

// NewKeyspace returns n empty databases.
func NewKeyspace(n int) *Keyspace {
	ks := &Keyspace{DBs: make([]*DB, n)}
	for i := range ks.DBs {
		ks.DBs[i] = NewDB()
	}
	return ks
}

// Swap exchanges databases a and b, as SWAPDB does.
func (ks *Keyspace) Swap(a, b int) { ks.DBs[a], ks.DBs[b] = ks.DBs[b], ks.DBs[a] }

// FlushAll empties every database.
func (ks *Keyspace) FlushAll() {
	for _, db := range ks.DBs {
		db.Flush()
	}
}
