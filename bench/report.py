"""``make bench``: run every bench/*.py and write docs/benchmarks.md, one table.

    .venv/bin/python bench/report.py [--quick] [--search-sizes 10000,100000] [--million]
                                     [--out docs/benchmarks.md]

Each script prints its own table (kept in the page, below the summary) and writes its
figures as JSON; this driver puts each of our figures beside its baseline from the same run.
``--quick`` is for trying the driver itself (tiny sizes; the page says so).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return "not installed"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
        else "?"


def machine() -> list[str]:
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        kib = int(info.readline().split()[1])
    from importlib.metadata import version

    return [f"CPU: {cpu}, {os.cpu_count()} cores; RAM {kib / 2**20:.1f} GiB; "
            f"{platform.platform()}",
            f"Python {platform.python_version()}; PostgreSQL: "
            f"{_first_line(['psql', '--version'])}; "
            f"{_first_line(['tesseract', '--version'])}; ocrmypdf {version('ocrmypdf')}; "
            f"pyHanko {version('pyhanko')}; tantivy {version('tantivy')}; "
            f"FastAPI {version('fastapi')}, uvicorn {version('uvicorn')}",
            f"Load average when the run started: {os.getloadavg()[0]:.1f} "
            "(other work on the machine skews every figure)"]


def run(script: str, args: list[str], folder: Path) -> tuple[dict[str, Any] | None, str,
                                                               float]:
    out = folder / f"{script}.json"
    cmd = [sys.executable, str(BENCH / f"{script}.py"), *args, "--json", str(out)]
    print(f"$ {' '.join(cmd[1:])}", flush=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    print(proc.stdout, flush=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return None, proc.stdout + f"\n(failed, exit {proc.returncode})", seconds
    return json.loads(out.read_text(encoding="utf-8")), proc.stdout, seconds


def _ocr_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    by = {(r["engine"].split(":")[0].split(" ")[0], r["variant"]): r for r in data["rows"]}
    rows = []
    for variant in ("clean", "noisy"):
        ours, raw, cli = by["ours", variant], by["tesseract", variant], by["ocrmypdf", variant]
        rows.append((f"OCR, {data['pages']} {variant} A4 pages, pages/min (jobs={data['jobs']})",
                     f"{ours['pages_per_minute']:.1f}",
                     f"raw tesseract {raw['pages_per_minute']:.1f}; ocrmypdf CLI "
                     f"{cli['pages_per_minute']:.1f}", "≥ 0.8 × raw"))
        rows.append((f"OCR, {variant}: CER % (without diacritics)",
                     f"{100 * ours['cer']:.2f} ({100 * ours['cer_bare']:.2f})",
                     f"raw tesseract {100 * raw['cer']:.2f}; ocrmypdf CLI "
                     f"{100 * cli['cer']:.2f}",
                     "≤ 1 %" if variant == "clean" else "≤ raw"))
    return rows


def _sign_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    naive, ours, check = data["rows"]
    return [("Signing: personal + seal, B-LT, stamps, ms/doc (median)",
             f"{ours['median_ms']:.0f}", f"naive pyHanko {naive['median_ms']:.0f}", "≤ 150"),
            ("Verification of the sealed PDF (2 signatures), ms (median)",
             f"{check['median_ms']:.0f}", "(none: the same pyHanko validator)", "≤ 60")]


def _search_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for r in data["rows"]:
        if r["measure"].startswith("index"):
            rate = re.match(r"([\d,]+) docs/s", r["rate"])
            rows.append((f"Search ({r['engine']}), {r['docs']:,} docs: bulk indexing docs/s",
                         rate.group(1) if rate else r["rate"], "no Elasticsearch reachable", ""))
        elif r["measure"].startswith(("(a)", "(d)")):
            target = "≤ 10" if r["measure"].startswith("(d)") else "≤ 20 (at 1M)"
            rows.append((f"Search ({r['engine']}), {r['docs']:,} docs: {r['measure']}, p95 ms",
                         f"{r['p95_ms']:.2f}", "", target))
    return rows


def _api_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for r in data["rows"]:
        what = "mix" if r["kind"] == "all" else r["kind"]
        rows.append((f"API ({data['dossiers']:,} dossiers, {data['workers']} workers), "
                     f"{what}: req/s, p50 / p99 ms, errors",
                     f"{r['rate']:.0f}, {r['p50_ms']:.1f} / {r['p99_ms']:.1f}, {r['errors']}",
                     f"offered {data['rate'] / (1 if what == 'mix' else 3):.0f} req/s",
                     "p99 ≤ 50 at 200, 0 errors" if what == "mix" else ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to try the driver")
    parser.add_argument("--search-sizes", default="10000,100000")
    parser.add_argument("--million", action="store_true", help="search also at 1M (long)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    quick = args.quick
    plan: list[tuple[str, list[str], Any]] = [
        ("ocr", ["--pages", "2", "--repeat", "1"] if quick else [], _ocr_rows),
        ("sign", ["3"] if quick else [], _sign_rows),
        ("search", ["--sizes", "2000" if quick else args.search_sizes, "--queries", "100"]
         + (["--million"] if args.million else []), _search_rows),
        ("api", ["--dossiers", "2000", "--seconds", "5", "--warmup", "2"] if quick else [],
         _api_rows),
    ]
    missing = sorted({p.stem for p in BENCH.glob("*.py")} - {p[0] for p in plan} - {"report"})
    if missing:
        raise SystemExit(f"bench/report.py does not know how to summarise: {missing}")
    header = machine()
    started, when = time.perf_counter(), datetime.now(UTC)
    table: list[tuple[str, str, str, str]] = []
    sections: list[str] = []
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp:
        for script, script_args, summarise in plan:
            data, printed, seconds = run(script, script_args, Path(tmp))
            if data is not None:
                table += summarise(data)
            else:
                table.append((f"{script}: FAILED (see below)", "", "", ""))
            sections.append(f"### bench/{script}.py {' '.join(script_args)} "
                            f"({seconds / 60:.1f} min)\n\n```\n{printed.strip()}\n```\n")
    total = (time.perf_counter() - started) / 60
    lines = ["# Benchmarks", "",
             "Generated by `make bench` (bench/report.py); do not edit by hand. Each figure of "
             "ours stands beside its baseline measured in the same run.", "",
             f"Run {when:%Y-%m-%d %H:%M} UTC, {total:.1f} minutes in all"
             + (" — QUICK MODE (tiny sizes), not the real figures" if quick else "") + ".", ""]
    lines += [f"- {line}" for line in header] + ["",
              "| measure | ours | baseline (same run) | target |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table]
    lines += ["", "## How", "",
              "- OCR: bench/ocr.py, generated A4 pages at 300 dpi in several fonts, clean and "
              "noisy (specks, red seal, blue signature, blur, skew, JPEG); fastest of its runs.",
              "- Signing: bench/sign.py, a 2-page PDF, RSA-2048, personal signature + seal "
              "with visible stamps and timestamps (B-LT), against pyHanko used as in its "
              "quick-start (credentials and timestamper rebuilt for each call).",
              "- Search: bench/search.py, synthetic Vietnamese records on the embedded "
              "Tantivy index; `--million` (or `make bench BENCH_ARGS=--million`) adds the "
              "1,000,000-document run, which takes much longer.",
              "- API: bench/api.py, the service on PostgreSQL with 100,000 returned dossiers "
              "(bulk SQL copies of one real demo dossier, each with its own sealed result "
              "row pointing at the one real sealed PDF), served as docker-compose.yml serves "
              "it (`motcua serve --workers 4 --no-access-log`, uvloop and httptools) on "
              "loopback, an open-loop generator (a minimal keep-alive HTTP/1.1 client on uvloop, "
              "on the same two cores) "
              "at a fixed rate, latency counted from when each request was due: a third "
              "citizen status lookups, a third e-result downloads by their owner, a third "
              "public QR verifications. Each download and check is on record before it is "
              "answered (an inbox row, group-committed) and on the audit chain a moment "
              "later (each server process's chainer, records/audit_writer.py). The QR page "
              "keeps a sealed result's verification report for five minutes per content "
              "hash (api/verification.py ReportCache); without it each verification costs "
              "50-200 ms of CPU.",
              "", "## Each script's own output", "", *sections]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({total:.1f} min)")


if __name__ == "__main__":
    main()
