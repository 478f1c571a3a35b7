"""A manual `make run`, the schedule's ingestion job and the landing sensor's job, started
at the same moment against one warehouse and one Dagster instance configured by the
project's dagster.yaml: every run succeeds, none fails on DuckDB's file lock; the pool
of one makes the warehouse steps take turns."""

import json
import os
import shutil
import subprocess
import sys

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from ingestion.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

DAGSTER = str(PROJECT_ROOT / ".venv" / "bin" / "dagster")
LANDED = (
    "as_of_date,universe,fiscal_year,eps_growth_pct,source\n"
    "2024-03-20,russell_2000,2024,12.5,desk\n"
    "2024-03-20,sp500,2024,8.25,desk\n"
)
LOCK_WORDS = ("could not set lock", "conflicting lock", "database is locked")


def test_a_manual_run_a_scheduled_run_and_a_sensor_run_at_once(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
    # The instance exists before the runs, as it does once `make ui` or a first run made it
    # (processes racing to create a brand-new SQLite run storage can collide).
    DagsterInstance.from_config(str(home)).dispose()
    zone = tmp_path / "landing" / "estimates"
    zone.mkdir(parents=True)
    (zone / "desk-march.csv").write_text(LANDED, encoding="utf-8")
    sensor_config = tmp_path / "sensor_run.json"
    sensor_config.write_text(
        json.dumps({"resources": {"market_data": {"config": {"landing_file": "desk-march.csv"}}}})
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "LANDING_DIR": str(tmp_path / "landing"),
        "HISTORY_START": "2024-03-01",
        "SAMPLE_END_DATE": "2024-03-28",
        "DO_NOT_TRACK": "1",
    }
    location = ["-m", "orchestration.definitions"]
    commands = {
        "manual": [sys.executable, "-m", "orchestration.run", "refresh_all_job"],
        "schedule": [DAGSTER, "job", "execute", *location, "-j", "ingestion_job"],
        "sensor": [
            DAGSTER,
            "job",
            "execute",
            *location,
            "-j",
            "estimates_landing_job",
            "-c",
            str(sensor_config),
        ],
    }
    processes = {
        name: subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, command in commands.items()
    }
    outputs = {name: process.communicate(timeout=600)[0] for name, process in processes.items()}

    for name, process in processes.items():
        assert process.returncode == 0, f"{name}: {outputs[name][-4000:]}"
        assert not [w for w in LOCK_WORDS if w in outputs[name].lower()], name
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert sorted(run.job_name for run in runs) == [
            "estimates_landing_job",
            "ingestion_job",
            "refresh_all_job",  # its loads
            "refresh_all_job",  # and the build of them
        ]
        assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
        # Nobody holds the pool any more.
        assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select eps_growth_pct from raw.earnings_estimates "
            "where universe = 'sp500' and as_of_date = '2024-03-20' and fiscal_year = 2024"
        ).fetchone() == (8.25,)
        # 20 sessions of March up to the 28th for 36 instruments, loaded once.
        assert con.execute("select count(*) from raw.prices").fetchone() == (720,)
        assert con.execute("select count(*) from marts.market_pulse_daily").fetchone()[0] > 0
    assert (zone / "archive" / "desk-march.csv").is_file()
