"""Tests marked ``db`` need the PostgreSQL and MariaDB servers on 127.0.0.1.

Where a server is not reachable those tests are skipped, each saying which server
and how to start it — unless ``SSJ_REQUIRE_DB=1`` (set by .ci/run), where a missing
server fails the run instead of hiding the tests that need it.
"""

from __future__ import annotations

import os
import socket
from functools import cache

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
