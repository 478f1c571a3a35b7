"""The maintenance job: the compaction of the warehouse file, on its own."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from orchestration.defs.maintenance.assets import warehouse_file

maintenance_job = define_asset_job(
    name="maintenance_job",
    selection=AssetSelection.assets(warehouse_file),
    executor_def=in_process_executor,
    description="Compact the warehouse file (see the maintenance/warehouse_file asset).",
)
