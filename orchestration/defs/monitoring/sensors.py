"""Monitoring sensors: failed runs raise alerts, and late assets are logged as overdue.

A failed run is always logged; with ALERT_WEBHOOK_URL set, a JSON body (run id, job,
failed assets, error summary) is posted there too. Freshness is judged against the
expectations in `freshness.py`.
"""

import os
from datetime import UTC, datetime

import httpx
from dagster import (
    AssetKey,
    DagsterEventType,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from ingestion.http import hide_in_logs
from orchestration.defs.monitoring.freshness import EXPECTATIONS, overdue


def failure_payload(context: RunFailureSensorContext) -> dict[str, object]:
    run = context.dagster_run
    materialized = {
        entry.dagster_event.asset_key
        for entry in context.instance.all_logs(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        )
        if entry.dagster_event is not None
    }
    planned = set(run.asset_selection or ()) or _planned_assets(context)
    failed_assets = sorted(key.to_user_string() for key in planned - materialized)
    failed_steps = sorted({event.step_key for event in context.get_step_failure_events()})
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "failed_assets": failed_assets,
        "failed_steps": failed_steps,
        "error": (context.failure_event.message or "")[:2000],
    }


def _planned_assets(context: RunFailureSensorContext) -> set[AssetKey]:
    """Asset keys the run's steps were to materialize, from its execution plan."""
    snapshot_id = context.dagster_run.execution_plan_snapshot_id
    if not snapshot_id:
        return set()
    plan = context.instance.get_execution_plan_snapshot(snapshot_id)
    return {
        output.properties.asset_key
        for step in plan.steps
        for output in step.outputs
        if output.properties is not None and output.properties.asset_key is not None
    }


@run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
    description="Logs every failed run and posts it to ALERT_WEBHOOK_URL when set.",
)
def run_failure_alert_sensor(context: RunFailureSensorContext) -> None:
    payload = failure_payload(context)
    context.log.error(f"run {payload['run_id']} of {payload['job']} failed: {payload['error']}")
    url = os.environ.get("ALERT_WEBHOOK_URL")
    if not url:
        return
    hide_in_logs(url)  # the URL may hold a token; httpx logs each request's URL
    try:
        response = httpx.post(url, json=payload, timeout=10.0)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        # The URL may hold a token: name the failure, never the address.
        context.log.error(f"alert webhook failed: {type(exc).__name__}")


@sensor(
    name="freshness_overdue_sensor",
    minimum_interval_seconds=15 * 60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Logs every asset that is later than its freshness expectation.",
)
def freshness_overdue_sensor(context: SensorEvaluationContext) -> SkipReason:
    late = overdue(context.instance, EXPECTATIONS, datetime.now(UTC))
    for sentence in late:
        context.log.warning(f"overdue: {sentence}")
    return SkipReason("overdue: " + "; ".join(late) if late else "everything is fresh")
