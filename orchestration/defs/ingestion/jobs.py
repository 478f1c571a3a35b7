"""Ingestion jobs: the scheduled refresh of the calendar, prices and rates, and the load of
one file dropped into the estimates landing zone. Both run in one process: every step
writes the same DuckDB file."""

from dagster import AssetKey, AssetSelection, define_asset_job, in_process_executor

ingestion_job = define_asset_job(
    name="ingestion_job",
    selection=AssetSelection.assets(
        AssetKey(["raw", "sessions"]), AssetKey(["raw", "prices"]), AssetKey(["raw", "rates"])
    ),
    executor_def=in_process_executor,
    description="Refresh the calendar, prices and rates from the configured providers.",
)

estimates_landing_job = define_asset_job(
    name="estimates_landing_job",
    selection=AssetSelection.assets(AssetKey(["raw", "earnings_estimates"])),
    executor_def=in_process_executor,
    description="Load one file dropped into the estimates landing zone.",
)
