"""A reader queries the serving file in a loop while a full refresh and publish run: it
never fails and never sees a mix of two publications."""

import json
import subprocess
import sys

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import raw_checks
from orchestration.defs.models.assets import warehouse_dbt_models
from orchestration.defs.serving.assets import published_marts
from orchestration.shared import MarketDataResource, build_resources
from tests.waiting import SAFETY_NET_SECONDS, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.long]

EVERYTHING = [*ingestion_assets, warehouse_dbt_models, published_marts, *raw_checks]

# Queries until told to stop, then once more: its last query starts after the refresh
# finished. `ready` appears after the first query, so the refresh starts with a reader.
READER = r"""
import json, os, sys, time
import duckdb
serving, ready, stop, out = sys.argv[1:5]
seen, errors, deadline = [], [], time.monotonic() + 1800
while time.monotonic() < deadline:
    stopping = os.path.exists(stop)
    try:
        with duckdb.connect(serving, read_only=True) as con:
            rows = con.execute("select count(*) from marts.divergence_daily").fetchone()[0]
            through = str(con.execute("select data_through from meta.publication").fetchone()[0])
        seen.append([rows, through])
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if not os.path.exists(ready):
        open(ready, "w").close()
    if stopping:
        break
json.dump({"seen": seen, "errors": errors}, open(out, "w"))
"""


def _resources(path, end):
    return {
        **build_resources(str(path)),
        "market_data": MarketDataResource(history_start="2024-02-01", end_date=end),
    }


def _publication(serving):
    with duckdb.connect(str(serving), read_only=True) as con:
        rows = con.execute("select count(*) from marts.divergence_daily").fetchone()[0]
        through = str(con.execute("select data_through from meta.publication").fetchone()[0])
    return [rows, through]


def test_readers_never_fail_or_see_a_mix_during_a_refresh(warehouse_path, tmp_path):
    instance = DagsterInstance.ephemeral()
    assert materialize(
        EVERYTHING, resources=_resources(warehouse_path, "2024-03-15"), instance=instance
    ).success
    serving = warehouse_path.parent / "serving" / "serving.duckdb"
    first = _publication(serving)

    ready, stop, out = tmp_path / "ready", tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving), str(ready), str(stop), str(out)]
    )
    try:
        wait_for(lambda: ready.exists() or reader.poll() is not None, "the reader's first query")
        assert reader.poll() is None
        assert materialize(
            EVERYTHING, resources=_resources(warehouse_path, "2024-03-28"), instance=instance
        ).success
    finally:
        stop.touch()
        reader.wait(timeout=SAFETY_NET_SECONDS)
    second = _publication(serving)
    report = json.loads(out.read_text())

    assert first != second  # the refresh published new data
    assert report["errors"] == []
    assert {tuple(s) for s in report["seen"]} <= {tuple(first), tuple(second)}
    # the first query came before the refresh, the last after it
    assert tuple(report["seen"][0]) == tuple(first)
    assert tuple(report["seen"][-1]) == tuple(second)
    print(f"reader: {len(report['seen'])} queries, {len(report['errors'])} errors")
