#!/usr/bin/env python3
"""Checks kas files without fetching anything: each must be valid for kas's
own schema, its includes must exist in this repository, and every remote
repository must name its url, its branch and the commit built from it, a
full 40-hex revision (kas checks at checkout that the branch contains it).
Prints the revision of each repository.

  check-kas.py FILE.yml...
"""
import json
import re
import sys
from pathlib import Path

import jsonschema
import kas
import yaml

REPO = Path(__file__).resolve().parent.parent.parent


def main() -> int:
    schema = json.loads((Path(kas.__file__).parent / "schema-kas.json").read_text())
    failed = 0
    for name in sys.argv[1:]:
        path = Path(name)
        try:
            doc = yaml.safe_load(path.read_text())
            jsonschema.validate(doc, schema)
        except (OSError, yaml.YAMLError, jsonschema.ValidationError) as e:
            print(f"{path}: {str(e).splitlines()[0]}", file=sys.stderr)
            failed += 1
            continue
        before = failed
        for inc in doc["header"].get("includes", []):
            target = inc if isinstance(inc, str) else inc.get("file")
            if not (REPO / target).is_file():
                print(f"{path}: include {target} not found", file=sys.stderr)
                failed += 1
        pinned = []
        for repo, spec in (doc.get("repos") or {}).items():
            spec = spec or {}
            if "url" not in spec:
                continue
            if "branch" not in spec:
                print(f"{path}: repo {repo} has no branch", file=sys.stderr)
                failed += 1
            commit = spec.get("commit")
            if commit is None:
                print(f"{path}: repo {repo} is not pinned: it has no commit", file=sys.stderr)
                failed += 1
            elif not re.fullmatch(r"[0-9a-f]{40}", str(commit)):
                print(f"{path}: repo {repo} commit {commit!r} is not a full revision", file=sys.stderr)
                failed += 1
            else:
                pinned.append(f"{repo} {spec.get('branch')}@{commit[:12]}")
        if failed == before:
            print(f"{path}: valid (pinned: {', '.join(pinned) or 'no remote repository'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
