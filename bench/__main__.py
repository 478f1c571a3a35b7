"""Command line of the benchmark.

    python -m bench --size tiny|small|medium|large|full [--size ...] [--out bench] [--e2e-repeat 3]

Runs each size in turn (progress on the console), then the end-to-end refresh of the
default universe, and writes results.md, results.json and the plot into --out.
"""

import argparse
import json
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import environment, report
from bench.runner import clean_size, run_e2e, run_size
from bench.sizes import SIZES

NOTES = [
    "- Sizes: the sample market starts on 2000-01-03, so the `full` size has the 26.9 years "
    "from then to 2026-11-20 instead of 30 (3,000 stocks x 6,768 sessions plus the 36 "
    "default instruments, about 20.6 M price rows).",
    "- Generated stocks are ordinary sample-market stocks (`SampleProvider.prices`, values "
    "exactly as the provider gives them), each paired with its sector ETF; the 5 default "
    "pairs and 11 sector comparisons stay in.",
    "- Ingest times only the inserts into `raw.prices` (with its primary key), not reading "
    "the Parquet chunks; the loader path is `ingestion.loader.load_frame` per chunk of 100 "
    "symbols; the bulk path inserts the same frames with one `insert ... select` each.",
    "- The floor runs the compiled SQL of every model (`dbt compile --full-refresh`) as "
    "`create or replace view/table`, in manifest order, without tests.",
    "- The pandas baselines start from prices already in memory (reading them is reported "
    "apart), compute every column of divergence_daily and every row of "
    "outperformance_streaks (daily and weekly runs) for the pairs of the seed, and are "
    "checked against the marts on a sample of pairs before their times count.",
    "- The polars baseline (lazy, long format) starts from the same inputs and computes the "
    'same two marts with window expressions over each pair (`.over("pair_id")`, '
    "`rolling_*` with `min_samples`) and one `collect_all` at the end (the in-memory "
    "engine: polars' streaming one was slower on this plan); it is checked against the "
    "marts like the pandas ones. The targets stay against "
    "the best pandas baseline; polars is reported beside it.",
    "- The nightly increment appends the next held-back session (one row per symbol, "
    "through the loader) and runs `dbt build` without --full-refresh on what the models "
    "are at the time of the run.",
    "- The default-universe figures run `python -m orchestration.run refresh_all_job` (what "
    "`make run` does after installation) in a fresh copy of the project's tracked files, "
    "so that it parses the whole dbt project beside its loads, into an empty folder, then "
    "refresh_all_job again one session later (the nightly refresh), then once more with "
    "nothing new to load. Their targets are the default universe's: a first run under 15 s, "
    "a nightly under 10 s, nothing new under 8 s.",
    "- The machine was shared with other work during the run (see the load averages): "
    "medians of interleaved runs damp it, but absolute times are pessimistic.",
    "- Where the time goes in the model SQL, with suggestions: `bench/hotspots.md`; what "
    "this means beyond one machine: `docs/scaling.md`.",
]


def _merge(results: dict[str, Any], merge: Path) -> None:
    """Append the sizes of another invocation's results.json, marked as measured there."""
    other = json.loads(merge.read_text())
    for size in other["sizes"]:
        size["separate_run"] = f"{merge} ({other['finished_at']} UTC)"
        results["sizes"].append(size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", choices=sorted(SIZES), dest="sizes")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    parser.add_argument("--e2e-repeat", type=int, default=3)
    parser.add_argument(
        "--no-spark", action="store_true", help="leave out the Spark builds of small and medium"
    )
    parser.add_argument("--keep", action="store_true", help="keep each size's warehouses")
    parser.add_argument(
        "--report-only",
        type=Path,
        help="re-render results.md from a results.json (with --merge: its sizes replaced)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        help="a results.json of another invocation (e.g. the full size) to show beside these",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads(args.report_only.read_text())
        if args.merge and args.merge.exists():
            # the sizes measured separately are replaced by the merged file's
            results["sizes"] = [s for s in results["sizes"] if "separate_run" not in s]
            _merge(results, args.merge)
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        path = report.write(results, args.out, NOTES)
        _summary(Console(), results, path)
        return 0
    sizes = [SIZES[name] for name in (args.sizes or ["small", "medium", "large"])]
    console = Console()
    started = time.perf_counter()

    def say(message: str) -> None:
        console.log(message, markup=False)

    results: dict[str, Any] = {
        "command": ["python -m bench", *(argv if argv is not None else sys.argv[1:])],
        "environment": environment.describe(),
        "sizes": [],
    }
    workdir = args.workdir.resolve()
    for size in sizes:
        results["sizes"].append(run_size(size, workdir, say, spark=not args.no_spark))
        if not args.keep:
            clean_size(workdir, size)
    if args.e2e_repeat:
        results["e2e"] = run_e2e(workdir, args.e2e_repeat, say)
    results["wall_seconds"] = time.perf_counter() - started
    if args.merge and args.merge.exists():
        _merge(results, args.merge)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    path = report.write(results, args.out, NOTES)
    _summary(console, results, path)
    failed = [c["name"] for s in results["sizes"] for c in s["checks"] if not c["ok"]]
    return 1 if failed else 0


def _summary(console: Console, results: dict[str, Any], path: Path) -> None:
    console.rule("benchmark summary")
    for size in results["sizes"]:
        m = {k: v["median"] for k, v in size["measures"].items()}
        best = min(m["pandas_long"], m["pandas_wide"])
        polars = (
            f", {m['dbt_raced_marts'] / m['polars_long']:.2f}x polars (lazy, long)"
            if not math.isnan(m.get("polars_long", math.nan))
            else ""
        )
        checks = (
            "all equality checks ok" if all(c["ok"] for c in size["checks"]) else "CHECKS FAILED"
        )
        console.print(
            f"{size['size']}: {size['counts']['prices']:,} rows | "
            f"dbt run {m['dbt_run_full']:.1f} s "
            f"= {m['dbt_run_full'] / m['floor']:.2f}x floor | two marts "
            f"{m['dbt_raced_marts'] / best:.2f}x best pandas{polars} | "
            f"nightly {m['nightly']:.1f} s "
            f"({m['dbt_build_full'] / m['nightly']:.1f}x faster than a full build) | {checks}"
        )
    if results.get("e2e"):
        e = results["e2e"]["measures"]
        console.print(
            f"default universe: make run {e['e2e_make_run']['median']:.1f} s, nightly "
            f"{e['e2e_nightly']['median']:.1f} s, nothing new "
            f"{e.get('e2e_nothing_new', {}).get('median', float('nan')):.1f} s"
        )
    console.print(f"results: {path}")


if __name__ == "__main__":
    sys.exit(main())
