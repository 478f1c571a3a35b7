"""The market report asset: an offline HTML page of charts rendered from the serving file."""

from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from ingestion.config import serving_dir_from_env
from orchestration.assets.dbt import MODEL_AUTOMATION
from orchestration.assets.serving import published_marts
from serving.paths import SERVING_FILE
from serving.report import REPORT_DIR, build_report


@asset(
    key=["serving", "market_report"],
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
    report = build_report(serving_dir / SERVING_FILE, serving_dir / REPORT_DIR)
    context.log.info(
        f"report with {len(report.charts)} charts written to {report.path} "
        f"(data through {report.data_through})"
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(report.path)),
            "summary": MetadataValue.md(report.summary_markdown),
            "charts": MetadataValue.json(report.charts),
            "data_through": str(report.data_through),
            "size_bytes": MetadataValue.int(report.size_bytes),
        }
    )
