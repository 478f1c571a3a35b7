"""dbt run as a user runs it, on a warehouse of the test's own, from the project folder,
with the variables the pipeline's dbt step sets (orchestration.dbt_environment)."""

import os
import subprocess
import sys
from pathlib import Path

from ingestion.paths import PROJECT_ROOT
from orchestration.dbt_environment import dbt_environment
from orchestration.dbt_project import dbt_target_folder
from orchestration.partial_parse import seed_partial_parse

DBT = str(Path(sys.prefix) / "bin" / "dbt")


def target_path(folder: Path) -> Path:
    """Where run_dbt leaves dbt's artifacts (run_results.json, compiled SQL)."""
    return folder / f"target_{os.getpid()}"


def run_dbt(
    warehouse: Path, folder: Path, command: str, *args: str, quiet: bool = True
) -> subprocess.CompletedProcess[str]:
    """One dbt command against `warehouse`; artifacts and logs go under `folder`, the
    project's partial parse with them (as the pipeline's dbt step does)."""
    variables = dbt_environment(warehouse)
    if variables["WAREHOUSE_ENGINE"] == "duckdb":
        seed_partial_parse(target_path(folder), dbt_target_folder(), variables["WAREHOUSE_PATH"])
    return subprocess.run(
        [
            DBT,
            command,
            "--profiles-dir",
            ".",
            "--target-path",
            str(target_path(folder)),
            "--log-path",
            str(folder / "logs"),
            *(["--quiet"] if quiet else []),
            *args,
        ],
        cwd=PROJECT_ROOT / "dbt_project",
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=600,
    )
