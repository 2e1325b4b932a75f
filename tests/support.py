"""Helpers shared by tests: write raw-store files directly and run dbt on them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from connectors.feeds import feeds
from pipelines.defs.ingest.raw_store import ensure_layout, ledger_dir, ledger_id, write_json_atomically, write_raw_file
from pipelines.defs.ingest.registry import load_registry, write_registry
from tests.prefork import ssj

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
SAMPLE_REGISTRY = ROOT / "config" / "agencies.yaml"


def write_raw(
    warehouse: Path,
    feed: str,
    rows: list[dict],
    *,
    agency: str,
    source_file: str | None = None,
    mtime: datetime = datetime(2026, 1, 1, 8, 0, 0),
    registry: Path = SAMPLE_REGISTRY,
) -> str:
    """Write ``rows`` (canonical column -> text) as one ingested file; return its sha256.

    Keys outside the feed's columns go to ``_extra`` like a reader would put them.
    """
    ensure_layout(warehouse)
    write_registry(warehouse, load_registry(registry))
    columns = feeds()[feed].column_names
    body = json.dumps([rows, agency, source_file, str(mtime)], ensure_ascii=False, sort_keys=True, default=str)
    sha = hashlib.sha256(body.encode()).hexdigest()
    source_file = source_file or f"{agency}/{feed}/{sha[:8]}.csv"
    data = {c: [None if r.get(c) is None else str(r[c]) for r in rows] for c in columns}
    extras = [{k: v for k, v in r.items() if k not in columns} for r in rows]
    data["_extra"] = [json.dumps(e, ensure_ascii=False) if e else None for e in extras]
    data["_source_row"] = list(range(1, len(rows) + 1))
    data["_parse_error"] = [None] * len(rows)
    batch = pa.RecordBatch.from_pydict(data)
    n = write_raw_file(
        warehouse, feed, [batch], agency=agency, source_file=source_file, sha256=sha, mtime=mtime,
        ingested_at=datetime(2026, 1, 1, 9, 0, 0),
    )
    write_json_atomically(
        ledger_dir(warehouse) / f"{ledger_id(source_file, sha)}.json",
        {
            "path": source_file, "agency": agency, "feed": feed, "sha256": sha, "bytes": len(body),
            "mtime": mtime.isoformat(sep=" "), "status": "ingested", "rows_read": n, "error_code": None,
            "error": None, "duplicate_of": None, "format": "csv", "encoding": "utf-8", "headers": {},
            "first_seen_at": "2026-01-01 09:00:00", "processed_at": "2026-01-01 09:00:00",
        },
    )
    return sha


def write_csv(path: Path, header: list[str], rows: list[list[str]], mtime: int) -> None:
    """A UTF-8 CSV drop with the given modification time (which orders versions)."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.utime(path, (mtime, mtime))


def run_dbt(warehouse: Path, as_of: str = "2026-06-30", *args: str) -> subprocess.CompletedProcess:
    """`dbt build` (or the given dbt command) against ``warehouse``; raises with dbt's output on failure.

    dbt runs as the pipeline runs it (pipelines/defs/dbt/in_process.py: in this process, the
    parse shared by every warehouse); ``stdout`` holds the lines the CLI would print. Without
    ``--target-path`` the command's target folder is the warehouse's own (``.dbt/dbt``).
    """
    from pipelines.defs.dbt.in_process import InProcessDbt
    from pipelines.defs.dbt.parse_state import share_partial_parse, warm_partial_parse

    args = args or ("build",)
    target = (Path(args[args.index("--target-path") + 1]) if "--target-path" in args
              else Path(warehouse) / ".dbt" / "dbt")
    warm_partial_parse(target)
    env = {"SSJ_WAREHOUSE": str(Path(warehouse).resolve()), "SSJ_AS_OF": as_of, "DBT_TARGET_PATH": str(target),
           "DBT_LOG_PATH": str(target)}
    cmd = ["dbt", *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    proc = InProcessDbt(cmd, env)
    with proc.stdout:
        lines = [json.loads(line)["info"]["msg"] for line in proc.stdout]
    code = proc.wait()
    stdout = "\n".join(lines) + "\n"
    if code != 0:
        raise AssertionError(f"dbt failed ({' '.join(args)}):\n{stdout[-9000:]}")
    share_partial_parse(target)
    return subprocess.CompletedProcess(cmd, code, stdout, "")


def warehouse_rows(warehouse: Path, sql: str) -> list[dict]:
    """The rows of ``sql`` over the warehouse's DuckDB file (opened read-only), as dicts."""
    import duckdb

    con = duckdb.connect(str(Path(warehouse) / "ssj.duckdb"), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()


def make_uscc(body17: str) -> str:
    """A USCC with the right GB 32100 check character for its first 17 characters."""
    from stdnum.cn.uscc import calc_check_digit

    return body17 + calc_check_digit(body17)


def make_reg_no(body14: str) -> str:
    from stdnum.iso7064 import mod_11_10

    return body14 + mod_11_10.calc_check_digit(body14)


def make_id_no(body17: str) -> str:
    from stdnum.cn.ric import calc_check_digit

    # stdnum expects the full 18-character number and ignores its last character.
    return body17 + calc_check_digit(body17 + "0")


def copy_built_sample(built: tuple[Path, Path], dest: Path) -> tuple[Path, Path]:
    """A copy of ``built_sample`` under ``dest`` (files' times kept, the warehouse's relative links
    as they are): (the generated folder, the warehouse)."""
    gen, warehouse = built
    shutil.copytree(gen, dest / "sample", symlinks=True)
    shutil.copytree(warehouse, dest / "warehouse", symlinks=True)
    return dest / "sample", dest / "warehouse"


def run_ssj(landing: Path, warehouse: Path, agencies: Path = SAMPLE_REGISTRY, as_of: str = "2026-06-30",
            extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """`ssj run` in a process of its own, as a data engineer would call it (tests/prefork.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSJ_", "DAGSTER_"))}
    env.update(extra_env or {})
    return ssj(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--agencies", str(agencies),
                "--as-of", as_of], env=env)


class FlakyProxy:
    """A TCP proxy on 127.0.0.1 that drops its first ``fail_first`` connections, then forwards.

    A database "briefly down" for real: the client's connection is refused at the
    protocol level (closed at once), so only genuine retry logic gets through.
    """

    def __init__(self, target_port: int, fail_first: int):
        import socket
        import threading

        self.target_port, self.remaining = target_port, fail_first
        self.attempts = 0
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._threading = threading
        self._closed = False

    def __enter__(self) -> "FlakyProxy":
        self._threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed = True
        self._server.close()

    def _accept(self) -> None:
        import socket

        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.attempts += 1
            if self.remaining > 0:
                self.remaining -= 1
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


def spy_in_order(monkeypatch) -> list[int]:
    """The sizes of the batches publishing reads in order from a published mart (IN_ORDER_FROM)."""
    from pipelines.defs.publish import parquet as publish

    read: list[int] = []
    real = publish._in_order

    def spy(con, source, rng):
        for batch in real(con, source, rng):
            read.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(publish, "_in_order", spy)
    return read
