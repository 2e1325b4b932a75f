"""Every dbt unit test (models/**/_*unit_tests.yml and friends), on its own.

The pipeline's builds leave unit tests out (`--exclude-resource-type unit_test`:
they check the SQL, not the data, and cost seconds on every run); this is where
they run: against an empty warehouse whose tables dbt creates with `--empty`.
"""

from __future__ import annotations

import json
import re

from pipelines.defs.dbt.project import dbt_project
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
    defined = len(json.loads(dbt_project().manifest_path.read_text(encoding="utf-8"))["unit_tests"])
    # every unit test the project defines ran and passed (a failure raises in run_dbt): one
    # "k of N PASS" line each, N the number of unit tests (the summary's TOTAL counts hooks too)
    passed = re.findall(r"\b\d+ of (\d+) PASS ", proc.stdout)
    assert defined > 0 and len(passed) == defined and {int(n) for n in passed} == {defined}, proc.stdout[-2000:]
