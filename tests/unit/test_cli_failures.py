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


def test_a_seed_file_that_cannot_be_read_is_named_and_exits_2(tmp_path, capsys):
    code = main(["draw", "--warehouse", str(tmp_path / "wh"), "--plans-of", "2026", "--seed-file", str(tmp_path / "no")])
    assert code == 2 and str(tmp_path / "no") in capsys.readouterr().err


def test_a_seed_is_read_as_typed_with_one_trailing_line_break_dropped(tmp_path, monkeypatch):
    import io

    from pipelines.cli import read_seed

    for body, seed in [(b"ssj-demo-2026\n", "ssj-demo-2026"), (b"ssj-demo-2026\r\n", "ssj-demo-2026"),
                       (b"2026 \xe5\x8f\x8c\xe8\x89\xb2\xe7\x90\x83 01 05\n\n", "2026 双色球 01 05\n"), (b" x", " x")]:
        (tmp_path / "seed.txt").write_bytes(body)
        assert read_seed(str(tmp_path / "seed.txt")) == seed
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"from-stdin\n")))
    assert read_seed("-") == "from-stdin"
