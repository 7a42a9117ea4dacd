#!/usr/bin/env bash
# clang-format check and clang-tidy over our sources. BUILD_DIR must hold compile_commands.json.
set -euo pipefail
build_dir=${1:?usage: lint.sh BUILD_DIR}
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'bench/*.cpp')
echo "lint: clang-format (${#files[@]} files)"
clang-format --dry-run --Werror "${files[@]}"
# clang-tidy 14 cannot parse GCC 12's <coroutine>, so translation units that include Asio's
# coroutine support are left to GCC (-Werror) and the sanitizer test runs.
mapfile -t units < <(git ls-files 'src/*.cpp' | xargs grep -L -e '"http/asio.hpp"' -e '"http/sse_state.hpp"')
echo "lint: clang-tidy (${#units[@]} translation units)"
printf '%s\n' "${units[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build_dir" --quiet
echo "lint: ok"
