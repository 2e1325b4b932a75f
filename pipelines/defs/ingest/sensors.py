"""The landing-zone sensor: one ingest run per new file, exactly once (run key = SHA-256)."""

from __future__ import annotations

import json
import os
import time

import dagster as dg

from pipelines.settings import Settings

from .assets import ingest_job
from .landing import scan_landing, sha256_of


def quiet_seconds() -> float:
    return float(os.environ.get("SSJ_QUIET_SECONDS", "30"))


def stable_files(landing, previous: dict, now: float, quiet: float) -> tuple[list, dict]:
    """Files whose size and mtime have not changed for ``quiet`` seconds.

    ``previous`` maps a relative path to ``[size, mtime_ns, first_seen_unchanged]``
    from the last tick; the updated map is returned for the cursor.
    """
    seen: dict = {}
    ready = []
    for f in scan_landing(landing):
        before = previous.get(f.rel)
        since = before[2] if before and before[0] == f.size and before[1] == f.mtime_ns else now
        seen[f.rel] = [f.size, f.mtime_ns, since]
        if now - since >= quiet and now - f.mtime_ns / 1e9 >= quiet:
            ready.append(f)
    return ready, seen


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches one ingest per new landing file once its size and mtime are stable (SSJ_QUIET_SECONDS).",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext):
    settings = Settings.from_env()
    cursor = json.loads(context.cursor) if context.cursor else {"stat": {}, "sha": {}}
    ready, stat = stable_files(settings.landing, cursor["stat"], time.time(), quiet_seconds())
    known_sha = cursor["sha"]
    for f in ready:
        key = f"{f.rel}|{f.size}|{f.mtime_ns}"
        sha = known_sha.get(key) or sha256_of(f.path)
        known_sha[key] = sha
        yield dg.RunRequest(
            run_key=sha,
            run_config={"ops": {"landing_files": {"config": {"paths": [f.rel]}}}},
            tags={"ssj/file": f.rel[:200], "ssj/sha256": sha},
        )
    live = {f"{rel}|{v[0]}|{v[1]}" for rel, v in stat.items()}
    context.update_cursor(json.dumps({"stat": stat, "sha": {k: v for k, v in known_sha.items() if k in live}}))
