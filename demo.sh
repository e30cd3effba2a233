#!/usr/bin/env bash
# The demo: builds the release binaries, makes a throw-away PKI in a
# temporary directory, starts the collector on loopback, generates two days
# of the bundled plant (a normal day the core learns, then a day with nine
# injected incidents), runs the agent on them through the real spool and
# QUIC/mTLS uplink, prints what the core found (the asset ledger, the
# busiest communication pairs, the baseline and the alerts) and serves the
# web console on loopback until Ctrl-C.
# Takes about 3 minutes on a cold 2-core build, seconds once built.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
SECONDS_OF_TRAFFIC=${DEMO_SECONDS:-1200}
SITE=demo-plant

# What the build needs besides Rust: a C compiler (zstd, SQLite and the TLS
# crypto are C underneath) and the IEEE OUI registry (Debian's ieee-data
# package) that the agent's vendor table is compiled from.
if ! command -v cargo >/dev/null 2>&1; then
  cat >&2 <<'MSG'
cargo was not found. Install Rust (1.88 or later) with rustup:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then load it in this shell (. "$HOME/.cargo/env") and run bash demo.sh again.
MSG
  exit 1
fi
OUI_CSV=${OSECT_OUI_CSV:-/usr/share/ieee-data/oui.csv}
MISSING=()
command -v cc >/dev/null 2>&1 || MISSING+=(gcc libc6-dev)
[ -r "$OUI_CSV" ] || [ -n "${OSECT_OUI_CSV:-}" ] || MISSING+=(ieee-data)
if [ ${#MISSING[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing what the build needs: ${MISSING[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
  else
    cat >&2 <<MSG
The build needs these Debian packages: ${MISSING[*]}
(gcc and libc6-dev: the C compiler some crates need; ieee-data: the IEEE OUI
registry, $OUI_CSV, or set OSECT_OUI_CSV to a copy of oui.csv). Install them:
    sudo apt-get install ${MISSING[*]}
then run bash demo.sh again.
MSG
    exit 1
  fi
fi
if [ ! -r "$OUI_CSV" ]; then
  echo "OSECT_OUI_CSV names $OUI_CSV, which cannot be read" >&2
  exit 1
fi

echo "== building release binaries"
cargo build --release --locked -q -p osect-agent -p osect-collector -p osect-trafficgen -p osect-testkit -p osect-console

WORK=$(mktemp -d /tmp/osect-demo.XXXXXX)
COLLECTOR_PID=
cleanup() {
  if [ -n "$COLLECTOR_PID" ]; then kill "$COLLECTOR_PID" 2>/dev/null || true; wait "$COLLECTOR_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== throw-away PKI in $WORK/pki (device DEMO-0001)"
"$BIN/test-pki" "$WORK/pki" DEMO-0001 >/dev/null

EVENTS=new-plc,new-pair,s7-stop,slmp-stop,modbus-write-range,fins-write,arp-spoof,firmware-change,cross-zone
echo "== generating the plant: day 0 (normal, ${SECONDS_OF_TRAFFIC} s) and day 1 (with $EVENTS)"
"$BIN/osect-trafficgen" plant-day --day 0 --seconds "$SECONDS_OF_TRAFFIC" --out "$WORK/day0.pcap"
"$BIN/osect-trafficgen" plant-day --day 1 --seconds "$SECONDS_OF_TRAFFIC" --events "$EVENTS" --out "$WORK/day1.pcap"

echo "== starting the collector on loopback"
"$BIN/osect-collector" serve --listen 127.0.0.1:0 --store "$WORK/store" \
  --cert "$WORK/pki/server.crt" --key "$WORK/pki/server.key" \
  --client-ca "$WORK/pki/client-ca.pem" --crl "$WORK/pki/devices.crl" >"$WORK/collector.log" 2>&1 &
COLLECTOR_PID=$!
for _ in $(seq 100); do
  grep -q "listening on" "$WORK/collector.log" 2>/dev/null && break
  sleep 0.1
done
ADDR=$(sed -n 's/.*listening on //p' "$WORK/collector.log" | head -1)
[ -n "$ADDR" ] || { cat "$WORK/collector.log"; echo "collector did not start"; exit 1; }
echo "   collector at $ADDR"

# The site learns what is normal for as long as day 0 lasts (7 days by
# default), and knows its zones: the control network and the office.
COL="$BIN/osect-collector"
"$COL" baseline --store "$WORK/store" --site "$SITE" \
  --learning-days "$(awk -v s="$SECONDS_OF_TRAFFIC" 'BEGIN { printf "%.6f", (s + 60) / 86400 }')" >/dev/null
"$COL" zones --store "$WORK/store" --site "$SITE" --set control --subnet 192.168.10.0/24 >/dev/null
"$COL" zones --store "$WORK/store" --site "$SITE" --set office --subnet 192.168.20.0/24 >/dev/null

ID=$WORK/pki/identity-DEMO-0001
cat >"$WORK/agent.toml" <<TOML
[device]
id = "DEMO-0001"
site = "$SITE"
data_dir = "$WORK/data"
[batch]
interval_secs = 60
[spool]
dir = "$WORK/data/spool"
[uplink]
enabled = true
endpoint = "$ADDR"
server_name = "collector.osect"
ca = "$ID/core-ca.crt"
cert = "$ID/device.crt"
key = "$ID/device.key"
TOML

for day in 0 1; do
  echo "== running the agent on day $day (spool + QUIC uplink)"
  RUST_LOG=warn "$BIN/osect-agent" run --config "$WORK/agent.toml" --pcap "$WORK/day$day.pcap" --speed max --drain-secs 60
done
# The collector analyses batches as they arrive; this waits for the last.
"$COL" analyse --store "$WORK/store" >/dev/null

echo
echo "== the sensors"
"$COL" devices --store "$WORK/store"
echo
echo "== the asset ledger of $SITE"
"$COL" assets --store "$WORK/store" --site "$SITE"
echo
echo "== the busiest communication pairs"
"$COL" comms --store "$WORK/store" --site "$SITE" --top 10
echo
echo "== the baseline"
"$COL" baseline --store "$WORK/store" --site "$SITE"
echo
echo "== alerts: what changed on day 1"
"$COL" alerts --store "$WORK/store" --site "$SITE"

echo
echo "== the console: open the address below in a browser and log in (Ctrl-C stops it)"
# The port is the demo's own choice unless DEMO_CONSOLE names one.
"$BIN/osect-console" serve --store "$WORK/store" --listen "${DEMO_CONSOLE:-127.0.0.1:0}" --demo-login
