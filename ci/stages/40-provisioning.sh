#!/usr/bin/env bash
# Provisioning end to end: lints the ModemManager scripts, then runs
# provisioning/tests/e2e.rs against the real osect-collector (and osect-agent,
# for the self-test and the send/refuse checks). Modems are simulated on
# pseudo-terminals; everything lives in temp dirs; the collector the tests
# start is stopped by them.
# Expected time: under 1 min when `cargo test --workspace` has already built
# the binaries (up to 4 min from cold), tests about 30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts=(provisioning/scripts/osect-modem-setup provisioning/scripts/osect-modem-watchdog)
for s in "${scripts[@]}"; do sh -n "$s"; done
command -v shellcheck >/dev/null || { echo "40-provisioning: shellcheck missing (ci/deps/apt-provisioning.txt)" >&2; exit 1; }
shellcheck -s sh "${scripts[@]}"

cargo build --locked -q -p osect-collector -p osect-provision
agent_built=1
cargo build --locked -q -p osect-agent || agent_built=0
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
export OSECT_COLLECTOR_BIN="$target/debug/osect-collector"
export OSECT_AGENT_BIN="$target/debug/osect-agent"

tests=(collector_reads_the_crl_imports_returns_and_deletes_sites
  terminating_a_customer_deletes_its_data_and_leaves_the_others)
# The full flows need the agent's self-test and uplink (`selftest`, `run`).
with_agent=(swap_revokes_the_failed_unit_and_keeps_the_site_history
  a_unit_provisioned_again_ships_under_its_new_key_beside_its_old_batches
  self_tests_repeat_after_assign_and_after_provisioning_again
  a_suspended_unit_keeps_its_batches_until_resumed)
if ((agent_built)) && "$OSECT_AGENT_BIN" selftest --help >/dev/null 2>&1 && "$OSECT_AGENT_BIN" run --help >/dev/null 2>&1; then
  tests+=("${with_agent[@]}")
else
  echo "40-provisioning: NOT RUN ${with_agent[*]}:" \
    "osect-agent does not build or has no 'selftest' or 'run' subcommand" >&2
fi
for t in "${tests[@]}"; do
  timeout 600 cargo test --locked -q -p osect-provision --test e2e -- --ignored --exact "$t"
done
