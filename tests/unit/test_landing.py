"""Where a file lies decides whether it may be taken (CONTRACT §1)."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime
from pathlib import Path

import pytest

from pipelines.defs.ingest.landing import (
    NotAFile,
    _Job,
    is_in_progress,
    open_landing_file,
    place_of,
    printable_name,
    read_landing_file,
    scan_landing,
    sha256_of_fd,
)
from pipelines.defs.ingest.raw_store import ensure_layout, raw_file
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


# ----------------------------------------------------------------------------- what is not a plain file


def unescape(rendered: str) -> bytes:
    """The inverse of printable_name for a name that is not UTF-8: ``\\\\`` and ``\\xNN`` back to bytes."""
    out, i = bytearray(), 0
    while i < len(rendered):
        if rendered[i] == "\\" and rendered[i + 1] == "\\":
            out += b"\\"
            i += 2
        elif rendered[i] == "\\" and rendered[i + 1] == "x":
            out.append(int(rendered[i + 2:i + 4], 16))
            i += 4
        else:
            out += rendered[i].encode()
            i += 1
    return bytes(out)


@pytest.mark.parametrize("raw", [b"\xd5\xc5\xc8\xfd.csv", b"a\\xd5\xd5.csv", b"\\\\\xff", "企业\\名单.csv".encode() + b"\x80"])
def test_a_name_that_is_not_utf8_is_printable_and_maps_back(raw):
    rendered = printable_name(raw)
    assert rendered.isprintable() and rendered.encode("utf-8")
    assert unescape(rendered) == raw


def test_utf8_names_are_kept_as_they_are():
    assert printable_name("企业名单.csv".encode()) == "企业名单.csv"


def test_names_that_are_not_utf8_are_rejected_and_left_in_place(tmp_path, registry):
    folder = os.fsencode(tmp_path / "samr-350102" / "registration")
    os.makedirs(folder)
    with open(folder + b"/\xd5\xc5.csv", "wb") as f:
        f.write(b"a,b\n")
    os.makedirs(os.fsencode(tmp_path) + b"/\xb2\xe2/registration")
    with open(os.fsencode(tmp_path) + b"/\xb2\xe2/registration/x.csv", "wb") as f:
        f.write(b"a,b\n")
    found = {f.rel: f for f in scan_landing(tmp_path)}
    assert set(found) == {"samr-350102/registration/\\xd5\\xc5.csv", "\\xb2\\xe2/registration/x.csv"}
    for file in found.values():
        _, _, code, message = place_of(file, tmp_path, registry)
        assert code == "bad_name" and message.startswith(file.rel)
        assert os.path.exists(file.path)


def test_special_files_are_listed_without_opening_and_never_opened(tmp_path, registry):
    folder = tmp_path / "samr-350102" / "registration"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.csv")  # opening it for reading without O_NONBLOCK would wait for a writer
    (folder / "zero.csv").symlink_to("/dev/zero")
    (folder / "linked").symlink_to(tmp_path, target_is_directory=True)
    found = {f.rel.rsplit("/", 1)[-1]: f for f in scan_landing(tmp_path)}
    assert {n: f.kind for n, f in found.items()} == {
        "pipe.csv": "named pipe (FIFO)", "zero.csv": "symlink", "linked": "symlink"}
    assert place_of(found["pipe.csv"], tmp_path, registry)[2] == "not_a_file"
    assert place_of(found["zero.csv"], tmp_path, registry)[2] == "symlink"
    assert "folder" in place_of(found["linked"], tmp_path, registry)[3]
    for name, code in (("pipe.csv", "not_a_file"), ("zero.csv", "symlink"), ("linked", "symlink")):
        with pytest.raises(NotAFile) as e:
            open_landing_file(folder / name)
        assert e.value.code == code


def test_the_sensor_keys_special_files_without_hashing_through_them(tmp_path):
    from pipelines.defs.ingest.sensors import run_key_of

    folder = tmp_path / "samr-350102" / "registration"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.csv")
    (folder / "zero.csv").symlink_to("/dev/zero")
    drop(tmp_path, "samr-350102/registration/x.csv", b"a,b\n")
    keys = {f.rel.rsplit("/", 1)[-1]: run_key_of(f, f"ref-{f.rel}") for f in scan_landing(tmp_path)}
    assert keys["x.csv"] == hashlib.sha256(b"a,b\n").hexdigest()
    assert keys["pipe.csv"].startswith("special:") and keys["zero.csv"].startswith("special:")


def test_a_file_changed_after_its_hash_is_left_for_the_next_run(tmp_path):
    good = "统一社会信用代码,企业名称\n91350102MA2Y000071,甲公司\n".encode()
    path = drop(tmp_path / "landing", "samr-350102/registration/x.csv", good)
    fd, st = open_landing_file(path)
    sha = sha256_of_fd(fd)
    job = _Job("samr-350102/registration/x.csv", sha, st.st_size, st.st_mtime_ns, "samr-350102", "registration",
               tmp_path / "wh", datetime(2026, 6, 30))
    path.write_bytes(good + "91350102MA2Y000071,乙公司\n".encode())  # the sender writes on: same file, new bytes
    try:
        assert read_landing_file(job, fd) is None
        assert not raw_file(tmp_path / "wh", "registration", sha).exists()
        path.write_bytes(good)
        decision, _seconds = read_landing_file(job, fd)
    finally:
        os.close(fd)
    assert decision.status == "ingested" and decision.rows_read == 1
    assert raw_file(tmp_path / "wh", "registration", sha).exists()


def test_the_raw_store_is_made_private(tmp_path):
    ensure_layout(tmp_path)
    raw = tmp_path / "raw"
    os.chmod(raw, 0o755)
    os.chmod(raw / "registration" / "_empty.parquet", 0o644)
    ensure_layout(tmp_path)
    for path in [raw, *raw.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
