"""The Dagster instance of this project (dagster.yaml's `instance_class`): Dagster's own
SQLite storage, with the event log kept on open connections.

Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine for every event it stores
and closes its connection afterwards. The files are in WAL mode, so closing the last
connection checkpoints the WAL into the database and deletes it: 12-16 ms per event here,
about 1.5 ms on a connection that stays open. A nightly refresh stores some 700 events
(each dbt test is three), most of them while dbt waits for its output to be read.

Two things depended on the close, and keep working:
- the UI follows a running job's log by watching the run's `.db` file change, which now
  happens only at checkpoints: the watcher here also follows the `-wal` file, where
  every commit lands;
- `wipe` deletes the shard files: the open connections are closed first.
"""

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.base import EventHandlerFn
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from watchdog.events import FileSystemEvent

OPEN_SHARDS = 8
"""Engines kept open at once: the index and the few runs a process writes or follows."""


class _RunLogWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of one run's log, told of commits to the WAL file as well."""

    def __init__(
        self,
        event_log_storage: SqliteEventLogStorage,
        run_id: str,
        callback: EventHandlerFn,
        cursor: str | None,
    ) -> None:
        super().__init__(event_log_storage, run_id, callback, cursor)
        self._patterns = [self._log_path, self._log_path + "-wal"]

    def on_modified(self, event: FileSystemEvent) -> None:
        if event.src_path in self._patterns:
            self._process_log()


class OpenSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, storing each event on a connection kept open per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "OpenSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():
            # a forked child must not share its parent's SQLite connections
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            pool_size=1,
            max_overflow=2,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def _close_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def watch(self, run_id: str, cursor: str | None, callback: EventHandlerFn) -> None:
        super().watch(run_id, cursor, callback)
        # Dagster's watchdog follows the .db file only: swap in one that follows the WAL too.
        default, watch = self._watchers[run_id][callback]
        assert self._obs is not None
        self._obs.remove_handler_for_watch(default, watch)
        watchdog = _RunLogWatchdog(self, run_id, callback, cursor)
        self._obs.add_handler_for_watch(watchdog, watch)
        self._watchers[run_id][callback] = (watchdog, watch)

    def wipe(self) -> None:
        self._close_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_engines()


class OpenSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage under DAGSTER_HOME, with the event log above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = OpenSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "OpenSqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)


class WarehouseDagsterInstance(DagsterInstance):
    """A DagsterInstance whose default storage is `OpenSqliteStorage` in the same folders
    Dagster's default uses; a `storage` key in dagster.yaml still overrides it."""

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        return {
            **InstanceRef.config_defaults(base_dir),
            "storage": ConfigurableClassData(
                __name__, OpenSqliteStorage.__name__, yaml.dump({"base_dir": base_dir})
            ),
        }
