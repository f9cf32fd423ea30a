package controllers

import (
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestGroupMemory: what is remembered of one group is recalled for it only,
// is replaced by the next remember, is gone after forget, and concurrent
// passes on different groups do not race (run with -race).
func TestGroupMemory(t *testing.T) {
	var m groupMemory[string]
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	b := types.NamespacedName{Namespace: "ns", Name: "b"}
	if v, ok := m.recall(a); ok || v != "" {
		t.Fatalf("empty memory recalled %q, %v", v, ok)
	}
	m.remember(a, "one")
	m.remember(a, "two")
	if v, ok := m.recall(a); !ok || v != "two" {
		t.Fatalf("recall(a) = %q, %v; want two", v, ok)
	}
	if _, ok := m.recall(b); ok {
		t.Fatal("recall(b) found a's value")
	}
	m.forget(a)
	if _, ok := m.recall(a); ok {
		t.Fatal("recall(a) after forget found a value")
	}

	var wg sync.WaitGroup
	for i, key := range []types.NamespacedName{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				m.remember(key, string(rune('x'+i)))
				m.recall(key)
			}
		}()
	}
	wg.Wait()
	if v, _ := m.recall(b); v != "y" {
		t.Fatalf("recall(b) = %q, want y", v)
	}
}
