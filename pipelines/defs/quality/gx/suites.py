"""The suites (expectations/<feed>.json): loading, severity, the columns they name."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.feeds import FEED_NAMES as FEEDS
from pipelines import PROJECT_ROOT

if TYPE_CHECKING:  # GX takes ~2 s to import: only when a check runs, never when definitions load
    import great_expectations as gx


EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
UNIQUENESS = frozenset({"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"})


def suite_path(feed: str) -> Path:
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; expected one of {', '.join(FEEDS)}")
    return EXPECTATIONS_DIR / f"{feed}.json"


def load_suite(feed: str) -> gx.ExpectationSuite:
    """The feed's suite from ``expectations/<feed>.json``; a malformed expectation is an error, never skipped."""
    import great_expectations as gx

    path = suite_path(feed)
    doc = json.loads(path.read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(**doc)
    # ExpectationSuite logs and DROPS expectations it cannot build: refuse a silently shorter suite
    if len(suite.expectations) != len(doc.get("expectations", [])):
        built = {e.expectation_type for e in suite.expectations}
        bad = [e.get("type") for e in doc.get("expectations", []) if e.get("type") not in built]
        raise ValueError(f"{path}: {len(doc['expectations']) - len(suite.expectations)} expectation(s) invalid: {bad}")
    return suite


def severity_of(expectation: Any) -> str:
    """``warn`` when meta.severity says so (or GX's own severity is warning/info), else ``error``."""
    meta = getattr(expectation, "meta", None) or {}
    sev = str(meta.get("severity", "")).lower()
    if sev in ("warn", "warning", "info"):
        return "warn"
    if sev in ("error", "critical"):
        return "error"
    native = str(getattr(getattr(expectation, "severity", None), "value", "critical")).lower()
    return "warn" if native in ("warning", "info") else "error"


def columns_of(kwargs: dict) -> tuple[str, ...]:
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_list" in kwargs:
        return tuple(kwargs["column_list"])
    return tuple(kwargs[k] for k in ("column_A", "column_B") if k in kwargs)


def suite_columns(suite: gx.ExpectationSuite, *, skip_types: Iterable[str] = ()) -> list[str]:
    """Columns the suite's expectations read, in first-seen order."""
    skip = set(skip_types)
    seen: dict[str, None] = {}
    for exp in suite.expectations:
        if exp.expectation_type not in skip:
            for c in columns_of(exp.configuration.kwargs):
                seen.setdefault(c, None)
    return list(seen)


def date_columns(suite: gx.ExpectationSuite) -> set[str]:
    """Columns the suite treats as dates (type_list 'date', or between with ISO-date bounds)."""
    out = set()
    for exp in suite.expectations:
        kw = exp.configuration.kwargs
        if exp.expectation_type == "expect_column_values_to_be_in_type_list" and any(
            t.startswith(("datetime", "date")) for t in kw.get("type_list") or []
        ):
            out.add(kw["column"])
        if exp.expectation_type == "expect_column_values_to_be_between" and any(
            isinstance(kw.get(k), (date, str)) for k in ("min_value", "max_value")
        ):
            out.add(kw["column"])
    return out
