#!/usr/bin/env bash
# Installs everything the tests need: Debian packages, Python tools, cargo tools.
# Each component lists its needs in ci/deps/apt-*.txt, ci/deps/pip-*.txt and
# ci/deps/cargo-*.txt (one name per line, '#' comments).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

list() { cat "$@" 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u; }

mapfile -t apt < <(list ci/deps/apt-*.txt)
if ((${#apt[@]})); then
  missing=()
  for p in "${apt[@]}"; do
    dpkg-query -W -f='${Status}' "${p%%/*}" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

mapfile -t pip < <(list ci/deps/pip-*.txt)
if ((${#pip[@]})); then
  python3 -m pip install -q --disable-pip-version-check "${pip[@]}"
fi

mapfile -t tools < <(list ci/deps/cargo-*.txt)
for t in "${tools[@]}"; do
  name=${t%%@*}
  command -v "$name" >/dev/null 2>&1 || cargo install --locked -q "$t"
done
