"""Schedules: after the US close on NYSE sessions, a weekly re-read for restatements, and
a weekly compaction of the warehouse file.

The first two refresh only the raw tables; dbt staging and marts follow through
declarative automation once ingestion has finished, instead of a second schedule guessing
when.
"""

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
)

from ingestion.calendar import is_session, sessions_before
from orchestration.assets.maintenance import warehouse_file
from orchestration.partitions import month_partition

NEW_YORK = "America/New_York"
WEEKLY_LOOKBACK_SESSIONS = 25

ingestion_job = define_asset_job(
    name="ingestion_job",
    selection=AssetSelection.assets(
        AssetKey(["raw", "sessions"]), AssetKey(["raw", "prices"]), AssetKey(["raw", "rates"])
    ),
    executor_def=in_process_executor,
    description="Refresh the calendar, prices and rates from the configured providers.",
)


@schedule(
    name="nightly_ingestion_schedule",
    cron_schedule="30 18 * * 1-5",
    execution_timezone=NEW_YORK,
    job=ingestion_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description=(
        "18:30 New York on NYSE sessions: load the day's prices and rates (recorded on the "
        "month's partition)."
    ),
)
def nightly_ingestion_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    day = context.scheduled_execution_time.astimezone(_zone()).date()
    if not is_session(day):
        return SkipReason(f"{day.isoformat()} is not an NYSE session (weekend or holiday)")
    return RunRequest(
        run_key=f"nightly-{day.isoformat()}",
        partition_key=month_partition(day),
        run_config=_reading_the_lookback(),
        tags={"session_date": day.isoformat()},
    )


@schedule(
    name="weekly_restatement_schedule",
    cron_schedule="0 8 * * 6",
    execution_timezone=NEW_YORK,
    job=ingestion_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description=(
        f"Saturday 08:00 New York: re-read the last {WEEKLY_LOOKBACK_SESSIONS} sessions to "
        "catch late restatements."
    ),
)
def weekly_restatement_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.astimezone(_zone()).date()
    last_session = sessions_before(day, 0)
    return RunRequest(
        run_key=f"weekly-{day.isoformat()}",
        partition_key=month_partition(last_session),
        run_config=_reading_the_lookback(lookback_sessions=WEEKLY_LOOKBACK_SESSIONS),
        tags={
            "session_date": last_session.isoformat(),
            "lookback_sessions": str(WEEKLY_LOOKBACK_SESSIONS),
        },
    )


maintenance_job = define_asset_job(
    name="maintenance_job",
    selection=AssetSelection.assets(warehouse_file),
    executor_def=in_process_executor,
    description="Compact the warehouse file (see the maintenance/warehouse_file asset).",
)


@schedule(
    name="weekly_compaction_schedule",
    cron_schedule="0 7 * * 0",
    execution_timezone=NEW_YORK,
    job=maintenance_job,
    default_status=DefaultScheduleStatus.RUNNING,
    description=(
        "Sunday 07:00 New York, when no session is loading: compact the warehouse file "
        "whatever its size, so it starts the week at the size of a fresh build."
    ),
)
def weekly_compaction_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.astimezone(_zone()).date()
    return RunRequest(
        run_key=f"compaction-{day.isoformat()}",
        run_config={"ops": {"maintenance__warehouse_file": {"config": {"force": True}}}},
    )


def _reading_the_lookback(**config: object) -> dict[str, object]:
    """Run config of a scheduled load: its month's partition, read from the lookback only."""
    return {"resources": {"market_data": {"config": {"reread_partitions": False, **config}}}}


def _zone():  # noqa: ANN202
    from zoneinfo import ZoneInfo

    return ZoneInfo(NEW_YORK)
