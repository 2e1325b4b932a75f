"""dbt run inside the Dagster process, presented to dagster-dbt as the subprocess it expects.

dagster-dbt runs every dbt command as a new ``dbt`` process and reads its JSON log
lines from stdout. A new process costs ~4 s before and after the work at any
scale: ~2 s to import dbt, a manifest load, interpreter teardown. The Dagster
process has imported almost all of dbt already (dagster-dbt does), so here the
same command runs through dbt's programmatic entry point (``dbtRunner``) in a
thread, and its events are handed over as the very JSON lines the CLI would have
printed: dagster-dbt's own parsing turns them into materializations and check
results, and its error handling applies unchanged (``InProcessInvocation``).

One command at a time per process (dbt's global state; the steps that run dbt
hold the warehouse lock anyway). When the command ends, dbt-duckdb's database
handle is closed, so the next step can open the warehouse with its own settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence

from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from connectors.personal import mask_text

# the levels the dbt CLI prints to stdout by default: what dagster-dbt reads
STDOUT_LEVELS = frozenset({"info", "warn", "error"})
_ONE_AT_A_TIME = threading.Lock()


class InProcessDbt:
    """A dbt command running in a thread; the subset of ``subprocess.Popen`` dagster-dbt uses."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]):
        self.args = list(args)  # as the CLI would have been called: [dbt, build, ...]
        self.returncode: int | None = None
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.stdout = _Lines(self._lines)
        # dbt reads its flags' environment variables (DBT_TARGET_PATH, DBT_LOG_FORMAT …)
        # from os.environ when invoked: what dagster-dbt put in the subprocess's environment
        changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
        # stdout stays quiet: the lines reach dagster-dbt through the callback, which
        # re-emits them to stdout itself; dbt.log in the target folder keeps every level
        # (its level follows --log-level unless given)
        cli_args = [*self.args[1:], "--log-level", "none", "--log-level-file", "debug"]
        self._thread = threading.Thread(target=self._run, args=(cli_args, changed), name="dbt", daemon=True)
        self._thread.start()

    def _run(self, cli_args: list[str], env: dict[str, str]) -> None:
        from dbt.cli.main import dbtRunner

        from .parse_state import location_free_profile_hash

        try:
            with _ONE_AT_A_TIME, _environ(env):
                location_free_profile_hash()  # one parse serves every warehouse (parse_state.py)
                try:
                    result = dbtRunner(callbacks=[self._event]).invoke(cli_args)
                finally:
                    _close_duckdb()
            if result.exception is not None:
                self._error(f"dbt raised {type(result.exception).__name__}: {result.exception}")
            self.returncode = 0 if result.success else (2 if result.exception is not None else 1)
        except BaseException as exc:  # noqa: BLE001 - reported as the CLI would: exit code 2
            self._error(f"dbt raised {type(exc).__name__}: {exc}")
            self.returncode = 2
        finally:
            self._lines.put(None)

    def _event(self, msg) -> None:  # noqa: ANN001 - dbt's EventMsg
        if msg.info.level in STDOUT_LEVELS:
            from dbt_common.events.functions import msg_to_json

            msg.info.msg = mask_text(msg.info.msg)  # the line Dagster logs: a database error may quote a value
            self._lines.put(msg_to_json(msg).encode())

    def _error(self, text: str) -> None:
        self._lines.put(json.dumps({"info": {"level": "error", "msg": mask_text(text), "name": "InProcessError"},
                                    "data": {}}).encode())

    def wait(self, timeout: float | None = None) -> int | None:
        self._thread.join(timeout)
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Interrupt: cancel the running queries (dbt then stops, as on the CLI's SIGINT)."""
        with contextlib.suppress(Exception):
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager

            env = DuckDBConnectionManager._ENV
            if env is not None and env.conn is not None:
                env.conn.interrupt()


class _Lines:
    """The command's stdout: JSON log lines as bytes, until the command ends."""

    def __init__(self, lines: queue.SimpleQueue):
        self._queue = lines
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            line = self._queue.get()
            if line is None:
                self.closed = True
                return
            yield line

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc) -> None:
        self.closed = True


class InProcessInvocation(DbtCliInvocation):
    """dagster-dbt's invocation, its command run by ``InProcessDbt`` instead of a subprocess."""

    @classmethod
    def run(cls, args, env, manifest, dagster_dbt_translator, project_dir, target_path, raise_on_error,  # noqa: ANN001, ANN206, PLR0913
            context, adapter, cli_version, dbt_project=None):
        return cls(process=InProcessDbt(args, env), manifest=manifest, project=dbt_project,
                   dagster_dbt_translator=dagster_dbt_translator, project_dir=project_dir, target_path=target_path,
                   raise_on_error=raise_on_error, context=context, adapter=adapter, cli_version=cli_version)


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _close_duckdb() -> None:
    """Close dbt-duckdb's database handle (it stays open after a command otherwise)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
