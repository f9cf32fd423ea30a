#!/usr/bin/env bash
# Regenerates the golden RDB files in replnode/rdb/testdata with the real
# redis-server 7.0 installed on this machine (Debian's redis-server and
# redis-tools packages).
#
# For every data set NAME it writes:
#   NAME.rdb   the dump.rdb written by SAVE
#   NAME.keys  one line per key: db, key, TYPE, PEXPIRETIME, DEBUG DIGEST-VALUE
#   NAME.digest the DEBUG DIGEST of the whole data set
# The Go tests load NAME.rdb and check every line of NAME.keys and the digest.
#
# Usage: hack/rdb-golden/gen.sh   (from anywhere; needs python3 for a port)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/replnode/rdb/testdata"
mkdir -p "$out"
work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# start NAME [extra redis-server args...]: a fresh server in its own dir.
start() {
	local name=$1; shift
	mkdir -p "$work/$name"
	redis-server --bind 127.0.0.1 --port "$port" --dir "$work/$name" --dbfilename dump.rdb \
		--save "" --appendonly no --enable-debug-command yes --daemonize no --logfile "$work/$name.log" "$@" &
	pid=$!
	for _ in $(seq 1 100); do
		if cli ping >/dev/null 2>&1; then return; fi
		sleep 0.1
	done
	echo "redis-server did not start; log:" >&2
	cat "$work/$name.log" >&2
	exit 1
}

# finish NAME: SAVE, record keys and digest, copy the dump, stop the server.
finish() {
	local name=$1
	cli save >/dev/null
	: >"$out/$name.keys"
	for db in $(seq 0 15); do
		for key in $(cli -n "$db" --scan | sort); do
			printf '%s %s %s %s %s\n' "$db" "$key" "$(cli -n "$db" type "$key")" \
				"$(cli -n "$db" pexpiretime "$key")" "$(cli -n "$db" debug digest-value "$key")" >>"$out/$name.keys"
		done
	done
	cli debug digest >"$out/$name.digest"
	cp "$work/$name/dump.rdb" "$out/$name.rdb"
	cli shutdown nosave >/dev/null 2>&1 || true
	wait "$pid" 2>/dev/null || true
	pid=""
}

# fill: the common data set. Key names carry no spaces (the .keys format).
fill() {
	# strings: integer encodings, short, long compressible, long random
	cli set str:int8 12 >/dev/null
	cli set str:int16 -3000 >/dev/null
	cli set str:int32 2000000000 >/dev/null
	cli set str:int64 9000000000000000000 >/dev/null
	cli set str:lead0 007 >/dev/null
	cli set str:short hello >/dev/null
	cli set str:empty "" >/dev/null
	cli set str:long "$(printf 'abcdefghij%.0s' $(seq 1 200))" >/dev/null
	head -c 3000 /dev/urandom | base64 -w0 | cli -x set str:random >/dev/null
	printf 'bin\x00\x01\xff\r\nary' | cli -x set str:binary >/dev/null
	cli set str:ttl with-ttl >/dev/null
	cli pexpireat str:ttl 4102444800123 >/dev/null
	# lists: small, many nodes, big elements, integers of every width
	cli rpush list:small a b c 1 -1 300 -70000 5000000000 >/dev/null
	for i in $(seq 0 9); do
		cli rpush list:big $(seq $((i * 200)) $((i * 200 + 199)) | sed 's/^/element-/') >/dev/null
	done
	cli rpush list:wide "$(printf 'x%.0s' $(seq 1 5000))" "$(printf 'y%.0s' $(seq 1 300))" z >/dev/null
	cli rpush list:ttl one two >/dev/null
	cli pexpireat list:ttl 4102444800456 >/dev/null
	# sets: intsets of each width, hashtable
	cli sadd set:int16 1 2 3 -5 1000 >/dev/null
	cli sadd set:int32 1 70000 -70000 >/dev/null
	cli sadd set:int64 1 5000000000 -5000000000 >/dev/null
	cli sadd set:strings apple banana cherry 42 >/dev/null
	cli sadd set:bigint $(seq 1 600) >/dev/null
	# sorted sets: listpack with odd scores, skiplist
	cli zadd zset:small 1 one 2.5 two -3 three 0.1 tenth inf top -inf bottom 1e300 huge 5e-324 tiny >/dev/null
	for i in $(seq 0 3); do
		cli zadd zset:big $(for j in $(seq $((i * 50)) $((i * 50 + 49))); do echo "$j.25 member-$j"; done) >/dev/null
	done
	cli zadd zset:longmember 1 "$(printf 'm%.0s' $(seq 1 100))" >/dev/null
	cli zadd zset:ttl 1 a >/dev/null
	cli pexpireat zset:ttl 4102444800789 >/dev/null
	# hashes: listpack, hashtable by count and by value length
	cli hset hash:small f1 v1 f2 2 f3 -300 num 123456789012 >/dev/null
	for i in $(seq 0 2); do
		cli hset hash:big $(for j in $(seq $((i * 60)) $((i * 60 + 59))); do echo "field-$j value-$j"; done) >/dev/null
	done
	cli hset hash:longvalue f "$(printf 'v%.0s' $(seq 1 100))" >/dev/null
	# other databases
	cli -n 1 set db1:key in-db-1 >/dev/null
	cli -n 1 rpush db1:list x >/dev/null
	cli -n 15 set db15:key in-db-15 >/dev/null
	cli -n 15 pexpireat db15:key 4102444800000 >/dev/null
}

# 1. Default configuration: LZF on, checksum on.
start types
fill
finish types

# 2. rdbcompression no and rdbchecksum no (zero trailer).
start nocompress --rdbcompression no --rdbchecksum no
fill
finish nocompress

# 3. Compressed quicklist nodes and plain (single big element) nodes, and a
#    function library (FUNCTION2 opcode).
start quicklist --list-compress-depth 1
cli debug quicklist-packed-threshold 100 >/dev/null
for i in $(seq 0 4); do
	cli rpush list:compressed $(seq $((i * 300)) $((i * 300 + 299)) | sed 's/^/compressible-element-/') >/dev/null
done
cli rpush list:plain small "$(printf 'P%.0s' $(seq 1 200))" tail >/dev/null
cli function load "#!lua name=goldenlib
redis.register_function('golden', function() return 1 end)" >/dev/null
finish quicklist

# 4. Small listpack limits: the same data written in general encodings.
start bigenc --hash-max-listpack-entries 0 --zset-max-listpack-entries 0 --set-max-intset-entries 0
cli hset hash:forced a 1 b 2 >/dev/null
cli zadd zset:forced 1 a 2 b >/dev/null
cli sadd set:forced 1 2 3 >/dev/null
finish bigenc

echo "golden files written to $out"
