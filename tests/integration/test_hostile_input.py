"""Hostile drops beside good ones: each gets one clear outcome, nothing else is disturbed.

The committed corpus lives in tests/corpus/hostile/ (see its README); what is too
big or too odd to commit — a 50 MB line, a zip bomb, a workbook with one cell at
XFD1048576 (one of them naming its first sheet in ' quotes), one that needs more
memory than the reader may take, names that are not UTF-8, a named pipe, a
socket, links to /dev/zero and to a folder, a file without a header row whose
first row holds an ID number, a folder tree whose paths exceed PATH_MAX — is built by
tests/corpus/make_hostile.py. One `ssj run` takes them all; it must succeed,
ingest the good files, reject each bad one with its code and a message (left in
place), never quote a value in a message, and keep formula-like cells as data.
"""

from __future__ import annotations

import os
import stat

import duckdb
import pytest

from tests.corpus.make_hostile import (
    AGENCY_FEED,
    EXPECTED,
    ID_NUMBER,
    NOT_UTF8_FOLDER,
    NOT_UTF8_NAME,
    READER_MEMORY,
    build,
)
from tests.support import run_ssj

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    build(root)
    proc = run_ssj(root / "landing", root / "warehouse", extra_env={"SSJ_READER_MEMORY": READER_MEMORY})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = {r["path"].rsplit("/", 1)[-1]: r for r in duckdb.sql(
        f"select * from read_parquet('{root}/warehouse/published/ingest_log.parquet')"
    ).to_arrow_table().to_pylist()}
    return root, log, proc


def place(root, name: str) -> bytes:
    """Where the file recorded as ``name`` lies, as bytes (some names are not UTF-8)."""
    landing = os.fsencode(root / "landing")
    if name == "in_gbk_folder.csv":
        return landing + b"/" + NOT_UTF8_FOLDER + b"/registration/" + name.encode()
    raw = NOT_UTF8_NAME if name == "\\xd5\\xc5\\xc8\\xfd.csv" else name.encode()
    return landing + b"/" + AGENCY_FEED.encode() + b"/" + raw


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_clear_outcome_per_file(run, name):
    root, log, _ = run
    status, code = EXPECTED[name]
    entry = log[name]
    assert entry["status"] == status, entry["error"]
    if status == "rejected":
        codes = code if isinstance(code, set) else {code}
        assert entry["error_code"] in codes, entry["error"]
        assert entry["error"]  # says why, in words
        assert os.path.lexists(place(root, name))  # left where it was


def test_names_that_are_not_utf8_are_recorded_printable_and_reversible(run):
    _, log, _ = run
    recorded = log["\\xd5\\xc5\\xc8\\xfd.csv"]["path"]
    assert recorded == f"{AGENCY_FEED}/\\xd5\\xc5\\xc8\\xfd.csv" and recorded.isprintable()
    assert log["in_gbk_folder.csv"]["path"] == "\\xb2\\xe2\\xca\\xd4/registration/in_gbk_folder.csv"


def test_no_value_reaches_a_message(run):
    """The header-less file's first row holds an ID number: not in the ledger, ingest_log, or the terminal."""
    root, log, proc = run
    assert "3 field(s)" in log["no_header.csv"]["error"] and "企业名称" in log["no_header.csv"]["error"]
    assert all(ID_NUMBER not in (entry["error"] or "") for entry in log.values())
    ledger = root / "warehouse" / "raw" / "_ledger"
    assert all(ID_NUMBER not in p.read_text(encoding="utf-8") for p in ledger.glob("*.json"))
    assert ID_NUMBER not in proc.stdout + proc.stderr


def test_the_good_rows_are_published_exactly(run):
    root, log, _ = run
    assert log["good.csv"]["rows_accepted"] == 1 and log["bad..name.csv"]["rows_accepted"] == 1
    names = sorted(n for (n,) in duckdb.sql(
        f"select name from read_parquet('{root}/warehouse/published/enterprise_pool.parquet')").fetchall())
    assert names == ["另一有限公司", "正常有限公司"]
    assert not (root / "warehouse" / "raw" / "registration").joinpath("secret.csv").exists()


def test_the_raw_store_is_private(run):
    root, _, _ = run
    raw = root / "warehouse" / "raw"
    for path in [raw, *raw.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_formula_like_cells_are_kept_as_data(run):
    """=, +, -, @ at the start of a cell are data here; only spreadsheet exports neutralise them."""
    root, log, _ = run
    assert log["formula_cells.csv"]["rows_read"] == 4
    con = duckdb.connect(str(root / "warehouse" / "ssj.duckdb"), read_only=True)
    names = [n for (n,) in con.execute(
        "select name from stg_registration where source_file like '%formula_cells.csv' order by source_row").fetchall()]
    con.close()
    assert names == ['=HYPERLINK("http://evil","点我")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]
