"""The code location: `defs` is what `dagster dev -w workspace.yaml` loads.

Importing this module reads the dbt manifest and environment variables; it never opens
the warehouse.
"""

from dagster import Definitions

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import raw_checks
from orchestration.defs.ingestion.jobs import estimates_landing_job, ingestion_job
from orchestration.defs.ingestion.schedules import (
    nightly_ingestion_schedule,
    weekly_restatement_schedule,
)
from orchestration.defs.ingestion.sensors import estimates_landing_sensor
from orchestration.defs.jobs import refresh_all_job
from orchestration.defs.maintenance.assets import warehouse_file
from orchestration.defs.maintenance.jobs import maintenance_job
from orchestration.defs.maintenance.schedules import weekly_compaction_schedule
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.defs.models.sensors import automation_sensor
from orchestration.defs.monitoring.sensors import freshness_overdue_sensor, run_failure_alert_sensor
from orchestration.defs.serving.assets import market_report, published_marts
from orchestration.progress import RUN_LOGGERS
from orchestration.shared import build_resources

defs = Definitions(
    assets=[
        *ingestion_assets,
        warehouse_dbt_models,
        published_marts,
        market_report,
        warehouse_file,
    ],
    asset_checks=raw_checks,
    jobs=[refresh_all_job, ingestion_job, estimates_landing_job, maintenance_job],
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
    loggers=RUN_LOGGERS,
)
