"""The true world behind the generated feeds: enterprises, licences, credit
classifications, inspectors and draws, as canonical values (before any file
format, alias header or messy rendering is applied).

Everything is drawn from one ``numpy.random.Generator``; the order of draws is
fixed, so a seed fixes the world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import identifiers as ids
from . import names as nm
from .truth import classify_scale, sample_indicators, scale_rule

D = np.datetime64
REGIONS = np.array(["350102", "350103"])
SAMR = {"350102": "samr-350102", "350103": "samr-350103"}
ACTIVE_STATUSES = ["存续", "在业", "开业", "在营"]
INACTIVE_STATUSES = ["注销", "吊销", "撤销", "迁出"]
AUTHORITIES = {
    "350102": ["福州市鼓楼区市场监督管理局", "福州市鼓楼区工商行政管理局", "福州市市场监督管理局"],
    "350103": ["福州市台江区市场监督管理局", "福州市台江区工商行政管理局", "福州市市场监督管理局"],
}
LICENCE_CATEGORY = {
    "食品经营许可证": "food", "食品生产许可证": "food", "药品经营许可证": "drug", "药品生产许可证": "drug",
    "医疗器械经营许可证": "medical_device", "医疗器械生产许可证": "medical_device", "化妆品生产许可证": "cosmetic",
    "工业产品生产许可证": "industrial_product", "特种设备使用登记证": "special_equipment",
}
KEY_SUPERVISION = ("food", "drug", "medical_device", "cosmetic", "special_equipment", "industrial_product")
LICENCE_SCOPE = {
    "食品经营许可证": ["预包装食品销售(含冷藏冷冻食品)", "散装食品销售", "热食类食品制售", "冷食类食品制售", "糕点类食品制售"],
    "食品生产许可证": ["粮食加工品", "方便食品", "酒类", "糕点"],
    "药品经营许可证": ["中成药、化学药制剂、抗生素制剂", "生物制品(除疫苗)", "中药饮片"],
    "药品生产许可证": ["片剂、胶囊剂", "颗粒剂"],
    "医疗器械经营许可证": ["第三类医疗器械", "Ⅲ类:6815注射穿刺器械"],
    "医疗器械生产许可证": ["第二类医疗器械生产"],
    "化妆品生产许可证": ["一般液态单元(护发清洁类)", "膏霜乳液单元"],
    "工业产品生产许可证": ["危险化学品包装物、容器", "建筑用钢筋", "电线电缆"],
    "特种设备使用登记证": ["乘客电梯", "自动扶梯", "承压蒸汽锅炉", "固定式压力容器", "桥式起重机", "场(厂)内专用机动车辆"],
}
LICENCE_AGENCY = {  # who drops which licence type (others: the samr of the enterprise's region)
    "食品经营许可证": "xzsp-350100", "食品生产许可证": "xzsp-350100", "药品经营许可证": "xzsp-350100",
    "医疗器械经营许可证": "xzsp-350100", "化妆品生产许可证": "xzsp-350100",
}

# draw tasks: agency -> [(task_id, task_name, start, end, weight, items)]
TASKS = {
    "samr-350102": [
        ("GL2026-01", "2026年食品经营者双随机抽查", "2026-03-01", "2026-05-31", 0.35, ["食品经营者落实主体责任情况", "食品标签", "进货查验记录"]),
        ("GL2026-02", "2026年特种设备使用单位抽查", "2026-06-01", "2026-08-31", 0.15, ["特种设备使用登记", "定期检验", "作业人员持证"]),
        ("GL2026-03", "2026年企业公示信息抽查", "2026-04-15", "2026-07-15", 0.35, ["年报公示信息", "即时公示信息"]),
        ("GL2026-04", "2026年网络交易经营者抽查", "2026-09-01", "2026-11-30", 0.15, ["网店亮照亮证", "网络交易行为"]),
    ],
    "samr-350103": [
        ("TJ2026-01", "2026年第一批双随机抽查", "2026-02-15", "2026-04-30", 0.4, ["年报公示信息", "登记事项"]),
        ("TJ2026-02", "2026年第二批双随机抽查", "2026-05-01", "2026-07-31", 0.35, ["食品安全", "产品质量"]),
        ("TJ2026-03", "2026年第三批双随机抽查", "2026-08-01", "2026-10-31", 0.25, ["广告发布", "价格行为"]),
    ],
    "tax-350102": [
        ("SW2026-01", "2026年上半年税务随机抽查", "2026-04-01", "2026-06-30", 0.5, ["纳税申报", "发票使用"]),
        ("SW2026-02", "2026年下半年税务随机抽查", "2026-07-01", "2026-09-30", 0.5, ["纳税申报", "税收优惠"]),
    ],
    "eco-350100": [
        ("HB2026-01", "2026年排污单位双随机监管", "2026-03-15", "2026-06-15", 0.5, ["排污许可执行", "污染防治设施运行"]),
        ("HB2026-02", "2026年固体废物专项抽查", "2026-08-15", "2026-11-15", 0.5, ["危险废物管理", "固废台账"]),
    ],
    "yjj-350100": [
        ("YJ2026-01", "2026年安全生产执法抽查", "2026-05-01", "2026-06-30", 0.5, ["安全生产责任制", "应急预案"]),
        ("YJ2026-02", "2026年冬季安全检查", "2026-09-15", "2026-12-15", 0.5, ["消防安全", "隐患排查"]),
    ],
    "wjw-350100": [
        ("WJ2026-01", "2026年公共场所卫生抽查", "2026-04-01", "2026-05-31", 0.5, ["卫生许可", "从业人员健康证明"]),
        ("WJ2026-02", "2026年职业卫生抽查", "2026-10-01", "2026-12-31", 0.5, ["职业病危害因素检测", "职业健康检查"]),
    ],
}
REDRAW = ("wjw-350100", "WJ2026-01", "2026-04-15", "2026-06-15")  # the task re-drawn in a later file


def rand_dates(rng, lo: str, hi: str, n: int) -> np.ndarray:
    a, b = D(lo, "D"), D(hi, "D")
    return a + rng.integers(0, int((b - a).astype(int)) + 1, n).astype("timedelta64[D]")


@dataclass
class World:
    n: int
    seed: int
    as_of: date
    ent: pd.DataFrame            # one row per generated registration record (incl. error-only ones)
    updates: pd.DataFrame        # later re-registrations (full records)
    pool: pd.DataFrame           # true enterprises after the latest version (no error-only ones)
    licences: pd.DataFrame       # every approval row (incl. later versions)
    credit: pd.DataFrame         # every credit row
    inspectors: pd.DataFrame     # every inspector row (incl. later versions, invalid ids)
    draws: pd.DataFrame          # every draw row (incl. planted errors and superseded rows)
    planted: dict = field(default_factory=dict)


# =========================================================================== enterprises
def _names(rng, kind, region, ind, legal_rep, brand_len=2):
    n = len(kind)
    words = np.array([x[1] for x in nm.INDUSTRIES])[ind]
    codes = np.array([x[0] for x in nm.INDUSTRIES])[ind]
    prefix = np.empty(n, dtype=object)
    for r in ("350102", "350103"):
        m = region == r
        prefix[m] = nm.pick(rng, nm.REGION_PREFIX[r], int(m.sum()))
    prefix = prefix.astype(str)
    b = nm.brand(rng, n, brand_len)
    u = rng.random(n)
    b = np.where(u < 0.03, nm.cat(nm.pick(rng, nm.LATIN_BRANDS, n), nm.brand(rng, n, 1)), b)
    suffix = nm.pick(rng, ["有限公司", "有限责任公司", "股份有限公司"], n, p=[0.7, 0.18, 0.12])
    form_b = (u >= 0.03) & (u < 0.10)
    ent_name = np.where(form_b, nm.cat(b, nm.pick(rng, nm.BRACKET_REGIONS, n), words, suffix), nm.cat(prefix, b, words, suffix))
    district = np.array([nm.DISTRICT.get(r, "") for r in region])
    shop = np.full(n, "店", dtype=object)
    code2 = np.array([c[:2] for c in codes]) if n else np.array([], str)
    for pfx, words_ in nm.SHOP_WORDS.items():
        m = code2 == pfx
        shop[m] = nm.pick(rng, words_, int(m.sum()))
    shop = shop.astype(str)
    who = np.where(rng.random(n) < 0.6, b, legal_rep)
    indiv = nm.cat("福州市", district, who, shop)
    coop = nm.cat("福州市", district, b, nm.pick(rng, nm.COOP_WORDS, n))
    other_s = nm.cat("福州市", district, b, words, "商会")
    other_t = nm.cat(nm.pick(rng, nm.LATIN_BRANDS, n), b, "国际交流基金会福州代表处")
    out = np.select(
        [kind == "individual_business", kind == "farmer_coop", (kind == "other") & (codes == "9700"), kind == "other"],
        [indiv, coop, other_t, other_s], ent_name)
    return out.astype(object), suffix


def fold_name(s: pd.Series) -> pd.Series:
    """The strongest fold a name matcher might use: brackets dropped, 有限责任公司 -> 有限公司."""
    return s.str.replace("有限责任公司", "有限公司", regex=False).str.replace(r"[()（）\s]", "", regex=True)


def _dedupe(rng, names, kind, region, ind, legal_rep, suffix, taken: set[str] | None = None):
    names = np.asarray(names, dtype=object).copy()
    folded = fold_name(pd.Series(names, dtype=object)).to_numpy(dtype=object).copy()
    taken = taken or set()
    for attempt in range(20):
        f = pd.Series(folded, dtype=object)
        dup = f.duplicated(keep="first").to_numpy().copy()
        if taken:
            dup |= f.isin(taken).to_numpy()
        if not dup.any():
            return names
        idx = np.flatnonzero(dup)
        new, _ = _names(rng, kind[idx], region[idx], ind[idx], legal_rep[idx], brand_len=3 + attempt // 3)
        names[idx] = new
        folded[idx] = fold_name(pd.Series(new, dtype=object)).to_numpy(dtype=object)
    raise RuntimeError("could not make unique names")


def build_enterprises(rng, n: int):
    region = np.where(rng.random(n) < 0.55, "350102", "350103")
    u = rng.random(n)
    kind = np.select([u < 0.10, u < 0.12, u < 0.15], ["individual_business", "farmer_coop", "branch"], "enterprise").astype(object)
    codes_all = np.array([x[0] for x in nm.INDUSTRIES])
    w = np.array([x[4] for x in nm.INDUSTRIES])
    ind = rng.choice(len(nm.INDUSTRIES), n, p=w / w.sum())
    indiv_pool = np.flatnonzero(np.isin(np.array([c[:2] for c in codes_all]), list(nm.SHOP_WORDS)))
    ind = np.where(kind == "individual_business", indiv_pool[rng.integers(0, len(indiv_pool), n)], ind)
    agri = np.flatnonzero(np.array([c[:2] in ("01", "03", "04", "05") for c in codes_all]))
    ind = np.where(kind == "farmer_coop", agri[rng.integers(0, len(agri), n)], ind)
    is_st = np.isin(codes_all[ind], ["9521", "9700"])
    kind = np.where(is_st, "other", kind).astype(object)
    kind = np.where((kind == "other") & ~is_st, "enterprise", kind).astype(object)
    # every sector letter A–T appears at least once
    sectors = np.array([nm.sector_of(c) for c in codes_all])
    forced = []
    cand = np.flatnonzero(kind == "enterprise")
    rng.shuffle(cand)
    ci = 0
    for letter in "ABCDEFGHIJKLMNOPQRST":
        if not (sectors[ind] == letter).any():
            i = cand[ci]; ci += 1
            choices = np.flatnonzero(sectors == letter)
            ind[i] = choices[0]
            if letter in "ST":
                kind[i] = "other"
            forced.append(i)
    # ST always in 'other' kind with a non-9 USCC; make sure both exist even if drawn as above
    code4 = codes_all[ind]
    legal_rep = nm.person_names(rng, n)
    names, suffix = _names(rng, kind, region, ind, legal_rep)
    names = _dedupe(rng, names, kind, region, ind, legal_rep, suffix)
    # branches: parent enterprise name + place + 分公司 (or 营业部 / 办事处, delivered with
    # 企业类型 blank: the name alone says branch), own USCC, parent's industry
    br = np.flatnonzero(kind == "branch")
    parents = np.flatnonzero(kind == "enterprise")
    untyped_branch = np.zeros(n, dtype=bool)
    if len(br):
        par = rng.choice(parents, size=min(len(br), len(parents)), replace=False)
        br = br[: len(par)]
        ind[br] = ind[par]
        branch_word = nm.pick(rng, ["分公司", "营业部", "办事处"], len(br), p=[0.8, 0.1, 0.1])
        names[br] = nm.cat(names[par].astype(str), nm.pick(rng, nm.BRANCH_PLACES, len(br)), branch_word)
        untyped_branch[br] = branch_word != "分公司"
        kind[(kind == "branch")] = "branch"
        left = np.setdiff1d(np.flatnonzero(kind == "branch"), br)
        kind[left] = "enterprise"
    code4 = codes_all[ind]
    assert not fold_name(pd.Series(names)).duplicated().any()

    # identifiers
    legacy = (rng.random(n) < 0.10) & (kind != "other") & (kind != "branch")
    dept = np.select([code4 == "9700", code4 == "9521"], ["Y", "5"], "9")
    ktype = np.select([kind == "individual_business", kind == "farmer_coop"], ["2", "3"], "1")
    reg_region = np.where(rng.random(n) < 0.8, region, "350100").astype(int)
    org = rng.choice(10**8, n, replace=False)
    uscc = ids.make_uscc(dept, ktype, reg_region, org).astype(object)
    uscc[legacy] = ""
    has_reg = legacy | ((rng.random(n) < 0.15) & (dept == "9"))
    reg = ids.make_reg_no(reg_region, rng.choice(10**8, n, replace=False)).astype(object)
    reg[~has_reg] = ""

    est = np.where(legacy, rand_dates(rng, "1995-01-01", "2014-09-30", n), rand_dates(rng, "2005-01-01", "2026-10-31", n))
    est = np.where(has_reg & ~legacy, rand_dates(rng, "2000-01-01", "2015-09-30", n), est)
    active = rng.random(n) < 0.92
    status = np.where(active, nm.pick(rng, ACTIVE_STATUSES, n, p=[0.5, 0.35, 0.1, 0.05]),
                      nm.pick(rng, INACTIVE_STATUSES, n, p=[0.6, 0.35, 0.03, 0.02])).astype(object)
    etype = np.select(
        [kind == "individual_business", kind == "farmer_coop", kind == "branch", kind == "other",
         suffix == "股份有限公司"],
        ["个体工商户", "农民专业合作社", "有限责任公司分公司(自然人投资或控股)", np.where(code4 == "9700", "外国(地区)组织常驻代表机构", "社会团体"),
         "股份有限公司(非上市、自然人投资或控股)"],
        nm.pick(rng, ["有限责任公司(自然人投资或控股)", "有限责任公司(自然人独资)", "有限责任公司(法人独资)"], n)).astype(object)
    etype[untyped_branch & (kind == "branch")] = ""

    # scale indicators
    rule = np.array([scale_rule(c) for c in codes_all])[ind]
    band = np.where(kind == "individual_business", rng.choice(2, n, p=[0.9, 0.1]), rng.choice(4, n, p=[0.55, 0.28, 0.12, 0.05]))
    x, y, z = sample_indicators(rng, rule, band)
    missing = rng.random(n) < 0.08
    x[missing] = np.nan; y[missing] = np.nan; z[missing] = np.nan
    cap = nm.pick(rng, [10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000, 100.5, 1000.5], n).astype(float)
    cap = np.where(kind == "individual_business", np.where(rng.random(n) < 0.6, np.nan, rng.integers(1, 50, n)), cap)
    cap = np.where(kind == "branch", np.nan, cap)

    # premises / online
    online_code = np.isin(code4, ["5292", "6432"])
    no_premises = (online_code & (rng.random(n) < 0.3)) | ((kind == "individual_business") & (rng.random(n) < 0.03))
    scope_online = (rng.random(n) < 0.10) | (no_premises & ~online_code)
    scope = nm.scopes(rng, ind, scope_online).astype(object)
    address = nm.addresses(rng, region).astype(object)
    address[no_premises] = ""
    flag_given = rng.random(n) < 0.45
    online_flag = np.where(flag_given, np.where(rng.random(n) < 0.2, True, False), None).astype(object)
    online_flag[flag_given & no_premises] = True
    upd = rand_dates(rng, "2024-01-01", "2026-10-31", n)
    upd = np.maximum(upd, est)
    authority = np.empty(n, dtype=object)
    for r in ("350102", "350103"):
        m = region == r
        authority[m] = nm.pick(rng, AUTHORITIES[r], int(m.sum()))
    form = rng.choice(4, n, p=[0.4, 0.3, 0.15, 0.15])
    lead0 = np.array([c[0] == "0" for c in code4])
    sec = sectors[ind]
    form = np.where(lead0 & (form == 3), 0, form)        # '511' would read as 批发 511: never drop a leading zero here
    # K needs 701/702/…, 591 (装卸搬运, 交通运输业) its 中类 to tell it from 59 仓储业
    form = np.where(((sec == "K") | (np.array([c[:3] for c in code4]) == "591")) & (form == 2), 3, form)
    raw = np.select([form == 0, form == 1, form == 2], [code4, nm.cat(sec, code4), nm.cat(sec, np.array([c[:2] for c in code4]))],
                    np.array([c[:3] for c in code4])).astype(object)
    norm = np.select([form == 2, form == 3], [nm.cat(sec, np.array([c[:2] for c in code4])), nm.cat(sec, np.array([c[:3] for c in code4]))],
                     nm.cat(sec, code4)).astype(object)
    return pd.DataFrame({
        "idx": np.arange(n), "industry_code_raw": raw, "industry_code": norm, "agency": np.where(region == "350102", "samr-350102", "samr-350103"), "region_code": region,
        "kind": kind, "ind": ind, "code4": code4, "sector": sectors[ind], "scale_rule": rule,
        "uscc": uscc, "reg_no": reg, "name": names, "entity_type": etype, "legal_rep": legal_rep.astype(object),
        "reg_capital": cap, "established_on": est, "status": status, "address": address, "authority": authority,
        "business_scope": scope, "employees": x, "revenue": y, "total_assets": z, "online_shop": online_flag,
        "updated_at": upd, "forced": np.isin(np.arange(n), forced), "error": "",
    })


# =========================================================================== the world
def build_world(n: int, seed: int, as_of: date) -> World:
    if n < 200:
        raise ValueError("generate needs at least 200 enterprises to plant every case")
    rng = np.random.default_rng(seed)
    ent = build_enterprises(rng, n)
    ent["uscc_given"] = ent["uscc"]  # what the file carries (may be corrupted)
    asof = D(as_of.isoformat(), "D")

    # ---- planted registration errors (error-only records; never part of the pool)
    free = np.flatnonzero((~ent["forced"]) & ent["kind"].isin(["enterprise", "individual_business"]).to_numpy())
    rng.shuffle(free)
    k_uscc, k_date, k_name = max(2, round(0.005 * n)), max(2, round(0.001 * n)), max(2, round(0.0003 * n))
    u_arr, r_arr = ent["uscc"].to_numpy(dtype=object), ent["reg_no"].to_numpy(dtype=object)
    holders = free[(u_arr[free] != "") & (r_arr[free] == "")]
    e_uscc = holders[:k_uscc]
    rest = np.setdiff1d(free, e_uscc)
    rest = rest[rng.permutation(len(rest))]
    e_date, e_name = rest[:k_date], rest[k_date:k_date + k_name]
    ent.loc[e_uscc, "error"] = "invalid_uscc"
    ent.loc[e_uscc, "uscc_given"] = ids.corrupt_uscc(ent.loc[e_uscc, "uscc"].to_numpy(str), rng)
    ent.loc[e_date, "error"] = "invalid_date"
    ent.loc[e_name, "error"] = "missing_name"
    is_err = ent["error"] != ""

    # ---- planted enterprises for draws / matching (active, with USCC, clean)
    ok = (~is_err) & (~ent["forced"]) & (ent["kind"] == "enterprise") & (ent["uscc"] != "")
    taken: set[int] = set()

    def take(mask, count=1):
        c = np.flatnonzero(ok & mask & ~ent["idx"].isin(list(taken)))
        got = [int(i) for i in rng.choice(c, size=count, replace=False)]
        taken.update(got)
        return got

    r102, r103 = ent["region_code"] == "350102", ent["region_code"] == "350103"
    bracket = ent["name"].str.contains("(", regex=False)
    e1 = take(r102 & bracket)[0] if (ok & r102 & bracket).any() else take(r102)[0]
    if "(" not in ent.at[e1, "name"]:
        ent.at[e1, "name"] = ent.at[e1, "name"].replace("有限", "(福建)有限", 1)
    planted = {"triple": e1, "internal": take(r102)[0], "adjacent_same_agency": take(r103)[0],
               "adjacent_cross_agency": take(r102)[0], "redraw_removed": take(r102)[0],
               "inactive_drawn": take(r102)[0], "mismatch_row": take(r103)[0], "window_error_row": take(r102 | r103)[0]}
    ent.loc[[v for k, v in planted.items() if k != "inactive_drawn"], "status"] = "存续"
    ent.at[planted["inactive_drawn"], "status"] = "注销"
    # ambiguous pairs: the same name registered in both districts
    k_amb = 3 if n >= 2000 else 2
    amb = []
    for _ in range(k_amb):
        a, b = take(r102)[0], take(r103)[0]
        ent.at[b, "name"] = ent.at[a, "name"]
        ent.loc[[a, b], "status"] = "存续"
        amb.append((a, b))
    planted["ambiguous_pairs"] = amb

    # ---- later re-registrations (~1 %): name or status changes; ~10 % are stale (older updated_at)
    cand = np.flatnonzero((~is_err) & (~ent["forced"]) & (ent["kind"] != "other") & ~ent["idx"].isin(list(taken)))
    k_up = max(5, round(0.01 * n))
    up = np.sort(rng.choice(cand, size=k_up, replace=False))
    up_df = ent.loc[up].copy()
    change_name = (up_df["kind"] == "enterprise").to_numpy() & (rng.random(k_up) < 0.4)
    stale = rng.random(k_up) < 0.10
    stale[0] = True
    stale[1] = False
    # at least three renames that take effect: their earlier names are former names to draw by
    unrenamed = np.flatnonzero((up_df["kind"] == "enterprise").to_numpy() & ~stale & ~change_name)
    change_name[unrenamed[:max(0, 3 - int((change_name & ~stale).sum()))]] = True
    # new names for renamed enterprises, unique against every name in the world
    ridx = np.flatnonzero(change_name)
    if len(ridx):
        nn, suf = _names(rng, up_df["kind"].to_numpy()[ridx], up_df["region_code"].to_numpy()[ridx],
                         up_df["ind"].to_numpy()[ridx], up_df["legal_rep"].to_numpy()[ridx])
        nn = _dedupe(rng, nn, up_df["kind"].to_numpy()[ridx], up_df["region_code"].to_numpy()[ridx],
                     up_df["ind"].to_numpy()[ridx], up_df["legal_rep"].to_numpy()[ridx], suf,
                     taken=set(fold_name(ent["name"])))
        up_df.iloc[ridx, up_df.columns.get_loc("name")] = nn
    new_status = np.where(up_df["status"].isin(ACTIVE_STATUSES), nm.pick(rng, ["注销", "吊销"], k_up), "存续")
    up_df["status"] = np.where(change_name & (rng.random(k_up) < 0.7), up_df["status"], new_status)
    up_df["former_name"] = np.where(change_name, ent.loc[up, "name"].to_numpy(dtype=object), None)
    newer = rand_dates(rng, "2026-11-02", "2026-11-20", k_up)
    older = up_df["updated_at"].to_numpy() - rng.integers(30, 300, k_up).astype("timedelta64[D]")
    up_df["updated_at"] = np.where(stale, older, newer)
    up_df["stale"] = stale
    up_df["error"] = ""

    # ---- the pool: latest version per key
    pool = ent.loc[~is_err].copy()
    eff = up_df.loc[~up_df["stale"]]
    for col in ("name", "status", "updated_at"):
        pool.loc[eff.index, col] = eff[col]
    pool["enterprise_id"] = np.where(pool["uscc"] != "", pool["uscc"], "R" + pool["reg_no"].astype(str))
    pool["is_active"] = pool["status"].isin(ACTIVE_STATUSES)
    pool["scale"] = classify_scale(pool["scale_rule"].to_numpy(), pool["employees"].to_numpy(float),
                                   pool["revenue"].to_numpy(float), pool["total_assets"].to_numpy(float))
    pool.loc[pool["sector"] == "J", "scale"] = "unknown"
    name_counts = pool["name"].map(pool["name"].value_counts())
    pool["name_unique"] = name_counts == 1

    lic = build_licences(rng, pool, planted, asof)
    credit = build_credit(rng, pool)
    insp = build_inspectors(rng, n, asof)
    draws = build_draws(rng, pool, planted, ent, up_df)
    return World(n=n, seed=seed, as_of=as_of, ent=ent, updates=up_df, pool=pool, licences=lic, credit=credit,
                 inspectors=insp, draws=draws, planted=planted)


# =========================================================================== approval
def build_licences(rng, pool: pd.DataFrame, planted, asof) -> pd.DataFrame:
    types_of = [x[3] for x in nm.INDUSTRIES]
    n = len(pool)
    has_types = np.array([len(types_of[i]) > 0 for i in pool["ind"]])
    p = np.where(has_types, 0.75, 0.12)
    holder = rng.random(n) < p
    rows = []
    pidx = np.flatnonzero(holder)
    ind = pool["ind"].to_numpy()
    r1 = rng.random(n)
    r2 = rng.random(n)
    for i in pidx:
        t = types_of[ind[i]]
        if not t:
            t = ("特种设备使用登记证",) if r1[i] < 0.6 else ("食品经营许可证",)
        first = t[int(r1[i] * len(t)) % len(t)]
        rows.append((i, first))
        if len(t) > 1 and r2[i] < 0.25:
            second = t[(int(r1[i] * len(t)) + 1) % len(t)]
            rows.append((i, second))
    li = np.array([r[0] for r in rows], dtype=int)
    ltype = np.array([r[1] for r in rows], dtype=object)
    m = len(li)
    sub = pool.iloc[li]
    region = sub["region_code"].to_numpy()
    seq = np.zeros(m, dtype=int)
    for t in np.unique(ltype):
        mm = ltype == t
        seq[mm] = rng.permutation(int(mm.sum())) + 1
    year = rng.integers(2016, 2026, m)
    lno = np.empty(m, dtype=object)
    for j in range(m):
        t, r, s = ltype[j], region[j], seq[j]
        if t == "食品经营许可证":
            lno[j] = f"JY{1 + s % 3}{r}{s:07d}"
        elif t == "食品生产许可证":
            lno[j] = f"SC{106 + s % 20}{r}{s % 100000:05d}"
        elif t == "药品经营许可证":
            lno[j] = f"闽AA591{s:05d}"
        elif t == "药品生产许可证":
            lno[j] = f"闽{20160000 + s}"
        elif t == "医疗器械经营许可证":
            lno[j] = f"闽榕食药监械经营许{year[j]}{s:05d}号"
        elif t == "医疗器械生产许可证":
            lno[j] = f"闽食药监械生产许{year[j]}{s:04d}号"
        elif t == "化妆品生产许可证":
            lno[j] = f"闽妆{year[j]}{s:04d}"
        elif t == "工业产品生产许可证":  # every other one issued by the province: (闽)XK…
            lno[j] = f"{'(闽)' if s % 2 else ''}XK{6 + s % 20:02d}-{s % 997:03d}-{s:05d}"
        else:
            lno[j] = f"梯11闽A{s:05d}({year[j] % 100:02d})"
    assert len(set(lno)) == m
    vf = rand_dates(rng, "2021-06-01", "2026-10-01", m)
    years = np.where(ltype == "特种设备使用登记证", 10, 5)
    vfi = pd.DatetimeIndex(vf)
    vt = np.where(years == 10, (vfi + pd.DateOffset(years=10)).to_numpy("datetime64[D]"),
                  (vfi + pd.DateOffset(years=5)).to_numpy("datetime64[D]")) - np.timedelta64(1, "D")
    expired = rng.random(m) < 0.10
    vt = np.where(expired, asof - rng.integers(1, 600, m).astype("timedelta64[D]"), vt)
    vf = np.where(expired, vt - np.timedelta64(5 * 365, "D"), vf)
    # edge cases: valid through as_of exactly; not yet valid
    if m > 10:
        vt[0], vf[1] = asof, asof + np.timedelta64(1, "D")
    u = rng.random(m)
    status = np.select([u < 0.05, u < 0.06, expired & (u < 0.4), u < 0.28], ["注销", "吊销", "过期", ""], "有效").astype(object)
    upd = np.minimum(np.maximum(vf, rand_dates(rng, "2024-01-01", "2026-10-31", m)), D("2026-10-31"))
    name_only = (sub["uscc"].to_numpy() == "") | (rng.random(m) < 0.06)
    # a name-only row must name a unique enterprise; otherwise give the USCC (if any) or drop the row
    uniq = sub["name_unique"].to_numpy()
    name_only &= uniq | (sub["uscc"].to_numpy() == "")
    keep = uniq | (sub["uscc"].to_numpy() != "")
    agency = np.array([LICENCE_AGENCY.get(t, "") for t in ltype], dtype=object)
    agency = np.where(agency == "", np.array([SAMR[r] for r in region], dtype=object), agency)
    issuer = np.where(agency == "xzsp-350100", "福州市行政审批局",
                      np.where(region == "350102", "福州市鼓楼区市场监督管理局", "福州市台江区市场监督管理局"))
    scope = np.array([LICENCE_SCOPE[t][k % len(LICENCE_SCOPE[t])] for t, k in zip(ltype, rng.integers(0, 10, m))], dtype=object)
    df = pd.DataFrame({
        "agency": agency, "licence_type": ltype, "licence_no": lno, "valid_from": vf, "valid_to": vt, "issuer": issuer,
        "scope": scope, "status": status, "updated_at": upd,
        "uscc": np.where(name_only, "", sub["uscc"].to_numpy()), "name": sub["name"].to_numpy(),
        "true_enterprise_id": sub["enterprise_id"].to_numpy(), "match_method": np.where(name_only, "name", "uscc"),
        "version": 0, "region_code": region,
    })
    df = df.loc[keep].reset_index(drop=True)
    # ambiguous: name-only licences naming a shared name -> cannot be attributed
    amb_rows = []
    for k, (a, b) in enumerate(planted["ambiguous_pairs"]):
        amb_rows.append({"agency": "xzsp-350100", "licence_type": "食品经营许可证", "licence_no": f"JY2350100{9900000 + k:07d}",
                         "valid_from": D("2025-03-01"), "valid_to": D("2030-02-28"), "issuer": "福州市行政审批局",
                         "scope": "预包装食品销售(含冷藏冷冻食品)", "status": "有效", "updated_at": D("2025-03-01"),
                         "uscc": "", "name": pool.at[a, "name"], "true_enterprise_id": None, "match_method": "none",
                         "version": 0, "region_code": "350100"})
    df = pd.concat([df, pd.DataFrame(amb_rows)], ignore_index=True)
    # later versions: ~1 % of licences cancelled in a later file
    k = max(2, round(0.01 * len(df)))
    later = df.loc[rng.choice(np.flatnonzero(df["true_enterprise_id"].notna()), size=k, replace=False)].copy()
    later["status"] = "注销"
    later["updated_at"] = rand_dates(rng, "2026-11-05", "2026-11-20", k)
    later["version"] = 1
    return pd.concat([df, later], ignore_index=True)


# =========================================================================== credit
GRADE_WORDS = {"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}


def build_credit(rng, pool: pd.DataFrame) -> pd.DataFrame:
    holders = pool.loc[pool["uscc"] != ""]
    sel = holders.loc[rng.random(len(holders)) < 0.8]
    m = len(sel)
    grade = nm.pick(rng, list("ABCD"), m, p=[0.55, 0.3, 0.12, 0.03])
    on = rand_dates(rng, "2025-06-01", "2026-10-31", m)
    base = pd.DataFrame({"uscc": sel["uscc"].to_numpy(), "name": sel["name"].to_numpy(), "agency": sel["agency"].to_numpy(),
                         "grade": grade, "domain": "", "classified_on": on})
    # a second general classification for ~15 %: a different date (older or newer) and maybe grade
    two = rng.random(m) < 0.15
    second = base.loc[two].copy()
    shift = rng.integers(20, 200, len(second)) * np.where(rng.random(len(second)) < 0.5, -1, 1)
    second["classified_on"] = second["classified_on"].to_numpy() + shift.astype("timedelta64[D]")
    second["grade"] = nm.pick(rng, list("ABCD"), len(second), p=[0.4, 0.35, 0.2, 0.05])
    # domain classifications for some: 食品 / 特种设备 (never the general grade)
    dom = base.loc[rng.random(m) < 0.06].copy()
    dom["domain"] = nm.pick(rng, ["食品", "特种设备"], len(dom))
    dom["grade"] = nm.pick(rng, list("ABCD"), len(dom))
    out = pd.concat([base, second, dom], ignore_index=True)
    out["score"] = np.select([out["grade"] == "A", out["grade"] == "B", out["grade"] == "C"],
                             [rng.integers(85, 100, len(out)), rng.integers(70, 85, len(out)), rng.integers(55, 70, len(out))],
                             rng.integers(20, 55, len(out)))
    return out


# =========================================================================== inspectors
def build_inspectors(rng, n: int, asof) -> pd.DataFrame:
    m = max(50, n // 200)
    region = np.where(rng.random(m) < 0.6, "350102", "350103")
    birth = rand_dates(rng, "1965-01-01", "1999-12-31", m)
    bnum = pd.to_datetime(birth).strftime("%Y%m%d").astype(int).to_numpy()
    id_region = nm.pick(rng, ["350102", "350103", "350104", "350105", "350111", "350121", "350181", "352201", "350583"], m,
                        p=[0.3, 0.2, 0.1, 0.1, 0.05, 0.05, 0.08, 0.07, 0.05]).astype(int)
    id_no = ids.make_id_no(id_region, bnum, rng.integers(0, 1000, m)).astype(object)
    bad = np.zeros(m, dtype=bool)
    bad[rng.choice(m, size=max(2, m // 100), replace=False)] = True
    id_no[bad] = ids.corrupt_id_no(id_no[bad].astype(str), rng)
    unit = np.empty(m, dtype=object)
    for r in ("350102", "350103"):
        mm = region == r
        unit[mm] = nm.pick(rng, nm.STATIONS[r], int(mm.sum()))
    quals = [rng.choice(nm.QUALIFICATIONS, size=k, replace=False).tolist() for k in rng.integers(1, 5, m)]
    specs = [rng.choice(nm.SPECIALTIES, size=k, replace=False).tolist() for k in rng.integers(0, 4, m)]
    valid_to = np.where(rng.random(m) < 0.08, rand_dates(rng, "2024-01-01", "2026-11-25", m),
                        rand_dates(rng, "2026-11-26", "2031-12-31", m))
    status = nm.pick(rng, ["在岗", "退休", "调离", "离岗", "暂扣"], m, p=[0.88, 0.04, 0.04, 0.02, 0.02]).astype(object)
    df = pd.DataFrame({
        "cert_no": [f"FJ{r[2:]}{i:06d}" for r, i in zip(region, rng.permutation(m) + 1)],
        "name": nm.person_names(rng, m).astype(object), "id_no": id_no, "id_invalid": bad,
        "agency_name": np.where(region == "350102", "福州市鼓楼区市场监督管理局", "福州市台江区市场监督管理局"),
        "unit": unit, "region_code": region, "qualifications": quals, "specialties": specs,
        "cert_valid_to": valid_to, "status": status, "updated_at": rand_dates(rng, "2026-01-01", "2026-10-31", m), "version": 0,
    })
    k = max(1, m // 50)
    later = df.loc[rng.choice(np.flatnonzero(~bad), size=k, replace=False)].copy()
    later["status"] = nm.pick(rng, ["调离", "退休"], k)
    later["updated_at"] = rand_dates(rng, "2026-11-01", "2026-11-20", k)
    later["version"] = 1
    return pd.concat([df, later], ignore_index=True)


# =========================================================================== draws
def build_draws(rng, pool: pd.DataFrame, planted: dict, ent: pd.DataFrame, updates: pd.DataFrame) -> pd.DataFrame:
    rows = []
    excluded = set(planted[k] for k in planted if k != "ambiguous_pairs")
    for a, b in planted["ambiguous_pairs"]:
        excluded.update((a, b))
    active = pool.loc[pool["is_active"] & ~pool.index.isin(list(excluded))]
    task_info = {(ag, t[0]): t for ag, ts in TASKS.items() for t in ts}

    def row(agency, task, i, *, by="uscc", name=None, address="", version=0, window=None, declared=None, note=""):
        t = task_info[(agency, task)]
        ws, we = window or (t[2], t[3])
        e = pool.loc[i] if i is not None else None
        rows.append({
            "agency": agency, "task_id": task, "task_name": t[1], "items": t[5], "window_start": D(ws), "window_end": D(we),
            "uscc": e["uscc"] if (e is not None and by == "uscc") else "",
            "name": name if name is not None else (e["name"] if e is not None else ""),
            "address": address, "pool_idx": -1 if i is None else int(i), "by": by, "version": version,
            "declared": declared, "note": note,
        })

    p_uscc = pool["uscc"].to_numpy(dtype=object)
    p_name = pool["name"].to_numpy(dtype=object)
    p_addr = pool["address"].to_numpy(dtype=object)
    p_pos = pd.Index(pool.index)
    frames = []
    for agency, tasks in TASKS.items():
        if agency.startswith("samr-") or agency == "tax-350102":
            reg = "350103" if agency == "samr-350103" else "350102"
            cand = active.loc[active["region_code"] == reg]
        else:
            cand = active
        k = max(3, round(0.05 * len(cand)))
        chosen = rng.choice(cand.index.to_numpy(), size=min(k, len(cand)), replace=False)
        w = np.array([t[4] for t in tasks])
        tix = rng.choice(len(tasks), size=len(chosen), p=w / w.sum())
        second = rng.random(len(chosen)) < 0.03
        pos = p_pos.get_indexer(chosen)
        by_name = (p_uscc[pos] == "") | (rng.random(len(chosen)) < 0.05)
        with_addr = rng.random(len(chosen)) < 0.5
        t2 = (tix + 1) % len(tasks)
        sel = np.concatenate([np.arange(len(chosen)), np.flatnonzero(second & (len(tasks) > 1))])
        tsel = np.concatenate([tix, t2[second & (len(tasks) > 1)]])
        ps = pos[sel]
        bn = by_name[sel]
        frames.append(pd.DataFrame({
            "agency": agency, "task_id": np.array([t[0] for t in tasks], dtype=object)[tsel],
            "task_name": np.array([t[1] for t in tasks], dtype=object)[tsel],
            "items": [tasks[t][5] for t in tsel],
            "window_start": np.array([D(t[2], "D") for t in tasks])[tsel], "window_end": np.array([D(t[3], "D") for t in tasks])[tsel],
            "uscc": np.where(bn, "", p_uscc[ps]).astype(object), "name": p_name[ps],
            "address": np.where(~bn & with_addr[sel], p_addr[ps], "").astype(object),
            "pool_idx": chosen[sel].astype(int), "by": np.where(bn, "name", "uscc").astype(object), "version": 0,
            "declared": None, "note": "",
        }))

    # ---- planted cases
    e1 = planted["triple"]
    row("samr-350102", "GL2026-03", e1, by="uscc", note="triple:uscc")
    row("tax-350102", "SW2026-01", e1, by="name", note="triple:name")
    row("eco-350100", "HB2026-01", e1, by="name", name=nm.to_fullwidth(np.array([pool.at[e1, "name"]]))[0], note="triple:fullwidth_name")
    e2 = planted["internal"]
    row("samr-350102", "GL2026-01", e2, note="internal")
    row("samr-350102", "GL2026-03", e2, note="internal")
    e3 = planted["adjacent_same_agency"]
    row("samr-350103", "TJ2026-01", e3, note="adjacent_same_agency")
    row("samr-350103", "TJ2026-02", e3, note="adjacent_same_agency")
    e4 = planted["adjacent_cross_agency"]
    row("yjj-350100", "YJ2026-01", e4, note="adjacent_cross_agency")
    row("tax-350102", "SW2026-02", e4, note="adjacent_cross_agency")
    e6 = planted["redraw_removed"]
    row("samr-350102", "GL2026-01", e6, note="redraw_removed")
    row("wjw-350100", "WJ2026-01", e6, note="redraw_removed")
    row("samr-350102", "GL2026-04", planted["inactive_drawn"], note="inactive")
    row("samr-350103", "TJ2026-03", planted["mismatch_row"], declared="samr-350102", note="agency_mismatch")
    row("eco-350100", "HB2026-01", planted["window_error_row"], window=("2026-06-10", "2026-03-20"), note="window_end_before_start")
    for k, (a, b) in enumerate(planted["ambiguous_pairs"]):
        if k == 0:
            row("eco-350100", "HB2026-02", a, by="name", note="ambiguous_name")
        elif k == 1:
            row("yjj-350100", "YJ2026-02", b, by="name", address=pool.at[b, "address"], note="name_address")
        else:
            row("wjw-350100", "WJ2026-02", a, by="name", address=pool.at[a, "address"], note="name_address")
    # the first pair's other enterprise, drawn by its name alone (ambiguous) by a city bureau: a
    # data steward's links row decides it (write_links; match_method steward, docs/matching.md)
    if planted["ambiguous_pairs"]:
        row("yjj-350100", "YJ2026-02", planted["ambiguous_pairs"][0][1], by="name", note="steward")
    # not in the pool: a valid USCC nobody registered
    known = set(ent["uscc"])
    body = 99999999
    while (fake := ids.make_uscc(np.array(["9"]), np.array(["1"]), np.array([350102]), np.array([body]))[0]) in known:
        body -= 1
    rows.append({"agency": "samr-350102", "task_id": "GL2026-03", "task_name": task_info[("samr-350102", "GL2026-03")][1],
                 "items": task_info[("samr-350102", "GL2026-03")][5], "window_start": D("2026-04-15"), "window_end": D("2026-07-15"),
                 "uscc": fake, "name": "福州市鼓楼区查无此企业贸易有限公司", "address": "", "pool_idx": -1, "by": "uscc",
                 "version": 0, "declared": None, "note": "not_in_pool"})
    # the same unregistered USCC drawn by a second agency in an overlapping window: the two
    # unresolved entries form one joint group keyed by the USCC (docs/contract.md §9)
    rows.append({**rows[-1], "agency": "tax-350102", "task_id": "SW2026-01",
                 "task_name": task_info[("tax-350102", "SW2026-01")][1], "items": task_info[("tax-350102", "SW2026-01")][5],
                 "window_start": D("2026-04-01"), "window_end": D("2026-06-30")})

    # ---- matching you can check (docs/matching.md): former names and planted mismatches, on
    # enterprises drawn nowhere else (so no two rows of one task name one enterprise)
    used = set(excluded) | {int(i) for f in frames for i in f["pool_idx"]}
    k_plant = 3 if len(pool) >= 2000 else 2

    def free(mask) -> list[int]:
        return [int(i) for i in pool.index[mask.to_numpy(dtype=bool) & ~pool.index.isin(list(used))]]

    def first_task(agency):
        return TASKS[agency][0][0]

    # renamed enterprises drawn by the name an earlier registration version carried
    renamed = updates.loc[updates["former_name"].notna() & ~updates["stale"]]
    former = [(int(i), nm_) for i, nm_ in zip(renamed["idx"], renamed["former_name"]) if int(i) not in used][:k_plant + 1]
    planted["former_name"] = [i for i, _ in former]
    for i, old_name in former:
        agency = SAMR[pool.at[i, "region_code"]]
        row(agency, first_task(agency), i, by="name", name=old_name, note="former_name")
        used.add(i)
    # the USCC of the neighbouring row: a row names enterprise j but carries the USCC of i,
    # the next enterprise of the register (resolved by the USCC, to i: name_mismatch)
    with_uscc = free(pool["is_active"] & (pool["uscc"] != "") & (pool["kind"] == "enterprise"))
    planted["name_mismatch"] = []
    for i, j in list(zip(with_uscc[::2], with_uscc[1::2]))[:k_plant]:
        agency = SAMR[pool.at[i, "region_code"]]
        row(agency, TASKS[agency][1][0], i, by="uscc", name=pool.at[j, "name"], note="name_mismatch")
        planted["name_mismatch"].append(i)
        used.update((i, j))
    # a name-only row whose address lies in the other district, on another road
    named = free(pool["is_active"] & pool["name_unique"] & (pool["address"] != "") & (pool["kind"] == "enterprise"))
    planted["address_mismatch"] = []
    for i in named[:k_plant]:
        other = "350103" if pool.at[i, "region_code"] == "350102" else "350102"
        roads = [r for r in nm.ROADS[other] if r not in pool.at[i, "address"]]
        address = f"福州市{nm.DISTRICT[other]}{roads[int(rng.integers(0, len(roads)))]}{int(rng.integers(1, 400))}号"
        row("eco-350100", "HB2026-02", i, by="name", address=address, note="address_mismatch")
        planted["address_mismatch"].append(i)
        used.add(i)
    # enterprises of 台江 drawn by 鼓楼's market regulator and tax bureau: out_of_region
    outside = free(pool["is_active"] & (pool["uscc"] != "") & (pool["region_code"] == "350103"))
    planted["out_of_region"] = []
    for i, agency in zip(outside, ["samr-350102", "tax-350102"]):
        row(agency, first_task(agency), i, by="uscc", note="out_of_region")
        planted["out_of_region"].append(i)
        used.add(i)
    df = pd.concat(frames + [pd.DataFrame(rows)], ignore_index=True)

    # ---- the re-drawn task: a later file replaces all its earlier rows (new window, some rows dropped/added)
    ag, task, ws, we = REDRAW
    old = df.loc[(df["agency"] == ag) & (df["task_id"] == task)]
    keep = old.loc[(old["note"] != "redraw_removed") & (rng.random(len(old)) < 0.8)].copy()
    drawn = set(old["pool_idx"])
    extra_c = active.index[~active.index.isin(list(drawn))].to_numpy()
    extra = rng.choice(extra_c, size=max(1, len(old) // 10), replace=False)
    new = pd.concat([keep, df.loc[[]]], ignore_index=True)
    add = []
    for i in extra:
        add.append({**old.iloc[0].to_dict(), "uscc": pool.at[i, "uscc"], "name": pool.at[i, "name"], "address": "",
                    "pool_idx": int(i), "by": "uscc" if pool.at[i, "uscc"] else "name", "note": ""})
    new = pd.concat([new, pd.DataFrame(add)], ignore_index=True)
    new["window_start"], new["window_end"], new["version"] = D(ws), D(we), 1
    return pd.concat([df, new], ignore_index=True)
