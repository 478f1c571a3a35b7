"""The weekly compaction of the warehouse file, whatever its size."""

from zoneinfo import ZoneInfo

from dagster import RunRequest, ScheduleEvaluationContext

from orchestration.defs.maintenance.jobs import maintenance_job
from orchestration.shared import NEW_YORK, new_york_schedule


@new_york_schedule(
    name="weekly_compaction_schedule",
    cron_schedule="0 7 * * 0",
    job=maintenance_job,
    description=(
        "Sunday 07:00 New York, when no session is loading: compact the warehouse file "
        "whatever its size, so it starts the week at the size of a fresh build."
    ),
)
def weekly_compaction_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.astimezone(ZoneInfo(NEW_YORK)).date()
    return RunRequest(
        run_key=f"compaction-{day.isoformat()}",
        run_config={"ops": {"maintenance__warehouse_file": {"config": {"force": True}}}},
    )
