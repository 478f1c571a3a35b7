"""Schedules, automation and alerts, evaluated with Dagster's own contexts and instances."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    build_run_status_sensor_context,
    build_schedule_context,
    evaluate_automation_conditions,
    materialize,
)

from orchestration.definitions import defs
from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import prices_are_ohlc_consistent
from orchestration.defs.ingestion.schedules import (
    nightly_ingestion_schedule,
    weekly_restatement_schedule,
)
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.defs.monitoring.sensors import run_failure_alert_sensor
from orchestration.shared import MarketDataResource, build_resources

NEW_YORK = ZoneInfo("America/New_York")
STG_PRICES = AssetKey(["staging", "stg_market__prices"])


def _tick(schedule, when: datetime):
    context = build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    return schedule.evaluate_tick(context)


def test_nightly_schedule_runs_on_a_session():
    data = _tick(nightly_ingestion_schedule, datetime(2024, 3, 28, 18, 30, tzinfo=NEW_YORK))
    assert [r.run_key for r in data.run_requests] == ["nightly-2024-03-28"]
    (request,) = data.run_requests
    assert request.tags["session_date"] == "2024-03-28"
    # Recorded on March's partition, but reading only the lookback, not the whole month.
    assert request.partition_key == "2024-03-01"
    assert request.run_config["resources"]["market_data"]["config"] == {"reread_partitions": False}


def test_nightly_schedule_skips_a_holiday_and_a_weekend():
    good_friday = _tick(nightly_ingestion_schedule, datetime(2024, 3, 29, 18, 30, tzinfo=NEW_YORK))
    assert not good_friday.run_requests
    assert good_friday.skip_message == "2024-03-29 is not an NYSE session (weekend or holiday)"
    saturday = _tick(nightly_ingestion_schedule, datetime(2024, 3, 30, 18, 30, tzinfo=NEW_YORK))
    assert not saturday.run_requests
    assert "2024-03-30 is not an NYSE session" in saturday.skip_message


def test_weekly_schedule_rereads_a_longer_lookback():
    data = _tick(weekly_restatement_schedule, datetime(2024, 3, 30, 8, 0, tzinfo=NEW_YORK))
    (request,) = data.run_requests
    assert request.run_key == "weekly-2024-03-30"
    assert request.tags["session_date"] == "2024-03-28"  # Good Friday: the last session
    assert request.partition_key == "2024-03-01"
    assert request.run_config["resources"]["market_data"]["config"] == {
        "reread_partitions": False,
        "lookback_sessions": 25,
    }


def test_schedules_and_sensors_are_on_by_default():
    for schedule in defs.schedules:
        assert schedule.default_status.value == "RUNNING", schedule.name
    for sensor in defs.sensors:
        assert sensor.default_status.value == "RUNNING", sensor.name


def _resources(path):
    return {
        **build_resources(str(path)),
        # As the nightly schedule runs it: March's partition, read from the lookback only.
        "market_data": MarketDataResource(
            history_start="2024-03-01", end_date="2024-03-28", reread_partitions=False
        ),
    }


@pytest.mark.slow
def test_automation_requests_staging_after_raw_updates_unless_a_blocking_check_failed(
    warehouse_path,
):
    instance = DagsterInstance.ephemeral()
    automated = Definitions(
        assets=[*ingestion_assets, warehouse_dbt_models],
        asset_checks=[prices_are_ohlc_consistent],
        resources=_resources(warehouse_path),
    )
    resources = _resources(warehouse_path)
    everything = materialize(
        [*ingestion_assets, warehouse_dbt_models, prices_are_ohlc_consistent],
        resources=resources,
        instance=instance,
        partition_key="2024-03-01",
    )
    assert everything.success
    first = evaluate_automation_conditions(defs=automated, instance=instance)
    settled = evaluate_automation_conditions(defs=automated, instance=instance, cursor=first.cursor)
    assert settled.get_num_requested(STG_PRICES) == 0  # nothing new since the full build

    # The nightly job refreshes prices and runs their blocking check with them.
    prices_only = [AssetKey(["raw", "prices"])]
    assert materialize(
        [*ingestion_assets, prices_are_ohlc_consistent],
        resources=resources,
        instance=instance,
        selection=prices_only,
        partition_key="2024-03-01",
    ).success
    second = evaluate_automation_conditions(
        defs=automated, instance=instance, cursor=settled.cursor
    )
    assert second.get_num_requested(STG_PRICES) == 1

    # A corrupted row older than the lookback (a refresh would heal a recent one), then
    # prices refreshed again: the blocking check fails and holds back
    # staging and everything after it.
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(
            "update raw.prices set low = high + 1 "
            "where symbol = 'RUT' and session_date = '2024-03-04'"
        )
    check = materialize(
        [*ingestion_assets, prices_are_ohlc_consistent],
        resources=resources,
        instance=instance,
        selection=prices_only,
        raise_on_error=False,
        partition_key="2024-03-01",
    )
    assert not check.success  # a failed blocking check fails its run
    evaluations = check.get_asset_check_evaluations()
    assert [
        (e.check_name, e.passed) for e in evaluations if e.check_name.startswith("prices_")
    ] == [("prices_are_ohlc_consistent", False)]
    third = evaluate_automation_conditions(defs=automated, instance=instance, cursor=second.cursor)
    assert third.get_num_requested(STG_PRICES) == 0


def test_a_failed_run_is_posted_to_the_webhook(httpserver, monkeypatch, warehouse_path):
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    monkeypatch.setenv("ALERT_WEBHOOK_URL", httpserver.url_for("/alert"))
    instance = DagsterInstance.ephemeral()
    resources = {
        **build_resources(str(warehouse_path)),
        "market_data": MarketDataResource(provider="no_such_provider", end_date="2024-03-28"),
    }
    result = materialize(
        [ingestion_assets[1]], resources=resources, instance=instance, raise_on_error=False
    )
    assert not result.success
    context = build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=next(
            e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"
        ),
    ).for_run_failure()
    run_failure_alert_sensor(context)
    (request, _response) = httpserver.log[0]
    body = json.loads(request.get_data())
    assert body["run_id"] == result.run_id
    assert body["failed_assets"] == ["raw/prices"]
    assert body["failed_steps"] == ["raw__prices"]
    assert body["job"] == result.dagster_run.job_name
    assert body["error"]
