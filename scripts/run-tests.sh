#!/usr/bin/env bash
# Runs every test registered with CTest in BUILD_DIR — unit tests, the storage suite (SQLite and
# PostgreSQL) and the functional tests against the real binary — with a throwaway PostgreSQL
# started for the duration (scripts/with-postgres.sh) and stopped afterwards, also on failure.
set -euo pipefail
build_dir=${1:?usage: run-tests.sh BUILD_DIR}
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export STUDIO_REQUIRE_PROMTOOL=1 STUDIO_REQUIRE_PYJWT=1
# Word vectors and tokenizer ranks: fetched once per machine into a cache outside the clone.
STUDIO_MODELS_DIR=$(scripts/fetch-models.sh | tail -n 1)
export STUDIO_MODELS_DIR STUDIO_REQUIRE_MODELS=1
# The official OpenAI SDK for tests/functional/test_openai_sdk.py, exactly as locked. Installed again
# only when package.json or the lock file changed since the last install (npm ci empties
# node_modules, the stamp goes with it).
sdk_sum=$(cat tests/sdk/package.json tests/sdk/package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat tests/sdk/node_modules/.installed-from 2>/dev/null)" != "$sdk_sum" ]; then
  npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error
  echo "$sdk_sum" >tests/sdk/node_modules/.installed-from
fi
exec scripts/with-postgres.sh ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 600
