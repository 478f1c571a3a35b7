"""The dbt project as Dagster sees it, and the asset key of each of its nodes.

The manifest comes from `dbt parse` (Makefile, tests) or, under `dagster dev`, from
`prepare_if_dev`; nothing is parsed at import otherwise.
"""

import json
import os
import shutil
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetKey
from dagster_dbt import DbtProject

from ingestion.paths import DBT_PROJECT_DIR

# The dbt nodes that become assets (dagster-dbt's own list).
ASSET_RESOURCE_TYPES = ("model", "seed", "snapshot")

warehouse_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
)
warehouse_dbt_project.prepare_if_dev()


PARTIAL_PARSE = "partial_parse.msgpack"


def keep_partial_parse(run_target: Path, project_target: Path | None = None) -> None:
    """Put the partial parse a run's dbt wrote back into the project's target folder.

    dagster-dbt gives each invocation a target folder of its own, seeded from the
    project's partial parse. dbt keeps a partial parse only while the profile it was made
    with is unchanged, the warehouse path included: one made for another path (a test's,
    a benchmark's) would otherwise make every later run parse the project in full (3-4 s).
    The copy is swapped in whole, so a run starting meanwhile reads the old or the new."""
    written = run_target / PARTIAL_PARSE
    if not written.exists():
        return
    kept = (project_target or warehouse_dbt_project.manifest_path.parent) / PARTIAL_PARSE
    partial = kept.with_name(f".{PARTIAL_PARSE}.{os.getpid()}.tmp")
    shutil.copyfile(written, partial)
    os.replace(partial, kept)


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
