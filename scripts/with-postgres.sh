#!/usr/bin/env bash
# scripts/with-postgres.sh CMD [ARGS...]
#
# Runs CMD against a throwaway PostgreSQL 15 cluster and exits with CMD's status:
#   - initdb into a fresh mktemp -d directory (as the `postgres` user when run as root, since
#     PostgreSQL refuses to run as root), trust auth, fsync off: test data only;
#   - listens on 127.0.0.1 on a free port (unix socket inside the temp dir, so nothing global
#     is touched and several runs can coexist);
#   - creates database studio_test and exports
#       STUDIO_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/studio_test
#       STUDIO_REQUIRE_PG=1   (store_test then fails instead of skipping its PostgreSQL cases)
#   - always stops the cluster and deletes the directory: on success, failure, INT and TERM.
#
# Example: scripts/with-postgres.sh ctest --test-dir build -L store
# PG_BIN overrides the server binaries' directory (default /usr/lib/postgresql/15/bin).

set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

if [[ $# -lt 1 ]]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
for tool in initdb pg_ctl createdb; do
  if [[ ! -x "$PG_BIN/$tool" ]]; then
    echo "with-postgres: $PG_BIN/$tool not found (install postgresql-15 or set PG_BIN)" >&2
    exit 2
  fi
done

dir=""
data=""
child=""
as_pg=()

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$data" && -f "$data/postmaster.pid" ]]; then
    if ! "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 20 stop >/dev/null 2>&1; then
      # pg_ctl could not stop it: end the postmaster we started, by its pid.
      local pid
      pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
      if [[ "$pid" =~ ^[0-9]+$ ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
  fi
  if [[ -n "$dir" ]]; then rm -rf "$dir"; fi
  exit "$status"
}

# The command runs in the background so a TERM sent to this script is handled at once (bash
# defers traps while a foreground child runs); we pass it on and wait for the child.
# shellcheck disable=SC2317  # invoked by trap
on_signal() {
  if [[ -n "$child" ]]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$1"
}

trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

dir=$(mktemp -d "${TMPDIR:-/tmp}/studio-pg.XXXXXX")
data="$dir/data"

# PostgreSQL will not run as root: run the server tools as `postgres` and give it the directory.
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root but there is no 'postgres' user" >&2
    exit 2
  fi
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
  # A TMPDIR under /root is not reachable for `postgres`: fall back to /tmp.
  if ! "${as_pg[@]}" test -w "$dir"; then
    rm -rf "$dir"
    dir=$(mktemp -d /tmp/studio-pg.XXXXXX)
    data="$dir/data"
    chown postgres: "$dir"
  fi
fi

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    return
  fi
  # No python: probe random high ports until one refuses connections.
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "with-postgres: no free port found" >&2
  return 1
}

if ! "${as_pg[@]}" "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync \
  >"$dir/initdb.log" 2>&1; then
  echo "with-postgres: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi

cat >>"$data/postgresql.conf" <<EOF
# with-postgres.sh: a disposable cluster.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
EOF
# Tests: durability does not matter. Benchmarks set STUDIO_PG_DURABLE=1 to measure real commits.
if [ "${STUDIO_PG_DURABLE:-0}" != 1 ]; then
  printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$data/postgresql.conf"
fi

# Another process can grab the port between picking and binding it: retry with a new one.
port=""
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  if "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 -o "-p $port" start >/dev/null 2>&1; then
    break
  fi
  if [[ $attempt -eq 5 ]] || ! grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null; then
    echo "with-postgres: the server did not start:" >&2
    tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
    exit 1
  fi
done

"${as_pg[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres studio_test

export STUDIO_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/studio_test"
export STUDIO_REQUIRE_PG=1
echo "with-postgres: PostgreSQL 15 on 127.0.0.1:$port ($STUDIO_TEST_PG_URL)" >&2

# Explicit <&0: background commands would otherwise get /dev/null as stdin.
"$@" <&0 &
child=$!
set +e
wait "$child"
status=$?
set -e
child=""
exit "$status"
