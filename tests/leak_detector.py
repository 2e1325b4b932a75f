"""A detector of personal ID numbers written independently of the masking code.

It shares nothing with ``connectors/personal.py`` on purpose and is broader: any
run of 15 or more digits (an ID number may be glued to a date or a phone number;
the last may be X) after Unicode folding (NFKC) and after
removing the spaces and dashes people type inside numbers, not glued to other
letters or digits, nor the digits of a decimal number. The only values it lets through are enterprise identifiers that
carry their own valid check characters (a USCC by GB 32100 and its organisation
code by GB 11714, a 注册号 by ISO 7064 MOD 11,10) — published identifiers, never a
person's.

It also reads JSON — a column's JSON text, a JSON file — value by value
(``split_numbers_in``): a number cut across adjacent values (two columns holding its
two halves, two elements of an array) is shown whole by the document though no value
holds it. There, to stay quiet on the many numbers that sit side by side in JSON
(timestamps, counts, dates), only a valid number counts: 18 characters with their check
character, a real birth date and a county code stdnum knows, or a run of exactly 15
digits read as the 18 they stand for.

``scan_*`` functions return findings as ``(where, the number masked)``: a test that
fails prints where the leak is, never the number itself.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sqlite3
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from stdnum import numdb
from stdnum.cn import ric as std_ric
from stdnum.cn import uscc as std_uscc
from stdnum.iso7064 import mod_11_10

_JOINERS = re.compile(r"(?<=[0-9])[\s\-\u2010-\u2015\u00a0\u3000]+(?=[0-9Xx])")
_RUN = re.compile(r"(?<![0-9A-Za-z])(?<![0-9]\.)[0-9]{15,}[Xx]?(?![0-9A-Za-z])(?!\.[0-9])")
"""Not the digits of a decimal number (``0.2812049388885498``: run times, timestamps)."""
_ANY_RUN = re.compile(r"[0-9]{15,}[Xx]?")


def _folded(text: str) -> str:
    return _JOINERS.sub("", unicodedata.normalize("NFKC", text))


def _orgcode_is_valid(code: str) -> bool:
    """GB 11714: 8 characters and a check character (weights 3 7 9 10 5 8 4 2, mod 11; 10 is X)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if len(code) != 9 or any(c not in alphabet for c in code[:8]):
        return False
    total = sum(alphabet.index(c) * w for c, w in zip(code[:8], (3, 7, 9, 10, 5, 8, 4, 2)))
    check = (11 - total % 11) % 11
    return code[8] == ("X" if check == 10 else str(check))


def _is_enterprise_identifier(token: str) -> bool:
    # a USCC's two check characters (its own and its organisation code's): one in 341 numbers passes both by chance
    if len(token) == 18 and std_uscc.is_valid(token) and _orgcode_is_valid(token[8:17]):
        return True
    return len(token) == 15 and token.isdigit() and mod_11_10.is_valid(token)


def numbers_in(text: str | None, *, glued: bool = False) -> list[str]:
    """ID-number-like runs in ``text``; ``glued`` also finds runs touching letters (for free text such as logs)."""
    if not text:
        return []
    folded = _folded(text)
    pattern = _ANY_RUN if glued else _RUN
    return [t for t in pattern.findall(folded) if not _is_enterprise_identifier(t.upper())]


def _valid_person_number(token: str) -> bool:
    """18 characters with the right check character, a real birth date and a county code stdnum
    knows (in any years: people keep the number of a county since renamed); 15 digits: the 18
    they stand for (born 19xx)."""
    if len(token) == 15 and token.isdigit():
        body = token[:6] + "19" + token[6:]
        token = body + std_ric.calc_check_digit(body + "0")
    if len(token) != 18 or not token[:17].isdigit() or std_ric.calc_check_digit(token) != token[17]:
        return False
    try:
        date(int(token[6:10]), int(token[10:12]), int(token[12:14]))
    except ValueError:
        return False
    return any("county" in props for _, props in numdb.get("cn/loc").info(token[:6]))


def _json_values(value) -> Iterator[str]:
    """The string and number values of a JSON document in order, keys left out; a string
    that holds a JSON object or array is read as one."""
    if isinstance(value, str):
        inner = _as_json(value)
        if inner is None:
            yield value
        else:
            yield from _json_values(inner)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _json_values(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _json_values(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def _as_json(text: str):
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        found = json.loads(stripped)
    except ValueError:
        return None
    return found if isinstance(found, (dict, list)) else None


def split_numbers_in(document) -> list[str]:
    """Valid ID numbers cut across adjacent values of a JSON document (parsed, or its text):
    the values holding a digit (or starting with a check character X), in order, joined — up to four
    at a time — after the same folding as ``numbers_in``; a number counts when its digits
    come from two values or more."""
    if isinstance(document, str):
        document = _as_json(document)
        if document is None:
            return []
    values = [_folded(v) for v in _json_values(document)]
    values = [v for v in values if any(c.isdigit() for c in v) or re.match(r"\s*[Xx](?![A-Za-z])", v)]
    found = []
    for i in range(len(values) - 1):
        for j in range(i + 2, min(i + 4, len(values)) + 1):
            parts = values[i:j]
            joined, edges = "".join(parts), []
            for part in parts[:-1]:
                edges.append((edges[-1] if edges else 0) + len(part))
            for m in re.finditer(r"[0-9]+[Xx]?", joined):
                run = m.group(0).upper()
                # 15 digits only as a whole run: cut out of longer numbers, a county code and a
                # date (dbt's manifest: L3, 20200101, 20260629) read as one too often
                for size in (18, 15) if len(run) == 15 else (18,):
                    for k in range(len(run) - size + 1):
                        start, end = m.start() + k, m.start() + k + size
                        if any(start < e < end for e in edges) and _valid_person_number(run[k:k + size]):
                            found.append(run[k:k + size])
    return sorted(set(found))


def _show(token: str) -> str:
    return token[:3] + "…" + token[-2:]


def scan_text(where: str, text: str | None, *, glued: bool = False) -> list[tuple[str, str]]:
    return [(where, _show(t)) for t in numbers_in(text, glued=glued)]


def _strings(value) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, (bytes, bytearray)):
        yield value.decode("utf-8", "replace")
    else:
        yield str(value)


def scan_json(where: str, document) -> list[tuple[str, str]]:
    """Numbers cut across adjacent values of a JSON document (``split_numbers_in``)."""
    return [(f"{where} (across values)", _show(t)) for t in split_numbers_in(document)]


def scan_rows(where: str, columns: list[str], rows: Iterable[tuple]) -> list[tuple[str, str]]:
    found = []
    for row in rows:
        for column, value in zip(columns, row):
            for text in _strings(value):
                found += scan_text(f"{where}.{column}", text)
            if isinstance(value, (str, dict, list, tuple)):
                found += scan_json(f"{where}.{column}", value)
    return found


def scan_duckdb(path: Path) -> list[tuple[str, str]]:
    """Every text-bearing column of every table and view of every schema of a DuckDB file."""
    import duckdb

    found = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        _register_functions(con)
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables order by all").fetchall()
        for schema, table in tables:
            name = f'"{schema}"."{table}"'
            try:
                cols = [c for c, t in con.execute("select column_name, data_type from information_schema.columns "
                                                  "where table_schema = ? and table_name = ?", [schema, table]).fetchall()
                        if not t.startswith(("INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "DATE", "TIMESTAMP", "BOOLEAN",
                                             "HUGEINT", "FLOAT", "SMALLINT", "TINYINT", "UBIGINT"))]
                if not cols:
                    continue
                select = ", ".join(f'cast("{c}" as varchar)' for c in cols)
                found += scan_rows(f"duckdb {schema}.{table}", cols, con.execute(f"select {select} from {name}").fetchall())
            except duckdb.Error as exc:  # a view over files that moved: report, do not hide
                found.append((f"duckdb {schema}.{table}", f"unreadable: {type(exc).__name__}"))
    finally:
        con.close()
    return found


def _register_functions(con) -> None:
    """Views may call the project's DuckDB functions; make them resolvable (their results are what is scanned)."""
    try:
        from pipelines.udfs import register

        register(con)
    except Exception:  # noqa: BLE001 - a read-only scan works without them for tables
        pass


def scan_parquet(path: Path) -> list[tuple[str, str]]:
    import duckdb

    con = duckdb.connect()
    try:
        cols = [c for c, *_ in con.execute(f"describe select * from read_parquet('{path}')").fetchall()]
        select = ", ".join(f'cast("{c}" as varchar)' for c in cols)
        return scan_rows(f"parquet {path.name}", cols, con.execute(f"select {select} from read_parquet('{path}')").fetchall())
    finally:
        con.close()


def scan_sqlite(path: Path) -> list[tuple[str, str]]:
    found = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (table,) in con.execute("select name from sqlite_master where type = 'table'").fetchall():
            cur = con.execute(f'select * from "{table}"')
            cols = [d[0] for d in cur.description]
            found += scan_rows(f"sqlite {path.name}:{table}", cols, cur.fetchall())
    finally:
        con.close()
    return found


def scan_xlsx(path: Path) -> list[tuple[str, str]]:
    """The sheets' XML as text, and each cell's text as JSON where it holds some (``scan_json``)."""
    found = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".xml"):
                xml = zf.read(name).decode("utf-8", "replace")
                found += scan_text(f"xlsx {path.name}:{name}", xml)
                for cell in re.findall(r"<t(?:\s[^>]*)?>([^<]*)</t>", xml):
                    found += scan_json(f"xlsx {path.name}:{name}", html.unescape(cell))
    return found


def scan_csv(path: Path, text: str) -> list[tuple[str, str]]:
    """Each cell of a CSV file's text as JSON where it holds some (``scan_json``)."""
    found = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            found += scan_json(f"csv {path.name}", cell)
    return found


def scan_tree(root: Path, *, skip: Iterable[Path] = ()) -> list[tuple[str, str]]:
    """Every file under ``root`` but ``skip``: DuckDB, Parquet, SQLite and XLSX by their content, the rest as text."""
    skip = [Path(s).resolve() for s in skip]
    found = []
    for path in sorted(Path(root).rglob("*")):
        if path.is_symlink() or not path.is_file() or any(path.resolve().is_relative_to(s) for s in skip):
            continue
        head = path.read_bytes()[:16]
        if path.suffix == ".duckdb" or head.startswith(b"\x00" * 8) and b"DUCK" in path.read_bytes()[:64]:
            found += scan_duckdb(path)
        elif head.startswith(b"PAR1"):
            found += scan_parquet(path)
        elif head.startswith(b"SQLite format 3"):
            found += scan_sqlite(path)
        elif head.startswith(b"PK"):
            found += scan_xlsx(path)
        elif path.suffix in (".wal", ".lock") or path.name.endswith((".db-wal", ".db-shm")):
            found += scan_text(str(path), path.read_bytes().decode("utf-8", "replace"), glued=True)
        else:
            text = path.read_bytes().decode("utf-8", "replace")
            found += scan_text(str(path.relative_to(root)), text)
            if path.suffix == ".csv":
                found += scan_csv(path, text)
            if path.suffix in (".json", ".jsonl"):
                for line in [text] if path.suffix == ".json" else text.splitlines():
                    try:
                        found += [(str(path), t) for _, t in scan_rows("json", ["v"], [(json.loads(line),)])]
                    except ValueError:
                        pass
        found += scan_text(f"file name {path.relative_to(root)}", str(path.relative_to(root)))
    return found
