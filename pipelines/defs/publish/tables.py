"""What downstream systems read: every model under dbt_project/models/marts."""

from __future__ import annotations

import json
from functools import cache

from pipelines.defs.dbt.project import dbt_project


@cache
def published_tables() -> tuple[str, ...]:
    """Names of the mart models, sorted (the manifest is the single list)."""
    manifest = json.loads(dbt_project().manifest_path.read_text(encoding="utf-8"))
    return tuple(
        sorted(
            node["name"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["fqn"][1:2] == ["marts"]
        )
    )
