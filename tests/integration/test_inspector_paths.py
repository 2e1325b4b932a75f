"""The justice bureau's roster by either path — a table in its database, or a dropped
file — ends up as the same `inspector_pool`; and no ID number leaves in full.

Both runs go through `ssj run` as an operator would call it. Afterwards every
table of the DuckDB warehouse, every published Parquet file, the Dagster event
log and compute logs, dbt's log and the command's own output are searched for the
roster's ID numbers: only their masked form may appear. (The raw store keeps the
values as they were read, by design: it is the input of staging, never published.)
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from tests.integration.test_sql_source import COLUMNS, ID_BAD, ID_ZHANG, ID_ZHAO, ROWS, URLS, _ddl, _insert, _q
from tests.support import run_ssj

pytestmark = [pytest.mark.db, pytest.mark.slow]

AS_OF = "2026-03-01"
IDS = (ID_ZHANG, ID_ZHAO, ID_BAD)
LINEAGE = {"source_file", "source_row"}


def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


@pytest.fixture(scope="module")
def file_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("roster-file")
    path = root / "landing" / "sfj-350100" / "inspectors" / "执法人员名单.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows([["" if v is None else v for v in r] for r in ROWS])
    proc = run_ssj(root / "landing", root / "warehouse", as_of=AS_OF)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (root / "output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return root


@pytest.fixture(scope="module", params=["postgresql"])  # the connector itself is tested on both servers
def sql_run(request, tmp_path_factory) -> Path:                # in test_sql_source.py; one full run suffices here
    backend = request.param
    root = tmp_path_factory.mktemp(f"roster-{backend}")
    table = f"roster_paths_{os.getpid()}"
    engine = make_engine(URLS[backend])
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {_q(backend, table)}"))
        conn.execute(sa.text(_ddl(backend, table)))
        _insert(conn, backend, table, ROWS)
    sources = root / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - {{name: roster, kind: sql, agency: sfj-350100, feed: inspectors, url_env: SSJ_TEST_ROSTER_URL,\n"
        f"     table: {table}, watermark: 更新时间}}\n",
        encoding="utf-8",
    )
    (root / "landing").mkdir()
    try:
        proc = run_ssj(root / "landing", root / "warehouse", as_of=AS_OF,
                       extra_env={"SSJ_SOURCES": str(sources), "SSJ_TEST_ROSTER_URL": URLS[backend]})
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {_q(backend, table)}"))
        engine.dispose()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (root / "output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return root


def pool(root: Path) -> list[dict]:
    rows = duckdb.sql(
        f"select * from read_parquet('{root}/warehouse/published/inspector_pool.parquet') order by cert_no"
    ).to_arrow_table().to_pylist()
    return [{k: v for k, v in r.items() if k not in LINEAGE} for r in rows]


def test_sql_and_file_paths_give_the_same_pool(file_run, sql_run):
    from_file, from_sql = pool(file_run), pool(sql_run)
    assert [r["cert_no"] for r in from_sql] == ["FJ-001", "FJ-002", "FJ-004"]  # FJ-003: invalid ID number
    assert from_sql == from_file
    for root in (file_run, sql_run):
        (reasons,) = duckdb.sql(
            f"select reason_codes from read_parquet('{root}/warehouse/published/quarantine.parquet') "
            "where feed = 'inspectors'"
        ).fetchall()
        assert reasons == (["invalid_id_no"],)


def every_text(root: Path) -> str:
    """All the text a run leaves outside the raw store, as one string."""
    parts = [(root / "output.txt").read_text(encoding="utf-8")]
    warehouse = root / "warehouse"
    con = duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True)
    for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
        parts.append(str(con.execute(f'select * from "{table}"').fetchall()))
    con.close()
    for parquet in (warehouse / "published").glob("*.parquet"):
        parts.append(str(duckdb.sql(f"select * from read_parquet('{parquet}')").fetchall()))
    for path in (warehouse / ".dagster").rglob("*"):
        if path.is_file():  # event log (SQLite, JSON text inside), compute logs, dbt's log of the run
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def assert_only_masked(root: Path) -> None:
    text = every_text(root)
    for number in IDS:
        assert number not in text
    assert masked(ID_ZHANG) in text  # the masked form is published


def test_id_numbers_appear_only_masked_after_a_file_drop(file_run):
    assert_only_masked(file_run)


def test_id_numbers_appear_only_masked_after_a_sql_extract(sql_run):
    assert_only_masked(sql_run)
