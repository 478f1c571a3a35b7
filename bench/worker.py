"""One measured step in a process of its own, so its peak memory is its own.

    python -m bench.worker '<json spec>'

The spec names the step and its arguments; the last line of stdout is a JSON object with
the step's figures, `peak_rss_mb` (this process or any child it waited for, whichever is
larger) and `error` when it failed.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench import (
    data,
    dbt_steps,
    floor,
    pandas_common,
    pandas_long,
    pandas_wide,
    polars_long,
    spark_build,
    verify,
)
from bench.clone import tracked_copy
from bench.project import BenchProject


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def ingest(spec: dict[str, Any]) -> dict[str, Any]:
    project = BenchProject(Path(spec["root"]))
    base_end = date.fromisoformat(spec["base_end"])
    con = data.open_fresh_warehouse(project.warehouse, primary_key=spec["mode"] != "bulk_nokey")
    frames = data.read_chunks(project.root, base_end)
    loader = data.ingest_with_loader if spec["mode"] == "loader" else data.ingest_bulk
    timing = loader(con, frames)
    data.load_other_raw_tables(
        con,
        project.seeds_dir,
        date.fromisoformat(spec["start"]),
        base_end,
        project.root / "landing",
    )
    con.close()
    return {
        "seconds": timing.seconds,
        "rows": timing.rows,
        "rows_per_second": timing.rows_per_second,
    }


def dbt(spec: dict[str, Any]) -> dict[str, Any]:
    project = BenchProject(Path(spec["root"]))
    started = time.perf_counter()
    dbt_steps.run_dbt(project, *spec["args"])
    seconds = time.perf_counter() - started
    timings = dbt_steps.node_timings(project)
    return {
        "seconds": seconds,
        "by_kind": dbt_steps.seconds_by_kind(timings),
        "nodes": {k: v["seconds"] for k, v in timings.items()},
    }


def run_floor(spec: dict[str, Any]) -> dict[str, Any]:
    seconds = floor.run_floor(Path(spec["warehouse"]), Path(spec["manifest"]))
    return {"seconds": sum(seconds.values()), "nodes": seconds}


def _checks(warehouse: str, pair_ids: list[str], daily: Any, runs: Any, name: str) -> list[dict]:
    checks = [
        verify.check_daily(warehouse, pair_ids, daily, f"{name}: divergence_daily"),
        verify.check_streaks(warehouse, pair_ids, runs, f"{name}: outperformance_streaks"),
    ]
    return [{"name": c.name, "rows": c.rows, "ok": c.ok, "problems": c.problems} for c in checks]


def run_pandas(spec: dict[str, Any]) -> dict[str, Any]:
    warehouse = spec["warehouse"]
    started = time.perf_counter()
    inputs = pandas_common.read_inputs(warehouse)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if spec["mode"] == "long":
        daily, runs = pandas_long.compute(inputs)
    else:
        result = pandas_wide.compute(inputs)
        runs = result.runs
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"seconds": seconds, "load_seconds": load_seconds}
    if spec.get("verify"):
        pair_ids = spec["pair_ids"]
        if spec["mode"] == "wide":
            daily = result.daily_rows(pair_ids)
        out["checks"] = _checks(warehouse, pair_ids, daily, runs, f"pandas {spec['mode']}")
    return out


def run_polars(spec: dict[str, Any]) -> dict[str, Any]:
    """The polars baseline (lazy, long format): reading its inputs is timed apart, the
    plan and its one collect are the figure."""
    warehouse = spec["warehouse"]
    started = time.perf_counter()
    inputs = polars_long.read_inputs(warehouse)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    daily, runs = polars_long.compute(inputs)
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"seconds": seconds, "load_seconds": load_seconds}
    if spec.get("verify"):
        pair_ids = spec["pair_ids"]
        out["checks"] = _checks(
            warehouse,
            pair_ids,
            polars_long.to_pandas(daily, pair_ids),
            polars_long.to_pandas(runs, pair_ids),
            "polars long",
        )
    return out


def _raced_marts_checks(
    name: str, built: str, pair_ids: list[str], rows_of: Callable[[str], Any]
) -> list[dict]:
    """The two raced marts of `built` against another build's (`rows_of(table)`), on the
    sample pairs."""
    checks = []
    for table, key in (
        ("divergence_daily", verify.DAILY_KEY),
        ("outperformance_streaks", verify.STREAK_KEY),
    ):
        check = verify.compare(
            f"{name}: {table}", verify.mart_rows(built, table, pair_ids), rows_of(table), key
        )
        checks.append(
            {"name": check.name, "rows": check.rows, "ok": check.ok, "problems": check.problems}
        )
    return checks


def check_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor's marts against dbt's: row counts of every mart, values on the sample."""
    import duckdb

    floor_wh, built_wh, pair_ids = spec["floor"], spec["built"], spec["pair_ids"]
    checks = _raced_marts_checks(
        "floor", built_wh, pair_ids, lambda table: verify.mart_rows(floor_wh, table, pair_ids)
    )
    con = duckdb.connect(floor_wh, read_only=True)
    con.execute(f"attach '{built_wh}' as built (read_only)")
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'built' "
            "and table_schema = 'marts' order by 1"
        ).fetchall()
    ]
    problems = []
    for table in tables:
        mine = con.execute(f"select count(*) from warehouse.marts.{table}").fetchall()[0][0]
        theirs = con.execute(f"select count(*) from built.marts.{table}").fetchall()[0][0]
        if mine != theirs:
            problems.append(f"{table}: {mine} rows by the floor, {theirs} by dbt")
    con.close()
    checks.append(
        {
            "name": f"floor: row counts of {len(tables)} marts",
            "rows": len(tables),
            "ok": bool(tables) and not problems,
            "problems": problems,
        }
    )
    return {"seconds": 0.0, "checks": checks}


def nightly(spec: dict[str, Any]) -> dict[str, Any]:
    project = BenchProject(Path(spec["root"]))
    session = date.fromisoformat(spec["session"])
    frame = data.session_rows(project.root, session)
    con = data.open_existing(project.warehouse)
    append = data.ingest_with_loader(con, iter([frame]))
    con.close()
    started = time.perf_counter()
    dbt_steps.run_dbt(project, "build", *dbt_steps.NIGHTLY_SELECTION)
    build_seconds = time.perf_counter() - started
    return {
        "seconds": append.seconds + build_seconds,
        "append_seconds": append.seconds,
        "build_seconds": build_seconds,
        "rows": append.rows,
    }


def spark_full(spec: dict[str, Any]) -> dict[str, Any]:
    return spark_build.full_build(BenchProject(Path(spec["root"])))


def spark_nightly(spec: dict[str, Any]) -> dict[str, Any]:
    project = BenchProject(Path(spec["root"]))
    return spark_build.nightly(project, project.root, spec["session"])


def check_spark(spec: dict[str, Any]) -> dict[str, Any]:
    """Spark's two raced marts against DuckDB's, on the sample pairs."""
    project = BenchProject(Path(spec["root"]))
    pair_ids = spec["pair_ids"]
    checks = _raced_marts_checks(
        "spark",
        str(project.warehouse),
        pair_ids,
        lambda table: spark_build.lake_mart_rows(project, table, pair_ids),
    )
    return {"seconds": 0.0, "checks": checks}


def _e2e_env(folder: Path, end: str) -> dict[str, str]:
    return {
        **os.environ,
        "WAREHOUSE_PATH": str(folder / "warehouse.duckdb"),
        "DAGSTER_HOME": str(folder / "dagster_home"),
        "LANDING_DIR": str(folder / "landing"),
        "SERVING_DIR": str(folder / "serving"),
        "SAMPLE_END_DATE": end,
        "MARKET_DATA_PROVIDER": "sample",
        "DO_NOT_TRACK": "1",
    }


def e2e(spec: dict[str, Any]) -> dict[str, Any]:
    """`make run` on the default universe, after installation, in a fresh copy of the
    project (its run parses the dbt project beside the loads) into an empty folder (cold);
    refresh_all_job again one session later (nightly), or again with the same last session
    (again: nothing new). The copy is made before the clock starts."""
    folder = Path(spec["folder"])
    env = _e2e_env(folder, spec["end"])
    project = folder / "project"
    if spec["phase"] == "cold":
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "dagster_home").mkdir(parents=True)
        tracked_copy(project)
        shutil.copy(project / "dagster_home" / "dagster.yaml", folder / "dagster_home")
    command = [sys.executable, "-m", "orchestration.run", "refresh_all_job"]
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"refresh_all_job failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    return {"seconds": seconds}


STEPS = {
    "ingest": ingest,
    "dbt": dbt,
    "floor": run_floor,
    "pandas": run_pandas,
    "polars": run_polars,
    "check_floor": check_floor,
    "nightly": nightly,
    "spark_full": spark_full,
    "spark_nightly": spark_nightly,
    "check_spark": check_spark,
    "e2e": e2e,
}


def main() -> int:
    spec = json.loads(sys.argv[1])
    try:
        out = STEPS[spec["step"]](spec)
    except Exception as exc:
        out = {"error": f"{exc}\n{traceback.format_exc()[-3000:]}"}
    out["peak_rss_mb"] = _peak_mb()
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
