"""Publishing a snapshot to a downstream database, against the real PostgreSQL and MariaDB.

Every table of a snapshot is replaced in one transaction, in the same database
objects: a reader polling ``count(*)`` while a publish runs sees the old row count
or the new one, never 0, never a missing table; a failure part-way leaves the
previous snapshot whole; a downstream role's grants and a downstream view survive.
"""

import datetime as dt
import json
import os
import threading
import time
from decimal import Decimal

import duckdb
import pytest
import sqlalchemy as sa

from connectors.sql import RetryPolicy, make_engine
from pipelines.defs.publish.sql_target import KEYS, SnapshotRow, TargetError, publish_to_target

pytestmark = pytest.mark.db

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MY_ROOT_URL = "mysql://root@127.0.0.1:3306/test"
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
TABLES = ["draw_entries", "enterprise_pool", "inspector_pool", "joint_inspections"]


def snap(n: int) -> SnapshotRow:
    return SnapshotRow(f"20261201T08000{n}.000000Z", "2026-11-30", f"2026-12-01T08:00:0{n}+00:00")


def publish(con, tables, url, schema=None, n=1, retry=FAST):
    return publish_to_target(con, tables, url, snapshot=snap(n), schema=schema, retry=retry)


@pytest.fixture(params=["postgresql", "mariadb"])
def target(request):
    """(backend, url, schema, engine, qualified-name function) in a schema/database unique to this run."""
    backend = request.param
    name = f"ssj_pub_{os.getpid()}_{request.node.name.split('[')[0][-12:]}".lower()
    if backend == "postgresql":
        admin = make_engine(PG_URL)
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        yield backend, PG_URL, name, admin, lambda t: f'"{name}"."{t}"'
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    else:
        admin = make_engine(MY_ROOT_URL)
        with admin.begin() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
            c.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        url = f"mysql://root@127.0.0.1:3306/{name}"
        yield backend, url, None, make_engine(url), lambda t: f"`{name}`.`{t}`"
        with admin.begin() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def make_marts(n: int, *, version: int = 1) -> duckdb.DuckDBPyConnection:
    """A temp DuckDB with the four keyed marts; ``version`` changes names and flags."""
    con = duckdb.connect()
    con.execute(
        f"""
        create table enterprise_pool as
        select 'E' || lpad(i::varchar, 7, '0') as enterprise_id,
               case when i % 5 = 0 then null else '9135' || lpad(i::varchar, 14, '0') end as uscc,
               case when i = 1 then '福州市鼓楼区"老字号"食品有限公司（v{version}）'
                    when i = 2 then e'多行\\n名称, 带逗号'
                    when i = 3 then ''
                    else '企业' || i || '号 v{version}' end as name,
               case when i % 3 = 0 then ['food', 'drug'] when i % 3 = 1 then []::varchar[] else null end as categories,
               (i + {version}) % 2 = 0 as is_active,
               date '2020-01-01' + (i % 1000)::integer as established_on,
               case when i % 7 = 0 then null else i / 3.0 end::double as score,
               (i * 10)::bigint as licence_count,
               timestamp '2026-01-01 08:00:00' + to_seconds(i) as updated_at
        from range(1, {n} + 1) t(i)
        """
    )
    con.execute(
        f"""
        create table joint_inspections as
        select 'G' || i as joint_group_id, 'E' || lpad(i::varchar, 7, '0') as enterprise_id,
               ['samr-350102', 'tax-350102'] as agencies, 2 as agency_count,
               date '2026-03-01' as window_start, date '2026-03-{10 + version}' as window_end
        from range(1, {n // 10} + 1) t(i)
        """
    )
    con.execute(
        """
        create table draw_entries as
        select 'samr-350102' as agency, 'T-' || (i % 3) as task_id, 'E' || lpad(i::varchar, 7, '0') as enterprise_id,
               case when i <= 5 then 'G' || i else null end as joint_group_id, ['not_in_pool'] as flags
        from range(1, 21) t(i)
        """
    )
    con.execute(
        """
        create table inspector_pool as
        select 'FJ-' || i as inspector_id, '检查员' || i as name, '3501****1234' as id_no_masked,
               ['食品', '计量'] as qualifications, i % 2 = 0 as is_eligible
        from range(1, 11) t(i)
        """
    )
    return con


def _normalize(v):
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _read(engine: sa.Engine, qname: str, cols: list[str], order: str, backend: str) -> list[tuple]:
    q = (lambda c: f'"{c}"') if backend == "postgresql" else (lambda c: f"`{c}`")
    with engine.connect() as c:
        rows = c.execute(sa.text(f"select {', '.join(q(x) for x in cols)} from {qname} order by {q(order)}")).fetchall()
    return [tuple(_normalize(v) for v in r) for r in rows]


def _duck(con: duckdb.DuckDBPyConnection, table: str, order: str) -> tuple[list[str], list[tuple]]:
    cur = con.execute(f"select * from {table} order by {order}")
    cols = [d[0] for d in cur.description]
    return cols, [tuple(_normalize(v) for v in r) for r in cur.fetchall()]


def _as_bool(rows: list[tuple], cols: list[str], bool_cols: set[str]) -> list[tuple]:
    idx = [i for i, c in enumerate(cols) if c in bool_cols]
    return [tuple(bool(v) if i in idx and v is not None else v for i, v in enumerate(r)) for r in rows]


def _tables(engine: sa.Engine, schema: str | None) -> set[str]:
    return set(sa.inspect(engine).get_table_names(schema=schema))


def test_publish_round_trip_keys_and_types(target):
    backend, url, schema, engine, qn = target
    con = make_marts(200)
    counts = publish(con, TABLES, url, schema)
    assert counts == {"enterprise_pool": 200, "joint_inspections": 20, "draw_entries": 20, "inspector_pool": 10}

    for table, order in [("enterprise_pool", "enterprise_id"), ("joint_inspections", "joint_group_id"),
                         ("draw_entries", "enterprise_id"), ("inspector_pool", "inspector_id")]:
        cols, want = _duck(con, table, order)
        got = _read(engine, qn(table), cols, order, backend)
        bools = {"is_active", "is_eligible"}
        assert _as_bool(got, cols, bools) == _as_bool(want, cols, bools), table

    # Chinese text, quotes, commas, newlines, '' vs NULL, lists as JSON.
    got = {r[0]: r for r in _read(engine, qn("enterprise_pool"), ["enterprise_id", "name", "categories", "uscc"], "enterprise_id", backend)}
    assert got["E0000001"][1] == '福州市鼓楼区"老字号"食品有限公司（v1）'
    assert got["E0000002"][1] == "多行\n名称, 带逗号"
    assert got["E0000003"][1] == "" and got["E0000003"][2] == ["food", "drug"]
    assert got["E0000001"][2] == [] and got["E0000002"][2] is None and got["E0000005"][3] is None

    insp = sa.inspect(engine)
    cols = {c["name"]: c["type"] for c in insp.get_columns("enterprise_pool", schema=schema)}
    assert isinstance(cols["established_on"], sa.Date) and isinstance(cols["licence_count"], sa.BigInteger)
    assert isinstance(cols["updated_at"], sa.DateTime) and isinstance(cols["score"], sa.Float)
    if backend == "postgresql":
        assert isinstance(cols["is_active"], sa.Boolean) and str(cols["categories"]) == "JSONB"
    for table, spec in ((t, KEYS[t]) for t in TABLES):
        pk = insp.get_pk_constraint(table, schema=schema)["constrained_columns"]
        assert pk == spec.get("primary_key", []), table
        indexed = {tuple(ix["column_names"]) for ix in insp.get_indexes(table, schema=schema)}
        for ix in spec.get("indexes", []):
            assert tuple(ix) in indexed, (table, ix)
    assert _tables(engine, schema) == {*TABLES, "ssj_snapshot"}  # no staging table left behind
    with engine.connect() as c:
        row = c.execute(sa.text(f"select snapshot_id, as_of, created_at from {qn('ssj_snapshot')}")).one()
        assert row[0] == snap(1).snapshot_id and row[1] == dt.date(2026, 11, 30)
        assert row[2].replace(tzinfo=row[2].tzinfo or dt.UTC) == dt.datetime(2026, 12, 1, 8, 0, 1, tzinfo=dt.UTC)
        assert c.execute(sa.text(f"select updated_at from {qn('enterprise_pool')} where enterprise_id = 'E0000002'")).scalar() == dt.datetime(2026, 1, 1, 8, 0, 2)


def test_republish_swaps_atomically_under_a_concurrent_reader(target):
    backend, url, schema, engine, qn = target
    old_n, new_n = 20_000, 30_000
    publish(make_marts(old_n), ["enterprise_pool"], url, schema)

    seen: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def poll():
        reader = make_engine(url)
        try:
            while not stop.is_set():
                try:
                    with reader.connect() as c:
                        seen.append(c.execute(sa.text(f"select count(*) from {qn('enterprise_pool')}")).scalar())
                except Exception as exc:  # noqa: BLE001 - every error is a failure of the swap
                    errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            reader.dispose()

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        time.sleep(0.2)
        new = make_marts(new_n, version=2)
        publish(new, ["enterprise_pool"], url, schema, n=2)
        publish(make_marts(old_n, version=3), ["enterprise_pool"], url, schema, n=3)
        publish(new, ["enterprise_pool"], url, schema, n=4)
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors[:3]
    assert len(seen) > 10 and set(seen) <= {old_n, new_n}, sorted(set(seen))
    assert new_n in seen

    cols, want = _duck(new, "enterprise_pool", "enterprise_id")
    got = _read(engine, qn("enterprise_pool"), cols, "enterprise_id", backend)
    assert _as_bool(got, cols, {"is_active"}) == _as_bool(want, cols, {"is_active"})
    assert got[0][2] == '福州市鼓楼区"老字号"食品有限公司（v2）'
    assert _tables(engine, schema) == {"enterprise_pool", "ssj_snapshot"}


def test_a_failure_part_way_leaves_the_previous_snapshot_whole(target):
    backend, url, schema, engine, qn = target
    publish(make_marts(50), TABLES, url, schema, n=1)
    con = make_marts(60, version=2)
    # the last table fails (a duplicate primary key) after the others were emptied and refilled
    con.execute("insert into joint_inspections select * from joint_inspections where joint_group_id = 'G1'")
    with pytest.raises(TargetError, match="joint_inspections|duplicate|Duplicate"):
        publish(con, TABLES, url, schema, n=2)
    with engine.connect() as c:
        assert c.execute(sa.text(f"select count(*) from {qn('enterprise_pool')}")).scalar() == 50
        assert c.execute(sa.text(f"select count(*) from {qn('enterprise_pool')} where name like '%v2%'")).scalar() == 0
        assert c.execute(sa.text(f"select count(*) from {qn('joint_inspections')}")).scalar() == 5
        assert c.execute(sa.text(f"select snapshot_id from {qn('ssj_snapshot')}")).scalar() == snap(1).snapshot_id
    assert _tables(engine, schema) == {*TABLES, "ssj_snapshot"}


def _reader(backend: str, url: str, schema: str | None, admin: sa.Engine, qn):
    """A downstream account granted SELECT on enterprise_pool and on a view over it; yields its engine."""
    user = f"ssj_reader_{os.getpid()}"
    with admin.begin() as c:
        c.execute(sa.text(f"create view {qn('active_enterprises')} as select enterprise_id, name "
                          f"from {qn('enterprise_pool')} where is_active"))
        if backend == "postgresql":
            c.execute(sa.text(f'drop role if exists "{user}"'))
            c.execute(sa.text(f"create role \"{user}\" login"))
            c.execute(sa.text(f'grant usage on schema "{schema}" to "{user}"'))
            for obj in ("enterprise_pool", "active_enterprises"):
                c.execute(sa.text(f'grant select on {qn(obj)} to "{user}"'))
        else:
            c.execute(sa.text(f"drop user if exists '{user}'@'127.0.0.1'"))
            c.execute(sa.text(f"create user '{user}'@'127.0.0.1' identified by 'r3ader'"))
            for obj in ("enterprise_pool", "active_enterprises"):
                c.execute(sa.text(f"grant select on {qn(obj)} to '{user}'@'127.0.0.1'"))
    if backend == "postgresql":
        reader_url = f"postgresql://{user}@127.0.0.1:5432/test"
    else:
        reader_url = url.replace("mysql://root@", f"mysql://{user}:r3ader@")
    return user, make_engine(reader_url)


def test_grants_and_downstream_views_survive_and_show_the_new_snapshot(target):
    backend, url, schema, engine, qn = target
    admin = make_engine(PG_URL if backend == "postgresql" else MY_ROOT_URL)
    publish(make_marts(40), TABLES, url, schema, n=1)
    user, reader = _reader(backend, url, schema, admin, qn)
    try:
        def read(sql: str):
            with reader.connect() as c:
                return c.execute(sa.text(sql)).fetchall()

        assert len(read(f"select * from {qn('enterprise_pool')}")) == 40
        before = read(f"select count(*) from {qn('active_enterprises')}")[0][0]
        # the next snapshot has more rows and a column more
        con = make_marts(70, version=2)
        con.execute("alter table enterprise_pool add column sector varchar default 'F'")
        publish(con, TABLES, url, schema, n=2)
        pool = read(f"select enterprise_id, name, sector from {qn('enterprise_pool')} order by enterprise_id")
        assert len(pool) == 70 and pool[0][1].endswith("（v2）") and {r[2] for r in pool} == {"F"}
        after = read(f"select count(*) from {qn('active_enterprises')}")[0][0]
        want = con.execute("select count(*) from enterprise_pool where is_active").fetchall()[0][0]
        assert after == want != before
        with pytest.raises(sa.exc.DBAPIError):  # only what was granted
            read(f"select count(*) from {qn('inspector_pool')}")
        publish(make_marts(30, version=3), TABLES, url, schema, n=3)  # a column the snapshot no longer has: kept
        assert read(f"select count(*), count(sector) from {qn('enterprise_pool')}") == [(30, 0)]
    finally:
        reader.dispose()
        with admin.begin() as c:
            c.execute(sa.text(f"drop view if exists {qn('active_enterprises')}"))
            if backend == "postgresql":
                c.execute(sa.text(f'drop owned by "{user}"'))
                c.execute(sa.text(f'drop role if exists "{user}"'))
            else:
                c.execute(sa.text(f"drop user if exists '{user}'@'127.0.0.1'"))
        admin.dispose()


def test_unreachable_target_fails_with_masked_password():
    secret = "t0p-Secret_99"
    con = make_marts(5)
    for scheme in ("postgresql", "mysql"):
        url = f"{scheme}://publisher:{secret}@127.0.0.1:1/test"
        started = time.monotonic()
        with pytest.raises(TargetError) as info:
            publish(con, ["inspector_pool"], url)
        message = str(info.value)
        assert "unreachable after 2 attempt(s)" in message and "127.0.0.1:1/test" in message
        assert secret not in message and "publisher" not in message and time.monotonic() - started < 10


@pytest.mark.parametrize("backend, port", [("postgresql", 5432), ("mysql", 3306)])
def test_target_briefly_down_is_retried_with_backoff(backend, port):
    """The first connections are dropped; publishing retries and succeeds."""
    from tests.support import FlakyProxy

    con = make_marts(20)
    user = "postgres" if backend == "postgresql" else "root"
    with FlakyProxy(port, fail_first=2) as proxy:
        url = f"{backend}://{user}@127.0.0.1:{proxy.port}/test"
        counts = publish(con, ["inspector_pool"], url, retry=RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2))
        assert counts == {"inspector_pool": con.execute("select count(*) from inspector_pool").fetchall()[0][0]}
        assert proxy.attempts >= 3
    admin = make_engine(PG_URL if backend == "postgresql" else MY_ROOT_URL)
    with admin.begin() as c:
        c.execute(sa.text("DROP TABLE IF EXISTS inspector_pool, ssj_snapshot"))
    admin.dispose()


def test_a_reader_transaction_keeps_reading_one_snapshot_across_a_publish(target):
    """A REPEATABLE READ transaction begun before a publish reads the previous snapshot in every
    table, also those it first touches after the publish committed (never empty, never a mix)."""
    backend, url, schema, engine, qn = target
    publish(make_marts(50), TABLES, url, schema, n=1)
    reader = make_engine(url, isolation_level="REPEATABLE READ")
    try:
        with reader.connect() as c:
            assert c.execute(sa.text(f"select count(*) from {qn('enterprise_pool')}")).scalar() == 50
            publish(make_marts(80, version=2), TABLES, url, schema, n=2)
            assert c.execute(sa.text(f"select count(*) from {qn('joint_inspections')}")).scalar() == 5
            assert c.execute(sa.text(f"select snapshot_id from {qn('ssj_snapshot')}")).scalar() == snap(1).snapshot_id
        with reader.connect() as c:
            assert c.execute(sa.text(f"select count(*) from {qn('joint_inspections')}")).scalar() == 8
            assert c.execute(sa.text(f"select snapshot_id from {qn('ssj_snapshot')}")).scalar() == snap(2).snapshot_id
    finally:
        reader.dispose()


def write_snapshot(root, run: str, hour: int, files: dict[str, str], *, tables: list[str], keys: dict[str, str]):
    """Snapshot ``run`` of ``tables`` under ``root``, completed ``hour`` hours into 2026-12-01: ``files``
    (table -> SQL) written as its Parquet files; a table without one keeps the previous snapshot's."""
    from pipelines.defs.publish.snapshots import complete_snapshot, start_pending

    folder, _ = start_pending(root, run)
    for table, sql in files.items():
        duckdb.sql(f"copy ({sql}) to '{folder / (table + '.parquet')}' (format parquet)")
    return complete_snapshot(root, run, tables, as_of="2026-11-30", keys=keys, lineage={},
                             now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(hours=hour))


def pool_snapshot(root, run: str, hour: int, sql: str):
    """A snapshot of the one keyed table enterprise_pool, its rows the result of ``sql``."""
    return write_snapshot(root, run, hour, {"enterprise_pool": sql}, tables=["enterprise_pool"],
                          keys={"enterprise_pool": "enterprise_id"})


def test_a_snapshot_is_published_from_its_files_and_unchanged_tables_are_not_loaded_again(target, tmp_path):
    """publish_snapshot reads the snapshot's Parquet files; a table with the bytes of the snapshot the
    database holds is left as it is (a row only the target has survives), the others are replaced."""
    from pipelines.defs.publish.sql_target import publish_snapshot

    backend, url, schema, engine, qn = target

    def snapshot(run: str, hour: int, files: dict[str, str]):
        return write_snapshot(tmp_path, run, hour, files, tables=["joint_inspections", "merge_summary"],
                              keys={"joint_inspections": "joint_group_id"})

    groups = "select 'G' || i as joint_group_id, 'E' || i as enterprise_id from range({}) t(i)"
    summary = "select 'all' as scope, {} as groups"
    first = snapshot("r1", 1, {"joint_inspections": groups.format(3), "merge_summary": summary.format(3)})
    assert publish_snapshot(first.folder, url, schema=schema, retry=FAST) == {
        "changes": 3, "joint_inspections": 3, "merge_summary": 1}
    with engine.begin() as c:  # a row only the target has: gone when the table is loaded again
        c.execute(sa.text(f"insert into {qn('merge_summary')} values ('marker', 0)"))
    second = snapshot("r2", 2, {"joint_inspections": groups.format(5)})  # merge_summary: the same file
    assert publish_snapshot(second.folder, url, schema=schema, retry=FAST)["joint_inspections"] == 5

    def target_rows(table: str) -> list[tuple]:
        with engine.connect() as c:
            return sorted(c.execute(sa.text(f"select * from {qn(table)}")).fetchall())

    assert target_rows("merge_summary") == [("all", 3), ("marker", 0)]  # not loaded again
    assert len(target_rows("joint_inspections")) == 5 and len(target_rows("changes")) == 2
    assert target_rows("ssj_snapshot")[0][0] == second.manifest["snapshot_id"]
    third = snapshot("r3", 3, {"merge_summary": summary.format(5)})
    publish_snapshot(third.folder, url, schema=schema, retry=FAST)
    assert target_rows("merge_summary") == [("all", 5)]
    assert target_rows("ssj_snapshot")[0][0] == third.manifest["snapshot_id"]


def test_a_keyed_table_gets_only_its_changed_rows_and_ends_exactly_as_the_snapshot(target, tmp_path):
    """Against the snapshot the target holds, a table with a primary key gets the delta: a changed
    row, a gone row and a new row end exactly as in the new snapshot, a row equal in both is not
    written again (PostgreSQL: its xmin stays), and a change of most rows replaces the table whole."""
    from pipelines.defs.publish.sql_target import publish_snapshot

    backend, url, schema, engine, qn = target
    pool = ("select 'E' || lpad(i::varchar, 4, '0') as enterprise_id, '9135' || i as uscc, "
            "case when i = 1 then '{name}' else '企业' || i end as name from range({lo}, {hi}) t(i)")

    def target_rows() -> list[tuple]:
        with engine.connect() as c:
            return sorted(c.execute(sa.text(f"select enterprise_id, uscc, name from {qn('enterprise_pool')}")).fetchall())

    def xmin(key: str):
        with engine.connect() as c:
            return c.execute(sa.text(f"select xmin::text from {qn('enterprise_pool')} where enterprise_id = :k"),
                             {"k": key}).scalar()

    publish_snapshot(pool_snapshot(tmp_path, "r1", 1, pool.format(name="旧名", lo=1, hi=101)).folder, url, schema=schema, retry=FAST)
    before = xmin("E0050") if backend == "postgresql" else None
    # row 1 renamed, row 2 gone, row 101 new, rows 3-100 the same
    second = pool_snapshot(tmp_path, "r2", 2, pool.format(name="新名", lo=1, hi=102) + " where i <> 2")
    assert publish_snapshot(second.folder, url, schema=schema, retry=FAST)["enterprise_pool"] == 100
    assert target_rows() == sorted(duckdb.sql(pool.format(name="新名", lo=1, hi=102) + " where i <> 2").fetchall())
    if backend == "postgresql":
        assert xmin("E0050") == before  # not rewritten
        assert xmin("E0001") != before
    third = pool_snapshot(tmp_path, "r3", 3, pool.format(name="新名", lo=60, hi=200))  # most rows new: replaced whole
    publish_snapshot(third.folder, url, schema=schema, retry=FAST)
    assert target_rows() == sorted(duckdb.sql(pool.format(name="新名", lo=60, hi=200)).fetchall())
    with engine.connect() as c:
        assert c.execute(sa.text(f"select snapshot_id from {qn('ssj_snapshot')}")).scalar() == third.manifest["snapshot_id"]


def test_a_delta_that_does_not_fit_the_targets_rows_fills_the_tables_whole(target, tmp_path):
    """A key the target holds although its snapshot does not (a row added by hand): the delta's
    insert breaks the primary key, and the publish fills every table whole instead of failing."""
    from pipelines.defs.publish.sql_target import publish_snapshot

    backend, url, schema, engine, qn = target
    pool = "select 'E' || lpad(i::varchar, 4, '0') as enterprise_id, '企业' || i as name from range(1, {hi}) t(i)"

    publish_snapshot(pool_snapshot(tmp_path, "r1", 1, pool.format(hi=101)).folder, url, schema=schema, retry=FAST)
    with engine.begin() as c:
        c.execute(sa.text(f"insert into {qn('enterprise_pool')} (enterprise_id, name) values ('E0101', '手工')"))
    publish_snapshot(pool_snapshot(tmp_path, "r2", 2, pool.format(hi=102)).folder, url, schema=schema, retry=FAST)
    with engine.connect() as c:
        rows = sorted(c.execute(sa.text(f"select enterprise_id, name from {qn('enterprise_pool')}")).fetchall())
    assert rows == sorted(duckdb.sql(pool.format(hi=102)).fetchall())
