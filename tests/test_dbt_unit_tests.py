"""dbt unit tests (hand-made input rows, hand-computed expected rows, in the yml beside
each model) run here rather than in the nightly build: they check SQL, not data."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_every_dbt_unit_test_passes(built, tmp_path):
    path, _result, _instance = built
    # dbt reads the column types of each model's inputs, so it needs a built warehouse;
    # a copy keeps the shared one untouched.
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(path, warehouse)
    target = tmp_path / "target"
    done = subprocess.run(
        [
            str(Path(sys.prefix) / "bin" / "dbt"),
            "test",
            "--select",
            "test_type:unit",
            "--profiles-dir",
            ".",
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=PROJECT_ROOT / "dbt_project",
        env={**os.environ, "WAREHOUSE_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = {
        r["unique_id"].split(".")[-1]: r["status"]
        for r in results
        if r["unique_id"].startswith("unit_test.")
    }
    assert len(statuses) == 28
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
