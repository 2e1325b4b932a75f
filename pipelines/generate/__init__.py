"""Synthetic landing zone + ground truth for shuangsuiji (``ssj generate``).

    generate(n_enterprises, out, seed, as_of=date(2026, 11, 26)) -> summary dict

writes ``<out>/landing/<agency>/<feed>/<file>`` (the contract's layout, agency
codes of ``config/agencies.yaml``), ``<out>/agencies.yaml`` (a copy of that
registry) and ``<out>/truth/`` (Parquet tables + ``summary.json``) describing
what a correct pipeline must publish for that landing zone and ``as_of``.

Modules: ``identifiers`` (check digits), ``names`` (vocabulary), ``world`` (the
true entities), ``feeds`` (files, formats, messy values), ``plans`` (item lists
and plans), ``results`` (inspection results and their deadlines), ``truth`` (scale and sweep rules) and ``expected`` (the truth tables).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .expected import build_truth, write_file_truth
from .feeds import Landing, write_approval, write_credit, write_draws, write_inspectors, write_links, write_registration
from .plans import write_items_and_plans
from .results import write_results
from .world import build_world

REGISTRY = Path(__file__).resolve().parents[2] / "config" / "agencies.yaml"
DEFAULT_AS_OF = date(2026, 11, 26)

__all__ = ["generate", "DEFAULT_AS_OF"]


def generate(n_enterprises: int, out: Path, seed: int, as_of: date = DEFAULT_AS_OF,
             progress: Callable[[str], None] | None = None) -> dict:
    """Generate a landing zone of ``n_enterprises`` enterprises under ``out``; deterministic for a seed.

    Existing ``out/landing`` and ``out/truth`` are replaced. Returns the summary also
    written to ``out/truth/summary.json`` (plus ``timings_s``, which the file leaves out).
    ``progress``, when given, is told each stage as it ends (a line with counts and seconds).
    """
    # plain object strings inside: Arrow-backed string columns make row selection several times slower
    with pd.option_context("future.infer_string", False):
        return _generate(n_enterprises, out, seed, as_of, progress or (lambda _: None))


def _generate(n_enterprises: int, out: Path, seed: int, as_of: date, progress: Callable[[str], None]) -> dict:
    t0 = time.perf_counter()
    last = [t0]

    def done(what: str) -> None:
        now = time.perf_counter()
        progress(f"{what} ({now - last[0]:.1f} s)")
        last[0] = now

    out = Path(out)
    for sub in ("landing", "truth"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REGISTRY, out / "agencies.yaml")

    world = build_world(int(n_enterprises), int(seed), as_of)
    done(f"world: {len(world.ent):,} registration records, {len(world.licences):,} licences, "
         f"{len(world.inspectors):,} inspectors, {len(world.draws):,} draw rows")
    t_world = time.perf_counter()
    land = Landing(out, np.random.default_rng([int(seed), 1]))
    reg_where = write_registration(land, world.ent, world.updates)
    done("files: registration")
    lic_where = write_approval(land, world.licences)
    done("files: approval")
    write_credit(land, world.credit)
    done("files: credit_risk")
    write_inspectors(land, world.inspectors)
    done("files: inspectors")
    draws = write_draws(land, world.draws)
    done("files: draw_list")
    write_links(land, draws, world.pool)
    done("files: links")
    write_items_and_plans(land, as_of)
    done("files: items, plans")
    t_files = time.perf_counter()
    summary = build_truth(world, land, draws, reg_where, lic_where, out / "truth")
    done("ground truth")
    summary["counts"].update(write_results(land, pd.read_parquet(out / "truth" / "draw_truth.parquet"), as_of,
                                           out / "truth"))
    done("files: results (and their truth)")
    summary["counts"].update(write_file_truth(land, out / "truth"))
    summary["files"] = land.files
    (out / "truth" / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n",
                                                encoding="utf-8")
    t_end = time.perf_counter()
    # timings go to the caller only: summary.json stays byte-identical for a seed
    summary["timings_s"] = {"world": round(t_world - t0, 2), "files": round(t_files - t_world, 2),
                            "truth": round(t_end - t_files, 2), "total": round(t_end - t0, 2)}
    return summary
