"""Runs whose process was killed are marked failed and give back their pool slot; runs whose
process lives, and runs of other hosts, are left alone."""

import shutil
import subprocess
import sys

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from ingestion.paths import PROJECT_ROOT
from orchestration.recovery import HOST_TAG, PID_TAG, recover_interrupted_runs, run_tags


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _run(instance, run_id: str, tags: dict[str, str], status=DagsterRunStatus.STARTED):
    instance.add_run(
        DagsterRun(job_name="refresh_all_job", run_id=run_id, status=status, tags=tags)
    )
    instance.event_log_storage.claim_concurrency_slot("warehouse", run_id, "raw__prices")


def test_dead_runs_are_failed_and_their_slots_freed(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("warehouse", 4)
        mine = run_tags()
        _run(instance, "dead", {**mine, PID_TAG: str(_dead_pid())})
        _run(instance, "alive", mine)
        _run(instance, "elsewhere", {PID_TAG: str(_dead_pid()), HOST_TAG: "another-host"})
        _run(instance, "ended", mine, status=DagsterRunStatus.FAILURE)
        messages: list[str] = []

        assert recover_interrupted_runs(instance, messages.append) == ["dead"]

        assert instance.get_run_by_id("dead").status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id("alive").status == DagsterRunStatus.STARTED
        assert instance.get_run_by_id("elsewhere").status == DagsterRunStatus.STARTED
        holders = {slot.run_id for slot in storage.get_concurrency_info("warehouse").claimed_slots}
        assert holders == {"alive", "elsewhere"}
        assert messages == ["run dead of refresh_all_job was interrupted; marked failed"]
