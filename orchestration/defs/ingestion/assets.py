"""Ingestion assets: the four raw tables, refreshed incrementally from the configured provider.

Every asset here writes the warehouse, so all of them sit in the `warehouse` pool, which
dagster.yaml limits to one step at a time (DuckDB allows one writer per file).
"""

import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    BetaWarning,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from ingestion.config import Settings
from ingestion.lake import export_raw_table
from ingestion.loader import ensure_raw_schema
from ingestion.providers import ProviderContext, get_provider
from ingestion.refresh import (
    RefreshReport,
    load_landing_file,
    refresh_estimates,
    refresh_prices,
    refresh_rates,
    refresh_sessions,
)
from ingestion.universe import load_universe
from orchestration.partitions import MONTHLY_PARTITIONS
from orchestration.shared import (
    ESTIMATES_FRESHNESS,
    RATES_FRESHNESS,
    SESSION_FRESHNESS,
    WAREHOUSE_POOL,
    MarketDataResource,
)

Refresh = Callable[[duckdb.DuckDBPyConnection, Settings, Callable[[str], None]], RefreshReport]


def _monthly_asset(**kwargs: object) -> Callable[..., object]:
    """`@asset` over the monthly partitions, a range of months loaded by one run.

    Dagster 1.13 calls `backfill_policy` beta and warns each time the code location loads;
    the warning says nothing a user can act on, so it is silenced here and only here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return asset(
            partitions_def=MONTHLY_PARTITIONS,
            backfill_policy=BackfillPolicy.single_run(),
            **kwargs,  # type: ignore[arg-type]
        )


def _materialize(
    context: AssetExecutionContext,
    warehouse: DuckDBResource,
    market_data: MarketDataResource,
    refresh: Refresh,
    check_name: str | None = None,
) -> MaterializeResult:
    settings = market_data.settings(warehouse.database)
    Path(warehouse.database).parent.mkdir(parents=True, exist_ok=True)
    with warehouse.get_connection() as con:
        ensure_raw_schema(con)
        report = refresh(con, settings, context.log.info)
        table = f"raw.{report.table}"
        column = _date_column(report.table)
        total, first, last = con.execute(
            f"select count(*), min({column}), max({column}) from {table}"
        ).fetchone()
        lake_file = (
            export_raw_table(con, report.table, settings.lake_dir)
            if settings.engine == "spark"
            else None
        )
    context.log.info(report.summary())
    if lake_file:
        context.log.info(f"{table} exported for Spark to {lake_file}")
    start, end = report.window
    checks = []
    if check_name:
        checks.append(
            AssetCheckResult(
                check_name=check_name,
                passed=not report.failures,
                severity=AssetCheckSeverity.ERROR,
                description=(
                    "; ".join(
                        f"{key}: {error.splitlines()[0]}"
                        for key, error in sorted(report.failures.items())
                    )
                    or "every key loaded"
                ),
                metadata={
                    "failed": sorted(report.failures),
                    "restated": report.restated,
                },
            )
        )
    return MaterializeResult(
        check_results=checks,
        metadata={
            "dagster/row_count": MetadataValue.int(total),
            "provider": report.provider,
            "window_start": str(start) if start else "",
            "window_end": str(end) if end else "",
            "rows_received": report.received,
            "rows_inserted": report.inserted,
            "rows_updated": report.updated,
            "rows_unchanged": report.unchanged,
            "first_date": str(first),
            "last_date": str(last),
            "summary": report.summary(),
            "failed_keys": sorted(report.failures),
            **({"lake_file": MetadataValue.path(str(lake_file))} if lake_file else {}),
        },
    )


def _date_column(table: str) -> str:
    return {
        "prices": "session_date",
        "rates": "observation_date",
        "earnings_estimates": "as_of_date",
        "sessions": "session_date",
    }[table]


def partition_window(
    context: AssetExecutionContext, market_data: MarketDataResource
) -> tuple[date, date] | None:
    """The calendar days of the run's partitions, if it has some and re-reads them whole."""
    if not context.has_partition_key_range or not market_data.reread_partitions:
        return None
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def _with_provider(
    refresh: Callable[..., RefreshReport],
    dataset: str,
    market_data: MarketDataResource,
    window: tuple[date, date] | None = None,
) -> Refresh:
    def run(
        con: duckdb.DuckDBPyConnection, settings: Settings, log: Callable[[str], None]
    ) -> RefreshReport:
        universe = load_universe()
        context = ProviderContext(universe, settings, market_data.provider_env())
        provider = get_provider(settings.provider_for(dataset), context)
        if window is None:
            return refresh(con, provider, universe, settings, log)
        # A partition run loads up to the partition's last day (never past the last
        # completed session) and re-reads at least its whole range (from HISTORY_START
        # when that falls inside the first month).
        bounded = replace(settings, end_date=min(settings.end_date, window[1]))
        start = max(window[0], settings.history_start)
        return refresh(con, provider, universe, bounded, log, window_start=start)

    return run


@asset(
    key=["raw", "sessions"],
    group_name="ingestion",
    pool=WAREHOUSE_POOL,
    kinds={"python", "duckdb"},
    description=(
        "XNYS trading sessions from exchange_calendars, HISTORY_START through the end of "
        "next year, with open and close times in UTC and early-close flags."
    ),
)
def sessions(
    context: AssetExecutionContext, warehouse: DuckDBResource, market_data: MarketDataResource
) -> MaterializeResult:
    return _materialize(
        context,
        warehouse,
        market_data,
        lambda con, settings, log: refresh_sessions(con, settings, log),
    )


def _monthly_raw_table(
    table: str,
    refresh: Callable[..., RefreshReport],
    dataset: str,
    check: tuple[str, str],
    freshness_policy: FreshnessPolicy,
    description: str,
) -> AssetsDefinition:
    """A month-partitioned raw table refreshed from `dataset`'s provider, with the check
    that every key of it loaded."""
    check_name, check_description = check

    @_monthly_asset(
        key=["raw", table],
        freshness_policy=freshness_policy,
        check_specs=[
            AssetCheckSpec(
                check_name, asset=AssetKey(["raw", table]), description=check_description
            )
        ],
        group_name="ingestion",
        pool=WAREHOUSE_POOL,
        kinds={"python", "duckdb"},
        description=description,
    )
    def raw_table(
        context: AssetExecutionContext, warehouse: DuckDBResource, market_data: MarketDataResource
    ) -> MaterializeResult:
        window = partition_window(context, market_data)
        return _materialize(
            context,
            warehouse,
            market_data,
            _with_provider(refresh, dataset, market_data, window),
            check_name,
        )

    return raw_table  # type: ignore[return-value]


prices = _monthly_raw_table(
    "prices",
    refresh_prices,
    "prices",
    (
        "every_symbol_loaded",
        "The last refresh loaded every symbol of the universe (failures named).",
    ),
    SESSION_FRESHNESS,
    "Daily OHLCV per instrument of the universe and XNYS session, from the configured "
    "provider; refreshed from the last stored session minus a lookback.",
)
rates = _monthly_raw_table(
    "rates",
    refresh_rates,
    "rates",
    ("every_series_loaded", "The last refresh loaded every rate series (failures named)."),
    RATES_FRESHNESS,
    "Fed funds target range, effective rate and 2y/10y Treasury yields per FRED series "
    "id, in percent; refreshed from the last stored date minus a lookback.",
)


@asset(
    key=["raw", "earnings_estimates"],
    freshness_policy=ESTIMATES_FRESHNESS,
    check_specs=[
        AssetCheckSpec(
            "every_universe_loaded",
            asset=AssetKey(["raw", "earnings_estimates"]),
            description="The last refresh loaded every estimate universe (failures named).",
        )
    ],
    group_name="ingestion",
    pool=WAREHOUSE_POOL,
    kinds={"python", "duckdb"},
    description=(
        "Monthly snapshots of expected EPS growth (percent) per index universe and fiscal "
        "year; refreshed from the last stored snapshot minus two months."
    ),
)
def earnings_estimates(
    context: AssetExecutionContext, warehouse: DuckDBResource, market_data: MarketDataResource
) -> MaterializeResult:
    refresh = _with_provider(refresh_estimates, "estimates", market_data)
    if market_data.landing_file:
        name = market_data.landing_file

        def refresh(
            con: duckdb.DuckDBPyConnection, settings: Settings, log: Callable[[str], None]
        ) -> RefreshReport:
            return load_landing_file(con, settings, name, log)

    return _materialize(context, warehouse, market_data, refresh, "every_universe_loaded")


ingestion_assets = [sessions, prices, rates, earnings_estimates]
