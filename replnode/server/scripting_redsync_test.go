package server_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	goredislib "github.com/redis/go-redis/v9"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestRedsyncUnderContention: go-redsync's mutex (SET NX PX to lock, Lua
// scripts to unlock and extend) on replnode never lets two holders in,
// and a read-modify-write counter guarded by it loses no increment.
func TestRedsyncUnderContention(t *testing.T) {
	in := redistest.StartInProcess(t)
	client := goredislib.NewClient(&goredislib.Options{Addr: in.Addr, PoolSize: 16})
	t.Cleanup(func() { _ = client.Close() })
	rs := redsync.New(goredis.NewPool(client))
	ctx := context.Background()

	const workers, rounds = 8, 25
	var holders atomic.Int32
	var overlaps atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := rs.NewMutex("lock:counter", redsync.WithExpiry(5*time.Second), redsync.WithTries(1000), redsync.WithRetryDelay(time.Millisecond))
			for i := 0; i < rounds; i++ {
				if err := m.LockContext(ctx); err != nil {
					t.Errorf("lock: %v", err)
					return
				}
				if holders.Add(1) != 1 {
					overlaps.Add(1)
				}
				v, err := client.Get(ctx, "counter").Result()
				if err != nil && err != goredislib.Nil {
					t.Errorf("get: %v", err)
				}
				n, _ := strconv.Atoi(v)
				if err := client.Set(ctx, "counter", n+1, 0).Err(); err != nil {
					t.Errorf("set: %v", err)
				}
				if ok, err := m.ExtendContext(ctx); !ok || err != nil {
					t.Errorf("extend: %v %v", ok, err)
				}
				holders.Add(-1)
				if ok, err := m.UnlockContext(ctx); !ok || err != nil {
					t.Errorf("unlock: %v %v", ok, err)
				}
			}
		}()
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d times two workers held the lock", overlaps.Load())
	}
	if v, _ := client.Get(ctx, "counter").Int(); v != workers*rounds {
		t.Fatalf("counter = %d, want %d", v, workers*rounds)
	}
	// A lock that expired and was taken by another cannot be released
	// or extended by its former owner (the scripts compare the value).
	a := rs.NewMutex("lock:expiring", redsync.WithExpiry(50*time.Millisecond), redsync.WithTries(1))
	if err := a.Lock(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	b := rs.NewMutex("lock:expiring", redsync.WithExpiry(5*time.Second), redsync.WithTries(1))
	if err := b.Lock(); err != nil {
		t.Fatalf("lock after expiry: %v", err)
	}
	if ok, _ := a.Unlock(); ok {
		t.Fatal("the former owner released a lock it no longer holds")
	}
	if ok, _ := a.Extend(); ok {
		t.Fatal("the former owner extended a lock it no longer holds")
	}
	if ok, err := b.Unlock(); !ok || err != nil {
		t.Fatalf("the owner's unlock: %v %v", ok, err)
	}
}
