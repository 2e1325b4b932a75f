"""`ssj`: the command line, a thin face over the same Dagster definitions the UI serves."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

from connectors.personal import mask_text
from pipelines import PROJECT_ROOT
from pipelines.settings import Settings, today_in_shanghai

DAGSTER_YAML = """\
# Written by `ssj`. Runs that write the warehouse are queued one at a time
# (DuckDB allows one writing process); inside a run every step that opens the
# warehouse also holds <warehouse>/.writer.lock, which the OS releases even when
# a run is killed, so nothing can stay locked.
telemetry:
  enabled: false
# Dagster's SQLite run history in its usual place under DAGSTER_HOME, with the
# connections kept open (pipelines/run_history.py says why).
run_storage:
  module: pipelines.run_history
  class: HistoryRunStorage
  config:
    base_dir: history
event_log_storage:
  module: pipelines.run_history
  class: HistoryEventLogStorage
  config:
    base_dir: history/runs
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: "ssj/warehouse"
        limit: 1
"""


EARLIER_DAGSTER_YAML = frozenset({"3853e0ea23f5f229a1e0fce4803a70e217b93dceb92a8bde2b2cd64fc02e016b"})
"""SHA-256 of the dagster.yaml earlier versions of ssj wrote (before the run history's own storages)."""


def dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME if set, else ``<warehouse>/.dagster`` with the project's instance settings."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.warehouse / ".dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # an earlier version of ssj's own file is brought up to date; any other (an operator's, or
    # ssj's edited by one: PostgreSQL storage, say) is theirs and stays as it is
    if not config.exists() or hashlib.sha256(config.read_bytes()).hexdigest() in EARLIER_DAGSTER_YAML:
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return home


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings.from_env()
    as_of = getattr(args, "as_of", None)
    return Settings(
        landing=Path(args.landing).resolve() if getattr(args, "landing", None) else base.landing,
        warehouse=Path(args.warehouse).resolve() if getattr(args, "warehouse", None) else base.warehouse,
        agencies=Path(args.agencies).resolve() if getattr(args, "agencies", None) else base.agencies,
        as_of=as_of or base.as_of,
        target_url=base.target_url,
    )


def _status(msg: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", file=sys.stderr if not sys.stdout.isatty() else sys.stdout, flush=True)


@contextlib.contextmanager
def _whole_run_lock(settings: Settings, quiet: bool):
    """One `ssj run` at a time per warehouse: a second one waits here, it does not fail."""
    from pipelines.locks import warehouse_lock

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(warehouse_lock(settings.warehouse, timeout=0))
        except TimeoutError:
            if not quiet:
                _status(f"another run is writing {settings.warehouse}; waiting for it to finish")
            stack.enter_context(warehouse_lock(settings.warehouse))
        yield


@contextlib.contextmanager
def _stdout_to(path: Path | None):
    if path is None:
        yield
        return
    with open(path, "w", encoding="utf-8") as f, contextlib.redirect_stdout(f):
        yield


def run_pipeline(settings: Settings, *, quiet: bool = False, log_level: str = "INFO") -> int:
    """Ingest everything new, rebuild and publish through the Dagster asset graph; return an exit code."""
    import dagster as dg
    from dagster import DagsterInstance

    from pipelines.defs.dbt.build_state import plan_build
    from pipelines.defs.publish.snapshots import current_snapshot_id

    if not settings.landing.is_dir():
        print(f"ssj run: landing zone {settings.landing} does not exist (set --landing or SSJ_LANDING)", file=sys.stderr)
        return 2
    if not settings.agencies.is_file():
        print(f"ssj run: agency registry {settings.agencies} does not exist (set --agencies or SSJ_AGENCIES)", file=sys.stderr)
        return 2
    from pipelines.config_check import configuration_problems

    if problems := configuration_problems(settings):
        print("ssj run: not started, the configuration is unusable:", file=sys.stderr)
        for problem in problems:
            print(f"  {mask_text(problem)}", file=sys.stderr)
        return 2
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.to_env())
    if log_level == "DEBUG":  # -v: dbt.log keeps every event, each SQL statement too
        os.environ.setdefault("SSJ_DBT_LOG_LEVEL", "debug")
    home = dagster_home(settings)
    os.environ["DAGSTER_HOME"] = str(home)

    from pipelines.definitions import defs

    started = time.monotonic()
    if not quiet:
        _status(f"ssj run: landing {settings.landing} → warehouse {settings.warehouse} (as of {settings.as_of})")
    definitions = defs()
    job = definitions.resolve_job_def("full_job")
    graph = definitions.resolve_asset_graph()
    # dbt's own log lines go to stdout (Dagster's compute log); keep them in a file
    # unless --verbose, so the terminal shows the run's status lines and summary.
    dbt_log = home / "last-run-dbt.log"
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING" if quiet else log_level}}}}
    with _whole_run_lock(settings, quiet), DagsterInstance.get() as instance, \
            _stdout_to(None if log_level == "DEBUG" else dbt_log):
        before = current_snapshot_id(settings.warehouse)
        # two runs: ingestion first, then the build it calls for (full, or only the draw lists)
        ingested = job.execute_in_process(
            instance=instance, raise_on_error=False, run_config=run_config,
            asset_selection=list(dg.AssetSelection.groups("ingest").resolve(graph)),
        )
        result = ingested
        if ingested.success:
            plan = plan_build(settings)
            if not quiet:
                _status(f"build: {plan.mode} ({plan.reason})")
            if plan.mode != "none" or settings.target_url:  # "none" with a target: its step alone
                result = job.execute_in_process(
                    instance=instance, raise_on_error=False, run_config=run_config,
                    asset_selection=list(plan.selection.resolve(graph)),
                )
    if not result.success:
        print("ssj run: FAILED", file=sys.stderr)
        _print_failures(result)
        outcome = _failed_outcome(settings, before)
        print(
            f"  dbt's log of this run: {dbt_log}\n  {outcome}\n"
            f"  Fix the cause above and run again, or open the run in `ssj ui` (DAGSTER_HOME={home}).",
            file=sys.stderr,
        )
        return 1
    if not quiet:
        print_summary(settings, ingested, time.monotonic() - started, before)
    return 0


def _print_failures(result) -> None:  # noqa: ANN001 - a Dagster ExecuteInProcessResult
    for event in result.all_events:
        if event.is_step_failure:
            err = event.step_failure_data.error
            print(f"  step {event.step_key}: {mask_text(err.message.strip()) if err else 'failed'}", file=sys.stderr)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                print(f"  check {data.asset_check_key.to_user_string()} failed: {mask_text(data.description or '')}",
                      file=sys.stderr)


def _failed_outcome(settings: Settings, before: str | None) -> str:
    """What a failed run left published, read from the warehouse itself (not inferred from the failed step)."""
    from pipelines.defs.publish.snapshots import current_snapshot_id

    after = current_snapshot_id(settings.warehouse)
    if after != before:
        target = " The target database keeps its previous snapshot." if settings.target_url else ""
        return f"Snapshot {after} of this run is published in {settings.published_dir}.{target}"
    if before is None:
        return "Nothing was published from this run (no snapshot has been published in this warehouse yet)."
    return (f"Nothing was published from this run: {settings.published_dir} is still snapshot {before}"
            + (", and the target database keeps it too." if settings.target_url else "."))


def print_summary(settings: Settings, result, seconds: float, before: str | None = None) -> None:
    import duckdb

    from pipelines.defs.publish.snapshots import current_snapshot_id

    meta = {}
    for mat in result.asset_materializations_for_node("landing_files"):
        if mat.asset_key.path == ["raw", "ledger"]:
            meta = {k: v.value for k, v in mat.metadata.items()}
    print(
        f"files: {meta.get('files_ingested', 0)} ingested, {meta.get('files_duplicate', 0)} duplicate, "
        f"{meta.get('files_rejected', 0)} rejected, {meta.get('files_already_seen', 0)} already seen"
    )
    log = settings.published_dir / "ingest_log.parquet"
    if log.exists():
        rows = duckdb.sql(
            f"""select feed, sum(rows_read), sum(rows_accepted), sum(rows_quarantined)
                from read_parquet('{log}') where status = 'ingested' group by feed order by feed"""
        ).fetchall()
        print("rows by feed (all files so far): read / accepted / quarantined")
        for feed, read, acc, quar in rows:
            print(f"  {feed:<13} {read:>10} {acc:>10} {quar:>10}")
        for status, path, error in duckdb.sql(
            f"select status, path, error from read_parquet('{log}') where status = 'rejected' order by path"
        ).fetchall():
            line = f"  rejected: {error}" if error and path in error else f"  rejected {path}: {error}"
            print(mask_text(line))
    now = current_snapshot_id(settings.warehouse)
    if now == before:
        print(f"nothing new: snapshot {now} in {settings.published_dir} holds every file and draw ({seconds:.1f} s)")
    else:
        print(f"published snapshot {now} to {settings.published_dir} in {seconds:.1f} s")


def cmd_run(args: argparse.Namespace) -> int:
    return run_pipeline(_settings(args), log_level="DEBUG" if args.verbose else "INFO")


def read_seed(path: str) -> str:
    """The seed in ``path`` ('-': standard input) as typed: UTF-8, one trailing line break dropped
    (an editor adds one; any other white space is part of the seed the commitment fixed)."""
    text = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    seed = text.decode("utf-8")
    return seed[:-2] if seed.endswith("\r\n") else seed[:-1] if seed.endswith("\n") else seed


def cmd_draw(args: argparse.Namespace) -> int:
    """Draw the plans of a year (or of one coordination group) and publish a snapshot with the draw."""
    import dagster as dg
    from dagster import DagsterInstance

    from pipelines.defs.draws.store import DrawRefused, make_draw

    try:
        seed = args.seed if args.seed is not None else read_seed(args.seed_file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"ssj draw: cannot read the seed from {mask_text(args.seed_file)}: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    settings = _settings(args)
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.to_env())
    home = dagster_home(settings)
    os.environ["DAGSTER_HOME"] = str(home)
    with _whole_run_lock(settings, quiet=False):
        try:
            outcome = make_draw(settings.warehouse, args.plans_of, seed, args.coordination)
        except DrawRefused as exc:
            print(f"ssj draw: refused: {mask_text(str(exc))}", file=sys.stderr)
            return 2
        for plan in outcome.already:
            print(f"{plan}: already drawn with this seed (unchanged)")
        if not outcome.drawn and not _unpublished(settings, outcome.already):
            print("nothing new to draw; nothing published")
            return 0
        for plan, n in outcome.drawn.items():
            print(f"{plan}: drew {n} enterprises from snapshot {outcome.pool_snapshot_id}")
        from pipelines.definitions import defs

        definitions = defs()
        graph = definitions.resolve_asset_graph()
        from pipelines.defs.dbt.build_state import DRAW_STORE_SELECTION

        # what a draw changes: the draw store's marts and the matching the drawn plans enter;
        # the snapshot takes the rest from the current one
        selection = (DRAW_STORE_SELECTION
                     | dg.AssetSelection.assets(["published", "changes"], "snapshot")
                     | dg.AssetSelection.key_prefixes("target"))
        run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        with DagsterInstance.get() as instance, _stdout_to(home / "last-run-dbt.log"):
            result = definitions.resolve_job_def("full_job").execute_in_process(
                instance=instance, raise_on_error=False, run_config=run_config,
                asset_selection=list(selection.resolve(graph)))
        from pipelines.defs.publish.snapshots import current_snapshot_id

        published = current_snapshot_id(settings.warehouse)
    if not result.success:
        _print_failures(result)
        print("ssj draw: the draw is stored in the warehouse, but publishing it FAILED; the same "
              f"`ssj draw` again publishes it (dbt's log: {home / 'last-run-dbt.log'})", file=sys.stderr)
        return 1
    print(f"published snapshot {published} with the draw to {settings.published_dir}")
    return 0


def _unpublished(settings: Settings, plans: list[str]) -> bool:
    """Whether a stored draw of ``plans`` ("agency:task_id") is missing from the current snapshot
    (its publication failed): drawing again publishes it."""
    import pyarrow.parquet as pq

    from pipelines.defs.publish.snapshots import current_dir

    records = (current_dir(settings.warehouse) or settings.warehouse) / "draw_records.parquet"
    if not records.exists():
        return bool(plans)
    published = {f"{r['agency']}:{r['task_id']}" for r in pq.read_table(records, columns=["agency", "task_id"]).to_pylist()}
    return not set(plans) <= published


def cmd_verify_draw(args: argparse.Namespace) -> int:
    """Re-derive every draw of a snapshot from its Parquet files; exit 1 on any difference."""
    from pipelines.defs.draws.verify import verify_draws

    settings = _settings(args)
    try:
        snapshot_id, checked, problems = verify_draws(settings.warehouse, args.snapshot)
    except FileNotFoundError as exc:
        print(f"ssj verify-draw: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"DIFFERS {problem}", file=sys.stderr)
    if problems:
        print(f"ssj verify-draw: snapshot {snapshot_id}: {len(problems)} difference(s) in {checked} draws",
              file=sys.stderr)
        return 1
    if not checked:
        print(f"snapshot {snapshot_id} publishes no draws yet: nothing to verify")
        return 0
    print(f"snapshot {snapshot_id}: all {checked} draws re-derived identically (ssj-prn-v1)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.generate import generate

    started = time.monotonic()
    # staged progress lines on a terminal; nothing but the summary when piped or scheduled
    progress = _status if sys.stderr.isatty() and not args.quiet else None
    summary = generate(args.enterprises, Path(args.out), args.seed, progress=progress)
    print(f"generated {args.enterprises} enterprises into {args.out} in {time.monotonic() - started:.1f} s")
    files = summary.get("files") if isinstance(summary, dict) else None
    if files:
        print(f"  {len(files)} files; what each should become: {Path(args.out) / 'truth' / 'summary.json'}")
    return 0


DEMO_AS_OF = date(2026, 11, 26)


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.generate import generate

    sample = PROJECT_ROOT / "data" / "sample"
    warehouse = PROJECT_ROOT / "data" / "warehouse"
    if sample.exists():
        shutil.rmtree(sample)
    if warehouse.exists():
        shutil.rmtree(warehouse)
    _status(f"ssj demo: generating {args.enterprises} enterprises into {sample}")
    generate(args.enterprises, sample, args.seed, as_of=DEMO_AS_OF)
    settings = Settings(
        landing=sample / "landing", warehouse=warehouse, agencies=sample / "agencies.yaml", as_of=DEMO_AS_OF
    )
    code = run_pipeline(settings)
    if code == 0:
        print(f"\nOpen the results: ls {settings.published_dir}   or   ssj ui --warehouse {warehouse}")
    return code


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.generate.evaluate import TRUTH_TABLES, evaluate, report, write_json

    truth, published = Path(args.truth), Path(args.warehouse) / "published"
    missing = [str(truth / f"{name}.parquet") for name in TRUTH_TABLES if not (truth / f"{name}.parquet").is_file()]
    if missing:
        print(f"ssj evaluate: {truth} is not a generator's truth folder (`ssj generate` writes one under "
              f"OUT/truth); missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not published.exists():
        print(f"ssj evaluate: {published} does not exist: has `ssj run` run on this warehouse?", file=sys.stderr)
        return 2
    result = evaluate(truth, Path(args.warehouse))
    print(report(result))
    if args.json:
        write_json(result, Path(args.json))
    perfect = all(s["precision"] == 1 and s["recall"] == 1 for s in result.values())
    return 0 if perfect else 1


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.export import export_table

    settings = _settings(args)
    try:
        rows = export_table(settings.warehouse, args.table, Path(args.out), snapshot_id=args.snapshot,
                            public=args.public)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ssj export: {exc}", file=sys.stderr)
        return 2
    which = f" (snapshot {args.snapshot})" if args.snapshot else ""
    print(f"exported {rows} rows of {args.table}{which}{' (public columns)' if args.public else ''} to {args.out}")
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    from pipelines.defs.publish.snapshots import list_snapshots

    settings = _settings(args)
    snapshots = list_snapshots(settings.warehouse)
    if not snapshots:
        print(f"no snapshots in {settings.warehouse}: run `ssj run` first", file=sys.stderr)
        return 2
    print(f"  {'snapshot_id':<24} {'as_of':<10}  {'created_at':<32} tables")
    for snap in reversed(snapshots):
        tables = snap["tables"]
        print(f"{'*' if snap['current'] else ' '} {snap['snapshot_id']:<24} {snap['as_of'] or '-':<10}  "
              f"{snap['created_at']:<32} {len(tables)} ({sum(t['rows'] for t in tables.values())} rows)")
    print(f"* = current ({settings.published_dir}); each kept under {settings.warehouse / 'snapshots'}/<snapshot_id>/")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.report import write_report

    settings = _settings(args)
    try:
        out = write_report(settings.warehouse, Path(args.out))
    except FileNotFoundError as exc:
        print(f"ssj report: {exc}", file=sys.stderr)
        return 2
    print(f"report written to {out} (one self-contained file; open it in a browser)")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    settings = _settings(args)
    os.environ.update(settings.to_env())
    os.environ["DAGSTER_HOME"] = str(dagster_home(settings))
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(args.port),
           "-h", args.host]
    return subprocess.call(cmd, cwd=PROJECT_ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ssj", description="shuangsuiji: 双随机、一公开 data pipeline")
    sub = parser.add_subparsers(dest="command", required=True)

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument("--landing", help="landing zone (default $SSJ_LANDING or data/landing)")
        p.add_argument("--warehouse", help="warehouse dir (default $SSJ_WAREHOUSE or data/warehouse)")
        p.add_argument("--agencies", help="agency registry YAML (default $SSJ_AGENCIES or config/agencies.yaml)")

    p = sub.add_parser("run", help="ingest what is new, rebuild the pools and merge list, publish")
    paths(p)
    p.add_argument("--as-of", type=date.fromisoformat, help=f"'today' for date rules (default: today in Asia/Shanghai, {today_in_shanghai()})")
    p.add_argument("-v", "--verbose", action="store_true", help="log every Dagster event (step starts, outputs, ...)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("draw", help="draw the plans of a year with the revealed seed, and publish the draw")
    paths(p)
    p.add_argument("--as-of", type=date.fromisoformat, help="'today' for date rules (as for `ssj run`)")
    p.add_argument("--plans-of", type=int, required=True, metavar="YEAR", help="the plans whose window starts in YEAR")
    seed = p.add_mutually_exclusive_group(required=True)
    seed.add_argument("--seed", help="the seed the plans committed to (seed_sha256 = its SHA-256)")
    seed.add_argument("--seed-file", metavar="FILE",
                      help="read the seed from FILE ('-': standard input), UTF-8, one trailing line break dropped")
    p.add_argument("--coordination", help="only the plans of this coordination group (联合抽查组)")
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("verify-draw", help="re-derive every draw of a snapshot from its published files")
    p.add_argument("--warehouse", help="warehouse dir (default $SSJ_WAREHOUSE or data/warehouse)")
    p.add_argument("--snapshot", help="a kept snapshot's id (default: the current one)")
    p.set_defaults(func=cmd_verify_draw)

    p = sub.add_parser("generate", help="write a synthetic landing zone with its ground truth")
    p.add_argument("--enterprises", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines (they only show on a terminal anyway)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("demo", help="generate a small sample into data/ and run it end to end")
    p.add_argument("--enterprises", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("evaluate", help="compare a run's published tables with `ssj generate`'s ground truth")
    p.add_argument("--truth", required=True, help="the truth/ folder written by `ssj generate`")
    p.add_argument("--warehouse", required=True, help="the warehouse the generated landing zone was run into")
    p.add_argument("--json", help="also write the scores as JSON here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="a published table as CSV or XLSX, safe to open in a spreadsheet")
    p.add_argument("--warehouse", help="warehouse dir (default $SSJ_WAREHOUSE or data/warehouse)")
    p.add_argument("--table", required=True, help="a published table, e.g. joint_inspections")
    p.add_argument("--out", required=True, help="the .csv or .xlsx file to write")
    p.add_argument("--snapshot", help="an earlier snapshot's id (see `ssj snapshots`; default: the current one)")
    p.add_argument("--public", action="store_true", help="only the table's public columns (no internal or personal data)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("snapshots", help="the kept snapshots of published tables, newest first")
    p.add_argument("--warehouse", help="warehouse dir (default $SSJ_WAREHOUSE or data/warehouse)")
    p.set_defaults(func=cmd_snapshots)

    p = sub.add_parser("report", help="a self-contained HTML run report with charts")
    p.add_argument("--warehouse", help="warehouse dir (default $SSJ_WAREHOUSE or data/warehouse)")
    p.add_argument("--out", default="report.html", help="the HTML file to write (default report.html)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ui", help="start the Dagster web UI on the same definitions")
    paths(p)
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_ui)

    args = parser.parse_args(argv)
    if args.func in (cmd_run, cmd_draw, cmd_demo, cmd_ui):
        from pipelines.engine import pipeline_refusal

        if (refusal := pipeline_refusal()) is not None:
            print(f"ssj: {refusal}", file=sys.stderr)
            return 2
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
