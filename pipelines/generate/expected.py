"""The ground truth: what a correct pipeline publishes for the generated landing zone.

Tables (``<out>/truth/``):
- enterprises.parquet        one row per true enterprise (latest version per key)
- licences.parquet           one row per licence_no (latest version) with its attribution
- inspectors.parquet         one row per accepted inspector (latest version), eligibility
- draw_truth.parquet         every draw row written: accepted?, current?, expected enterprise / method / flags / group
- joint_groups.parquet       the expected merge list (contract's sweep rule)
- quarantine_expected.parquet  every row that must be quarantined, with reason codes
- files.parquet              every file written and its expected ingest outcome
- summary.json               counts, the rules used (keyword tables), planted cases
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from . import names as nm
from .truth import sweep_groups
from .world import KEY_SUPERVISION, LICENCE_CATEGORY, REDRAW, TASKS

ELIGIBLE_STATUS = "在岗"


def _write(df: pd.DataFrame, path: Path, schema: pa.Schema | None = None) -> None:
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="snappy")


def _nfkc(s) -> str | None:
    if s is None or (isinstance(s, float) and np.isnan(s)) or s == "":
        return None
    return " ".join(unicodedata.normalize("NFKC", str(s)).split())


def build_truth(world, land, draws: pd.DataFrame, reg_where: dict, lic_where: pd.Series, tdir: Path) -> dict:
    tdir.mkdir(parents=True, exist_ok=True)
    as_of = np.datetime64(world.as_of.isoformat(), "D")
    pool = world.pool.copy()

    # ---------------------------------------------------------------- licences (latest version per licence_no)
    lic = world.licences.copy()
    lic["source_file"] = lic_where
    lic = lic.sort_values(["licence_no", "updated_at", "version"]).drop_duplicates("licence_no", keep="last")
    lic["category"] = lic["licence_type"].map(LICENCE_CATEGORY)
    lic["is_valid_on_as_of"] = (lic["status"].isin(["有效", ""]) & (lic["valid_from"] <= as_of) & (lic["valid_to"] >= as_of)
                                & lic["true_enterprise_id"].notna())
    valid = lic.loc[lic["is_valid_on_as_of"]]
    lic_cats = valid.groupby("true_enterprise_id")["category"].agg(lambda s: sorted(set(s)))
    lic_count = valid.groupby("true_enterprise_id").size()

    # ---------------------------------------------------------------- enterprises
    scope = pool["business_scope"].astype(str)
    scope_cats = [[] for _ in range(len(pool))]
    for cat, words in nm.SCOPE_KEYWORDS.items():
        hit = np.zeros(len(pool), dtype=bool)
        for w in words:
            hit |= scope.str.contains(w, regex=True).to_numpy()
        for i in np.flatnonzero(hit):
            scope_cats[i].append(cat)
    online_scope = np.zeros(len(pool), dtype=bool)
    for w in nm.ONLINE_KEYWORDS:
        online_scope |= scope.str.contains(w, regex=False).to_numpy()
    online = (pool["online_shop"].to_numpy(dtype=object) == True) | online_scope  # noqa: E712
    premises = pool["address"].astype(str).str.len().to_numpy() > 0
    carrier = np.where(online & premises, "online_offline", np.where(online, "online", "offline"))

    cr = world.credit
    general = cr.loc[cr["domain"] == ""].sort_values(["uscc", "classified_on"]).drop_duplicates("uscc", keep="last")
    grade = general.set_index("uscc")["grade"]

    eid = pool["enterprise_id"]
    lc = eid.map(lic_cats)
    lic_cat_list = [x if isinstance(x, list) else [] for x in lc]
    cats = [sorted(set(a) | set(b)) for a, b in zip(lic_cat_list, scope_cats)]
    ent = pd.DataFrame({
        "enterprise_id": eid.to_numpy(), "uscc": pool["uscc"].replace("", None).to_numpy(),
        "reg_no": pool["reg_no"].replace("", None).to_numpy(), "name": pool["name"].to_numpy(),
        "entity_kind": pool["kind"].to_numpy(), "status": pool["status"].to_numpy(), "is_active": pool["is_active"].to_numpy(),
        "region_code": pool["region_code"].to_numpy(), "industry_code": pool["industry_code"].to_numpy(),
        "industry_code_raw": pool["industry_code_raw"].to_numpy(), "sector": pool["sector"].to_numpy(),
        "scale": pool["scale"].to_numpy(),
        "employees": pool["employees"].to_numpy(float), "revenue": pool["revenue"].to_numpy(float),
        "total_assets": pool["total_assets"].to_numpy(float),
        "categories": cats, "categories_from_licences": lic_cat_list, "categories_from_scope": scope_cats,
        "licence_count": eid.map(lic_count).fillna(0).astype("int64").to_numpy(),
        "key_supervision": [bool(set(c) & set(KEY_SUPERVISION)) for c in cats],
        "sells_online": online, "has_premises": premises, "carrier": carrier,
        "credit_grade": pool["uscc"].map(grade).to_numpy(dtype=object),
        "agency": pool["agency"].to_numpy(), "source_file": pool["idx"].map(reg_where).to_numpy(),
    }).sort_values("enterprise_id", kind="stable").reset_index(drop=True)
    assert ent["enterprise_id"].is_unique
    _write(ent, tdir / "enterprises.parquet")

    lic_out = pd.DataFrame({
        "licence_no": lic["licence_no"], "licence_type": lic["licence_type"], "category": lic["category"],
        "agency": lic["agency"], "status": lic["status"].replace("", None), "valid_from": lic["valid_from"].dt.date,
        "valid_to": lic["valid_to"].dt.date, "enterprise_id": lic["true_enterprise_id"], "match_method": lic["match_method"],
        "is_valid_on_as_of": lic["is_valid_on_as_of"], "source_file": lic["source_file"],
    }).sort_values("licence_no").reset_index(drop=True)
    _write(lic_out, tdir / "licences.parquet")

    # ---------------------------------------------------------------- inspectors
    ins = world.inspectors.loc[~world.inspectors["id_invalid"]]
    ins = ins.sort_values(["cert_no", "updated_at", "version"]).drop_duplicates("cert_no", keep="last")
    expired = ins["cert_valid_to"].to_numpy() < as_of
    bad_status = ins["status"].to_numpy() != ELIGIBLE_STATUS
    ins_out = pd.DataFrame({
        "cert_no": ins["cert_no"], "name": ins["name"],
        "id_no_masked": ins["id_no"].str[:4] + "**********" + ins["id_no"].str[-4:],
        "agency_name": ins["agency_name"], "unit": ins["unit"], "region_code": ins["region_code"],
        "qualifications": ins["qualifications"], "specialties": ins["specialties"],
        "cert_valid_to": ins["cert_valid_to"].dt.date, "status": ins["status"],
        "is_eligible": ~expired & ~bad_status,
        "ineligible_reason": np.where(bad_status, "status", np.where(expired, "certificate_expired", None)),
    }).sort_values("cert_no").reset_index(drop=True)
    _write(ins_out, tdir / "inspectors.parquet")

    # ---------------------------------------------------------------- draws
    d = draws.copy()
    note = d["note"].to_numpy()
    accepted = ~np.isin(note, ["window_end_before_start", "agency_mismatch"])
    superseded = (d["agency"] == REDRAW[0]).to_numpy() & (d["task_id"] == REDRAW[1]).to_numpy() & (d["version"] == 0).to_numpy()
    idx = d["pool_idx"].to_numpy()
    pe = pool["enterprise_id"]
    pact = pool["is_active"]
    eid = pe.reindex(idx).to_numpy(dtype=object).copy()
    eid[idx < 0] = None
    act = pact.reindex(idx).fillna(True).to_numpy(dtype=bool).copy()
    method = np.where(d["by"] == "uscc", "uscc", "name").astype(object)
    flags = [[] for _ in range(len(d))]
    # out_of_region: the enterprise's region is not under the drawing agency's (GB/T 2260:
    # the agency's code without its trailing 00 pairs is a prefix); an agency without one never flags
    registry = yaml.safe_load((tdir.parent / "agencies.yaml").read_text(encoding="utf-8"))["agencies"]
    prefix = {a["code"]: re.sub(r"(00)+$", "", str(a["region_code"])) for a in registry if a.get("region_code")}
    agency_prefix = d["agency"].map(prefix)
    p_region = pool["region_code"].reindex(idx).fillna("").astype(str).reset_index(drop=True)
    out_of_region = (agency_prefix.notna().to_numpy() & (idx >= 0)
                     & ~np.array([r.startswith(p) if isinstance(p, str) else True
                                  for r, p in zip(p_region, agency_prefix)], dtype=bool))
    for j in np.flatnonzero(np.isin(note, ["not_in_pool", "ambiguous_name", "name_address", "former_name",
                                           "name_mismatch", "address_mismatch", "steward"])
                            | ~act | ~accepted | out_of_region):
        if note[j] == "not_in_pool":
            eid[j], method[j] = None, "none"
            flags[j].append("not_in_pool")
        elif note[j] == "ambiguous_name":
            eid[j], method[j] = None, "none"
            flags[j].append("ambiguous_name")
        elif note[j] == "name_address":
            method[j] = "name_address"
        elif note[j] == "former_name":
            method[j] = "former_name"
        elif note[j] == "steward":  # decided by the generated links file (feeds.write_links)
            method[j] = "steward"
            flags[j].append("steward_link")
        elif note[j] in ("name_mismatch", "address_mismatch"):
            flags[j].append(note[j])
        if eid[j] is not None and not act[j]:
            flags[j].append("inactive_enterprise")
        if eid[j] is not None and out_of_region[j]:
            flags[j].append("out_of_region")
        if not accepted[j]:
            eid[j], method[j] = None, None
            flags[j] = []
        flags[j] = sorted(flags[j])
    d["expected_enterprise_id"] = eid
    d["match_method"] = method
    d["flags"] = flags
    # what grouping keys a row by: its enterprise, else (unresolved) the valid USCC it was drawn with
    uscc_drawn = d["uscc"].replace("", None).str.upper().to_numpy(dtype=object)
    d["group_key"] = [e if e is not None else (u if m == "none" else None)
                      for e, u, m in zip(eid, uscc_drawn, method)]
    d["accepted"] = accepted
    d["current"] = accepted & ~superseded
    d["task_key"] = d["agency"] + ":" + d["task_id"]

    ent_rows = d.loc[d["current"] & d["group_key"].notna()].drop_duplicates(["agency", "task_id", "group_key"])
    groups = []
    member = {}
    items_of = {f"{ag}:{t[0]}": t[5] for ag, ts in TASKS.items() for t in ts}
    resolved_keys = set(ent_rows["expected_enterprise_id"].dropna())
    cnt = ent_rows["group_key"].map(ent_rows["group_key"].value_counts())
    multi = ent_rows.loc[cnt.to_numpy() >= 2].sort_values(["group_key", "task_key"])
    m_e = multi["group_key"].to_numpy(dtype=object)
    m_s = multi["window_start"].to_numpy().astype("datetime64[D]").tolist()
    m_en = multi["window_end"].to_numpy().astype("datetime64[D]").tolist()
    m_k = multi["task_key"].to_numpy(dtype=object)
    bounds = np.flatnonzero(np.r_[True, m_e[1:] != m_e[:-1], True]) if len(m_e) else np.array([0])
    for a, b in zip(bounds[:-1], bounds[1:]):
        e = m_e[a]
        entries = [(m_s[j], m_en[j], m_k[j]) for j in range(a, b)]
        for keys, ws, we in sweep_groups(entries):
            agencies = sorted({k.split(":")[0] for k in keys})
            gk = f"{e}|{'+'.join(keys)}"
            groups.append({"group_key": gk, "enterprise_id": e if e in resolved_keys else None,
                           "uscc": None if e in resolved_keys else e, "task_keys": keys, "agencies": agencies,
                           "agency_count": len(agencies), "kind": "joint" if len(agencies) > 1 else "internal",
                           "window_start": ws, "window_end": we, "n_entries": len(keys),
                           "items": sorted({i for k in keys for i in items_of[k]})})
            for k in keys:
                member[(e, k)] = gk
    jg = pd.DataFrame(groups, columns=["group_key", "enterprise_id", "uscc", "task_keys", "agencies", "agency_count", "kind",
                                       "window_start", "window_end", "n_entries", "items"])
    _write(jg, tdir / "joint_groups.parquet", schema=pa.schema([
        ("group_key", pa.string()), ("enterprise_id", pa.string()), ("uscc", pa.string()), ("task_keys", pa.list_(pa.string())),
        ("agencies", pa.list_(pa.string())), ("agency_count", pa.int64()), ("kind", pa.string()),
        ("window_start", pa.date32()), ("window_end", pa.date32()), ("n_entries", pa.int64()), ("items", pa.list_(pa.string()))]))
    d["joint_group_key"] = [member.get((e, k)) if c else None
                            for e, k, c in zip(d["group_key"], d["task_key"], d["current"])]
    reasons = np.select([note == "window_end_before_start", note == "agency_mismatch"], ["window_end_before_start", "agency_mismatch"], "")
    dt = pd.DataFrame({
        "source_file": d["source_file"], "source_row": d["source_row"].astype("int64"), "agency": d["agency"],
        "task_id": d["task_id"], "task_key": d["task_key"], "accepted": d["accepted"],
        "reason_codes": [[r] if r else [] for r in reasons], "current": d["current"],
        "uscc_drawn": d["uscc"].replace("", None).str.upper(), "name_drawn": [_nfkc(x) for x in d["name"]],
        "address_drawn": d["address"].replace("", None), "window_start": d["window_start"].dt.date,
        "window_end": d["window_end"].dt.date, "expected_enterprise_id": d["expected_enterprise_id"],
        "match_method": d["match_method"], "flags": d["flags"], "joint_group_key": d["joint_group_key"], "planted": d["note"].replace("", None),
    }).sort_values(["source_file", "source_row"]).reset_index(drop=True)
    _write(dt, tdir / "draw_truth.parquet")

    # ---------------------------------------------------------------- summary
    ent_err = world.ent["error"].value_counts().to_dict()
    ent_err.pop("", None)
    planted = world.planted
    pid = lambda i: pool.at[i, "enterprise_id"]  # noqa: E731
    summary = {
        "seed": world.seed, "n_enterprises": world.n, "as_of": world.as_of.isoformat(),
        "layout": "landing/<agency>/<feed>/<file>; agencies.yaml = copy of config/agencies.yaml",
        "counts": {
            "registration_records_generated": int(len(world.ent)),
            "registration_error_records": {k: int(v) for k, v in sorted(ent_err.items())},
            "enterprises": int(len(ent)), "enterprises_active": int(ent["is_active"].sum()),
            "entity_kind": {k: int(v) for k, v in ent["entity_kind"].value_counts().sort_index().items()},
            "scale": {k: int(v) for k, v in ent["scale"].value_counts().sort_index().items()},
            "carrier": {k: int(v) for k, v in ent["carrier"].value_counts().sort_index().items()},
            "credit_grade": {k: int(v) for k, v in ent["credit_grade"].value_counts().sort_index().items()},
            "with_uscc": int(ent["uscc"].notna().sum()), "reg_no_only": int(ent["uscc"].isna().sum()),
            "re_registrations": int(len(world.updates)), "re_registrations_stale": int(world.updates["stale"].sum()),
            "licence_rows": int(len(world.licences)), "licences": int(len(lic_out)),
            "licences_valid_on_as_of": int(lic_out["is_valid_on_as_of"].sum()),
            "credit_rows": int(len(world.credit)),
            "inspector_rows": int(len(world.inspectors)), "inspectors": int(len(ins_out)),
            "inspectors_eligible": int(ins_out["is_eligible"].sum()),
            "draw_rows": int(len(dt)), "draw_rows_accepted": int(dt["accepted"].sum()),
            "draw_entries_current": int(dt["current"].sum()),
            "draw_entries_resolved": int((dt["current"] & dt["expected_enterprise_id"].notna()).sum()),
            "joint_groups": int(len(jg)), "joint_groups_joint": int((jg["kind"] == "joint").sum()),
            "joint_groups_internal": int((jg["kind"] == "internal").sum()),
        },
        "rules": {
            "enterprise_id": "USCC when known, else 'R' + reg_no",
            "name": "NFKC-folded, trimmed (full-width brackets/letters/digits in files fold to this)",
            "scale": "2017 thresholds (docs/domain.md); any missing indicator -> unknown; J and the industries the standard leaves out (53, 704, P, 84, S, T) -> unknown; 591 装卸搬运 -> transport",
            "categories": "union of categories_from_licences (licence valid on as_of: status 有效 or blank, valid_from <= as_of <= valid_to, attributed by USCC or unique name) and categories_from_scope (keyword table below)",
            "licence_category": LICENCE_CATEGORY, "scope_keywords": {k: list(v) for k, v in nm.SCOPE_KEYWORDS.items()},
            "online_keywords": list(nm.ONLINE_KEYWORDS),
            "carrier": "online = online_shop true or an online keyword in business_scope; premises = non-empty address",
            "key_supervision": list(KEY_SUPERVISION),
            "credit_grade": "latest classified_on among general rows (domain empty or 通用); 1-4 -> A-D; A类 -> A; 低/一般/较高/高风险 -> A/B/C/D",
            "inspector_eligible": "status 在岗 and cert_valid_to >= as_of; ineligible_reason 'status' before 'certificate_expired'",
            "draw_match": "uscc when given (valid, in pool); else name (unique NFKC name, no address given); ambiguous name + matching address -> name_address; ambiguous name alone -> none + ambiguous_name; a renamed enterprise's earlier name -> former_name",
            "draw_flags": "name_mismatch: USCC of the register's next enterprise with the drawn enterprise's name; address_mismatch: name-only row with an address in the other district on another road; out_of_region: enterprise region not under the agency's (registry region_code without trailing 00 pairs as prefix); inactive_enterprise; not_in_pool; ambiguous_name",
            "unresolved_groups": "current unresolved rows drawn with a valid USCC group by that USCC (joint_groups: enterprise_id null, uscc set)",
            "joint_groups": "current accepted resolved entries, one per (agency, task, enterprise); per enterprise sort by window_start and sweep; >=2 entries; kind joint if >=2 agencies",
            "invalid_dates": "'不详', '2024-13-45', '2023-02-30', '2024年13月1日' in established_on are quarantined as invalid_date",
            "draw_agency_column": "samr-350103 file: 抽查部门 = agency code; tax-350102 file: 发起部门 = the registry's Chinese name of tax-350102 (both are the folder's agency)",
        },
        "planted": {
            "triple_overlap": pid(planted["triple"]), "internal_overlap": pid(planted["internal"]),
            "adjacent_same_agency": pid(planted["adjacent_same_agency"]), "adjacent_cross_agency": pid(planted["adjacent_cross_agency"]),
            "redraw_removed": pid(planted["redraw_removed"]), "redraw_task": f"{REDRAW[0]}:{REDRAW[1]}",
            "inactive_drawn": pid(planted["inactive_drawn"]),
            "ambiguous_name_pairs": [[pid(a), pid(b)] for a, b in planted["ambiguous_pairs"]],
            "former_name": [pid(i) for i in planted["former_name"]],
            "name_mismatch": [pid(i) for i in planted["name_mismatch"]],
            "address_mismatch": [pid(i) for i in planted["address_mismatch"]],
            "out_of_region": [pid(i) for i in planted["out_of_region"]],
            "unresolved_uscc_group": next(u for u, n in zip(dt["uscc_drawn"], dt["planted"]) if n == "not_in_pool"),
        },
    }
    return summary


def write_file_truth(land, tdir: Path) -> dict:
    """What each landing file written so far must become (files.parquet) and the rows it must
    quarantine (quarantine_expected.parquet); returns the summary's file counts."""
    q = pd.DataFrame(land.quarantine, columns=["path", "agency", "feed", "source_row", "reason_codes"])
    _write(q.sort_values(["path", "source_row"]).reset_index(drop=True), tdir / "quarantine_expected.parquet")
    files = pd.DataFrame(land.files)
    files["reasons"] = files["reasons"].map(lambda r: ",".join(f"{k}:{v}" for k, v in sorted(r.items())))
    if "duplicate_of" not in files:
        files["duplicate_of"] = None
    _write(files.sort_values("path").reset_index(drop=True), tdir / "files.parquet")
    return {"files": {k: int(v) for k, v in files["expected_status"].value_counts().sort_index().items()},
            "quarantined_rows": int(len(q))}
