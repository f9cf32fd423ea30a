package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/hibiken/asynq"
	goredislib "github.com/redis/go-redis/v9"
)

// masterClient is a go-redis client whose connections go to the master
// Service's endpoint at the time each is dialled, so it follows failovers
// as an application behind the Service does. dials counts its dials.
func masterClient(poolSize, maxRetries int, dials *atomic.Int64) *goredislib.Client {
	return goredislib.NewClient(&goredislib.Options{
		Addr:     "master",
		Password: password,
		PoolSize: poolSize,
		// -1: no retry, so a command's error is seen by the caller.
		MaxRetries:   maxRetries,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  5 * time.Second,
		WriteTimeout: 5 * time.Second,
		Dialer: func(ctx context.Context, _, _ string) (net.Conn, error) {
			addr := masterEndpoint()
			if addr == "" {
				return nil, errNoMasterEndpoint
			}
			dials.Add(1)
			return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		},
	})
}

// asynqEnqueuer enqueues tasks one at a time through asynq on a single
// connection and counts a task acknowledged when WAIT 1 on that same
// connection (no reconnect in between) says a replica has it.
type asynqEnqueuer struct {
	mu    sync.Mutex
	acked []string
	times []time.Time
	tried int
	stop  chan struct{}
	done  chan struct{}
}

func startAsynqEnqueuer() *asynqEnqueuer {
	e := &asynqEnqueuer{stop: make(chan struct{}), done: make(chan struct{})}
	var dials atomic.Int64
	rc := masterClient(1, -1, &dials)
	client := asynq.NewClientFromRedisClient(rc)
	go func() {
		defer close(e.done)
		defer rc.Close()
		ctx := context.Background()
		for i := 0; ; i++ {
			select {
			case <-e.stop:
				return
			default:
			}
			id := "e2e-task-" + strconv.Itoa(i)
			gen := dials.Load()
			e.mu.Lock()
			e.tried++
			e.mu.Unlock()
			_, err := client.Enqueue(asynq.NewTask("e2e", []byte(id)), asynq.TaskID(id), asynq.MaxRetry(50))
			if err == nil {
				n, werr := rc.Do(ctx, "WAIT", 1, 2000).Int()
				if werr == nil && n >= 1 && dials.Load() == gen {
					e.mu.Lock()
					e.acked = append(e.acked, id)
					e.times = append(e.times, time.Now())
					e.mu.Unlock()
				}
			} else {
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return e
}

func (e *asynqEnqueuer) finish() { close(e.stop); <-e.done }

func (e *asynqEnqueuer) ackedAfter(t time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.times) > 0 && e.times[len(e.times)-1].After(t)
}

func (e *asynqEnqueuer) snapshot() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.acked...)
}

// lockLoad takes and releases a go-redsync mutex from several workers,
// counting grants and any moment two workers held it at once.
type lockLoad struct {
	grants   atomic.Int64
	errs     atomic.Int64
	overlaps atomic.Int64
	holders  atomic.Int32
	stop     chan struct{}
	wg       sync.WaitGroup
	rc       *goredislib.Client
}

func startLockLoad() *lockLoad {
	var dials atomic.Int64
	l := &lockLoad{stop: make(chan struct{}), rc: masterClient(8, 0, &dials)}
	rs := redsync.New(goredis.NewPool(l.rc))
	for w := 0; w < 4; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			m := rs.NewMutex("e2e-lock", redsync.WithExpiry(5*time.Second), redsync.WithTries(20), redsync.WithRetryDelay(10*time.Millisecond))
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := m.Lock(); err != nil {
					l.errs.Add(1)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				if l.holders.Add(1) != 1 {
					l.overlaps.Add(1)
				}
				l.grants.Add(1)
				time.Sleep(5 * time.Millisecond)
				l.holders.Add(-1)
				if _, err := m.Unlock(); err != nil {
					l.errs.Add(1)
				}
			}
		}()
	}
	return l
}

func (l *lockLoad) finish() { close(l.stop); l.wg.Wait(); _ = l.rc.Close() }

// testWorkloadsFailover runs an asynq producer and worker and a go-redsync
// lock load through master failovers (pod deletion, process kill): every
// task whose enqueue was acknowledged by WAIT 1 is processed in the end
// (asynq runs a task at least once: repeats are counted, not failed), and
// locks keep being granted after each failover. redsync's mutual
// exclusion across a failover rests on asynchronous replication, as on
// Redis: overlaps are reported, not failed.
func testWorkloadsFailover(t *testing.T) {
	if os.Getenv("E2E_WORKLOADS") == "0" {
		t.Skip("E2E_WORKLOADS=0")
	}
	rounds := 2
	if v := os.Getenv("E2E_WORKLOAD_FAILOVERS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	waitSettled(t, "", 3*time.Minute)

	var runs sync.Map // task ID -> *atomic.Int32
	mux := asynq.NewServeMux()
	mux.HandleFunc("e2e", func(ctx context.Context, task *asynq.Task) error {
		n, _ := runs.LoadOrStore(string(task.Payload()), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		return nil
	})
	var srvDials atomic.Int64
	src := masterClient(30, 3, &srvDials)
	defer src.Close()
	srv := asynq.NewServerFromRedisClient(src, asynq.Config{
		Concurrency:              10,
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 200 * time.Millisecond,
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 200 * time.Millisecond },
		ShutdownTimeout:          2 * time.Second,
		LogLevel:                 asynq.FatalLevel,
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	enq := startAsynqEnqueuer()
	locks := startLockLoad()
	finished := false
	defer func() {
		if !finished {
			enq.finish()
			locks.finish()
		}
	}()

	for i := 0; i < rounds; i++ {
		old := waitSettled(t, "", 3*time.Minute)
		waitFor(t, time.Minute, "acknowledged enqueues before the fault", func() bool { return enq.ackedAfter(time.Now().Add(-time.Second)) })
		grantsBefore := locks.grants.Load()
		fault := "kill"
		if i%2 == 1 {
			if _, err := faults.KillPod(context.Background(), namespace, old, "replnode"); err != nil {
				t.Fatalf("round %d: kill %s: %v", i+1, old, err)
			}
		} else {
			fault = "delete-pod"
			if err := kube.Delete(context.Background(), members(t)[old]); err != nil {
				t.Fatalf("round %d: delete %s: %v", i+1, old, err)
			}
		}
		time.Sleep(2 * time.Second)
		master := waitSettled(t, "", 3*time.Minute)
		settledAt := time.Now()
		waitFor(t, time.Minute, "an acknowledged enqueue after the failover", func() bool { return enq.ackedAfter(settledAt) })
		waitFor(t, time.Minute, "locks granted after the failover", func() bool { return locks.grants.Load() > grantsBefore+10 })
		t.Logf("workloads round %d %s: master %s -> %s", i+1, fault, old, master)
	}
	enq.finish()
	locks.finish()
	finished = true
	acked := enq.snapshot()
	// asynq's recoverer returns tasks whose worker lost its lease (the
	// failover cut it off) after the 30s lease and its 1-minute tick.
	var lost []string
	deadline := time.Now().Add(4 * time.Minute)
	for {
		lost = lost[:0]
		for _, id := range acked {
			if n, ok := runs.Load(id); !ok || n.(*atomic.Int32).Load() == 0 {
				lost = append(lost, id)
			}
		}
		if len(lost) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	repeats := 0
	runs.Range(func(_, v any) bool {
		if n := v.(*atomic.Int32).Load(); n > 1 {
			repeats += int(n) - 1
		}
		return true
	})
	line := fmt.Sprintf("workloads through %d failovers: asynq %d enqueues tried, %d acknowledged by WAIT, %d of them never processed, %d repeated runs; redsync %d grants, %d errors, %d overlaps",
		rounds, enq.tried, len(acked), len(lost), repeats, locks.grants.Load(), locks.errs.Load(), locks.overlaps.Load())
	t.Log(line)
	record(line)
	if len(lost) > 0 {
		sort.Strings(lost)
		insp := asynq.NewInspectorFromRedisClient(src)
		for _, id := range lost[:min(len(lost), 10)] {
			info, err := insp.GetTaskInfo("default", id)
			if errors.Is(err, asynq.ErrTaskNotFound) {
				t.Logf("lost %s: not in the queue", id)
			} else if err == nil {
				t.Logf("lost %s: %v (retried %d, last error %q)", id, info.State, info.Retried, info.LastErr)
			}
		}
		t.Errorf("%d tasks acknowledged by WAIT were never processed", len(lost))
	}
	if len(acked) == 0 {
		t.Error("no enqueue was acknowledged")
	}
}
