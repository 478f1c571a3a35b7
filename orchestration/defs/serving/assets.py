"""Serving assets: the read-only copy of the marts that analysts and BI tools open, and the
HTML report of charts rendered from it."""

from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from ingestion.config import serving_dir_from_env
from orchestration.build_inputs import recorded
from orchestration.dbt_project import dbt_asset_keys_in
from orchestration.shared import MODEL_AUTOMATION, WAREHOUSE_POOL
from serving.paths import SERVING_FILE
from serving.publish import PUBLISHED_SCHEMAS, publish
from serving.report import REPORT_DIR
from serving.report.ahead import NOTHING_STARTED, REPORT_AHEAD
from serving.report.build import Rendered, render_file, write_report

PUBLISHED = dbt_asset_keys_in(PUBLISHED_SCHEMAS)
REPORT_KEY = AssetKey(["serving", "market_report"])
# The executors that run every step of a run in its own process (`in_process_executor`,
# and the one `materialize` and `execute_in_process` use).
IN_PROCESS_EXECUTORS = frozenset({"in_process", "execute_in_process_executor"})


def _report_follows_in_this_process(context: AssetExecutionContext) -> bool:
    """Whether this run also materializes the report, in this process."""
    job = context.job_def
    return (
        job.executor_def.name in IN_PROCESS_EXECUTORS
        and REPORT_KEY in job.asset_layer.selected_asset_keys
    )


@asset(
    key=["serving", "published_marts"],
    deps=PUBLISHED,
    group_name="serving",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "parquet"},
    automation_condition=MODEL_AUTOMATION,
    description=(
        "A complete new serving database (marts and universe seeds, with types and "
        "comments) swapped into data/serving/serving.duckdb atomically, plus one Parquet "
        "file per mart. Runs only after the marts built and every dbt test passed."
    ),
)
def published_marts(context: AssetExecutionContext, warehouse: DuckDBResource) -> MaterializeResult:
    serving_dir = serving_dir_from_env(Path(warehouse.database))
    with warehouse.get_connection() as con:
        publication = publish(con, serving_dir, context.run_id, built_from=recorded(con))
    if _report_follows_in_this_process(context):
        # rendered in a thread while the compaction runs (serving.report.ahead)
        REPORT_AHEAD.start(serving_dir / SERVING_FILE)
    mart_rows = {k: v for k, v in publication.tables.items() if k.startswith("marts.")}
    context.log.info(
        f"published {len(mart_rows)} marts to {publication.serving_path} "
        f"(data through {publication.data_through})"
    )
    return MaterializeResult(
        metadata={
            "serving_path": MetadataValue.path(str(publication.serving_path)),
            "parquet_dir": MetadataValue.path(str(publication.parquet_dir)),
            "data_through": str(publication.data_through),
            "dagster/row_count": MetadataValue.int(sum(mart_rows.values())),
            "rows_per_mart": MetadataValue.json(mart_rows),
        }
    )


@asset(
    key=REPORT_KEY,
    deps=[published_marts],
    group_name="serving",
    kinds={"html", "plotly"},
    automation_condition=MODEL_AUTOMATION,
    description=(
        "A self-contained HTML report (plotly.js embedded, works offline) at "
        "data/serving/report/index.html: YTD spread of each pair, weekly streaks of "
        "rut_vs_spx, sector rotation, the Fed target range against small caps and the "
        "earnings growth gap. Read from the published serving file, never the warehouse."
    ),
)
def market_report(context: AssetExecutionContext, warehouse: DuckDBResource) -> MaterializeResult:
    serving_dir = serving_dir_from_env(Path(warehouse.database))
    serving_file = serving_dir / SERVING_FILE
    rendered = REPORT_AHEAD.take(serving_file)
    ahead = isinstance(rendered, Rendered)
    if isinstance(rendered, str):
        if rendered != NOTHING_STARTED:
            context.log.info(f"report rendered again: {rendered}")
        rendered = render_file(serving_file)
    report = write_report(rendered, serving_dir / REPORT_DIR)
    how = "rendered beside the compaction" if ahead else "rendered here"
    context.log.info(
        f"report with {len(report.charts)} charts written to {report.path} "
        f"(data through {report.data_through}, {how})"
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(report.path)),
            "summary": MetadataValue.md(report.summary_markdown),
            "charts": MetadataValue.json(report.charts),
            "data_through": str(report.data_through),
            "size_bytes": MetadataValue.int(report.size_bytes),
            "rendered_ahead": ahead,
        }
    )
