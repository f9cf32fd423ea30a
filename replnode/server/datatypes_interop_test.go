package server

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// ------ NEW DATA TYPES OVER REPLICATION ------
//
// HyperLogLog, GEO, BITFIELD and streams written to one end of
// a replication link with a real redis-server at the other must leave the
// same dataset: equal DEBUG DIGEST. PFCOUNT is the subtle one: a read that
// rewrites the cached cardinality and so must propagate.

// dataTypeLoad sends a mixed load of the new types' writes, including
// reads that propagate (PFCOUNT).
func dataTypeLoad(c *testClient, prefix string, n int) {
	for i := 0; i < n; i++ {
		h := fmt.Sprintf("%s:hll:%d", prefix, i%7)
		c.do("PFADD", h, strconv.Itoa(i), "x"+strconv.Itoa(i*31))
		c.do("PFCOUNT", h)
		c.do("SET", fmt.Sprintf("%s:s:%d", prefix, i), "v")
		if i%25 == 0 {
			c.do("PFMERGE", prefix+":merged", h, prefix+":hll:0")
			c.do("PFCOUNT", prefix+":merged", h)
		}
		if i%60 == 0 {
			c.do("PFDEBUG", "TODENSE", h)
		}
		c.do("GEOADD", prefix+":geo", strconv.FormatFloat(float64(i%360)-179.5, 'f', 4, 64), strconv.FormatFloat(float64(i%170)-84.9, 'f', 4, 64), "m"+strconv.Itoa(i))
		if i%30 == 0 {
			c.do("GEOSEARCHSTORE", prefix+":geostore", prefix+":geo", "FROMMEMBER", "m"+strconv.Itoa(i), "BYBOX", "5000", "3000", "km")
			c.do("GEORADIUS", prefix+":geo", "10", "10", "2000", "km", "STORE", prefix+":georad")
		}
		// Streams: ids from "*" (propagated as the id chosen), approximate
		// trimming (propagated as an exact one) and consumer groups whose
		// reads and claims propagate as XCLAIM / XGROUP SETID.
		c.do("XADD", prefix+":xs", "MAXLEN", "~", "300", "*", "f", strconv.Itoa(i), "g", "v"+strconv.Itoa(i%11))
		if i == 0 {
			c.do("XGROUP", "CREATE", prefix+":xs", "grp", "0")
		}
		if i%10 == 0 {
			c.do("XREADGROUP", "GROUP", "grp", "c"+strconv.Itoa(i%3), "COUNT", "4", "STREAMS", prefix+":xs", ">")
			c.do("XAUTOCLAIM", prefix+":xs", "grp", "c9", "0", "0-0", "COUNT", "2")
		}
		if i%50 == 49 {
			c.do("XTRIM", prefix+":xs", "MAXLEN", "200")
		}
		c.do("BITFIELD", prefix+":bf", "OVERFLOW", []string{"WRAP", "SAT", "FAIL"}[i%3],
			"INCRBY", "i5", strconv.Itoa(i%40), strconv.Itoa(i*13-700), "SET", "u7", "#"+strconv.Itoa(i%9), strconv.Itoa(i), "GET", "u8", "0")
	}
}

func TestInteropDataTypesOurMasterRealReplica(t *testing.T) {
	requireCommands(t, "pfadd", "bitfield", "geoadd", "debug")
	master := startNode(t, "repl-ping-replica-period", "1", "enable-debug-command", "yes")
	mc := dialNode(t, master.port)
	dataTypeLoad(mc, "pre", 100)
	rport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r := dialNode(t, rport)
	dataTypeLoad(mc, "during", 200)
	waitLinkUp(t, r)
	dataTypeLoad(mc, "post", 100)
	waitFor(t, 60*time.Second, "offsets equal", func() bool {
		return master.info()["master_repl_offset"] == replInfo(r)["master_repl_offset"]
	})
	if dm, dr := mc.digest(), r.digest(); dm != dr {
		t.Fatalf("DEBUG DIGEST: ours %s, real replica %s", dm, dr)
	}
	// The digest covers stream entries, not groups: compare those too.
	for _, key := range []string{"pre:xs", "during:xs", "post:xs"} {
		ml, rl := mc.do("XLEN", key).Int, r.do("XLEN", key).Int
		if ml == 0 || ml != rl {
			t.Fatalf("XLEN %s: ours %d, real replica %d", key, ml, rl)
		}
		mp, rp := mc.do("XPENDING", key, "grp"), r.do("XPENDING", key, "grp")
		if len(mp.Elems) == 0 || mp.Elems[0].Int == 0 || fmt.Sprint(mp) != fmt.Sprint(rp) {
			t.Fatalf("XPENDING %s grp: ours %v, real replica %v", key, mp, rp)
		}
	}
}

func TestInteropDataTypesChainRealOursReal(t *testing.T) {
	requireCommands(t, "pfadd", "bitfield", "geoadd", "debug")
	mport := startRealRedis(t)
	m := dialNode(t, mport)
	dataTypeLoad(m, "pre", 100)
	mid := startNode(t, "replicaof", "127.0.0.1 "+strconv.Itoa(mport), "enable-debug-command", "yes")
	waitFor(t, 60*time.Second, "our replica up", func() bool { return mid.info()["master_link_status"] == "up" })
	bport := startRealRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(mid.port))
	b := dialNode(t, bport)
	dataTypeLoad(m, "during", 200)
	waitLinkUp(t, b)
	dataTypeLoad(m, "post", 100)
	waitFor(t, 60*time.Second, "equal offsets across the chain", func() bool {
		mo := replInfo(m)["master_repl_offset"]
		return mo == mid.info()["master_repl_offset"] && mo == replInfo(b)["master_repl_offset"]
	})
	midc := dialNode(t, mid.port)
	dm, dmid, db := m.digest(), midc.digest(), b.digest()
	if dm != dmid || dm != db {
		t.Fatalf("DEBUG DIGEST: real master %s, our replica %s, real sub-replica %s", dm, dmid, db)
	}
}
