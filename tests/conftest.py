"""Shared fixtures: a parsed dbt manifest, temporary warehouses, a fixed sample window."""

import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ingestion.config import warehouse_path_from_env
from ingestion.loader import connect, ensure_raw_schema
from ingestion.universe import Universe, load_universe
from orchestration.manifest import ManifestParse, manifest_path

MANIFEST = manifest_path()


def pytest_sessionstart(session: pytest.Session) -> None:
    """The code location reads dbt's manifest at import: parse if `make` did not, or if a
    dbt file changed since."""
    if hasattr(session.config, "workerinput"):
        return
    parse = ManifestParse(warehouse_path_from_env())
    if parse.start():
        parse.wait()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `long` first: a worker that drew one last would run on alone."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def universe() -> Universe:
    return load_universe()


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "warehouse.duckdb"


@pytest.fixture
def con(warehouse_path: Path) -> Any:
    """An open connection to a new warehouse with the raw schema, closed afterwards."""
    connection = connect(warehouse_path)
    ensure_raw_schema(connection)
    yield connection
    connection.close()


# A fixed sample window, long enough for every rolling window of every mart to fill (the
# 252-row z-score of spread_20d first has a value on the pair's 272nd session, 2022-09-29),
# with a Good Friday (2024-03-29) and three year ends inside it. The sample Fed hikes on
# 2021-09-21 and 2021-11-02, opens an easing cycle on 2022-11-02 and cuts six more times,
# the last on 2023-09-21: 135 sessions before the end, so every event has its 126-session
# study.
E2E_HISTORY_START = date(2021, 9, 1)
E2E_END = date(2024, 4, 5)


def materialize_sample(warehouse_path: Path, instance: Any, *, raise_on_error: bool = True) -> Any:
    """Every asset of the code location into `warehouse_path`, on the fixed sample window."""
    # Imported here: the code location reads dbt's manifest, parsed in pytest_sessionstart.
    from dagster import materialize

    from orchestration.defs.ingestion.assets import ingestion_assets
    from orchestration.defs.ingestion.checks import raw_checks
    from orchestration.defs.models.assets import warehouse_dbt_models
    from orchestration.defs.serving.assets import market_report, published_marts
    from orchestration.shared import MarketDataResource, build_resources

    resources = {
        **build_resources(str(warehouse_path)),
        "market_data": MarketDataResource(
            history_start=E2E_HISTORY_START.isoformat(), end_date=E2E_END.isoformat()
        ),
    }
    return materialize(
        [*ingestion_assets, warehouse_dbt_models, published_marts, market_report, *raw_checks],
        resources=resources,
        instance=instance,
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory):
    """One full build shared by the end-to-end and mart tests (dbt takes a few seconds).

    A failed step does not stop the fixture: test_the_run_succeeds_with_every_dbt_test_passing
    names the failed checks, and every other test still reports on what was built, so a
    broken model shows both as a failed dbt test and as the mart tests it breaks."""
    path = tmp_path_factory.mktemp("e2e") / "warehouse.duckdb"
    previous = os.environ.get("WAREHOUSE_PATH")
    from dagster import DagsterInstance

    instance = DagsterInstance.ephemeral()
    first = materialize_sample(path, instance, raise_on_error=False)
    yield path, first, instance
    if previous is None:
        os.environ.pop("WAREHOUSE_PATH", None)
    else:
        os.environ["WAREHOUSE_PATH"] = previous


def copy_of_built(built: Any, folder: Path) -> Path:
    """A copy of the shared build's warehouse in `folder`, for a test to change freely."""
    path, _result, _instance = built
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(path, copy)
    return copy
