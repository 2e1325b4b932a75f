"""The contract's feeds as data: canonical columns, header aliases, required columns.

Everything here is read from ``feeds.yaml`` beside this module; nothing about a
feed's columns is written in code anywhere else.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

FEEDS_FILE = Path(__file__).with_name("feeds.yaml")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    personal: bool = False

    @property
    def accepted_headers(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Feed:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    @property
    def personal(self) -> list[str]:
        return [c.name for c in self.columns if c.personal]


def fold_header(header: str) -> str:
    """The form headers are compared in: trimmed, NFKC-folded, case-folded."""
    return " ".join(unicodedata.normalize("NFKC", str(header)).split()).casefold()


@cache
def feeds() -> dict[str, Feed]:
    spec = yaml.safe_load(FEEDS_FILE.read_text(encoding="utf-8"))["feeds"]
    return {
        name: Feed(
            name=name,
            description=body.get("description", ""),
            key=tuple(body["key"]),
            columns=tuple(
                Column(
                    name=c["name"],
                    type=c["type"],
                    aliases=tuple(c.get("aliases", ())),
                    required=bool(c.get("required", False)),
                    personal=bool(c.get("personal", False)),
                )
                for c in body["columns"]
            ),
        )
        for name, body in spec.items()
    }


FEED_NAMES: tuple[str, ...] = ("registration", "approval", "credit_risk", "inspectors", "draw_list", "items", "plans",
                              "results", "links")


class MissingColumns(ValueError):
    """A file lacks required columns; the message names them and their accepted headers."""


@dataclass(frozen=True)
class HeaderMap:
    """How one file's headers map onto a feed's canonical columns."""

    canonical: dict[int, str]  # header position -> canonical column
    extras: dict[int, str]  # header position -> original header (kept as JSON)
    original: dict[str, str]  # canonical column -> the header it came from

    def describe(self) -> dict[str, str]:
        return dict(self.original)

    def extra_keys(self) -> list[tuple[int, str]]:
        """(position, JSON key) of each extra column, by position: its header, numbered
        ``_2``, ``_3`` … where an earlier extra column has the same key."""
        seen: set[str] = set()
        out: list[tuple[int, str]] = []
        for pos in sorted(self.extras):
            base = self.extras[pos]
            key, i = base, 2
            while key in seen:
                key, i = f"{base}_{i}", i + 1
            seen.add(key)
            out.append((pos, key))
        return out


def map_headers(feed: Feed, headers: list[str]) -> HeaderMap:
    """Map a file's header row onto ``feed``; raise MissingColumns if a required one is absent.

    The first header matching a column wins; a later header matching the same
    column is kept as an extra column rather than silently dropped.
    """
    lookup: dict[str, str] = {}
    for col in feed.columns:
        for accepted in col.accepted_headers:
            lookup.setdefault(fold_header(accepted), col.name)
    canonical: dict[int, str] = {}
    extras: dict[int, str] = {}
    original: dict[str, str] = {}
    for pos, header in enumerate(headers):
        name = lookup.get(fold_header(header)) if header is not None else None
        if name is not None and name not in original:
            canonical[pos] = name
            original[name] = header
        elif header is not None and str(header).strip() != "":
            extras[pos] = str(header).strip()
        else:
            extras[pos] = f"column_{pos + 1}"
    missing = [c for c in feed.required if c.name not in original]
    if missing:
        parts = "; ".join(f"{c.name} (accepted headers: {', '.join(c.accepted_headers)})" for c in missing)
        raise MissingColumns(f"missing required column(s) for feed {feed.name}: {parts}")
    return HeaderMap(canonical=canonical, extras=extras, original=original)
