"""The whole pipeline at province scale, against the floor.

    make bench SCALE=1m            # or 2k (the sample `make run` uses), 10k, 100k, 200k, 10m
    python -m benchmarks.pipeline --scale 1m [--seed 1] [--memory 6GB] [--drop-rows N] [--drops 3]

1. The synthetic landing zone is generated once per scale and seed and cached
   under ``bench/gen/<n>-s<seed>/`` (``ssj generate``; reused while its
   ``truth/summary.json`` exists). Above 1M it is assembled from 1M tiles
   (``benchmarks/tiles.py``: the generator needs ~4.4 GB of RAM per million).
2. **Full build from empty**: ``ssj run`` into a new warehouse, in a subprocess,
   while a sampler thread reads the RSS of that process and all its children
   (dbt) every 0.1 s. Stage times come from the run's own records: Dagster's
   event log (step start/end), dbt's run_results.json (each model), the ingest
   ledger (each file's ``seconds``, summed by feed).
3. **Incremental**: a draw-list drop of ``--drop-rows`` rows (a new task over
   enterprises of the pool, in CSV) is added and ``ssj run`` runs again; it must
   choose the draws build. ``--drops`` such drops (new tasks, one after the
   other), reported by their median; run times of a few tens of seconds vary by
   several seconds from run to run on a shared machine.
4. **Start-up reference**: ``python -c "import dagster, dagster_dbt"`` in a fresh
   process (median of 3): the least any run of a Dagster + dbt pipeline costs.
   Small runs are judged against it, large ones against the floor.
5. **Floor**: DuckDB alone reading the same landing files and writing each as
   Parquet (all columns as text), in a fresh process. DuckDB here reads neither
   GB18030 nor XLSX: those files are decoded by Python's codec / python-calamine
   into the same DuckDB COPY (the least any reader must do).

Every measured run starts after ``sync``: the step before it (the floor, the full
build's ~10 GB at 10M) leaves gigabytes of written pages that the kernel writes
back afterwards, and a run started meanwhile would measure that
write-back too.

Writes ``bench/results/pipeline-<scale>.json`` and ``.md`` and prints the table.
The landing zone is hard-linked file by file into the run's folder, so the
cache is never written to.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from benchmarks.tiles import TILE, assemble

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SCALES = {"2k": 2_000, "10k": 10_000, "100k": 100_000, "200k": 200_000, "1m": 1_000_000, "10m": 10_000_000}
AS_OF = "2026-11-26"
PAGE = os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------ memory --


class TreeSampler(threading.Thread):
    """Samples the resident memory of a process and all its descendants."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []  # (time.time(), bytes)
        self._halt = threading.Event()

    def _tree_rss(self) -> int:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as f:
                        ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry.name))
                except (OSError, ValueError, IndexError):
                    pass
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, []))
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * PAGE
            except OSError:
                pass
        return total

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.time(), self._tree_rss()))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def peak(self, start: float = 0, end: float = float("inf")) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


def gib(n: int) -> float:
    return round(n / 2**30, 2)


# -------------------------------------------------------------- the input --


def generated(n: int, seed: int) -> Path:
    out = BENCH / "gen" / f"{n}-s{seed}"
    if not (out / "truth" / "summary.json").exists() and n > TILE:
        print(f"assembling {n} enterprises from {n // TILE} generated tiles of {TILE} (cached) …", flush=True)
        assemble(out, n, seed)
    elif not (out / "truth" / "summary.json").exists():
        print(f"generating {n} enterprises into {out} (cached for later runs) …", flush=True)
        subprocess.run([sys.executable, "-m", "pipelines.cli", "generate", "--enterprises", str(n), "--out", str(out),
                        "--seed", str(seed)], check=True, cwd=ROOT)
    return out


def link_tree(src: Path, dst: Path) -> None:
    """``dst`` mirrors ``src`` with hard links (same bytes and mtimes, no copy, the cache untouched)."""
    shutil.rmtree(dst, ignore_errors=True)
    for dirpath, _, files in os.walk(src):
        target = dst / Path(dirpath).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            os.link(Path(dirpath) / name, target / name)


def landing_files(landing: Path) -> list[Path]:
    """The files ingestion looks at (the same scan: no in-progress, hidden or lock files)."""
    from pipelines.defs.ingest.landing import scan_landing

    return [f.path for f in scan_landing(landing)]


def write_drop(warehouse: Path, landing: Path, rows: int, task: int = 1) -> Path:
    """A new task (``BENCH-<task>``) over ``rows`` enterprises of the published pool, as an agency would drop it."""
    import duckdb

    pool = duckdb.sql(f"""
        select * from (
            select uscc, name from read_parquet('{warehouse}/published/enterprise_pool.parquet')
            where uscc is not null and is_active
        ) using sample reservoir({rows} rows) repeatable ({6 + task})
    """).fetchall()
    path = landing / "samr-350102" / "draw_list" / f"bench_增量抽取_{task:02d}.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["任务编号", "任务名称", "统一社会信用代码", "企业名称", "检查事项", "开始日期", "结束日期"])
        for uscc, name in pool:
            w.writerow([f"BENCH-{task:02d}", "基准增量抽查", uscc, name, "年报公示信息", "2026-05-01", "2026-07-31"])
    return path


# ----------------------------------------------------------------- a run --


def ssj_run(landing: Path, warehouse: Path, agencies: Path, memory: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    env["SSJ_DUCKDB_MEMORY"] = memory
    os.sync()  # see the module doc: the previous run's write-back is not this run's time
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing), "--warehouse", str(warehouse),
           "--agencies", str(agencies), "--as-of", AS_OF]
    started = time.time()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    output = proc.communicate()[0]
    ended = time.time()
    sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"ssj run failed:\n{output[-5000:]}")
    mode = next((line.split("build: ", 1)[1].split()[0] for line in output.splitlines() if "build: " in line), "?")
    stages = stage_times(warehouse, started)
    for stage in stages:
        stage["peak_rss_gib"] = gib(sampler.peak(stage["start"], stage["end"]))
    return {"seconds": round(ended - started, 2), "peak_rss_gib": gib(sampler.peak()), "build": mode,
            "stages": [{k: v for k, v in s.items() if k not in ("start", "end")} for s in stages]}


def stage_times(warehouse: Path, since: float) -> list[dict]:
    """Dagster steps of the runs started after ``since``, with dbt models and ingested feeds inside them."""
    os.environ["DAGSTER_HOME"] = str(warehouse / ".dagster")
    from dagster import DagsterEventType, DagsterInstance

    stages: list[dict] = []
    with DagsterInstance.get() as instance:
        runs = [r for r in instance.get_run_records() if r.create_timestamp.timestamp() >= since - 1]
        for record in sorted(runs, key=lambda r: r.create_timestamp):
            starts: dict[str, float] = {}
            for event in instance.all_logs(record.dagster_run.run_id):
                if not event.is_dagster_event or not event.step_key:
                    continue
                kind = event.dagster_event.event_type
                if kind == DagsterEventType.STEP_START:
                    starts[event.step_key] = event.timestamp
                elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and event.step_key in starts:
                    stages.append({"stage": event.step_key, "start": starts[event.step_key], "end": event.timestamp,
                                   "seconds": round(event.timestamp - starts[event.step_key], 2)})
    for stage in stages:
        if stage["stage"] == "landing_files":
            stage["parts"] = ingest_by_feed(warehouse, stage["start"] - 1)
        elif stage["stage"] in ("dbt_staging", "dbt_marts"):
            stage["parts"] = dbt_models(warehouse / ".dbt" / stage["stage"] / "run_results.json", stage["start"] - 1)
        elif stage["stage"] == "published":
            stage["parts"] = published_tables(since)
    return stages


def published_tables(since: float) -> dict:
    """Seconds per published table (writing its Parquet + its asset summary), from the materializations."""
    from dagster import AssetKey, DagsterInstance

    from pipelines.defs.publish.tables import published_tables as tables

    parts = {}
    with DagsterInstance.get() as instance:
        for table in tables():
            event = instance.get_latest_materialization_event(AssetKey(["published", table]))
            if event is None or event.timestamp < since:
                continue
            meta = event.asset_materialization.metadata
            if "write_seconds" in meta:
                parts[f"{table} (write + summary)"] = round(meta["write_seconds"].value + meta["summary_seconds"].value, 2)
    return dict(sorted(parts.items(), key=lambda kv: -kv[1]))


def ingest_by_feed(warehouse: Path, since: float) -> dict:
    feeds: dict[str, dict] = {}
    for path in (warehouse / "raw" / "_ledger").glob("*.json"):
        e = json.loads(path.read_text(encoding="utf-8"))
        if e.get("path") is None or not e.get("seconds") or datetime.fromisoformat(e["processed_at"]).timestamp() < since:
            continue
        f = feeds.setdefault(e["feed"] or "(rejected)", {"files": 0, "rows": 0, "seconds": 0.0})
        f["files"] += 1
        f["rows"] += e.get("rows_read") or 0
        f["seconds"] = round(f["seconds"] + e["seconds"], 2)
    for f in feeds.values():
        f["rows_per_s"] = round(f["rows"] / f["seconds"]) if f["seconds"] else None
    return feeds


def dbt_models(run_results: Path, since: float) -> dict:
    if not run_results.exists() or run_results.stat().st_mtime < since:
        return {}
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    models = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
              for r in results if r["unique_id"].startswith(("model.", "seed."))}
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith(("test.", "unit_test.")))
    return {**dict(sorted(models.items(), key=lambda kv: -kv[1])), "(dbt tests)": round(tests, 2)}


# ----------------------------------------------------------------- floor --


def floor(landing: Path, out: Path) -> dict:
    """DuckDB alone: every landing file to Parquet, in a fresh process (see the module doc)."""
    os.sync()
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.pipeline", "--floor-child", str(landing), str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"floor failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "seconds": round(time.monotonic() - started, 2)}


def floor_child(landing: Path, out: Path) -> None:
    import duckdb

    from connectors.encoding import FileRejected

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    con = duckdb.connect()
    rows = 0
    for i, path in enumerate(landing_files(landing)):
        try:
            rows += _floor_one(con, path, out, i)
        except FileRejected:  # a file ingestion rejects (encoding, empty) is no work for the floor either
            continue
    print(json.dumps({"rows": rows, "peak_rss_gib": gib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}))


def _floor_one(con, path: Path, out: Path, i: int) -> int:
    """One landing file to Parquet; its row count."""
    from connectors.encoding import detect_csv_encoding  # the same detection ingestion uses

    target = out / f"{i}.parquet"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        source = path
        if detect_csv_encoding(path) == "gb18030":
            source = out / f"{i}.utf8.csv"
            with open(path, encoding="gb18030", errors="replace") as src, open(source, "w", encoding="utf-8") as dst:
                shutil.copyfileobj(src, dst, 16 << 20)
        rel = f"read_csv('{source}', all_varchar = true, header = true, strict_mode = false)"
    elif suffix in (".jsonl", ".json", ".ndjson"):
        rel = f"read_json('{path}', format = 'newline_delimited')"
    elif suffix == ".parquet":
        rel = f"read_parquet('{path}')"
    elif suffix in (".xlsx", ".xls"):
        from python_calamine import CalamineWorkbook
        import pyarrow as pa

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        if not sheet:
            return 0
        header, body = [str(h) for h in sheet[0]], sheet[1:]
        table = pa.table({h or f"c{j}": [None if r[j] is None else str(r[j]) for r in body]
                          for j, h in enumerate(header)})
        con.register("sheet", table)
        rel = "sheet"
    else:
        return 0
    con.execute(f"copy (select * from {rel}) to '{target}' (format parquet, compression zstd)")
    return con.execute(f"select count(*) from read_parquet('{target}')").fetchall()[0][0]


# ---------------------------------------------------------------- report --


def import_seconds(runs: int = 3) -> float:
    """Median wall time of a fresh ``python -c "import dagster, dagster_dbt"``."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import dagster, dagster_dbt"], check=True)
        times.append(time.perf_counter() - t0)
    return round(sorted(times)[len(times) // 2], 2)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    return f"{cpu}, {os.cpu_count()} cores, {mem} GiB, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def markdown(result: dict) -> str:
    full, inc, fl = result["full"], result["incremental"], result["floor"]
    lines = [
        f"### Pipeline benchmark, {result['scale']} enterprises (seed {result['seed']})",
        "",
        f"Machine: {result['machine']}. DuckDB memory limit {result['memory_limit']}. Input: "
        f"{result['input']['files']} files, {result['input']['megabytes']} MB, {result['input']['rows']:,} rows.",
        "",
        "| case | wall s | peak RSS GiB | rows/s | vs floor |",
        "|---|---:|---:|---:|---:|",
        f"| floor (DuckDB alone: files → Parquet) | {fl['seconds']} | {fl['peak_rss_gib']} | "
        f"{round(fl['rows'] / fl['seconds']):,} | 1.00× |",
        f"| full build from empty (`ssj run`) | {full['seconds']} | {full['peak_rss_gib']} | "
        f"{round(result['input']['rows'] / full['seconds']):,} | {result['ratio_full_over_floor']}× |",
        f"| incremental: {result['drop_rows']:,}-row draw-list drop ({inc['build']} build; median of "
        f"{', '.join(map(str, result.get('incremental_runs_seconds', [inc['seconds']])))}) | {inc['seconds']} | "
        f"{inc['peak_rss_gib']} | | |",
        "",
        f"Start-up reference (`import dagster, dagster_dbt`, fresh process, median of 3): {result.get('import_seconds')} s; "
        f"the full build is {result.get('ratio_full_over_import')}× it, the drop {result.get('ratio_drop_over_import')}×.",
        "",
        "Stages of the full build (Dagster steps; dbt models and ingested feeds inside them):",
        "",
        "| stage | s | peak RSS GiB | share |",
        "|---|---:|---:|---:|",
    ]
    for s in full["stages"]:
        lines.append(f"| {s['stage']} | {s['seconds']} | {s['peak_rss_gib']} | {round(100 * s['seconds'] / full['seconds'])}% |")
        for name, part in (s.get("parts") or {}).items():
            if isinstance(part, dict):
                # seconds summed over the feed's files, which are read several at a time
                lines.append(f"| &nbsp;&nbsp;{name} ({part['files']} files, {part['rows']:,} rows, "
                             f"{part['rows_per_s'] or 0:,} rows/s per reader; file-seconds) | {part['seconds']} | | |")
            elif part >= 0.5 or name == "(dbt tests)":
                lines.append(f"| &nbsp;&nbsp;{name} | {part} | | |")
    lines += ["", f"Great Expectations share of the full build: {result['gx_share_pct']}%.", "",
              "Stages of the incremental build (the median run):", "", "| stage | s |", "|---|---:|"]
    lines += [f"| {s['stage']} | {s['seconds']} |" for s in inc["stages"]]
    return "\n".join(lines) + "\n"


def write_result(result: dict) -> str:
    out = BENCH / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pipeline-{result['scale']}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    md = markdown(result)
    (out / f"pipeline-{result['scale']}.md").write_text(md, encoding="utf-8")
    return md


def remeasure_floor(scale: str, seed: int) -> None:
    result = json.loads((BENCH / "results" / f"pipeline-{scale}.json").read_text(encoding="utf-8"))
    case = BENCH / "runs" / scale
    link_tree(generated(SCALES[scale], seed) / "landing", case / "landing")
    fl = floor(case / "landing", case / "floor")
    result["floor"] = fl
    result["input"]["rows"] = fl["rows"]
    result["ratio_full_over_floor"] = round(result["full"]["seconds"] / fl["seconds"], 2)
    print(write_result(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1m", choices=SCALES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory", default="6GB", help="DuckDB memory_limit for the run (SSJ_DUCKDB_MEMORY)")
    parser.add_argument("--drop-rows", type=int, default=None,
                        help="rows of each draw-list drop (default 10,000; 50,000 at 10m)")
    parser.add_argument("--drops", type=int, default=3, help="incremental drops, one after the other (median reported)")
    parser.add_argument("--floor-only", action="store_true",
                        help="re-measure only the floor of an existing result (and its ratio)")
    parser.add_argument("--floor-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_child:
        floor_child(Path(args.floor_child[0]), Path(args.floor_child[1]))
        return
    if args.floor_only:
        remeasure_floor(args.scale, args.seed)
        return
    if args.drops < 1:
        parser.error("--drops must be at least 1")

    n = SCALES[args.scale]
    drop_rows = min(args.drop_rows or (50_000 if n >= 10_000_000 else 10_000), n // 2)
    cache = generated(n, args.seed)
    case = BENCH / "runs" / args.scale
    landing, warehouse = case / "landing", case / "warehouse"
    link_tree(cache / "landing", landing)
    shutil.rmtree(warehouse, ignore_errors=True)
    files = landing_files(landing)
    summary = json.loads((cache / "truth" / "summary.json").read_text(encoding="utf-8"))

    print(f"floor: DuckDB alone over {len(files)} files …", flush=True)
    fl = floor(landing, case / "floor")
    print(f"  {fl['seconds']} s; full build from empty …", flush=True)
    full = ssj_run(landing, warehouse, cache / "agencies.yaml", args.memory)
    drops = []
    for task in range(1, args.drops + 1):
        before = (drops[-1] if drops else full)["seconds"]
        print(f"  {before} s; incremental {drop_rows:,}-row draw-list drop {task} …", flush=True)
        write_drop(warehouse, landing, drop_rows, task)
        drops.append(ssj_run(landing, warehouse, cache / "agencies.yaml", args.memory))
    inc = sorted(drops, key=lambda r: r["seconds"])[len(drops) // 2]  # the median run
    gx = sum(s["seconds"] for s in full["stages"] if "_gx_" in s["stage"])
    imported = import_seconds()
    result = {
        "scale": args.scale, "seed": args.seed, "enterprises": n, "machine": machine(), "memory_limit": args.memory,
        "input": {"files": len(files), "megabytes": round(sum(p.stat().st_size for p in files) / 1e6, 1),
                  "rows": fl["rows"], "draw_rows": summary["counts"].get("draw_rows")},
        "drop_rows": drop_rows,
        "import_seconds": imported,
        "ratio_full_over_import": round(full["seconds"] / imported, 2),
        "ratio_drop_over_import": round(inc["seconds"] / imported, 2),
        "floor": fl, "full": full, "incremental": inc, "incremental_runs_seconds": [r["seconds"] for r in drops],
        "ratio_full_over_floor": round(full["seconds"] / fl["seconds"], 2),
        "gx_share_pct": round(100 * gx / full["seconds"], 1),
    }
    print(write_result(result))


if __name__ == "__main__":
    main()
