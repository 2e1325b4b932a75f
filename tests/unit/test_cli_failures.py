"""Commands given what they cannot use exit 2 with one line saying what is missing, never a traceback."""

from __future__ import annotations

import pytest

from pipelines.cli import main


@pytest.mark.parametrize("command", [
    ["evaluate", "--truth", "{tmp}/truth", "--warehouse", "{tmp}/wh"],
    ["export", "--warehouse", "{tmp}/wh", "--table", "enterprise_pool", "--out", "{tmp}/out.csv"],
    ["snapshots", "--warehouse", "{tmp}/wh"],
    ["verify-draw", "--warehouse", "{tmp}/wh"],
    ["report", "--warehouse", "{tmp}/wh"],
])
def test_a_missing_warehouse_or_truth_is_named_and_exits_2(command, tmp_path, capsys):
    code = main([part.format(tmp=tmp_path) for part in command])
    out = capsys.readouterr()
    assert code == 2
    said = (out.err + out.out).strip()
    assert said and "Traceback" not in said and str(tmp_path) in said


def test_evaluate_names_the_missing_published_tables_once_the_truth_is_there(tmp_path, capsys):
    from pipelines.generate import generate

    generate(200, tmp_path / "sample", 1)
    assert main(["evaluate", "--truth", str(tmp_path / "sample" / "truth"), "--warehouse", str(tmp_path / "wh")]) == 2
    assert "has `ssj run` run" in capsys.readouterr().err
