"""Personal ID numbers and secrets never leave masked, whatever spelling and wherever typed.

One `ssj run` over tests/corpus/make_personal.py's landing zone (numbers in ID
columns, extra columns, date, USCC, name, address and scope columns, a task name,
nested JSON, a file name, a header-less file; numbers cut in two across two extra
columns and across two array elements; control characters), publishing to
PostgreSQL through a URL that carries a password; then `ssj report` and
`ssj export`. A detector written independently of the masking code
(tests/leak_detector.py, which also joins adjacent JSON values) then searches every
place the run writes — published
files, every table of the warehouse, the ledger, Dagster's storage, dbt's target
folders, the run's output, the report, the exports, the target database — and
finds nothing. Only the raw store, as sensitive as the landing zone, holds them.
"""

from __future__ import annotations

import json
import os
import stat

import duckdb
import pytest

from tests.corpus import make_personal as corpus
from tests.leak_detector import scan_rows, scan_text, scan_tree, split_numbers_in
from tests.prefork import ssj
from tests.support import run_ssj, warehouse_rows

pytestmark = [pytest.mark.slow, pytest.mark.db]

SECRET = "Pw-8c1e-never-shown"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import sqlalchemy as sa

    root = tmp_path_factory.mktemp("personal")
    landing = corpus.build(root / "landing")
    warehouse = root / "warehouse"
    schema = f"ssj_personal_{os.getpid()}"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # trust authentication ignores the password; the pipeline must still never show it
    url = (f"postgresql://postgres:{SECRET}@127.0.0.1:5432/test"
           f"?options=-csearch_path%3D{schema}&sslpassword={SECRET}")
    proc = run_ssj(landing, warehouse, extra_env={"SSJ_TARGET_URL": url})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    outputs = [proc.stdout, proc.stderr]
    for args in (["report", "--warehouse", str(warehouse), "--out", str(root / "report.html")],
                 ["export", "--warehouse", str(warehouse), "--table", "quarantine", "--out", str(root / "q.xlsx")],
                 ["export", "--warehouse", str(warehouse), "--table", "quarantine", "--out", str(root / "q.csv")],
                 ["export", "--warehouse", str(warehouse), "--table", "inspector_pool", "--out", str(root / "i.xlsx")]):
        done = ssj(args)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs += [done.stdout, done.stderr]
    yield root, warehouse, "\n".join(outputs), admin, schema
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _published(warehouse, table, where="true"):
    return duckdb.sql(f"select * from read_parquet('{warehouse}/published/{table}.parquet') where {where}"
                      ).to_arrow_table().to_pylist()


def test_no_id_number_anywhere_outside_the_raw_store(run):
    root, warehouse, output, _, _ = run
    found = scan_tree(root, skip=[root / "landing", warehouse / "raw"])
    found += scan_text("the commands' output", output)
    assert not found, found[:20]


def test_no_id_number_in_the_target_database(run):
    import sqlalchemy as sa

    _, _, _, admin, schema = run
    found = []
    with admin.connect() as c:
        tables = [t for (t,) in c.execute(sa.text(
            "select table_name from information_schema.tables where table_schema = :s"), {"s": schema})]
        assert "quarantine" in tables and "inspector_pool" in tables
        for table in tables:
            result = c.execute(sa.text(f'select * from "{schema}"."{table}"'))
            found += scan_rows(f"target {table}", list(result.keys()), result.fetchall())
    assert not found, found[:20]


def test_no_secret_anywhere(run):
    root, warehouse, output, _, _ = run
    assert SECRET not in output
    for path in warehouse.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path.relative_to(warehouse)


def test_honest_rows_are_published(run):
    _, warehouse, _, _, _ = run
    pool = {r["uscc"]: r for r in _published(warehouse, "enterprise_pool")}
    assert set(corpus.HONEST_USCC) <= set(pool)
    inspectors = {r["cert_no"]: r for r in _published(warehouse, "inspector_pool")}
    assert inspectors["FJ0100001"]["id_no_masked"] == corpus.ID_A[:4] + "*" * 10 + corpus.ID_A[-4:]
    assert "FJ0100002" in inspectors  # grouped digits fold to a valid number


def _reasons(warehouse, feed):
    rows = _published(warehouse, "quarantine", f"feed = '{feed}' and source_file not like '%分段核对.csv'")
    return {r["source_row"]: set(r["reason_codes"]) for r in rows}, rows


def test_each_planted_number_is_a_quarantined_row_or_a_masked_value(run):
    _, warehouse, _, _, _ = run
    registration, rows = _reasons(warehouse, "registration")
    assert "invalid_date" in registration[3]  # typed into 成立日期
    assert "personal_id_in_value" in registration[4]  # in the address, in groups of four
    assert "invalid_uscc" in registration[5]  # in the USCC column, with hyphens
    assert "personal_id_in_value" in registration[6]  # 15-digit first generation in the scope
    assert "control_character" in registration[7]
    assert "personal_id_in_value" in registration[9]  # groups separated by two spaces
    assert "personal_id_in_value" in registration[10]  # mathematical digits
    assert 1 not in registration and 2 not in registration and 8 not in registration  # extra column masked, row kept
    assert all(r["reason"] and "*" in r["reason"] for r in rows if r["source_row"] in (3, 5))
    inspectors, _ = _reasons(warehouse, "inspectors")
    assert "invalid_id_no" in inspectors[3]  # a mistyped check character
    assert "invalid_date" in inspectors[4]
    assert "personal_id_in_value" in inspectors[6]  # typed as the certificate number
    draws, _ = _reasons(warehouse, "draw_list")
    assert "personal_id_in_value" in draws[2] and "personal_id_in_value" in draws[3]
    assert "personal_id_in_value" in draws[4]  # typed as the task number
    credit, _ = _reasons(warehouse, "credit_risk")
    assert "control_character" in credit[3]


def test_files_are_named_masked_and_a_headerless_file_is_rejected_without_its_data(run):
    _, warehouse, _, _, _ = run
    log = {r["path"]: r for r in _published(warehouse, "ingest_log")}
    headerless = log["samr-350103/registration/无表头.csv"]
    assert headerless["status"] == "rejected" and headerless["error"]
    masked = [p for p in log if p.startswith("samr-350102/approval/许可清单_")]
    assert len(masked) == 1 and "*" in masked[0] and log[masked[0]]["status"] == "ingested"
    folder = [r for p, r in log.items() if p.endswith("/registration/登记.csv") and not p.startswith("samr")]
    assert len(folder) == 1 and folder[0]["status"] == "rejected" and "*" in folder[0]["agency"]


def test_the_raw_store_is_private(run):
    _, warehouse, _, _, _ = run
    raw = warehouse / "raw"
    for path in [raw, *raw.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path.relative_to(warehouse), oct(mode))


def test_a_number_cut_across_extra_columns_is_masked_where_its_parts_are(run):
    """Each part alone is no ID number; side by side in ``extra`` and ``raw`` they are one.
    The parts are masked where the number is, the date beside them kept, the rows staged."""
    _, warehouse, _, _, _ = run
    staged = {r["source_row"]: r for r in warehouse_rows(
        warehouse, "select source_row, is_accepted, extra::varchar as extra, raw::varchar as raw from stg_registration "
                   "where source_file like '%分段核对.csv'")}
    assert staged[1]["is_accepted"] and not staged[2]["is_accepted"]  # 成立日期 不详: rejected
    extra = json.loads(staged[1]["extra"])
    head, tail = corpus.ID_SPLIT[:12], corpus.ID_SPLIT[12:]
    assert extra == {"核对编号前段": head[:4] + "*" * 8, "核对编号后段": "**" + tail[-4:], "核对日期": "2026-01-01"}
    raw = json.loads(staged[2]["raw"])
    assert "*" in raw["核对编号前段"] and "*" in raw["核对编号后段"] and raw["核对日期"] == "2026-01-01"
    quarantined = _published(warehouse, "quarantine", "feed = 'registration' and source_file like '%分段核对.csv'")
    assert [r["source_row"] for r in quarantined] == [2]
    for row in [*staged.values(), *quarantined]:
        for column in ("extra", "raw"):
            assert not split_numbers_in(row.get(column)), column
    credit = warehouse_rows(warehouse, "select extra::varchar as extra from stg_credit_risk "
                                       "where extra ->> '核对记录' is not null")
    assert len(credit) == 1 and not split_numbers_in(credit[0]["extra"])
    listed = json.loads(json.loads(credit[0]["extra"])["核对记录"])  # JSON Lines' array, kept as its JSON text
    assert listed == [corpus.ID_SPLIT_LIST[:4] + "**", "*" * 8 + corpus.ID_SPLIT_LIST[-4:]]
