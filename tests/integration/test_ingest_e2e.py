"""File in the landing zone → ingest_log and quarantine out, through `ssj run` (docs/contract.md §1, §3)."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.defs.publish.snapshots import current_snapshot_id
from tests.support import SAMPLE_REGISTRY, make_uscc, run_ssj

pytestmark = pytest.mark.slow

A = make_uscc("91350102MA2Y0000" + "1")
B = make_uscc("91350102MA2Y0000" + "2")
C = make_uscc("N2350102MA2Y0000" + "3")  # letter-led: valid although stdnum's validate() refuses it
D = make_uscc("92350102MA2Y0000" + "4")
E = make_uscc("91350102MA2Y0000" + "5")
F = make_uscc("91350102MA2Y0000" + "6")
BAD = A[:-1] + ("0" if A[-1] != "0" else "1")

T0 = 1_767_000_000  # file mtimes, oldest first


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8", mtime: int = T0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    land = root / "landing"
    reg = land / "samr-350102" / "registration"
    # UTF-8, Chinese alias headers, a full-width name, an extra column, an invalid USCC and a bad date.
    write_csv(reg / "utf8.csv", ["统一社会信用代码", "企业名称", "成立日期", "备注"], [
        [A, "福州（鼓楼）ＡＢＣ食品有限公司", "2024年3月5日", "首批"],
        [BAD, "校验位错误有限公司", "2024-03-05", ""],
        [B, "日期错误有限公司", "2024-13-45", ""],
    ], mtime=T0)
    # UTF-8 with BOM, English canonical headers.
    write_csv(reg / "bom.csv", ["uscc", "name", "established_on"], [[C, "闽侯县农业合作社", "2024/3/5"]],
              encoding="utf-8-sig", mtime=T0 + 1)
    # GBK (decoded as GB18030).
    write_csv(reg / "gbk.csv", ["社会信用代码", "市场主体名称", "成立日期"], [[D, "鼓楼区张三小吃店", "20240305"]],
              encoding="gbk", mtime=T0 + 2)
    # XLSX with a leading empty row and a real date cell.
    from datetime import date

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append([])
    ws.append(["统一社会信用代码", "企业名称", "成立日期"])
    ws.append([E, "Excel日期有限公司", date(2024, 3, 5)])
    wb.save(reg / "book.xlsx")
    os.utime(reg / "book.xlsx", (T0 + 3, T0 + 3))
    # Parquet and JSON Lines.
    pq.write_table(pa.table({"uscc": [F], "name": ["Parquet有限公司"], "established_on": [date(2024, 3, 5)]}),
                   reg / "p.parquet")
    os.utime(reg / "p.parquet", (T0 + 4, T0 + 4))
    (reg / "j.jsonl").write_text(json.dumps({"统一社会信用代码": A, "企业名称": "JSON有限公司", "更新时间": "2025-01-01"},
                                            ensure_ascii=False) + "\n", encoding="utf-8")
    os.utime(reg / "j.jsonl", (T0 + 5, T0 + 5))
    # The same bytes again under another name: a duplicate.
    shutil.copy(reg / "utf8.csv", reg / "utf8-copy.csv")
    os.utime(reg / "utf8-copy.csv", (T0 + 6, T0 + 6))
    # Missing the required name column: rejected whole, left in place.
    write_csv(reg / "noname.csv", ["统一社会信用代码", "成立日期"], [[A, "2024-01-01"]], mtime=T0 + 7)
    # An agency that is not in the registry, and a feed the agency may not drop.
    write_csv(land / "nobody" / "registration" / "x.csv", ["企业名称"], [["某公司"]], mtime=T0 + 8)
    write_csv(land / "sfj-350100" / "registration" / "x.csv", ["企业名称"], [["某公司"]], mtime=T0 + 9)
    # A file still being written is ignored.
    write_csv(reg / "late.csv.part", ["企业名称"], [["某公司"]], mtime=T0 + 10)
    return land


@pytest.fixture(scope="module")
def first_run(landing):
    """The first run, also publishing to PostgreSQL (SSJ_TARGET_URL) in a schema of its own.

    Without a PostgreSQL server the run publishes files only: the tests that read the
    files still run (the quick lane, `-m "not db"`), the one marked `db` is skipped."""
    import sqlalchemy as sa

    from tests.conftest import unreachable

    warehouse = landing.parent / "warehouse"
    if any(server.startswith("PostgreSQL") for server in unreachable()):
        proc = run_ssj(landing, warehouse)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield warehouse, proc, None, None
        return
    schema = f"ssj_e2e_{os.getpid()}"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    proc = run_ssj(landing, warehouse, extra_env={"SSJ_TARGET_URL": url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield warehouse, proc, admin, schema
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.db
def test_published_to_the_target_database_when_configured(first_run):
    """SSJ_TARGET_URL set: every published table also lands in PostgreSQL, same rows."""
    import sqlalchemy as sa

    warehouse, proc, admin, schema = first_run
    for table in ("ingest_log", "quarantine", "enterprise_pool", "changes"):
        with admin.connect() as c:
            in_db = c.execute(sa.text(f'select count(*) from "{schema}"."{table}"')).scalar_one()
        assert in_db == len(published(warehouse, table)) > 0
    snapshot = json.loads((warehouse / "published" / "_snapshot.json").read_text(encoding="utf-8"))
    with admin.connect() as c:
        row = c.execute(sa.text(f'select snapshot_id, as_of from "{schema}".ssj_snapshot')).one()
    assert (row[0], row[1].isoformat()) == (snapshot["snapshot_id"], snapshot["as_of"])


def published(warehouse: Path, table: str) -> list[dict]:
    return duckdb.sql(f"select * from read_parquet('{warehouse}/published/{table}.parquet')").to_arrow_table().to_pylist()


def test_every_file_has_one_ledger_row(first_run):
    warehouse, proc, *_ = first_run
    log = {r["path"]: r for r in published(warehouse, "ingest_log")}
    reg = "samr-350102/registration/"
    assert {p: r["status"] for p, r in log.items()} == {
        reg + "utf8.csv": "ingested", reg + "bom.csv": "ingested", reg + "gbk.csv": "ingested",
        reg + "book.xlsx": "ingested", reg + "p.parquet": "ingested", reg + "j.jsonl": "ingested",
        reg + "utf8-copy.csv": "duplicate", reg + "noname.csv": "rejected",
        "nobody/registration/x.csv": "rejected", "sfj-350100/registration/x.csv": "rejected",
    }
    for r in log.values():
        if r["status"] == "ingested":
            assert r["rows_read"] == r["rows_accepted"] + r["rows_quarantined"]
    assert log[reg + "utf8.csv"]["rows_read"] == 3
    assert log[reg + "utf8.csv"]["rows_quarantined"] == 2
    assert log[reg + "gbk.csv"]["encoding"] == "gb18030"
    assert log[reg + "bom.csv"]["encoding"] == "utf-8-sig"
    assert "1 duplicate" in proc.stdout and "3 rejected" in proc.stdout


def test_rejections_say_why(first_run):
    warehouse, *_ = first_run
    log = {r["path"]: r for r in published(warehouse, "ingest_log")}
    missing = log["samr-350102/registration/noname.csv"]["error"]
    assert "name" in missing and "企业名称" in missing and "市场主体名称" in missing
    assert "registry" in log["nobody/registration/x.csv"]["error"]
    assert "may not drop registration" in log["sfj-350100/registration/x.csv"]["error"]


def test_rejected_files_stay_in_place(first_run, landing):
    assert (landing / "samr-350102" / "registration" / "noname.csv").exists()
    assert (landing / "nobody" / "registration" / "x.csv").exists()


def test_quarantine_keeps_reasons_and_raw_values(first_run):
    warehouse, *_ = first_run
    rows = {r["source_row"]: r for r in published(warehouse, "quarantine") if r["source_file"].endswith("utf8.csv")}
    assert rows[2]["reason_codes"] == ["invalid_uscc"]
    assert json.loads(rows[2]["raw"])["uscc"] == BAD
    assert rows[3]["reason_codes"] == ["invalid_date"]
    assert "2024-13-45" in rows[3]["reason"]
    assert rows[3]["feed"] == "registration" and rows[3]["agency"] == "samr-350102"


def test_second_run_changes_nothing(first_run, landing):
    warehouse, *_ = first_run
    snapshot = current_snapshot_id(warehouse)
    before = {t: (warehouse / "published" / f"{t}.parquet").read_bytes() for t in ("quarantine",)}
    log_before = published(warehouse, "ingest_log")
    proc = run_ssj(landing, warehouse)
    assert proc.returncode == 0, proc.stderr
    assert "0 ingested" in proc.stdout and "build: none" in proc.stderr
    assert current_snapshot_id(warehouse) == snapshot and f"nothing new: snapshot {snapshot}" in proc.stdout
    assert {t: (warehouse / "published" / f"{t}.parquet").read_bytes() for t in before} == before
    log_after = published(warehouse, "ingest_log")
    assert len(log_after) == len(log_before)


@pytest.mark.db
def test_a_run_with_nothing_new_brings_a_target_up_to_the_current_snapshot(first_run, landing):
    """A target database that missed the last snapshot (here: one configured after it) gets it from
    the next run, though that run builds nothing."""
    import sqlalchemy as sa

    warehouse, _, admin, schema = first_run
    late = f"{schema}_late"
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{late}" CASCADE'))
        c.execute(sa.text(f'CREATE SCHEMA "{late}"'))
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{late}"
        proc = run_ssj(landing, warehouse, extra_env={"SSJ_TARGET_URL": url})
        assert proc.returncode == 0, proc.stderr
        assert "build: none" in proc.stderr
        with admin.connect() as c:
            assert c.execute(sa.text(f'select snapshot_id from "{late}".ssj_snapshot')).scalar_one() \
                == current_snapshot_id(warehouse)
            assert c.execute(sa.text(f'select count(*) from "{late}".enterprise_pool')).scalar_one() \
                == len(published(warehouse, "enterprise_pool")) > 0
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{late}" CASCADE'))


def test_bad_registry_fails_with_a_message(landing, tmp_path):
    bad = tmp_path / "agencies.yaml"
    bad.write_text("agencies: nope\n", encoding="utf-8")
    proc = run_ssj(landing, tmp_path / "wh", agencies=bad)
    assert proc.returncode == 2  # refused before Dagster starts: no run, nothing written but the folder
    assert "configuration is unusable" in proc.stderr and "agencies" in proc.stderr
    assert not (tmp_path / "wh" / ".dagster").exists()


def test_files_read_by_worker_processes_give_the_same_decisions_and_raw_files(landing, tmp_path, monkeypatch):
    """Several files at a time (`ssj run` at scale) decides and stores exactly what one at a time does:
    the copy is still a duplicate of the file read beside it, the rejections are the same, the raw bytes equal."""
    from datetime import datetime

    from pipelines.defs.ingest import landing as ingest

    now = datetime(2026, 6, 30, 12, 0, 0)
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)  # worker processes even for these small files
    reports, child_cpu = {}, {}
    for workers in ("1", "2"):
        monkeypatch.setenv("SSJ_INGEST_WORKERS", workers)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        reports[workers] = ingest.ingest_landing(landing, tmp_path / f"w{workers}", SAMPLE_REGISTRY, now=now)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu[workers] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert child_cpu["1"] > 0 and child_cpu["2"] > 0  # every file is read by a reader worker process

    def decided(report):
        return [(d.rel, d.status, d.rows_read, d.error_code, d.duplicate_of, d.sha256) for d in report.decisions]

    assert decided(reports["2"]) == decided(reports["1"])
    assert {d.status for d in reports["2"].decisions} == {"ingested", "duplicate", "rejected"}

    def raw_files(warehouse):
        root = warehouse / "raw"
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.parquet")}

    sequential, parallel = raw_files(tmp_path / "w1"), raw_files(tmp_path / "w2")
    assert sequential and parallel == sequential
