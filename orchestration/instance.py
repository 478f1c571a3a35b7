"""The Dagster instance of this project (dagster.yaml's `instance_class`): Dagster's own
SQLite storage, with the event log kept on open connections.

Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine for every event it stores
and closes its connection afterwards. The files are in WAL mode, so closing the last
connection checkpoints the WAL into the database and deletes it: 12-16 ms per event here,
about 1.5 ms on a connection that stays open. A nightly refresh stores some 700 events
(each dbt test is three), most of them while dbt waits for its output to be read.

What depended on the close keeps working:
- the UI follows a running job's log by watching the run's `.db` file change, which with
  an open connection happens only at checkpoints: after each commit the file's times are
  touched, which the watch sees once the commit is readable;
- `wipe` deletes the shard files: the connections are closed first, under the lock that
  every use of a connection takes;
- a forked process must not use its parent's SQLite connections: they are closed before
  a fork, and a child that finds engines of another process drops them.
"""

import contextlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml
from dagster import DagsterInstance
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

OPEN_SHARDS = 8
"""Engines kept open at once: the index and the few runs a process writes or follows."""

_storages: "weakref.WeakSet[OpenSqliteEventLogStorage]" = weakref.WeakSet()


def _close_before_fork() -> None:
    for storage in list(_storages):
        storage.close_connections()


os.register_at_fork(before=_close_before_fork)


class OpenSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, storing each event on a connection kept open per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables_present: set[str] = set()
        super().__init__(base_dir, inst_data)
        # Reentrant, so that `wipe` can hold it while Dagster's wipe connects again.
        self._db_lock = threading.RLock()
        _storages.add(self)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "OpenSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():
            # started by a fork that bypassed the handler: forget the parent's connections
            self._engines = OrderedDict()
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

    def close_connections(self) -> None:
        """Close every open connection; the next use opens them again."""
        with self._db_lock:
            self._tables_present.clear()
            if self._engines_pid == os.getpid():
                for engine in self._engines.values():
                    engine.dispose()
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()

    def has_table(self, table_name: str) -> bool:
        # Dagster asks before storing the tags of each asset event, through a new engine
        # each time. Its tables are added by migrations, never dropped (a wipe deletes
        # rows), so one found is remembered; forgotten with the connections, to be safe.
        if table_name in self._tables_present:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables_present.add(table_name)
        return present

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(event)
        # The commit went to the -wal file, and the watch of the UI follows the .db file:
        # touching it now, with the commit readable, tells the watch (Dagster's close did).
        with contextlib.suppress(OSError):  # no run shard (a runless event): none to follow
            os.utime(self.path_for_shard(event.run_id))

    def wipe(self) -> None:
        with self._db_lock:
            self.close_connections()
            super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self.close_connections()


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
