"""`ssj export`: a published table as a spreadsheet bureau staff can open safely.

    ssj export --warehouse WH --table joint_inspections --out 联合检查.xlsx   (or .csv)
               [--snapshot ID] [--public]

Reads ``<warehouse>/published/<table>.parquet`` — or the table of an earlier
snapshot kept under ``<warehouse>/snapshots/<ID>/`` — with no warehouse lock.
``--public`` writes only the table's public columns (docs/downstream.md, "Column
classes"): no internal or personal column leaves in the file.
Text that a spreadsheet would run as a formula — a cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return (CSV/formula injection) — is
written with a leading ``'``, which Excel and WPS show as text. Lists are
joined with ``;``. CSV is UTF-8 with a byte-order mark, so Excel shows Chinese;
XLSX is written row by row (bounded memory).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_sql(expr: str) -> str:
    """SQL: the text of ``expr`` with a leading ' when a spreadsheet would take it for a formula."""
    return f"case when regexp_matches({expr}, '{FORMULA_START}') then '''' || {expr} else {expr} end"


def _select(con: duckdb.DuckDBPyConnection, parquet: Path, table: str, public: bool) -> str:
    columns = con.execute(f"describe select * from read_parquet('{parquet}')").fetchall()
    if public:
        from pipelines.defs.publish.tables import column_class

        columns = [c for c in columns if column_class(table, c[0]) == "public"]
        if not columns:
            raise ValueError(f"{table} has no public column")
    parts = []
    for name, dtype, *_ in columns:
        col = '"' + name.replace('"', '""') + '"'
        if dtype.endswith("[]"):
            parts.append(f"{neutralise_sql(f'array_to_string({col}, {chr(39)};{chr(39)})')} as {col}")
        elif dtype in ("VARCHAR", "JSON") or dtype.startswith(("STRUCT", "MAP")):
            parts.append(f"{neutralise_sql(f'{col}::varchar')} as {col}")
        else:
            parts.append(col)
    return f"select {', '.join(parts)} from read_parquet('{parquet}')"


def export_table(warehouse: Path, table: str, out: Path, *, snapshot_id: str | None = None,
                 public: bool = False) -> int:
    """Write ``table`` of the current snapshot (or of snapshot ``snapshot_id``) to ``out`` (.csv or
    .xlsx), only its public columns if ``public``, replacing ``out`` atomically; return the row count."""
    from pipelines.defs.publish.snapshots import snapshot_dir

    parquet = snapshot_dir(Path(warehouse), snapshot_id) / f"{table}.parquet"
    if not parquet.exists():
        raise FileNotFoundError(f"{parquet} does not exist: is {table!r} a published table, and has `ssj run` run?")
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"{out}: export writes .csv or .xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    con = duckdb.connect()
    try:
        select = _select(con, parquet, table, public)
        if suffix == ".csv":
            body = tmp.with_suffix(".body")
            con.execute(f"copy ({select}) to '{body}' (format csv, header true)")
            with open(tmp, "wb") as dst, open(body, "rb") as src:
                dst.write("\ufeff".encode())
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            body.unlink()
        else:
            _write_xlsx(con, select, tmp, sheet=table)
        rows = con.execute(f"select count(*) from read_parquet('{parquet}')").fetchall()[0][0]
        os.replace(tmp, out)
        return rows
    finally:
        con.close()
        tmp.unlink(missing_ok=True)


def _write_xlsx(con: duckdb.DuckDBPyConnection, select: str, path: Path, sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    cur = con.execute(select)
    ws.append([d[0] for d in cur.description])
    while batch := cur.fetchmany(10_000):
        for row in batch:
            cells = []
            for v in row:
                cell = WriteOnlyCell(ws, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # never a formula, whatever openpyxl would guess
                cells.append(cell)
            ws.append(cells)
    wb.save(path)
