"""Jobs across every domain. `refresh_all_job` runs every asset in one process, one step
after another: each step writes the same DuckDB file, so parallel subprocesses would only
queue for the lock."""

from dagster import AssetSelection, define_asset_job, in_process_executor

refresh_all_job = define_asset_job(
    name="refresh_all_job",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description=(
        "Refresh every raw table from the configured provider, then build and test the dbt "
        "seeds, staging models and marts."
    ),
)
