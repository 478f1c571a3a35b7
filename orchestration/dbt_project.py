"""The dbt project as Dagster sees it, and the asset key of each of its nodes.

The manifest comes from `dbt parse` (Makefile, tests) or, under `dagster dev`, from
`prepare_if_dev`; nothing is parsed at import otherwise.
"""

import json
from collections.abc import Collection, Mapping
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
