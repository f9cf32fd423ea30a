package store

import "testing"

// TestDigestMatchesRedis compares with values printed by a real
// redis-server 7.0 for the same data (SET s hello; DEBUG DIGEST;
// DEBUG DIGEST-VALUE s nokey). The golden files in package rdb check every
// type and encoding the same way.
func TestDigestMatchesRedis(t *testing.T) {
	ks := NewKeyspace(16)
	if got := DatasetDigest(ks).String(); got != "0000000000000000000000000000000000000000" {
		t.Errorf("empty data set digest %s", got)
	}
	ks.DBs[0].Set("s", NewString([]byte("hello")), false)
	if got := DatasetDigest(ks).String(); got != "a500c6b54937da22f2ac1167da1da852479c7339" {
		t.Errorf("DEBUG DIGEST = %s", got)
	}
	if got := ValueDigest(ks.DBs[0], "s").String(); got != "36b23a1456b2dce2c3ed252c456761301dba8060" {
		t.Errorf("DEBUG DIGEST-VALUE s = %s", got)
	}
	if got := ValueDigest(ks.DBs[0], "nokey"); got != (Digest{}) {
		t.Errorf("missing key digest %s", got)
	}
	// The digest depends on the database number and on having an expiry.
	before := DatasetDigest(ks)
	ks.DBs[0].SetExpireAt("s", 1)
	if DatasetDigest(ks) == before {
		t.Error("expiry does not change the digest")
	}
	ks.Swap(0, 1)
	ks.DBs[1].Persist("s")
	if DatasetDigest(ks) == before {
		t.Error("database number does not change the digest")
	}
}

// TestDigestScoreFormat checks the %.17g spelling of zset scores.
func TestDigestScoreFormat(t *testing.T) {
	for in, want := range map[float64]string{
		1.5: "1.5", 0.1: "0.10000000000000001", 1e20: "1e+20", 1e-5: "1.0000000000000001e-05",
		100000: "100000", 1e16: "10000000000000000", 1e17: "1e+17", -2: "-2",
	} {
		if got := string(formatDigestScore(in)); got != want {
			t.Errorf("%v: %s, want %s", in, got, want)
		}
	}
}
