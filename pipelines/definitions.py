"""The Dagster code location: everything under pipelines/defs, plus the shared resources."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.dbt.assets import dbt_resource
from pipelines.settings import PROJECT_ROOT, SsjSettings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=PROJECT_ROOT),
        dg.Definitions(resources={"dbt": dbt_resource, "settings": SsjSettings()}),
    )
