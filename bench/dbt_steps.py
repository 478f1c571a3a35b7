"""dbt invocations on a benchmark project, and what run_results.json says about them."""

import json
import os
import subprocess

from bench.project import BenchProject
from orchestration.manifest import dbt_executable

# What the pipeline's nightly build selects: everything but the dbt unit tests, which
# check SQL against hand-made rows and run in the test suite instead.
NIGHTLY_SELECTION = ("--exclude", "resource_type:unit_test")


def run_dbt(
    project: BenchProject, *args: str, target: str = "bench", env: dict[str, str] | None = None
) -> None:
    """One dbt command with the project's own profile, target and log folders; `target`
    names the profile output (`bench`, the size's DuckDB file, or `spark`) and `env` adds
    the variables it reads."""
    env = {
        **os.environ,
        # as the pipeline's dbt step: dbt.log at info (orchestration.dbt_environment)
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE") or "info",
        **(env or {}),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        dbt_executable(),
        *args,
        "--target",
        target,
        "--profiles-dir",
        str(project.dbt_dir),
        "--project-dir",
        str(project.dbt_dir),
        "--target-path",
        str(project.target_dir),
        "--log-path",
        str(project.root / "dbt_logs"),
    ]
    completed = subprocess.run(
        command, cwd=project.dbt_dir, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stdout.splitlines()[-40:])
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{tail}\n{completed.stderr[-2000:]}")


def node_timings(project: BenchProject) -> dict[str, dict[str, float | str]]:
    """Per node of the last invocation: resource type, status and execution seconds."""
    results = json.loads((project.target_dir / "run_results.json").read_text())
    out: dict[str, dict[str, float | str]] = {}
    for result in results["results"]:
        unique_id = result["unique_id"]
        out[unique_id] = {
            "kind": unique_id.split(".")[0],
            "status": result["status"],
            "seconds": float(result["execution_time"]),
        }
    return out


def seconds_by_kind(timings: dict[str, dict[str, float | str]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for node in timings.values():
        kind = str(node["kind"])
        totals[kind] = totals.get(kind, 0.0) + float(node["seconds"])
    return totals
