// Command replnode is a Redis 7.0 compatible server, a drop-in for
// redis-server: replnode [/path/to/redis.conf] [--directive value ...].
package main

import (
	"os"

	"github.com/replnode/replnode/replnode/server"
)

func main() { os.Exit(server.Main(os.Args[1:], os.Stdout, os.Stderr)) }
