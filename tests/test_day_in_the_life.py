"""A day in the life: day N is loaded and the marts are fresh; day N+1 closes, the nightly
schedule fires, ingestion loads the new session, automation requests the models that
depend on it, and after they run the marts include day N+1."""

from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    build_schedule_context,
    evaluate_automation_conditions,
    materialize,
)

from orchestration.definitions import defs
from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import raw_checks
from orchestration.defs.ingestion.jobs import ingestion_job
from orchestration.defs.ingestion.schedules import nightly_ingestion_schedule
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.shared import MarketDataResource, build_resources

pytestmark = pytest.mark.slow

EVERYTHING = [*ingestion_assets, warehouse_dbt_models, *raw_checks]


def _resources(path, end: str, **config):
    return {
        **build_resources(str(path)),
        "market_data": MarketDataResource(history_start="2024-02-01", end_date=end, **config),
    }


def _latest(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_the_nightly_tick_carries_a_new_session_into_the_marts(warehouse_path):
    instance = DagsterInstance.ephemeral()
    day_n = _resources(warehouse_path, "2024-03-27")
    assert materialize(
        EVERYTHING, resources=day_n, instance=instance, partition_key="2024-03-01"
    ).success
    assert str(_latest(warehouse_path, "select max(session_date) from marts.divergence_daily")) == (
        "2024-03-27"
    )

    automated = Definitions(assets=EVERYTHING[:5], asset_checks=raw_checks, resources=day_n)
    settled = evaluate_automation_conditions(defs=automated, instance=instance)
    settled = evaluate_automation_conditions(
        defs=automated, instance=instance, cursor=settled.cursor
    )
    assert settled.total_requested == 0  # the marts are fresh: nothing to do

    # Day N+1 closes; the schedule fires at 18:30 New York.
    tick = nightly_ingestion_schedule.evaluate_tick(
        build_schedule_context(
            scheduled_execution_time=datetime(
                2024, 3, 28, 18, 30, tzinfo=ZoneInfo("America/New_York")
            ),
            repository_def=defs.get_repository_def(),
        )
    )
    (request,) = tick.run_requests
    assert request.run_key == "nightly-2024-03-28"

    # The nightly job: calendar, prices and rates, with the checks of those assets.
    scheduled = request.run_config["resources"]["market_data"]["config"]
    day_n1 = _resources(warehouse_path, "2024-03-28", **scheduled)
    job_keys = [key for key in ingestion_job.selection.resolve(automated.resolve_asset_graph())]
    assert materialize(
        EVERYTHING,
        resources=day_n1,
        instance=instance,
        selection=job_keys,
        partition_key=request.partition_key,
    ).success

    requested = evaluate_automation_conditions(
        defs=automated, instance=instance, cursor=settled.cursor
    )
    mart = AssetKey(["marts", "divergence_daily"])
    assert requested.get_num_requested(AssetKey(["staging", "stg_market__prices"])) == 1
    assert requested.get_num_requested(mart) == 1
    assert requested.get_num_requested(AssetKey(["marts", "earnings_outlook"])) == 0

    keys = [
        key
        for key in automated.resolve_asset_graph().get_all_asset_keys()
        if requested.get_num_requested(key)
    ]
    assert materialize(EVERYTHING, resources=day_n1, instance=instance, selection=keys).success
    assert str(_latest(warehouse_path, "select max(session_date) from marts.divergence_daily")) == (
        "2024-03-28"
    )
    assert str(
        _latest(warehouse_path, "select max(session_date) from marts.market_pulse_daily")
    ) == ("2024-03-28")
