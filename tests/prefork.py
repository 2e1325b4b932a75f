"""`ssj` commands for the tests, each in a process of its own, forked from one that has
imported the libraries already.

The end-to-end tests start `ssj` some fifty times. A new interpreter spends ~3.5 s of
CPU importing Dagster, dagster-dbt and dbt before `ssj` does anything — on a 2-core
machine running two test workers, minutes of the suite. So each test worker starts
one server process (``python -m tests.prefork``) that imports those libraries and
nothing of the project, then forks a child per command: the child sets the command's
working folder, environment, standard input and output, runs ``pipelines.cli`` as
``python -m pipelines.cli`` would (imported afresh: nothing of the project was
loaded before the fork), and ends as an interpreter ends — non-daemon threads joined,
``atexit`` functions run, objects finalized, output flushed — with the command's exit code.

What the child does not share with a new interpreter: the interpreter's start-up
settings (hash seed, locale, time zone, ``PYTHON*`` variables) and a standard input of
its own (it reads ``input``, else nothing). A command whose environment sets
``PYTHON*``, ``LANG``, ``LC_*`` or ``TZ`` otherwise than the server's runs in a new
interpreter instead (a test that compares two runs' bytes gives one a hash seed of its
own, so that an order following a set's shows), and so
does every command when ``SSJ_TEST_FRESH_INTERPRETER=1`` (the suite then launches
`ssj` exactly as a user's shell does). The tests that signal a run (kills,
interrupts), the daemon's and the UI's start their own processes as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRELOAD = ("dagster", "dagster_dbt", "dagster_dbt.core.resource", "dbt.cli.main", "dbt.adapters.duckdb",
           "duckdb", "pyarrow", "pyarrow.parquet", "sqlalchemy", "yaml", "jinja2")
"""What the server imports before forking: third-party libraries only (no module of the project)."""
STARTUP_VARIABLES = ("PYTHON", "LANG", "LC_", "TZ")


def ssj(args: list[str], env: dict[str, str] | None = None, input: str | None = None,  # noqa: A002 - subprocess's name
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """``python -m pipelines.cli *args`` with ``env`` (default: this process's), working folder
    the repository's root, output captured as text: what ``subprocess.run`` would return."""
    env = dict(os.environ if env is None else env)
    cmd = [sys.executable, "-m", "pipelines.cli", *args]
    if os.environ.get("SSJ_TEST_FRESH_INTERPRETER") == "1" or _startup(env) != _startup(os.environ) \
            or _startup(env) != _server().startup:
        return subprocess.run(cmd, env=env, input=input, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="ssj-prefork-") as tmp:
        stdin, stdout, stderr = (Path(tmp) / name for name in ("stdin", "stdout", "stderr"))
        stdin.write_text(input or "", encoding="utf-8")
        code = _server().run({"argv": args, "env": env, "cwd": str(ROOT), "stdin": str(stdin),
                              "stdout": str(stdout), "stderr": str(stderr)}, timeout)
        return subprocess.CompletedProcess(cmd, code, _read(stdout), _read(stderr))


def _read(path: Path) -> str:
    # as subprocess.run(text=True) decodes: the locale's encoding, universal newlines
    with open(path, encoding=None, newline=None) as f:
        return f.read()


def _startup(env) -> dict[str, str]:  # noqa: ANN001 - a mapping of environment variables
    """The variables an interpreter reads as it starts (its hash seed, locale, time zone …)."""
    return {k: v for k, v in env.items() if k.startswith(STARTUP_VARIABLES)}


class _Server:
    """The forking server of this test process, and the one command it runs at a time."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
        self.startup = _startup(env)
        self.process = subprocess.Popen([sys.executable, "-m", "tests.prefork"], cwd=ROOT, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1)
        self.lock = threading.Lock()
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the prefork server did not start")

    def run(self, request: dict, timeout: float | None) -> int:
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            pid = int(self.process.stdout.readline())
            if pid <= 1:
                raise RuntimeError(f"the prefork server answered {pid} for a process id")
            killed = threading.Event()
            timer = threading.Timer(timeout, lambda: (killed.set(), os.kill(pid, 9))) if timeout else None
            if timer is not None:
                timer.start()
            try:
                reply = self.process.stdout.readline()
            finally:
                if timer is not None:
                    timer.cancel()
            if not reply:
                raise RuntimeError("the prefork server exited")
            if killed.is_set():
                raise subprocess.TimeoutExpired(request["argv"], timeout)
            return int(reply)


_SERVER: list[_Server] = []


def _server() -> _Server:
    if not _SERVER or _SERVER[0].process.poll() is not None:
        _SERVER[:] = [_Server()]
    return _SERVER[0]


# ------------------------------------------------------------------ the server


def _child(request: dict) -> None:
    """In the forked child: become ``python -m pipelines.cli <argv>``. It ends as that
    interpreter would, by the ``SystemExit`` this raises through ``serve``: threads
    joined, ``atexit`` functions run, objects finalized (a SQLite database closed
    checkpoints its write-ahead log), output flushed, the command's exit code."""
    import runpy
    import traceback

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, (name, mode) in enumerate([("stdin", os.O_RDONLY), ("stdout", os.O_WRONLY), ("stderr", os.O_WRONLY)]):
        opened = os.open(request[name], mode | (os.O_CREAT | os.O_TRUNC if fd else 0), 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, encoding=sys.stdin.encoding, closefd=False)  # noqa: SIM115 - the process's own
    sys.stdout = open(1, "w", encoding=sys.stdout.encoding, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding=sys.stderr.encoding, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.argv = [str(ROOT / "pipelines" / "cli.py"), *request["argv"]]
    sys.path[0] = request["cwd"]
    try:
        runpy.run_module("pipelines.cli", run_name="__main__", alter_sys=True)
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - reported as the interpreter would
        traceback.print_exc()
        raise SystemExit(1) from None
    raise SystemExit(0)


def serve() -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)  # never returns: the child's SystemExit ends its interpreter
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)


if __name__ == "__main__":
    serve()
