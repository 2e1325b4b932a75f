"""The Dagster code location: everything under pipelines/defs, plus the shared resources."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.dbt.assets import dbt_resource
from pipelines.engine import refuse_pipeline
from pipelines import PROJECT_ROOT
from pipelines.settings import SsjSettings


@dg.definitions
def defs() -> dg.Definitions:
    # SSJ_ENGINE=spark (or no engine at all): the code location does not load, saying why,
    # rather than ingest and then fail at dbt (pipelines/engine.py: pipeline_refusal)
    refuse_pipeline()
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=PROJECT_ROOT),
        dg.Definitions(resources={"dbt": dbt_resource, "settings": SsjSettings()}),
    )
