"""What the domains of the code location share; asset modules import it, never each other.

- `WAREHOUSE_POOL`: every step that writes the warehouse holds the `warehouse` pool, which
  dagster_home/dagster.yaml limits to one step at a time (DuckDB allows one writer per file).
- `MODEL_AUTOMATION`: when dbt models, the publication, the report and the compaction
  follow their inputs.
- The freshness policies the raw tables and marts declare (the overdue sensor, in
  `defs/monitoring`, judges them against the XNYS calendar).
- The resources: the DuckDB warehouse, the market-data settings, and the dbt CLI
  (`orchestration.dbt_resource`, imported only where dbt runs).
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import duckdb
from dagster import (
    AssetKey,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    ConfigurableResource,
    DefaultScheduleStatus,
    FreshnessPolicy,
    ScheduleDefinition,
    apply_freshness_policy,
    schedule,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from ingestion.config import Settings, warehouse_path_from_env

WAREHOUSE_POOL = "warehouse"
NEW_YORK = "America/New_York"


def new_york_schedule(**kwargs: Any) -> Callable[..., ScheduleDefinition]:
    """`@schedule` on New York time, on from the start (`dagster dev` runs it at once)."""
    return schedule(
        execution_timezone=NEW_YORK, default_status=DefaultScheduleStatus.RUNNING, **kwargs
    )


# Eager, except that the month-partitioned raw tables count as present once any month is
# loaded (eager would wait for every month since HISTORY_START), and never on top of a
# failed blocking check.
PARTITIONED_INPUTS = AssetSelection.assets(AssetKey(["raw", "prices"]), AssetKey(["raw", "rates"]))
MODEL_AUTOMATION = (
    (AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated())
    .since_last_handled()
    .with_label("an input was refreshed")
    & ~AutomationCondition.any_deps_missing().ignore(PARTITIONED_INPUTS)
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
)

# Prices and marts must hold the last completed NYSE session a few hours after its close;
# rates within about one business day; estimates within 35 days. Cron policies know
# weekends but not holidays.
SESSION_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron="30 21 * * 1-5",
    lower_bound_delta=timedelta(hours=5, minutes=30),
    timezone=NEW_YORK,
)
RATES_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(days=4), warn_window=timedelta(days=2)
)
ESTIMATES_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(days=35), warn_window=timedelta(days=32)
)


def with_freshness_policy(spec: AssetSpec) -> AssetSpec:
    """The declared policy of a raw table or mart; other assets keep none."""
    policy = {
        ("raw", "prices"): SESSION_FRESHNESS,
        ("raw", "rates"): RATES_FRESHNESS,
        ("raw", "earnings_estimates"): ESTIMATES_FRESHNESS,
    }.get(tuple(spec.key.path))
    if policy is None and spec.key.path[0] == "marts":
        policy = SESSION_FRESHNESS
    return apply_freshness_policy(spec, policy) if policy is not None else spec


class MarketDataResource(ConfigurableResource):
    """Which provider to ask and for which window; unset fields fall back to the environment.

    Settings are read when a step runs, not when the code location loads, so a `dagster
    dev` left running for days still asks for the latest completed session. With
    `landing_file`, the estimates asset loads just that dropped file (the landing sensor).
    """

    provider: str | None = None
    history_start: str | None = None
    end_date: str | None = None
    lookback_sessions: int | None = None
    landing_file: str | None = None
    reread_partitions: bool = Field(
        default=True,
        description=(
            "A run over partitions re-reads every day of its months (a backfill). The "
            "schedules turn this off: they read their lookback, and the month they target "
            "records the load."
        ),
    )
    fred_api_key: str | None = None
    tiingo_api_key: str | None = None

    def provider_env(self) -> dict[str, str]:
        """The environment providers read, with API keys as Dagster resolved them."""
        env = dict(os.environ)
        for name, value in (
            ("FRED_API_KEY", self.fred_api_key),
            ("TIINGO_API_KEY", self.tiingo_api_key),
        ):
            if value:
                env[name] = value
        return env

    def settings(self, warehouse_path: str) -> Settings:
        env = dict(os.environ)
        env["WAREHOUSE_PATH"] = warehouse_path
        overrides = {
            "MARKET_DATA_PROVIDER": self.provider,
            "HISTORY_START": self.history_start,
            "SAMPLE_END_DATE": self.end_date,
            "REFRESH_LOOKBACK_SESSIONS": (
                None if self.lookback_sessions is None else str(self.lookback_sessions)
            ),
        }
        env.update({k: v for k, v in overrides.items() if v is not None})
        return Settings.from_env(env)


class WarehouseResource(DuckDBResource):
    """The warehouse connection, closed however the block that used it ends.

    dagster-duckdb 0.29 closes it only when the block succeeds; after a failed step the
    connection stayed open until garbage collection, and DuckDB then refused the
    read-only connection of the run's summary in the same process.
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().get_connection() as connection:
            try:
                yield connection
            finally:
                connection.close()


def default_warehouse_path() -> str:
    return str(warehouse_path_from_env())


def load_resources(
    warehouse_path: str | None = None,
    end_date: date | None = None,
) -> dict[str, ConfigurableResource]:
    """What the raw loads and their checks need: the warehouse and the market-data settings."""
    return {
        "warehouse": WarehouseResource(database=warehouse_path or default_warehouse_path()),
        "market_data": MarketDataResource(end_date=end_date.isoformat() if end_date else None),
    }


def build_resources(
    warehouse_path: str | None = None,
    end_date: date | None = None,
) -> dict[str, ConfigurableResource]:
    """The resource set the code location runs with; tests pass a temporary warehouse."""
    # Imported here: dagster-dbt and dbt-core take about 1.7 s to import, which the loads
    # alone (orchestration.run's first run) never need.
    from orchestration.dbt_project import warehouse_dbt_project
    from orchestration.dbt_resource import WarehouseDbtCliResource, dbt_executable

    return {
        **load_resources(warehouse_path, end_date),
        "dbt": WarehouseDbtCliResource(
            project_dir=warehouse_dbt_project, dbt_executable=dbt_executable()
        ),
    }
