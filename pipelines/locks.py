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


@contextmanager
def warehouse_lock(warehouse: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold ``<warehouse>/.writer.lock`` exclusively; wait for it (up to ``timeout`` seconds)."""
    warehouse = Path(warehouse)
    warehouse.mkdir(parents=True, exist_ok=True)
    fd = os.open(warehouse / ".writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"another run holds {warehouse / '.writer.lock'}") from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # releases the lock
