"""The landing-zone sensor: one ingest run per new file, exactly once (run key = SHA-256).

Nothing in the landing zone can block a tick: the scan only lists (``lstat``), and
a file is hashed only when it opens as a regular file without following a link or
waiting (``open_landing_file``). A link, a named pipe or a device gets a run keyed
by its path and state instead, which records it as rejected.
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
from .landing import NotAFile, scan_landing, sha256_of
from .raw_store import file_ref


def quiet_seconds() -> float:
    return float(os.environ.get("SSJ_QUIET_SECONDS", "30"))


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
    waited on) a hash of its reference and state; None when it is gone or cannot be opened now."""
    if f.kind == "file":
        try:
            return sha256_of(f.path)
        except NotAFile:
            pass  # replaced by a link or a pipe since the scan
        except OSError:
            return None
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
    for f in ready:
        file = ref(f.rel)
        key = f"{file}|{f.size}|{f.mtime_ns}"
        sha = known_sha.get(key) or run_key_of(f, file)
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
