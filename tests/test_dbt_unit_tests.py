"""dbt unit tests (hand-made input rows, hand-computed expected rows, in the yml beside
each model) run here rather than in the nightly build: they check SQL, not data."""

import json
import shutil

import pytest

from tests.dbt_cli import run_dbt, target_path

pytestmark = pytest.mark.slow


def test_every_dbt_unit_test_passes(built, tmp_path):
    path, _result, _instance = built
    # dbt reads the column types of each model's inputs, so it needs a built warehouse;
    # a copy keeps the shared one untouched.
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(path, warehouse)
    done = run_dbt(warehouse, tmp_path, "test", "--select", "test_type:unit", quiet=False)
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((target_path(tmp_path) / "run_results.json").read_text())["results"]
    statuses = {
        r["unique_id"].split(".")[-1]: r["status"]
        for r in results
        if r["unique_id"].startswith("unit_test.")
    }
    assert len(statuses) == 38
    assert set(statuses.values()) == {"pass"}


def test_the_nightly_build_leaves_unit_tests_out(built):
    _path, result, instance = built
    messages = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if "Running dbt command" in (record.user_message or "")
    ]
    assert len(messages) == 1
    assert "build --exclude resource_type:unit_test" in messages[0]
    assert "--full-refresh" not in messages[0]
