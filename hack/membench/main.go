package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// dataset is one shape of data loaded into a fresh server.
type dataset struct {
	name string
	keys int
	// load queues the commands that create key i on p.
	load func(p redis.Pipeliner, i int)
}

func datasets(scale float64) []dataset {
	n := func(base int) int { return max(1, int(float64(base)*scale)) }
	return []dataset{
		{"strings", n(1_000_000), func(p redis.Pipeliner, i int) {
			p.Set(context.Background(), "key:"+strconv.Itoa(i), "value:"+strconv.Itoa(i), 0)
		}},
		{"hashes-x10", n(100_000), func(p redis.Pipeliner, i int) {
			args := make([]any, 0, 20)
			for f := 0; f < 10; f++ {
				args = append(args, "field:"+strconv.Itoa(f), "value:"+strconv.Itoa(i*10+f))
			}
			p.HSet(context.Background(), "hash:"+strconv.Itoa(i), args...)
		}},
		{"lists-x20", n(100_000), func(p redis.Pipeliner, i int) {
			args := make([]any, 0, 20)
			for e := 0; e < 20; e++ {
				args = append(args, "element:"+strconv.Itoa(i*20+e))
			}
			p.RPush(context.Background(), "list:"+strconv.Itoa(i), args...)
		}},
		{"zsets-x20", n(100_000), func(p redis.Pipeliner, i int) {
			members := make([]redis.Z, 0, 20)
			for e := 0; e < 20; e++ {
				members = append(members, redis.Z{Score: float64(i*20 + e), Member: "member:" + strconv.Itoa(e)})
			}
			p.ZAdd(context.Background(), "zset:"+strconv.Itoa(i), members...)
		}},
	}
}

type figures struct{ used, rss int64 }

func main() {
	replnodeBin := flag.String("replnode", "bin/replnode", "replnode binary")
	redisBin := flag.String("redis-server", "redis-server", "redis-server 7.0 binary (empty skips it)")
	only := flag.String("only", "", "comma-separated dataset names (strings, hashes-x10, lists-x20, zsets-x20); empty runs all")
	scale := flag.Float64("scale", 1, "multiplies every dataset's key count")
	flag.Parse()
	servers := [][2]string{{"replnode", *replnodeBin}}
	if *redisBin != "" {
		servers = append(servers, [2]string{"redis-server", *redisBin})
	}
	fmt.Printf("| dataset | keys | server | used_memory B/key | VmRSS B/key | load s |\n|---|---:|---|---:|---:|---:|\n")
	failed := false
	for _, d := range datasets(*scale) {
		if *only != "" && !strings.Contains(","+*only+",", ","+d.name+",") {
			continue
		}
		for _, srv := range servers {
			before, after, secs, err := measure(srv[0], srv[1], d)
			if err != nil {
				fmt.Fprintf(os.Stderr, "membench: %s %s: %v\n", d.name, srv[0], err)
				failed = true
				continue
			}
			fmt.Printf("| %s | %d | %s | %.1f | %.1f | %.1f |\n", d.name, d.keys, srv[0],
				float64(after.used-before.used)/float64(d.keys), float64(after.rss-before.rss)/float64(d.keys), secs)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// measure loads d into a fresh server and returns its figures before and after.
func measure(name, bin string, d dataset) (before, after figures, secs float64, err error) {
	dir, err := os.MkdirTemp("", "membench-"+name+"-")
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "server.log"), "--daemonize", "no")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err = cmd.Start(); err != nil {
		return
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for c.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			return before, after, 0, fmt.Errorf("not ready on port %d", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	probe := func() (f figures, err error) {
		if err = c.Do(ctx, "MEMORY", "PURGE").Err(); err != nil {
			return
		}
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				f.used, err = strconv.ParseInt(v, 10, 64)
			}
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, perr := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				if perr != nil {
					return f, perr
				}
				f.rss = kb * 1024
			}
		}
		return
	}
	if before, err = probe(); err != nil {
		return
	}
	start := time.Now()
	const batch = 1000
	for i := 0; i < d.keys; i += batch {
		p := c.Pipeline()
		for j := i; j < min(i+batch, d.keys); j++ {
			d.load(p, j)
		}
		if _, err = p.Exec(ctx); err != nil {
			return
		}
	}
	secs = time.Since(start).Seconds()
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		return
	}
	if n != int64(d.keys) {
		return before, after, secs, fmt.Errorf("DBSIZE %d after loading %d keys", n, d.keys)
	}
	after, err = probe()
	return
}
