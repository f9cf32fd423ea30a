package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ------ KUBELET API: CONTAINER LOGS ------

// serveKubeletAPI serves the part of the kubelet API that `kubectl logs`
// needs (/containerLogs/NS/POD/CONTAINER, proxied by the API server) over
// TLS on the gateway at the configured kubelet port, accepting only clients
// with a certificate from the cluster CA. exec, attach and port-forward are
// not served.
func (a *Agent) serveKubeletAPI(ctx context.Context) error {
	if a.cfg.KubeletPort == 0 {
		return nil // a cluster.json from before the kubelet API existed
	}
	pkiDir := a.cfg.PKIDir()
	cert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "kubelet.crt"), filepath.Join(pkiDir, "kubelet.key"))
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(pkiDir, "ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	l, err := net.Listen("tcp", net.JoinHostPort(a.net.Gateway.String(), strconv.Itoa(a.cfg.KubeletPort)))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", a.handleContainerLogs)
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) { _, _ = rw.Write([]byte("ok")) })
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert},
	}
	go func() { <-ctx.Done(); srv.Close() }()
	go func() { _ = srv.ServeTLS(l, "", "") }()
	return nil
}

// handleContainerLogs streams a container's log file: tailLines and
// limitBytes trim it, follow keeps streaming until the client goes away or
// the pod is gone from this agent.
func (a *Agent) handleContainerLogs(rw http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		http.Error(rw, "want /containerLogs/NAMESPACE/POD/CONTAINER", http.StatusBadRequest)
		return
	}
	ns, pod, container := parts[0], parts[1], parts[2]
	path, err := a.latestLogFile(ns, pod, container)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusNotFound)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	q := r.URL.Query()
	data, err := io.ReadAll(f)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	if n, err := strconv.Atoi(q.Get("tailLines")); err == nil && n >= 0 {
		data = TailLines(data, n)
	}
	if n, err := strconv.Atoi(q.Get("limitBytes")); err == nil && n >= 0 && len(data) > n {
		data = data[:n]
	}
	rw.Header().Set("Content-Type", "text/plain")
	if _, err := rw.Write(data); err != nil {
		return
	}
	if q.Get("follow") != "true" {
		return
	}
	flusher, _ := rw.(http.Flusher)
	reader := bufio.NewReader(f)
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
		if _, err := io.Copy(rw, reader); err != nil {
			return
		}
		if _, err := a.findWorker(ns, pod); err != nil {
			_, _ = io.Copy(rw, reader)
			return
		}
	}
}

// latestLogFile returns the log file of the most recent pod ns/pod.
func (a *Agent) latestLogFile(ns, pod, container string) (string, error) {
	dirs, _ := filepath.Glob(filepath.Join(a.cfg.PodsDir(), ns+"_"+pod+"_*"))
	if len(dirs) == 0 {
		return "", fmt.Errorf("pod %s/%s has not run on this cluster", ns, pod)
	}
	sort.Slice(dirs, func(i, j int) bool {
		si, _ := os.Stat(dirs[i])
		sj, _ := os.Stat(dirs[j])
		return si != nil && sj != nil && si.ModTime().After(sj.ModTime())
	})
	p := filepath.Join(dirs[0], "logs", container+".log")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("container %q of pod %s/%s has no log", container, ns, pod)
	}
	return p, nil
}

// TailLines returns the last n lines of data (a final line without a
// newline counts as a line).
func TailLines(data []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	idx := end
	for i := 0; i < n; i++ {
		j := bytes.LastIndexByte(data[:idx], '\n')
		if j < 0 {
			return data
		}
		idx = j
		if i == n-1 {
			return data[idx+1:]
		}
	}
	return data
}
