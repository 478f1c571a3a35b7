"""The dbt project as Dagster assets: seeds, staging, intermediate and marts, with dbt tests
as asset checks, rebuilt by declarative automation once their inputs are refreshed."""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec, AutomationCondition, Config
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.build_inputs import fingerprint, record
from orchestration.dbt_environment import dbt_environment, environment
from orchestration.dbt_project import (
    dbt_asset_key,
    dbt_target_folder,
    prune_run_targets,
    run_target_path,
    warehouse_dbt_project,
)
from orchestration.partial_parse import keep_partial_parse, seed_partial_parse
from orchestration.shared import MODEL_AUTOMATION, WAREHOUSE_POOL, with_freshness_policy
from serving.lake_tables import mirror_lake_tables

LAYER_GROUPS = ("staging", "intermediate", "marts")


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, table]; sources map to ingestion assets via meta.dagster.asset_key;
    the group is the model's top folder, and seeds join the staging group."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dbt_asset_key(dbt_resource_props)

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
    # Analysis parameters (dbt vars, README "Analysis parameters"); unset keeps the default
    # of dbt_project.yml. The descriptions show in the launchpad.
    rrg_ratio_weeks: int | None = Field(
        default=None,
        ge=1,
        description="sector_rotation_weekly: weeks of rs_line in the mean behind rs_ratio "
        "(default 10)",
    )
    rrg_momentum_weeks: int | None = Field(
        default=None,
        ge=1,
        description="sector_rotation_weekly: weeks of rs_ratio in the mean behind rs_momentum "
        "(default 4)",
    )
    min_relative_drawdown: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="relative_cycles: the shallowest fall of rs_line below its high kept as a "
        "period, a fraction (default 0.05)",
    )

    def analysis_vars(self) -> dict[str, Any]:
        """The analysis parameters this run sets (they change the marts' values)."""
        analysis = {
            "rrg_ratio_weeks": self.rrg_ratio_weeks,
            "rrg_momentum_weeks": self.rrg_momentum_weeks,
            "min_relative_drawdown": self.min_relative_drawdown,
        }
        return {name: value for name, value in analysis.items() if value is not None}

    def dbt_vars(self) -> dict[str, Any]:
        """The dbt vars this run sets; those left unset keep dbt_project.yml's values."""
        chosen = self.analysis_vars()
        if self.full_checks:
            chosen["full_checks"] = True
        return chosen


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
    # warehouse resource writes, and name the engine and what it needs (LAKE_DIR and Java
    # for Spark). The variables only need to be set while dbt's process is started.
    variables = dbt_environment(Path(warehouse.database))
    # A build of every node records what it was made from, so that a refresh that loads
    # nothing new can tell the served marts are already its build (orchestration.run).
    whole = context.selected_asset_keys == set(context.assets_def.keys) and (
        context.selected_asset_check_keys == set(context.assets_def.check_keys)
    )
    built_from = None
    if whole:
        with warehouse.get_connection() as con:
            built_from = fingerprint(con, config.analysis_vars(), variables["WAREHOUSE_ENGINE"])
    with environment(variables):
        # Unit tests check the SQL against hand-made rows, not the data: they run in the
        # test suite, and leaving them out of the nightly build saves a third of its time.
        arguments = ["build", "--exclude", "resource_type:unit_test"]
        if config.full_refresh:
            arguments.append("--full-refresh")
        if dbt_vars := config.dbt_vars():
            arguments += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
        # dbt parses only what changed since the last build of a file of this name
        # (orchestration.partial_parse); on Spark, since the last build of all.
        duckdb_path = (
            variables["WAREHOUSE_PATH"] if variables["WAREHOUSE_ENGINE"] == "duckdb" else None
        )
        run_target = run_target_path(context)
        if duckdb_path is not None:
            seed_partial_parse(run_target, dbt_target_folder(), duckdb_path)
        invocation = dbt.cli(arguments, context=context, target_path=run_target)
    try:
        yield from invocation.stream()
    finally:
        try:
            keep_partial_parse(invocation.target_path, dbt_target_folder(), duckdb_path)
        except Exception as error:  # a later run parses in full; the build itself stands
            context.log.warning(f"dbt's partial parse was not kept for the next run: {error}")
        try:
            prune_run_targets(invocation.target_path)
        except OSError as error:  # old target folders stay for the next run to remove
            context.log.warning(f"old dbt target folders were not removed: {error}")
    if variables["WAREHOUSE_ENGINE"] == "spark":
        # Spark built the marts as Parquet in the lake: the serving publication reads them
        # from the warehouse file, as on DuckDB, once every node and test passed.
        with warehouse.get_connection() as con:
            copied = mirror_lake_tables(con, Path(variables["LAKE_DIR"]), invocation.manifest)
        context.log.info(
            f"copied {len(copied)} tables built on Spark into the warehouse: "
            + ", ".join(f"{name} ({rows} rows)" for name, rows in copied.items())
        )
    if built_from is not None:
        with warehouse.get_connection() as con:
            record(con, built_from, context.run_id)
