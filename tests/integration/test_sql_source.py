"""The SQL-source connector against the real PostgreSQL and MariaDB on this machine.

A roster table with Chinese column names is created in each server, read in
full, changed, and read incrementally; failures (a write that fails, a crash
before the watermark moves, a server that is down) must lose nothing, count
nothing twice and never show a password.
"""

import json
import logging
import os
from datetime import datetime
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from connectors.feeds import feeds
from connectors.sql import RetryPolicy, SourceUnavailable, SqlSourceError, make_engine, read_sql_source
from pipelines.defs.ingest import sql_sources as ss
from pipelines.defs.ingest.raw_store import ledger_dir, ledger_id, raw_dir, raw_file
from pipelines.defs.ingest.registry import load_registry
from pipelines import PROJECT_ROOT
from pipelines.settings import SsjSettings

pytestmark = pytest.mark.db

URLS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql://root@127.0.0.1:3306/test",
}
AGENCY = "sfj-350100"  # the sample registry's justice bureau, allowed to deliver inspectors
REGISTRY = load_registry(PROJECT_ROOT / "config" / "agencies.yaml")
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
NOW = datetime(2026, 3, 1, 8, 0, 0)

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_no(body17: str) -> str:
    """A GB 11643 ID number with the right check character."""
    s = sum(int(d) * w for d, w in zip(body17, _W))
    return body17 + "10X98765432"[s % 11]


ID_ZHANG = id_no("35010219800101123")
ID_ZHAO = id_no("35010319851231002")
ID_BAD = ID_ZHANG[:-1] + ("0" if ID_ZHANG[-1] != "0" else "1")  # wrong check digit

ROWS = [
    # 执法证号, 姓名, 身份证号, 所属单位, 执法门类, 在岗状态, 更新时间, 备注 (outside the contract)
    ("FJ-001", "张三", ID_ZHANG, "福州市鼓楼区市场监督管理局", "食品；特种设备", "在岗", "2025-01-01 09:00:00", "老同志"),
    ("FJ-002", "李四", None, "福州市鼓楼区市场监督管理局", None, "退休", "2025-01-02 09:00:00", None),
    ("FJ-003", "王五", ID_BAD, "福州市台江区市场监督管理局", "计量、标准化", "在岗", "2025-01-03 09:00:00", ""),
    ("FJ-004", "赵六", ID_ZHAO, "福州市台江区市场监督管理局", "药品", "在岗", "2025-01-03 09:00:00", None),
]
COLUMNS = ["执法证号", "姓名", "身份证号", "所属单位", "执法门类", "在岗状态", "更新时间", "备注"]


def _ddl(backend: str, table: str, columns: list[str] = COLUMNS) -> str:
    ts = "TIMESTAMP(6)" if backend == "postgresql" else "DATETIME(6)"
    types = {"执法证号": "VARCHAR(32) PRIMARY KEY", "身份证号": "VARCHAR(18)", "更新时间": ts}
    body = ", ".join(f'{_q(backend, c)} {types.get(c, "TEXT")}' for c in columns)
    tail = " DEFAULT CHARSET=utf8mb4" if backend == "mariadb" else ""
    return f"CREATE TABLE {_q(backend, table)} ({body}){tail}"


def _q(backend: str, name: str) -> str:
    return f'"{name}"' if backend == "postgresql" else f"`{name}`"


def _insert(conn: sa.Connection, backend: str, table: str, rows: list[tuple]) -> None:
    cols = ", ".join(_q(backend, c) for c in COLUMNS)
    params = ", ".join(f":p{i}" for i in range(len(COLUMNS)))
    conn.execute(
        sa.text(f"INSERT INTO {_q(backend, table)} ({cols}) VALUES ({params})"),
        [{f"p{i}": v for i, v in enumerate(r)} for r in rows],
    )


@pytest.fixture(params=["postgresql", "mariadb"])
def roster(request):
    """(backend, url, table name, engine) with ROWS loaded; dropped afterwards."""
    backend = request.param
    url = URLS[backend]
    table = f"执法人员_{os.getpid()}_{request.node.name[:20]}".replace("[", "_").replace("]", "").replace("-", "_")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {_q(backend, table)}"))
        conn.execute(sa.text(_ddl(backend, table)))
        _insert(conn, backend, table, ROWS)
    yield backend, url, table, engine
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {_q(backend, table)}"))
    engine.dispose()


def _source(table: str, name: str = "roster", **kw) -> ss.SqlSource:
    return ss.SqlSource(
        name=name, agency=AGENCY, feed="inspectors", url_env="SSJ_TEST_ROSTER_URL", table=table,
        watermark="更新时间", **kw,
    )


def _raw_files(wh: Path) -> list[Path]:
    return sorted(p for p in (raw_dir(wh) / "inspectors").glob("*.parquet") if p.name != "_empty.parquet")


def _ledger(wh: Path) -> list[dict]:
    out = [json.loads(p.read_text(encoding="utf-8")) for p in ledger_dir(wh).glob("*.json")]
    return [e for e in out if e.get("path")]


def _all_raw_rows(wh: Path) -> list[dict]:
    rows: list[dict] = []
    for p in _raw_files(wh):
        rows.extend(pq.read_table(p).to_pylist())
    return rows


def test_full_then_incremental_extract(roster, tmp_path):
    backend, url, table, engine = roster
    wh = tmp_path / "wh"
    env = {"SSJ_TEST_ROSTER_URL": url}
    src = _source(table)

    first = ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    assert first.status == "ingested" and first.rows == 4
    assert first.source_file == "sql:roster@start..2025-01-03T09:00:00"

    [path] = _raw_files(wh)
    assert path == raw_file(wh, "inspectors", first.sha256)
    table_ = pq.read_table(path)
    assert table_.schema.names[: len(feeds()["inspectors"].column_names)] == feeds()["inspectors"].column_names
    rows = {r["cert_no"]: r for r in table_.to_pylist()}
    assert set(rows) == {"FJ-001", "FJ-002", "FJ-003", "FJ-004"}
    zhang = rows["FJ-001"]
    assert zhang["name"] == "张三" and zhang["id_no"] == ID_ZHANG and zhang["agency_name"] == "福州市鼓楼区市场监督管理局"
    assert zhang["qualifications"] == "食品；特种设备" and zhang["status"] == "在岗"
    assert zhang["updated_at"] == "2025-01-01 09:00:00"
    assert json.loads(zhang["_extra"]) == {"备注": "老同志"}
    assert zhang["_parse_error"] is None and zhang["_agency"] == AGENCY and zhang["_feed"] == "inspectors"
    assert zhang["_source_file"] == first.source_file and zhang["_file_sha256"] == first.sha256
    li = rows["FJ-002"]
    assert li["id_no"] is None and li["qualifications"] is None and li["status"] == "退休"
    assert json.loads(li["_extra"]) == {"备注": None}
    assert json.loads(rows["FJ-003"]["_extra"]) == {"备注": None}  # '' is an empty cell, like in files
    assert rows["FJ-003"]["id_no"] == ID_BAD  # kept as read; staging quarantines it
    assert sorted(r["_source_row"] for r in rows.values()) == [1, 2, 3, 4]
    assert all(r["unit"] is None and r["cert_valid_to"] is None for r in rows.values())

    [entry] = _ledger(wh)
    assert entry["path"] == first.source_file and entry["sha256"] == first.sha256
    assert entry["status"] == "ingested" and entry["format"] == "sql" and entry["rows_read"] == 4
    assert entry["agency"] == AGENCY and entry["feed"] == "inspectors"
    assert entry["headers"]["cert_no"] == "执法证号" and entry["headers"]["updated_at"] == "更新时间"
    assert (ledger_dir(wh) / f"{ledger_id(entry['path'], entry['sha256'])}.json").exists()

    state = ss.read_state(wh, "roster")
    assert state["watermark"] == "2025-01-03T09:00:00" and state["watermark_type"] == "datetime"
    assert len(state["boundary"]) == 2  # FJ-003 and FJ-004 share the max watermark

    # Nothing changed: nothing fetched, nothing written.
    again = ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    assert again.status == "no_change" and again.rows == 0 and again.skipped_boundary == 2
    assert len(_raw_files(wh)) == 1 and len(_ledger(wh)) == 1

    # One row updated (retired -> left), one added: only those two come.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"UPDATE {_q(backend, table)} SET {_q(backend, '在岗状态')} = '离岗', "
                f"{_q(backend, '更新时间')} = '2025-02-01 10:00:00' WHERE {_q(backend, '执法证号')} = 'FJ-002'"
            )
        )
        _insert(conn, backend, table, [("FJ-005", "钱七", None, "福州市鼓楼区市场监督管理局", "广告", "在岗", "2025-02-01 10:00:00", None)])
    inc = ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    assert inc.status == "ingested" and inc.rows == 2 and inc.skipped_boundary == 2
    assert inc.source_file == "sql:roster@2025-01-03T09:00:00..2025-02-01T10:00:00"
    got = {r["cert_no"]: r for r in pq.read_table(raw_file(wh, "inspectors", inc.sha256)).to_pylist()}
    assert set(got) == {"FJ-002", "FJ-005"}
    assert got["FJ-002"]["status"] == "离岗" and got["FJ-002"]["updated_at"] == "2025-02-01 10:00:00"
    assert sorted(r["_source_row"] for r in got.values()) == [1, 2]

    # A row committed later with exactly the max watermark already seen: '>' would lose it, '>=' does not,
    # and the boundary hashes keep FJ-002/FJ-005 from coming twice.
    with engine.begin() as conn:
        _insert(conn, backend, table, [("FJ-006", "孙八", None, "福州市台江区市场监督管理局", None, "在岗", "2025-02-01 10:00:00", None)])
    late = ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    assert late.status == "ingested" and late.rows == 1
    assert [r["cert_no"] for r in pq.read_table(raw_file(wh, "inspectors", late.sha256)).to_pylist()] == ["FJ-006"]

    # Over all runs every row version was delivered exactly once.
    versions = sorted((r["cert_no"], r["status"]) for r in _all_raw_rows(wh))
    assert versions == sorted(
        [("FJ-001", "在岗"), ("FJ-002", "退休"), ("FJ-003", "在岗"), ("FJ-004", "在岗"), ("FJ-002", "离岗"),
         ("FJ-005", "在岗"), ("FJ-006", "在岗")]
    )
    assert sum(e["rows_read"] for e in _ledger(wh)) == 7 and len(_ledger(wh)) == 3


def test_query_source_and_bounded_chunks(roster, tmp_path):
    backend, url, table, _ = roster
    q = lambda c: _q(backend, c)  # noqa: E731
    query = (
        f"select {q('执法证号')}, {q('姓名')}, {q('所属单位')}, {q('在岗状态')}, {q('更新时间')} "
        f"from {q(table)} where {q('所属单位')} like '%台江%';"
    )
    extract = read_sql_source(
        url, query=query, feed=feeds()["inspectors"], watermark_column="更新时间", since=None, chunk_rows=1,
        retry=FAST,
    )
    batches = list(extract.batches())
    assert [b.num_rows for b in batches] == [1, 1]  # one server-side fetch per chunk_rows
    assert [r["cert_no"] for b in batches for r in b.to_pylist()] == ["FJ-003", "FJ-004"]
    assert [r["_source_row"] for b in batches for r in b.to_pylist()] == [1, 2]
    assert all(r["_extra"] is None for b in batches for r in b.to_pylist())
    assert extract.watermark == "2025-01-03T09:00:00" and extract.rows == 2


def test_missing_required_column_is_a_clear_error(roster):
    backend, url, table, engine = roster
    other = f"{table}_x"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {_q(backend, other)}"))
        conn.execute(sa.text(_ddl(backend, other, ["执法证号", "身份证号", "更新时间"])))
    try:
        with pytest.raises(SqlSourceError, match=r"missing required column.*name \(accepted headers: name, 姓名\)"):
            read_sql_source(url, table=other, feed=feeds()["inspectors"], watermark_column="更新时间", since=None)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {_q(backend, other)}"))


def test_failed_write_leaves_watermark_unchanged(roster, tmp_path, monkeypatch):
    backend, url, table, engine = roster
    wh = tmp_path / "wh"
    env = {"SSJ_TEST_ROSTER_URL": url}
    src = _source(table)
    ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    state_before = ss.watermark_file(wh, "roster").read_bytes()
    with engine.begin() as conn:
        _insert(conn, backend, table, [("FJ-007", "周九", None, "福州市鼓楼区市场监督管理局", None, "在岗", "2025-03-01 08:00:00", None)])

    # 1. The raw write fails: no Parquet, no ledger entry, the watermark stays.
    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ss, "write_raw_file", broken)
    with pytest.raises(OSError, match="No space left"):
        ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    monkeypatch.undo()
    assert ss.watermark_file(wh, "roster").read_bytes() == state_before
    assert len(_raw_files(wh)) == 1 and len(_ledger(wh)) == 1

    # 2. Parquet and ledger written, then the run dies before the watermark moves.
    real_write_json = ss.write_json_atomically

    def die_on_watermark(path, body):
        if path == ss.watermark_file(wh, "roster"):
            raise KeyboardInterrupt("killed")
        return real_write_json(path, body)

    monkeypatch.setattr(ss, "write_json_atomically", die_on_watermark)
    with pytest.raises(KeyboardInterrupt):
        ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    monkeypatch.undo()
    assert ss.watermark_file(wh, "roster").read_bytes() == state_before
    assert len(_raw_files(wh)) == 2  # the uncommitted attempt is visible ...
    with engine.begin() as conn:  # ... and the source moved on meanwhile
        _insert(conn, backend, table, [("FJ-008", "吴十", None, "福州市鼓楼区市场监督管理局", None, "在岗", "2025-03-02 08:00:00", None)])

    # 3. The next run replaces the uncommitted attempt: every row once, nothing lost.
    ok = ss.ingest_sql_source(src, wh, NOW, env=env, retry=FAST, registry=REGISTRY)
    assert ok.status == "ingested" and ok.rows == 2
    assert not ss.pending_file(wh, "roster").exists()
    certs = sorted(r["cert_no"] for r in _all_raw_rows(wh))
    assert certs == ["FJ-001", "FJ-002", "FJ-003", "FJ-004", "FJ-007", "FJ-008"]
    ledger = _ledger(wh)
    assert len(ledger) == 2 and sum(e["rows_read"] for e in ledger) == 6
    assert {e["sha256"] for e in ledger} == {p.stem for p in _raw_files(wh)}

    # 4. An extract's sha is its identity: the same extract retried gives the same sha (a retry
    # overwrites, never duplicates); another window, row count, content or source, another sha.
    window = ("2025-01-03T09:00:00", "2025-03-02T08:00:00")
    sha = ss.extract_sha256(src, *window, 2, "x")
    assert sha == ss.extract_sha256(_source(table), *window, 2, "x")
    others = {ss.extract_sha256(src, "2025-01-03T09:00:01", window[1], 2, "x"),
              ss.extract_sha256(src, window[0], "2025-03-02T08:00:01", 2, "x"),
              ss.extract_sha256(src, *window, 3, "x"), ss.extract_sha256(src, *window, 2, "y"),
              ss.extract_sha256(_source(table, name="roster-2"), *window, 2, "x")}
    assert len(others) == 5 and sha not in others


def test_down_source_fails_clearly_while_others_proceed(roster, tmp_path, monkeypatch, caplog):
    backend, url, table, _ = roster
    wh = tmp_path / "wh"
    secret = "s3cr3t-Pw_42"
    scheme = "postgresql" if backend == "postgresql" else "mysql"
    bad_url = f"{scheme}://ssj_reader:{secret}@127.0.0.1:1/test"
    good = _source(table, name="roster-good")
    bad = ss.SqlSource(
        name="roster-down", agency=AGENCY, feed="inspectors", url_env="SSJ_TEST_DOWN_URL", table=table,
        watermark="更新时间",
    )
    env = {"SSJ_TEST_ROSTER_URL": url, "SSJ_TEST_DOWN_URL": bad_url}

    with pytest.raises(SourceUnavailable) as info:
        read_sql_source(bad_url, table=table, feed=feeds()["inspectors"], watermark_column=None, since=None, retry=FAST)
    assert "unreachable after 3 attempt(s)" in str(info.value) and secret not in str(info.value)
    assert "://127.0.0.1:1/test" in str(info.value) and "ssj_reader" not in str(info.value)  # host, port, database only

    caplog.set_level(logging.DEBUG)
    results = ss.ingest_all([bad, good], wh, now=NOW, env=env, retry=FAST, registry=REGISTRY)
    by = {r.name: r for r in results}
    assert by["roster-down"].status == "failed"
    assert "roster-down" in by["roster-down"].error and "://127.0.0.1:1/test" in by["roster-down"].error
    assert by["roster-good"].status == "ingested" and by["roster-good"].rows == 4
    assert secret not in caplog.text and all(secret not in (r.error or "") for r in results)
    assert "attempt 1/3 failed" in caplog.text

    # The Dagster asset: the good source is ingested, the asset fails naming the down one.
    sources_yaml = tmp_path / "sources.yaml"
    sources_yaml.write_text(
        "sources:\n"
        f"  - {{name: roster-down, kind: sql, agency: {AGENCY}, feed: inspectors, url_env: SSJ_TEST_DOWN_URL, "
        f"table: '{table}', watermark: 更新时间}}\n"
        f"  - {{name: roster-good, kind: sql, agency: {AGENCY}, feed: inspectors, url_env: SSJ_TEST_ROSTER_URL, "
        f"table: '{table}', watermark: 更新时间}}\n"
        "  - {name: roster-files, kind: file, agency: sfj-350100, feed: inspectors}\n",
        encoding="utf-8",
    )
    wh2 = tmp_path / "wh2"
    monkeypatch.setenv("SSJ_SOURCES", str(sources_yaml))
    monkeypatch.setenv("SSJ_TEST_ROSTER_URL", url)
    monkeypatch.setenv("SSJ_TEST_DOWN_URL", bad_url)
    monkeypatch.setattr(ss, "RetryPolicy", lambda: FAST)
    result = dg.materialize(
        [ss.sql_sources],
        resources={"settings": SsjSettings(warehouse=str(wh2), agencies=str(PROJECT_ROOT / "config" / "agencies.yaml"))},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    text = failure.step_failure_data.error.message + json.dumps(
        {k: str(v) for k, v in (failure.step_failure_data.user_failure_data.metadata or {}).items()}, ensure_ascii=False
    )
    assert "1 of 2 SQL source(s) failed" in text and "roster-down" in text and secret not in text
    assert len(_raw_files(wh2)) == 1 and ss.read_state(wh2, "roster-good")["watermark"] == "2025-01-03T09:00:00"


def test_empty_sources_file_does_nothing(tmp_path, monkeypatch):
    empty = tmp_path / "sources.yaml"
    empty.write_text("# nothing yet\nsources: []\n", encoding="utf-8")
    monkeypatch.setenv("SSJ_SOURCES", str(empty))
    result = dg.materialize(
        [ss.sql_sources], resources={"settings": SsjSettings(warehouse=str(tmp_path / "wh"))},
    )
    assert result.success
    assert not (tmp_path / "wh").exists()
    assert ss.load_sources(PROJECT_ROOT / "config" / "sources.yaml") == []  # the shipped sample is inert


def test_sources_file_never_holds_credentials(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        "sources:\n  - {name: x, kind: sql, agency: a, feed: inspectors, url: 'postgresql://u:p@h/db', table: t}\n",
        encoding="utf-8",
    )
    with pytest.raises(ss.SourceConfigError, match="url_env"):
        ss.load_sources(bad)
