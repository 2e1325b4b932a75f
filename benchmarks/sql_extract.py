"""SQL extract throughput: a 200k-row roster in PostgreSQL, full and incremental.

    python -m benchmarks.sql_extract [--rows 200000] [--changed 0.01] [--url postgresql://postgres@127.0.0.1/test]

Creates ``ssj_bench_roster_<pid>`` (Chinese column names, an index on 更新时间),
then times:

* connector only — ``read_sql_source`` streamed to the end (server-side cursor,
  text conversion, hashing), full and incremental;
* end to end — ``ingest_sql_source`` into a temporary warehouse (spool, raw
  Parquet, ledger, watermark), full, then incremental after ``--changed`` of
  the rows got a new 更新时间.

Prints rows/s and peak RSS; drops the table afterwards.
"""

import argparse
import os
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from connectors.feeds import feeds
from connectors.sql import make_engine, read_sql_source
from pipelines.defs.ingest.sql_sources import SqlSource, ingest_sql_source, read_state


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _drain(extract) -> int:
    n = 0
    for batch in extract.batches():
        n += batch.num_rows
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--changed", type=float, default=0.01)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--chunk-rows", type=int, default=50_000)
    args = ap.parse_args()

    table = f"ssj_bench_roster_{os.getpid()}"
    engine = make_engine(args.url)
    with engine.begin() as c:
        c.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        c.execute(
            sa.text(
                f"""CREATE TABLE "{table}" AS
                SELECT 'FJ' || lpad(i::text, 8, '0') AS "执法证号",
                       '检查员' || i AS "姓名",
                       '350102' || lpad((19700101 + i % 300000)::text, 8, '0') || lpad((i % 1000)::text, 3, '0') || 'X' AS "身份证号",
                       '福州市' || (ARRAY['鼓楼区','台江区','仓山区','晋安区'])[1 + i % 4] || '市场监督管理局' AS "所属单位",
                       '第' || (i % 12) || '市场监管所' AS "科室",
                       (ARRAY['食品；特种设备','药品、医疗器械','计量','广告,价格'])[1 + i % 4] AS "执法门类",
                       CASE WHEN i % 20 = 0 THEN '退休' ELSE '在岗' END AS "在岗状态",
                       DATE '2030-12-31' - (i % 2000) AS "证件有效期",
                       TIMESTAMP '2025-01-01 00:00:00' + (i % 86400) * INTERVAL '1 second' AS "更新时间",
                       CASE WHEN i % 3 = 0 THEN NULL ELSE '备注' || i END AS "备注"
                FROM generate_series(1, :n) AS s(i)"""
            ),
            {"n": args.rows},
        )
        c.execute(sa.text(f'ALTER TABLE "{table}" ADD PRIMARY KEY ("执法证号")'))
        c.execute(sa.text(f'CREATE INDEX ON "{table}" ("更新时间")'))
        c.execute(sa.text(f'ANALYZE "{table}"'))
    feed = feeds()["inspectors"]
    src = SqlSource(
        name="bench", agency="sfj-350100", feed="inspectors", url_env="SSJ_BENCH_URL", table=table,
        watermark="更新时间", chunk_rows=args.chunk_rows,
    )
    env = {"SSJ_BENCH_URL": args.url}
    results: list[tuple[str, int, float]] = []
    try:
        ex = read_sql_source(args.url, table=table, feed=feed, watermark_column="更新时间", since=None, chunk_rows=args.chunk_rows)
        n, secs = _timed(lambda: _drain(ex))
        results.append(("connector, full", n, secs))
        with tempfile.TemporaryDirectory() as tmp:
            wh = Path(tmp)
            r, secs = _timed(lambda: ingest_sql_source(src, wh, datetime.now(), env=env))
            results.append(("ingest (raw Parquet + ledger), full", r.rows, secs))

            changed = max(1, int(args.rows * args.changed))
            with engine.begin() as c:
                c.execute(
                    sa.text(
                        f"""UPDATE "{table}" SET "在岗状态" = '离岗', "更新时间" = TIMESTAMP '2025-06-01 00:00:00'
                        WHERE "执法证号" IN (SELECT "执法证号" FROM "{table}" ORDER BY md5("执法证号") LIMIT :k)"""
                    ),
                    {"k": changed},
                )
            state = read_state(wh, "bench")
            ex = read_sql_source(
                args.url, table=table, feed=feed, watermark_column="更新时间", since=state["watermark"],
                since_type=state["watermark_type"], exclude=state["boundary"], chunk_rows=args.chunk_rows,
            )
            n, secs = _timed(lambda: _drain(ex))
            results.append((f"connector, incremental ({changed} changed)", n, secs))
            r, secs = _timed(lambda: ingest_sql_source(src, wh, datetime.now(), env=env))
            results.append((f"ingest, incremental ({changed} changed)", r.rows, secs))
            assert r.rows == changed, (r.rows, changed)
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        engine.dispose()

    print(f"PostgreSQL roster, {args.rows:,} rows, chunk_rows={args.chunk_rows:,}")
    for label, n, secs in results:
        print(f"  {label:<45} {n:>9,} rows  {secs:7.2f} s  {n / secs if secs else 0:>10,.0f} rows/s")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
