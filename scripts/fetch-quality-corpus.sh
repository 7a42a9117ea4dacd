#!/usr/bin/env bash
# Fetches the retrieval-quality corpus (bench/quality, docs/RETRIEVAL_QUALITY.md) once per machine:
# the English manual pages of a fixed set of Debian 12 packages, rendered to plain text.
#
#   1. `apt-get download` of each package at the pinned version below (no install; container
#      images often exclude /usr/share/man, so nothing on this machine is used);
#   2. `dpkg-deb -x` into the cache;
#   3. every page under usr/share/man/man<N>/ that is a real page (not a symlink, not a `.so`
#      redirect) is rendered with groff (`groff -k -t -Tutf8 -man`, plain text, no hyphenation,
#      runs of spaces from justification squeezed) to TEXT_DIR/<package>/<page>.txt.
# TEXT_DIR/MANIFEST lists "package version" of what was rendered. Idempotent: when the manifest
# exists for the same package list it exits at once. Installs groff-base with apt-get when groff is
# missing (sudo when not root). Prints TEXT_DIR on stdout (the last line), so callers can do
#   corpus=$(scripts/fetch-quality-corpus.sh)
# Cache: ${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/studio}/quality.
set -euo pipefail

# package=version [man sections]. Six kinds of pages: shell commands (coreutils, util-linux,
# procps, findutils, grep, sed, tar), Linux system calls (manpages-dev, section 2 only: its 600
# library pages of section 3 would dominate the set), system overviews and file formats
# (manpages), git, networking (iproute2), ssh. About 1,000 pages.
PACKAGES=(
  "manpages=6.03-2"
  "manpages-dev=6.03-2 2"
  "coreutils=9.1-1"
  "util-linux=2.38.1-5+deb12u3"
  "procps=2:4.0.2-3"
  "findutils=4.9.0-4"
  "grep=3.8-5"
  "sed=4.9-1+deb12u1"
  "tar=1.34+dfsg-1.2+deb12u1"
  "git-man=1:2.39.5-0+deb12u3"
  "iproute2=6.1.0-3"
  "openssh-client=1:9.2p1-2+deb12u10"
)

cache=${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/studio}/quality
text="$cache/text"
# Bump RENDER when the rendering below changes, so cached text is rendered again.
RENDER=1
config=$(printf '%s\n' "render $RENDER" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
if [ -s "$text/MANIFEST" ] && [ "$(cat "$cache/config" 2>/dev/null)" = "$config" ]; then
  echo "$text"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
apt_opts=()
# As root, apt drops to the _apt user for downloads, which cannot write into a private cache
# directory; it would fall back to root anyway, with a warning.
[ "$(id -u)" -eq 0 ] && apt_opts=(-o APT::Sandbox::User=root)

if ! command -v groff >/dev/null 2>&1; then
  echo "fetch-quality-corpus: installing groff-base" >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends groff-base >&2
fi

# A fresh machine (or container) may have no package lists yet.
if ! apt-cache show manpages >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq >&2
fi

mkdir -p "$cache/debs" "$cache/root"
rm -rf "$text.tmp"
mkdir -p "$text.tmp"
for entry in "${PACKAGES[@]}"; do
  read -r spec sections <<<"$entry"
  name=${spec%%=*}
  version=${spec#*=}
  deb=""
  for f in "$cache/debs/${name}_"*.deb; do
    if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$version" ]; then deb=$f; fi
  done
  if [ -z "$deb" ]; then
    rm -f "$cache/debs/${name}_"*.deb
    echo "fetch-quality-corpus: downloading $spec" >&2
    if ! (cd "$cache/debs" && apt-get download -q "${apt_opts[@]}" "$spec" >&2); then
      # The archive keeps only the current version of a package; a point release may have
      # replaced the pinned one. Use what the archive has and say so: the numbers in
      # docs/RETRIEVAL_QUALITY.md were measured on the pinned versions.
      echo "fetch-quality-corpus: WARNING: $spec is not in the archive any more; using the current version" >&2
      (cd "$cache/debs" && apt-get download -q "${apt_opts[@]}" "$name" >&2)
    fi
    deb=$(ls "$cache/debs/${name}_"*.deb | head -n 1)
  fi
  actual=$(dpkg-deb -f "$deb" Version)
  rm -rf "${cache:?}/root/$name"
  dpkg-deb -x "$deb" "$cache/root/$name"
  mkdir -p "$text.tmp/$name"
  count=0
  for dir in "$cache/root/$name"/usr/share/man/man*; do
    [ -d "$dir" ] || continue
    section=${dir##*/man}
    if [ -n "$sections" ] && ! [[ " $sections " == *" $section "* ]]; then continue; fi
    for page in "$dir"/*; do
      [ -f "$page" ] && [ ! -L "$page" ] || continue
      base=${page##*/}
      base=${base%.gz}
      if [[ "$page" == *.gz ]]; then source=$(zcat "$page"); else source=$(cat "$page"); fi
      # A page that only points at another one (".so man2/stat.2") is not a document of its own.
      first_request=$(grep -m1 '^\.[A-Za-z]' <<<"$source" || true)
      if [[ "$first_request" == ".so "* ]]; then continue; fi
      # -k: input encoding via preconv; -t: tables; cR=1: one continuous page; HY=0: no hyphenation;
      # -P-cbou: plain characters, no bold/underline overstriking.
      groff -k -t -Tutf8 -man -rcR=1 -rHY=0 -P-cbou <<<"$source" 2>/dev/null |
        sed -E 's/([^ ]) {2,}/\1 /g; s/[[:space:]]+$//' >"$text.tmp/$name/$base.txt"
      count=$((count + 1))
    done
  done
  echo "$name $actual" >>"$text.tmp/MANIFEST"
  echo "fetch-quality-corpus: $name $actual: $count pages" >&2
done

rm -rf "$text"
mv "$text.tmp" "$text"
echo "$config" >"$cache/config"
echo "$text"
