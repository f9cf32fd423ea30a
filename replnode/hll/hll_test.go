package hll

import (
	"errors"
	"strconv"
	"testing"
)

const maxBytes = 3000

func header(enc byte) []byte {
	return []byte{'H', 'Y', 'L', 'L', enc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}
}

// TestSparseDenseAgree adds the same elements to a sparse HLL and to one
// converted to dense up front: the registers and the counts must agree
// all along, through the sparse→dense promotion.
func TestSparseDenseAgree(t *testing.T) {
	sparse := New()
	dense, err := SparseToDense(New())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		ele := []byte("e" + strconv.Itoa(i))
		var c1, c2 bool
		sparse, c1, err = Add(sparse, ele, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		dense, c2, _ = Add(dense, ele, maxBytes)
		if c1 != c2 {
			t.Fatalf("element %d: sparse changed=%v dense changed=%v", i, c1, c2)
		}
		if i%250 == 0 {
			InvalidateCache(sparse)
			InvalidateCache(dense)
			n1, _, err1 := Count(sparse)
			n2, _, err2 := Count(dense)
			if err1 != nil || err2 != nil || n1 != n2 {
				t.Fatalf("after %d: sparse %d (%v), dense %d (%v)", i+1, n1, err1, n2, err2)
			}
		}
	}
	if IsSparse(sparse) {
		t.Fatal("5000 elements still sparse at 3000 bytes")
	}
}

// TestValOverflowIsCorrupt: a VAL opcode running past register 16383 is
// corrupt even when the runs before it cover all registers (the shipped
// 7.0.15's CVE-2025-32023 rule); before the fix we merged it as valid.
func TestValOverflowIsCorrupt(t *testing.T) {
	b := append(header(encSparse), 0x7f, 0xff, 0x80) // Z:16384 v:1,1
	if _, err := SparseToDense(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("SparseToDense: %v", err)
	}
	var max [Registers]uint8
	if err := Merge(&max, b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Merge: %v", err)
	}
}

// FuzzCorrupt feeds arbitrary register bytes behind a sparse or dense
// header: nothing may panic, and whatever is reported valid must count
// and merge consistently.
func FuzzCorrupt(f *testing.F) {
	f.Add(byte(encSparse), []byte{0x7f, 0xff})
	f.Add(byte(encSparse), []byte{0x7f})
	f.Add(byte(encSparse), []byte{0x7f, 0xfe, 0x83})
	f.Add(byte(encSparse), []byte{0x80, 0x80, 0x40, 0x00, 0xff})
	f.Add(byte(encDense), make([]byte, DenseSize-HeaderSize))
	f.Add(byte(2), []byte{})
	f.Fuzz(func(t *testing.T, enc byte, regs []byte) {
		b := append(header(enc), regs...)
		if !Valid(b) {
			return
		}
		var max [Registers]uint8
		mergeErr := Merge(&max, b)
		c := append([]byte(nil), b...)
		_, _, countErr := Count(c)
		if _, err := SparseToDense(append([]byte(nil), b...)); (err == nil) != (mergeErr == nil) {
			t.Fatalf("SparseToDense err %v, Merge err %v", err, mergeErr)
		}
		if mergeErr == nil && countErr != nil {
			t.Fatalf("mergeable but not countable: %v", countErr)
		}
		for i := 0; i < 20; i++ {
			var err error
			if b, _, err = Add(b, []byte(strconv.Itoa(i)), 64); err != nil {
				break
			}
		}
		_ = DecodeSparse(b)
	})
}
