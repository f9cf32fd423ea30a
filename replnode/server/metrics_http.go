package server

import (
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	nodemetrics "github.com/replnode/replnode/replnode/metrics"
)

// metricsEndpoint is the HTTP listener of /metrics (metrics-port,
// metrics-bind: a replnode extension, off by default).
type metricsEndpoint struct {
	listener net.Listener
	http     *http.Server
}

// metricsSections are the INFO sections a scrape exports (nil: as INFO
// renders them). modules and cluster carry nothing redis_exporter maps.
var metricsSections = map[string]func(*Server, *strings.Builder){
	"server": nil, "clients": nil, "memory": nil, "persistence": nil, "stats": nil,
	"replication": nil, "cpu": nil, "commandstats": nil, "errorstats": nil,
	"latencystats": nil, "keyspace": infoKeyspaceCounts,
}

var errShuttingDown = errors.New("server is shutting down")

// schedPausesMetrics selects the runtime/metrics pause histograms the Go
// collector exports besides its defaults.
var schedPausesMetrics = regexp.MustCompile(`^/sched/pauses/.*`)

// ListenMetrics opens the metrics listener when metrics-port is set.
func (s *Server) ListenMetrics() error {
	port := s.Config.Int("metrics-port")
	if port == 0 {
		return nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(s.Config.String("metrics-bind"), strconv.FormatInt(port, 10)))
	if err != nil {
		return err
	}
	s.ListenMetricsOn(l)
	return nil
}

// ListenMetricsOn serves /metrics on an already open listener (tests).
func (s *Server) ListenMetricsOn(l net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.MetricsHandler())
	s.metricsHTTP = &metricsEndpoint{listener: l, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
}

// MetricsAddr is the metrics listener's address, nil when there is none.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsHTTP == nil {
		return nil
	}
	return s.metricsHTTP.listener.Addr()
}

// MetricsHandler is the /metrics handler: redis_exporter's metrics from a
// snapshot of INFO (package metrics), plus the Go runtime's and the
// process's own collectors. The Go collector adds the runtime's
// stop-the-world pause histograms (go_sched_pauses_*_seconds, from
// runtime/metrics /sched/pauses/...): go_gc_duration_seconds only keeps
// quantiles of the last pauses, while the GC pause tail over a whole run
// (make bench's p99.9 figure) needs the histogram.
func (s *Server) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		nodemetrics.NewCollector(s.MetricsSnapshot),
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: schedPausesMetrics})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// A metric that fails to collect must not cost the whole scrape.
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// MetricsSnapshot takes the executor once, for as long as rendering the
// exported INFO sections takes: O(clients + commands + replicas +
// databases), never a walk of the keyspace (the keyspace section leaves
// avg_ttl out). Parsing and encoding happen after the lock is released.
func (s *Server) MetricsSnapshot() (nodemetrics.Snapshot, error) {
	if s.shuttingDown.Load() {
		return nodemetrics.Snapshot{}, errShuttingDown
	}
	var snap nodemetrics.Snapshot
	s.Exec(func() {
		var b strings.Builder
		for _, sec := range infoSections {
			collect, ok := metricsSections[sec.name]
			if !ok {
				continue
			}
			if collect == nil {
				collect = sec.collect
			}
			writeInfoSection(s, &b, sec.name, collect)
		}
		snap.Info = b.String()
		snap.Databases = len(s.Keyspace.DBs)
	})
	snap.Now = time.Now()
	return snap, nil
}

// serveMetrics starts serving /metrics, if ListenMetrics opened a listener.
func (s *Server) serveMetrics() {
	if s.metricsHTTP == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.metricsHTTP.http.Serve(s.metricsHTTP.listener)
	}()
}

// closeMetrics stops the metrics listener and its connections.
func (s *Server) closeMetrics() {
	if s.metricsHTTP != nil {
		_ = s.metricsHTTP.http.Close()
		_ = s.metricsHTTP.listener.Close()
	}
}
