"""The dbt project as Dagster assets: seeds, staging (and later marts), with dbt tests as checks."""

import os
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    Config,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource

from orchestration.assets.ingestion import WAREHOUSE_POOL
from orchestration.dbt_project import warehouse_dbt_project
from orchestration.freshness import with_freshness_policy

LAYER_GROUPS = ("staging", "intermediate", "marts")


# Eager, except that the month-partitioned raw tables count as present once any month is
# loaded (eager would wait for every month since HISTORY_START), and never on top of a
# failed blocking check.
PARTITIONED_INPUTS = AssetSelection.assets(AssetKey(["raw", "prices"]), AssetKey(["raw", "rates"]))
MODEL_AUTOMATION = (
    (AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated())
    .since_last_handled()
    .with_label("an input was refreshed")
    & ~AutomationCondition.any_deps_missing().ignore(PARTITIONED_INPUTS)
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
)


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, table]; sources map to ingestion assets via meta.dagster.asset_key;
    the group is the model's top folder, and seeds join the staging group."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        return with_freshness_policy(super().get_asset_spec(manifest, unique_id, project))

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> AutomationCondition | None:
        return MODEL_AUTOMATION

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        folder = fqn[1] if len(fqn) > 2 else None
        return folder if folder in LAYER_GROUPS else "staging"


class DbtBuildConfig(Config):
    full_refresh: bool = False
    """Rebuild the incremental models from all of history instead of from their watermark."""
    full_checks: bool = False
    """Run the data tests of the incremental models over every row, not only the rows the
    build wrote (a full refresh checks every row anyway)."""


@dbt_assets(
    manifest=warehouse_dbt_project.manifest_path,
    project=warehouse_dbt_project,
    dagster_dbt_translator=WarehouseDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def warehouse_dbt_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: DuckDBResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    # dbt reads the file from WAREHOUSE_PATH (profiles.yml): point it at the very file the
    # warehouse resource writes. The variable only needs to be set while dbt's process is
    # started, so the step's own environment is restored straight after.
    previous = os.environ.get("WAREHOUSE_PATH")
    os.environ["WAREHOUSE_PATH"] = warehouse.database
    try:
        # Unit tests check the SQL against hand-made rows, not the data: they run in the
        # test suite, and leaving them out of the nightly build saves a third of its time.
        arguments = ["build", "--exclude", "resource_type:unit_test"]
        if config.full_refresh:
            arguments.append("--full-refresh")
        if config.full_checks:
            arguments += ["--vars", '{"full_checks": true}']
        invocation = dbt.cli(arguments, context=context)
    finally:
        if previous is None:
            os.environ.pop("WAREHOUSE_PATH", None)
        else:
            os.environ["WAREHOUSE_PATH"] = previous
    yield from invocation.stream()
