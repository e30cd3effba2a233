#!/usr/bin/env python3
"""Compares two directories of Zeek TSV logs: the records 'osect-agent replay'
wrote for a capture and those the collector exported after the sensor in the
boot test captured the same frames live and sent them in batches.

  compare-records.py REPLAY_DIR EXPORT_DIR [--known FILE]

Each log of REPLAY_DIR must be in EXPORT_DIR with the same records, compared
as multisets of rows on the fields both logs have, leaving out what differs
by nature between an offline replay and a live capture that batches by its
own clock:

- every field of type time or interval (capture times, durations) and uids;
- interim records: a flow still open when an interval closes is reported as
  an interim record with its counts so far; per uid, the export's most
  advanced record (largest packet count) stands for the flow, and the
  'interim' flag itself is not compared;
- aggregation: a log the uplink aggregates (a 'count' field the replay lacks)
  stands for 'count' identical operations, compared on the fields both have.

The known-differences file lists further accepted differences, one per line
with its reason: 'LOG FIELD REASON...' leaves FIELD out of LOG, 'LOG * REASON'
leaves the whole log out, and 'LOG @latest:KEY REASON' compares only the
export's latest record per KEY with the replay's record for that KEY, for
logs the agent sends as snapshots per interval. Prints one line per log and
a summary; exits 1 on any difference.
"""
import argparse
import sys
from collections import Counter
from pathlib import Path

UIDS = {"uid", "uids", "conn_uids", "orig_uids", "resp_uids"}
PKT_FIELDS = ("orig_pkts", "resp_pkts")


def read_log(path: Path):
    """(fields, fields of type time or interval, rows in file order)."""
    fields, types, rows = None, [], []
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
            rows.append(dict(zip(fields, values)))
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


def packets(row):
    return sum(int(row[f]) for f in PKT_FIELDS if row.get(f, "-").isdigit())


def final_per_flow(rows):
    """Per uid, the record with the most packets (the latest on a tie)."""
    best = {}
    for i, r in enumerate(rows):
        uid = r.get("uid", f"#{i}")
        if uid not in best or packets(r) >= packets(best[uid]):
            best[uid] = r
    return list(best.values())


def latest_per_key(rows, key):
    latest = {}
    for r in rows:
        latest[r.get(key, "-")] = r
    return latest


def compare(name, replay_path, export_path, skip):
    fields, timed, want_rows = read_log(replay_path)
    efields, etimed, have_rows = read_log(export_path)
    ignored = UIDS | timed | etimed | {f for f in skip if not f.startswith("@")}
    if "interim" in efields:
        have_rows = final_per_flow(have_rows)
        want_rows = [r for r in want_rows if r.get("interim") != "T"]
        ignored.add("interim")
    weighted = "count" in efields and "count" not in fields
    keep = [f for f in fields if f in efields and f not in ignored and f != "count"]
    for s in skip:
        if s.startswith("@latest:"):
            key = s.split(":", 1)[1]
            latest = latest_per_key(have_rows, key)
            have_rows = list(latest.values())
            want_rows = [r for r in want_rows if r.get(key, "-") in latest]
    want = Counter(tuple(r.get(f, "-") for f in keep) for r in want_rows)
    have = Counter()
    for r in have_rows:
        n = int(r["count"]) if weighted and r.get("count", "").isdigit() else 1
        have[tuple(r.get(f, "-") for f in keep)] += n
    return keep, want, have


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("replay", type=Path)
    ap.add_argument("export", type=Path)
    ap.add_argument("--known", type=Path)
    args = ap.parse_args()
    try:
        known = read_known(args.known)
        logs = sorted(args.replay.rglob("*.log"))
        if not logs:
            print(f"compare-records: no log in {args.replay}", file=sys.stderr)
            return 1
        exported = {p.name: p for p in args.export.rglob("*.log")}
        failed = records = 0
        for log in logs:
            skip = known.get(log.name, set())
            if "*" in skip:
                print(f"{log.name}: left out (known difference)")
                continue
            if log.name not in exported:
                n = len(read_log(log)[2])
                if n:
                    print(f"{log.name}: {n} records in replay, log missing from the export")
                    failed += 1
                continue
            keep, want, have = compare(log.name, log, exported[log.name], skip)
            total = sum(want.values())
            if want == have:
                print(f"{log.name}: {total} records equal")
                records += total
                continue
            failed += 1
            print(f"{log.name}: records differ (replay {total}, export {sum(have.values())});"
                  f" compared fields: {' '.join(keep)}")
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
