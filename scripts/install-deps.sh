#!/usr/bin/env bash
# Installs the Debian 12 packages studio needs. Idempotent: only missing packages are installed,
# so a second run takes well under a second.
#   scripts/install-deps.sh build   — compile and run the server
#   scripts/install-deps.sh test    — plus what the test suites start (PostgreSQL, promtool, python)
#   scripts/install-deps.sh bench   — plus the load tools (wrk, nginx as the reference server)
set -euo pipefail

build_pkgs=(g++ cmake ninja-build ccache make pkg-config git
  libboost-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libsqlite3-dev libpq-dev libssl-dev libjemalloc-dev libsodium-dev libzxcvbn-dev libcrypt-dev
  libhnswlib-dev libpoppler-cpp-dev libzip-dev libxml2-dev libcmark-dev libuchardet-dev libicu-dev
  libmagic-dev libcurl4-openssl-dev)
test_pkgs=(libgtest-dev libgmock-dev postgresql-15 prometheus curl python3 python3-jwt procps
  libcairo2-dev redis-server python3-jsonschema)
bench_pkgs=(libbenchmark-dev wrk nginx-light util-linux)
lint_pkgs=(clang-format clang-tidy)

want=("${build_pkgs[@]}")
# The set-up scripts fetch model data (word vectors, tokenizer ranks) with npm. A machine whose
# Node.js comes from elsewhere (e.g. nodesource, which bundles npm) keeps its own.
command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
for what in "$@"; do
  case "$what" in
    build) ;;
    test) want+=("${test_pkgs[@]}") ;;
    bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
    lint) want+=("${lint_pkgs[@]}") ;;
    *) echo "install-deps: unknown set '$what' (build|test|bench|lint)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# Debian's service packages start their daemons on install; we start our own, so keep them off.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  trap '"${sudo_cmd[@]}" rm -f "$policy"' EXIT
fi
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
