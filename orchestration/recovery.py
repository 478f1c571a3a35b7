"""Runs left behind by a killed process, found and closed so the next run is not blocked.

A run whose process is killed (SIGKILL, out of memory, a power cut) never records its end:
it stays STARTED and keeps its slot in the `warehouse` pool, so every later step waiting
for that pool would wait for ever. Runs started by `python -m orchestration.run` carry the
host and process id that run them; before a new run starts, each such run whose process no
longer exists is marked failed and its pool slots are given back. Slots still held by runs
that have ended (failed, canceled or marked failed in the UI) are given back too.
"""

import os
import socket
from collections.abc import Callable

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from orchestration.processes import process_exists

PID_TAG = "warehouse/pid"
HOST_TAG = "warehouse/host"
UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def run_tags() -> dict[str, str]:
    """Tags naming the process that executes a run started from this process."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def recover_interrupted_runs(
    instance: DagsterInstance, log: Callable[[str], None] = print
) -> list[str]:
    """Mark this host's runs whose process is gone as failed and free their pool slots;
    returns the ids of the runs marked failed."""
    host = socket.gethostname()
    recovered = []
    for record in instance.get_run_records(RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        pid_text = run.tags.get(PID_TAG, "")
        if run.tags.get(HOST_TAG) != host or not pid_text.isdecimal():
            continue
        if process_exists(int(pid_text)):
            continue
        instance.report_run_failed(
            run, f"the process running it (pid {pid_text}) ended without finishing the run"
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
        log(f"run {run.run_id[:8]} of {run.job_name} was interrupted; marked failed")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            run = instance.get_run_by_id(run_id)
            if run is None or run.status in FINISHED:
                storage.free_concurrency_slots_for_run(run_id)
    return recovered
