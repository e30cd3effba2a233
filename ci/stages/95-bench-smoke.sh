#!/usr/bin/env bash
# Keeps ci/bench and ci/bench-instructions working: the whole benchmark on
# a tiny capture (50k packets, 1 run, debug build) and the instruction
# counts on two 5k-packet captures, without judging the figures.
# Expected time: under 3 min once the workspace is built.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
timeout 900 ci/bench --quick --dir "$dir"
timeout 600 ci/bench-instructions --quick --dir "$dir"
