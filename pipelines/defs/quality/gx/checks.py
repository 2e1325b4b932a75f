"""The suites as blocking Dagster asset checks on the staging tables."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from connectors.feeds import FEED_NAMES
from pipelines.locks import warehouse_lock
from pipelines.settings import SsjSettings
from pipelines.defs.quality.gx.results import ValidationSummary
from pipelines.defs.quality.gx.workers import validate_warehouse

FEEDS = FEED_NAMES


def check_result(summary: ValidationSummary) -> dg.AssetCheckResult:
    """The summary as a Dagster check result: ERROR (blocking) only when an error-severity expectation failed."""
    return dg.AssetCheckResult(
        passed=summary.all_passed,
        severity=dg.AssetCheckSeverity.ERROR if summary.blocking_failures else dg.AssetCheckSeverity.WARN,
        description=summary.describe(),
        metadata={
            "rows_validated": dg.MetadataValue.int(summary.rows_validated),
            "expectations": dg.MetadataValue.int(len(summary.results)),
            "failed_expectations": dg.MetadataValue.md(summary.markdown()),
            "blocking_failures": dg.MetadataValue.int(len(summary.blocking_failures)),
            "seconds": dg.MetadataValue.float(round(summary.seconds, 3)),
            "rows_per_second": dg.MetadataValue.int(
                int(summary.rows_validated / summary.seconds) if summary.seconds > 0 else 0
            ),
        },
    )


def _gx_check(feed: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(f"stg_{feed}"),
        name=f"gx_{feed}_suite",
        blocking=True,
        description=(
            f"Great Expectations suite expectations/{feed}.json on the accepted rows of stg_{feed}. "
            "Fails (and stops downstream) only when a blocking expectation fails; warnings are reported."
        ),
    )
    def _check(settings: SsjSettings) -> dg.AssetCheckResult:
        warehouse = settings.get().warehouse
        with warehouse_lock(warehouse):  # the worker reads the warehouse under this lock
            summary = validate_warehouse(feed, warehouse)
        return check_result(summary)

    return _check


def gx_asset_checks(feeds: Sequence[str] = FEEDS) -> list[dg.AssetChecksDefinition]:
    """One blocking ``gx_<feed>_suite`` asset check per feed, on ``stg_<feed>``."""
    return [_gx_check(feed) for feed in feeds]


# picked up by the defs autoloader (pipelines/definitions.py → dg.load_defs)
GX_ASSET_CHECKS = gx_asset_checks()
