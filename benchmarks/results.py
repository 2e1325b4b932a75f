"""一公开 at province scale: results resolved, deadlines and figures computed, against the floor.

    make bench-results SCALE=1m
    python -m benchmarks.results --scale 1m [--seed 1] [--repeat 3]

1. The generated landing zone of ``benchmarks.pipeline`` (cached per scale and seed),
   whose agencies' results files (``pipelines/generate/results.py``) hold a result for
   most draw entries, is built once with ``ssj run`` into ``bench/results-<scale>/``.
2. **The results models**: ``dbt build`` of the models that turn the raw results into
   the published tables — stg_calendar, stg_results (typing, the categories, the
   deadlines in working days), int_results__resolved (each result → its draw entry),
   inspection_results, publicity, missing_results and kpi — with their tests, in a
   fresh process. Reported: the models' own time (dbt's run_results.json, the SQL),
   their tests' time, and ingesting the results files (the ledger's seconds), each the
   median of ``--repeat`` builds.
3. **Floor**: DuckDB alone, in a fresh connection, reading the same results files
   (every column as text) and joining them to ``draw_entries`` on agency, task and
   USCC — the least that resolving results to draw entries can cost (median of
   ``--repeat``).

The figure: (ingest + models) / floor, and models alone / floor.
Writes ``bench/results/results-<scale>.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.pipeline import AS_OF, BENCH, ROOT, SCALES, generated, link_tree, machine

MODELS = ("stg_calendar", "stg_results", "int_results__resolved", "inspection_results", "publicity", "missing_results",
          "kpi")


def median(values: list[float]) -> float:
    return round(sorted(values)[len(values) // 2], 3)


def build_once(sample: Path, root: Path) -> Path:
    """The warehouse built from ``sample`` (kept between runs of this benchmark)."""
    warehouse = root / "warehouse"
    if (warehouse / "published" / "kpi.parquet").exists():
        return warehouse
    link_tree(sample / "landing", root / "landing")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    print(f"building {warehouse} once (ssj run) …", flush=True)
    subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--landing", str(root / "landing"), "--warehouse",
                    str(warehouse), "--agencies", str(sample / "agencies.yaml"), "--as-of", AS_OF],
                   env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return warehouse


def models_build(warehouse: Path) -> dict:
    """One ``dbt build`` of the results models in a fresh process: the models' and tests' seconds."""
    env = {**os.environ, "SSJ_WAREHOUSE": str(warehouse), "SSJ_AS_OF": AS_OF}
    target = warehouse / ".dbt-bench"
    cmd = [sys.executable, "-m", "dbt.cli.main", "build", "--select", " ".join(MODELS), "--project-dir",
           str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"), "--target-path", str(target)]
    os.sync()
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    return {
        "models": sum(r["execution_time"] for r in results if r["unique_id"].startswith("model.")),
        "tests": sum(r["execution_time"] for r in results if r["unique_id"].startswith(("test.", "unit_test."))),
        "wall": wall,
        "per_model": {r["unique_id"].split(".")[-1]: round(r["execution_time"], 3)
                      for r in results if r["unique_id"].startswith("model.")},
    }


FLOOR = """
import duckdb, sys, time
files, entries = sys.argv[1].split('\\n'), sys.argv[2]
con = duckdb.connect()
t0 = time.perf_counter()
rows = con.execute(f'''
    with results as (
        select regexp_extract(filename, '/([^/]+)/results/[^/]+$', 1) as agency, *
        from read_csv({files!r}, all_varchar = true, header = true, filename = true, union_by_name = true)
    )
    select count(*), count(entries.task_id)
    from results
    left join read_parquet('{entries}') as entries
        on entries.agency = results.agency and entries.task_id = results."任务编号"
        and entries.uscc = results."统一社会信用代码"
''').fetchall()
print(time.perf_counter() - t0, rows[0][0], rows[0][1])
"""


def floor(files: list[Path], entries: Path) -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-c", FLOOR, "\n".join(map(str, files)), str(entries)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def ingest_seconds(warehouse: Path) -> float:
    ledger = [json.loads(p.read_text(encoding="utf-8")) for p in (warehouse / "raw" / "_ledger").glob("*.json")]
    return round(sum(e.get("seconds") or 0 for e in ledger if e.get("feed") == "results"), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="1m", choices=SCALES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = SCALES[args.scale]
    sample = generated(n, args.seed)
    warehouse = build_once(sample, BENCH / f"results-{args.scale}")
    files = sorted((warehouse.parent / "landing").glob("*/results/*"))
    entries = warehouse / "published" / "draw_entries.parquet"
    floors = [floor(files, entries) for _ in range(args.repeat)]
    builds = [models_build(warehouse) for _ in range(args.repeat)]
    fl = median([f[0] for f in floors])
    models, tests = median([b["models"] for b in builds]), median([b["tests"] for b in builds])
    ingest = ingest_seconds(warehouse)
    result = {
        "scale": args.scale, "enterprises": n, "machine": machine(),
        "results_rows": floors[0][1], "rows_joined_to_an_entry": floors[0][2],
        "floor_s": fl, "ingest_s": ingest, "models_s": models, "tests_s": tests,
        "dbt_wall_s": median([b["wall"] for b in builds]),
        "ratio_ingest_and_models": round((ingest + models) / fl, 2), "ratio_models": round(models / fl, 2),
        "per_model_s": builds[len(builds) // 2]["per_model"],
    }
    out = BENCH / "results" / f"results-{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"machine: {result['machine']}")
    print(f"{result['results_rows']:,} results rows ({result['rows_joined_to_an_entry']:,} joined to an entry), "
          f"{n:,} enterprises")
    print(f"{'case':<44} {'seconds':>8} {'× floor':>8}")
    print(f"{'floor: DuckDB reads the files, joins entries':<44} {fl:>8.2f} {1:>8.2f}")
    print(f"{'results models (SQL time)':<44} {models:>8.2f} {models / fl:>8.2f}")
    print(f"{'ingest of the results files + models':<44} {ingest + models:>8.2f} {(ingest + models) / fl:>8.2f}")
    print(f"{'  their dbt tests':<44} {tests:>8.2f}")
    print(f"{'  dbt build, whole process':<44} {result['dbt_wall_s']:>8.2f}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
