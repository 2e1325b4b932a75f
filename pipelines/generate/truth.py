"""The rules the ground truth is computed with, written independently of dbt.

- scale: 统计上大中小微型企业划分办法（2017） (docs/domain.md): large, medium and
  small must meet every listed lower bound, else the enterprise drops one band;
  a missing indicator -> unknown; 金融业 (J) -> unknown; industries the standard
  leaves out (53 铁路运输, 704 自有房地产经营, P 教育, 84 卫生, S, T) -> unknown.
- joint groups: the contract's sweep (sort by window start, close a group when
  the next entry no longer intersects the group's common window; >= 2 entries).
"""

from __future__ import annotations

from datetime import date

import numpy as np

BANDS = np.array(["micro", "small", "medium", "large"])

# rule name -> ((indicator, (large, medium, small)), ...) ; X employees, Y revenue, Z assets (万元)
SCALE_RULES: dict[str, tuple[tuple[str, tuple[float, float, float]], ...]] = {
    "agriculture": (("Y", (20000, 500, 50)),),
    "industry": (("X", (1000, 300, 20)), ("Y", (40000, 2000, 300))),
    "construction": (("Y", (80000, 6000, 300)), ("Z", (80000, 5000, 300))),
    "wholesale": (("X", (200, 20, 5)), ("Y", (40000, 5000, 1000))),
    "retail": (("X", (300, 50, 10)), ("Y", (20000, 500, 100))),
    "transport": (("X", (1000, 300, 20)), ("Y", (30000, 3000, 200))),
    "warehousing": (("X", (200, 100, 20)), ("Y", (30000, 1000, 100))),
    "postal": (("X", (1000, 300, 20)), ("Y", (30000, 2000, 100))),
    "hospitality": (("X", (300, 100, 10)), ("Y", (10000, 2000, 100))),
    "telecom": (("X", (2000, 100, 10)), ("Y", (100000, 1000, 100))),
    "software": (("X", (300, 100, 10)), ("Y", (10000, 1000, 50))),
    "real_estate_dev": (("Y", (200000, 1000, 100)), ("Z", (10000, 5000, 2000))),
    "property_mgmt": (("X", (1000, 300, 100)), ("Y", (5000, 1000, 500))),
    "leasing_business": (("X", (300, 100, 10)), ("Z", (120000, 8000, 100))),
    "other": (("X", (300, 100, 10)),),
    "finance": (),  # kept unknown (DOMAIN: separate 2015 standard, unverified)
    "not_covered": (),  # outside the standard's table
}


def scale_rule(code4: str) -> str:
    div = int(code4[:2])
    if 1 <= div <= 5:
        return "agriculture"
    if 6 <= div <= 46:
        return "industry"
    if 47 <= div <= 50:
        return "construction"
    if div == 51:
        return "wholesale"
    if div == 52:
        return "retail"
    if div == 53:
        return "not_covered"  # 交通运输业 excludes 铁路运输业
    if 54 <= div <= 58 or code4[:3] == "591":
        return "transport"  # 591 装卸搬运 counts as 交通运输业
    if div == 59:
        return "warehousing"
    if div == 60:
        return "postal"
    if div in (61, 62):
        return "hospitality"
    if div in (63, 64):
        return "telecom"
    if div == 65:
        return "software"
    if 66 <= div <= 69:
        return "finance"
    if code4[:3] == "701":
        return "real_estate_dev"
    if code4[:3] == "702":
        return "property_mgmt"
    if code4[:3] == "704" or div == 83 or div == 84 or div >= 91:
        return "not_covered"  # 自有房地产经营活动, 教育, 卫生, S, T
    if div in (71, 72):
        return "leasing_business"
    return "other"


def classify_scale(rule: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Vectorised scale band; x/y/z are float arrays with NaN for missing."""
    out = np.full(len(rule), "unknown", dtype=object)
    ind = {"X": x, "Y": y, "Z": z}
    for name, spec in SCALE_RULES.items():
        m = rule == name
        if not m.any() or not spec:
            continue
        level = np.full(int(m.sum()), 3)
        missing = np.zeros(int(m.sum()), dtype=bool)
        for key, (lg, md, sm) in spec:
            v = ind[key][m]
            missing |= np.isnan(v)
            lv = (v >= sm).astype(int) + (v >= md) + (v >= lg)
            level = np.minimum(level, lv)
        res = BANDS[level].astype(object)
        res[missing] = "unknown"
        out[m] = res
    return out


def sample_indicators(rng: np.random.Generator, rule: np.ndarray, band: np.ndarray):
    """Indicators inside the target band for the rule's indicators; loose values for the others."""
    n = len(rule)
    x = rng.integers(1, 50, n).astype(float)
    y = np.round(rng.uniform(10, 2000, n) * 2) / 2
    z = np.round(y * rng.uniform(0.3, 2.0, n) * 2) / 2
    vals = {"X": x, "Y": y, "Z": z}
    for name, spec in SCALE_RULES.items():
        m = np.flatnonzero(rule == name)
        if not len(m):
            continue
        b = band[m]
        for key, (lg, md, sm) in spec:
            lo = np.select([b == 3, b == 2, b == 1], [lg, md, sm], 0.0)
            hi = np.select([b == 3, b == 2, b == 1], [lg * 3, lg, md], sm)
            v = rng.uniform(lo, hi)
            if key == "X":
                v = np.floor(v)
                v = np.minimum(np.maximum(v, lo), np.maximum(hi - 1, lo))
            else:
                v = np.floor(v * 2) / 2
                v = np.where(v >= hi, hi - 0.5, v)
                v = np.maximum(v, lo)
            vals[key][m] = v
    return vals["X"], vals["Y"], vals["Z"]


def sweep_groups(entries: list[tuple[date, date, str]]) -> list[tuple[list[str], date, date]]:
    """Entries (start, end, task_key) of one enterprise -> groups of >= 2 (task_keys, common window)."""
    out = []
    cur: list[str] = []
    cs = ce = None
    for s, e, key in sorted(entries):
        if cur and s <= ce and e >= cs:
            cur.append(key)
            cs, ce = max(cs, s), min(ce, e)
            continue
        if len(cur) >= 2:
            out.append((sorted(cur), cs, ce))
        cur, cs, ce = [key], s, e
    if len(cur) >= 2:
        out.append((sorted(cur), cs, ce))
    return out
