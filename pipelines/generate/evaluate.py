"""How far a run's published tables agree with the generator's ground truth.

    ssj evaluate --truth DIR/truth --warehouse DIR [--json OUT]

Every comparison is one DuckDB query over the published Parquet files (and, for
licence links, the warehouse's ``int_licence__linked``), so it runs at 10M rows.
What is measured:

- files: ``ingest_log`` status and row counts per landing file;
- quarantine: the set of (file, row, reason codes);
- enterprises: precision/recall of the pool's ``enterprise_id`` set, then for
  each tag column the share of true enterprises whose published value equals
  the truth (``categories`` compared as sorted lists);
- identity links: licence → enterprise links (precision = links made that are
  right; recall = true links made), and draw entry → enterprise resolutions (with
  the match_method, and without it);
- draw flags: every entry's flag list, and the planted mismatches (name_mismatch,
  address_mismatch, out_of_region) as (file, row, flag): recall = planted ones
  flagged, precision = mismatch flags raised where one was planted;
- merges: pairwise precision/recall over draw entries put in one joint group,
  and exact-match counts of groups (same enterprise — or, for a group of
  unresolved entries, the same drawn USCC — and the same task keys);
- results: each entry's current result with its deadlines, lateness and repair
  date (the truth counts working days in Python, on chinese_calendar), and the
  entries missing a result past their deadline.

A perfect run scores 1.0 everywhere; the test on generated data demands it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

TAG_COLUMNS = ("uscc", "reg_no", "entity_kind", "is_active", "sector", "scale", "carrier", "credit_grade",
               "key_supervision", "licence_count", "categories")


@dataclass
class Score:
    name: str
    true_positive: int
    predicted: int
    actual: int
    examples: list = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.actual if self.actual else 1.0

    def as_dict(self) -> dict:
        return {"precision": round(self.precision, 6), "recall": round(self.recall, 6), "true_positive": self.true_positive,
                "predicted": self.predicted, "actual": self.actual, "examples": self.examples[:5]}


def _score(con: duckdb.DuckDBPyConnection, name: str, predicted_sql: str, actual_sql: str) -> Score:
    """Set agreement of two queries returning the same columns."""
    tp, pred, act = con.execute(
        f"""select (select count(*) from (({predicted_sql}) intersect ({actual_sql}))),
                   (select count(*) from ({predicted_sql})), (select count(*) from ({actual_sql}))"""
    ).fetchall()[0]
    wrong = con.execute(f"select * from (({actual_sql}) except ({predicted_sql})) order by all limit 5").fetchall()
    extra = con.execute(f"select * from (({predicted_sql}) except ({actual_sql})) order by all limit 5").fetchall()
    return Score(name, tp, pred, act, [("missing", *map(str, r)) for r in wrong] + [("unexpected", *map(str, r)) for r in extra])


MISMATCH_FLAGS = "('name_mismatch', 'address_mismatch', 'out_of_region')"
"""The flags the generator plants rows for (docs/matching.md); every planted one must be raised."""

RESULT_FACTS = ("result_code, inspected_on, entered_on, entry_due_on, entered_late, follow_up_due_on, follow_up_late, "
                "publish_until")

KPI_TRUTH = """
    with results as (
        select agency, year(window_start) as year,
               count(*) filter (where not entered_late) as on_time, count(*) as n,
               count(*) filter (where problem_found and follow_up_done) as handled,
               count(*) filter (where problem_found) as problems
        from t_results group by all
    ),
    missing as (select agency, year(window_start) as year, count(*) as n from t_missing_results group by all),
    both_ as (
        select agency, year, coalesce(results.on_time, 0) as on_time,
               coalesce(results.n, 0) + coalesce(missing.n, 0) as due,
               coalesce(results.handled, 0) as handled, coalesce(results.problems, 0) as problems
        from results full outer join missing using (agency, year)
    )
    select agency, year, '检查结果按时公示率', on_time, due from both_
    union all
    select agency, year, '发现问题处置率', handled, problems from both_"""
"""The two result figures of ``kpi`` (docs/results.md) counted from the truth tables."""

TRUTH_TABLES = ("enterprises", "licences", "draw_truth", "joint_groups", "quarantine_expected", "files", "inspectors",
                "results", "missing_results")
"""What ``ssj generate`` writes under ``truth/`` and ``evaluate`` compares against."""


def evaluate(truth: Path, warehouse: Path) -> dict:
    truth, published = Path(truth), (Path(warehouse) / "published").resolve()  # once: one snapshot
    con = duckdb.connect()
    for name in TRUTH_TABLES:
        con.execute(f"create view t_{name} as select * from read_parquet('{truth / (name + '.parquet')}')")
    for name in ("enterprise_pool", "draw_entries", "joint_inspections", "quarantine", "ingest_log", "inspector_pool",
                 "inspection_results", "missing_results", "kpi"):
        con.execute(f"create view p_{name} as select * from read_parquet('{published / (name + '.parquet')}')")
    db = Path(warehouse) / "ssj.duckdb"
    con.execute(f"attach '{db}' as wh (read_only)")

    scores: list[Score] = [
        _score(con, "files: status",
               "select path, status from p_ingest_log",
               "select path, expected_status from t_files where expected_status <> 'ignored'"),
        _score(con, "files: rows read/accepted/quarantined",
               "select path, rows_read, rows_accepted, rows_quarantined from p_ingest_log where status = 'ingested'",
               "select path, rows_read, rows_accepted, rows_quarantined from t_files where expected_status = 'ingested'"),
        _score(con, "quarantine: rows and reasons",
               "select source_file, source_row, list_sort(reason_codes) from p_quarantine",
               "select path, source_row, list_sort(reason_codes) from t_quarantine_expected"),
        _score(con, "enterprises: identity (enterprise_id)",
               "select enterprise_id from p_enterprise_pool", "select enterprise_id from t_enterprises"),
    ]
    for col in TAG_COLUMNS:
        value = "list_sort(coalesce({c}, []))" if col == "categories" else "{c}"
        scores.append(_score(
            con, f"enterprises: {col}",
            f"select enterprise_id, {value.format(c=col)}::varchar from p_enterprise_pool "
            "where enterprise_id in (select enterprise_id from t_enterprises)",
            f"select enterprise_id, {value.format(c=col)}::varchar from t_enterprises",
        ))
    scores += [
        _score(con, "identity links: licence → enterprise",
               "select licence_no, enterprise_id from wh.main.int_licence__linked where enterprise_id is not null",
               "select licence_no, enterprise_id from t_licences where enterprise_id is not null"),
        _score(con, "identity links: draw entry → enterprise",
               "select source_file, source_row, enterprise_id, match_method from p_draw_entries where enterprise_id is not null",
               "select source_file, source_row, expected_enterprise_id, match_method from t_draw_truth "
               "where current and accepted and expected_enterprise_id is not null"),
        _score(con, "draw entries: entry → enterprise",
               "select source_file, source_row, enterprise_id from p_draw_entries where enterprise_id is not null",
               "select source_file, source_row, expected_enterprise_id from t_draw_truth "
               "where current and accepted and expected_enterprise_id is not null"),
        _score(con, "draw entries: planted mismatches flagged",
               f"select source_file, source_row, flag from (select source_file, source_row, unnest(flags) as flag "
               f"from p_draw_entries) where flag in {MISMATCH_FLAGS}",
               f"select source_file, source_row, planted from t_draw_truth "
               f"where current and accepted and planted in {MISMATCH_FLAGS}"),
        _score(con, "draw entries: flags",
               "select source_file, source_row, list_sort(flags)::varchar from p_draw_entries",
               "select source_file, source_row, list_sort(flags)::varchar from t_draw_truth where current and accepted"),
        _score(con, "merges: entry pairs grouped together",
               """select a.source_file, a.source_row, b.source_file, b.source_row
                  from p_draw_entries a join p_draw_entries b using (joint_group_id)
                  where (a.source_file, a.source_row) < (b.source_file, b.source_row)""",
               """select a.source_file, a.source_row, b.source_file, b.source_row
                  from t_draw_truth a join t_draw_truth b using (joint_group_key)
                  where a.current and b.current and (a.source_file, a.source_row) < (b.source_file, b.source_row)"""),
        _score(con, "merges: groups (enterprise, tasks, window, kind)",
               "select enterprise_id, uscc, list_sort(task_keys), window_start, window_end, kind from p_joint_inspections "
               "where enterprise_id is null union all "
               "select enterprise_id, null, list_sort(task_keys), window_start, window_end, kind from p_joint_inspections "
               "where enterprise_id is not null",
               "select enterprise_id, uscc, list_sort(task_keys), window_start, window_end, kind from t_joint_groups"),
        _score(con, "inspectors: eligibility (and first reason's kind)",
               "select cert_no, is_eligible, split_part(split_part(coalesce(ineligible_reason, ''), '; ', 1), ':', 1) "
               "from p_inspector_pool",
               "select cert_no, is_eligible, coalesce(ineligible_reason, '') from t_inspectors"),
        _score(con, "results: category, deadlines, lateness, repair date",
               f"select agency, task_id, coalesce(enterprise_id, uscc, name), {RESULT_FACTS} from p_inspection_results",
               f"select agency, task_id, coalesce(enterprise_id, uscc, name), {RESULT_FACTS} from t_results"),
        _score(con, "results: missing past the deadline",
               "select agency, task_id, coalesce(enterprise_id, uscc, name), entry_due_on from p_missing_results",
               "select agency, task_id, coalesce(enterprise_id, uscc, name), entry_due_on from t_missing_results"),
        _score(con, "kpi: results on time and problems handled",
               "select agency, year, figure, numerator, denominator from p_kpi "
               "where figure in ('检查结果按时公示率', '发现问题处置率') and agency in "
               "(select agency from t_results union select agency from t_missing_results)",
               KPI_TRUTH),
    ]
    con.close()
    return {s.name: s.as_dict() for s in scores}


def report(result: dict) -> str:
    lines = [f"{'comparison':<52} {'precision':>10} {'recall':>10} {'right':>10} {'published':>10} {'truth':>10}"]
    for name, s in result.items():
        lines.append(f"{name:<52} {s['precision']:>10.4f} {s['recall']:>10.4f} {s['true_positive']:>10} "
                     f"{s['predicted']:>10} {s['actual']:>10}")
        for ex in s["examples"] if s["precision"] < 1 or s["recall"] < 1 else []:
            lines.append(f"    {' | '.join(ex)}")
    return "\n".join(lines)


def write_json(result: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
