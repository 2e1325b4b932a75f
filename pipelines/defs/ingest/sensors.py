"""The landing-zone sensor: one ingest run per new file, exactly once (run key = SHA-256).

Nothing in the landing zone can block a tick: the scan only lists (``lstat``), and
a file is hashed only when it opens as a regular file without following a link or
waiting (``open_landing_file``). A link, a named pipe or a device gets a run keyed
by its path and state instead, which records it as rejected; so does a file above
SSJ_MAX_FILE_BYTES (never hashed) and anything the scan could not examine. A tick
hashes at most SSJ_SENSOR_HASH_BYTES (after its first file): what is left waits for
the next tick, and the cursor keeps every hash made, so no file is hashed twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import dagster as dg

from connectors.personal import mask_text
from pipelines.settings import Settings

from .assets import ingest_job
from .landing import NotAFile, open_landing_file, scan_landing, sha256_of_fd, size_refusal
from .raw_store import file_ref
from .reader_pool import parse_bytes

DEFAULT_HASH_BUDGET = 8 << 30
"""Bytes one tick hashes at most (SSJ_SENSOR_HASH_BYTES), about a minute of reading at disk speed."""


def quiet_seconds() -> float:
    return float(os.environ.get("SSJ_QUIET_SECONDS", "30"))


def hash_budget() -> int:
    value = os.environ.get("SSJ_SENSOR_HASH_BYTES")
    return parse_bytes(value) if value else DEFAULT_HASH_BUDGET


def stable_files(landing, previous: dict, now: float, quiet: float, ref=lambda rel: rel) -> tuple[list, dict]:
    """Files whose size and mtime have not changed for ``quiet`` seconds.

    ``previous`` maps a file's ``ref`` (the sensor's: ``raw_store.file_ref``, never its
    path) to ``[size, mtime_ns, first_seen_unchanged]`` from the last tick; the
    updated map is returned for the cursor.
    """
    seen: dict = {}
    ready = []
    for f in scan_landing(landing):
        key = ref(f.rel)
        before = previous.get(key)
        since = before[2] if before and before[0] == f.size and before[1] == f.mtime_ns else now
        seen[key] = [f.size, f.mtime_ns, since]
        if now - since >= quiet and now - f.mtime_ns / 1e9 >= quiet:
            ready.append(f)
    return ready, seen


def run_key_of(f, ref: str) -> str | None:
    """The file's SHA-256; for what is not a regular file (never opened through a link, never
    waited on), what the scan could not examine, or a file too large to hash, a hash of its
    reference and state; None when it is gone or cannot be opened now."""
    if f.kind == "file" and f.error is None:
        try:
            fd, st = open_landing_file(f.root or f.path.parent, f.path)
        except NotAFile:
            pass  # replaced by a link or a pipe since the scan
        except OSError:
            return None
        else:
            try:
                if size_refusal(st.st_size) is None:
                    return sha256_of_fd(fd)
                return "too_large:" + hashlib.sha256(f"{ref}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
            except OSError:
                return None
            finally:
                os.close(fd)
    return "special:" + hashlib.sha256(f"{f.kind}|{ref}|{f.size}|{f.mtime_ns}".encode()).hexdigest()


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches one ingest per new landing file once its size and mtime are stable (SSJ_QUIET_SECONDS).",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext):
    settings = Settings.from_env()
    cursor = json.loads(context.cursor) if context.cursor else {"stat": {}, "sha": {}}
    def ref(rel: str) -> str:
        return file_ref(settings.warehouse, rel)

    ready, stat = stable_files(settings.landing, cursor["stat"], time.time(), quiet_seconds(), ref)
    known_sha = cursor["sha"]
    budget, hashed = hash_budget(), 0
    for f in ready:
        file = ref(f.rel)
        key = f"{file}|{f.size}|{f.mtime_ns}"
        sha = known_sha.get(key)
        if sha is None:
            if hashed and hashed + f.size > budget:
                continue  # this tick has hashed enough: the next one carries on
            sha = run_key_of(f, file)
            if f.kind == "file" and size_refusal(f.size) is None:
                hashed += f.size
        if sha is None:
            continue  # gone since the scan, or not readable now: the next tick looks again
        known_sha[key] = sha
        yield dg.RunRequest(
            run_key=sha,
            run_config={"ops": {"landing_files": {"config": {"files": [file]}}}},
            tags={"ssj/file": mask_text(f.rel)[:200], "ssj/sha256": sha},
        )
    live = {f"{file}|{v[0]}|{v[1]}" for file, v in stat.items()}
    context.update_cursor(json.dumps({"stat": stat, "sha": {k: v for k, v in known_sha.items() if k in live}}))
