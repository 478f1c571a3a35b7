"""The dbt project as Dagster sees it, and the asset key of each of its nodes.

The manifest comes from `dbt parse` (Makefile, tests) or, under `dagster dev`, from
`prepare_if_dev`; nothing is parsed at import otherwise.
"""

import hashlib
import json
import os
import pprint
import shutil
import time
import uuid
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import msgpack
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


PARTIAL_PARSE = "partial_parse.msgpack"
PARSES_BY_DATABASE = "partial_parses"
"""The folder of the project's target holding the last partial parse of each database."""


def _replace(path: Path, data: bytes) -> None:
    """Write `path` whole, so a process reading it meanwhile reads the old or the new."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, path)


def _databases(state: Mapping[str, Any]) -> set[str | None]:
    return {node.get("database") for node in state.get("nodes", {}).values()}


def keep_partial_parse(run_target: Path, project_target: Path | None = None) -> None:
    """Put the partial parse a run's dbt wrote back into the project's target folder.

    dagster-dbt gives each invocation a target folder of its own, seeded from the
    project's partial parse. dbt keeps a partial parse only while the profile it was made
    with is unchanged, the warehouse path included: one made for another path (a test's,
    a benchmark's) would otherwise make every later run parse the project in full (3-4 s).
    A copy is also kept under the name of the run's database (the warehouse file's name),
    which seed_partial_parse takes for another file of that name."""
    written = run_target / PARTIAL_PARSE
    if not written.exists():
        return
    target = project_target or warehouse_dbt_project.manifest_path.parent
    data = written.read_bytes()
    _replace(target / PARTIAL_PARSE, data)
    databases = _databases(msgpack.unpackb(data, raw=False, strict_map_key=False))
    if len(databases) == 1 and isinstance(database := databases.pop(), str):
        (target / PARSES_BY_DATABASE).mkdir(exist_ok=True)
        _replace(target / PARSES_BY_DATABASE / f"{database}.msgpack", data)


# The settings of a DuckDB connection that dbt hashes into a partial parse (dbt-duckdb's
# `_connection_keys`), as this project's profile leaves them: only the file's path and the
# database dbt-duckdb names after it vary from one warehouse to another.
DUCKDB_CONNECTION_DEFAULTS: dict[str, Any] = {
    "attach": None,
    "config_options": None,
    "disable_transactions": False,
    "extensions": None,
    "external_root": ".",
    "filesystems": None,
    "plugins": None,
    "remote": None,
    "schema": "main",
    "settings": {},
    "use_credential_provider": None,
}


def profile_path(warehouse_path: str) -> str:
    """The DuckDB path profiles.yml renders from WAREHOUSE_PATH (relative to the project
    root, which is one folder above dbt's working directory)."""
    return warehouse_path if warehouse_path.startswith("/") else "../" + warehouse_path


def duckdb_profile_hash(path: str) -> str:
    """The profile hash dbt records in a partial parse made for the DuckDB file at `path`
    (dbt-core's `build_manifest_state_check`: the sorted connection info, pretty-printed)."""
    info = {**DUCKDB_CONNECTION_DEFAULTS, "path": path, "database": Path(path).stem}
    return hashlib.sha256(pprint.pformat(sorted(info.items())).encode("utf-8")).hexdigest()


def seed_partial_parse(
    run_target: Path, warehouse_path: str, project_target: Path | None = None
) -> bool:
    """Give a dbt invocation on the DuckDB file `warehouse_path` a kept partial parse, made
    valid for that file; returns whether it did.

    dbt discards a partial parse made with another profile, and the file's path is part of
    the profile, so the first build of every other warehouse (a test's, the benchmark's, a
    second one of the user's) parsed the whole project again: 3-6 s. Nothing dbt parses
    here depends on the path but the database dbt-duckdb names after the file, which every
    node carries: a parse kept for that database (or the project's, if it is for the same
    one) is copied with this path's hash. Otherwise nothing is written and dbt decides."""
    target = project_target or warehouse_dbt_project.manifest_path.parent
    if (run_target / PARTIAL_PARSE).exists():
        return False
    path = profile_path(warehouse_path)
    database = Path(path).stem
    for kept in (target / PARSES_BY_DATABASE / f"{database}.msgpack", target / PARTIAL_PARSE):
        try:
            state = msgpack.unpackb(kept.read_bytes(), raw=False, strict_map_key=False)
            if _databases(state) != {database}:
                continue
            state["state_check"]["profile_hash"]["checksum"] = duckdb_profile_hash(path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # missing, or not a parse this dbt wrote: dbt parses in full
        run_target.mkdir(parents=True, exist_ok=True)
        _replace(run_target / PARTIAL_PARSE, msgpack.packb(state, use_bin_type=True))
        return True
    return False


def run_target_path(context: AssetExecutionContext) -> Path:
    """A target folder of its own for one dbt invocation, named as dagster-dbt names them
    (`<op>-<run id>-<random>`, which prune_run_targets reads)."""
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    return warehouse_dbt_project.manifest_path.parent / name


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
