package server_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	goredislib "github.com/redis/go-redis/v9"

	"github.com/replnode/replnode/replnode/redistest"
)

// TestAsynqWorkload runs a real asynq v0.26 workload (its 49 Lua scripts)
// against replnode and, as the reference, against redis-server 7.0:
// enqueue, process, retry, scheduled and unique tasks, group aggregation,
// completed-task retention and its janitor, a paused queue, requeue on
// shutdown, the cron scheduler, and the Inspector (archive, run, delete,
// update, queue removal). Each backend must keep asynq's promises (every
// task runs exactly as often as its kind says, none lost); the Inspector
// transcript, which is deterministic, must be equal on both; and every
// script in asynq's source must have run on replnode without a script
// error other than the ones redis-server also gives.
func TestAsynqWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("asynq workload takes seconds")
	}
	scripts := asynqScripts(t)
	tasks := 10000
	if v := os.Getenv("ASYNQ_TASKS"); v != "" {
		tasks, _ = strconv.Atoi(v)
	}
	results := map[string]*asynqRun{}
	for _, backend := range []string{"redis-server", "replnode"} {
		t.Run(backend, func(t *testing.T) {
			var in *redistest.Instance
			if backend == "redis-server" {
				in = redistest.StartRedis(t)
			} else {
				in = redistest.StartInProcess(t)
			}
			run := &asynqRun{scripts: map[string]int{}, scriptErrors: map[string]int{}}
			results[backend] = run
			client := goredislib.NewClient(&goredislib.Options{Addr: in.Addr, PoolSize: 64})
			client.AddHook(scriptRecorder{run})
			t.Cleanup(func() { _ = client.Close() })
			asynqProcessWorkload(t, client, tasks)
			run.transcript = asynqInspectorTranscript(t, client)
		})
	}
	ref, ours := results["redis-server"], results["replnode"]
	if ref == nil || ours == nil || t.Failed() {
		return
	}
	if ref.transcript != ours.transcript {
		t.Errorf("Inspector transcript differs:\n%s", lineDiff(ref.transcript, ours.transcript))
	}
	for e, n := range ours.scriptErrors {
		if ref.scriptErrors[e] == 0 {
			t.Errorf("replnode answered a script with %q (%d times); redis-server never did", e, n)
		}
	}
	var missing []string
	for sha, name := range scripts {
		if ours.scripts[sha] == 0 {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("asynq scripts never run on replnode: %v", missing)
	}
	t.Logf("%d asynq scripts, all run on replnode (%d script calls)", len(scripts), ours.calls.Load())
}

// asynqRun is what one backend's run recorded.
type asynqRun struct {
	mu           sync.Mutex
	scripts      map[string]int // sha1 -> calls
	scriptErrors map[string]int // error reply -> count
	calls        atomic.Int64
	transcript   string
}

// scriptRecorder is a go-redis hook noting every script asynq runs (by
// SHA1, for EVAL and EVALSHA alike) and every error reply a script gets
// other than -NOSCRIPT (go-redis's cue to send the source).
type scriptRecorder struct{ run *asynqRun }

func (h scriptRecorder) DialHook(next goredislib.DialHook) goredislib.DialHook { return next }

func (h scriptRecorder) ProcessHook(next goredislib.ProcessHook) goredislib.ProcessHook {
	return func(ctx context.Context, cmd goredislib.Cmder) error {
		err := next(ctx, cmd)
		h.record(cmd)
		return err
	}
}

func (h scriptRecorder) ProcessPipelineHook(next goredislib.ProcessPipelineHook) goredislib.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredislib.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			h.record(c)
		}
		return err
	}
}

func (h scriptRecorder) record(cmd goredislib.Cmder) {
	args := cmd.Args()
	if len(args) < 2 {
		return
	}
	var sha string
	switch strings.ToLower(fmt.Sprint(args[0])) {
	case "evalsha", "evalsha_ro":
		sha = strings.ToLower(fmt.Sprint(args[1]))
	case "eval", "eval_ro":
		sum := sha1.Sum([]byte(fmt.Sprint(args[1])))
		sha = hex.EncodeToString(sum[:])
	default:
		return
	}
	h.run.calls.Add(1)
	h.run.mu.Lock()
	defer h.run.mu.Unlock()
	h.run.scripts[sha]++
	if err := cmd.Err(); err != nil && err != goredislib.Nil && !strings.HasPrefix(err.Error(), "NOSCRIPT") &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		h.run.scriptErrors[err.Error()]++
	}
}

// asynqScripts reads every script of asynq's redis broker from the module
// source and returns SHA1 -> a name (file:line), so the test notices a
// script it never ran.
func asynqScripts(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hibiken/asynq").Output()
	if err != nil {
		t.Fatalf("go list asynq: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "rdb")
	re := regexp.MustCompile("(?s)var (\\w+) = redis\\.NewScript\\(`(.*?)`\\)")
	scripts := map[string]string{}
	for _, f := range []string{"rdb.go", "inspect.go"} {
		src, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			sum := sha1.Sum([]byte(m[2]))
			scripts[hex.EncodeToString(sum[:])] = f + ":" + m[1]
		}
	}
	if len(scripts) < 40 {
		t.Fatalf("found only %d asynq scripts in %s", len(scripts), dir)
	}
	return scripts
}

// asynqCounts counts handler invocations per task ID.
type asynqCounts struct {
	mu   sync.Mutex
	runs map[string]int
}

func (c *asynqCounts) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs[id]++
	return c.runs[id]
}

func (c *asynqCounts) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[id]
}

// asynqProcessWorkload enqueues tasks of every kind, processes them with
// an asynq server and checks each ran as often as its kind says.
func asynqProcessWorkload(t *testing.T, rc *goredislib.Client, plain int) {
	client := asynq.NewClientFromRedisClient(rc)
	insp := asynq.NewInspectorFromRedisClient(rc)
	counts := &asynqCounts{runs: map[string]int{}}
	var aggregated atomic.Int64
	release := make(chan struct{})
	started := make(chan string, 1)

	mux := asynq.NewServeMux()
	mux.HandleFunc("plain", func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		counts.add(id)
		return nil
	})
	// flaky fails its first two attempts.
	mux.HandleFunc("flaky", func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		if counts.add(id) <= 2 {
			return errors.New("flaky failure")
		}
		return nil
	})
	mux.HandleFunc("scheduled", func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		counts.add(id)
		due, _ := strconv.ParseInt(string(task.Payload()), 10, 64)
		if now := time.Now().Unix(); now < due {
			t.Errorf("scheduled task %s ran at %d, before %d", id, now, due)
		}
		return nil
	})
	mux.HandleFunc("doomed", func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		if counts.add(id) == 1 && strings.HasSuffix(id, "skip") {
			return fmt.Errorf("no point: %w", asynq.SkipRetry)
		}
		return errors.New("always fails")
	})
	mux.HandleFunc("aggregated", func(ctx context.Context, task *asynq.Task) error {
		n := len(strings.Split(string(task.Payload()), ","))
		aggregated.Add(int64(n))
		return nil
	})
	mux.HandleFunc("slow", func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		if counts.add(id) == 1 {
			started <- id
			<-release
		}
		return nil
	})
	mux.HandleFunc("cron", func(ctx context.Context, task *asynq.Task) error { return nil })

	config := asynq.Config{
		Concurrency:              20,
		Queues:                   map[string]int{"critical": 6, "default": 3, "paused": 1},
		TaskCheckInterval:        20 * time.Millisecond,
		DelayedTaskCheckInterval: 100 * time.Millisecond,
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond },
		JanitorInterval:          200 * time.Millisecond,
		ShutdownTimeout:          300 * time.Millisecond,
		GroupGracePeriod:         time.Second,
		GroupMaxSize:             10,
		GroupAggregator: asynq.GroupAggregatorFunc(func(group string, tasks []*asynq.Task) *asynq.Task {
			var parts []string
			for _, task := range tasks {
				parts = append(parts, string(task.Payload()))
			}
			return asynq.NewTask("aggregated", []byte(strings.Join(parts, ",")))
		}),
		LogLevel: asynq.ErrorLevel,
	}

	// The paused queue holds its tasks until it is unpaused.
	if err := insp.PauseQueue("paused"); err != nil {
		t.Fatal(err)
	}
	var ids []string // each must run exactly once
	enqueue := func(task *asynq.Task, opts ...asynq.Option) {
		t.Helper()
		info, err := client.Enqueue(task, opts...)
		if err != nil {
			t.Fatalf("enqueue %s: %v", task.Type(), err)
		}
		ids = append(ids, info.ID)
	}
	for i := 0; i < plain; i++ {
		q := "default"
		if i%4 == 0 {
			q = "critical"
		}
		opts := []asynq.Option{asynq.Queue(q), asynq.TaskID("plain-" + strconv.Itoa(i))}
		if i%10 == 0 {
			opts = append(opts, asynq.Retention(time.Second)) // markAsComplete (whole seconds), then the janitor
		}
		enqueue(asynq.NewTask("plain", nil), opts...)
	}
	var pausedIDs []string
	for i := 0; i < 20; i++ {
		enqueue(asynq.NewTask("plain", nil), asynq.Queue("paused"), asynq.TaskID("paused-"+strconv.Itoa(i)))
		pausedIDs = append(pausedIDs, ids[len(ids)-1])
	}
	var flakyIDs []string
	for i := 0; i < 50; i++ {
		info, err := client.Enqueue(asynq.NewTask("flaky", nil), asynq.MaxRetry(5), asynq.TaskID("flaky-"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		flakyIDs = append(flakyIDs, info.ID)
	}
	for i := 0; i < 50; i++ {
		due := time.Now().Add(time.Duration(500+20*i) * time.Millisecond)
		payload := []byte(strconv.FormatInt(due.Unix(), 10))
		enqueue(asynq.NewTask("scheduled", payload), asynq.ProcessAt(due))
	}
	// Unique tasks: a second enqueue while the first holds the lock is
	// refused (enqueueUnique, scheduleUnique, addToGroupUnique), and
	// their completion releases the lock (doneUnique, markAsCompleteUnique).
	for i := 0; i < 30; i++ {
		task := asynq.NewTask("plain", []byte("unique-"+strconv.Itoa(i)))
		opts := []asynq.Option{asynq.Unique(time.Hour)}
		switch i % 3 {
		case 1:
			opts = append(opts, asynq.ProcessIn(300*time.Millisecond))
		case 2:
			opts = append(opts, asynq.Retention(time.Hour))
		}
		enqueue(task, opts...)
		if _, err := client.Enqueue(task, opts...); !errors.Is(err, asynq.ErrDuplicateTask) {
			t.Fatalf("second enqueue of unique task %d: %v, want ErrDuplicateTask", i, err)
		}
	}
	for i := 0; i < 25; i++ {
		opts := []asynq.Option{asynq.Group("g" + strconv.Itoa(i%2))}
		if i%5 == 0 {
			opts = append(opts, asynq.Unique(time.Hour))
		}
		if _, err := client.Enqueue(asynq.NewTask("plain", []byte("item-"+strconv.Itoa(i))), opts...); err != nil {
			t.Fatal(err)
		}
	}
	var doomedIDs []string
	for i := 0; i < 10; i++ {
		id := "doomed-" + strconv.Itoa(i)
		if i%2 == 0 {
			id += "-skip"
		}
		info, err := client.Enqueue(asynq.NewTask("doomed", nil), asynq.MaxRetry(1), asynq.TaskID(id))
		if err != nil {
			t.Fatal(err)
		}
		doomedIDs = append(doomedIDs, info.ID)
	}

	scheduler := asynq.NewSchedulerFromRedisClient(rc, &asynq.SchedulerOpts{LogLevel: asynq.ErrorLevel})
	if _, err := scheduler.Register("@every 1s", asynq.NewTask("cron", nil)); err != nil {
		t.Fatal(err)
	}
	if err := scheduler.Start(); err != nil {
		t.Fatal(err)
	}

	srv := asynq.NewServerFromRedisClient(rc, config)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitUntil := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s", d, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// While the queue is paused its tasks stay pending.
	time.Sleep(500 * time.Millisecond)
	for _, id := range pausedIDs {
		if n := counts.get(id); n != 0 {
			t.Fatalf("task %s of the paused queue ran %d times", id, n)
		}
	}
	if info, err := insp.GetQueueInfo("paused"); err != nil || !info.Paused || info.Pending != len(pausedIDs) {
		t.Fatalf("paused queue info: %+v %v", info, err)
	}
	if err := insp.UnpauseQueue("paused"); err != nil {
		t.Fatal(err)
	}
	waitUntil("every task to run", 3*time.Minute, func() bool {
		for _, id := range ids {
			if counts.get(id) == 0 {
				return false
			}
		}
		for _, id := range flakyIDs {
			if counts.get(id) < 3 {
				return false
			}
		}
		return aggregated.Load() >= 25
	})
	t.Logf("%d tasks processed in %v", len(ids)+len(flakyIDs), time.Since(start).Round(time.Millisecond))
	waitUntil("the doomed tasks to be archived", time.Minute, func() bool {
		info, err := insp.GetQueueInfo("default")
		return err == nil && info.Archived == len(doomedIDs)
	})
	waitUntil("expired completed tasks to be deleted by the janitor", time.Minute, func() bool {
		info, err := insp.GetQueueInfo("default")
		// The unique tasks with an hour's retention stay.
		return err == nil && info.Completed == 10
	})
	// Give a duplicate run time to show.
	time.Sleep(300 * time.Millisecond)
	for _, id := range ids {
		if n := counts.get(id); n != 1 {
			t.Errorf("task %s ran %d times, want once", id, n)
		}
	}
	for _, id := range flakyIDs {
		if n := counts.get(id); n != 3 {
			t.Errorf("flaky task %s ran %d times, want 3 (two failures, one success)", id, n)
		}
	}
	for _, id := range doomedIDs {
		want := 2
		if strings.HasSuffix(id, "skip") {
			want = 1
		}
		if n := counts.get(id); n != want {
			t.Errorf("doomed task %s ran %d times, want %d", id, n, want)
		}
	}
	if n := aggregated.Load(); n != 25 {
		t.Errorf("aggregated tasks carried %d items, want 25", n)
	}
	// Unique locks were released on completion: the same task enqueues again.
	if _, err := client.Enqueue(asynq.NewTask("plain", []byte("unique-0")), asynq.Unique(time.Hour), asynq.TaskID("unique-again")); err != nil {
		t.Errorf("unique task enqueued after it completed: %v", err)
	}

	// The Inspector sees the running server and the scheduler.
	waitUntil("the server and scheduler to be listed", 30*time.Second, func() bool {
		servers, err := insp.Servers()
		entries, err2 := insp.SchedulerEntries()
		return err == nil && err2 == nil && len(servers) == 1 && len(entries) == 1
	})
	entries, _ := insp.SchedulerEntries()
	waitUntil("a scheduler enqueue event", 30*time.Second, func() bool {
		events, err := insp.ListSchedulerEnqueueEvents(entries[0].ID)
		return err == nil && len(events) > 0
	})
	if _, err := insp.History("default", 2); err != nil {
		t.Errorf("History: %v", err)
	}
	scheduler.Shutdown()

	// A task still running at shutdown goes back to pending (requeue) and
	// the next server runs it.
	slow, err := client.Enqueue(asynq.NewTask("slow", nil), asynq.TaskID("slow"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow task never started")
	}
	srv.Shutdown()
	close(release)
	if info, err := insp.GetTaskInfo("default", slow.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("slow task after shutdown: %+v %v, want pending", info, err)
	}
	if servers, err := insp.Servers(); err != nil || len(servers) != 0 {
		t.Fatalf("servers after shutdown: %v %v", servers, err)
	}
	srv2 := asynq.NewServerFromRedisClient(rc, config)
	if err := srv2.Start(mux); err != nil {
		t.Fatal(err)
	}
	waitUntil("the requeued task to complete", 30*time.Second, func() bool { return counts.get(slow.ID) == 2 })
	srv2.Shutdown()
}

// asynqInspectorTranscript drives the Inspector's scripts over a fixed
// set of tasks (no server processing them) and returns what it saw,
// without times, so two backends can be compared line by line.
func asynqInspectorTranscript(t *testing.T, rc *goredislib.Client) string {
	client := asynq.NewClientFromRedisClient(rc)
	insp := asynq.NewInspectorFromRedisClient(rc)
	var b strings.Builder
	say := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	taskLine := func(ti *asynq.TaskInfo) string {
		return fmt.Sprintf("%s %s %s %q %v retry=%d/%d group=%q err=%q orphan=%v", ti.ID, ti.Queue, ti.Type, ti.Payload, ti.State, ti.Retried, ti.MaxRetry, ti.Group, ti.LastErr, ti.IsOrphaned)
	}
	list := func(name string, tis []*asynq.TaskInfo, err error) {
		sort.Slice(tis, func(i, j int) bool { return tis[i].ID < tis[j].ID })
		say("%s: %d err=%v", name, len(tis), err)
		for _, ti := range tis {
			say("  %s", taskLine(ti))
		}
	}
	n := func(name string, k int, err error) { say("%s: %d err=%v", name, k, err) }
	e := func(name string, err error) { say("%s: err=%v", name, err) }
	q := "inspect"
	for i := 0; i < 6; i++ {
		_, err := client.Enqueue(asynq.NewTask("p", []byte("pending-"+strconv.Itoa(i))), asynq.Queue(q), asynq.TaskID("p"+strconv.Itoa(i)))
		e("enqueue pending", err)
		_, err = client.Enqueue(asynq.NewTask("s", []byte("sched-"+strconv.Itoa(i))), asynq.Queue(q), asynq.TaskID("s"+strconv.Itoa(i)), asynq.ProcessIn(time.Hour+time.Duration(i)*time.Minute))
		e("enqueue scheduled", err)
		_, err = client.Enqueue(asynq.NewTask("g", []byte("grouped-"+strconv.Itoa(i))), asynq.Queue(q), asynq.TaskID("g"+strconv.Itoa(i)), asynq.Group("grp"))
		e("enqueue grouped", err)
	}
	_, err := client.Enqueue(asynq.NewTask("p", nil), asynq.Queue(q), asynq.TaskID("p0"))
	e("enqueue duplicate ID", err)

	queues, err := insp.Queues()
	sort.Strings(queues)
	say("queues: %v err=%v", queues, err)
	info, err := insp.GetQueueInfo(q)
	if err == nil {
		say("queue info: size=%d groups=%d pending=%d active=%d scheduled=%d retry=%d archived=%d completed=%d aggregating=%d paused=%v memory>0=%v",
			info.Size, info.Groups, info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived, info.Completed, info.Aggregating, info.Paused, info.MemoryUsage > 0)
	} else {
		e("queue info", err)
	}
	groups, err := insp.Groups(q)
	for _, g := range groups {
		say("group %s size=%d", g.Group, g.Size)
	}
	e("groups", err)
	ti, err := insp.GetTaskInfo(q, "s3")
	if err == nil {
		say("task info: %s", taskLine(ti))
	}
	e("get task info", err)
	_, err = insp.GetTaskInfo(q, "nope")
	e("get missing task", err)

	tis, err := insp.ListPendingTasks(q, asynq.PageSize(4), asynq.Page(1))
	list("pending page 1", tis, err)
	tis, err = insp.ListPendingTasks(q, asynq.PageSize(4), asynq.Page(2))
	list("pending page 2", tis, err)
	tis, err = insp.ListScheduledTasks(q)
	list("scheduled", tis, err)
	tis, err = insp.ListAggregatingTasks(q, "grp")
	list("aggregating", tis, err)
	tis, err = insp.ListActiveTasks(q)
	list("active", tis, err)

	e("update payload", insp.UpdateTaskPayload(q, "s1", []byte("new payload")))
	e("update pending payload", insp.UpdateTaskPayload(q, "p1", []byte("x")))
	e("archive task", insp.ArchiveTask(q, "p1"))
	e("archive scheduled task", insp.ArchiveTask(q, "s1"))
	e("archive archived task", insp.ArchiveTask(q, "s1"))
	e("archive missing", insp.ArchiveTask(q, "nope"))
	tis, err = insp.ListArchivedTasks(q)
	list("archived", tis, err)
	e("run archived task", insp.RunTask(q, "s1"))
	e("run pending task", insp.RunTask(q, "p2"))
	e("run scheduled task", insp.RunTask(q, "s2"))
	e("run missing", insp.RunTask(q, "nope"))
	e("delete task", insp.DeleteTask(q, "p3"))
	e("delete missing", insp.DeleteTask(q, "nope"))
	e("delete grouped task", insp.DeleteTask(q, "g0"))
	k, err := insp.ArchiveAllScheduledTasks(q)
	n("archive all scheduled", k, err)
	k, err = insp.RunAllArchivedTasks(q)
	n("run all archived", k, err)
	k, err = insp.ArchiveAllPendingTasks(q)
	n("archive all pending", k, err)
	k, err = insp.ArchiveAllAggregatingTasks(q, "grp")
	n("archive all aggregating", k, err)
	tis, err = insp.ListArchivedTasks(q)
	list("archived", tis, err)
	k, err = insp.DeleteAllArchivedTasks(q)
	n("delete all archived", k, err)
	for i := 0; i < 4; i++ {
		_, err := client.Enqueue(asynq.NewTask("g", []byte("again-"+strconv.Itoa(i))), asynq.Queue(q), asynq.TaskID("h"+strconv.Itoa(i)), asynq.Group("grp2"))
		e("enqueue grouped", err)
		_, err = client.Enqueue(asynq.NewTask("p", nil), asynq.Queue(q), asynq.TaskID("r"+strconv.Itoa(i)), asynq.ProcessIn(time.Hour))
		e("enqueue scheduled", err)
	}
	k, err = insp.RunAllAggregatingTasks(q, "grp2")
	n("run all aggregating", k, err)
	k, err = insp.RunAllScheduledTasks(q)
	n("run all scheduled", k, err)
	k, err = insp.RunAllRetryTasks(q)
	n("run all retry", k, err)
	k, err = insp.DeleteAllScheduledTasks(q)
	n("delete all scheduled", k, err)
	k, err = insp.DeleteAllCompletedTasks(q)
	n("delete all completed", k, err)
	for i := 0; i < 3; i++ {
		_, err := client.Enqueue(asynq.NewTask("g", nil), asynq.Queue(q), asynq.TaskID("k"+strconv.Itoa(i)), asynq.Group("grp3"))
		e("enqueue grouped", err)
	}
	k, err = insp.DeleteAllAggregatingTasks(q, "grp3")
	n("delete all aggregating", k, err)
	tis, err = insp.ListPendingTasks(q)
	list("pending", tis, err)
	e("remove non-empty queue", insp.DeleteQueue(q, false))
	k, err = insp.DeleteAllPendingTasks(q)
	n("delete all pending", k, err)
	e("remove empty queue", insp.DeleteQueue(q, false))
	_, err = client.Enqueue(asynq.NewTask("p", nil), asynq.Queue("forced"))
	e("enqueue", err)
	e("force-remove queue", insp.DeleteQueue("forced", true))
	e("remove missing queue", insp.DeleteQueue("forced", true))
	queues, err = insp.Queues()
	sort.Strings(queues)
	say("queues: %v err=%v", queues, err)
	return b.String()
}

// lineDiff shows the lines where two transcripts differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  redis-server: %s\n  replnode:     %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestAsynqWorkloadRealReplica: a redis-server 7.0 replica of a replnode
// master running the asynq workload (its scripts' effects replicated as
// MULTI/EXEC blocks, EXPIREAT, unique locks with SET NX EX) ends with the
// master's data: equal offsets, then an equal DEBUG DIGEST.
func TestAsynqWorkloadRealReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("asynq workload takes seconds")
	}
	master := redistest.StartInProcess(t, "enable-debug-command yes", "repl-diskless-sync-delay 0")
	replica := redistest.StartRedis(t, "replicaof 127.0.0.1 "+strconv.Itoa(master.Port), "enable-debug-command local", "repl-diskless-sync-delay 0")
	mc := goredislib.NewClient(&goredislib.Options{Addr: master.Addr, PoolSize: 64})
	rc := goredislib.NewClient(&goredislib.Options{Addr: replica.Addr})
	t.Cleanup(func() { _ = mc.Close(); _ = rc.Close() })
	ctx := context.Background()
	waitReplication := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	infoField := func(c *goredislib.Client, field string) string {
		s, _ := c.Info(ctx, "replication").Result()
		for _, line := range strings.Split(s, "\r\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				return v
			}
		}
		return ""
	}
	waitReplication("the replica's link", func() bool { return infoField(rc, "master_link_status") == "up" })
	asynqProcessWorkload(t, mc, 2000)
	asynqInspectorTranscript(t, mc)
	waitReplication("equal offsets", func() bool {
		return infoField(mc, "master_repl_offset") == infoField(rc, "master_repl_offset")
	})
	dm, err := mc.Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		t.Fatal(err)
	}
	dr, err := rc.Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		t.Fatal(err)
	}
	if dm != dr {
		t.Fatalf("DEBUG DIGEST: replnode master %s, redis-server replica %s", dm, dr)
	}
	if n, _ := rc.DBSize(ctx).Result(); n == 0 {
		t.Fatal("the replica holds no keys")
	}
}
