"""Hostile drops beside good ones (issue 6): each gets one clear outcome, nothing else is disturbed.

The corpus lives in tests/corpus/hostile/ (see its README); what is too big or
too odd to commit is built here: a 50 MB line, an XLSX zip bomb, a symlink
pointing out of the landing zone, file names with a newline and with `..`.
One `ssj run` takes them all; it must succeed, ingest the good file, reject
each bad file with its reason (left in place), and keep formula-like cells as
data.
"""

from __future__ import annotations

import shutil
import zipfile

import duckdb
import pytest

from tests.support import ROOT, make_uscc, run_ssj

pytestmark = pytest.mark.slow

CORPUS = ROOT / "tests" / "corpus" / "hostile"
FOLDER = "samr-350102/registration"
GOOD = "统一社会信用代码,企业名称,成立日期\n91350102MA2Y000071,正常有限公司,2024-01-01\n"

EXPECTED = {  # file name -> (status, error_code or None)
    "good.csv": ("ingested", None),
    "empty.csv": ("rejected", "empty_file"),
    "header_only.csv": ("ingested", None),
    "binary_garbage.csv": ("rejected", {"unreadable", "bad_encoding"}),
    "nul_bytes.csv": ("rejected", "unreadable"),
    "mixed_encodings.csv": ("rejected", "bad_encoding"),
    "truncated.xlsx": ("rejected", "unreadable"),
    "formula_cells.csv": ("ingested", None),
    "long_line.csv": ("rejected", "unreadable"),
    "zip_bomb.xlsx": ("rejected", "too_large"),
    "outside.csv": ("rejected", "symlink"),
    "bad\nname.csv": ("rejected", "bad_name"),
    "bad..name.csv": ("ingested", None),  # '..' inside a name is harmless; only a '..' path segment escapes
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "landing" / FOLDER
    folder.mkdir(parents=True)
    for f in CORPUS.iterdir():
        if f.suffix != ".md":
            shutil.copy(f, folder / f.name)
    (folder / "good.csv").write_text(GOOD, encoding="utf-8")
    with open(folder / "long_line.csv", "wb") as f:  # one 50 MB record, then a good one
        f.write(GOOD.split("\n")[0].encode() + b"\n")
        f.write(b"91350102MA2Y000071," + b"x" * (50 << 20) + b",2024-01-01\n")
    with zipfile.ZipFile(folder / "zip_bomb.xlsx", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for _ in range(80):
                f.write(b"\x00" * (1 << 20))
    secret = root / "secret.csv"
    secret.write_text(GOOD, encoding="utf-8")
    (folder / "outside.csv").symlink_to(secret)
    (folder / "bad\nname.csv").write_text(GOOD, encoding="utf-8")
    other = GOOD.replace("91350102MA2Y000071", make_uscc("91350102MA2Y00008")).replace("正常", "另一")
    (folder / "bad..name.csv").write_text(other, encoding="utf-8")
    proc = run_ssj(root / "landing", root / "warehouse")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = {r["path"].rsplit("/", 1)[-1]: r for r in duckdb.sql(
        f"select * from read_parquet('{root}/warehouse/published/ingest_log.parquet')"
    ).to_arrow_table().to_pylist()}
    return root, log, proc


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_clear_outcome_per_file(run, name):
    root, log, _ = run
    status, code = EXPECTED[name]
    entry = log[name]
    assert entry["status"] == status, entry["error"]
    if status == "rejected":
        codes = code if isinstance(code, set) else {code}
        assert entry["error_code"] in codes
        assert entry["error"]  # says why, in words
        assert (root / "landing" / FOLDER / name).exists() or (root / "landing" / FOLDER / name).is_symlink()


def test_the_good_rows_are_in_the_pool(run):
    root, log, _ = run
    assert log["good.csv"]["rows_accepted"] == 1
    names = {n for (n,) in duckdb.sql(
        f"select name from read_parquet('{root}/warehouse/published/enterprise_pool.parquet')").fetchall()}
    assert "正常有限公司" in names
    assert not (root / "warehouse" / "raw" / "registration").joinpath("secret.csv").exists()


def test_formula_like_cells_are_kept_as_data(run):
    """=, +, -, @ at the start of a cell are data here; only spreadsheet exports neutralise them."""
    root, log, _ = run
    assert log["formula_cells.csv"]["rows_read"] == 4
    con = duckdb.connect(str(root / "warehouse" / "ssj.duckdb"), read_only=True)
    names = [n for (n,) in con.execute(
        "select name from stg_registration where source_file like '%formula_cells.csv' order by source_row").fetchall()]
    con.close()
    assert names == ['=HYPERLINK("http://evil","点我")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]
