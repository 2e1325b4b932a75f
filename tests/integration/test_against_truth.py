"""`ssj generate` → `ssj run` → every published table agrees with the generator's ground truth.

The generator plants what real extracts contain (re-registrations, names in
full-width brackets, reg_no-only enterprises, licences without USCC, ambiguous
names, redrawn tasks, agency mismatches, overlapping and adjacent windows, bad
files); its truth is computed independently in numpy/pandas. Precision and recall
must be 1.0 for every comparison in pipelines/generate/evaluate.py.
"""

from __future__ import annotations

import pytest

from pipelines.generate import generate
from pipelines.generate.evaluate import evaluate, report
from tests.support import run_ssj

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [7])
def test_run_agrees_with_ground_truth(tmp_path, seed):
    out = tmp_path / "gen"
    generate(1000, out, seed, as_of=__import__("datetime").date(2026, 11, 26))
    warehouse = tmp_path / "warehouse"
    proc = run_ssj(out / "landing", warehouse, agencies=out / "agencies.yaml", as_of="2026-11-26")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = evaluate(out / "truth", warehouse)
    imperfect = {k: v for k, v in result.items() if v["precision"] != 1 or v["recall"] != 1}
    assert not imperfect, report(result)
