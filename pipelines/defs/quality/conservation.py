"""Nothing is lost silently: rows read = rows accepted + rows quarantined, for every file."""

from __future__ import annotations

import dagster as dg

from pipelines.settings import SsjSettings
from pipelines.warehouse import open_warehouse

CONSERVATION_SQL = """
select path, feed, rows_read, rows_accepted, rows_quarantined
from ingest_log
where status = 'ingested' and rows_read <> rows_accepted + rows_quarantined
order by path
"""


@dg.asset_check(
    asset=dg.AssetKey("ingest_log"),
    name="rows_conserved",
    blocking=True,
    description="For every ingested file: rows read = rows accepted + rows quarantined.",
)
def rows_conserved(settings: SsjSettings) -> dg.AssetCheckResult:
    with open_warehouse(settings.get().warehouse) as con:
        broken = con.execute(CONSERVATION_SQL).fetchall()
        files, rows = con.execute(
            "select count(*), coalesce(sum(rows_read), 0) from ingest_log where status = 'ingested'"
        ).fetchone()
    table = "\n".join(f"| {p} | {f} | {r} | {a} | {q} |" for p, f, r, a, q in broken[:50])
    return dg.AssetCheckResult(
        passed=not broken,
        description=f"{len(broken)} of {files} ingested files do not add up" if broken else None,
        metadata={
            "files_checked": files,
            "rows_read": int(rows),
            "files_not_adding_up": len(broken),
            "details": dg.MetadataValue.md(
                "| file | feed | read | accepted | quarantined |\n|---|---|---|---|---|\n" + table if broken else "all add up"
            ),
        },
    )
