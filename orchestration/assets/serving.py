"""Serving assets: the read-only copy of the marts that analysts and BI tools open."""

from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from ingestion.config import serving_dir_from_env
from orchestration.assets.dbt import MODEL_AUTOMATION, warehouse_dbt_models
from orchestration.assets.ingestion import WAREHOUSE_POOL
from serving.publish import publish

PUBLISHED = [key for key in warehouse_dbt_models.keys if key.path[0] in ("marts", "universe")]


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
        publication = publish(con, serving_dir, context.run_id)
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
