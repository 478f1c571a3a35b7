"""Settings read from environment variables, with the defaults the README documents."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingestion.paths import resolve_from_root

DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
DEFAULT_PROVIDER = "sample"
DEFAULT_HISTORY_START = date(2015, 1, 1)
DEFAULT_LOOKBACK_SESSIONS = 5
ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"


class ConfigError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


DATASETS = ("prices", "rates", "estimates")


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    provider: str
    history_start: date
    end_date: date
    lookback_sessions: int
    dataset_providers: dict[str, str] = field(default_factory=dict)
    market_data_dir: Path | None = None
    landing_dir: Path = field(default_factory=lambda: resolve_from_root("data/landing"))
    landing_retention_days: int = 30
    engine: str = DEFAULT_ENGINE
    lake_dir: Path = field(default_factory=lambda: resolve_from_root("data/lake"))

    def provider_for(self, dataset: str) -> str:
        """PRICES_PROVIDER / RATES_PROVIDER / ESTIMATES_PROVIDER, else MARKET_DATA_PROVIDER."""
        return self.dataset_providers.get(dataset) or self.provider

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        # Imported here: the exchange calendar takes 0.4 s, and `orchestration.run` reads
        # the warehouse's path from this module before it starts the warm dbt process.
        from ingestion.calendar import last_completed_session

        env = os.environ if env is None else env
        last_completed = last_completed_session()
        end_date = _date_setting(env, "SAMPLE_END_DATE", None) or last_completed
        if end_date > last_completed:
            raise ConfigError(
                f"SAMPLE_END_DATE={end_date.isoformat()} is after the last completed NYSE "
                f"session ({last_completed.isoformat()}): the sample market has no future"
            )
        history_start = _date_setting(env, "HISTORY_START", DEFAULT_HISTORY_START)
        if history_start > end_date:
            raise ConfigError(
                f"HISTORY_START={history_start.isoformat()} is after the end date "
                f"{end_date.isoformat()}: there is no history to load"
            )
        lookback_text = (env.get("REFRESH_LOOKBACK_SESSIONS") or "").strip()
        lookback = DEFAULT_LOOKBACK_SESSIONS
        if lookback_text:
            if not (lookback_text.isascii() and lookback_text.isdecimal()):
                raise ConfigError(
                    f"REFRESH_LOOKBACK_SESSIONS={lookback_text!r} is not a whole number of sessions"
                )
            lookback = int(lookback_text)
        provider = env.get("MARKET_DATA_PROVIDER", DEFAULT_PROVIDER).strip().lower()
        overrides = {
            dataset: (env.get(f"{dataset.upper()}_PROVIDER") or "").strip().lower()
            for dataset in DATASETS
        }
        data_dir = (env.get("MARKET_DATA_DIR") or "").strip()
        retention = (env.get("LANDING_RETENTION_DAYS") or "30").strip()
        if not (retention.isascii() and retention.isdecimal()):
            raise ConfigError(f"LANDING_RETENTION_DAYS={retention!r} is not a whole number of days")
        warehouse_path = warehouse_path_from_env(env)
        return cls(
            warehouse_path=warehouse_path,
            provider=provider or DEFAULT_PROVIDER,
            history_start=history_start,
            end_date=end_date,
            lookback_sessions=lookback,
            dataset_providers={k: v for k, v in overrides.items() if v},
            market_data_dir=resolve_from_root(data_dir) if data_dir else None,
            landing_dir=resolve_from_root((env.get("LANDING_DIR") or "").strip() or "data/landing"),
            landing_retention_days=int(retention),
            engine=warehouse_engine_from_env(env),
            lake_dir=lake_dir_from_env(warehouse_path, env),
        )


def warehouse_path_from_env(env: Mapping[str, str] | None = None) -> Path:
    """WAREHOUSE_PATH resolved from the project root, without computing the other settings."""
    env = os.environ if env is None else env
    return resolve_from_root(env.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE_PATH)


def warehouse_engine_from_env(env: Mapping[str, str] | None = None) -> str:
    """WAREHOUSE_ENGINE: the engine dbt builds the models on, `duckdb` (default) or `spark`."""
    env = os.environ if env is None else env
    engine = (env.get("WAREHOUSE_ENGINE") or "").strip().lower() or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise ConfigError(
            f"WAREHOUSE_ENGINE={engine!r} is not an engine this project builds on: "
            f"use one of {', '.join(ENGINES)}"
        )
    return engine


def lake_dir_from_env(warehouse_path: Path, env: Mapping[str, str] | None = None) -> Path:
    """LAKE_DIR, else a `lake` folder beside the warehouse (data/lake by default): where the
    raw tables are exported as Parquet, and where Spark keeps its tables."""
    env = os.environ if env is None else env
    configured = (env.get("LAKE_DIR") or "").strip()
    return resolve_from_root(configured) if configured else warehouse_path.parent / "lake"


def serving_dir_from_env(warehouse_path: Path, env: Mapping[str, str] | None = None) -> Path:
    """SERVING_DIR, else a `serving` folder beside the warehouse (data/serving by default)."""
    env = os.environ if env is None else env
    configured = (env.get("SERVING_DIR") or "").strip()
    return resolve_from_root(configured) if configured else warehouse_path.parent / "serving"


def _date_setting(env: Mapping[str, str], name: str, default: date | None) -> date | None:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a date in YYYY-MM-DD form") from None
