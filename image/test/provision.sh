# Sourced by boot-test.sh: provisioning of the test device on the host, the
# collector, and the comparison of what it received with 'osect-agent replay'.
# Uses BIN, WORK, DATA, PKI, SERIAL, CAPTURE, COLLECTOR_PORT, MIRROR_IF.

# The data path needs the agent's live capture and uplink ('run'), the
# collector's 'serve' and 'export', and the provisioning tool's 'pki' and
# 'factory'. Until all exist the boot test checks the bare image only and
# says so.
datapath_missing() {
    local missing=()
    "$BIN/osect-agent" --help 2>/dev/null | grep -qE '^\s+run\b' || missing+=("osect-agent run")
    "$BIN/osect-agent" --help 2>/dev/null | grep -qE '^\s+replay\b' || missing+=("osect-agent replay")
    "$BIN/osect-collector" --help 2>/dev/null | grep -qE '^\s+serve\b' || missing+=("osect-collector serve")
    "$BIN/osect-collector" --help 2>/dev/null | grep -qE '^\s+export\b' || missing+=("osect-collector export")
    "$BIN/osect-provision" --help 2>/dev/null | grep -qE '^\s+pki\b' || missing+=("osect-provision pki")
    "$BIN/osect-provision" --help 2>/dev/null | grep -qE '^\s+factory\b' || missing+=("osect-provision factory")
    echo "${missing[*]}"
}

# Sets a key of a TOML section in the device's agent.toml (the section is
# created when absent). Values are TOML literals.
toml_set() {
    python3 - "$1" "$2" "$3" "$4" <<'PY'
import re, sys
path, section, key, value = sys.argv[1:]
text = open(path).read() if __import__("os").path.exists(path) else ""
lines = text.splitlines()
out, in_sec, done, seen = [], False, False, False
for line in lines:
    m = re.match(r"\s*\[([^\]]+)\]\s*$", line)
    if m:
        if in_sec and not done:
            out.append(f"{key} = {value}")
            done = True
        in_sec = m.group(1).strip() == section
        seen = seen or in_sec
    elif in_sec and re.match(rf"\s*{re.escape(key)}\s*=", line):
        line = f"{key} = {value}"
        done = True
    out.append(line)
if in_sec and not done:
    out.append(f"{key} = {value}")
    done = True
if not seen:
    out += ["", f"[{section}]", f"{key} = {value}"]
open(path, "w").write("\n".join(out) + "\n")
PY
}

provision_device() {
    MISSING=$(datapath_missing)
    mkdir -p "$DATA/config" "$DATA/identity"
    if [ -n "$MISSING" ]; then
        echo "    data path not available yet (missing: $MISSING): bare image checks only"
        cp "$REPO/yocto-layer/meta-osect/recipes-osect/osect-agent/files/usr/lib/osect/agent.toml" "$DATA/config/agent.toml"
        toml_set "$DATA/config/agent.toml" capture interface "\"$MIRROR_IF\""
    else
        # The factory flow as at the provisioning station: a PKI, the
        # collector's certificate, the fleet registry, the unit's identity
        # and configuration (its modem is the tool's simulator), then the
        # unit is assigned to a site: the test's, whose mirror port is the
        # guest's second NIC and whose collector is the host.
        local prov=("$BIN/osect-provision" --pki "$PKI" --registry "$WORK/registry.sqlite" --operator boot-test)
        local log=$WORK/provision.log
        run_prov() { "${prov[@]}" "$@" >>"$log" 2>&1 || { cat "$log"; die "osect-provision $1 failed"; }; }
        run_prov pki init
        run_prov pki server-cert --name collector.osect --ip 10.0.2.2 \
            --out-cert "$PKI/collector.crt" --out-key "$PKI/collector.key"
        run_prov registry init
        mkdir -p "$WORK/modem"
        "$BIN/osect-provision" --operator boot-test simulate-modem --link-dir "$WORK/modem" >"$WORK/modem.log" 2>&1 &
        MODEM_PID=$!
        local i=0
        while [ -z "$(ls "$WORK/modem" 2>/dev/null)" ] && ((i < 50)); do sleep 0.2; i=$((i + 1)); done
        local tty
        tty=$(ls -d "$WORK/modem"/* 2>/dev/null | head -n 1)
        [ -n "$tty" ] || { cat "$WORK/modem.log"; die "the modem simulator published no tty"; }
        run_prov factory --serial "$SERIAL" --device-dir "$DATA" --modem "$tty" --no-selftest
        kill "$MODEM_PID" 2>/dev/null; wait "$MODEM_PID" 2>/dev/null || true
        MODEM_PID=""
        run_prov site add --site boot-test --interface "$MIRROR_IF" --batch-interval 5 \
            --endpoint "10.0.2.2:$COLLECTOR_PORT"
        run_prov assign "$SERIAL" --site boot-test --device-dir "$DATA"
        for f in identity/device.key identity/device.crt identity/core-ca.crt config/agent.toml; do
            [ -s "$DATA/$f" ] || die "provisioning wrote no $f"
        done
        # The partition was provisioned on the host at $DATA; the device
        # sees it at /data.
        sed -i "s#$DATA#/data#g" "$DATA/config/agent.toml"
    fi
    "$BIN/osect-agent" check-config --config "$DATA/config/agent.toml" >/dev/null 2>"$WORK/check-config.log" ||
        { cat "$WORK/check-config.log"; die "the device's agent.toml does not load"; }
    # No time source: chrony sends nothing, so nothing leaves the host.
    mkdir -p "$DATA/config/chrony"
}

start_collector() {
    [ -z "$MISSING" ] || return 0
    mkdir -p "$WORK/store"
    local client_ca=$PKI/client-ca.pem crl=()
    [ -f "$client_ca" ] || client_ca=$PKI/device-ca.crt
    [ -f "$PKI/devices.crl" ] && crl=(--crl "$PKI/devices.crl")
    "$BIN/osect-collector" serve --listen "127.0.0.1:$COLLECTOR_PORT" --store "$WORK/store" \
        --cert "$PKI/collector.crt" --key "$PKI/collector.key" --client-ca "$client_ca" \
        "${crl[@]}" >"$WORK/collector.log" 2>&1 &
    COLLECTOR_PID=$!
    sleep 1
    kill -0 "$COLLECTOR_PID" 2>/dev/null || { cat "$WORK/collector.log"; die "the collector did not start"; }
}

# Polls the collector's store until records arrive and stop changing.
wait_for_batches() {
    datapath_failed=0
    t_first_ack=""
    if [ -n "$MISSING" ]; then
        datapath_summary="not checked (missing: $MISSING)"
        return 0
    fi
    local start=$SECONDS last="" stable=0
    while ((SECONDS - start < 300)); do
        rm -rf "$WORK/export"
        if "$BIN/osect-collector" export --store "$WORK/store" --device "$SERIAL" --format tsv \
            --out "$WORK/export" >/dev/null 2>&1 && [ -n "$(find "$WORK/export" -name '*.log' -size +0 2>/dev/null)" ]; then
            [ -n "$t_first_ack" ] || t_first_ack=$(elapsed "$t_power" "$(now)")
            local sum
            # Records only: the export's header lines carry its own time.
            sum=$(find "$WORK/export" -name '*.log' -exec grep -hv '^#' {} + | sort | sha256sum)
            if [ "$sum" = "$last" ]; then
                stable=$((stable + 1))
                ((stable >= 3)) && grep -aq 'OSECT-FED' "$WORK/serial.log" && break
            else
                stable=0
                last=$sum
            fi
        fi
        kill -0 "$QEMU_PID" 2>/dev/null || die "qemu exited while waiting for batches"
        sleep 3
    done
    [ -n "$t_first_ack" ] || { datapath_failed=1; datapath_summary="no batch reached the collector"; return 0; }
}

compare_records() {
    [ -z "$MISSING" ] || return 0
    ((datapath_failed == 0)) || return 0
    "$BIN/osect-agent" replay "$CAPTURE" --out "$WORK/replay" --format tsv >"$WORK/replay.log" 2>&1 ||
        { cat "$WORK/replay.log"; die "osect-agent replay failed"; }
    if python3 "$HERE/compare-records.py" "$WORK/replay" "$WORK/export" --known "$HERE/known-differences.txt" \
        >"$WORK/compare.log" 2>&1; then
        datapath_summary="records equal replay's ($(tail -n 1 "$WORK/compare.log"))"
    else
        datapath_failed=1
        datapath_summary="records differ from replay's"
        cat "$WORK/compare.log"
    fi
}
