"""`python -m orchestration.run` as a person starts it: on March 2024 of the sample, with a
Dagster home and a warehouse of its own in a test's folder."""

import os
import subprocess
import sys
from pathlib import Path

from ingestion.paths import PROJECT_ROOT


def command_line_run(
    folder: Path, *args: str, project: Path = PROJECT_ROOT, **env: str
) -> subprocess.CompletedProcess[str]:
    """Runs the command in `project` (its code, dbt project and manifest); `env` adds to or
    overrides the environment."""
    home = folder / "dagster_home"
    if not home.exists():
        home.mkdir()
        dagster_yaml = project / "dagster_home" / "dagster.yaml"
        (home / "dagster.yaml").write_text(dagster_yaml.read_text())
    return subprocess.run(
        [sys.executable, "-m", "orchestration.run", *args],
        env={
            **os.environ,
            "DAGSTER_HOME": str(home),
            "WAREHOUSE_PATH": str(folder / "cli.duckdb"),
            "HISTORY_START": "2024-03-01",
            "SAMPLE_END_DATE": "2024-03-28",
            **env,
        },
        capture_output=True,
        text=True,
        cwd=project,
        timeout=600,
    )
