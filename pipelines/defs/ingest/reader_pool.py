"""Read landing files in worker processes, so a file that kills its reader costs only itself.

A native reader (calamine, pyarrow) can abort the process or exhaust memory on
hostile input; no exception handler can catch that. ``ReaderPool`` keeps a few
spawned worker processes, each with an address-space limit
(``SSJ_READER_MEMORY``), and hands each one file at a time over its own pipe
(the file's descriptor travels with it). The parent waits on the pipes and the
process sentinels together with the file's deadline (``SSJ_READ_TIMEOUT``), so
it always knows which file a worker held when it died or ran out of time: that
file becomes a ``Failed`` result and a fresh worker takes the files left.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path
from typing import Any

MIN_MEMORY = 2 << 30
"""The smallest default memory limit of a reader worker (SSJ_READER_MEMORY may set less)."""
DEFAULT_READ_TIMEOUT = 1800.0
"""Seconds one file may take to read (SSJ_READ_TIMEOUT): far beyond any real file (10M rows: ~1 min)."""
STDERR_TAIL = 8192
_OUT_OF_MEMORY = (b"memory allocation of", b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}


@dataclass(frozen=True)
class Failed:
    """A file its worker could not read: the worker died, ran out of memory or of time."""

    code: str  # reader_died | too_large | read_timeout | unreadable
    message: str


class ReaderStartError(RuntimeError):
    """A worker process died before it could take a file (a memory limit too low to start Python?)."""


def parse_bytes(text: str) -> int:
    """``"2GiB"``, ``"1500M"``, ``"3g"``, ``"123456"`` as a number of bytes (binary units)."""
    value = text.strip().lower().replace(" ", "")
    number = value.rstrip("kmgtib")
    unit = value[len(number):]
    if unit not in _UNITS or not number:
        raise ValueError(f"not a size: {text!r} (e.g. 4GiB, 1500MiB)")
    return int(float(number) * _UNITS[unit])


def format_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _available_memory() -> int:
    """Physical memory, or the cgroup's limit when it is lower (a container)."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return physical
    return min(physical, int(limit)) if limit.isdigit() else physical


def memory_limit(workers: int) -> int:
    """Address space a reader worker may use: SSJ_READER_MEMORY, else the machine's memory shared
    between the workers and the parent (never below MIN_MEMORY)."""
    value = os.environ.get("SSJ_READER_MEMORY")
    if value:
        return parse_bytes(value)
    return max(MIN_MEMORY, _available_memory() // (max(1, workers) + 1))


def read_timeout() -> float:
    value = os.environ.get("SSJ_READ_TIMEOUT")
    return float(value) if value else DEFAULT_READ_TIMEOUT


# --------------------------------------------------------------------------- the worker process


def _serve(conn: Connection, job_ref: str, memory: int, stderr_path: str) -> None:
    """A worker's life: limit memory, load the job, then read one file per message until told to stop."""
    _redirect_stderr(stderr_path)
    _limit_memory(memory)
    module, _, name = job_ref.partition(":")
    job = getattr(importlib.import_module(module), name)
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        payload, has_fd = message
        fd = recv_handle(conn) if has_fd else None
        _clear_stderr()
        try:
            reply = ("done", job(payload, fd))
        except MemoryError:
            reply = ("failed", Failed("too_large", f"reading it needs more memory than the reader's limit of "
                                                   f"{format_bytes(memory)} (SSJ_READER_MEMORY)"))
        except Exception as exc:  # noqa: BLE001 - reported as this file's failure, the worker goes on
            reply = ("failed", Failed("unreadable", f"the reader failed unexpectedly ({describe_exception(exc)})"))
        finally:
            if fd is not None:
                os.close(fd)
        conn.send(reply)


def describe_exception(exc: BaseException) -> str:
    """An exception's type and where it was raised — never its message, which may quote the data."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def _redirect_stderr(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)


def _clear_stderr() -> None:
    sys.stderr.flush()
    os.ftruncate(2, 0)
    os.lseek(2, 0, os.SEEK_SET)


def _limit_memory(memory: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


# --------------------------------------------------------------------------- the parent's side


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    stderr: Path
    ready: bool = False
    task: int | None = None  # index of the file it is reading
    deadline: float = float("inf")


class ReaderPool:
    """``workers`` processes running ``job(payload, fd)`` one file at a time.

    ``job`` must be a module-level function; each worker imports its module after
    setting its memory limit. Use as a context manager: the workers are started
    on first use and live until the ``with`` block ends.
    """

    def __init__(self, job: Callable[[Any, int | None], Any], workers: int, *,
                 memory: int | None = None, timeout: float | None = None):
        self.job_ref = f"{job.__module__}:{job.__qualname__}"
        self.size = max(1, workers)
        self.memory = memory if memory is not None else memory_limit(self.size)
        self.timeout = timeout if timeout is not None else read_timeout()
        self._context = multiprocessing.get_context("spawn")  # not forked: the parent holds DuckDB and Dagster threads
        self._tmp = tempfile.TemporaryDirectory(prefix="ssj-readers-")
        self._workers: list[_Worker] = []
        self._started = 0

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def map(self, tasks: Iterable[tuple[Any, int | None]]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, result)`` for every ``(payload, fd)`` of ``tasks`` as each finishes;
        the result is what ``job`` returned, or a ``Failed``. The pool owns (and closes) each fd."""
        pending = deque(enumerate(tasks))
        try:
            while len(self._workers) < min(self.size, len(pending)):
                self._start_worker()
            while pending or any(w.task is not None for w in self._workers):
                for worker in self._workers:
                    if pending and worker.ready and worker.task is None:
                        self._assign(worker, *pending.popleft())
                yield from self._collect(self._wait())
                while pending and len(self._workers) < min(self.size, len(pending)):
                    self._start_worker()
        finally:
            for _index, (_payload, fd) in pending:
                if fd is not None:
                    os.close(fd)

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers.clear()
        self._tmp.cleanup()

    # -- internals

    def _start_worker(self) -> None:
        self._started += 1
        stderr = Path(self._tmp.name) / f"worker-{self._started}.stderr"
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_serve, args=(child_end, self.job_ref, self.memory, str(stderr)),
            name=f"ssj-reader-{self._started}", daemon=True,
        )
        process.start()
        child_end.close()
        self._workers.append(_Worker(process, parent_end, stderr))

    def _assign(self, worker: _Worker, index: int, task: tuple[Any, int | None]) -> None:
        payload, fd = task
        worker.task, worker.deadline = index, time.monotonic() + self.timeout
        try:
            worker.conn.send((payload, fd is not None))
            if fd is not None:
                send_handle(worker.conn, fd, worker.process.pid)
        except OSError:
            pass  # the worker is dead: its sentinel says so, and the file is reported as its failure
        finally:
            if fd is not None:
                os.close(fd)

    def _wait(self) -> list:
        deadline = min((w.deadline for w in self._workers if w.task is not None), default=float("inf"))
        timeout = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
        handles = [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
        return wait(handles, timeout=timeout)

    def _collect(self, ready: list) -> Iterator[tuple[int, Any]]:
        for worker in list(self._workers):
            if worker.conn in ready or worker.process.sentinel in ready:
                yield from self._receive(worker)  # what it sent before it ended, too
            if worker.process.sentinel in ready or worker.conn.closed:
                yield from self._bury(worker)
            elif worker.task is not None and time.monotonic() >= worker.deadline:
                worker.process.kill()
                yield from self._bury(worker, Failed(
                    "read_timeout", f"reading took longer than {self.timeout:g} s (SSJ_READ_TIMEOUT); stopped"))

    def _receive(self, worker: _Worker) -> Iterator[tuple[int, Any]]:
        try:
            while worker.conn.poll():
                kind, value = worker.conn.recv()
                if kind == "ready":
                    worker.ready = True
                    continue
                index, worker.task, worker.deadline = worker.task, None, float("inf")
                yield index, value
        except (EOFError, OSError):
            worker.conn.close()  # the worker died: buried by the caller

    def _bury(self, worker: _Worker, failure: Failed | None = None) -> Iterator[tuple[int, Any]]:
        """Reap a dead (or killed) worker; its file, if it held one, fails."""
        worker.process.join()
        self._workers.remove(worker)
        if not worker.conn.closed:
            worker.conn.close()
        if not worker.ready:
            raise ReaderStartError(
                f"a file reader process could not start (exit status {worker.process.exitcode}); "
                f"is its memory limit of {format_bytes(self.memory)} (SSJ_READER_MEMORY) too low?")
        if worker.task is not None:
            yield worker.task, failure or self._death(worker)

    def _death(self, worker: _Worker) -> Failed:
        how = _exit_description(worker.process.exitcode)
        if self._ran_out_of_memory(worker.stderr):
            return Failed("too_large", f"reading it needs more memory than the reader's limit of "
                                       f"{format_bytes(self.memory)} (SSJ_READER_MEMORY); the reader process "
                                       f"died ({how})")
        return Failed("reader_died", f"the reader process died while reading this file ({how})")

    @staticmethod
    def _ran_out_of_memory(stderr: Path) -> bool:
        try:
            with open(stderr, "rb") as fh:
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - STDERR_TAIL))
                tail = fh.read()
        except OSError:
            return False
        return any(marker in tail for marker in _OUT_OF_MEMORY)
