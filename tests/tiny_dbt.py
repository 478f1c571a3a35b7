"""A dbt project of a few models on a DuckDB file named by WAREHOUSE_PATH, made in a test's
folder: dbt parses it in a couple of seconds."""

from collections.abc import Mapping
from pathlib import Path

PROFILES = """\
tiny:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('WAREHOUSE_PATH') }}"
      threads: 1
"""


def tiny_project(folder: Path, models: Mapping[str, str], materialized: str = "view") -> Path:
    """The project in `folder`: `models` maps each model's file name to its SQL."""
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nprofile: tiny\nconfig-version: 2\n"
        f"models:\n  tiny:\n    +materialized: {materialized}\n"
    )
    (folder / "profiles.yml").write_text(PROFILES)
    for name, sql in models.items():
        (folder / "models" / name).write_text(sql)
    return folder
