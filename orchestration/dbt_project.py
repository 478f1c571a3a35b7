"""The dbt project as Dagster sees it, the asset key of each of its nodes, and the target
folders of its builds.

The manifest comes from `dbt parse` (Makefile, tests) or, under `dagster dev`, from
`prepare_if_dev`; nothing is parsed at import otherwise.
"""

import json
import os
import shutil
import time
import uuid
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DbtProject

from ingestion.paths import DBT_PROJECT_DIR

# The dbt nodes that become assets (dagster-dbt's own list).
ASSET_RESOURCE_TYPES = ("model", "seed", "snapshot")

warehouse_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
)
warehouse_dbt_project.prepare_if_dev()


def dbt_target_folder() -> Path:
    """The folder dagster-dbt puts each invocation's target folder in and copies the
    partial parse from: DBT_TARGET_PATH, else the project's `target`."""
    folder = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return folder if folder.is_absolute() else warehouse_dbt_project.project_dir / folder


def run_target_path(context: AssetExecutionContext) -> Path:
    """A target folder of its own for one dbt invocation, named as dagster-dbt names them
    (`<op>-<run id>-<random>`, which prune_run_targets reads)."""
    op = context.op_execution_context.op.name
    return dbt_target_folder() / f"{op}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"


KEPT_RUN_TARGETS = 10
"""Per-invocation target folders kept beside the project's, newest first (logs, compiled
SQL and run_results.json of the last builds); older ones are removed once a day old."""

RUN_TARGET_MIN_AGE_SECONDS = 24 * 3600
"""A folder younger than this may still be in use: the project's target folder is shared
by every process building it (another Dagster home, a test, the UI's runs), and a
folder's time is its start's while dbt writes inside it."""


def prune_run_targets(
    run_target: Path, keep: int = KEPT_RUN_TARGETS, now: float | None = None
) -> list[Path]:
    """Remove the target folders of the invocations of the same op as `run_target`
    (dagster-dbt names them `<op>-<run id>-<random>`) that are older than a day and not
    among the `keep` newest, `run_target` counted; returns the folders removed."""
    now = time.time() if now is None else now
    prefix = run_target.name.split("-", 1)[0] + "-"
    aged: list[tuple[float, Path]] = []
    for folder in run_target.parent.iterdir():
        if folder == run_target or not folder.name.startswith(prefix):
            continue
        try:
            if folder.is_dir():
                aged.append((folder.stat().st_mtime, folder))
        except OSError:  # removed meanwhile by another build's pruning
            continue
    aged.sort(reverse=True)
    removed = [
        folder
        for mtime, folder in aged[max(keep - 1, 0) :]
        if now - mtime > RUN_TARGET_MIN_AGE_SECONDS
    ]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def dbt_asset_key(dbt_resource_props: Mapping[str, Any]) -> AssetKey:
    """A model's, seed's or snapshot's key: [schema, name], e.g. marts/divergence_daily."""
    return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])


def dbt_asset_keys_in(schemas: Collection[str]) -> list[AssetKey]:
    """The keys of the dbt assets built into `schemas`, read from the manifest."""
    manifest = json.loads(warehouse_dbt_project.manifest_path.read_text(encoding="utf-8"))
    return sorted(
        (
            dbt_asset_key(node)
            for node in manifest["nodes"].values()
            if node["resource_type"] in ASSET_RESOURCE_TYPES and node["schema"] in schemas
        ),
        key=lambda key: key.path,
    )
