"""The market regulators' item lists (抽查事项清单) and yearly plans (年度抽查工作计划).

A few real lines of an SAMR 随机抽查事项清单 per agency, and two plans each, valid
against docs/contract.md §6: every plan names items of its own agency's list, its
ratios lie in [0, 1] (written as percents and fractions), and its seed commitment
is the SHA-256 of ``demo_seed(year)``.

The 鼓楼 district's health bureau (卫健局) joins the food-safety coordination group
with one plan over the district's food enterprises, in a window that intersects the
district market regulator's food plan: drawn with the same seed over the same scope,
its sample holds the regulator's (larger ratios), so the demo shows planned joint
inspections (docs/draws.md).
"""

from __future__ import annotations

import hashlib
from datetime import date

from .feeds import Landing, headers_for

ITEM_COLS = ["item_code", "item_name", "category", "basis", "method", "sectors", "categories", "entity_kinds",
             "carrier", "key_supervision_only"]
PLAN_COLS = ["task_id", "task_name", "items", "window_start", "window_end", "ratio_a", "ratio_b", "ratio_c", "ratio_d",
             "ratio_none", "coordination", "seed_sha256"]

ITEMS = [
    # item_code, item_name, category, basis, method, sectors, categories, entity_kinds, carrier, key_supervision_only
    ("SP-01", "食品销售者的检查", "重点检查事项", "《中华人民共和国食品安全法》", "现场检查", None, "食品", None, None, None),
    ("TZ-01", "特种设备使用单位的检查", "重点检查事项", "《中华人民共和国特种设备安全法》", "现场检查", None, "特种设备", None, None, "是"),
    ("WL-01", "网络交易平台经营者的检查", "一般检查事项", "《中华人民共和国电子商务法》", "网络监测、书面检查", None, None, "企业",
     "线上", None),
    ("GS-01", "企业公示信息的检查", "一般检查事项", "《企业信息公示暂行条例》", "书面检查、实地核查", None, None, "企业、分支机构", None, "否"),
    ("GY-01", "重点工业产品生产企业的检查", "重点检查事项", "《中华人民共和国产品质量法》", "现场检查、抽样检验", "C", "工业产品", None,
     None, None),
]

AGENCIES = {"samr-350102": ("JH", "alias1"), "samr-350103": ("TJJH", "canonical")}
"""Each market regulator's task-id prefix and the header style of its files."""


def demo_seed(year: int) -> str:
    """The demo's draw seed. For the demo only: it is written here for anyone to read,
    where a real seed is fixed in public after the plans committed to its SHA-256."""
    return f"ssj-demo-{year}"


def plan_rows(prefix: str, year: int) -> list[tuple]:
    commitment = hashlib.sha256(demo_seed(year).encode("utf-8")).hexdigest()
    return [
        (f"{prefix}{year}-01", f"{year}年度食品销售者双随机抽查", "SP-01", f"{year}-03-01", f"{year}/5/31",
         "3%", "5%", "10%", "20%", None, "城区食品安全联合抽查", commitment),
        (f"{prefix}{year}-02", f"{year}年度特种设备和网络交易抽查", "TZ-01、WL-01", f"{year}-06-01", f"{year}-08-31",
         "0.02", "0.05", None, None, None, None, commitment),
    ]


FOOD_PARTNER = "wjw-350102"
"""The agency whose food-safety plan is coordinated with the market regulators' (the 鼓楼 district, as
samr-350102)."""
FOOD_PARTNER_ITEMS = [
    ("WS-01", "食品安全企业标准执行情况的检查", "一般检查事项", "《中华人民共和国食品安全法》", "现场检查", None, "食品", None, None,
     None),
]


def partner_plan_rows(year: int) -> list[tuple]:
    commitment = hashlib.sha256(demo_seed(year).encode("utf-8")).hexdigest()
    return [(f"WJJH{year}-01", f"{year}年度食品安全标准联合抽查", "WS-01", f"{year}-04-15", f"{year}-06-30",
             "10%", "10%", "20%", "30%", "10%", "城区食品安全联合抽查", commitment)]


def write_items_and_plans(land: Landing, as_of: date) -> None:
    """One items file and one plans file per market regulator and for the food partner, for the year
    of ``as_of``."""
    lists = [(agency, style, ITEMS, plan_rows(prefix, as_of.year)) for agency, (prefix, style) in AGENCIES.items()]
    lists.append((FOOD_PARTNER, "canonical", FOOD_PARTNER_ITEMS, partner_plan_rows(as_of.year)))
    for agency, style, items, rows in lists:
        land.write(agency, "items", "抽查事项清单.csv", "csv", headers_for("items", ITEM_COLS, style, land.rng),
                   [list(col) for col in zip(*items)], note="the agency's item list (一单)")
        land.write(agency, "plans", f"{as_of.year}年度抽查工作计划.csv", "csv",
                   headers_for("plans", PLAN_COLS, style, land.rng), [list(col) for col in zip(*rows)],
                   note="plans over the agency's own items; seed_sha256 commits to demo_seed(year)")
