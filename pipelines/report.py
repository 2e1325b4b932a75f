"""`ssj report`: one self-contained HTML page about what a warehouse holds.

    ssj report --warehouse WH --out report.html

Reads ``<warehouse>/published/*.parquet`` and, for the draws it publishes, the pool
snapshot each draw was made from (no lock, no server), and writes a single file —
inline CSS and SVG, no script, nothing fetched — that opens offline in any browser.
Chinese text is real text in a CJK-capable font stack (Noto Sans CJK / Source Han /
WenQuanYi / PingFang / Microsoft YaHei), so it renders wherever one of them is
installed (Debian: ``fonts-noto-cjk``).

Sections: files and rows per agency and feed; quarantine reasons; the
enterprise pool by sector, scale and credit grade; inspectors; the agency-by-
agency overlap heatmap; inspections saved by merging; the draw entries' match methods
and flags per agency and the data steward's queue (``match_review``, its size in the
headline); the drawn plans' burden
(distinct enterprises drawn against the plans' sample sizes and against independent
draws of the same plans, ``draw_burden``); the six figures of 一公开 per agency, the
results' deadlines met month by month, and the repair calendar.
"""

from __future__ import annotations

import html
import os
import tempfile
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.defs.draws.burden import CHANCES, expected_independent
from pipelines.defs.draws.rule import run_rule
from pipelines.defs.publish.snapshots import snapshot_dir

FONT = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','PingFang SC','Microsoft YaHei',sans-serif"
BAR = "#2f6db5"


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def bar_chart(title: str, rows: list[tuple[str, float]], *, unit: str = "", width: int = 640, digits: int = 0,
              label_w: int = 230) -> str:
    """Horizontal bars, one per (label, value), as inline SVG; a float shown with ``digits`` decimals."""
    if not rows:
        return f"<figure><figcaption>{_e(title)}</figcaption><p class=empty>（无数据 no data）</p></figure>"
    top = max(v for _, v in rows) or 1
    bar_h, gap = 22, 6
    height = len(rows) * (bar_h + gap) + 10
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="13">']
    for i, (label, value) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        w = max(1.0, (width - label_w - 90) * value / top)
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_e(label)}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{BAR}"><title>{_e(label)}: {shown}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{shown}{_e(unit)}</text>')
    parts.append("</svg>")
    return f"<figure><figcaption>{_e(title)}</figcaption>{''.join(parts)}</figure>"


def heatmap(title: str, names: list[str], cells: dict[tuple[str, str], int], labels: dict[str, str]) -> str:
    """A symmetric agency × agency matrix as SVG squares shaded by value."""
    if not names:
        return f"<figure><figcaption>{_e(title)}</figcaption><p class=empty>（无数据 no data）</p></figure>"
    cell, left, head = 44, 240, 150
    size_w, size_h = left + cell * len(names) + 10, head + cell * len(names) + 10
    top = max(cells.values(), default=0) or 1
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{size_w}" height="{size_h}" '
             f'viewBox="0 0 {size_w} {size_h}" font-family="{FONT}" font-size="12">']
    for j, b in enumerate(names):
        x = left + j * cell + cell / 2
        parts.append(f'<text transform="translate({x:.0f},{head - 6}) rotate(-45)">{_e(labels.get(b, b))}</text>')
    for i, a in enumerate(names):
        y = head + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end">{_e(labels.get(a, a))}</text>')
        for j, b in enumerate(names):
            v = cells.get((a, b)) or cells.get((b, a)) or 0
            shade = 245 - int(200 * v / top)
            fill = "#eeeeee" if a == b else f"rgb({shade},{shade + 5 if shade < 250 else 250},255)"
            x = left + j * cell
            parts.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                         f'<title>{_e(labels.get(a, a))} × {_e(labels.get(b, b))}: {v}</title></rect>')
            if a != b and v:
                parts.append(f'<text x="{x + cell / 2 - 1:.0f}" y="{y + cell / 2 + 4:.0f}" text-anchor="middle">{v}</text>')
    parts.append("</svg>")
    return f"<figure><figcaption>{_e(title)}</figcaption>{''.join(parts)}</figure>"


def table(headers: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def results_sections(con: duckdb.DuckDBPyConnection) -> list[str]:
    """一公开: the six figures per agency, the deadlines met month by month, and the repair calendar."""
    from pipelines.defs.publish.metadata import KPI_BY_AGENCY

    figures = con.sql(KPI_BY_AGENCY)
    on_time = con.execute("""
        select agency, 100 * numerator / denominator from kpi
        where figure = '检查结果按时公示率' and denominator > 0 order by agency""").fetchall()
    by_month = con.execute("""
        with due as (
            select strftime(entry_due_on, '%Y-%m') as month, not entered_late as on_time from inspection_results
            union all
            select strftime(entry_due_on, '%Y-%m'), false from missing_results
        )
        select month, count(*) filter (where on_time), count(*) filter (where not on_time),
               100 * count(*) filter (where on_time) / count(*)
        from due group by month order by month""").fetchall()
    repairs = con.execute("""
        select coalesce(strftime(publish_until, '%Y-%m'), '无截止 no end'), count(*)
        from publicity group by 1 order by 1""").fetchall()
    return [
        "<h2>一公开 Results and the six figures</h2>",
        table(figures.columns, figures.fetchall()),
        bar_chart("检查结果按时公示率 results entered on time, per agency (%)", [(a, v) for a, v in on_time], unit="%"),
        bar_chart("按期录入 results entered on time, by the month they were due (%)",
                  [(m, r) for m, _, _, r in by_month], unit="%"),
        table(["到期月份 due in", "按时 on time", "逾期或未录入 late or missing", "按时率 % on time"],
              [(m, a, b, f"{r:.1f}") for m, a, b, r in by_month]),
        bar_chart("公示修复日历 results leaving the 公示, by month (repair date)", repairs),
    ]
ALONE = "单独 alone · "
ALL_PLANS = "全部已抽取计划 all drawn plans"


METHODS = ("steward", "uscc", "reg_no", "name_address", "name", "former_name", "none", "plan")
FLAGS = ("not_in_pool", "ambiguous_name", "inactive_enterprise", "name_mismatch", "address_mismatch", "out_of_region",
         "steward_link")
REVIEW_REASONS = ("not_in_pool", "ambiguous_name", "name_mismatch", "address_mismatch", "out_of_region", "stale_link")


def matching_sections(con: duckdb.DuckDBPyConnection, published: Path) -> tuple[list[str], int | None]:
    """Matching you can check: the draw entries' match methods and flags per agency, and the data
    steward's queue (match_review) per agency and reason; with the queue's size (None: not published)."""
    sections: list[str] = []
    if (published / "draw_entries.parquet").exists():
        methods = con.execute(f"""
            select agency, count(*), {', '.join(f"count(*) filter (where match_method = '{m}')" for m in METHODS)}
            from draw_entries group by agency order by agency""").fetchall()
        flags = con.execute(f"""
            select agency, {', '.join(f"count(*) filter (where list_contains(flags, '{f}'))" for f in FLAGS)}
            from draw_entries group by agency order by agency""").fetchall()
        sections += [
            "<h2>匹配 Matching draw entries to the pool</h2>",
            table(["部门 agency", "条目 entries", *METHODS], methods),
            table(["部门 agency", *FLAGS], flags),
        ]
    if not (published / "match_review.parquet").exists():
        return sections, None
    size = con.execute("select count(*) from match_review").fetchall()[0][0]
    queue = con.execute(f"""
        select agency, feed, count(*), {', '.join(f"count(*) filter (where list_contains(reasons, '{r}'))"
                                                 for r in REVIEW_REASONS)}
        from match_review group by agency, feed order by agency, feed""").fetchall()
    sections += [
        f"<h2>人工确认 The data steward's queue (match_review): {size:,} 行 rows</h2>",
        table(["部门 agency", "数据 feed", "待确认 rows", *REVIEW_REASONS], queue) if queue
        else '<p class="empty">无待确认 nothing to review</p>',
    ]
    return sections, size


def draw_burden(con: duckdb.DuckDBPyConnection, warehouse: Path) -> tuple[list[tuple], list[str]]:
    """The drawn plans' burden: one row per coordination group (a plan without one alone), then one for
    every drawn plan together: (group, plans, the sum of the plans' sample sizes, distinct enterprises
    drawn, the expected distinct enterprises had each plan been drawn with a seed of its own, the
    enterprises coordination saved); the last two None where a pool snapshot is not readable, named in
    the second value. ``con`` has the published tables as views; no draw record: ``([], [])``.

    The independent counterfactual re-runs the draw rule (draw.sql) on the pool snapshot each draw was
    made from, with the plan's items, ratios and seed from ``draw_records``, for every plan's scope and
    strata; from them ``expected_independent`` (pipelines/defs/draws/burden.py)."""
    views = {r[0] for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    if not {"draw_records", "plan_draws"} <= views:
        return [], []
    if not con.execute("select count(*) from draw_records").fetchone()[0]:
        return [], []
    con.execute(f"""create or replace temp table burden_plans as
        select agency, task_id, coalesce(coordination, '{ALONE}' || agency || ':' || task_id) as grp,
               coordination, items, seed, seed_sha256, pool_snapshot_id,
               list_sum(list_transform(strata, lambda s: s.sample_size))::bigint as sample_size,
               {", ".join(f"list_filter(strata, lambda s: s.stratum = '{s}')[1].ratio as ratio_{s.lower()}"
                          for s in ("A", "B", "C", "D", "none"))}
        from draw_records""")
    con.execute("create or replace temp table burden_chances "
                "(agency varchar, task_id varchar, enterprise_id varchar, p double)")
    missing = []
    for (snapshot_id,) in con.execute("select distinct pool_snapshot_id from burden_plans order by 1").fetchall():
        try:
            folder = snapshot_dir(warehouse, snapshot_id)
        except FileNotFoundError:
            missing.append(snapshot_id)
            continue
        if not all((folder / f"{t}.parquet").exists() for t in ("enterprise_pool", "item_scope")):
            missing.append(snapshot_id)
            continue
        con.execute("create or replace temp table draw_plans as select * exclude (grp, sample_size, "
                    "pool_snapshot_id) from burden_plans where pool_snapshot_id = ?", [snapshot_id])
        con.execute("create or replace temp view draw_pool as select enterprise_id, uscc, credit_grade "
                    f"from read_parquet('{folder / 'enterprise_pool.parquet'}')")
        con.execute("create or replace temp view draw_scope as select agency, item_code, enterprise_id "
                    f"from read_parquet('{folder / 'item_scope.parquet'}')")
        run_rule(con)
        con.execute(f"insert into burden_chances {CHANCES}")
    groups = con.execute("select grp, count(*), sum(sample_size), list(distinct pool_snapshot_id) from burden_plans "
                         "group by grp order by starts_with(grp, ?), grp", [ALONE]).fetchall()
    distinct = dict(con.execute("select p.grp, count(distinct d.enterprise_id) from plan_draws as d "
                                "inner join burden_plans as p using (agency, task_id) group by p.grp").fetchall())
    everyone = con.execute("select count(*), sum(sample_size), (select count(distinct enterprise_id) from plan_draws "
                           "semi join burden_plans using (agency, task_id)) from burden_plans").fetchone()
    expected = expected_independent(con, "plans.grp", chances="burden_chances", plans="burden_plans")
    together = sum(expected_independent(con, "true", chances="burden_chances", plans="burden_plans").values())
    rows = []
    for grp, plans, samples, snapshots in groups:
        independent = None if set(snapshots) & set(missing) else round(expected.get(grp, 0.0), 1)
        drawn = distinct.get(grp, 0)
        rows.append((grp, plans, int(samples), drawn, independent,
                     None if independent is None else round(independent - drawn, 1)))
    independent = None if missing else round(together, 1)
    rows.append((ALL_PLANS, everyone[0], int(everyone[1]), everyone[2], independent,
                 None if independent is None else round(independent - everyone[2], 1)))
    return rows, missing


def _number(value):
    if value is None:
        return "—"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value


def burden_section(rows: list[tuple], missing: list[str]) -> list[str]:
    if not rows:
        return ["<p class=empty>（尚未抽取任何计划 no plan is drawn in this warehouse: nothing to show; "
                "<code>ssj draw</code> draws the plans）</p>"]
    _, plans, samples, distinct, independent, saved = rows[-1]
    totals = [("计划样本量之和 the plans' sample sizes, added up", samples)]
    if independent is not None:
        totals.append(("各计划独立抽取（期望）independent draws, expected distinct", independent))
    totals.append(("实际抽取（去重）as drawn, distinct enterprises", distinct))
    groups = [(r[0], r[5]) for r in rows[:-1] if r[1] > 1 and r[5] is not None]
    if saved is not None:
        groups.append((ALL_PLANS, saved))
    parts = [
        bar_chart(f"已抽取的 {plans} 个计划抽中的企业 enterprises drawn by the {plans} drawn plans", totals, digits=1,
                  width=940, label_w=430),
        bar_chart("联合抽取比独立抽取少检查的企业（期望）enterprises coordination saved against independent draws "
                  "(expected), per coordination group", groups, digits=1, width=940, label_w=430),
        table(["联合抽查组 coordination group", "计划 plans", "样本量之和 sample sizes, added up",
               "实际抽取（去重）drawn, distinct", "独立抽取（期望）independent, expected", "减少 saved"],
              [tuple(_number(v) for v in r) for r in rows]),
        "<p>实际抽取：<code>plan_draws</code> 中的不同企业数。独立抽取：每个计划用各自的种子、在其抽取时的名录库快照上抽取时，"
        "不同企业数的期望值 Σ (1 − Π (1 − n/N))。As drawn: the distinct enterprises of <code>plan_draws</code>. "
        "Independent: the expected number of distinct enterprises had each plan been drawn with a seed of its own "
        "on the pool snapshot it was drawn from (the draw rule re-run for its scope and strata; each enterprise "
        "counts 1 − Π (1 − n/N) over the plans whose scope holds it). Plans drawn with one seed agree wherever "
        "their scopes overlap, also across coordination groups (the last row counts that too); one visit serves "
        "several plans only where their windows intersect (joint inspections above).</p>",
    ]
    if missing:
        parts.append(f"<p class=empty>（名录库快照不可读 pool snapshot not readable: {_e(', '.join(missing))}; "
                     "no independent counterfactual for the plans drawn from it）</p>")
    return parts


def build_report(warehouse: Path) -> str:
    published = (Path(warehouse) / "published").resolve()  # once: every table from one snapshot
    if not (published / "ingest_log.parquet").exists():
        raise FileNotFoundError(f"{published} holds no published tables: run `ssj run` first")
    con = duckdb.connect()
    for f in published.glob("*.parquet"):
        con.execute(f"create view {f.stem} as select * from read_parquet('{f}')")
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731

    files = q("""select status, count(*) from ingest_log group by status order by status""")
    per_agency_feed = q("""select agency || ' · ' || feed, sum(rows_read) from ingest_log where status = 'ingested'
                           group by all order by 2 desc, 1""")
    rejected = q("""select path, error_code, error from ingest_log where status = 'rejected' order by path""")
    reasons = q("""select code, count(*) from (select unnest(reason_codes) as code from quarantine)
                   group by code order by 2 desc, 1""")
    by_sector = q("""select coalesce(sector, '?'), count(*) from enterprise_pool group by 1 order by 1""")
    by_scale = q("""select scale, count(*) from enterprise_pool group by 1
                    order by list_position(['large','medium','small','micro','unknown'], scale)""")
    by_grade = q("""select coalesce(credit_grade, '未分类 none'), count(*) from enterprise_pool group by 1 order by 1""")
    inspectors = q("""select agency_name, count(*) filter (where is_eligible), count(*) from inspector_pool
                      group by 1 order by 1""")
    overlap = q("select agency_a, agency_a_name, agency_b, agency_b_name, shared_enterprises from agency_overlap")
    summary = q("""select scope, entries, groups, merged_entries, unmerged_entries, inspections_needed,
                   inspections_saved from merge_summary order by scope""")
    totals = q("""select (select count(*) from enterprise_pool), (select count(*) from inspector_pool),
                         (select count(*) from joint_inspections), (select count(*) from quarantine)""")[0]
    results = results_sections(con) if (published / "kpi.parquet").exists() else []
    matching, review_size = matching_sections(con, published)
    burden, missing = draw_burden(con, warehouse)
    con.close()

    labels = {a: n for a, n, _, _, _ in [(r[0], r[1], 0, 0, 0) for r in overlap] + [(r[2], r[3], 0, 0, 0) for r in overlap]}
    names = sorted(labels)
    cells = {(r[0], r[2]): r[4] for r in overlap}
    saved = next((r for r in summary if r[0] == "all"), None)
    sections = [
        "<h2>数据接入 Files and rows</h2>",
        bar_chart("文件 files by outcome", [(s, n) for s, n in files]),
        bar_chart("读入行数 rows read per agency · feed", per_agency_feed),
        table(["被拒文件 rejected file", "代码 code", "原因 reason"], rejected) if rejected else "",
        "<h2>隔离 Quarantine</h2>",
        bar_chart("隔离原因 quarantine reasons (rows)", reasons),
        "<h2>检查对象名录库 Enterprise pool</h2>",
        bar_chart("行业门类 by sector (GB/T 4754)", by_sector),
        bar_chart("规模 by scale (2017 划分办法)", by_scale),
        bar_chart("信用风险分类 by credit grade", by_grade),
        "<h2>执法检查人员名录库 Inspector pool</h2>",
        table(["单位 agency", "可选派 eligible", "总数 total"], inspectors),
        "<h2>联合检查 Joint inspections</h2>",
        heatmap("部门两两重叠 enterprises drawn by both agencies in overlapping windows", names, cells, labels),
        bar_chart("合并减少的检查次数 inspections saved by merging",
                  [(r[0], r[6]) for r in summary]),
        table(["范围 scope", "抽取条目 entries", "组 groups", "合并条目 merged", "未合并 unmerged",
               "需检查 needed", "减少 saved"], summary),
        *matching,
        "<h2>随机抽取的检查负担 Draws: enterprises visited</h2>",
        *burden_section(burden, missing),
        *results,
    ]
    headline = (f"{totals[0]:,} 户企业 enterprises · {totals[1]:,} 名检查人员 inspectors · "
                f"{totals[2]:,} 个联合检查组 joint groups · {totals[3]:,} 行隔离 quarantined rows")
    if saved:
        headline += f" · 减少检查 {saved[6]:,} 次 inspections saved"
    if review_size is not None:
        headline += f" · {review_size:,} 行待人工确认 rows to review"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>双随机 运行报告 shuangsuiji run report</title>
<style>
body {{ font-family: {FONT}; margin: 2em auto; max-width: 980px; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ccc; }}
figure {{ margin: 1em 0; }} figcaption {{ font-weight: bold; margin-bottom: .4em; }}
table {{ border-collapse: collapse; margin: .8em 0; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
.empty {{ color: #888; }} .headline {{ font-size: 1.1em; }}
</style></head><body>
<h1>双随机、一公开 运行报告 · shuangsuiji run report</h1>
<p class="headline">{_e(headline)}</p>
<p>仓库 warehouse: <code>{_e(Path(warehouse).resolve())}</code> · 生成 generated {datetime.now():%Y-%m-%d %H:%M}</p>
{''.join(sections)}
</body></html>
"""


def write_report(warehouse: Path, out: Path) -> Path:
    """Build the report and replace ``out`` atomically."""
    text = build_report(warehouse)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out)
    return out
