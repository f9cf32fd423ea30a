// Command manager runs the replnode operator, which reconciles
// ReplicationGroup objects (replnode.io/v1alpha1) into a master and replicas.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	metricsAddr := fs.String("metrics-bind-address", ":8080", "address the metrics endpoint binds to")
	probeAddr := fs.String("health-probe-bind-address", ":8081", "address the health probe endpoint binds to")
	leaderElect := fs.Bool("leader-elect", false, "enable leader election, so only one manager is active")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "manager: metrics=%s probes=%s leader-elect=%v: the reconciler is not wired yet\n", *metricsAddr, *probeAddr, *leaderElect)
	os.Exit(1)
}
