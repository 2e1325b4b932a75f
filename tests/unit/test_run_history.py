"""The run history: Dagster's own SQLite files in their usual place, written with connections kept open."""

from __future__ import annotations

import os
import sqlite3
from datetime import date

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from pipelines.cli import dagster_home
from pipelines.run_history import ENGINES, HistoryEventLogStorage, HistoryRunStorage
from pipelines.settings import Settings


def settings(tmp_path) -> Settings:
    return Settings(landing=tmp_path / "landing", warehouse=tmp_path / "wh", agencies=tmp_path / "agencies.yaml",
                    as_of=date(2026, 11, 26))


@dg.asset
def one() -> int:
    return 1


def test_runs_are_kept_where_dagster_reads_them(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = dagster_home(settings(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, HistoryRunStorage)
        assert isinstance(instance.event_log_storage, HistoryEventLogStorage)
        result = dg.materialize([one], instance=instance)
        assert result.success
        run_id = result.run_id

    # Dagster's default storages, on the same folders, read the run and its materialization
    runs = SqliteRunStorage.from_local(str(home / "history"))
    assert runs.get_run_records(dg.RunsFilter(run_ids=[run_id]))[0].dagster_run.is_success
    events = SqliteEventLogStorage(str(home / "history" / "runs"))
    assert events.get_latest_materialization_events([dg.AssetKey("one")])[dg.AssetKey("one")].run_id == run_id
    assert sorted(p.name for p in (home / "history" / "runs").glob("*.db")) == sorted([f"{run_id}.db", "index.db"])


def test_history_connections_commit_without_a_flush_and_stay_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    sqlite3.connect(tmp_path / "runs.db").execute("pragma journal_mode = wal").close()
    engine = ENGINES.get(url)
    with engine.connect() as c:
        assert c.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL (SQLite's default is 2, FULL)
        first = c.connection.dbapi_connection
    with ENGINES.get(url).connect() as c:
        assert c.connection.dbapi_connection is first  # the same connection, not a new one per write


def test_a_moved_home_keeps_its_history(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = dagster_home(settings(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        run_id = dg.materialize([one], instance=instance).run_id
    moved = tmp_path / "moved"
    os.rename(tmp_path / "wh", moved)
    monkeypatch.setenv("DAGSTER_HOME", str(moved / ".dagster"))
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).is_success


def test_a_watcher_sees_events_another_process_commits(tmp_path):
    """The webserver's live run view: Dagster's watcher wakes on the run's write-ahead log, where
    a writer holding its connection open commits (``<run>.db`` changes only at a checkpoint)."""
    import time

    from dagster._core.events import EngineEventData  # an engine event's payload: Dagster exports no public one

    EventLogEntry, DagsterEvent, DagsterEventType = dg.EventLogEntry, dg.DagsterEvent, dg.DagsterEventType

    watching, writing = (HistoryEventLogStorage(base_dir=str(tmp_path)) for _ in range(2))
    seen = []
    writing.store_event(entry := EventLogEntry(
        error_info=None, level=20, user_message="", run_id="r1", timestamp=time.time(),
        dagster_event=DagsterEvent(DagsterEventType.ENGINE_EVENT.value, "j", message="first",
                                   event_specific_data=EngineEventData())))
    watching.watch("r1", None, lambda event, cursor: seen.append(event.dagster_event.message))
    time.sleep(0.5)
    writing.store_event(entry._replace(dagster_event=DagsterEvent(DagsterEventType.ENGINE_EVENT.value, "j",
                                                                 message="second", event_specific_data=EngineEventData())))
    deadline = time.monotonic() + 10
    while "second" not in seen and time.monotonic() < deadline:
        time.sleep(0.1)
    watching.dispose()
    assert "second" in seen
