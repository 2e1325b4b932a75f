"""One dbt parse of the project serves every warehouse.

dbt keeps a parse (``partial_parse.msgpack``) and reuses it when its state check
still holds: the dbt version, the vars, ``dbt_project.yml``, and a hash of the
profile's connection values (``profile_hash``), since models may read ``target.*``
while they are parsed. The project's profile names the DuckDB file by its full
path (``SSJ_WAREHOUSE``), so every new warehouse — each test of the suite, a new
deployment — failed that check and parsed the whole project (~4 s, in each
process that builds it).

The parse does not depend on the folder the DuckDB file sits in: nothing in the
project reads ``target.path``, and the database name dbt derives from the path is
the file's name (``ssj``), still in the hash (``tests/integration/
test_shared_parse.py`` parses under two folders and compares the manifests). So
the pipeline's dbt hashes the path by its file name alone
(``location_free_profile_hash``), and keeps one parse for the project beside it
(``SHARED_PARSE``), from which a new warehouse's steps start. dbt still checks
every file's hash against that parse and parses again what changed, as it does
for a warehouse's own parse run after run.
"""

from __future__ import annotations

import os
import pprint
import shutil
from pathlib import Path

from pipelines import DBT_PROJECT_DIR

PARSE_FILE = "partial_parse.msgpack"
SHARED_PARSE = DBT_PROJECT_DIR / "target" / "shared_parse" / PARSE_FILE
"""The newest parse any warehouse's dbt step made of this project (the dbt target folder is git-ignored)."""


def location_free_profile_hash() -> None:
    """Make dbt's state check hash the DuckDB path by its file name (idempotent; this process only).

    Every other connection value (database, schema, settings, extensions, …) is
    hashed as dbt does, but the resource options (``RESOURCE_OPTIONS``); other adapters
    are left alone.
    """
    from dbt.parser.manifest import ManifestLoader

    if getattr(ManifestLoader.build_manifest_state_check, "_ssj_location_free", False):
        return
    original = ManifestLoader.build_manifest_state_check

    def build_manifest_state_check(self):  # noqa: ANN001, ANN202 - dbt's signature
        check = original(self)
        credentials = self.root_project.credentials
        if credentials.type == "duckdb":
            check.profile_hash = profile_hash(credentials)
        return check

    build_manifest_state_check._ssj_location_free = True
    ManifestLoader.build_manifest_state_check = build_manifest_state_check


RESOURCE_OPTIONS = ("memory_limit",)
"""DuckDB options of the profile that size the database, not what the models are: no model reads them,
so a run with another SSJ_DUCKDB_MEMORY starts from the same parse."""


def profile_hash(credentials):  # noqa: ANN001, ANN201 - dbt's Credentials and FileHash
    """dbt's profile hash (``ManifestLoader.build_manifest_state_check``), the path by its file name
    and the resource options left out."""
    from dbt.contracts.files import FileHash

    def hashed(key, value):  # noqa: ANN001, ANN202
        if key == "path" and isinstance(value, str):
            return os.path.basename(value)
        if key == "config_options" and isinstance(value, dict):
            return {k: v for k, v in value.items() if k not in RESOURCE_OPTIONS}
        return value

    keys = sorted((key, hashed(key, value)) for key, value in credentials.connection_info())
    return FileHash.from_contents(pprint.pformat(keys))


def warm_partial_parse(target: Path, shared: Path | None = None) -> None:
    """Start a dbt step from the newest parse at hand: another step's of this warehouse, or the project's.

    The steps keep their own target folders, so without it a new warehouse's second
    step would parse the whole project again right after the first did, and its
    first step would parse what another warehouse's build parsed already (``shared``,
    by default ``SHARED_PARSE``). dbt checks a copied ``partial_parse.msgpack`` as its
    own (vars, profile, file hashes) and parses again whatever no longer matches.
    Nothing of a run (its date, its raw store) is a dbt var: those are DuckDB
    variables (macros/run_values.sql), so a run on another date parses nothing again.
    """
    shared = SHARED_PARSE if shared is None else shared
    mine = target / PARSE_FILE
    candidates = [p for p in target.parent.glob(f"*/{PARSE_FILE}") if p != mine]
    if shared.exists():
        candidates.append(shared)
    newest = max(candidates, key=lambda p: p.stat().st_mtime, default=None)
    if newest is None or (mine.exists() and mine.stat().st_mtime >= newest.stat().st_mtime):
        return
    _copy(newest, mine)


def share_partial_parse(target: Path, shared: Path | None = None) -> None:
    """After a step: its parse becomes the project's, if newer than the one kept there."""
    shared = SHARED_PARSE if shared is None else shared
    mine = target / PARSE_FILE
    if not mine.exists() or (shared.exists() and shared.stat().st_mtime >= mine.stat().st_mtime):
        return
    _copy(mine, shared)


def _copy(source: Path, dest: Path) -> None:
    """Copy with its modification time (what "newest" compares), replacing ``dest`` atomically."""
    from pipelines.defs.ingest.raw_store import replace_atomically

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copy2(source, tmp)
    replace_atomically(tmp, dest)
