"""The code location: `defs` is what `dagster dev -w workspace.yaml` loads.

Importing this module reads the dbt manifest and environment variables; it never opens
the warehouse.
"""

from dagster import Definitions, colored_console_logger

from orchestration.assets.dbt import warehouse_dbt_models
from orchestration.assets.ingestion import ingestion_assets
from orchestration.assets.maintenance import warehouse_file
from orchestration.assets.report import market_report
from orchestration.assets.serving import published_marts
from orchestration.checks import raw_checks
from orchestration.freshness import freshness_overdue_sensor
from orchestration.jobs import refresh_all
from orchestration.landing_sensor import estimates_landing_job, estimates_landing_sensor
from orchestration.progress import progress_logger
from orchestration.resources import build_resources
from orchestration.schedules import (
    ingestion_job,
    maintenance_job,
    nightly_ingestion_schedule,
    weekly_compaction_schedule,
    weekly_restatement_schedule,
)
from orchestration.sensors import automation_sensor, run_failure_alert_sensor

defs = Definitions(
    assets=[
        *ingestion_assets,
        warehouse_dbt_models,
        published_marts,
        market_report,
        warehouse_file,
    ],
    asset_checks=raw_checks,
    jobs=[refresh_all, ingestion_job, estimates_landing_job, maintenance_job],
    schedules=[
        nightly_ingestion_schedule,
        weekly_restatement_schedule,
        weekly_compaction_schedule,
    ],
    sensors=[
        automation_sensor,
        run_failure_alert_sensor,
        estimates_landing_sensor,
        freshness_overdue_sensor,
    ],
    resources=build_resources(),
    # `progress` is configured only by orchestration.run; other runs log to the console.
    loggers={"console": colored_console_logger, "progress": progress_logger},
)
