"""Where a file lies decides whether it may be taken (CONTRACT §1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.defs.ingest.landing import is_in_progress, place_of, scan_landing
from pipelines.defs.ingest.registry import RegistryError, load_registry
from tests.support import SAMPLE_REGISTRY


@pytest.fixture
def registry():
    return load_registry(SAMPLE_REGISTRY)


def drop(landing: Path, rel: str, body: bytes = b"a,b\n", mtime: int | None = None) -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.mark.parametrize("name", [".hidden.csv", "~$book.xlsx", "a.csv.tmp", "a.part", "a.CRDOWNLOAD"])
def test_files_being_written_are_ignored(tmp_path, name):
    assert is_in_progress(name)
    drop(tmp_path, f"samr-350102/registration/{name}")
    assert scan_landing(tmp_path) == []


def test_scan_orders_by_mtime_then_name(tmp_path):
    drop(tmp_path, "samr-350102/registration/b.csv", mtime=1_700_000_000)
    drop(tmp_path, "samr-350102/registration/a.csv", mtime=1_700_000_000)
    drop(tmp_path, "samr-350102/registration/0.csv", mtime=1_800_000_000)
    assert [f.rel for f in scan_landing(tmp_path)] == [
        "samr-350102/registration/a.csv",
        "samr-350102/registration/b.csv",
        "samr-350102/registration/0.csv",
    ]


@pytest.mark.parametrize(
    ("rel", "code"),
    [
        ("samr-350102/registration/x.csv", None),
        ("unknown-agency/registration/x.csv", "unknown_agency"),
        ("sfj-350100/registration/x.csv", "feed_not_allowed"),
        ("samr-350102/orders/x.csv", "unknown_feed"),
        ("samr-350102/registration/x.docx", "unsupported_format"),
        ("samr-350102/x.csv", "bad_location"),
        ("samr-350102/registration/deeper/x.csv", "bad_location"),
        ("samr-350102/registration/bad\nname.csv", "bad_name"),
    ],
)
def test_place_decides(tmp_path, registry, rel, code):
    drop(tmp_path, rel)
    (file,) = scan_landing(tmp_path)
    agency, feed, got, message = place_of(file, tmp_path, registry)
    assert got == code
    if code:
        assert file.rel in message or repr(file.rel) in message  # control characters are shown escaped


def test_symlink_pointing_outside_is_rejected(tmp_path, registry):
    outside = tmp_path / "outside.csv"
    outside.write_text("secret")
    landing = tmp_path / "landing"
    (landing / "samr-350102" / "registration").mkdir(parents=True)
    (landing / "samr-350102" / "registration" / "x.csv").symlink_to(outside)
    (file,) = scan_landing(landing)
    _, _, code, message = place_of(file, landing, registry)
    assert code == "symlink" and "outside" in message


def test_registry_errors_name_the_entry(tmp_path):
    bad = tmp_path / "agencies.yaml"
    bad.write_text("agencies:\n  - code: Bad_Code\n    name: x\n    kind: tax\n    feeds: [draw_list]\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="entry 1.*Bad_Code"):
        load_registry(bad)
    bad.write_text("agencies:\n  - code: ok\n    kind: tax\n    feeds: [orders]\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="unknown feed"):
        load_registry(bad)
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "missing.yaml")
