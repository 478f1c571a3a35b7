"""Maintenance assets: the warehouse file kept close to the size of a fresh build."""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from ingestion.compaction import DEFAULT_GROWTH_RATIO, compact_if_grown
from orchestration.shared import MODEL_AUTOMATION, WAREHOUSE_POOL


class CompactionConfig(Config):
    force: bool = Field(
        default=False, description="compact whatever the file's size (the weekly schedule)"
    )
    growth_ratio: float = Field(
        default=DEFAULT_GROWTH_RATIO,
        ge=1.0,
        description="compact once the file exceeds this many times the size it had after "
        "the last compaction",
    )


@asset(
    key=["maintenance", "warehouse_file"],
    deps=[AssetKey(["serving", "published_marts"])],
    group_name="maintenance",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    automation_condition=MODEL_AUTOMATION,
    # First of the steps ready after the publication: an in-process run renders the report
    # beside it (serving.report.ahead) instead of after it. The priority also puts it ahead
    # of other runs' steps waiting for the warehouse pool, which a compaction may well be.
    op_tags={"dagster/priority": "1"},
    description=(
        "The warehouse file itself. After each publication it is compacted (a checked "
        "copy swapped in atomically) once nightly builds have grown it past 1.2x the size "
        "its last compaction left; the weekly schedule compacts it whatever its size."
    ),
)
def warehouse_file(
    context: AssetExecutionContext, config: CompactionConfig, warehouse: DuckDBResource
) -> MaterializeResult:
    result = compact_if_grown(Path(warehouse.database), config.growth_ratio, config.force)
    context.log.info(result.summary())
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "compacted": result.compacted,
            "reason": result.reason,
            "bytes_before": MetadataValue.int(result.bytes_before),
            "bytes_after": MetadataValue.int(result.bytes_after),
            "seconds": MetadataValue.float(round(result.seconds, 3)),
        }
    )
