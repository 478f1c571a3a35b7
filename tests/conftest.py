"""Shared fixtures: a parsed dbt manifest, temporary warehouses, a fixed sample window."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ingestion.paths import DBT_PROJECT_DIR
from ingestion.universe import Universe, load_universe

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The code location reads dbt's manifest at import: parse once if `make` did not."""
    if MANIFEST.exists() or hasattr(session.config, "workerinput"):
        return
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "parse", "--profiles-dir", ".", "--quiet"], cwd=DBT_PROJECT_DIR, check=True
    )


@pytest.fixture(scope="session")
def universe() -> Universe:
    return load_universe()


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "warehouse.duckdb"


# A short, fixed sample window: a Good Friday (2024-03-29) and a year end inside it.
E2E_HISTORY_START = date(2023, 11, 1)
E2E_END = date(2024, 4, 5)
