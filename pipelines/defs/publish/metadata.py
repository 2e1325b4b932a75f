"""What a published table looks like, as Dagster metadata: the UI answers "what happened" without SQL.

``table_metadata(con, table)`` returns, for every table, its columns (a Dagster
table schema, each column tagged ``ssj/class`` public / internal / personal) and, where the table has something to say, a summary:

* quarantine       rows by reason code, and the top reasons with a few masked samples;
* ingest_log       files by status and rows read / accepted / quarantined per feed;
* enterprise_pool  the pool by sector, scale, credit grade, carrier and category;
* inspector_pool   inspectors eligible or not, by reason;
* draw_entries     entries by match method and by flag;
* joint_inspections / agency_overlap / merge_summary  groups by kind, the
                   agency-by-agency overlap matrix, inspections saved.
* kpi / inspection_results / missing_results  the six figures per agency and year;
                   results by category and how many were entered late; missing per agency.
* match_review     the steward's queue by reason and by agency and feed.

Every summary is one or two aggregate queries in DuckDB (no table is read into
Python). The quarantine samples are the mart's own rows, whose ``raw`` and
``reason`` were masked in staging (connectors/personal.py's rule, through the DuckDB
functions of pipelines/udfs.py; the ``no_full_id_number`` dbt test guards them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import dagster as dg
import duckdb

from .tables import column_class

TOP = 10  # rows in each "top" table
SAMPLES = 3  # masked sample rows per quarantine reason


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    rel = con.sql(sql)
    return rel.columns, rel.fetchall()


def _table(con: duckdb.DuckDBPyConnection, sql: str) -> dg.TableMetadataValue:
    columns, rows = _rows(con, sql)
    types = {int: "int", float: "float", bool: "bool"}
    schema = dg.TableSchema(
        columns=[dg.TableColumn(c, types.get(type(rows[0][i]), "string") if rows else "string")
                 for i, c in enumerate(columns)]
    )
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: _plain(v) for c, v in zip(columns, row)}) for row in rows], schema=schema
    )


def _plain(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _md_cell(value: object) -> str:
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def _markdown(con: duckdb.DuckDBPyConnection, sql: str) -> dg.MarkdownMetadataValue:
    columns, rows = _rows(con, sql)
    if not rows:
        return dg.MetadataValue.md("none")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _by(con: duckdb.DuckDBPyConnection, table: str, expr: str, label: str) -> dg.TableMetadataValue:
    return _table(con, f"select coalesce(({expr})::varchar, '(none)') as {label}, count(*) as rows "
                       f"from {table} group by all order by rows desc, {label} limit 50")


def _quarantine(con: duckdb.DuckDBPyConnection) -> dict:
    samples = con.sql(f"""
        with reasons as (select unnest(reason_codes) as code, * from quarantine),
        ranked as (
            select code, feed, source_file, source_row, reason, raw::varchar as raw,
                   row_number() over (partition by code order by source_file, source_row) as n,
                   count(*) over (partition by code) as rows
            from reasons
        )
        select code, rows, feed, source_file, source_row, reason, raw
        from ranked where n <= {SAMPLES}
        order by rows desc, code, n
    """).fetchall()
    top = sorted({(r[0], r[1]) for r in samples}, key=lambda t: (-t[1], t[0]))[:TOP]
    lines = []
    for code, count in top:
        lines.append(f"**{code}** — {count} rows")
        for _, _, feed, source_file, source_row, reason, raw in (r for r in samples if r[0] == code):
            lines.append(f"- `{feed}` {source_file} row {source_row}: {_md_cell(reason)}  \n"
                         f"  `{_md_cell(raw)[:300]}`")
    return {
        "rows_by_reason": _by(con, "(select unnest(reason_codes) as code from quarantine)", "code", "reason_code"),
        "rows_by_feed": _by(con, "quarantine", "feed", "feed"),
        "top_reasons_with_samples": dg.MetadataValue.md("\n".join(lines) if lines else "no quarantined rows"),
    }


def _ingest_log(con: duckdb.DuckDBPyConnection) -> dict:
    return {
        "files_by_status": _by(con, "ingest_log", "status", "status"),
        "rows_by_feed": _table(con, """
            select feed, count(*) as files, sum(rows_read)::bigint as rows_read,
                   sum(rows_accepted)::bigint as rows_accepted, sum(rows_quarantined)::bigint as rows_quarantined
            from ingest_log where status = 'ingested' group by feed order by feed"""),
    }


def _enterprise_pool(con: duckdb.DuckDBPyConnection) -> dict:
    return {
        "by_sector": _by(con, "enterprise_pool", "sector", "sector"),
        "by_scale": _by(con, "enterprise_pool", "scale", "scale"),
        "by_credit_grade": _by(con, "enterprise_pool", "credit_grade", "credit_grade"),
        "by_carrier": _by(con, "enterprise_pool", "carrier", "carrier"),
        "by_category": _by(con, "(select unnest(categories) as category from enterprise_pool)", "category", "category"),
        "active_enterprises": dg.MetadataValue.int(
            con.sql("select count(*) from enterprise_pool where is_active").fetchall()[0][0]),
    }


def _inspector_pool(con: duckdb.DuckDBPyConnection) -> dict:
    return {
        "by_eligibility": _by(con, "inspector_pool",
                              "case when is_eligible then 'eligible' else coalesce(ineligible_reason, 'ineligible') end",
                              "eligibility"),
    }


def _draw_entries(con: duckdb.DuckDBPyConnection) -> dict:
    return {
        "by_source": _by(con, "draw_entries", "source", "source"),
        "by_match_method": _by(con, "draw_entries", "match_method", "match_method"),
        "by_flag": _by(con, "(select unnest(flags) as flag from draw_entries)", "flag", "flag"),
        "by_agency": _by(con, "draw_entries", "agency", "agency"),
    }


def _joint_inspections(con: duckdb.DuckDBPyConnection) -> dict:
    return {"by_kind": _by(con, "joint_inspections", "kind", "kind")}


def _agency_overlap(con: duckdb.DuckDBPyConnection) -> dict:
    agencies = [r[0] for r in con.sql(
        "select agency from (select agency_a as agency from agency_overlap union select agency_b from agency_overlap) "
        "order by 1").fetchall()]
    if not agencies:
        return {"overlap_matrix": dg.MetadataValue.md("no two agencies drew the same enterprise in overlapping windows")}
    counts = {(a, b): n for a, b, n in con.sql(
        "select agency_a, agency_b, shared_enterprises from agency_overlap").fetchall()}
    lines = ["| | " + " | ".join(agencies) + " |", "|---|" + "---:|" * len(agencies)]
    for a in agencies:
        cells = [str(counts.get((a, b)) or counts.get((b, a)) or "") if a != b else "—" for b in agencies]
        lines.append(f"| **{a}** | " + " | ".join(cells) + " |")
    return {"overlap_matrix": dg.MetadataValue.md(
        "Enterprises both agencies drew in overlapping windows (in one joint group):\n\n" + "\n".join(lines))}


def _merge_summary(con: duckdb.DuckDBPyConnection) -> dict:
    saved = con.sql("select inspections_saved from merge_summary where scope = 'all'").fetchall()
    return {
        "summary": _table(con, "select * from merge_summary"),
        "inspections_saved": dg.MetadataValue.int(int(saved[0][0]) if saved else 0),
    }


KPI_BY_AGENCY = """
    pivot (select agency, year, figure,
                  case when value is null then '–' else printf('%.1f%% (%d/%d)', 100 * value, numerator, denominator) end
                      as shown
           from kpi)
    on figure in ('抽查经营主体比例', '抽查事项覆盖率', '部门联合监管率', '信用规则关联应用率', '检查结果按时公示率',
                  '发现问题处置率')
    using any_value(shown) order by agency, year"""
"""The six figures, one row per agency and year (docs/results.md): what `ssj report` and the kpi asset show."""


def _kpi(con: duckdb.DuckDBPyConnection) -> dict:
    return {"figures": _markdown(con, KPI_BY_AGENCY)}


def _inspection_results(con: duckdb.DuckDBPyConnection) -> dict:
    late = con.sql("select count(*) filter (where entered_late), count(*) from inspection_results").fetchall()[0]
    return {
        "results": dg.MetadataValue.int(int(late[1])),
        "entered_late": dg.MetadataValue.int(int(late[0])),
        "by_result": _by(con, "inspection_results", "result", "result"),
    }


SUMMARIES: dict[str, Callable[[duckdb.DuckDBPyConnection], dict]] = {
    "quarantine": _quarantine,
    "ingest_log": _ingest_log,
    "enterprise_pool": _enterprise_pool,
    "inspector_pool": _inspector_pool,
    "draw_entries": _draw_entries,
    "joint_inspections": _joint_inspections,
    "agency_overlap": _agency_overlap,
    "merge_summary": _merge_summary,
    "kpi": _kpi,
    "inspection_results": _inspection_results,
    "missing_results": lambda con: {"by_agency": _by(con, "missing_results", "agency", "agency")},
    "match_review": lambda con: {
        "by_reason": _by(con, "(select unnest(reasons) as reason from match_review)", "reason", "reason"),
        "by_agency": _by(con, "match_review", "agency || ' · ' || feed", "agency_feed"),
    },
}


def column_schema(table: str, columns: list[tuple[str, str]],
                  descriptions: Mapping[str, str | None] | None = None) -> dg.TableSchema:
    """The columns (name, type) of a published table, each with its class (tables.py) as a tag and
    at the head of its description: public, internal or personal."""
    out = []
    for name, dtype in columns:
        cls = column_class(table, name)
        more = (descriptions or {}).get(name)
        out.append(dg.TableColumn(name, dtype.lower(), description=f"{cls} column" + (f": {more}" if more else ""),
                                  tags={"ssj/class": cls}))
    return dg.TableSchema(columns=out)


def table_metadata(con: duckdb.DuckDBPyConnection, table: str) -> dict:
    """The column schema of ``table`` (with each column's class) plus its summary (see the module doc)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name = ? order by ordinal_position", [table]
    ).fetchall()
    meta: dict = {"dagster/column_schema": column_schema(table, columns)}
    summary = SUMMARIES.get(table)
    if summary is not None:
        meta.update(summary(con))
    return meta
