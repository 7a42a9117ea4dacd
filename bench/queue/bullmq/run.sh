#!/usr/bin/env bash
# bench/queue/bullmq/run.sh: runs bench.mjs against a throwaway redis-server on a free loopback
# port with its data in a temp dir. Durability like studio's SQLite default (fsync per commit):
# APPENDFSYNC=always (default); APPENDFSYNC=everysec is BullMQ's usual production setting,
# APPENDFSYNC=off disables the append-only file (RDB snapshots only).
set -euo pipefail
cd "$(dirname "$0")"
appendfsync=${APPENDFSYNC:-always}
[[ -d node_modules ]] || npm ci --no-audit --no-fund
dir=$(mktemp -d)
redis_pid=""
cleanup() {
  if [[ -n "$redis_pid" ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
# The floor under every fsync'ed write; shared virtual disks vary a lot, so print it with the numbers.
probe=$( { dd if=/dev/zero of="$dir/probe" bs=4k count=200 oflag=dsync 2>&1 >/dev/null; } | awk '/copied/ {print $(NF-3)}')
rm -f "$dir/probe"
echo "disk: 4 KiB write + O_DSYNC in $dir takes $(awk -v s="$probe" 'BEGIN {printf "%.3f", s * 1000 / 200}') ms (mean of 200)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [[ $appendfsync == off ]]; then aof=(--appendonly no); else aof=(--appendonly yes --appendfsync "$appendfsync"); fi
redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" "${aof[@]}" --maxmemory-policy noeviction \
  --daemonize no >"$dir/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
echo "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$port, appendfsync=$appendfsync"
REDIS_PORT=$port node bench.mjs
