"""Every dbt unit test (models/**/_*unit_tests.yml and friends), on its own.

The pipeline's builds leave unit tests out (`--exclude-resource-type unit_test`:
they check the SQL, not the data, and cost seconds on every run); this is where
they run: against an empty warehouse whose tables dbt creates with `--empty`.
"""

from __future__ import annotations

import re

from pipelines.defs.ingest.raw_store import ensure_layout
from pipelines.defs.ingest.registry import load_registry, write_registry
from tests.support import SAMPLE_REGISTRY, run_dbt


def test_every_dbt_unit_test_passes(tmp_path):
    ensure_layout(tmp_path)
    write_registry(tmp_path, load_registry(SAMPLE_REGISTRY))
    target = str(tmp_path / "_dbt_target")
    run_dbt(tmp_path, "2026-06-30", "build", "--empty", "--exclude-resource-type", "unit_test",
            "--exclude", "test_type:data", "--target-path", target)
    proc = run_dbt(tmp_path, "2026-06-30", "test", "--select", "test_type:unit", "--target-path", target)
    assert re.search(r"PASS=[1-9]", proc.stdout), proc.stdout[-2000:]  # the unit tests ran (a failure raises)
