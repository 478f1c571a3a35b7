"""Ingestion schedules: after the US close on NYSE sessions, and a weekly re-read for
restatements.

Both refresh only the raw tables; dbt staging and marts follow through declarative
automation once ingestion has finished, instead of a second schedule guessing when.
"""

from zoneinfo import ZoneInfo

from dagster import (
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
)

from ingestion.calendar import is_session, sessions_before
from orchestration.defs.ingestion.jobs import ingestion_job
from orchestration.partitions import month_partition
from orchestration.shared import NEW_YORK, new_york_schedule

WEEKLY_LOOKBACK_SESSIONS = 25


@new_york_schedule(
    name="nightly_ingestion_schedule",
    cron_schedule="30 18 * * 1-5",
    job=ingestion_job,
    description=(
        "18:30 New York on NYSE sessions: load the day's prices and rates (recorded on the "
        "month's partition)."
    ),
)
def nightly_ingestion_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    day = context.scheduled_execution_time.astimezone(ZoneInfo(NEW_YORK)).date()
    if not is_session(day):
        return SkipReason(f"{day.isoformat()} is not an NYSE session (weekend or holiday)")
    return RunRequest(
        run_key=f"nightly-{day.isoformat()}",
        partition_key=month_partition(day),
        run_config=_reading_the_lookback(),
        tags={"session_date": day.isoformat()},
    )


@new_york_schedule(
    name="weekly_restatement_schedule",
    cron_schedule="0 8 * * 6",
    job=ingestion_job,
    description=(
        f"Saturday 08:00 New York: re-read the last {WEEKLY_LOOKBACK_SESSIONS} sessions to "
        "catch late restatements."
    ),
)
def weekly_restatement_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.astimezone(ZoneInfo(NEW_YORK)).date()
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


def _reading_the_lookback(**config: object) -> dict[str, object]:
    """Run config of a scheduled load: its month's partition, read from the lookback only."""
    return {"resources": {"market_data": {"config": {"reread_partitions": False, **config}}}}
