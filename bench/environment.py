"""The machine and the versions a benchmark ran on."""

import os
import platform
from importlib.metadata import version
from typing import Any

import psutil

PACKAGES = ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt", "pandas", "numpy")


def describe() -> dict[str, Any]:
    memory = psutil.virtual_memory().total
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 1024**3, 1),
        "load_average_at_start": [round(x, 2) for x in load],
        "versions": {name: version(name) for name in PACKAGES},
    }
