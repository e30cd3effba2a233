#!/usr/bin/env python3
"""Compares two directories of Zeek TSV logs: the records 'osect-agent replay'
wrote for a capture and those the collector exported after the sensor in the
boot test captured the same frames live.

  compare-records.py REPLAY_DIR EXPORT_DIR [--known FILE]

Each log of REPLAY_DIR must exist in EXPORT_DIR with the same records, as
multisets of rows, leaving out what differs by nature between an offline
replay and a live capture: every field of type time or interval (capture
times, durations), uids (random), and interim records (interim = T: a live
agent closes intervals by its clock, the replay by the capture's), plus the
fields listed in the known-differences file. That file has one
'LOG FIELD REASON...' line per accepted difference ('*' as FIELD leaves a
whole log out); every line must give its reason. Prints one line per log and
a summary; exits 1 on any difference.
"""
import argparse
import sys
from collections import Counter
from pathlib import Path

ALWAYS_IGNORED = {"ts", "uid", "uids", "conn_uids", "orig_uids", "resp_uids"}


def read_log(path: Path):
    """The log's fields, the fields not to compare, and its final records."""
    fields = None
    types = []
    rows = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line.startswith("#types"):
            types = line.split("\t")[1:]
        elif line.startswith("#") or not line:
            continue
        else:
            if fields is None:
                raise ValueError(f"{path}:{n}: record before the #fields line")
            values = line.split("\t")
            if len(values) != len(fields):
                raise ValueError(f"{path}:{n}: {len(values)} values for {len(fields)} fields")
            row = dict(zip(fields, values))
            if row.get("interim") != "T":
                rows.append(row)
    timed = {f for f, t in zip(fields or [], types) if t in ("time", "interval")}
    return fields or [], timed, rows


def read_known(path):
    known = {}
    if path is None:
        return known
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise ValueError(f"{path}:{n}: expected 'LOG FIELD REASON', got {line!r}")
        known.setdefault(parts[0], set()).add(parts[1])
    return known


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("replay", type=Path)
    ap.add_argument("export", type=Path)
    ap.add_argument("--known", type=Path)
    args = ap.parse_args()
    try:
        known = read_known(args.known)
        logs = sorted(p for p in args.replay.rglob("*.log"))
        if not logs:
            print(f"compare-records: no log in {args.replay}", file=sys.stderr)
            return 1
        exported = {p.name: p for p in args.export.rglob("*.log")}
        failed = 0
        records = 0
        for log in logs:
            skip = known.get(log.name, set())
            if "*" in skip:
                print(f"{log.name}: left out (known difference)")
                continue
            fields, timed, want_rows = read_log(log)
            if log.name not in exported:
                if want_rows:
                    print(f"{log.name}: {len(want_rows)} records in replay, log missing from the export")
                    failed += 1
                continue
            _, _, have_rows = read_log(exported[log.name])
            keep = [f for f in fields if f not in ALWAYS_IGNORED and f not in timed and f not in skip]
            want = Counter(tuple(r.get(f, "-") for f in keep) for r in want_rows)
            have = Counter(tuple(r.get(f, "-") for f in keep) for r in have_rows)
            if want == have:
                print(f"{log.name}: {len(want_rows)} records equal")
                records += len(want_rows)
                continue
            failed += 1
            print(f"{log.name}: records differ (replay {len(want_rows)}, export {len(have_rows)}); compared fields: {' '.join(keep)}")
            for row, n in list((want - have).items())[:5]:
                print(f"  only in replay (x{n}): {dict(zip(keep, row))}")
            for row, n in list((have - want).items())[:5]:
                print(f"  only in export (x{n}): {dict(zip(keep, row))}")
    except (OSError, ValueError) as e:
        print(f"compare-records: {e}", file=sys.stderr)
        return 1
    print(f"{len(logs)} logs, {records} records equal, {failed} logs differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
