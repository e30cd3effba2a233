#!/usr/bin/env bash
# The Yocto layer without bitbake (a full build needs hours and the internet):
# the crate list against Cargo.lock (and that the check catches a mismatch),
# the overlay lists against their trees, oelint-adv for both supported
# releases, the kas files against kas's schema, and the shell helpers' syntax.
# Expected time: under 30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
LAYER=yocto-layer/meta-osect
CHECK="python3 $LAYER/scripts/check-layer.py"

echo "--- crate lists against Cargo.lock"
$CHECK crates

echo "--- the crate check fails on a lockfile that disagrees"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Change the checksum of the first crates.io package.
sed '0,/^checksum = "/s/^checksum = "[0-9a-f]*"/checksum = "'"$(printf '0%.0s' $(seq 64))"'"/' Cargo.lock >"$tmp/Cargo.lock"
if cmp -s Cargo.lock "$tmp/Cargo.lock"; then
    echo "could not alter a checksum in Cargo.lock" >&2
    exit 1
fi
if $CHECK crates --lock "$tmp/Cargo.lock" 2>"$tmp/err"; then
    echo "the crate check accepted a lockfile with a changed checksum" >&2
    exit 1
fi
grep -q 'disagrees with' "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
echo "rejected as expected"

echo "--- overlay lists against files/ trees"
$CHECK overlay

echo "--- oelint-adv"
# The *-crates.inc files are the verbatim output of OE-core's
# cargo-update-recipe-crates ('SRC_URI += " \'), which oelint's
# inconspaces rule dislikes; that rule is suppressed for the two recipes
# that require them, and for nothing else.
mapfile -t cargo_recipes < <(find "$LAYER" -name '*.bb' -path '*recipes-osect/osect-agent/*' -o -name '*.bb' -path '*recipes-osect/osect-provision/*' | sort)
mapfile -t others < <(find "$LAYER" \( -name '*.bb' -o -name '*.bbappend' -o -name '*.bbclass' -o -name '*.conf' -o -name '*.inc' \) \
    -not -path '*/files/*' -not -name '*-crates.inc' -not -path '*recipes-osect/osect-agent/*' -not -path '*recipes-osect/osect-provision/*' | sort)
for release in scarthgap wrynose; do
    out=$(oelint-adv --release "$release" --quiet --hide info "${others[@]}" 2>&1 || true)
    out+=$(oelint-adv --release "$release" --quiet --hide info --suppress oelint.vars.inconspaces "${cargo_recipes[@]}" 2>&1 || true)
    if [ -n "$out" ]; then
        echo "$out"
        echo "oelint-adv ($release): findings above" >&2
        exit 1
    fi
    echo "oelint-adv ($release): no error or warning in $(( ${#others[@]} + ${#cargo_recipes[@]} )) files"
done

echo "--- kas files against kas's schema"
python3 image/kas/check-kas.py image/kas/*.yml

echo "--- shell helpers"
for f in $(grep -rl '^#!/bin/sh' "$LAYER"/recipes-*/*/files image/dev image/test 2>/dev/null); do
    sh -n "$f"
done
echo "ok"
