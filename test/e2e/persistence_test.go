package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/test/internal/resp"
)

// testRestartAll switches the group to spec.persistence aof with
// appendfsync always (a rolling update), then kills the server process of
// every member at once under WAIT-acknowledged load: each restarts on its
// PVC from its append-only file, with the replication ID and offset its
// AOF records (replnode/aof, position.go), and the group settles with
// every acknowledged write. See docs/failover.md, "Persistence and WAIT".
func testRestartAll(t *testing.T) {
	waitSettled(t, "", 3*time.Minute)
	var gen int64
	waitFor(t, time.Minute, "spec.persistence set (status updates may conflict)", func() bool {
		rg := getGroup(t)
		rg.Spec.Persistence = v1alpha1.PersistenceSpec{Mode: v1alpha1.PersistenceAOF, AppendFsync: "always"}
		if err := kube.Update(context.Background(), rg); err != nil {
			t.Logf("set spec.persistence: %v", err)
			return false
		}
		gen = rg.Generation
		return true
	})
	waitFor(t, 5*time.Minute, "every member running with appendonly yes", func() bool {
		cur := getGroup(t)
		if cur.Status.ObservedGeneration < gen {
			return false
		}
		if _, ok := settled(t, ""); !ok {
			return false
		}
		for _, p := range members(t) {
			in := info(p.Status.PodIP+":6379", "persistence")
			if resp.InfoField(in, "aof_enabled") != "1" || resp.InfoField(in, "aof_rewrite_in_progress") != "0" {
				return false
			}
		}
		return true
	})
	w := startWriter()
	waitFor(t, time.Minute, "acknowledged writes before the restart", func() bool { return w.AckedAfter(time.Now().Add(-time.Second)) })
	time.Sleep(3 * time.Second)
	pods := members(t)
	at := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(pods))
	for name := range pods {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			if _, err := faults.KillPod(context.Background(), namespace, name, "replnode"); err != nil {
				errs <- fmt.Errorf("kill %s: %w", name, err)
			}
		}(name)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	deadline := time.Now().Add(5 * time.Minute)
	var master string
	for {
		m, ok := settled(t, "")
		if ok {
			master = m
			break
		}
		if time.Now().After(deadline) {
			// Say why before the cluster goes away.
			rg := getGroup(t)
			for _, c := range rg.Status.Conditions {
				t.Logf("condition %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
			}
			for _, m := range rg.Status.Members {
				t.Logf("member %+v", m)
			}
			out, _ := kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
			t.Logf("events:\n%s", out)
			t.Fatalf("the group did not settle within 5m after every member was killed")
		}
		time.Sleep(250 * time.Millisecond)
	}
	settledAt := time.Now()
	waitFor(t, 2*time.Minute, "an acknowledged write after the restart", func() bool { return w.AckedAfter(settledAt) })
	w.Finish()
	keys := w.Acked()
	lost := missing(t, masterEndpoint(), keys)
	line := fmt.Sprintf("restart-all (aof, appendfsync always): every member killed at once, master %s after %s, %d acked writes, %d lost",
		master, w.Outage(at, time.Now()).Round(100*time.Millisecond), len(keys), lost)
	t.Log(line)
	record(line)
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost across a restart of every member", lost)
	}
}
