#!/usr/bin/env bash
# Keeps ci/bench working: the whole benchmark on a tiny capture (50k
# packets, 1 run, debug build), without judging the figures.
# Expected time: under 1 min once the workspace is built.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
timeout 900 ci/bench --quick --dir "$dir"
