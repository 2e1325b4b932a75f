"""The single-writer rule for the DuckDB warehouse, enforced with an OS file lock.

DuckDB allows one writing process per database file, and a read-only opener
fails while another process writes. Every step that opens the warehouse holds
this lock, so overlapping runs queue instead of failing.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


_held: dict[Path, int] = {}  # lock file -> how many nested holders in this process


@contextmanager
def warehouse_lock(warehouse: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold ``<warehouse>/.writer.lock`` exclusively; wait for it (up to ``timeout`` seconds).

    Re-entrant within a process: `ssj run` holds it for the whole run, and the
    steps it executes in the same process take it again without waiting on
    themselves. The OS releases it when the process dies, however it dies.
    """
    warehouse = Path(warehouse)
    warehouse.mkdir(parents=True, exist_ok=True)
    path = (warehouse / ".writer.lock").resolve()
    if _held.get(path):
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"another run holds {path}") from None
                time.sleep(0.2)
        _held[path] = 1
        try:
            yield
        finally:
            _held.pop(path, None)
    finally:
        os.close(fd)  # releases the lock
