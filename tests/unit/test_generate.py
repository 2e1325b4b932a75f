"""The synthetic landing-zone generator (pipelines/generate): layout, determinism,
check digits, and that the files read back to exactly the ground truth."""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from stdnum.cn import ric, uscc as std_uscc
from stdnum.iso7064 import mod_11_10

from connectors.feeds import feeds, fold_header
from pipelines.generate import generate
from pipelines.generate import identifiers as ids
from pipelines.generate.truth import classify_scale, scale_rule, sweep_groups

ROOT = Path(__file__).resolve().parents[2]
N = 3000


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    summary = generate(N, out, seed=11)
    return out, summary


# --------------------------------------------------------------------------- a tiny independent reader
def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def read_any(path: Path) -> pd.DataFrame:
    """Every cell as text (Excel dates as ISO dates), original headers."""
    suf = path.suffix
    if suf == ".csv":
        return pd.read_csv(io.StringIO(_decode(path.read_bytes())), dtype=str, keep_default_na=False)
    if suf == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False).astype(object).where(lambda d: d.notna(), "").astype(str)
    if suf == ".parquet":
        t = pq.read_table(path).to_pandas()
        return t.apply(lambda c: c.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)))
    if suf == ".xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True).worksheets[0]
        rows = [r for r in ws.iter_rows(values_only=True)]
        rows = [r for r in rows]
        start = next(i for i, r in enumerate(rows) if any(v is not None for v in r))
        head = [str(h) for h in rows[start]]
        body = [["" if v is None else (v.date().isoformat() if isinstance(v, datetime) else str(v)) for v in r]
                for r in rows[start + 1:]]
        return pd.DataFrame(body, columns=head)
    raise AssertionError(path)


def canonical(df: pd.DataFrame, feed: str) -> pd.DataFrame:
    lookup = {fold_header(h): c.name for c in feeds()[feed].columns for h in c.accepted_headers}
    return df.rename(columns={h: lookup[fold_header(h)] for h in df.columns if fold_header(h) in lookup})


def nfkc(s: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", s).split())


def parse_date(s: str):
    s = s.strip()
    for pat in (r"^(\d{4})-(\d{1,2})-(\d{1,2})(?: .*)?$", r"^(\d{4})/(\d{1,2})/(\d{1,2})$", r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$",
                r"^(\d{4})(\d{2})(\d{2})$", r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"):
        m = re.match(pat, s)
        if m:
            try:
                return date(*map(int, m.groups()))
            except ValueError:
                return None
    return None


def parse_money(s: str):
    s = s.strip().replace(",", "")
    if not s:
        return np.nan
    for unit, f in (("万元人民币", 1), ("万元", 1), ("万", 1), ("元", 1e-4)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)


def ingested(out: Path, summary: dict, feed: str):
    for f in summary["files"]:
        if f["feed"] == feed and f["expected_status"] == "ingested":
            yield f, out / "landing" / f["path"]


# --------------------------------------------------------------------------- identifiers vs python-stdnum
def test_uscc_check_characters_match_stdnum():
    rng = np.random.default_rng(0)
    n = 3000
    dept = rng.choice(list("9159Y"), n)
    kind = rng.choice(list("123"), n)
    codes = ids.make_uscc(dept, kind, rng.integers(110000, 660000, n), rng.integers(0, 10**8, n))
    for c in codes:
        assert std_uscc.calc_check_digit(c[:17]) == c[17]
    assert ids.uscc_is_valid(codes).all()
    assert std_uscc.is_valid("91440300085948158H") and ids.uscc_is_valid(np.array(["91440300085948158H"]))[0]
    bad = ids.corrupt_uscc(codes, rng)
    assert not ids.uscc_is_valid(bad).any()
    assert all(std_uscc.calc_check_digit(c[:17]) != c[17] for c in bad)


def test_org_code_embedded_in_uscc_is_valid():
    from stdnum.cn import uscc as u

    codes = ids.make_uscc(np.array(["9"] * 200), np.array(["1"] * 200), np.full(200, 350102), np.arange(200) * 499_979)
    # stdnum checks the embedded 组织机构代码 too (for codes starting with digits)
    assert all(u.is_valid(c) for c in codes)


def test_reg_no_and_id_no_check_digits_match_stdnum():
    rng = np.random.default_rng(1)
    regs = ids.make_reg_no(rng.integers(110000, 660000, 3000), rng.integers(0, 10**8, 3000))
    assert all(len(r) == 15 and mod_11_10.is_valid(r) for r in regs)
    assert mod_11_10.calc_check_digit("44030110854837") == "9"
    assert ids.make_reg_no(np.array([440301]), np.array([10854837]))[0] == "440301108548379"
    births = np.array([19650101, 19800229, 19991231] * 1000)
    id_nos = ids.make_id_no(np.full(3000, 350102), births, rng.integers(0, 1000, 3000))
    assert all(ric.calc_check_digit(x) == x[-1] for x in id_nos)
    bad = ids.corrupt_id_no(id_nos[:100], rng)
    assert all(ric.calc_check_digit(x) != x[-1] for x in bad)


def test_scale_rule_and_sweep():
    assert scale_rule("5211") == "retail" and scale_rule("7010") == "real_estate_dev" and scale_rule("7020") == "property_mgmt"
    rule = np.array(["retail", "retail", "retail", "industry", "other", "finance"])
    x = np.array([300, 300, 9, 1000, 100, 5000.0])
    y = np.array([20000, 499, 100000, np.nan, np.nan, 1.0])
    out = classify_scale(rule, x, y, np.full(6, np.nan))
    assert out.tolist() == ["large", "small", "micro", "unknown", "medium", "unknown"]
    d = date
    groups = sweep_groups([(d(2026, 3, 1), d(2026, 5, 31), "a:1"), (d(2026, 6, 1), d(2026, 8, 31), "a:2"),
                           (d(2026, 4, 15), d(2026, 7, 15), "b:1")])
    assert groups == [(["a:1", "b:1"], d(2026, 4, 15), d(2026, 5, 31))]
    assert sweep_groups([(d(2026, 2, 15), d(2026, 4, 30), "x"), (d(2026, 5, 1), d(2026, 7, 31), "y")]) == []


# --------------------------------------------------------------------------- layout
def test_layout_and_registry_copy(gen):
    out, summary = gen
    reg = yaml.safe_load((out / "agencies.yaml").read_text(encoding="utf-8"))
    assert reg == yaml.safe_load((ROOT / "config" / "agencies.yaml").read_text(encoding="utf-8"))
    allowed = {a["code"]: set(a["feeds"]) for a in reg["agencies"]}
    seen = {f["path"] for f in summary["files"]}
    on_disk = {p.relative_to(out / "landing").as_posix() for p in (out / "landing").rglob("*") if p.is_file()}
    assert seen == on_disk
    for f in summary["files"]:
        agency, feed, name = f["path"].split("/")
        ok = agency in allowed and feed in allowed[agency]
        if f["expected_status"] == "rejected":
            assert not ok
        else:
            assert ok, f["path"]
    statuses = [f["expected_status"] for f in summary["files"]]
    assert statuses.count("rejected") == 2 and statuses.count("duplicate") == 1 and statuses.count("ignored") >= 1
    dup = next(f for f in summary["files"] if f["expected_status"] == "duplicate")
    assert (out / "landing" / dup["path"]).read_bytes() == (out / "landing" / dup["duplicate_of"]).read_bytes()
    formats = {Path(f["path"]).suffix for f in summary["files"] if f["feed"] == "registration" and f["expected_status"] == "ingested"}
    assert formats == {".csv", ".xlsx", ".parquet", ".jsonl"}
    encodings = {f["encoding"] for f in summary["files"] if f["feed"] == "registration"}
    assert {"utf-8", "utf-8-sig", "gb18030"} <= encodings
    for name in ("enterprises", "draw_truth", "joint_groups", "quarantine_expected", "licences", "inspectors", "files"):
        assert (out / "truth" / f"{name}.parquet").exists()
    assert json.loads((out / "truth" / "summary.json").read_text(encoding="utf-8"))["n_enterprises"] == N


def test_gbk_files_hold_only_gbk_characters(gen):
    out, summary = gen
    for f in summary["files"]:
        if f["encoding"] == "gb18030":
            raw = (out / "landing" / f["path"]).read_bytes()
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            raw.decode("gb18030").encode("gbk")


def test_redraw_is_later_by_mtime(gen):
    out, _ = gen
    d = out / "landing" / "wjw-350100" / "draw_list"
    assert (d / "wjw_adjusted.csv").stat().st_mtime > (d / "wjw_draw_2026.csv").stat().st_mtime
    assert "wjw_adjusted.csv" < "wjw_draw_2026.csv"  # name order alone would pick the wrong one


# --------------------------------------------------------------------------- determinism
def _digest(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(400, a, seed=5)
    generate(400, b, seed=5)
    generate(400, c, seed=6)
    da, db = _digest(a), _digest(b)
    assert da.keys() == db.keys()
    diff = [k for k in da if da[k] != db[k]]
    assert diff == []
    for k in da:  # landing mtimes order file versions, so they are part of the output
        if k.startswith("landing/"):
            assert (a / k).stat().st_mtime == (b / k).stat().st_mtime, k
    assert _digest(c)["landing/samr-350102/registration/registration_export.csv"] != da[
        "landing/samr-350102/registration/registration_export.csv"]
    xlsx = next(p for p in a.rglob("*.xlsx") if not p.name.startswith("~$"))
    with zipfile.ZipFile(xlsx) as z:
        core = z.read("docProps/core.xml").decode()
        assert "2026-01-01T00:00:00Z" in core
        assert {i.date_time for i in z.infolist()} == {(2026, 1, 1, 0, 0, 0)}


# --------------------------------------------------------------------------- content reads back to the truth
def test_registration_reads_back_to_truth(gen):
    out, summary = gen
    truth = pd.read_parquet(out / "truth" / "enterprises.parquet")
    qexp = pd.read_parquet(out / "truth" / "quarantine_expected.parquet")
    latest: dict[str, tuple] = {}
    for f, path in ingested(out, summary, "registration"):
        df = canonical(read_any(path), "registration")
        assert len(df) == f["rows"]
        bad_rows = set(qexp.loc[qexp["path"] == f["path"], "source_row"])
        assert len(bad_rows) == f["rows_quarantined"]
        for i, r in enumerate(df.to_dict("records"), start=1):
            u = r.get("uscc", "").strip().upper()
            reg = r.get("reg_no", "").strip()
            name = nfkc(r.get("name", ""))
            u_ok = bool(u) and std_uscc.calc_check_digit(u[:17]) == u[17:]
            reg_ok = len(reg) == 15 and mod_11_10.is_valid(reg)
            est = r.get("established_on", "")
            rejected = (u and not u_ok) or not (u_ok or reg_ok) or not name or (est and parse_date(est) is None)
            assert bool(rejected) == (i in bad_rows), (f["path"], i, r)
            if rejected:
                continue
            key = u if u else "R" + reg
            upd = parse_date(r["updated_at"])
            if key not in latest or upd > latest[key][0]:
                latest[key] = (upd, name, r)
    assert set(latest) == set(truth["enterprise_id"])
    t = truth.set_index("enterprise_id")
    names = pd.Series({k: v[1] for k, v in latest.items()})
    assert (names.sort_index() == t["name"].sort_index()).all()
    # scale from the parsed indicators equals the truth
    keys = sorted(latest)
    rows = [latest[k][2] for k in keys]
    x = np.array([float(r["employees"]) if r["employees"] else np.nan for r in rows])
    y = np.array([parse_money(r["revenue"]) for r in rows])
    z = np.array([parse_money(r["total_assets"]) for r in rows])
    codes = t.loc[keys, "industry_code"].str[1:]
    rule = np.array([scale_rule((c + "00")[:4]) if len(c) != 3 or not c.startswith("70") else scale_rule(c + "0") for c in codes])
    scale = classify_scale(rule, x, y, z)
    scale[t.loc[keys, "sector"].to_numpy() == "J"] = "unknown"
    assert (scale == t.loc[keys, "scale"].to_numpy()).all()
    # every sector letter, every entity kind, a name with full-width text somewhere in the files
    assert set(t["sector"]) == set("ABCDEFGHIJKLMNOPQRST")
    assert set(t["entity_kind"]) == {"enterprise", "individual_business", "farmer_coop", "branch", "other"}
    assert (t["enterprise_id"].str.startswith("R") if "enterprise_id" in t else t.index.str.startswith("R")).any()


def test_valid_check_digits_everywhere_except_planted(gen):
    out, summary = gen
    qexp = pd.read_parquet(out / "truth" / "quarantine_expected.parquet")
    bad = {(p, r) for p, r, c in zip(qexp["path"], qexp["source_row"], qexp["reason_codes"]) if "invalid_uscc" in list(c) or "invalid_id_no" in list(c)}
    n_bad = 0
    for feed, col in (("registration", "uscc"), ("approval", "uscc"), ("credit_risk", "uscc"), ("draw_list", "uscc"),
                      ("inspectors", "id_no")):
        for f, path in ingested(out, summary, feed):
            df = canonical(read_any(path), feed)
            for i, v in enumerate(df.get(col, pd.Series(dtype=str)), start=1):
                v = v.strip().upper()
                if not v:
                    continue
                ok = ric.calc_check_digit(v) == v[-1] if col == "id_no" else std_uscc.calc_check_digit(v[:17]) == v[17]
                if (f["path"], i) in bad:
                    n_bad += 1
                    assert not ok
                else:
                    assert ok, (f["path"], i, v)
            if feed == "registration":
                for v in df.get("reg_no", []):
                    assert not v or mod_11_10.is_valid(v.strip())
    assert n_bad >= 3


def test_draw_truth_and_joint_groups(gen):
    out, summary = gen
    dt = pd.read_parquet(out / "truth" / "draw_truth.parquet")
    jg = pd.read_parquet(out / "truth" / "joint_groups.parquet")
    pool = pd.read_parquet(out / "truth" / "enterprises.parquet").set_index("enterprise_id")
    # rows per file match the files
    for f, path in ingested(out, summary, "draw_list"):
        assert len(read_any(path)) == int((dt["source_file"] == f["path"]).sum()) == f["rows"]
    planted = summary["planted"]
    tri = jg.loc[jg["enterprise_id"] == planted["triple_overlap"]]
    assert len(tri) == 1 and tri.iloc[0]["agency_count"] == 3 and tri.iloc[0]["kind"] == "joint"
    assert str(tri.iloc[0]["window_start"]) == "2026-04-15" and str(tri.iloc[0]["window_end"]) == "2026-06-15"
    tri_rows = dt.loc[dt["expected_enterprise_id"] == planted["triple_overlap"]]
    assert sorted(tri_rows["match_method"]) == ["name", "name", "uscc"]
    internal = jg.loc[jg["enterprise_id"] == planted["internal_overlap"]]
    assert internal["kind"].tolist() == ["internal"]
    for k in ("adjacent_same_agency", "adjacent_cross_agency", "redraw_removed", "inactive_drawn"):
        assert planted[k] not in set(jg["enterprise_id"]), k
    assert not pool.loc[planted["inactive_drawn"], "is_active"]
    assert set(dt.loc[~dt["accepted"], "reason_codes"].map(tuple)) == {("window_end_before_start",), ("agency_mismatch",)}
    assert "not_in_pool" in {f for fl in dt["flags"] for f in fl}
    assert "ambiguous_name" in {f for fl in dt["flags"] for f in fl}
    assert "name_address" in set(dt["match_method"])
    # superseded rows: exactly the earlier version of the re-drawn task
    sup = dt.loc[dt["accepted"] & ~dt["current"]]
    assert set(sup["task_key"]) == {planted["redraw_task"]} and set(sup["source_file"]) == {"wjw-350100/draw_list/wjw_draw_2026.csv"}
    # every group: >= 2 current entries, windows intersect, stable key; keyed by the enterprise,
    # or (unresolved) by the drawn USCC
    cur = dt.loc[dt["current"]]
    key = cur["expected_enterprise_id"].where(cur["expected_enterprise_id"].notna(),
                                              cur["uscc_drawn"].where(cur["match_method"] == "none"))
    for g in jg.itertuples():
        assert pd.isna(g.enterprise_id) != pd.isna(g.uscc)
        rows = cur.loc[(key == (g.uscc if pd.isna(g.enterprise_id) else g.enterprise_id))
                       & cur["task_key"].isin(list(g.task_keys))]
        assert len(rows) == len(g.task_keys) >= 2
        assert rows["window_start"].max() == g.window_start and rows["window_end"].min() == g.window_end
        assert g.window_start <= g.window_end
    # matching you can check: former names, planted mismatches, the unresolved USCC's group
    for note in ("former_name", "name_mismatch", "address_mismatch", "out_of_region"):
        ids = set(dt.loc[dt["planted"] == note, "expected_enterprise_id"])
        assert len(ids) >= 2 and ids == set(planted[note]), note
    assert (dt.loc[dt["planted"] == "former_name", "match_method"] == "former_name").all()
    former = dt.loc[dt["planted"] == "former_name"]
    assert not (pool.loc[former["expected_enterprise_id"], "name"].to_numpy() == former["name_drawn"].to_numpy()).any()
    for note in ("name_mismatch", "address_mismatch", "out_of_region"):
        assert all(note in f for f in dt.loc[dt["planted"] == note, "flags"]), note
    [unresolved] = jg.loc[jg["enterprise_id"].isna()].itertuples()
    assert unresolved.uscc == planted["unresolved_uscc_group"] and unresolved.kind == "joint"
    # name-only resolutions point at a unique pool name
    by_name = dt.loc[dt["match_method"] == "name"]
    counts = pool["name"].value_counts()
    assert (by_name["name_drawn"].map(counts) == 1).all()
    assert (pool.loc[by_name["expected_enterprise_id"], "name"].to_numpy() == by_name["name_drawn"].to_numpy()).all()


def test_inspectors_and_credit_truth(gen):
    out, summary = gen
    ins = pd.read_parquet(out / "truth" / "inspectors.parquet")
    assert len(ins) >= 45 and ins["is_eligible"].any() and (~ins["is_eligible"]).any()
    assert set(ins["ineligible_reason"].dropna()) <= {"status", "certificate_expired"}
    assert ins["id_no_masked"].str.match(r"^.{4}\*{10}.{4}$").all()
    ent = pd.read_parquet(out / "truth" / "enterprises.parquet")
    share = ent["credit_grade"].notna().mean()
    assert 0.6 < share < 0.85
    assert set(ent["credit_grade"].dropna()) == set("ABCD")
    lic = pd.read_parquet(out / "truth" / "licences.parquet")
    assert lic["is_valid_on_as_of"].any() and (~lic["is_valid_on_as_of"]).any()
    assert (lic["enterprise_id"].isna()).any()  # ambiguous names stay unattributed
    assert 0.2 < ent["licence_count"].gt(0).mean() < 0.45


def test_each_market_regulator_drops_an_item_list_and_plans_over_it(gen):
    """Plans are valid against docs/contract.md §6: items of the agency's own list, ratios in [0, 1],
    a window ending after it starts, seed_sha256 = SHA-256 of the demo seed."""
    from pipelines.generate.plans import demo_seed

    out, summary = gen
    for agency in ("samr-350102", "samr-350103"):
        [(_, items_path)] = [(f, p) for f, p in ingested(out, summary, "items") if f["agency"] == agency]
        [(_, plans_path)] = [(f, p) for f, p in ingested(out, summary, "plans") if f["agency"] == agency]
        codes = set(canonical(read_any(items_path), "items")["item_code"])
        plans = canonical(read_any(plans_path), "plans")
        assert {"SP-01", "TZ-01", "WL-01"} <= codes and len(plans) >= 2
        for plan in plans.itertuples():
            assert set(re.split("[、,]", plan.items)) <= codes
            assert parse_date(plan.window_start) <= parse_date(plan.window_end)
            ratios = [plan.ratio_a, plan.ratio_b, plan.ratio_c, plan.ratio_d, plan.ratio_none]
            for r in filter(None, ratios):
                value = float(r[:-1]) / 100 if r.endswith("%") else float(r)
                assert 0 <= value <= 1
            year = parse_date(plan.window_start).year
            assert plan.seed_sha256 == hashlib.sha256(demo_seed(year).encode()).hexdigest()


def test_ten_thousand_enterprises(tmp_path):
    """The generator's speed is the benchmarks' concern (benchmarks/pipeline.py generates every scale)."""
    s = generate(10_000, tmp_path / "g", seed=1)
    assert s["counts"]["enterprises"] > 9_800
