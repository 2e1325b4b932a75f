"""The reader pool: a worker that dies, runs out of memory or of time costs only the file it held."""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipelines.defs.ingest.reader_pool import Failed, ReaderPool, ReaderStartError, memory_limit, parse_bytes


def reader(payload: str, fd: int | None) -> str:
    """A test-only reader: what the payload asks for, else the file's first bytes."""
    if payload == "exit":
        os._exit(3)
    if payload == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if payload == "hang":
        time.sleep(600)
    if payload == "hog":
        bytearray(8 << 30)  # above the pool's memory limit: MemoryError
    if payload == "raise":
        raise ValueError("350102199001011234 is a value")
    return os.pread(fd, 100, 0).decode() if fd is not None else payload


def files(tmp_path, payloads: list[str]) -> list[tuple[str, int]]:
    tasks = []
    for i, payload in enumerate(payloads):
        path = tmp_path / f"{i}.txt"
        path.write_text(f"file {i}")
        tasks.append((payload, os.open(path, os.O_RDONLY)))
    return tasks


def test_a_worker_that_dies_mid_file_costs_only_that_file(tmp_path):
    payloads = ["ok", "exit", "ok", "kill", "ok", "ok"]
    with ReaderPool(reader, 1, memory=2 << 30, timeout=60) as pool:
        results = dict(pool.map(files(tmp_path, payloads)))
    assert sorted(results) == list(range(len(payloads)))
    assert results[1] == Failed("reader_died", "the reader process died while reading this file (exit status 3)")
    assert results[3] == Failed("reader_died", "the reader process died while reading this file (signal SIGKILL)")
    assert [results[i] for i in (0, 2, 4, 5)] == ["file 0", "file 2", "file 4", "file 5"]


def test_out_of_time_and_out_of_memory_are_their_own_failures(tmp_path):
    with ReaderPool(reader, 2, memory=1 << 30, timeout=3) as pool:
        started = time.monotonic()
        results = dict(pool.map(files(tmp_path, ["hang", "hog", "ok", "raise", "ok"])))
    assert time.monotonic() - started < 30
    assert results[0].code == "read_timeout" and "SSJ_READ_TIMEOUT" in results[0].message
    assert results[1].code == "too_large" and "SSJ_READER_MEMORY" in results[1].message
    assert results[3].code == "unreadable" and "ValueError" in results[3].message
    assert "350102199001011234" not in results[3].message  # an exception's message may quote data: never shown
    assert results[2] == "file 2" and results[4] == "file 4"


def pid_reader(payload: None, fd: None) -> int:
    return os.getpid()


def test_workers_are_reused_across_files_and_calls():
    with ReaderPool(pid_reader, 1, memory=2 << 30, timeout=60) as pool:
        first = {pid for _, pid in pool.map([(None, None)] * 3)}
        second = {pid for _, pid in pool.map([(None, None)] * 2)}
    assert len(first) == 1 and first == second and os.getpid() not in first


def test_a_worker_that_cannot_start_stops_the_pool_with_a_message(tmp_path):
    with ReaderPool(reader, 1, memory=8 << 20, timeout=60) as pool:
        with pytest.raises(ReaderStartError, match="SSJ_READER_MEMORY"):
            list(pool.map(files(tmp_path, ["ok"])))


def test_memory_limit_setting(monkeypatch):
    monkeypatch.setenv("SSJ_READER_MEMORY", "1.5GiB")
    assert memory_limit(2) == 3 << 29
    monkeypatch.delenv("SSJ_READER_MEMORY")
    assert memory_limit(64) >= 2 << 30
    assert parse_bytes("512M") == 512 << 20 and parse_bytes("123") == 123
    with pytest.raises(ValueError):
        parse_bytes("lots")
