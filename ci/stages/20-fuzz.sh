#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and fuzzes each one briefly,
# seeded from the corpus captures (made at run time, never committed).
# Expected time: 3-4 min to build (instrumented release build of the agent
# and a plain build of the seed writer), then at most FUZZ_BUDGET_SECS
# (default 150 s) of fuzzing shared by the targets, 5-20 s each.
# A crash fails the stage and prints the input in base64: once fixed, save
# it as fuzz/regressions/<target>/<name> and `cargo test` replays it from
# then on. A crash listed in fuzz/known-crashes.txt (not fixed yet) is
# reported without failing the stage.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CORPUS=${OSECT_CORPUS:-$(realpath -m "$ROOT/../shared/corpus")}
if [ ! -d "$CORPUS" ]; then
  echo "20-fuzz: corpus not found at $CORPUS (set OSECT_CORPUS)" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || { echo "20-fuzz: cargo-fuzz missing (ci/deps/cargo-fuzz.txt)" >&2; exit 1; }
# cargo-fuzz passes flags that stable rustc accepts only this way.
export RUSTC_BOOTSTRAP=1
BUDGET=${FUZZ_BUDGET_SECS:-150}
# A fixed seed and run count make the stage repeatable: the same mutations
# every time, so a result here is the result in CI. Longer exploration is
# done by hand (fuzz/README.md) with other seeds.
SEED=${FUZZ_SEED:-1}
RUNS=${FUZZ_RUNS:-20000}
TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}
WORK=$(mktemp -d)
# The instrumented build serves only this stage; it goes at the end unless a
# target directory was given to keep it (disk space on CI machines is tight).
cleanup() {
  rm -rf "$WORK"
  [ -n "${FUZZ_TARGET_DIR:-}" ] || rm -rf "$TARGET_DIR"
}
trap cleanup EXIT

cd fuzz
# The agent's dependencies at the workspace's exact versions.
cp ../Cargo.lock Cargo.lock
# No sanitizer: the agent is safe Rust; overflow checks and assertions stay on.
timeout 900 cargo fuzz build -s none --target-dir "$TARGET_DIR"
timeout 600 cargo run -q --target-dir "$TARGET_DIR/seeds" --example seeds -- "$CORPUS" "$WORK/seeds"

mapfile -t targets < <(cargo fuzz list)
((${#targets[@]})) || { echo "20-fuzz: no targets" >&2; exit 1; }
secs=$((BUDGET / ${#targets[@]}))
((secs > 20)) && secs=20
((secs < 5)) && secs=5
# "<source file>: <panic message>" of the crash in a target's log.
crash_key() {
  awk '/panicked at / {
         if (match($0, /(agent|wire)\/src\/[^:]*/)) path = substr($0, RSTART, RLENGTH)
         getline msg; print path ": " msg; exit
       }' "$1"
}
known=$(sed 's/#.*//; s/[[:space:]]*$//; /^$/d' known-crashes.txt)
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$WORK/corpus/$t" "$WORK/artifacts/$t"
  seeds=()
  [ -d "$WORK/seeds/$t" ] && seeds+=("$WORK/seeds/$t")
  [ -d "regressions/$t" ] && seeds+=("regressions/$t")
  echo "--- fuzz $t for ${secs}s (seeds: ${seeds[*]:-none})"
  if ! timeout $((secs + 120)) cargo fuzz run -s none --target-dir "$TARGET_DIR" "$t" \
      "$WORK/corpus/$t" "${seeds[@]}" -- \
      -seed="$SEED" -runs="$RUNS" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$WORK/artifacts/$t/" -print_final_stats=1 2>"$WORK/$t.log"; then
    key=$(crash_key "$WORK/$t.log")
    grep -B2 -A30 "panicked at " "$WORK/$t.log" | head -n 40 || tail -n 40 "$WORK/$t.log"
    for a in "$WORK/artifacts/$t"/*; do
      [ -e "$a" ] || continue
      echo "crash input for target $t ($(basename "$a")), base64:"
      base64 -w0 "$a"
      echo
    done
    if [ -n "$key" ] && grep -qxF "$key" <<<"$known"; then
      echo "known crash (fuzz/known-crashes.txt): $key"
    else
      echo "NEW crash: ${key:-no panic message (timeout, out of memory or abort)}"
      failed+=("$t")
    fi
  else
    grep -E "^(stat::number_of_executed_units|Done )" "$WORK/$t.log" || true
  fi
done
if ((${#failed[@]})); then
  echo "20-fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "20-fuzz: ${#targets[@]} targets fuzzed for ${secs}s each, no new crash"
