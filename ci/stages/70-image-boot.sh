#!/usr/bin/env bash
# Builds the Debian dev image (same overlay as the Yocto image) and boots it
# in qemu under TCG: in-guest checks (read-only root, mirror NIC without
# address, nothing listening, agent sandbox score, firewall) and the data
# path (corpus frames on the mirror port -> agent -> QUIC -> collector on the
# host, records equal to 'osect-agent replay').
# Expected time on 2 cores: 3-5 min for the release build, 4-5 min for the
# Debian base system on a fresh machine (seconds when cached in
# /var/cache/osect-image), 3-5 min to boot and run.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive

# qemu-system-x86 from bookworm-backports, the suite this machine's
# qemu-utils comes from, so the qemu packages stay one consistent set.
if ! command -v qemu-system-x86_64 >/dev/null; then
    if ! apt-cache policy 2>/dev/null | grep -q bookworm-backports; then
        cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        apt-get update -qq
    fi
    apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
fi
dpkg --audit | grep -q . && { dpkg --audit; echo "broken packages" >&2; exit 1; }

exec timeout --kill-after=30 1500 bash image/test/boot-test.sh
