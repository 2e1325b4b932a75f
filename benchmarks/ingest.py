"""Ingest throughput against the floor: DuckDB alone reading the same CSV into Parquet.

    python -m benchmarks.ingest --enterprises 1000000 [--encoding utf-8|gb18030]

Writes one registration CSV (cached under bench/), then, each in a fresh
subprocess so peak RSS is its own: (1) shuangsuiji's ingestion of that file
into the raw store; (2) DuckDB `COPY (read_csv all_varchar) TO parquet`.
Prints rows/s, MB/s, peak RSS and the ratio, and writes bench/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

HEADER = "统一社会信用代码,企业名称,企业类型,法定代表人,注册资本,成立日期,登记状态,住所,行政区划代码,登记机关,行业代码,经营范围,从业人数,营业收入,资产总额,网店,更新时间"


def make_csv(n: int, path: Path, encoding: str) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".utf8.csv")
    duckdb.sql(
        f"""
        copy (
          select
            '91350102' || lpad((i * 7919 % 1000000000)::varchar, 9, '0') || 'X' as "统一社会信用代码",
            '福州' || (['鑫','华','泰','隆','盛','福','兴','源'])[i % 8 + 1] || (['达','通','安','和','昌','瑞'])[i % 6 + 1]
              || (['贸易','科技','餐饮','食品','建材','电子'])[i % 6 + 1] || '有限公司' || i as "企业名称",
            '有限责任公司（自然人投资或控股）' as "企业类型",
            '张' || (i % 1000)::varchar as "法定代表人",
            ((i % 5000) + 10)::varchar || '万元' as "注册资本",
            (date '2000-01-01' + (i % 9000)::int)::varchar as "成立日期",
            case when i % 17 = 0 then '注销' else '存续（在营、开业、在册）' end as "登记状态",
            '福建省福州市鼓楼区五一北路' || (i % 500)::varchar || '号' as "住所",
            '350102' as "行政区划代码",
            '福州市鼓楼区市场监督管理局' as "登记机关",
            (['5211','F5211','F52','6210','3011'])[i % 5 + 1] as "行业代码",
            '一般项目：食品销售（仅销售预包装食品）；日用百货销售；互联网销售（除销售需要许可的商品）' as "经营范围",
            (i % 400)::varchar as "从业人数",
            (i % 30000)::varchar as "营业收入",
            (i % 50000)::varchar as "资产总额",
            case when i % 3 = 0 then '是' else '否' end as "网店",
            '2026-01-01' as "更新时间"
          from range({n}) t(i)
        ) to '{tmp}' (header true)
        """
    )
    if encoding == "utf-8":
        tmp.replace(path)
    else:
        with open(tmp, encoding="utf-8") as src, open(path, "w", encoding=encoding) as dst:
            shutil.copyfileobj(src, dst, 16 << 20)
        tmp.unlink()


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_ingest(landing: str, warehouse: str, agencies: str) -> None:
    from pipelines.defs.ingest.landing import ingest_landing

    report = ingest_landing(Path(landing), Path(warehouse), Path(agencies))
    print(json.dumps({"rows": sum(d.rows_read for d in report.decisions), "status": [d.status for d in report.decisions],
                      "peak_rss_mib": peak_rss_mib()}))


def child_floor(csv: str, out: str, encoding: str) -> None:
    import duckdb

    enc = "" if encoding == "utf-8" else f", encoding='{encoding}'"
    duckdb.sql(f"copy (select * from read_csv('{csv}', all_varchar=true, header=true{enc})) to '{out}' (format parquet, compression zstd)")
    print(json.dumps({"rows": duckdb.sql(f"select count(*) from read_parquet('{out}')").fetchall()[0][0],
                      "peak_rss_mib": peak_rss_mib()}))


def timed(args: list[str]) -> dict:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ingest", *args], capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**out, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enterprises", type=int, default=1_000_000)
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "gb18030"])
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        {"ingest": child_ingest, "floor": child_floor}[kind](*rest)
        return

    case = BENCH / f"ingest-{args.enterprises}-{args.encoding}"
    csv = case / "landing" / "samr-350102" / "registration" / "registration.csv"
    if not csv.exists():
        print(f"writing {args.enterprises} rows to {csv} …", flush=True)
        make_csv(args.enterprises, csv, args.encoding)
    mb = csv.stat().st_size / 1e6
    shutil.rmtree(case / "warehouse", ignore_errors=True)
    (case / "floor.parquet").unlink(missing_ok=True)

    floor = timed(["--child", "floor", str(csv), str(case / "floor.parquet"), args.encoding])
    ingest = timed(["--child", "ingest", str(case / "landing"), str(case / "warehouse"), str(ROOT / "config" / "agencies.yaml")])
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, Python {platform.python_version()}",
        "file": {"rows": args.enterprises, "megabytes": round(mb, 1), "encoding": args.encoding},
        "duckdb_floor": {**floor, "rows_per_s": round(floor["rows"] / floor["seconds"]), "mb_per_s": round(mb / floor["seconds"], 1)},
        "ssj_ingest": {**ingest, "rows_per_s": round(ingest["rows"] / ingest["seconds"]), "mb_per_s": round(mb / ingest["seconds"], 1)},
    }
    result["ratio_ingest_over_floor"] = round(ingest["seconds"] / floor["seconds"], 2)
    BENCH.mkdir(exist_ok=True)
    (BENCH / f"ingest-{args.enterprises}-{args.encoding}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
