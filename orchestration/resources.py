"""Resources: the DuckDB warehouse, the market-data settings, and the dbt CLI."""

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging.version import Version
from pydantic import Field

from ingestion.config import Settings, warehouse_path_from_env
from orchestration.dbt_project import warehouse_dbt_project


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


def dbt_executable() -> str:
    """The dbt installed beside this interpreter, so an unactivated venv still finds it."""
    for folder in (Path(sys.prefix) / "bin", Path(sys.executable).parent):
        if (folder / "dbt").exists():
            return str(folder / "dbt")
    return shutil.which("dbt") or "dbt"


class WarehouseDbtCliResource(DbtCliResource):
    """The dbt CLI, told its version by the installed dbt-core package.

    dagster-dbt otherwise starts `dbt --version` before every invocation to learn it
    (1.3 s here, a tenth of a nightly refresh of the default universe). The executable is
    the one installed beside dbt-core in this environment, so the two cannot differ.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))


def _secret(name: str) -> EnvVar | None:
    return EnvVar(name) if os.environ.get(name) else None


def build_resources(
    warehouse_path: str | None = None,
    end_date: date | None = None,
) -> dict[str, ConfigurableResource]:
    """The resource set the code location runs with; tests pass a temporary warehouse."""
    return {
        "warehouse": WarehouseResource(database=warehouse_path or default_warehouse_path()),
        "market_data": MarketDataResource(end_date=end_date.isoformat() if end_date else None),
        "dbt": WarehouseDbtCliResource(
            project_dir=warehouse_dbt_project, dbt_executable=dbt_executable()
        ),
    }
