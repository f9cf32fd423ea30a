package store

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestHashListpackAgainstModel drives a listpack hash with random sets,
// overwrites of other lengths and deletes, and checks it against an ordered
// model after every step: contents, insertion order (Redis's listpack
// order), and that a clone taken midway neither sees later writes nor
// disturbs the original. Values up to 300 bytes cross the one-byte length
// prefix; the limits are raised so the hash stays listpack throughout.
func TestHashListpackAgainstModel(t *testing.T) {
	lim := NewLimits(EncodingLimits{HashMaxListpackEntries: 64, HashMaxListpackValue: 300})
	r := rand.New(rand.NewPCG(1, 2))
	h := lim.NewHash()
	var model []struct{ f, v string }
	find := func(f string) int {
		for i, e := range model {
			if e.f == f {
				return i
			}
		}
		return -1
	}
	var clone *Hash
	var cloneModel []struct{ f, v string }
	for step := 0; step < 20000; step++ {
		f := "f" + strconv.Itoa(r.IntN(60))
		switch r.IntN(3) {
		case 0, 1:
			v := bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(300))
			buf := append([]byte(nil), v...)
			added := h.Set([]byte(f), buf)
			for i := range buf {
				buf[i] = '!'
			}
			i := find(f)
			if added != (i < 0) {
				t.Fatalf("step %d: Set(%s) added=%v, model has it at %d", step, f, added, i)
			}
			if i < 0 {
				model = append(model, struct{ f, v string }{f, string(v)})
			} else {
				model[i].v = string(v)
			}
		case 2:
			i := find(f)
			if h.Delete([]byte(f)) != (i >= 0) {
				t.Fatalf("step %d: Delete(%s) disagrees with model", step, f)
			}
			if i >= 0 {
				model = append(model[:i], model[i+1:]...)
			}
		}
		if step == 5000 {
			clone = h.Clone().(*Hash)
			cloneModel = append([]struct{ f, v string }(nil), model...)
		}
		if h.Encoding() != "listpack" || h.Len() != len(model) {
			t.Fatalf("step %d: encoding %s len %d, model %d", step, h.Encoding(), h.Len(), len(model))
		}
		checkHashOrder(t, h, model)
		if clone != nil && step%1000 == 0 {
			checkHashOrder(t, clone, cloneModel)
		}
	}
}

func checkHashOrder(t *testing.T, h *Hash, model []struct{ f, v string }) {
	t.Helper()
	i := 0
	h.Range(func(f, v []byte) bool {
		if i >= len(model) || string(f) != model[i].f || string(v) != model[i].v {
			t.Fatalf("entry %d is %q=%.10q..., model %v", i, f, v, i < len(model))
		}
		i++
		return true
	})
	for _, e := range model {
		if v, ok := h.Get([]byte(e.f)); !ok || string(v) != e.v {
			t.Fatalf("Get(%s) = %.10q %v", e.f, v, ok)
		}
	}
}

// TestHashConvertsWhereRedisDoes checks the listpack -> hashtable switch at
// both thresholds and that contents survive it.
func TestHashConvertsWhereRedisDoes(t *testing.T) {
	lim := NewLimits(EncodingLimits{HashMaxListpackEntries: 4, HashMaxListpackValue: 8})
	h := lim.NewHash()
	for i := 0; i < 4; i++ {
		h.Set([]byte("f"+strconv.Itoa(i)), []byte("12345678"))
	}
	if h.Encoding() != "listpack" {
		t.Fatalf("4 entries of 8 bytes: %s", h.Encoding())
	}
	h.Set([]byte("f4"), []byte("x"))
	if h.Encoding() != "hashtable" || h.Len() != 5 {
		t.Fatalf("5th entry: %s len %d", h.Encoding(), h.Len())
	}
	for i := 0; i < 4; i++ {
		if v, _ := h.Get([]byte("f" + strconv.Itoa(i))); string(v) != "12345678" {
			t.Fatalf("f%d lost in conversion: %q", i, v)
		}
	}
	h2 := lim.NewHash()
	h2.Set([]byte("a"), []byte("1"))
	h2.Set([]byte("a"), []byte("123456789"))
	if h2.Encoding() != "hashtable" || h2.Len() != 1 {
		t.Fatalf("9-byte value: %s len %d", h2.Encoding(), h2.Len())
	}
}
