"""Dagster's run history in SQLite, with its connections kept open.

Dagster's default instance keeps the run history (runs, event logs, the asset
index) in SQLite files under DAGSTER_HOME and, for every write, makes a new
SQLAlchemy engine, opens a connection, commits, closes it and throws the engine
away. A small ``ssj run`` stores ~1,100 events (each dbt model and test is a
materialization or a check, planned and then evaluated), and that connection
churn — connect, configure, close, the WAL checkpoint a last close triggers —
was about a third of the run on the project's 2-core machine.

The two storages here are Dagster's own SQLite storages (same files, same
schema, same layout under DAGSTER_HOME, so `dagster-webserver`, the daemon and
an older warehouse's history read them unchanged), except that each history
file has one engine per process whose connections stay open in its pool:

* every connection is made with ``PRAGMA synchronous = NORMAL``: in WAL mode a
  commit is written but not flushed; the file cannot be corrupted, and a power
  cut can lose at most the last events of the run history — never the
  warehouse, whose DuckDB file and published files are flushed by their own
  writers;
* several processes (``ssj run``, the webserver, the daemon) may hold their
  connections at once, as SQLite's WAL mode allows;
* a process forked from one holding connections drops the inherited engines
  without closing them (the parent still uses those file handles);
* the webserver's live view of a run (Dagster's file watcher) is woken by the
  run's write-ahead log (``<run>.db-wal``) as well as by ``<run>.db``: with
  connections kept open, a commit reaches ``.db`` only at a checkpoint;
* whether the asset index has a table (Dagster asks before storing each asset or
  check event, each time through an engine of its own) is asked once per table
  and process: a table Dagster's migrations added stays.

``dagster.yaml`` names them (``pipelines/cli.py`` writes it); relative
``base_dir`` values are taken under DAGSTER_HOME, so a warehouse folder can be
moved with its history.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from watchdog.observers import Observer
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

BUSY_TIMEOUT_SECONDS = 30
"""How long a write waits for another process's (Dagster's own SQLite storages wait as long)."""

OPEN_FILES = 8
"""History files a process keeps engines for: the asset index, the runs file and the
event logs of the runs it is writing or reading; the least recently used is closed."""


class _Engines:
    def __init__(self) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> sa.Engine:
        with self._lock:
            engine = self._engines.pop(url, None)
            if engine is None:
                engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS,
                                                             "check_same_thread": False})
                sa.event.listen(engine, "connect", _configure)
            self._engines[url] = engine
            while len(self._engines) > OPEN_FILES:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    def forget(self) -> None:
        """In a forked child: the parent's connections are not ours to use or to close."""
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines.clear()
        self._lock = threading.Lock()


def _configure(dbapi_connection, _record) -> None:  # noqa: ANN001 - SQLAlchemy's signature
    dbapi_connection.execute("pragma synchronous = normal")


ENGINES = _Engines()
os.register_at_fork(after_in_child=ENGINES.forget)


def _under_home(base_dir: str) -> str:
    path = Path(base_dir)
    if not path.is_absolute():
        if not os.environ.get("DAGSTER_HOME"):
            raise ValueError(f"the run history's base_dir {base_dir!r} is relative to DAGSTER_HOME, which is not set")
        path = Path(os.environ["DAGSTER_HOME"]) / path
    return str(path.resolve())


class _RunLogWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of one run's event log, woken by its write-ahead log too."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Dagster's signature
        super().__init__(*args, **kwargs)
        self._patterns = [self._log_path, self._log_path + "-wal"]  # watchdog's PatternMatchingEventHandler

    def on_modified(self, event) -> None:  # noqa: ANN001 - watchdog's signature
        self._process_log()


class HistoryEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (one file per run plus the asset index), connections kept open."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # noqa: ANN001, ANN206 - Dagster's signature
        return cls(inst_data=inst_data, base_dir=_under_home(config_value["base_dir"]))

    def watch(self, run_id: str, cursor: str | None, callback) -> None:  # noqa: ANN001 - Dagster's signature
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _RunLogWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def __init__(self, base_dir: str, inst_data=None) -> None:  # noqa: ANN001 - Dagster's signature
        super().__init__(base_dir, inst_data=inst_data)
        self._tables_present: set[str] = set()

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables_present:
            with ENGINES.get(self.conn_string_for_shard(INDEX_SHARD_NAME)).connect() as conn:
                if not conn.dialect.has_table(conn, table_name):
                    return False
            self._tables_present.add(table_name)
        return True

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = ENGINES.get(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn


class HistoryRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage (``runs.db``), connections kept open."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # noqa: ANN001, ANN206 - Dagster's signature
        return cls.from_local(inst_data=inst_data, base_dir=_under_home(config_value["base_dir"]))

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        with ENGINES.get(self._conn_string).connect() as conn, conn.begin():
            yield conn
