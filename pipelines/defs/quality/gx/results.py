"""What a suite found: per-expectation outcomes and the summary a check reports (never a personal value)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.personal import mask_text

SAMPLE_SIZE = 5  # unexpected values kept per expectation
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{4})[0-9A-Za-z]{10}([0-9A-Za-z]{4})(?![0-9A-Za-z])")


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict over all rows validated."""

    expectation: str  # GX expectation type, e.g. expect_column_values_to_match_regex
    columns: tuple[str, ...]
    severity: str  # "error" (blocking) or "warn"
    success: bool
    unexpected_count: int = 0
    unexpected_values: tuple[Any, ...] = ()  # a few, ID-shaped values masked
    observed_value: Any = None
    exception: str | None = None

    @property
    def column_label(self) -> str:
        return ", ".join(self.columns)

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


@dataclass
class ValidationSummary:
    feed: str
    rows_validated: int
    results: list[ExpectationOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.failed if r.blocking]

    @property
    def success(self) -> bool:
        """True when no blocking (error) expectation failed; warnings do not count."""
        return not self.blocking_failures

    @property
    def all_passed(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        """One line naming each failed expectation, its column(s) and its unexpected row count."""
        if self.all_passed:
            return f"all {len(self.results)} expectations of suite {self.feed} passed on {self.rows_validated:,} accepted rows"
        parts = []
        for r in self.failed:
            what = f"{r.expectation}({r.column_label}) failed on {_rows(r)}"
            parts.append(what if r.blocking else what + " [warn]")
        blocking = len(self.blocking_failures)
        head = (f"{blocking} blocking expectation(s) failed" if blocking else "only warnings failed") + (
            f" in suite {self.feed} ({self.rows_validated:,} accepted rows): ")
        return head + "; ".join(parts)

    def markdown(self) -> str:
        if self.all_passed:
            return "all expectations passed"
        lines = ["| expectation | column | unexpected rows | severity | sample |", "|---|---|---|---|---|"]
        for r in self.failed:
            sample = ", ".join(str(v) for v in r.unexpected_values) or (r.exception or _short(r.observed_value))
            lines.append(f"| {r.expectation} | {r.column_label} | {_rows(r)} | {r.severity} | {_md_cell(sample)} |")
        return "\n".join(lines)


def _rows(r: ExpectationOutcome) -> str:
    if r.exception:
        return f"error ({mask_text(r.exception)[:80]})"
    return f"{r.unexpected_count:,} row" + ("" if r.unexpected_count == 1 else "s")


def _short(value: Any) -> str:
    return "" if value is None else str(value)[:80]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def mask_id_like(value: Any) -> Any:
    """Digit runs masked as everywhere (connectors.personal), and any other 18-character code
    (a USCC as much as a 身份证号) as first 4 + **** + last 4: samples are for finding rows, not reading them."""
    if isinstance(value, str):
        return ID_LIKE.sub(r"\1****\2", mask_text(value))
    if isinstance(value, dict):
        return {mask_id_like(k): mask_id_like(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_id_like(v) for v in value)
    if isinstance(value, datetime):  # pandas Timestamps too; DATE columns are validated as midnight timestamps
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return mask_id_like(value.tolist())
    return value
