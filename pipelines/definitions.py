"""The Dagster code location: everything under pipelines/defs, plus the shared resources."""

from __future__ import annotations

import dagster as dg

import pipelines.defs
from pipelines.defs.dbt.assets import dbt_resource
from pipelines.settings import SsjSettings


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_defs(pipelines.defs),
        dg.Definitions(resources={"dbt": dbt_resource, "settings": SsjSettings()}),
    )
