"""Draw-list drops build incrementally, and the result is the full build's, byte for byte.

A generated landing zone is built once (full); then two batches of draw-list
files are dropped, each followed by `ssj run`, which must choose the incremental
draws build: a new task drawing enterprises other agencies drew too, a redraw
replacing a task's rows (enterprises leave groups), a redraw whose rows are all
quarantined (must not wipe the task), a file in another agency's name, and a
second redraw of a task added by the previous batch. Between the first build and
the drops, `ssj draw` draws the year's plans: the drawn enterprises enter matching
through its own partial build, and the draws builds after it keep them; the second
batch drops a list for a drawn plan's task, which then is the list's. Finally a
fresh warehouse with the same draw store is built in full from the same landing
zone: every published table must be identical (ingest_log up to its timestamps).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.draws.store import create_store
from pipelines.generate.plans import demo_seed
from tests.prefork import ssj
from tests.support import copy_built_sample, run_ssj, write_csv

pytestmark = pytest.mark.slow

AS_OF = "2026-11-26"
HEADER = ["任务编号", "任务名称", "统一社会信用代码", "企业名称", "地址", "检查事项", "开始日期", "结束日期"]
LATER = 2_000_000_000  # mtime of the dropped files: after every generated file


def drop(landing: Path, agency: str, name: str, rows: list[list[str]], mtime: int, header=HEADER) -> None:
    write_csv(landing / agency / "draw_list" / name, header, rows, mtime)


def published(warehouse: Path, table: str, order: str) -> list[tuple]:
    return duckdb.sql(f"select * from read_parquet('{warehouse}/published/{table}.parquet') order by {order}").fetchall()


def build_mode(proc) -> str:
    line = next(line for line in proc.stderr.splitlines() + proc.stdout.splitlines() if "build: " in line)
    return line.split("build: ", 1)[1].split()[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, built_sample):
    root = tmp_path_factory.mktemp("incremental")
    sample, warehouse = copy_built_sample(built_sample, root)  # generated, built in full as of AS_OF
    landing, agencies = sample / "landing", sample / "agencies.yaml"

    def run():
        proc = run_ssj(landing, warehouse, agencies, as_of=AS_OF)
        assert proc.returncode == 0, proc.stderr[-4000:]
        return proc

    modes = ["full"]  # the sample's run from empty (built_sample checks its mode)
    pool = duckdb.sql(f"""select uscc, name from read_parquet('{warehouse}/published/enterprise_pool.parquet')
                          where uscc is not null and is_active order by enterprise_id""").fetchall()
    drawn = duckdb.sql(f"""select agency, task_id, any_value(task_name), list(uscc order by source_row),
                                  min(window_start)::varchar, max(window_end)::varchar
                           from read_parquet('{warehouse}/published/draw_entries.parquet')
                           where uscc is not null group by all order by count(*) desc, agency, task_id""").fetchall()
    joint = duckdb.sql(f"""select uscc from read_parquet('{warehouse}/published/joint_inspections.parquet')
                           where uscc is not null order by joint_group_id""").fetchall()
    names = dict(pool)
    (agency, task_id, task_name, usccs, start, end) = drawn[0]

    # the year's plans drawn: published through `ssj draw`'s own partial build
    draw = ssj(["draw", "--landing", str(landing), "--warehouse", str(warehouse), "--agencies", str(agencies),
                "--as-of", AS_OF, "--plans-of", "2026", "--seed", demo_seed(2026)])
    assert draw.returncode == 0, draw.stderr[-4000:]
    plan_entries = duckdb.sql(f"""select count(*) from read_parquet('{warehouse}/published/draw_entries.parquet')
                                  where source = 'plan'""").fetchall()[0][0]
    assert plan_entries == duckdb.sql(
        f"select count(*) from read_parquet('{warehouse}/published/plan_draws.parquet')").fetchall()[0][0] > 0

    # batch 1: a new task over enterprises already in joint groups, a redraw of the biggest task
    # (keeps half its enterprises), an all-quarantined redraw, a list in another agency's name
    new_task = [["BX2026-01", "补充抽查", u, names.get(u, ""), "", "食品标签", "2026-03-01", "2026-12-31"]
                for (u,) in joint[:8]] + [["BX2026-01", "补充抽查", u, n, "", "食品标签", "2026-03-01", "2026-12-31"]
                                          for u, n in pool[:5]]
    drop(landing, "samr-350103", "补充名单.csv", new_task, LATER)
    drop(landing, agency, "重新抽取.csv", [[task_id, task_name, u, names.get(u, ""), "", "", start, end]
                                         for u in usccs[::2]], LATER + 1)
    second = drawn[1]
    drop(landing, second[0], "错误的重抽.csv", [[second[1], second[2], u, "", "", "", "2026-09-01", "2026-01-01"]
                                             for u in second[3][:3]], LATER + 2)
    drop(landing, "tax-350102", "他人名义.csv", [[*r, "samr-350103"] for r in new_task[:2]], LATER + 3,
         header=[*HEADER, "抽查部门"])
    modes.append(build_mode(run()))

    # batch 2: the new task redrawn again (a narrower window), and one more task
    drop(landing, "samr-350103", "补充名单-修订.csv", [r[:6] + ["2026-06-01", "2026-06-30"] for r in new_task[3:]],
         LATER + 4)
    drop(landing, "eco-350100", "专项.csv", [["HB2026-09", "专项", u, names.get(u, ""), "", "", "2026-06-15", "2026-07-15"]
                                            for (u,) in joint[:4]], LATER + 5)
    # a drawn plan's task dropped as a list: the list is the task
    listed = [["TJJH2026-01", "食品销售者抽查", u, n, "", "SP-01", "2026-03-01", "2026-05-31"] for u, n in pool[:3]]
    drop(landing, "samr-350103", "计划任务名单.csv", listed, LATER + 6)
    modes.append(build_mode(run()))

    # the fresh warehouse holds the same draws (a draw is made once, from a snapshot of its warehouse)
    fresh = root / "fresh"
    fresh.mkdir()
    with duckdb.connect(str(fresh / "ssj.duckdb")) as con:
        create_store(con)
        con.execute(f"attach '{warehouse / 'ssj.duckdb'}' as drawn (read_only)")
        for store_table in ("plan_draws", "draw_records"):
            con.execute(f"insert into draws.{store_table} select * from drawn.draws.{store_table}")
    # a new interpreter with a hash seed of its own (the incremental runs share the prefork
    # server's): a table whose bytes follow the order of a Python set or dict of strings differs
    proc = run_ssj(landing, fresh, agencies, as_of=AS_OF, extra_env={"PYTHONHASHSEED": "20261126"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return modes, warehouse, fresh


def test_draw_list_drops_choose_the_incremental_build(runs):
    modes, _, _ = runs
    assert modes == ["full", "draws", "draws"]


def test_incremental_tables_equal_the_full_build_byte_for_byte(runs):
    _, warehouse, fresh = runs
    for parquet in sorted((fresh / "published").glob("*.parquet")):
        # changes compares each snapshot with the one before: the two warehouses' histories differ
        if parquet.name not in ("ingest_log.parquet", "changes.parquet"):
            assert parquet.read_bytes() == (warehouse / "published" / parquet.name).read_bytes(), parquet.name
    stamps = "* exclude (first_seen_at, processed_at)"
    assert (duckdb.sql(f"select {stamps} from read_parquet('{fresh}/published/ingest_log.parquet') order by path").fetchall()
            == duckdb.sql(f"select {stamps} from read_parquet('{warehouse}/published/ingest_log.parquet') order by path").fetchall())


def test_draw_list_files_were_staged_in_batches_not_rebuilt(runs):
    _, warehouse, fresh = runs
    batches = "select count(distinct staged_at) from stg_draw_list"
    with duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True) as con:
        assert con.execute(batches).fetchall()[0][0] == 3
    with duckdb.connect(str(fresh / "ssj.duckdb"), read_only=True) as con:
        assert con.execute(batches).fetchall()[0][0] == 1


def test_the_drops_did_change_the_merge_list(runs):
    _, warehouse, _ = runs
    tasks = {r[1] for r in published(warehouse, "draw_entries", "agency, task_id")}
    assert {"BX2026-01", "HB2026-09"} <= tasks
    quarantined = {r[0] for r in duckdb.sql(
        f"select distinct unnest(reason_codes) from read_parquet('{warehouse}/published/quarantine.parquet')").fetchall()}
    assert {"agency_mismatch", "window_end_before_start"} <= quarantined
    keys = duckdb.sql(f"""select count(*) from read_parquet('{warehouse}/published/joint_inspections.parquet')
                          where list_contains(task_keys, 'samr-350103:BX2026-01')""").fetchall()[0][0]
    assert keys > 0


def test_drawn_plans_stay_entries_and_a_dropped_list_wins_its_task(runs):
    _, warehouse, _ = runs
    entries = duckdb.sql(f"""select agency || ':' || task_id, source, count(*)
                             from read_parquet('{warehouse}/published/draw_entries.parquet') group by all""").fetchall()
    sources = {}
    for key, source, _ in entries:
        sources.setdefault(key, set()).add(source)
    planned = {f"{a}:{t}" for a, t in duckdb.sql(
        f"select agency, task_id from read_parquet('{warehouse}/published/draw_records.parquet')").fetchall()}
    assert sources["samr-350103:TJJH2026-01"] == {"drop"}
    assert all(sources.get(key, {"plan"}) == {"plan"} for key in planned - {"samr-350103:TJJH2026-01"})
    groups = duckdb.sql(f"""select count(*) from read_parquet('{warehouse}/published/joint_inspections.parquet')
                            where list_contains(task_keys, 'wjw-350102:WJJH2026-01')""").fetchall()[0][0]
    assert groups > 0


def test_a_new_pool_file_makes_the_next_build_full(runs, tmp_path):
    _, warehouse, _ = runs
    from pipelines.defs.dbt.build_state import plan_build
    from pipelines.defs.ingest.raw_store import ledger_dir
    from pipelines.settings import Settings

    copy = tmp_path / "wh"
    shutil.copytree(warehouse, copy, symlinks=True, ignore=shutil.ignore_patterns(".dagster", ".dbt"))
    agencies = next(warehouse.parent.glob("sample/agencies.yaml"))
    settings = Settings(landing=tmp_path, warehouse=copy, agencies=agencies, as_of=date.fromisoformat(AS_OF))
    assert plan_build(settings).mode == "none"  # every file and draw is in the current snapshot
    entry = next(p for p in ledger_dir(copy).glob("*.json") if '"registration"' in p.read_text(encoding="utf-8"))
    body = entry.read_text(encoding="utf-8")
    (ledger_dir(copy) / "new-registration.json").write_text(body.replace('"sha256": "', '"sha256": "0'), encoding="utf-8")
    assert plan_build(settings).mode == "full"


def test_a_partial_marts_build_records_no_complete_build(runs, tmp_path, monkeypatch):
    """Materializing some marts (the UI allows any subset) must not mark the pools as built.

    In a run of a subset, Dagster's context describes only the selected assets; a
    step that took that for "every model" recorded the newly staged pool inputs
    and rules, so a pool file ingested before would never have been built.
    """
    import dagster as dg

    from pipelines.defs.dbt.build_state import read_state, write_state
    from pipelines.definitions import defs
    from pipelines.settings import Settings

    _, _, fresh = runs
    copy = tmp_path / "wh"
    shutil.copytree(fresh, copy, ignore=shutil.ignore_patterns(".dagster", "published"))
    with duckdb.connect(str(copy / "ssj.duckdb")) as con:
        write_state(con, {"pool_inputs": "stale", "built_rules": "stale"})
    agencies = next(fresh.parent.glob("sample/agencies.yaml"))
    settings = Settings(landing=tmp_path, warehouse=copy, agencies=agencies, as_of=date.fromisoformat(AS_OF))
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    job = defs().resolve_job_def("build_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("merge_summary")])
    assert result.success
    with duckdb.connect(str(copy / "ssj.duckdb"), read_only=True) as con:
        state = read_state(con)
    assert state["pool_inputs"] == "stale" and state["built_rules"] == "stale"
