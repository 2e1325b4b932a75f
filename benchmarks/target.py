"""Target-database publish: the whole snapshot in one transaction vs loading a fresh table.

    python -m benchmarks.target [--rows 1000000] [--url postgresql://postgres@127.0.0.1:5432/test] [--repeat 3]

Builds an enterprise_pool-shaped table of ``--rows`` rows in DuckDB (nine columns,
Chinese text, dates, a credit grade; ``enterprise_id`` the primary key, ``uscc``
indexed) and times, in one process, alternating, ``--repeat`` times each:

* **reference** — what publishing table by table costs at least: ``COPY`` the rows
  into a new table, add its primary key and index, swap it in by rename, drop the
  old one (one transaction per table; grants and dependent views do not survive it);
* **whole** — ``publish_to_target`` replacing every row of the live table (which
  holds a snapshot already) in one transaction that keeps its grants and the views
  on it: what a run that changed most rows costs;
* **delta** — the same, as ``ssj run`` publishes a snapshot when the target holds
  the previous one: ``--changed`` of the rows renamed, a tenth of that gone and as
  many new; only those rows are written.

Prints the median of each and their ratios to the reference, with the machine;
drops its tables.
"""

import argparse
import statistics
import time

import duckdb
import sqlalchemy as sa

from benchmarks.pipeline import machine
from connectors.sql import make_engine
from pipelines.defs.publish.sql_target import (
    SnapshotRow,
    _arrow_reader,
    _pg_export_expr,
    duckdb_columns,
    publish_to_target,
)

SCHEMA = "ssj_bench_target"


def enterprise_table(con: duckdb.DuckDBPyConnection, rows: int, changed: float) -> None:
    """``base`` and ``next`` (``changed`` of the rows renamed, some gone, as many new); ``enterprise_pool`` a view."""
    con.execute(f"""
        create table main.base as
        select 'E' || lpad(i::varchar, 10, '0') as enterprise_id,
               '91350100' || lpad((i * 7919 % 1000000000)::varchar, 10, '0') as uscc,
               '福州市' || (i % 977)::varchar || '号食品有限公司' as name,
               ['食品销售', '餐饮服务', '特种设备'][1 + i % 3] as sector,
               ['微型', '小型', '中型', '大型'][1 + i % 4] as scale,
               ['A', 'B', 'C', 'D'][1 + i % 4] as credit_grade,
               '350102' as region_code,
               date '2000-01-01' + (i % 9000)::integer as established,
               i % 5 = 0 as licensed
        from range({rows}) t(i)
        order by hash(i)
    """)
    step = max(1, round(1 / changed))
    con.execute(f"""
        create table main.next as
        select * replace (case when hash(enterprise_id) % {step} = 0 then name || '（更名）' else name end as name)
        from main.base where hash(enterprise_id) % {step * 10} <> 1
        union all
        select * replace ('N' || enterprise_id[2:] as enterprise_id)
        from main.base where hash(enterprise_id) % {step * 10} = 2
    """)


def show(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f"create or replace view main.enterprise_pool as select * from main.{table}")


def reference(con: duckdb.DuckDBPyConnection, engine: sa.Engine) -> float:
    """COPY into a fresh table, key it, rename it over the live one (the floor of a table-by-table swap)."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = duckdb_columns(con, "enterprise_pool")
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        with pg.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {SCHEMA}.ref_loading")
            cur.execute(f"CREATE TABLE {SCHEMA}.ref_loading (LIKE {SCHEMA}.enterprise_pool)")
            reader = _arrow_reader(con, "select " + ", ".join(_pg_export_expr(c) for c in cols) + " from enterprise_pool")
            options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
            with cur.copy(f"COPY {SCHEMA}.ref_loading FROM STDIN (FORMAT csv)") as copy:
                for batch in reader:
                    buf = io.BytesIO()
                    pacsv.write_csv(pa.Table.from_batches([batch]), buf, options)
                    copy.write(buf.getbuffer())
            cur.execute(f"ALTER TABLE {SCHEMA}.ref_loading ADD PRIMARY KEY (enterprise_id)")
            cur.execute(f"CREATE INDEX ON {SCHEMA}.ref_loading (uscc)")
            cur.execute(f"DROP TABLE IF EXISTS {SCHEMA}.ref_live")
            cur.execute(f"ALTER TABLE {SCHEMA}.ref_loading RENAME TO ref_live")
            cur.execute(f"ANALYZE {SCHEMA}.ref_live")
        pg.commit()
    finally:
        raw.close()
    return time.perf_counter() - t0


def publish(con: duckdb.DuckDBPyConnection, url: str, n: int, previous: str | None = None) -> float:
    t0 = time.perf_counter()
    publish_to_target(con, ["enterprise_pool"], url, schema=SCHEMA,
                      snapshot=SnapshotRow(f"bench-{n}", "2026-12-01", "2026-12-01T00:00:00+00:00"),
                      previous={"enterprise_pool": previous} if previous else None)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--changed", type=float, default=0.01)
    args = ap.parse_args()

    engine = make_engine(args.url)
    with engine.begin() as c:
        c.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        c.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    con = duckdb.connect()
    try:
        enterprise_table(con, args.rows, args.changed)
        show(con, "base")
        publish(con, args.url, 0)  # creates the live table: every timed publish replaces a full one
        with engine.begin() as c:  # a downstream view and grant, as a consumer would have
            c.execute(sa.text(f"CREATE VIEW {SCHEMA}.consumer_view AS SELECT uscc, name FROM {SCHEMA}.enterprise_pool"))
        refs, wholes, deltas = [], [], []
        for i in range(args.repeat):
            refs.append(reference(con, engine))
            show(con, "next")  # the target holds base: every row replaced
            wholes.append(publish(con, args.url, 2 * i + 1))
            show(con, "base")  # then back to base, by delta from next
            deltas.append(publish(con, args.url, 2 * i + 2, previous="main.next"))
        with engine.connect() as c:
            assert c.execute(sa.text(f"select count(*) from {SCHEMA}.consumer_view")).scalar() == args.rows
    finally:
        con.close()
        with engine.begin() as c:
            c.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        engine.dispose()
    ref = statistics.median(refs)
    print(f"Machine: {machine()}. {args.rows:,} rows, PostgreSQL, median of {args.repeat}.")
    for label, runs in [("reference (fresh table + keys + rename)", refs),
                        ("whole (every row, one transaction)", wholes),
                        (f"delta ({args.changed:.0%} changed, one transaction)", deltas)]:
        mid = statistics.median(runs)
        print(f"  {label:<42} {mid:6.2f} s = {mid / ref:4.2f}x   runs {', '.join(f'{t:.2f}' for t in runs)}")


if __name__ == "__main__":
    main()
