#!/usr/bin/env bash
# `make bench`: load runs with wrk against studio and against nginx serving the same small JSON
# body on GET /status/live, then the micro-benchmarks. The server under test is pinned to core 0
# and wrk to core 1 (taskset), so both servers get exactly one core.
#   bench/run.sh BUILD_DIR        (a Release build; DURATION=10 CONNECTIONS=32 to change the load)
#   bench/run.sh BUILD_DIR agent  (only the agent section; AGENT_ARGS="--samples 1000" etc. are passed
#                                  to bench/agent_bench.py)
set -euo pipefail
build_dir=${1:?usage: bench/run.sh BUILD_DIR}
cd "$(dirname "$0")/.."
studio="$build_dir/src/app/studio"
duration=${DURATION:-10}
connections=${CONNECTIONS:-32}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 200); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "bench: $1 did not come up" >&2; return 1
}
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# wrk prints "Requests/sec: N" and, with --latency, a "99%" line; keep both.
load() {
  local url=$1 label=$2
  taskset -c "$client_cpu" wrk -t1 -c"$connections" -d"${duration}s" --latency "$url" >"$work/$label.wrk"
  local rps p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/$label.wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$label.wrk")
  printf '%-28s %12s req/s   p99 %8s\n' "$label" "$rps" "$p99"
  echo "$rps" >"$work/$label.rps"
}

start_studio() {
  local port=$1 access_log=$2
  mkdir -p "$work/data-$port"
  STUDIO_LISTEN=127.0.0.1:$port STUDIO_DATA_DIR="$work/data-$port" STUDIO_IO_THREADS=1 \
    STUDIO_ACCESS_LOG=$access_log taskset -c "$server_cpu" "$studio" serve >"$work/studio-$port.log" 2>&1 &
  studio_pid=$!
  pids+=("$studio_pid")
}

# The customer-service agent with a chat model that answers at once (tests/fakes/fake_openai.py):
# time to first streamed token at 50 conversations over a ~11,000-chunk workspace, and RSS with
# 1,000 streams open. studio gets core $server_cpu; the fake and the client share core $client_cpu.
agent_section() {
  echo
  echo "== agent: time to first token (50 conversations, ~11,000 chunks) and RSS with 1,000 open streams"
  local models=$1
  if [ -z "$models" ]; then echo "agent: skipped (no model data)"; return 0; fi
  # ~4 descriptors per open stream in studio (client socket, model connection, curl's wakeup pair).
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 16384 || true
  taskset -c "$client_cpu" python3 tests/fakes/fake_openai.py --backlog 4096 >"$work/fake.port" 2>"$work/fake.log" &
  local fake_pid=$!
  pids+=("$fake_pid")
  for _ in $(seq 1 100); do [ -s "$work/fake.port" ] && break; sleep 0.05; done
  local fake_port port pid
  fake_port=$(head -n 1 "$work/fake.port")
  port=$(free_port)
  mkdir -p "$work/data-agent"
  STUDIO_LISTEN=127.0.0.1:$port STUDIO_DATA_DIR="$work/data-agent" STUDIO_IO_THREADS=1 STUDIO_MODELS_DIR=$models \
    STUDIO_EMBEDDER=local STUDIO_CHAT_PROVIDER=openai OPENAI_BASE_URL="http://127.0.0.1:$fake_port" \
    OPENAI_API_KEY=sk-test-key STUDIO_RATE_LIMIT_PER_IP=0 STUDIO_RATE_LIMIT_PER_WORKSPACE=0 \
    STUDIO_RATE_LIMIT_ENDPOINTS=false taskset -c "$server_cpu" "$studio" serve >"$work/studio-agent.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/status/live"
  # shellcheck disable=SC2086 # AGENT_ARGS is a list of options
  taskset -c "$client_cpu" python3 bench/agent_bench.py --studio-port "$port" --studio-pid "$pid" \
    --fake-port "$fake_port" --models "$models" ${AGENT_ARGS:-} || echo "agent: the benchmark failed (studio's log: $work/studio-agent.log)"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  kill -TERM "$fake_pid"; wait "$fake_pid" 2>/dev/null || true
}

if [ "${2:-}" = agent ]; then
  agent_section "$(scripts/fetch-models.sh | tail -n 1)"
  exit 0
fi

echo "== load: GET /status/live, wrk -t1 -c$connections -d${duration}s, server on cpu $server_cpu, wrk on cpu $client_cpu"

# nginx, one worker, returning the same body studio returns.
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /status/live { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
CONF
taskset -c "$server_cpu" nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/status/live"
load "http://127.0.0.1:$nginx_port/status/live" nginx

port=$(free_port)
start_studio "$port" true; pid=$studio_pid
wait_http "http://127.0.0.1:$port/status/live"
sleep 1
idle_rss=$(rss_mb "$pid")
load "http://127.0.0.1:$port/status/live" studio-access-log-on
loaded_rss=$(rss_mb "$pid")
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

port=$(free_port)
start_studio "$port" false; pid=$studio_pid
wait_http "http://127.0.0.1:$port/status/live"
load "http://127.0.0.1:$port/status/live" studio-access-log-off
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

nginx_rps=$(cat "$work/nginx.rps")
for label in studio-access-log-on studio-access-log-off; do
  awk -v s="$(cat "$work/$label.rps")" -v n="$nginx_rps" -v l="$label" \
    'BEGIN { printf "%-28s %11.1f%% of nginx\n", l, 100 * s / n }'
done
echo "studio idle RSS (embedded, after start): ${idle_rss} MB; after the load run: ${loaded_rss} MB"

echo
echo "== authenticated GET /api/v1/auth/me (guard: rate limits, JWT verify, user/membership read; workspace list), same pinning"
port=$(free_port)
mkdir -p "$work/data-auth"
# One client address and one workspace send everything, so the per-IP and per-workspace limits are
# raised out of the way; the limiter itself still runs on every request.
STUDIO_LISTEN=127.0.0.1:$port STUDIO_DATA_DIR="$work/data-auth" STUDIO_IO_THREADS=1 STUDIO_ACCESS_LOG=false \
  STUDIO_RATE_LIMIT_PER_IP=100000000 STUDIO_RATE_LIMIT_PER_WORKSPACE=100000000 \
  STUDIO_TRUSTED_PROXIES=127.0.0.1 taskset -c "$server_cpu" "$studio" serve >"$work/studio-auth.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_http "http://127.0.0.1:$port/status/live"
password="correct horse battery staple 42!"
token=$(curl -fsS "http://127.0.0.1:$port/api/v1/auth/onboarding" -H 'Content-Type: application/json' \
  -d "{\"workspaceName\":\"Bench\",\"adminEmail\":\"bench@example.com\",\"adminPassword\":\"$password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
taskset -c "$client_cpu" wrk -t1 -c"$connections" -d"${duration}s" --latency -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port/api/v1/auth/me" >"$work/me.wrk"
printf '%-28s %12s req/s   p99 %8s\n' "auth/me" "$(awk '/^Requests\/sec/ {print $2}' "$work/me.wrk")" \
  "$(awk '$1 == "99%" {print $2}' "$work/me.wrk")"
grep -q "Non-2xx" "$work/me.wrk" && echo "WARNING: non-2xx responses during the auth/me run" && grep "Non-2xx" "$work/me.wrk"
python3 bench/login_latency.py "$port" bench@example.com "$password" 50
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

if [ -x "$build_dir/src/obs/obs_bench" ]; then
  echo
  echo "== micro-benchmarks: metrics"
  "$build_dir/src/obs/obs_bench" --benchmark_min_time=0.2
fi

if [ -x "$build_dir/bench/queue/queue_bench" ]; then
  echo
  echo "== job queue: enqueue + lease + no-op job + complete, durable (PostgreSQL in a throwaway server)"
  STUDIO_PG_DURABLE=1 scripts/with-postgres.sh "$build_dir/bench/queue/queue_bench"
  echo
  echo "== the same workload on BullMQ with a local redis-server (appendfsync always)"
  bench/queue/bullmq/run.sh
fi

if [ -x "$build_dir/bench/search/search_bench" ]; then
  echo
  echo "== vector index: 100k clustered 100-d vectors, k=10, single thread"
  "$build_dir/bench/search/search_bench"
fi

# The next three need the model data (word vectors, tokenizer ranks); fetched once per machine.
models=$(scripts/fetch-models.sh | tail -n 1) || models=""
[ -n "$models" ] || echo "bench: the model data could not be fetched (scripts/fetch-models.sh); ingestion, agent and quality skipped"

if [ -n "$models" ] && [ -x "$build_dir/bench/ingest/ingest_bench" ]; then
  echo
  echo "== ingestion: submit → queue → extract (child process) → chunk → embed (local) → store → index"
  echo "   SQLite synchronous=FULL, then durable PostgreSQL in a throwaway server; smaller than the defaults"
  STUDIO_MODELS_DIR=$models STUDIO_PG_DURABLE=1 scripts/with-postgres.sh "$build_dir/bench/ingest/ingest_bench" \
    --text-docs 1000 --pdf-docs 100 --pg-docs 300
fi

agent_section "$models"

if [ -n "$models" ] && [ -x "$build_dir/bench/quality/quality_eval" ]; then
  echo
  echo "== retrieval quality: known-item search over Debian manual pages (docs/RETRIEVAL_QUALITY.md)"
  # Downloads a dozen Debian packages once (apt-get download) and renders their manual pages.
  if corpus=$(scripts/fetch-quality-corpus.sh | tail -n 1) && [ -n "$corpus" ]; then
    STUDIO_MODELS_DIR=$models "$build_dir/bench/quality/quality_eval" --corpus "$corpus"
  else
    echo "quality: skipped (scripts/fetch-quality-corpus.sh failed: no network or apt-get unavailable?)"
  fi
fi
