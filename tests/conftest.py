"""Fixtures every test file may use.

Tests marked ``db`` need the PostgreSQL and MariaDB servers on 127.0.0.1.
Where a server is not reachable those tests are skipped, each saying which server
and how to start it — unless ``SSJ_REQUIRE_DB=1`` (set by .ci/run), where a missing
server fails the run instead of hiding the tests that need it.

``built_sample``: one generated sample built once per test session, shared by the
scenario tests that start from a built warehouse.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
from datetime import date
from functools import cache
from pathlib import Path

import pytest

SERVERS = {"PostgreSQL": ("127.0.0.1", 5432), "MariaDB": ("127.0.0.1", 3306)}


@cache
def unreachable() -> tuple[str, ...]:
    down = []
    for name, address in SERVERS.items():
        try:
            socket.create_connection(address, timeout=2).close()
        except OSError:
            down.append(f"{name} on {address[0]}:{address[1]}")
    return tuple(down)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("db") is None or not unreachable():
        return
    message = (f"needs {' and '.join(unreachable())} (start the server, or see .ci/run for how CI starts it)")
    if os.environ.get("SSJ_REQUIRE_DB") == "1":
        pytest.fail(f"SSJ_REQUIRE_DB=1 but the test {message}", pytrace=False)
    pytest.skip(message)


BUILT_SAMPLE_AS_OF = "2026-11-26"


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory) -> tuple[Path, Path]:
    """``ssj generate`` of 300 enterprises (seed 5, as of 2026-11-26) and its warehouse after one
    ``ssj run`` from empty (as of the same day): (the generated folder, the warehouse).

    Built once per test session by whichever test worker asks first; the others wait for it
    and reuse it. Read-only: a test that drops files or runs again works on a copy
    (``tests.support.copy_built_sample``)."""
    from pipelines.generate import generate
    from tests.support import run_ssj

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' common folder
    root = shared / "built-sample"
    with open(shared / "built-sample.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)
            generate(300, root / "gen", 5, as_of=date.fromisoformat(BUILT_SAMPLE_AS_OF))
            proc = run_ssj(root / "gen" / "landing", root / "warehouse", root / "gen" / "agencies.yaml",
                           as_of=BUILT_SAMPLE_AS_OF)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
            assert "build: full" in proc.stderr, proc.stderr[-3000:]
            (root / "built").touch()
    return root / "gen", root / "warehouse"

