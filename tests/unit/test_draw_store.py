"""`ssj draw`'s rules on a hand-made warehouse (pipelines/defs/draws/store.py): the seed must be every
selected plan's commitment, a draw is kept (same seed: unchanged, even after the pool changed; another
seed: refused), the coordination group selects, and nothing is drawn before something is published.
The re-derivation of verify.py agrees with the SQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.draws.store import DrawRefused, make_draw
from pipelines.defs.draws.verify import rederive, verify_draws
from pipelines.defs.publish.snapshots import snapshots_dir, switch_published


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def publish(warehouse: Path, snapshot_id: str, grades: dict[str, str | None]) -> None:
    """A snapshot with an enterprise_pool of ``grades`` and agency a's items I (every enterprise) and J
    (the first ten), switched in."""
    folder = snapshots_dir(warehouse) / snapshot_id
    folder.mkdir(parents=True)
    ids = sorted(grades)
    duckdb.execute(f"""copy (select unnest(?::varchar[]) as enterprise_id, 'U' || enterprise_id as uscc,
        unnest(?::varchar[]) as credit_grade) to '{folder / 'enterprise_pool.parquet'}'""", [ids, [grades[e] for e in ids]])
    duckdb.execute(f"""copy (select 'a' as agency, 'I' as item_code, unnest(?::varchar[]) as enterprise_id
        union all select 'a', 'J', unnest(?::varchar[])) to '{folder / 'item_scope.parquet'}'""", [ids, ids[:10]])
    (folder / "_snapshot.json").write_text(json.dumps({"snapshot_id": snapshot_id, "tables": {}}))
    switch_published(warehouse, folder)


def plans(warehouse: Path, rows: list[tuple]) -> None:
    """rows: (task_id, window_start, coordination, seed_sha256, items)."""
    con = duckdb.connect(str(warehouse / "ssj.duckdb"))
    con.execute("""create or replace table int_plans__current (agency varchar, task_id varchar, window_start date,
        coordination varchar, seed_sha256 varchar, items varchar[], ratio_a double, ratio_b double, ratio_c double,
        ratio_d double, ratio_none double, task_name varchar, window_end date)""")
    con.executemany("insert into int_plans__current values ('a', ?, ?, ?, ?, ?, 0.1, 0.2, 0.3, 0.4, 0.05, null, null)",
                    rows)
    con.execute("update int_plans__current set task_name = task_id || ' 抽查', window_end = window_start + 90")
    con.close()


def stored(warehouse: Path) -> tuple[list, list]:
    con = duckdb.connect(str(warehouse / "ssj.duckdb"), read_only=True)
    try:
        return (con.execute("select * from draws.plan_draws order by all").fetchall(),
                con.execute("select * from draws.draw_records order by all").fetchall())
    finally:
        con.close()


S1, S2 = "20261201T080000.000000Z", "20261202T080000.000000Z"
GRADES = {f"E{i:03d}": (None, "A", "B", "C", "D")[i % 5] for i in range(100)}


def test_nothing_is_drawn_before_a_snapshot_is_published(tmp_path):
    with pytest.raises(DrawRefused, match="run `ssj run` first"):
        make_draw(tmp_path, 2026, "seed")


def test_the_seed_must_be_every_plans_commitment_and_a_draw_stays(tmp_path):
    publish(tmp_path, S1, GRADES)
    plans(tmp_path, [("T1", "2026-03-01", "g", sha("s"), ["I"]), ("T2", "2026-05-01", "g", sha("s"), ["J"]),
                     ("T3", "2026-06-01", None, sha("t"), ["I", "J"]), ("T0", "2025-06-01", None, sha("x"), ["I"])])
    with pytest.raises(DrawRefused, match=r"1 of the 3 plans of 2026: a:T3; nothing drawn$"):
        make_draw(tmp_path, 2026, "s")
    with pytest.raises(DrawRefused, match="no current plan of coordination group 'h'"):
        make_draw(tmp_path, 2026, "s", "h")
    assert stored(tmp_path) == ([], [])

    out = make_draw(tmp_path, 2026, "s", "g")
    assert out.pool_snapshot_id == S1 and out.already == [] and set(out.drawn) == {"a:T1", "a:T2"}
    draws, records = stored(tmp_path)
    assert [r[:2] for r in records] == [("a", "T1"), ("a", "T2")] and {r[6] for r in records} == {S1}
    # the record keeps the plan's name and window as drawn, and the number of this `ssj draw`
    assert [(r[10], str(r[11]), str(r[12]), r[13]) for r in records] == [
        ("T1 抽查", "2026-03-01", "2026-05-30", 1), ("T2 抽查", "2026-05-01", "2026-07-30", 1)]
    # coordinated: in each stratum of the overlap (T2's scope, E000-E009) one plan's draw holds the other's
    by_plan = {t: {(d[4], d[2]) for d in draws if d[1] == t and d[2] < "E010"} for t in ("T1", "T2")}
    for stratum in ("A", "B", "C", "D", "none"):
        one, other = ({e for s, e in by_plan[t] if s == stratum} for t in ("T1", "T2"))
        assert one <= other or other <= one

    # verify.py's re-derivation, plain Python, gives the SQL's rows
    pool = {e: ("U" + e, g) for e, g in GRADES.items()}
    scope = {"a": {"I": set(GRADES), "J": set(sorted(GRADES)[:10])}}
    names = ("agency", "task_id", "coordination", "items", "seed", "seed_sha256", "pool_snapshot_id", "scope_size",
             "strata", "algorithm")
    for row in records:
        record = dict(zip(names, row))
        rows, strata, size = rederive(record, pool, scope)
        assert rows == {(d[2], d[3], d[4], d[5], d[6]) for d in draws if d[1] == record["task_id"]}
        assert strata == record["strata"] and size == record["scope_size"]

    # the pool changes: the draw does not; the same seed again changes nothing
    publish(tmp_path, S2, dict.fromkeys(GRADES, "A"))
    again = make_draw(tmp_path, 2026, "s", "g")
    assert again.drawn == {} and again.already == ["a:T1", "a:T2"]
    assert stored(tmp_path) == (draws, records)

    # verify-draw re-derives them from the files of S1, whatever S2's pool says; a forged commitment shows
    con = duckdb.connect(str(tmp_path / "ssj.duckdb"), read_only=True)
    current = snapshots_dir(tmp_path) / S2
    con.execute(f"copy draws.plan_draws to '{current / 'plan_draws.parquet'}'")
    con.execute(f"copy draws.draw_records to '{current / 'draw_records.parquet'}'")
    assert verify_draws(tmp_path) == (S2, 2, [])
    con.execute(f"""copy (select * replace (case when task_id = 'T1' then sha256('forged') else seed_sha256 end
                          as seed_sha256) from draws.draw_records) to '{current / 'draw_records.parquet'}'""")
    con.close()
    assert verify_draws(tmp_path) == (S2, 2, ["a:T1: sha256(seed) is not the committed seed_sha256"])

    # the plans commit to another seed: a plan drawn once is not drawn again
    plans(tmp_path, [("T1", "2026-03-01", "g", sha("u"), ["I"]), ("T2", "2026-05-01", "g", sha("u"), ["J"])])
    with pytest.raises(DrawRefused, match="already drawn with another seed: a:T1, a:T2"):
        make_draw(tmp_path, 2026, "u", "g")
    assert stored(tmp_path) == (draws, records)


def test_a_plan_without_a_commitment_is_not_in_the_way_and_a_seed_is_never_revealed_early(tmp_path):
    publish(tmp_path, S1, GRADES)
    plans(tmp_path, [("T1", "2026-03-01", "g", sha("s"), ["I"]), ("T4", "2026-04-01", None, None, ["I"]),
                     ("T5", "2027-02-01", None, sha("s"), ["J"])])
    # T5 (2027) committed to the same seed: drawing 2026 alone would publish it before T5 is drawn
    with pytest.raises(DrawRefused, match=r"1 plan\(s\) outside this selection committed to the same seed .*: a:T5"):
        make_draw(tmp_path, 2026, "s")
    assert stored(tmp_path) == ([], [])
    plans(tmp_path, [("T1", "2026-03-01", "g", sha("s"), ["I"]), ("T4", "2026-04-01", None, None, ["I"])])
    out = make_draw(tmp_path, 2026, "s")  # T4, with no commitment, is neither drawn nor a reason to refuse
    assert set(out.drawn) == {"a:T1"}
