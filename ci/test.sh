#!/usr/bin/env bash
# The whole test suite: install what the tests need, check formatting and
# lints, run the workspace tests, then every stage in ci/stages/ in order.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export OSECT_CORPUS=${OSECT_CORPUS:-$(realpath -m "$ROOT/../shared/corpus")}
export CARGO_TERM_COLOR=never
export PATH="$HOME/.cargo/bin:$PATH"

bash ci/install-deps.sh || { echo "dependency installation failed"; exit 1; }

# Free space where the build and the image work happen, for the step lines.
free_space() { df -Ph . "${TMPDIR:-/var/tmp}" | awk 'NR > 1 { printf "%s%s on %s", sep, $4, $6; sep = ", " }'; }

passed=0
failed=0
failed_names=()
step() {
  local name=$1
  shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - t0)) s, $(free_space) free)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "=== $name: FAILED ($((SECONDS - t0)) s, $(free_space) free)"
  fi
}

step "cargo fmt" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test" cargo test --workspace --locked
for s in ci/stages/*.sh; do
  [ -e "$s" ] || continue
  step "$(basename "$s" .sh)" bash "$s"
done

echo
((failed)) && echo "failed steps: ${failed_names[*]}"
echo "steps: $passed passed, $failed failed"
((failed == 0))
