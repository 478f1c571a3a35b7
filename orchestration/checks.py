"""Blocking checks on raw data: marts are not rebuilt on top of input that would make them
wrong. The provider boundary already rejects such rows; these checks guard the table
itself (a manual edit, a restored backup, a loader bug)."""

from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, asset_check
from dagster_duckdb import DuckDBResource

from orchestration.assets.ingestion import WAREHOUSE_POOL


@asset_check(
    asset=AssetKey(["raw", "prices"]),
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="No stored price breaks high >= max(open, close) >= min(open, close) >= low > 0.",
)
def prices_are_ohlc_consistent(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as con:
        bad = con.execute(
            """
            select symbol, session_date
            from raw.prices
            where close <= 0
                or low <= 0
                or high < greatest(open, close)
                or least(open, close) < low
            order by symbol, session_date
            """
        ).fetchall()
    examples = ", ".join(f"{symbol} {day}" for symbol, day in bad[:10])
    return AssetCheckResult(
        passed=not bad,
        severity=AssetCheckSeverity.ERROR,
        description=f"{len(bad)} inconsistent row(s): {examples}" if bad else "all rows consistent",
        metadata={"inconsistent_rows": len(bad)},
    )


raw_checks = [prices_are_ohlc_consistent]
