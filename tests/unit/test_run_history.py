"""The run history's SQLite files are written without a flush per event; no other SQLite file is touched."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from pipelines.run_history import fast_history


def synchronous(engine: sa.Engine) -> int:
    with engine.connect() as c:
        return c.exec_driver_sql("pragma synchronous").scalar()


def test_only_files_under_dagster_home_change(tmp_path, monkeypatch):
    home, elsewhere = tmp_path / "home", tmp_path / "agency"
    home.mkdir(), elsewhere.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for folder in (home, elsewhere):
        sqlite3.connect(folder / "x.db").execute("pragma journal_mode = wal").close()
    with fast_history():
        history = sa.create_engine(f"sqlite:///{home / 'x.db'}", poolclass=sa.pool.NullPool)
        source = sa.create_engine(f"sqlite:///{elsewhere / 'x.db'}", poolclass=sa.pool.NullPool)
        assert synchronous(history) == 1  # NORMAL
        assert synchronous(source) == 2  # FULL, SQLite's default: untouched
    assert synchronous(sa.create_engine(f"sqlite:///{home / 'x.db'}", poolclass=sa.pool.NullPool)) == 2
