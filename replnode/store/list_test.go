package store

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestListDequeAgainstModel drives a list in its deque form far across
// block boundaries (several thousand elements, blocks of dequeBlockSize):
// phases of pushes at both ends, middle inserts and removals, sets, LREMs,
// LTRIMs and pops down to empty and back, checked against a slice model and
// against the deque's own bookkeeping (blocks in use cover exactly the
// elements, no block kept past them).
func TestListDequeAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 8))
	l := NewList()
	big := bytes.Repeat([]byte("B"), listPackedMax+1)
	l.PushBack(big)
	if l.dq == nil {
		t.Fatal("a list past listPackedMax must be a deque")
	}
	model := [][]byte{bytes.Clone(big)}
	next, maxLen, drained := 0, 0, 0
	newElem := func() []byte { next++; return []byte(strconv.Itoa(next % 3000)) }
	for step := 0; step < 40000; step++ {
		n := len(model)
		phase := step / 5000 % 4 // grow, churn, drain, churn
		op := r.IntN(20)
		switch {
		case n == 0 || phase == 0 && op < 18 || phase%2 == 1 && op < 8:
			e := newElem()
			if r.IntN(2) == 0 {
				l.PushFront(e)
				model = append([][]byte{bytes.Clone(e)}, model...)
			} else {
				l.PushBack(e)
				model = append(model, bytes.Clone(e))
			}
		case phase == 2 && op < 18 || phase%2 == 1 && op < 14:
			var e []byte
			var want []byte
			if r.IntN(2) == 0 {
				e, _ = l.PopFront()
				want, model = model[0], model[1:]
			} else {
				e, _ = l.PopBack()
				want, model = model[n-1], model[:n-1]
			}
			if !bytes.Equal(e, want) {
				t.Fatalf("step %d: popped %q, model %q", step, e, want)
			}
		case op == 16:
			i, e := r.IntN(n+1), newElem()
			l.Insert(i, e)
			model = append(model[:i], append([][]byte{bytes.Clone(e)}, model[i:]...)...)
		case op == 17:
			i := r.IntN(n)
			l.RemoveAt(i)
			model = append(model[:i], model[i+1:]...)
		case op == 18:
			i, e := r.IntN(n), newElem()
			l.Set(i, e)
			model[i] = bytes.Clone(e)
		default:
			if r.IntN(8) == 0 {
				// LTRIM keeping most of the list: both ends cut.
				start, stop := r.IntN(n/64+2), n-1-r.IntN(n/64+2)
				l.Trim(start, stop)
				if start > stop {
					model = nil
				} else {
					model = model[start : stop+1]
				}
			} else {
				target := model[r.IntN(n)]
				count := int64(r.IntN(5) - 2)
				got := l.Remove(bytes.Clone(target), count)
				var want int64
				kept := model[:0:0]
				if count < 0 {
					drop := map[int]bool{}
					for i := n - 1; i >= 0 && want < -count; i-- {
						if bytes.Equal(model[i], target) {
							drop[i] = true
							want++
						}
					}
					for i, e := range model {
						if !drop[i] {
							kept = append(kept, e)
						}
					}
				} else {
					for _, e := range model {
						if bytes.Equal(e, target) && (count == 0 || want < count) {
							want++
							continue
						}
						kept = append(kept, e)
					}
				}
				model = kept
				if got != want {
					t.Fatalf("step %d: LREM %d removed %d, model %d", step, count, got, want)
				}
			}
		}
		checkDequeBookkeeping(t, step, l.dq)
		maxLen = max(maxLen, len(model))
		if len(model) == 0 && maxLen > 3*dequeBlockSize {
			drained++
		}
		if l.Len() != len(model) {
			t.Fatalf("step %d: Len %d, model %d", step, l.Len(), len(model))
		}
		if len(model) > 0 {
			i := r.IntN(len(model))
			if got := l.Index(i); !bytes.Equal(got, model[i]) {
				t.Fatalf("step %d: Index(%d) = %q, model %q", step, i, got, model[i])
			}
		}
		if step%997 == 0 || step%5000 == 4999 {
			checkList(t, l, model)
			checkList(t, l.Clone().(*List), model)
		}
	}
	if maxLen <= 3*dequeBlockSize || drained == 0 {
		t.Fatalf("the test must span several blocks and drain: longest %d, drained %d times", maxLen, drained)
	}
}

// checkDequeBookkeeping checks that the blocks in use hold exactly the
// elements: element 0 lies in the first block, the last element in the
// last block, every block in use is allocated and every other ring slot is
// released.
func checkDequeBookkeeping(t *testing.T, step int, d *deque) {
	t.Helper()
	if d.head < 0 || d.head >= dequeBlockSize {
		t.Fatalf("step %d: head %d outside a block", step, d.head)
	}
	want := (d.head + d.n + dequeBlockSize - 1) / dequeBlockSize
	if d.used != want {
		t.Fatalf("step %d: %d blocks in use for head %d and %d elements, want %d", step, d.used, d.head, d.n, want)
	}
	if d.used > len(d.blocks) || len(d.blocks)&(len(d.blocks)-1) != 0 {
		t.Fatalf("step %d: %d blocks in a ring of %d", step, d.used, len(d.blocks))
	}
	if len(d.blocks) > 8 && d.used < len(d.blocks)/4 {
		t.Fatalf("step %d: ring of %d kept for %d blocks", step, len(d.blocks), d.used)
	}
	for k := range d.blocks {
		inUse := (k-d.first)&(len(d.blocks)-1) < d.used
		if inUse != (d.blocks[k] != nil) {
			t.Fatalf("step %d: ring slot %d allocated %v, in use %v", step, k, d.blocks[k] != nil, inUse)
		}
	}
}
