"""Inspect every case of the abuse corpus in a fresh interpreter and print a Markdown table
(case, seconds, peak memory, outcome) for docs/digitisation.md:
``.venv/bin/python -m tests.abuse.measure``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.abuse.corpus import CASES
from tests.abuse.test_abuse import inspect_in_child


def main() -> int:
    print("| case | size | time | peak memory | outcome |")
    print("|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            path = Path(folder) / case.filename
            path.write_bytes(case.make())
            got = inspect_in_child(path)
            outcome = f"refused: `{got['code']}`" if got["code"] else "accepted"
            print(f"| {case.name} | {path.stat().st_size:,} B | {got['seconds']:.2f} s "
                  f"| {got['rss_mb']:.0f} MB | {outcome} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
