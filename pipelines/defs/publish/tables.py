"""What downstream systems read: every model under dbt_project/models/marts, and its columns' classes.

Each published column is ``public`` (may leave the bureau), ``internal`` (for the
regulators' own systems: match methods, credit grades, source files) or
``personal`` (personal data: inspectors' names, masked ID numbers, quarantined raw
values). The marts' YAML says so: ``config.meta.column_class`` on a model is the
default of its columns, ``config.meta.class`` on a column overrides it. A column
with ``config.meta.lineage: true`` records where a row came from (source file,
row, timestamps): its change alone is not a change of the row (``changes``).
"""

from __future__ import annotations

import json
from functools import cache

from pipelines.defs.dbt.project import dbt_project

CLASSES = ("public", "internal", "personal")
PUBLISH_STEP_TABLES = {"changes": "public"}
"""Tables the publish step makes itself (not dbt models), with their one column class."""


@cache
def _marts() -> dict[str, dict]:
    manifest = json.loads(dbt_project().manifest_path.read_text(encoding="utf-8"))
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1:2] == ["marts"]
    }


def published_tables() -> tuple[str, ...]:
    """Names of the mart models, sorted (the manifest is the single list)."""
    return tuple(sorted(_marts()))


def _column_meta(table: str) -> dict[str, dict]:
    columns = _marts()[table].get("columns") or {}
    return {name: {**(col.get("meta") or {}), **((col.get("config") or {}).get("meta") or {})}
            for name, col in columns.items()}


def column_class(table: str, column: str) -> str:
    """``public`` / ``internal`` / ``personal`` (see the module doc)."""
    if table in PUBLISH_STEP_TABLES:
        return PUBLISH_STEP_TABLES[table]
    cls = _column_meta(table).get(column, {}).get("class") or \
        ((_marts()[table].get("config") or {}).get("meta") or {}).get("column_class")
    if cls not in CLASSES:
        raise ValueError(f"{table}.{column}: column class {cls!r} is not one of {', '.join(CLASSES)} "
                         "(set config.meta.column_class on the model or config.meta.class on the column)")
    return cls


def lineage_columns(table: str) -> tuple[str, ...]:
    """The columns of ``table`` that only record where its rows came from."""
    if table in PUBLISH_STEP_TABLES:
        return ()
    return tuple(sorted(name for name, meta in _column_meta(table).items() if meta.get("lineage")))
