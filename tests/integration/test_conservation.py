"""Nothing is lost silently, as a property: for any registration drop, every record
written lands in the raw store and comes out of staging exactly once, accepted or
quarantined (docs/contract.md §1: rows read = rows accepted + rows quarantined).

Each example is a landing zone of generated CSV / JSON Lines files — messy cells,
quotes, embedded line breaks, full-width text, ragged rows, both encodings —
ingested by the real ingestion code and staged by the real staging SQL (compiled
once by dbt, then run directly in DuckDB so an example costs milliseconds).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.defs.ingest.landing import ingest_landing
from pipelines.udfs import register
from tests.support import SAMPLE_REGISTRY, make_uscc, run_dbt

pytestmark = pytest.mark.slow

HEADER = ["统一社会信用代码", "企业名称", "成立日期", "注册资本", "网店", "备注"]
VALID = make_uscc("91350102MA2Y0000" + "7")

cells = st.one_of(
    st.sampled_from(["", " ", VALID, VALID.lower(), "91350102MA2Y00007X", "福州（鼓楼）ＡＢＣ有限公司", "2024年3月5日",
                     "2024-13-45", "100万元", "1,000", "是", "也许", '含"引号"', "含,逗号", "换\n行", "=cmd|' /C calc'!A0"]),
    st.text(alphabet=st.characters(codec="gb18030", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12),
)
records = st.lists(st.lists(cells, min_size=1, max_size=len(HEADER) + 2), min_size=0, max_size=25)
files = st.lists(st.tuples(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "jsonl"]), records), min_size=1, max_size=3)


def data_records(rows: list[list[str]]) -> int:
    """Records that hold data: a row whose every cell is empty or white space is skipped by design
    (connectors/readers/)."""
    return sum(any(c.strip() != "" for c in r) for r in rows)


def write_drop(path: Path, encoding: str, rows: list[list[str]]) -> int:
    """Write one drop; return how many data records it holds."""
    if encoding == "jsonl":
        lines = [json.dumps(dict(zip(HEADER, r + [""] * len(HEADER))), ensure_ascii=False) for r in rows]
        path.with_suffix(".jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return data_records([r[: len(HEADER)] for r in rows])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(rows)
    path.with_suffix(".csv").write_bytes(buf.getvalue().encode(encoding))
    return data_records(rows)


class Compiled(tuple):
    def __repr__(self) -> str:  # hypothesis prints fixtures of a failing example: keep it short
        return f"Compiled({self[0]})"


@pytest.fixture(scope="module")
def staging_sql(tmp_path_factory) -> tuple[Path, str]:
    """A warehouse with the seeds loaded, and stg_registration's SQL compiled against it."""
    warehouse = tmp_path_factory.mktemp("conservation") / "warehouse"
    warehouse.mkdir()
    target = warehouse.parent / "dbt-target"
    run_dbt(warehouse, "2026-06-30", "seed", "--target-path", str(target))
    run_dbt(warehouse, "2026-06-30", "compile", "--select", "stg_registration stg_ledger", "--target-path", str(target))
    compiled = target / "compiled" / "shuangsuiji" / "models" / "staging"
    sql = (compiled / "stg_registration.sql").read_text("utf-8")
    ledger = (compiled / "stg_ledger.sql").read_text("utf-8")
    relation = '"ssj"."main"."stg_ledger"'
    assert relation in sql
    sql = sql.replace(relation, f"({ledger})")  # the ledger snapshot, read live for each example
    return Compiled((warehouse, sql))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drops=files)
def test_every_record_is_accepted_or_quarantined_once(staging_sql, drops):
    warehouse, sql = staging_sql
    landing = warehouse.parent / "landing"
    for d in (landing, warehouse / "raw"):
        shutil.rmtree(d, ignore_errors=True)
    folder = landing / "samr-350102" / "registration"
    folder.mkdir(parents=True)
    written = {}
    for i, (encoding, rows) in enumerate(drops):
        n = write_drop(folder / f"drop{i}", encoding, rows)
        rel = next(p for p in folder.iterdir() if p.stem == f"drop{i}").relative_to(landing).as_posix()
        os.utime(folder / Path(rel).name, (1_767_000_000 + i,) * 2)
        written[rel] = n

    report = ingest_landing(landing, warehouse, SAMPLE_REGISTRY)
    decided = {d.rel: d for d in report.decisions}
    assert set(decided) == set(written)

    con = duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True)
    register(con)
    # staged once, as dbt builds it (an aggregate straight over the model's SQL plans for seconds)
    con.execute(f"create temporary table staged as select * from ({sql})")
    staged = dict(con.execute("select source_file, count(*) from staged group by source_file").fetchall())
    verdicts = con.execute(
        "select count(*) filter (where is_accepted = (len(reason_codes) = 0)), count(*) from staged"
    ).fetchall()[0]
    con.close()

    for rel, n in written.items():
        d = decided[rel]
        if d.status == "duplicate":  # identical bytes as an earlier drop of this example
            assert d.duplicate_of in written
            continue
        if n == 0 and rel.endswith(".jsonl"):
            continue  # an empty JSON Lines file has no header: rejected or empty, either way no rows
        assert d.status == "ingested", d.error
        assert d.rows_read == n, f"{rel}: wrote {n} records, ingestion read {d.rows_read}"
        assert staged.get(rel, 0) == n, f"{rel}: {n} records, staging has {staged.get(rel, 0)}"
    assert verdicts[0] == verdicts[1]  # every staged row is accepted xor has reason codes
