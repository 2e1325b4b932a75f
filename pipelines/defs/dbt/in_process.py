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

dbt's own JSON artefacts of a command that runs nodes are off (``--no-write-json``:
``manifest.json``, written twice per command, was a tenth of a small run's CPU
time, and nothing reads a step's copy); its ``run_results.json`` is written here,
masked. dbt's own file log is off too: it writes every event as dbt made it (a database
error may quote a value) and, at its debug level, it was a fifth of a small
run's CPU time. ``dbt.log`` in the log folder (``DBT_LOG_PATH``, the step's target
folder) is written here instead, each event masked as the stdout lines are, at
``SSJ_DBT_LOG_LEVEL`` and above (``info`` by default; ``debug`` adds every SQL
statement, as ``ssj run -v`` asks; ``none`` writes no file). The ``dbt.log`` files dbt
itself wrote there before (and rotated to ``dbt.log.1`` … ``.5``) are masked once, the first
time a command runs with that log folder (``OLD_LOGS_MASKED`` marks it done).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from connectors.personal import mask_any, mask_text

# the levels the dbt CLI prints to stdout by default: what dagster-dbt reads
STDOUT_LEVELS = frozenset({"info", "warn", "error"})
LOG_LEVELS = ("debug", "info", "warn", "error", "none")
"""SSJ_DBT_LOG_LEVEL's values, from the most to the least said."""
NODE_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot"})
"""The commands whose run_results.json is written here (the others keep dbt's own artefacts)."""
LOG_BYTES = 10 * 1024 * 1024
"""dbt.log grows run after run up to this size, then becomes dbt.log.1 (the one before is dropped)."""
OLD_LOGS_MASKED = ".dbt_log_masked"
"""In a log folder: the dbt.log files dbt wrote itself (unmasked) have been masked."""
_ONE_AT_A_TIME = threading.Lock()


def log_level(env: Mapping[str, str] = os.environ) -> str:
    """The level of the dbt.log lines (SSJ_DBT_LOG_LEVEL, default info); raises on another value."""
    level = env.get("SSJ_DBT_LOG_LEVEL", "info").strip().lower() or "info"
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


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
        # re-emits them to stdout itself; dbt.log is written by the callback too, masked
        cli_args = [*self.args[1:], "--log-level", "none", "--log-level-file", "none"]
        self._writes_results = len(self.args) > 1 and self.args[1] in NODE_COMMANDS
        if self._writes_results:
            cli_args.append("--no-write-json")
        level = log_level({**os.environ, **env})
        self._file_levels = frozenset(LOG_LEVELS[LOG_LEVELS.index(level):-1])
        target = env.get("DBT_TARGET_PATH") or os.environ.get("DBT_TARGET_PATH")
        self._run_results = Path(target) / "run_results.json" if target else None
        folder = env.get("DBT_LOG_PATH") or os.environ.get("DBT_LOG_PATH")
        self._log_folder = Path(folder) if folder else None
        self._log_path = Path(folder) / "dbt.log" if folder and self._file_levels else None
        self._log_lock = threading.Lock()
        self._log = None
        self._thread = threading.Thread(target=self._run, args=(cli_args, changed), name="dbt", daemon=True)
        self._thread.start()

    def _run(self, cli_args: list[str], env: dict[str, str]) -> None:
        from dbt.cli.main import dbtRunner

        from .parse_state import location_free_profile_hash

        try:
            self._open_log()
            with _ONE_AT_A_TIME, _environ(env):
                location_free_profile_hash()  # one parse serves every warehouse (parse_state.py)
                try:
                    result = dbtRunner(callbacks=[self._event]).invoke(cli_args)
                finally:
                    _close_duckdb()
                if self._writes_results and self._run_results is not None and hasattr(result.result, "write"):
                    _write_run_results(result.result, self._run_results)
            if result.exception is not None:
                self._error(f"dbt raised {type(result.exception).__name__}: {result.exception}")
            self.returncode = 0 if result.success else (2 if result.exception is not None else 1)
        except BaseException as exc:  # noqa: BLE001 - reported as the CLI would: exit code 2
            self._error(f"dbt raised {type(exc).__name__}: {exc}")
            self.returncode = 2
        finally:
            try:
                self._close_log()
                if not self._writes_results:  # a node command's were written masked above
                    _mask_file(self._run_results)
            except BaseException as exc:  # noqa: BLE001 - unmasked results are a failed command
                self._error(f"run_results.json not masked: {type(exc).__name__}: {exc}")
                self.returncode = 2
            finally:
                self._lines.put(None)  # the reader never waits for a command that has ended

    def _open_log(self) -> None:
        if self._log_folder is not None:
            _mask_old_logs(self._log_folder)
        if self._log_path is None:
            return
        with contextlib.suppress(OSError):  # a log that cannot be written does not stop dbt
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            if self._log_path.exists() and self._log_path.stat().st_size > LOG_BYTES:
                self._log_path.replace(self._log_path.with_name(self._log_path.name + ".1"))
            self._log = open(self._log_path, "a", encoding="utf-8")  # noqa: SIM115 - _close_log closes it

    def _close_log(self) -> None:
        with self._log_lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def _write(self, line: str) -> None:
        with self._log_lock:
            if self._log is not None:
                self._log.write(line + "\n")

    def _event(self, msg) -> None:  # noqa: ANN001 - dbt's EventMsg
        level = msg.info.level
        if level not in STDOUT_LEVELS and level not in self._file_levels:
            return
        from dbt_common.events.functions import msg_to_json

        # every string of the event masked (a database error may quote a value, in the
        # message and in the event's data): what Dagster logs and what dbt.log keeps; and
        # dbt's secrets (DBT_ENV_SECRET_*) scrubbed, as dbt's own loggers do
        line = _scrubbed(json.dumps(mask_any(json.loads(msg_to_json(msg))), ensure_ascii=False))
        if level in STDOUT_LEVELS:
            self._lines.put(line.encode())
        if level in self._file_levels:
            self._write(line)

    def _error(self, text: str) -> None:
        line = _scrubbed(json.dumps({"info": {"level": "error", "msg": mask_text(text), "name": "InProcessError"},
                                     "data": {}}))
        self._lines.put(line.encode())
        self._write(line)

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


def _scrubbed(line: str) -> str:
    """A JSON line with the values of DBT_ENV_SECRET_* starred (dbt's loggers scrub so; its callbacks get events as made)."""
    from dbt_common.exceptions.base import env_secrets, scrub_secrets

    secrets = env_secrets()
    if not secrets:
        return line
    return scrub_secrets(line, [*secrets, *(json.dumps(v, ensure_ascii=False)[1:-1] for v in secrets)])


def _write_run_results(result, path: Path) -> None:  # noqa: ANN001 - dbt's RunExecutionResult
    """``run_results.json`` of a command run with --no-write-json: what dbt's ``RunExecutionResult.write``
    writes, masked before anything is written (a process killed mid-way leaves nothing unmasked), whole."""
    from dbt.artifacts.schemas.run import RunResultsArtifact
    from dbt_common.utils.encoding import JSONEncoder

    artifact = RunResultsArtifact.from_execution_results(
        results=result.results, elapsed_time=result.elapsed_time, generated_at=result.generated_at, args=result.args)
    data = mask_any(json.loads(json.dumps(artifact.to_dict(omit_none=False), cls=JSONEncoder)))
    temporary = path.with_name(path.name + ".writing")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)


def _mask_old_logs(folder: Path) -> None:
    """Mask, once per log folder, the ``dbt.log`` files dbt wrote itself before this module did
    (every event as dbt made it): JSON lines string by string (an ``\\uXXXX`` escape may spell
    a digit), other lines as free text."""
    mark = folder / OLD_LOGS_MASKED
    with contextlib.suppress(OSError):  # tried again by the next command
        if mark.exists():
            return
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.glob("dbt.log*")):
            temporary = path.with_name(path.name + ".masking")
            if path.name.endswith(".masking") or not path.is_file():
                continue
            lines = []
            for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
                try:
                    lines.append(json.dumps(mask_any(json.loads(line)), ensure_ascii=False))
                except ValueError:
                    lines.append(mask_text(line))
            temporary.write_text("\n".join(lines), encoding="utf-8")
            temporary.replace(path)
        mark.touch()


def _mask_file(path: Path | None) -> None:
    """Rewrite a JSON artefact of dbt's (``run_results.json``: a failed node's message may quote a
    value) with every string masked, before anything reads it; unchanged when nothing is masked."""
    if path is None or not path.is_file():
        return
    written = json.loads(path.read_text(encoding="utf-8"))
    masked = mask_any(written)
    if masked != written:
        temporary = path.with_name(path.name + ".masking")
        temporary.write_text(json.dumps(masked, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)


def _close_duckdb() -> None:
    """Close dbt-duckdb's database handle (it stays open after a command otherwise)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
