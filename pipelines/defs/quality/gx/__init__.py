"""Great Expectations suites (``expectations/<feed>.json``) as blocking asset checks on ``stg_<feed>``.

What is validated: the *accepted* rows of each staging table (``where is_accepted``),
the rows everything downstream builds on — of an incremental staging table
(stg_draw_list), only its newest batch (see ``_rows_to_validate``). Quarantined rows are already explained
by their reason codes and are not validated again.

Why it is written by hand: ``dagster-ge`` supports only GX < 1.0, and GX 1.x
against DuckDB through SQLAlchemy is broken upstream. So the suite runs on pandas
dataframes: an ephemeral GX context (no analytics, no progress bars, nothing on
disk or on the network), one pandas datasource with one dataframe asset and a
whole-dataframe batch definition, built once per process and reused for every
chunk.

Severity: every expectation is blocking (``error``) unless its ``meta.severity``
is ``warn`` (GX's own ``severity: warning`` is honoured too). The rule the suites
follow: *error* = an invariant staging guarantees for accepted rows (non-null keys,
code formats behind the check digits, value sets, window_end >= window_start), so
a failure means staging is wrong and downstream must not run; *warn* = plausibility
that staging does not enforce (dates after 2100, region-code layout, a key twice
within one file), reported but never stopping a run — a data problem belongs in
quarantine, not in a failed run (docs/contract.md §4).

Scale: ``validate_table`` reads only the columns the suite names, as Arrow record
batches of ``chunk_rows``, validates each chunk with GX and adds the counts up. A
check (``validate_warehouse``) does the same in worker processes, off the Dagster
process: one rowid range of the rows per worker, side by side, the tallies added
up in row order.
Key uniqueness cannot be judged chunk by chunk (two copies of a key may sit in
different chunks), so uniqueness expectations are evaluated by one DuckDB
``GROUP BY`` over the whole table instead, counting rows the way GX does (every
row of a duplicated combination). ``validate_frame`` runs them in GX.
"""

from pipelines.defs.quality.gx.workers import shut_down, validate_warehouse, warm_up

__all__ = ["shut_down", "validate_warehouse", "warm_up"]
