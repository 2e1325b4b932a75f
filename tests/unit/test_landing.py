"""Where a file lies decides whether it may be taken (docs/contract.md §1)."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime
from pathlib import Path

import dagster as dg
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
        # items and plans are an agency's own: its folder says whose, the registry whether it may
        ("samr-350102/items/x.csv", None),
        ("samr-350103/plans/x.csv", None),
        ("tax-350102/items/x.csv", "feed_not_allowed"),
        ("sfj-350100/plans/x.csv", "feed_not_allowed"),
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
    assert code == "symlink" and "link" in message
    assert "outside" not in message and "inside" not in message  # where it points is never looked up


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
    two = "".join(f"  - code: {c}\n    name: 鼓楼区市场监督管理局\n    kind: tax\n    feeds: [draw_list]\n" for c in "ab")
    bad.write_text("agencies:\n" + two, encoding="utf-8")
    with pytest.raises(RegistryError, match=r"entry 2 \(b\): the same name as a;"):
        load_registry(bad)


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
    assert place_of(found["linked"], tmp_path, registry)[2] == "symlink"
    for name, code in (("pipe.csv", "not_a_file"), ("zero.csv", "symlink"), ("linked", "symlink")):
        with pytest.raises(NotAFile) as e:
            open_landing_file(tmp_path, folder / name)
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
    fd, st = open_landing_file(tmp_path / "landing", path)
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


# ----------------------------------------------------------------------------- odd trees, many files, large files


def make_nested(top: Path, names: list[str], file_name: str | None = None) -> None:
    """Folders ``names`` nested under ``top`` (each made relative to the one above: no path length limit)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        if file_name is not None:
            os.close(os.open(file_name, os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
    finally:
        os.close(fd)


def remove_nested(top: Path, names: list[str]) -> None:
    """Undo ``make_nested`` from the bottom up (shutil.rmtree recurses once per level)."""
    fds = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    for name in names:
        fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    for name, fd in zip(reversed(names), reversed(fds[:-1])):
        inner = fds.pop()
        for leftover in os.listdir(inner):
            os.unlink(leftover, dir_fd=inner)
        os.close(inner)
        os.rmdir(name, dir_fd=fd)
    os.close(fds.pop())


@pytest.fixture
def odd_tree(tmp_path):
    """A feed folder holding a good file, a 1,200-folder-deep tree, and 16 nested 250-character folders
    ending in a long file name (its path far beyond PATH_MAX)."""
    landing = tmp_path / "landing"
    drop(landing, "samr-350102/registration/good.csv", "统一社会信用代码,企业名称\n91350102MA2Y000071,甲公司\n".encode())
    feed = landing / "samr-350102" / "registration"
    deep = ["deep"] + ["d"] * 1200
    long = [f"{i:02d}" + "长" * 82 for i in range(16)]  # 248 bytes each
    make_nested(feed, deep, "x.csv")
    make_nested(feed, long, "n" * 200 + ".csv")
    yield landing
    remove_nested(feed, deep)
    remove_nested(feed, long)


def test_a_deep_or_long_named_tree_is_one_entry_never_walked(odd_tree, registry):
    found = {f.rel.rsplit("/", 1)[-1]: f for f in scan_landing(odd_tree)}
    assert set(found) == {"good.csv", "deep", "00" + "长" * 82}
    for name in ("deep", "00" + "长" * 82):
        assert found[name].kind == "folder"
        _, _, code, message = place_of(found[name], odd_tree, registry)
        assert code == "bad_location" and message.startswith(found[name].rel)


def test_ingestion_and_the_sensor_get_through_an_odd_tree(odd_tree, tmp_path, monkeypatch):
    from pipelines.defs.ingest.landing import ingest_landing
    from pipelines.defs.ingest.sensors import landing_zone_sensor

    report = ingest_landing(odd_tree, tmp_path / "wh", SAMPLE_REGISTRY)
    outcome = {d.rel.rsplit("/", 1)[-1]: (d.status, d.error_code) for d in report.decisions}
    assert outcome == {"good.csv": ("ingested", None), "deep": ("rejected", "bad_location"),
                       "00" + "长" * 82: ("rejected", "bad_location")}
    monkeypatch.setenv("SSJ_LANDING", str(odd_tree))
    monkeypatch.setenv("SSJ_WAREHOUSE", str(tmp_path / "wh"))
    monkeypatch.setenv("SSJ_QUIET_SECONDS", "0")
    os.utime(odd_tree / "samr-350102" / "registration" / "good.csv", (1_600_000_000, 1_600_000_000))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        list(landing_zone_sensor(ctx))  # first sight
        assert len(list(landing_zone_sensor(ctx))) == 3


def test_an_entry_that_cannot_be_examined_is_rejected_with_a_masked_message(tmp_path, registry, monkeypatch):
    from pipelines.defs.ingest.landing import ingest_landing

    number = "350102198001011241"
    landing = tmp_path / "landing"
    drop(landing, "samr-350102/registration/good.csv", "统一社会信用代码,企业名称\n".encode())
    locked = landing / "samr-350102" / f"locked_{number}"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path):  # what a folder without read permission does (the tests may run as root)
        if isinstance(path, (str, os.PathLike)) and Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = {f.rel: f for f in scan_landing(landing)}
    assert set(found) == {"samr-350102/registration/good.csv", f"samr-350102/locked_{number}"}
    _, _, code, message = place_of(found[f"samr-350102/locked_{number}"], landing, registry)
    assert code == "unreadable" and "Permission denied" in message
    report = ingest_landing(landing, tmp_path / "wh", SAMPLE_REGISTRY)
    rejected = [d for d in report.decisions if d.status == "rejected"]
    assert [d.error_code for d in rejected] == ["unreadable"] and number not in rejected[0].error


def test_a_folder_swapped_for_a_link_after_the_scan_is_not_followed(tmp_path):
    landing = tmp_path / "landing"
    path = drop(landing, "samr-350102/registration/x.csv", b"a,b\n")
    elsewhere = tmp_path / "elsewhere"
    drop(elsewhere, "x.csv", b"secret\n")
    (file,) = scan_landing(landing)
    fd, st = open_landing_file(landing, path)
    os.close(fd)
    job = _Job(file.rel, hashlib.sha256(b"a,b\n").hexdigest(), st.st_size, st.st_mtime_ns, "samr-350102",
               "registration", tmp_path / "wh", datetime(2026, 6, 30), root=landing, path=path,
               identity=(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    folder = landing / "samr-350102" / "registration"
    folder.rename(landing / "samr-350102" / "moved")
    folder.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(NotAFile) as e:
        open_landing_file(landing, path)
    assert e.value.code == "symlink"
    assert read_landing_file(job) is None  # not read; the next run rejects what lies there


def test_a_file_is_read_only_if_it_is_the_one_hashed(tmp_path):
    landing = tmp_path / "landing"
    good = "统一社会信用代码,企业名称\n91350102MA2Y000071,甲公司\n".encode()
    path = drop(landing, "samr-350102/registration/x.csv", good)
    fd, st = open_landing_file(landing, path)
    os.close(fd)
    ident = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    job = _Job("samr-350102/registration/x.csv", hashlib.sha256(good).hexdigest(), st.st_size, st.st_mtime_ns,
               "samr-350102", "registration", tmp_path / "wh", datetime(2026, 6, 30), root=landing, path=path,
               identity=ident)
    replacement = path.with_name("y.csv")
    replacement.write_bytes(good)
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    replacement.rename(path)  # same bytes, same mtime, another file
    assert read_landing_file(job) is None
    st = path.stat()
    job = _Job(*[getattr(job, f) for f in ("rel", "sha", "size", "mtime_ns", "agency", "feed", "warehouse", "now")],
               root=landing, path=path, identity=(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    decision, _ = read_landing_file(job)
    assert decision.status == "ingested" and decision.rows_read == 1


MANY_FILES = """
import os, resource, sys
from pipelines.defs.ingest.landing import ingest_landing
from tests.support import SAMPLE_REGISTRY
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))  # soft and hard: it cannot be raised
report = ingest_landing(sys.argv[1], sys.argv[2], SAMPLE_REGISTRY)
print(len(report.decisions), dict(report.counts()))
"""


@pytest.mark.slow
def test_many_files_under_a_low_open_file_limit_are_all_decided(tmp_path):
    import subprocess
    import sys

    landing = tmp_path / "landing"
    for i in range(300):
        drop(landing, f"samr-350102/registration/f{i:03d}.csv",
             f"统一社会信用代码,企业名称\n91350102MA2Y000071,公司{i}\n".encode())
    proc = subprocess.run([sys.executable, "-c", MANY_FILES, str(landing), str(tmp_path / "wh")],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[0] == "300" and "'ingested': 300" in proc.stdout


def test_a_file_above_the_size_limit_is_refused_unhashed_and_not_retried(tmp_path, monkeypatch):
    from pipelines.defs.ingest import landing as landing_module

    landing = tmp_path / "landing"
    drop(landing, "samr-350102/registration/big.csv", b"x" * 4096)
    drop(landing, "samr-350102/registration/small.csv", "统一社会信用代码,企业名称\n".encode())
    monkeypatch.setenv("SSJ_MAX_FILE_BYTES", "1KiB")
    hashed = []
    real = landing_module.sha256_of_fd
    monkeypatch.setattr(landing_module, "sha256_of_fd", lambda fd: hashed.append(os.fstat(fd).st_size) or real(fd))
    report = landing_module.ingest_landing(landing, tmp_path / "wh", SAMPLE_REGISTRY)
    outcome = {d.rel.rsplit("/", 1)[-1]: (d.status, d.error_code) for d in report.decisions}
    assert outcome == {"big.csv": ("rejected", "too_large"), "small.csv": ("ingested", None)}
    assert 4096 not in hashed and "SSJ_MAX_FILE_BYTES" in report.decisions[0].error
    again = landing_module.ingest_landing(landing, tmp_path / "wh", SAMPLE_REGISTRY)
    assert again.decisions == [] and again.skipped == 2  # still too large: its entry stands, unrepeated
    monkeypatch.setenv("SSJ_MAX_FILE_BYTES", "1MiB")  # once the limit allows it, it is read
    (read,) = landing_module.ingest_landing(landing, tmp_path / "wh", SAMPLE_REGISTRY).decisions
    assert read.rel.endswith("big.csv") and read.error_code != "too_large" and 4096 in hashed


def test_too_costly_files_are_not_read_again_until_they_change(tmp_path, monkeypatch):
    from pipelines.defs.ingest.landing import ingest_landing
    from pipelines.defs.ingest.raw_store import ledger_dir

    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    rows = "".join(f"91350102MA2Y000071,公司{i}\n" for i in range(5))
    path = drop(landing, "samr-350102/registration/x.csv", f"统一社会信用代码,企业名称\n{rows}".encode())
    monkeypatch.setenv("SSJ_MAX_FILE_ROWS", "3")
    (first,) = ingest_landing(landing, warehouse, SAMPLE_REGISTRY).decisions
    assert (first.status, first.error_code) == ("rejected", "too_large") and "SSJ_MAX_FILE_ROWS" in first.error
    assert not list((warehouse / "raw" / "registration").glob(".*.tmp"))
    monkeypatch.delenv("SSJ_MAX_FILE_ROWS")
    again = ingest_landing(landing, warehouse, SAMPLE_REGISTRY)
    assert again.decisions == [] and again.skipped == 1  # same path, same bytes: the rejection stands
    (entry,) = [p for p in ledger_dir(warehouse).glob("*.json") if "x.csv" in p.read_text(encoding="utf-8")]
    entry.unlink()  # how an operator asks for it to be read again
    (retried,) = ingest_landing(landing, warehouse, SAMPLE_REGISTRY).decisions
    assert (retried.status, retried.rows_read) == ("ingested", 5)
    monkeypatch.setenv("SSJ_MAX_FILE_ROWS", "3")
    path.write_bytes(path.read_bytes() + "91350102MA2Y000071,新公司\n".encode())  # a new version is read
    (new,) = ingest_landing(landing, warehouse, SAMPLE_REGISTRY).decisions
    assert (new.status, new.error_code) == ("rejected", "too_large")


def test_stale_temporary_files_of_the_raw_store_are_swept(tmp_path):
    from pipelines.defs.ingest.raw_store import discard_partial_raw_file

    ensure_layout(tmp_path)
    feed = tmp_path / "raw" / "registration"
    old = feed / f".{'a' * 64}.parquet.k3j2.tmp"
    fresh = feed / f".{'b' * 64}.parquet.x9q1.tmp"
    for p in (old, fresh):
        p.write_bytes(b"PAR1")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    ensure_layout(tmp_path)
    assert not old.exists() and fresh.exists()  # a live writer's file is left alone
    discard_partial_raw_file(tmp_path, "registration", "b" * 64)  # its reader died: removed at once
    assert not fresh.exists() and (feed / "_empty.parquet").exists()


def test_a_sparse_ten_terabyte_file_is_refused_at_once(tmp_path, monkeypatch):
    from pipelines.defs.ingest.landing import ingest_landing

    monkeypatch.delenv("SSJ_MAX_FILE_BYTES", raising=False)
    big = drop(tmp_path / "landing", "samr-350102/registration/big.csv", b"")
    os.truncate(big, 10 << 40)  # no block allocated; hashing it would read 10 TiB of zeros
    try:
        (decision,) = ingest_landing(tmp_path / "landing", tmp_path / "wh", SAMPLE_REGISTRY).decisions
    finally:
        big.unlink()
    assert (decision.status, decision.error_code, decision.sha256) == ("rejected", "too_large", None)
    assert decision.seconds < 5
