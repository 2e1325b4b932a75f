"""Dagster's run history in SQLite, written without a disk flush per event.

Dagster's default instance keeps the run history (runs, event logs, asset index)
in SQLite files under DAGSTER_HOME, in WAL mode, and opens a new connection for
every write: each of the ~2,000 writes of a small ``ssj run`` then paid an fsync
at COMMIT, and each close of what was the file's last connection a checkpoint of
the WAL into the database (another fsync and a WAL file deleted and made again).
On the project's 2-core machine that was about a third of a 300-enterprise run.

``fast_history()`` (for the duration of an ``ssj run``; only SQLite files under
DAGSTER_HOME, never a source's database):

* ``PRAGMA synchronous = NORMAL`` on every SQLite connection: in WAL mode a
  commit is then written but not flushed; the database cannot be corrupted, and a
  power cut can lose at most the last events of the run history (never the
  warehouse: DuckDB and the published files are flushed by their own writers);
* one connection per history file held open meanwhile, so no other connection's
  close is the last one and checkpoints happen only as the WAL grows
  (``wal_autocheckpoint``) and once at the end.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


@contextmanager
def fast_history() -> Iterator[None]:
    held: dict[str, sqlite3.Connection] = {}

    home = Path(os.environ["DAGSTER_HOME"]).resolve()

    def on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - SQLAlchemy's signature
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        path = next((row[2] for row in dbapi_connection.execute("pragma database_list") if row[1] == "main"), "")
        if not path or not Path(path).resolve().is_relative_to(home):
            return  # not the run history (an agency's SQLite source, say): left exactly as it is
        dbapi_connection.execute("pragma synchronous = normal")
        if path not in held:
            held[path] = sqlite3.connect(path, check_same_thread=False)

    sa.event.listen(sa.engine.Engine, "connect", on_connect)
    try:
        yield
    finally:
        sa.event.remove(sa.engine.Engine, "connect", on_connect)
        for connection in held.values():
            connection.close()
