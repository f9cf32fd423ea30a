package server

import (
	"fmt"
	"io"
)

// Version is the Redis version replnode reports and is compatible with.
const Version = "7.0.15"

// Main runs the replnode command line: replnode [config-file] [--directive
// value ...], plus --version and --help. It returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-v" || args[0] == "--version") {
		fmt.Fprintf(stdout, "Redis server v=%s sha=00000000:0 malloc=libc bits=64 build=replnode\n", Version)
		return 0
	}
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		usage(stdout)
		return 0
	}
	usage(stderr)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: ./replnode [/path/to/redis.conf] [options] [-]
       ./replnode - (read config from stdin)
       ./replnode -v or --version
       ./replnode -h or --help

Examples:
       ./replnode (run the server with default conf)
       ./replnode /etc/redis/6379.conf
       ./replnode --port 7777
       ./replnode --port 7777 --replicaof 127.0.0.1 8888
       ./replnode /etc/myredis.conf --loglevel verbose -
`)
}
