"""The estimates landing sensor: new, repeated and changed files, a restart, and the run
that loads just the requested file."""

import json

import duckdb
import pytest
from dagster import DagsterInstance, build_sensor_context, materialize

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.sensors import estimates_landing_sensor
from orchestration.shared import MarketDataResource, build_resources

GOOD = (
    "as_of_date,universe,fiscal_year,eps_growth_pct,source\n"
    "2024-03-01,russell_2000,2024,12.5,broker\n"
    "2024-03-01,sp500,2024,8.25,broker\n"
)
CHANGED = GOOD.replace("12.5", "11.75")


@pytest.fixture
def zone(tmp_path, monkeypatch):
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("SAMPLE_END_DATE", "2024-03-28")
    folder = tmp_path / "landing" / "estimates"
    folder.mkdir(parents=True)
    return folder


def _tick(cursor=None):
    return estimates_landing_sensor(build_sensor_context(cursor=cursor))


def test_a_new_file_is_requested_once_and_a_changed_file_again(zone):
    (zone / "q1.csv").write_text(GOOD)
    first = _tick()
    (request,) = first.run_requests
    assert request.run_key.startswith("q1.csv:")
    assert request.run_config == {
        "resources": {"market_data": {"config": {"landing_file": "q1.csv"}}}
    }

    again = _tick(first.cursor)
    assert again.run_requests == []
    assert again.skip_reason.skip_message == "no new or changed file"

    (zone / "q1.csv").write_text(CHANGED)
    changed = _tick(again.cursor)
    (changed_request,) = changed.run_requests
    assert changed_request.run_key.startswith("q1.csv:")
    assert changed_request.run_key != request.run_key


def test_a_restart_with_the_stored_cursor_requests_nothing(zone):
    (zone / "q1.csv").write_text(GOOD)
    (zone / "notes.txt").write_text("not a drop")
    first = _tick()
    assert json.loads(first.cursor) == {"q1.csv": first.run_requests[0].tags["content_sha256"]}
    # A new sensor context, as after a daemon restart, with the cursor Dagster stored.
    restarted = _tick(first.cursor)
    assert restarted.run_requests == []


def test_the_requested_run_loads_just_that_file(zone, warehouse_path):
    (zone / "q1.csv").write_text(GOOD)
    (zone / "q2.csv").write_text(CHANGED.replace("2024-03-01", "2024-04-01"))
    request = next(r for r in _tick().run_requests if r.tags["landing_file"] == "q1.csv")
    resources = {
        **build_resources(str(warehouse_path)),
        "market_data": MarketDataResource(
            landing_file=request.run_config["resources"]["market_data"]["config"]["landing_file"]
        ),
    }
    result = materialize(
        [ingestion_assets[3]], resources=resources, instance=DagsterInstance.ephemeral()
    )
    assert result.success
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select universe, eps_growth_pct, source from raw.earnings_estimates order by 1"
        ).fetchall()
    assert rows == [("russell_2000", 12.5, "broker"), ("sp500", 8.25, "broker")]
    assert (zone / "archive" / "q1.csv").exists()
    assert (zone / "q2.csv").exists()  # not requested by this run, still waiting
