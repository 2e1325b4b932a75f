"""A 10M-enterprise landing zone as ten generated 1M "tiles" (the generator holds its world in memory).

``ssj generate`` builds its whole world and ground truth in pandas: about 4.4 GB
of RAM per million enterprises, so 10M would need ~44 GB on a 24 GiB machine.
For the benchmark, the province is assembled from ``tiles`` independent 1M
worlds (seeds ``seed * 100 + k``): every tile's files are hard-linked into one
landing zone under the name ``t<k>-<file>``. Enterprises of different tiles are
different enterprises (random USCCs in a space of 31^9 per region; a few names
repeat across tiles, as they do in a real province: those draws become
``ambiguous_name``). Only draw lists need rewriting: every tile uses the same
task IDs, and a task seen again in a later file *replaces* the earlier one
(docs/contract.md §2), so each tile's task IDs get the suffix ``-T<k>``.

No ground truth is assembled (the benchmark measures speed and memory; accuracy
is measured by ``ssj evaluate`` on single worlds).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq

from connectors.encoding import detect_csv_encoding
from connectors.feeds import feeds

ROOT = Path(__file__).resolve().parents[1]
TILE = 1_000_000


def task_headers() -> set[str]:
    return set(next(c for c in feeds()["draw_list"].columns if c.name == "task_id").accepted_headers)


def generate_tile(out: Path, seed: int) -> None:
    if not (out / "truth" / "summary.json").exists():
        subprocess.run([sys.executable, "-m", "pipelines.cli", "generate", "--enterprises", str(TILE), "--out", str(out),
                        "--seed", str(seed)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def retask(src: Path, dst: Path, suffix: str) -> None:
    """Copy a draw-list file, appending ``suffix`` to every task ID (same format, encoding, mtime)."""
    names = task_headers()
    ext = src.suffix.lower()
    if ext == ".csv":
        encoding = detect_csv_encoding(src)
        raw = src.read_bytes()
        crlf = b"\r\n" in raw[:4096]
        rows = list(csv.reader(io.StringIO(raw.decode(encoding))))
        col = next(i for i, h in enumerate(rows[0]) if h.strip() in names)
        for row in rows[1:]:
            if len(row) > col and row[col].strip():
                row[col] = row[col].strip() + suffix
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows(rows)
        dst.write_bytes(buf.getvalue().encode(encoding))
    elif ext == ".jsonl":
        with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
            for line in f:
                if line.strip():
                    obj = json.loads(line)
                    key = next((k for k in obj if k.strip() in names), None)
                    if key and obj[key]:
                        obj[key] = str(obj[key]).strip() + suffix
                    line = json.dumps(obj, ensure_ascii=False) + "\n"
                out.write(line)
    elif ext == ".parquet":
        import pyarrow.compute as pc

        table = pq.read_table(src)
        key = next(n for n in table.column_names if n.strip() in names)
        col = table.column(key).cast("string")
        table = table.set_column(table.column_names.index(key), key, pc.binary_join_element_wise(col, suffix, ""))
        pq.write_table(table, dst)
    else:
        raise ValueError(f"no task-ID rewrite for {src.name}")
    st = src.stat()
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def assemble(out: Path, enterprises: int, seed: int) -> Path:
    """Generate the tiles (two at a time) and assemble ``out/landing``; return ``out``."""
    tiles = max(1, enterprises // TILE)
    tile_dirs = [out.parent / f"tile-{TILE}-s{seed * 100 + k}" for k in range(tiles)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda k: generate_tile(tile_dirs[k], seed * 100 + k), range(tiles)))
    landing = out / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    for k, tile in enumerate(tile_dirs):
        for dirpath, _, files in os.walk(tile / "landing"):
            rel = Path(dirpath).relative_to(tile / "landing")
            (landing / rel).mkdir(parents=True, exist_ok=True)
            for name in files:
                src, dst = Path(dirpath) / name, landing / rel / f"t{k}-{name}"
                if name.startswith(("~$", ".")):
                    continue
                if rel.name == "draw_list":
                    retask(src, dst, f"-T{k}")
                else:
                    os.link(src, dst)
    shutil.copyfile(tile_dirs[0] / "agencies.yaml", out / "agencies.yaml")
    summary = {"enterprises": tiles * TILE, "tiles": [t.name for t in tile_dirs], "counts": {}}
    for tile in tile_dirs:
        counts = json.loads((tile / "truth" / "summary.json").read_text(encoding="utf-8"))["counts"]
        for key, value in counts.items():
            if isinstance(value, int):
                summary["counts"][key] = summary["counts"].get(key, 0) + value
    (out / "truth").mkdir(parents=True, exist_ok=True)
    (out / "truth" / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return out
