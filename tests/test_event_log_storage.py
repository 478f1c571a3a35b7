"""The instance of dagster_home/dagster.yaml keeps its event log on open SQLite connections
(orchestration/instance.py): what Dagster and the UI read from it must not change.

Real instances on real files: one instance writes, a second one (as the UI's process
would) reads and follows the run's log.
"""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance
from dagster._core.events.log import EventLogEntry

from ingestion.paths import PROJECT_ROOT
from orchestration.instance import OpenSqliteEventLogStorage, WarehouseDagsterInstance

RUN_ID = "6f1d2c3b-0000-4000-8000-00000000c0de"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", tmp_path)
    return tmp_path


def _messages(instance: DagsterInstance) -> list[str]:
    records = instance.get_records_for_run(RUN_ID).records
    return [record.event_log_entry.dagster_event.message for record in records]


def test_the_project_instance_stores_its_event_log_where_dagster_does(home: Path) -> None:
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance, WarehouseDagsterInstance)
        storage = instance.event_log_storage
        assert isinstance(storage, OpenSqliteEventLogStorage)
        for number in range(3):
            instance.report_engine_event(f"event {number}", run_id=RUN_ID, job_name="job")
        instance.report_runless_asset_event(AssetMaterialization(AssetKey(["raw", "prices"])))
        # the folders of Dagster's default storage: a home made before keeps its history
        assert (home / "history" / "runs" / f"{RUN_ID}.db").exists()
        assert (home / "history" / "runs" / "index.db").exists()
        assert (home / "history" / "runs.db").exists()
        with DagsterInstance.from_config(str(home)) as reader:
            assert _messages(reader) == ["event 0", "event 1", "event 2"]
            latest = reader.get_latest_materialization_event(AssetKey(["raw", "prices"]))
            assert latest is not None
            assert latest.dagster_event.asset_key == AssetKey(["raw", "prices"])


WRITER = """
import sys
from dagster import DagsterInstance
with DagsterInstance.from_config(sys.argv[1]) as writer:
    for number in range(3):
        writer.report_engine_event(f"live {number}", run_id=sys.argv[2], job_name="job")
"""


def test_a_second_instance_following_a_run_is_told_of_each_new_event(home: Path) -> None:
    """The UI follows a running job through a file watch on the run's `.db` file; with the
    connection kept open, a commit changes only the `-wal` file unless the storage says so.
    The writer is another process, as a run's is."""
    told: list[EventLogEntry] = []
    last = threading.Event()

    def follow(entry: EventLogEntry, _cursor: str) -> None:
        told.append(entry)
        if entry.dagster_event.message == "live 2":
            last.set()

    with DagsterInstance.from_config(str(home)) as ui:
        ui.report_engine_event("before the watch", run_id=RUN_ID, job_name="job")
        ui.watch_event_logs(RUN_ID, None, follow)
        try:
            subprocess.run(
                [sys.executable, "-c", WRITER, str(home), RUN_ID], check=True, timeout=120
            )
            # the safety net only: the watch answers within milliseconds of each commit
            assert last.wait(60), f"the watcher was told of {len(told)} of 4 events"
        finally:
            ui.end_watch_event_logs(RUN_ID, follow)
    assert [entry.dagster_event.message for entry in told] == [
        "before the watch",
        "live 0",
        "live 1",
        "live 2",
    ]


def test_wipe_and_dispose_close_the_open_connections(home: Path) -> None:
    with DagsterInstance.from_config(str(home)) as instance:
        instance.report_engine_event("kept until the wipe", run_id=RUN_ID, job_name="job")
        instance.wipe()
        assert _messages(instance) == []
        instance.report_engine_event("after the wipe", run_id=RUN_ID, job_name="job")
        assert _messages(instance) == ["after the wipe"]
    # closing the last connection checkpoints the WAL into the file and removes it
    assert not list((home / "history" / "runs").glob("*-wal"))
    with DagsterInstance.from_config(str(home)) as reader:
        assert _messages(reader) == ["after the wipe"]


def test_a_forked_process_opens_its_own_connections(home: Path) -> None:
    with DagsterInstance.from_config(str(home)) as instance:
        instance.report_engine_event("parent before", run_id=RUN_ID, job_name="job")
        storage = instance.event_log_storage
        assert isinstance(storage, OpenSqliteEventLogStorage)
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit code
            try:
                # nothing of the parent's: its connections were closed before the fork
                if storage._engines:
                    os._exit(2)
                instance.report_engine_event("child", run_id=RUN_ID, job_name="job")
            except BaseException:
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        instance.report_engine_event("parent after", run_id=RUN_ID, job_name="job")
        assert _messages(instance) == ["parent before", "child", "parent after"]


def test_the_index_tables_are_looked_up_once_while_connected(home: Path) -> None:
    """Dagster asks whether the tags table exists before storing each asset event's tags;
    a table found is remembered until the connections close, a missing one is not, and the
    tags are stored as before."""
    key = AssetKey(["raw", "prices"])
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, OpenSqliteEventLogStorage)
        for version in ("v1", "v2"):
            instance.report_runless_asset_event(
                AssetMaterialization(key, tags={"dagster/data_version": version})
            )
        assert storage._tables_present == {"asset_event_tags"}
        assert not storage.has_table("no_such_table")
        assert storage._tables_present == {"asset_event_tags"}
        tags = storage.get_event_tags_for_asset(key)
        assert sorted(t["dagster/data_version"] for t in tags) == ["v1", "v2"]
        storage.close_connections()
        assert storage._tables_present == set()
        instance.wipe()
        instance.report_runless_asset_event(
            AssetMaterialization(key, tags={"dagster/data_version": "v3"})
        )
        tags = storage.get_event_tags_for_asset(key)
        assert [t["dagster/data_version"] for t in tags] == ["v3"]
