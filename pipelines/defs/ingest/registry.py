"""The agency registry (docs/contract.md §1): who may drop what, and who leads a joint inspection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from connectors.feeds import FEED_NAMES

from .raw_store import _temp_beside, raw_dir, replace_atomically

AGENCY_CODE = re.compile(r"^[a-z0-9-]+$")
KINDS = ("market_regulation", "justice", "approval", "tax", "ecology", "emergency", "health", "other")


class RegistryError(ValueError):
    """The registry file itself is unusable; the message says where and why."""


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    kind: str
    region_code: str | None
    feeds: tuple[str, ...]
    lead_priority: int | None = None
    entry_working_days: int = 20
    follow_up_working_days: int = 20


DEADLINE_KEYS = ("entry_working_days", "follow_up_working_days")
"""Working days an agency has to enter a result after the inspection ended, and a follow-up's
result after the follow-up ended (docs/contract.md §7; the policy's 20 unless the registry says)."""


def load_registry(path: Path) -> dict[str, Agency]:
    path = Path(path)
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"agency registry {path} does not exist (set --agencies or SSJ_AGENCIES)") from None
    except yaml.YAMLError as exc:
        raise RegistryError(f"agency registry {path} is not valid YAML: {exc}") from None
    entries = (body or {}).get("agencies") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise RegistryError(f"agency registry {path}: expected a top-level 'agencies:' list")
    agencies: dict[str, Agency] = {}
    for i, entry in enumerate(entries, start=1):
        where = f"agency registry {path}, entry {i}"
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: expected a mapping with code, name, kind, feeds")
        code = str(entry.get("code", "")).strip()
        if not AGENCY_CODE.match(code):
            raise RegistryError(f"{where}: code {code!r} must match [a-z0-9-]+")
        if code in agencies:
            raise RegistryError(f"{where}: code {code!r} is listed twice")
        kind = str(entry.get("kind", "other")).strip()
        if kind not in KINDS:
            raise RegistryError(f"{where} ({code}): kind {kind!r} is not one of {', '.join(KINDS)}")
        feeds = tuple(str(f).strip() for f in entry.get("feeds") or ())
        unknown = [f for f in feeds if f not in FEED_NAMES]
        if unknown:
            raise RegistryError(f"{where} ({code}): unknown feed(s) {unknown}; feeds are {', '.join(FEED_NAMES)}")
        priority = entry.get("lead_priority")
        if priority is not None and not isinstance(priority, int):
            raise RegistryError(f"{where} ({code}): lead_priority must be an integer")
        deadlines = {}
        for key in DEADLINE_KEYS:
            days = entry.get(key, 20)
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
                raise RegistryError(f"{where} ({code}): {key} must be a whole number of working days, 1 to 366")
            deadlines[key] = days
        region = entry.get("region_code")
        name = str(entry.get("name", "")).strip()
        namesake = next((a.code for a in agencies.values() if name and a.name == name), None)
        if namesake:  # the publicity export and the report name agencies: two alike could not be told apart
            raise RegistryError(f"{where} ({code}): the same name as {namesake}; each agency needs its own name")
        agencies[code] = Agency(
            code=code,
            name=name,
            kind=kind,
            region_code=None if region is None else str(region).strip(),
            feeds=feeds,
            lead_priority=priority,
            **deadlines,
        )
    return agencies


REGISTRY_SCHEMA = pa.schema(
    [
        pa.field("code", pa.string()),
        pa.field("name", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("region_code", pa.string()),
        pa.field("feeds", pa.list_(pa.string())),
        pa.field("lead_priority", pa.int64()),
        pa.field("entry_working_days", pa.int64()),
        pa.field("follow_up_working_days", pa.int64()),
    ]
)


def registry_file(warehouse: Path) -> Path:
    return raw_dir(warehouse) / "_registry" / "agencies.parquet"


def write_registry(warehouse: Path, agencies: dict[str, Agency]) -> Path:
    """Snapshot the registry for dbt (agency names for mismatch checks, lead priority)."""
    rows = sorted(agencies.values(), key=lambda a: a.code)
    table = pa.table(
        {
            "code": [a.code for a in rows],
            "name": [a.name for a in rows],
            "kind": [a.kind for a in rows],
            "region_code": [a.region_code for a in rows],
            "feeds": [list(a.feeds) for a in rows],
            "lead_priority": [a.lead_priority for a in rows],
            "entry_working_days": [a.entry_working_days for a in rows],
            "follow_up_working_days": [a.follow_up_working_days for a in rows],
        },
        schema=REGISTRY_SCHEMA,
    )
    final = registry_file(warehouse)
    tmp = _temp_beside(final)
    pq.write_table(table, tmp)
    replace_atomically(tmp, final)
    return final
