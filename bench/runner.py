"""One benchmark size from start to end: generate, ingest, build, race the baselines,
append the nightly sessions; and the end-to-end refresh of the default universe."""

import json
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from bench import data, dbt_steps
from bench.measure import Measure, StepError, run_step
from bench.project import BenchProject, create_project
from bench.sizes import END_DATE, Size
from bench.verify import sample_pairs

Say = Callable[[str], None]

# The two marts of the pandas and polars race, and so the models they need.
RACED_MARTS = ("divergence_daily", "outperformance_streaks")


def _upstream_models(manifest_path: Path, names: tuple[str, ...]) -> set[str]:
    manifest = json.loads(manifest_path.read_text())
    nodes = manifest["nodes"]
    wanted = [k for k, v in nodes.items() if v["resource_type"] == "model" and v["name"] in names]
    seen: set[str] = set()
    while wanted:
        unique_id = wanted.pop()
        if unique_id in seen or unique_id not in nodes:
            continue
        if nodes[unique_id]["resource_type"] != "model":
            continue
        seen.add(unique_id)
        wanted.extend(nodes[unique_id]["depends_on"]["nodes"])
    return seen


def _sum(nodes: dict[str, float], keep: set[str]) -> float:
    return sum(seconds for unique_id, seconds in nodes.items() if unique_id in keep)


def _repeat(
    measure: Measure, times: int, spec: Callable[[int], dict], say: Say, *extra: str
) -> list[dict]:
    outs = []
    for number in range(times):
        say(f"{measure.name}: run {number + 1}/{times}")
        try:
            out = run_step(spec(number))
        except StepError as exc:
            say(f"{measure.name}: FAILED, {str(exc)[:300]}")
            measure.fail(str(exc), *extra)
            break
        measure.add(out, *extra)
        outs.append(out)
        say(f"{measure.name}: {out['seconds']:.2f} s, peak {out['peak_rss_mb']:.0f} MB")
    return outs


def run_size(size: Size, workdir: Path, say: Say, spark: bool = True) -> dict[str, Any]:
    """Every measurement of one size; the Spark build too when `spark` and the size asks
    for it."""
    root = workdir / size.name
    root.mkdir(parents=True, exist_ok=True)
    project = create_project(root, size.stocks)
    repeat = size.repeat
    started = time.perf_counter()
    say(f"[{size.name}] generating {size.stocks} stocks from {size.start} to {END_DATE}")
    total_rows = data.generate_prices(root, project.seeds_dir, size.start, END_DATE)
    generate_seconds = time.perf_counter() - started
    spark = spark and size.spark
    # one held-back session per nightly increment, and one more for Spark's
    nights = data.last_sessions(size.start, END_DATE, repeat + 1 + int(spark))
    base_end, increments = nights[0], nights[1:]
    measures: dict[str, Measure] = {}
    checks: list[dict] = []

    def measure(name: str) -> Measure:
        return measures.setdefault(name, Measure(name))

    common = {"root": str(root), "start": size.start.isoformat(), "base_end": base_end.isoformat()}
    _repeat(
        measure("ingest_bulk"),
        repeat,
        lambda _n: {"step": "ingest", "mode": "bulk", **common},
        say,
        "rows",
        "rows_per_second",
    )
    _repeat(
        measure("ingest_bulk_nokey"),
        repeat,
        lambda _n: {"step": "ingest", "mode": "bulk_nokey", **common},
        say,
        "rows",
        "rows_per_second",
    )
    _repeat(
        measure("ingest_loader"),
        repeat,
        lambda _n: {"step": "ingest", "mode": "loader", **common},
        say,
        "rows",
        "rows_per_second",
    )

    say(f"[{size.name}] dbt seed and compile (not timed)")
    dbt_steps.run_dbt(project, "seed", "--full-refresh")
    # the basket levels read the memberships their pre-hook keeps in meta (the floor runs
    # no hooks, so the table is made here, before the floor's copy is taken)
    dbt_steps.run_dbt(project, "run", "--select", "+int_basket_levels")
    dbt_steps.run_dbt(project, "compile", "--full-refresh")
    manifest = root / "floor_manifest.json"
    shutil.copy(project.target_dir / "manifest.json", manifest)
    floor_wh = root / "floor" / "warehouse.duckdb"
    floor_wh.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(project.warehouse, floor_wh)

    # Interleaved, so that other work on the machine weighs on dbt and the floor alike.
    run_outs, build_outs, floor_outs = [], [], []
    for number in range(repeat):
        for name, outs, spec in (
            ("dbt_run_full", run_outs, {"step": "dbt", "args": ["run", "--full-refresh"]}),
            (
                "floor",
                floor_outs,
                {"step": "floor", "warehouse": str(floor_wh), "manifest": str(manifest)},
            ),
            (
                "dbt_build_full",
                build_outs,
                {"step": "dbt", "args": ["build", "--full-refresh", *dbt_steps.NIGHTLY_SELECTION]},
            ),
        ):
            say(f"{name}: run {number + 1}/{repeat}")
            try:
                out = run_step({**spec, "root": str(root)})
            except StepError as exc:
                say(f"{name}: FAILED, {str(exc)[:300]}")
                measure(name).fail(str(exc))
                continue
            measure(name).add(out)
            outs.append(out)
            say(f"{name}: {out['seconds']:.2f} s, peak {out['peak_rss_mb']:.0f} MB")

    raced = _upstream_models(manifest, RACED_MARTS)
    pair_ids = sample_pairs(str(project.warehouse))
    floor_spec = {
        "step": "check_floor",
        "floor": str(floor_wh),
        "built": str(project.warehouse),
        "pair_ids": pair_ids,
    }
    try:
        checks += run_step(floor_spec)["checks"]
    except StepError as exc:
        checks.append({"name": "floor", "rows": 0, "ok": False, "problems": [str(exc)[:2000]]})
    baselines = (
        ("pandas_long", {"step": "pandas", "mode": "long"}, "pandas long"),
        ("pandas_wide", {"step": "pandas", "mode": "wide"}, "pandas wide"),
        ("polars_long", {"step": "polars"}, "polars long"),
    )
    for name, step, label in baselines:
        outs = _repeat(
            measure(name),
            repeat,
            lambda n, step=step: {
                **step,
                "warehouse": str(project.warehouse),
                "verify": n == 0,
                "pair_ids": pair_ids,
            },
            say,
            "load_seconds",
        )
        checks += (
            outs[0]["checks"]
            if outs
            else [{"name": label, "rows": 0, "ok": False, "problems": ["did not run"]}]
        )
    raced_dbt = Measure(
        "dbt_raced_marts",
        [_sum(o["nodes"], raced) for o in run_outs],
        [o["peak_rss_mb"] for o in run_outs],
    )
    raced_floor = Measure(
        "floor_raced_marts",
        [_sum(o["nodes"], raced) for o in floor_outs],
        [o["peak_rss_mb"] for o in floor_outs],
    )
    models = {k for out in run_outs for k in out["nodes"] if k.startswith("model.")}
    measures["dbt_models_sum"] = Measure(
        "dbt_models_sum",
        [_sum(o["nodes"], models) for o in run_outs],
        [o["peak_rss_mb"] for o in run_outs],
    )
    measures[raced_dbt.name] = raced_dbt
    measures[raced_floor.name] = raced_floor

    def nightly_spec(n: int) -> dict[str, str]:
        return {"step": "nightly", "root": str(root), "session": increments[n].isoformat()}

    _repeat(measure("nightly"), repeat, nightly_spec, say, "append_seconds", "build_seconds")

    con = duckdb.connect(str(project.warehouse), read_only=True)
    counts = dict(
        con.execute(
            "select 'pairs', count(*) from universe.pairs union all "
            "select 'symbols', count(distinct symbol) from raw.prices union all "
            "select 'sessions', count(distinct session_date) from raw.prices union all "
            "select 'prices', count(*) from raw.prices union all "
            "select 'divergence_daily', count(*) from marts.divergence_daily union all "
            "select 'outperformance_streaks', count(*) from marts.outperformance_streaks"
        ).fetchall()
    )
    con.close()
    size_bytes = project.warehouse.stat().st_size
    spark_nodes: dict[str, float] = {}
    if spark:
        spark_nodes = _run_spark(root, increments[repeat], pair_ids, measure, checks, say)
    last_nodes = build_outs[-1]["nodes"] if build_outs else {}
    slowest = sorted(last_nodes.items(), key=lambda item: item[1], reverse=True)[:12]
    return {
        "size": size.name,
        "stocks": size.stocks,
        "years": round((END_DATE - size.start).days / 365.25, 1),
        "start": size.start.isoformat(),
        "end": END_DATE.isoformat(),
        "generated_rows": total_rows,
        "generate_seconds": generate_seconds,
        "counts": counts,
        "warehouse_bytes": size_bytes,
        "measures": {name: m.as_dict() for name, m in measures.items()},
        "checks": checks,
        "slowest_nodes": slowest,
        "floor_nodes": floor_outs[-1]["nodes"] if floor_outs else {},
        "spark_nodes": spark_nodes,
        "wall_seconds": time.perf_counter() - started,
    }


def _run_spark(
    root: Path,
    session: date,
    pair_ids: list[str],
    measure: Callable[[str], Measure],
    checks: list[dict],
    say: Say,
) -> dict[str, float]:
    """The Spark build of the raw tables the DuckDB figures ended on, checked against
    DuckDB's marts, then one nightly on Spark; returns the full build's node times."""
    outs = _repeat(
        measure("spark_build_full"),
        1,
        lambda _n: {"step": "spark_full", "root": str(root)},
        say,
        "export_seconds",
        "build_seconds",
    )
    if not outs:
        checks.append({"name": "spark", "rows": 0, "ok": False, "problems": ["did not build"]})
        return {}
    try:
        checks += run_step({"step": "check_spark", "root": str(root), "pair_ids": pair_ids})[
            "checks"
        ]
    except StepError as exc:
        checks.append({"name": "spark", "rows": 0, "ok": False, "problems": [str(exc)[:2000]]})
    _repeat(
        measure("spark_nightly"),
        1,
        lambda _n: {"step": "spark_nightly", "root": str(root), "session": session.isoformat()},
        say,
        "append_seconds",
        "export_seconds",
        "build_seconds",
    )
    return outs[0]["nodes"]


def run_e2e(workdir: Path, repeat: int, say: Say) -> dict[str, Any]:
    """`make run`, a nightly refresh_all_job and one more with nothing new, on the default
    universe, `repeat` times."""
    sessions = data.last_sessions(END_DATE.replace(year=END_DATE.year - 1), END_DATE, 2)
    cold, night = Measure("e2e_make_run"), Measure("e2e_nightly")
    again = Measure("e2e_nothing_new")
    for number in range(repeat):
        folder = str(workdir / "e2e" / f"run_{number}")
        say(f"e2e: make run, {number + 1}/{repeat}")
        try:
            out = run_step(
                {"step": "e2e", "phase": "cold", "folder": folder, "end": str(sessions[0])}
            )
            cold.add(out)
            say(f"e2e: make run {out['seconds']:.1f} s; nightly refresh")
            out = run_step(
                {"step": "e2e", "phase": "nightly", "folder": folder, "end": str(sessions[1])}
            )
            night.add(out)
            say(f"e2e: nightly {out['seconds']:.1f} s; the same again, nothing new")
            out = run_step(
                {"step": "e2e", "phase": "again", "folder": folder, "end": str(sessions[1])}
            )
            again.add(out)
            say(f"e2e: nothing new {out['seconds']:.1f} s")
        except StepError as exc:
            say(f"e2e: FAILED, {str(exc)[:300]}")
            cold.fail(str(exc))
            break
    return {"measures": {m.name: m.as_dict() for m in (cold, night, again)}}


def clean_size(workdir: Path, size: Size) -> None:
    """Drop a size's warehouses (the generated Parquet is kept for the next run)."""
    root = workdir / size.name
    project = BenchProject(root)
    for path in (project.warehouse.parent, root / "floor", project.spill_dir):
        shutil.rmtree(path, ignore_errors=True)
