"""The code location loads, wires raw -> staging lineage, and opens nothing at import."""

import json
import os
import subprocess
import sys

from dagster import AssetKey, Definitions

from ingestion.paths import DBT_PROJECT_DIR
from orchestration.definitions import defs
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.shared import WAREHOUSE_POOL

RAW = {"sessions", "prices", "rates", "earnings_estimates"}
STAGING = {
    "stg_market__prices",
    "stg_fred__rates",
    "stg_estimates__eps_growth",
    "stg_calendar__sessions",
}
SEEDS = {"instruments", "pairs", "rate_series", "estimate_universes"}


def test_definitions_validate():
    Definitions.validate_loadable(defs)


def test_asset_keys_are_schema_and_table():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    expected = (
        {f"raw/{name}" for name in RAW}
        | {f"staging/{name}" for name in STAGING}
        | {f"universe/{name}" for name in SEEDS}
    )
    assert expected <= keys


def test_staging_models_depend_on_their_ingestion_assets():
    graph = defs.resolve_asset_graph()
    parents = {
        # stg_market__prices also reads when each price was loaded, to build incrementally
        "stg_market__prices": {
            AssetKey(["raw", "prices"]),
            AssetKey(["universe", "instruments"]),
            AssetKey(["staging", "stg_market__price_points"]),
        },
        "stg_market__price_points": {
            AssetKey(["raw", "prices"]),
            AssetKey(["universe", "instruments"]),
        },
        "stg_calendar__sessions": {AssetKey(["raw", "sessions"])},
        "stg_estimates__eps_growth": {
            AssetKey(["raw", "earnings_estimates"]),
            AssetKey(["universe", "estimate_universes"]),
        },
        "stg_fred__rates": {AssetKey(["raw", "rates"]), AssetKey(["universe", "rate_series"])},
    }
    for model, expected in parents.items():
        assert graph.get(AssetKey(["staging", model])).parent_keys == expected


def test_groups_and_descriptions():
    graph = defs.resolve_asset_graph()
    for name in RAW:
        node = graph.get(AssetKey(["raw", name]))
        assert node.group_name == "ingestion"
        assert node.description
    for name in STAGING:
        node = graph.get(AssetKey(["staging", name]))
        assert node.group_name == "staging"
        assert node.description


def test_every_warehouse_writer_is_in_the_pool_of_one():
    graph = defs.resolve_asset_graph()
    # The report only reads the published serving file, so it need not wait for the pool.
    readers = {AssetKey(["serving", "market_report"])}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            expected = set() if key in readers else {WAREHOUSE_POOL}
            assert set(node.pools or ()) == expected, key


def test_dbt_tests_become_asset_checks():
    check_keys = {str(key) for key in defs.resolve_asset_graph().asset_check_keys}
    assert any("row_rules_stg_market__prices" in key for key in check_keys)


def test_every_dbt_data_test_is_an_asset_check():
    # A singular test reading several models becomes a check only when its config names the
    # model it guards (meta.dagster.ref); otherwise Dagster logs it as an observation.
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    data_tests = {
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"
    }
    dbt_checks = {key.name for key in warehouse_dbt_models.check_keys}
    assert len(data_tests) == 37
    assert dbt_checks == data_tests
    attached = {key.name: key.asset_key.to_user_string() for key in warehouse_dbt_models.check_keys}
    assert attached["assert_run_ranks_and_current_runs_hold"] == "marts/outperformance_streaks"
    assert (
        attached["assert_weekly_streaks_agree_with_outperformance_streaks"]
        == "marts/outperformance_streaks"
    )
    assert (
        attached["assert_quadrant_counts_sum_to_sectors_with_a_quadrant"]
        == "marts/sector_leadership_weekly"
    )


def test_refresh_all_job_selects_every_asset():
    job = defs.resolve_job_def("refresh_all_job")
    assert job.executor_def.name == "in_process"
    selected = {node.name for node in job.graph.node_defs}
    # four ingestion assets, five raw checks, one dbt invocation, the publication, the
    # report and the compaction of the warehouse file
    assert len(selected) == 13


def test_importing_the_code_location_does_not_open_the_warehouse(tmp_path):
    target = tmp_path / "not-created" / "warehouse.duckdb"
    env = {**os.environ, "WAREHOUSE_PATH": str(target)}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import orchestration.definitions as d; d.defs.resolve_asset_graph()",
        ],
        env=env,
        check=True,
    )
    assert not target.exists()
    assert not target.parent.exists()


def test_dbt_is_found_beside_the_interpreter_even_without_an_activated_venv():
    from pathlib import Path

    from orchestration.dbt_resource import dbt_executable

    found = Path(dbt_executable())
    assert found.name == "dbt"
    assert found.is_file()


def test_the_dbt_step_takes_switches_and_optional_analysis_parameters():
    job = defs.resolve_job_def("refresh_all_job")
    node = job.graph.node_named("warehouse_dbt_models")
    fields = node.definition.config_schema.as_field().config_type.fields
    parameters = {"rrg_ratio_weeks", "rrg_momentum_weeks", "min_relative_drawdown"}
    assert set(fields) == {"full_refresh", "full_checks", *parameters}
    assert fields["full_refresh"].default_value is False
    assert fields["full_checks"].default_value is False
    for name in parameters:
        assert not fields[name].is_required
        assert fields[name].default_value is None


def test_the_dbt_resource_knows_its_version_without_asking_the_cli():
    import re

    from orchestration.dbt_resource import WarehouseDbtCliResource
    from orchestration.shared import build_resources

    dbt = build_resources()["dbt"]
    assert isinstance(dbt, WarehouseDbtCliResource)
    printed = subprocess.run(
        [dbt.dbt_executable, "--version"], capture_output=True, text=True, check=True
    ).stdout
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", printed)
    assert installed is not None, printed
    assert str(dbt._cli_version) == installed.group(1) == "1.11.16"
