"""Render the world into landing-zone files: formats, encodings, alias headers,
messy values, planted errors, and the expected outcome of every file.

Layout: ``<out>/landing/<agency>/<feed>/<file>``.  Each written file is recorded
in a manifest with the outcome the contract demands (ingested / duplicate /
rejected / ignored, rows accepted and quarantined, reasons).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from connectors.feeds import feeds as feed_specs

from . import names as nm

XLSX_MAX_ROWS = 5000
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = datetime(2026, 1, 1, 0, 0, 0)
BASE_MTIME = datetime(2026, 11, 1, 0, 0, 0, tzinfo=timezone.utc).timestamp()

TRUE_WORDS = np.array(["是", "Y", "1", "true", "有"])
FALSE_WORDS = np.array(["否", "N", "0", "false", "无"])
BAD_DATES = np.array(["2024-13-45", "不详", "2023-02-30", "2024年13月1日"])
REMARKS = np.array(["", "", "", "年报已公示", "经营异常名录已移出", "住所变更", "投资人变更", "迁入"])

# --------------------------------------------------------------------------- value rendering
_Y = np.array([str(i) for i in range(3000)], dtype=object)
_P2 = np.array([f"{i:02d}" for i in range(60)], dtype=object)
_P1 = np.array([str(i) for i in range(32)], dtype=object)


def ymd(dt: np.ndarray):
    dt = np.asarray(dt, dtype="datetime64[D]")
    nat = np.isnat(dt)
    safe = np.where(nat, np.datetime64("2000-01-01"), dt)
    y = safe.astype("datetime64[Y]").astype(int) + 1970
    m = safe.astype("datetime64[M]").astype(int) % 12 + 1
    d = (safe - safe.astype("datetime64[M]")).astype(int) + 1
    return y, m, d, nat


def fmt_dates(dt: np.ndarray, styles: np.ndarray) -> np.ndarray:
    """0 2024-03-05 · 1 2024/3/5 · 2 2024.3.5 · 3 20240305 · 4 2024年3月5日 · 5 2024-03-05 10:20:30"""
    y, m, d, nat = ymd(dt)
    styles = np.asarray(styles)
    out = np.empty(len(y), dtype=object)
    for k in np.unique(styles):
        sel = np.flatnonzero(styles == k)
        yy, mm, dd = y[sel], m[sel], d[sel]
        Y, M2, D2, M1, D1 = _Y[yy], _P2[mm], _P2[dd], _P1[mm], _P1[dd]
        if k == 1:
            v = Y + "/" + M1 + "/" + D1
        elif k == 2:
            v = Y + "." + M1 + "." + D1
        elif k == 3:
            v = Y + M2 + D2
        elif k == 4:
            v = Y + "年" + M1 + "月" + D1 + "日"
        elif k == 5:
            v = Y + "-" + M2 + "-" + D2 + " " + _P2[(dd * 7) % 24] + ":" + _P2[(mm * 5) % 60] + ":" + _P2[(yy % 31)]
        else:
            v = Y + "-" + M2 + "-" + D2
        out[sel] = v
    out[nat] = None
    return out


def num_text(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    isint = np.isfinite(v) & (v == np.floor(v))
    s = np.where(isint, np.nan_to_num(v).astype(np.int64).astype(str), np.char.mod("%.1f", np.nan_to_num(v))).astype(object)
    s[~np.isfinite(v)] = None
    return s


def fmt_money(v: np.ndarray, styles: np.ndarray) -> np.ndarray:
    """0 plain · 1 thousands separators · 2 万元 · 3 元 (x 10,000) · 4 万 · 5 万元人民币 (value in 万元)."""
    v = np.asarray(v, dtype=float)
    base = num_text(v)
    out = base.copy()
    ok = np.isfinite(v)
    m = ok & (styles == 1)
    out[m] = [f"{x:,.1f}".rstrip("0").rstrip(".") if x != int(x) else f"{int(x):,}" for x in v[m]]
    for k, unit in ((2, "万元"), (4, "万"), (5, "万元人民币")):
        m = ok & (styles == k)
        out[m] = base[m] + unit
    m = ok & (styles == 3)
    out[m] = (np.round(v[m] * 10000).astype(np.int64).astype(str).astype(object)) + "元"
    return out


def fmt_bool(v: np.ndarray, rng) -> np.ndarray:
    n = len(v)
    t = TRUE_WORDS[rng.integers(0, 5, n)]
    f = FALSE_WORDS[rng.integers(0, 5, n)]
    out = np.where(v == True, t, f).astype(object)  # noqa: E712
    out[pd.isna(pd.Series(v, dtype=object)).to_numpy()] = None
    return out


def join_list(items: list[list[str]], rng) -> np.ndarray:
    seps = rng.integers(0, len(nm.LIST_SEPARATORS), len(items))
    return np.array([nm.LIST_SEPARATORS[s].join(x) if x else None for x, s in zip(items, seps)], dtype=object)


def maybe_fullwidth(s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.asarray(s, dtype=object).copy()
    idx = np.flatnonzero(mask & pd.notna(pd.Series(out)).to_numpy())
    if len(idx):
        out[idx] = nm.to_fullwidth(out[idx].astype(str))
    return out


def blank_to_none(a) -> np.ndarray:
    out = np.asarray(a, dtype=object).copy()
    out[pd.Series(out).isin(["", "nan"]).to_numpy() | pd.isna(pd.Series(out)).to_numpy()] = None
    return out


def headers_for(feed: str, cols: list[str], style: str, rng) -> list[str]:
    spec = {c.name: c for c in feed_specs()[feed].columns}
    out = []
    for c in cols:
        if c not in spec:
            out.append(c)
            continue
        accepted = spec[c].accepted_headers
        if style == "canonical":
            out.append(c)
        elif style == "alias1":
            out.append(accepted[1] if len(accepted) > 1 else c)
        elif style == "alias2":
            out.append(accepted[2] if len(accepted) > 2 else accepted[-1])
        else:
            out.append(accepted[int(rng.integers(0, len(accepted)))])
    # distinct headers (e.g. 状态 would otherwise never clash, but be safe)
    assert len(set(out)) == len(out), out
    return out


# --------------------------------------------------------------------------- writers
def _fix_xlsx(path: Path) -> None:
    """Make an openpyxl workbook byte-deterministic: fixed zip entry times and document dates."""
    src = path.read_bytes()
    buf = io.BytesIO()
    stamp = FIXED_DOC_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp.encode() + rb"\g<3>", data)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, data)
    path.write_bytes(buf.getvalue())


def write_xlsx(path: Path, headers: list[str], columns: list[np.ndarray], blank_first_row: bool = True) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = "shuangsuiji generator"
    wb.properties.created = FIXED_DOC_TIME
    wb.properties.modified = FIXED_DOC_TIME
    ws = wb.create_sheet("Sheet1")
    if blank_first_row:
        ws.append([])
    ws.append(headers)
    for row in zip(*columns):
        ws.append([None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in row])
    wb.save(path)
    _fix_xlsx(path)


def _string_table(headers, columns, typed: dict | None = None) -> pa.Table:
    arrays = []
    for h, col in zip(headers, columns):
        if typed and h in typed:
            arrays.append(pa.array(col, type=typed[h], from_pandas=True))
        else:
            arrays.append(pa.array([None if v is None else str(v) for v in col], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=headers)


def write_csv(path: Path, headers, columns, encoding: str = "utf-8", crlf: bool = False) -> None:
    buf = io.BytesIO()
    pacsv.write_csv(_string_table(headers, columns), buf, pacsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue()
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    if encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + data
    elif encoding == "gb18030":
        text = data.decode("utf-8")
        text.encode("gbk")  # raises if a character is outside GBK
        data = text.encode("gb18030")
    path.write_bytes(data)


def write_parquet(path: Path, headers, columns, typed: dict | None = None) -> None:
    pq.write_table(_string_table(headers, columns, typed), path, compression="snappy")


def write_jsonl(path: Path, headers, columns) -> None:
    df = pd.DataFrame({h: pd.Series(c, dtype=object) for h, c in zip(headers, columns)})
    text = df.to_json(orient="records", lines=True, force_ascii=False)
    path.write_bytes(text.encode("utf-8"))


# --------------------------------------------------------------------------- the landing zone
class Landing:
    """Writes files under ``<out>/landing`` and records what the pipeline must make of them."""

    def __init__(self, out: Path, rng):
        self.root = Path(out) / "landing"
        self.rng = rng
        self.files: list[dict] = []
        self.quarantine: list[dict] = []
        self._tick = 0

    def path(self, agency: str, feed: str, name: str) -> Path:
        p = self.root / agency / feed / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def _mtime(self, later_days: float = 0) -> float:
        self._tick += 1
        return BASE_MTIME + later_days * 86400 + self._tick * 60

    def write(self, agency, feed, name, fmt, headers, columns, *, encoding="utf-8", crlf=False, typed=None,
              reasons: np.ndarray | None = None, later_days: float = 0, note: str = "", status="ingested",
              error_code: str | None = None) -> str:
        p = self.path(agency, feed, name)
        n = len(columns[0]) if columns else 0
        if fmt == "csv":
            write_csv(p, headers, columns, encoding=encoding, crlf=crlf)
        elif fmt == "xlsx":
            write_xlsx(p, headers, columns)
            encoding = None
        elif fmt == "parquet":
            write_parquet(p, headers, columns, typed)
            encoding = None
        elif fmt == "jsonl":
            write_jsonl(p, headers, columns)
        else:
            raise ValueError(fmt)
        mtime = self._mtime(later_days)
        os.utime(p, (mtime, mtime))
        rel = p.relative_to(self.root).as_posix()
        reasons = np.asarray(reasons if reasons is not None else np.full(n, "", dtype=object), dtype=object)
        counts: dict[str, int] = {}
        if status == "ingested":
            for i in np.flatnonzero(reasons != ""):
                codes = sorted(str(reasons[i]).split("+"))
                for c in codes:
                    counts[c] = counts.get(c, 0) + 1
                self.quarantine.append({"path": rel, "agency": agency, "feed": feed, "source_row": int(i) + 1,
                                        "reason_codes": codes})
        q = int((reasons != "").sum()) if status == "ingested" else 0
        self.files.append({
            "path": rel, "agency": agency, "feed": feed, "format": fmt, "encoding": encoding, "rows": n,
            "expected_status": status, "expected_error": error_code,
            "rows_read": n if status == "ingested" else 0,
            "rows_accepted": n - q if status == "ingested" else 0, "rows_quarantined": q, "reasons": counts,
            "mtime": datetime.fromtimestamp(mtime, timezone.utc).isoformat(), "note": note,
        })
        return rel

    def duplicate(self, rel_src: str, name: str, note: str) -> str:
        src = self.root / rel_src
        dst = src.with_name(name)
        shutil.copyfile(src, dst)
        mtime = self._mtime(1)
        os.utime(dst, (mtime, mtime))
        rel = dst.relative_to(self.root).as_posix()
        orig = next(f for f in self.files if f["path"] == rel_src)
        self.files.append({**orig, "path": rel, "expected_status": "duplicate", "expected_error": None, "rows_read": 0,
                           "rows_accepted": 0, "rows_quarantined": 0, "reasons": {}, "duplicate_of": rel_src,
                           "mtime": datetime.fromtimestamp(mtime, timezone.utc).isoformat(), "note": note})
        return rel

    def ignored(self, agency, feed, name, data: bytes, note: str) -> None:
        p = self.path(agency, feed, name)
        p.write_bytes(data)
        m = self._mtime()
        os.utime(p, (m, m))
        self.files.append({"path": p.relative_to(self.root).as_posix(), "agency": agency, "feed": feed, "format": None,
                           "encoding": None, "rows": 0, "expected_status": "ignored", "expected_error": None,
                           "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0, "reasons": {}, "note": note,
                           "mtime": datetime.fromtimestamp(m, timezone.utc).isoformat()})


def split_counts(n: int, fracs: list[float | None], caps: list[int | None]) -> list[int]:
    """Rows per file: fractions of n (None = the rest), each optionally capped."""
    out = []
    for f, c in zip(fracs, caps):
        k = 0 if f is None else int(round(n * f))
        if c is not None:
            k = min(k, c)
        out.append(k)
    rest = n - sum(out)
    return [k if f is not None else rest for k, f in zip(out, fracs)]


# =========================================================================== registration
REG_COLS = ["uscc", "reg_no", "name", "entity_type", "legal_rep", "reg_capital", "established_on", "status", "address",
            "region_code", "authority", "industry_code", "business_scope", "employees", "revenue", "total_assets",
            "online_shop", "updated_at"]

REG_FILES = {  # agency -> [(name, fmt, encoding, header style, fraction, cap, fullwidth share, extra columns, crlf)]
    "samr-350102": [
        ("登记信息_2026Q3.csv", "csv", "utf-8", "alias1", 0.15, None, 0.3, ["备注"], False),
        ("registration_export.csv", "csv", "utf-8-sig", "canonical", 0.10, None, 0.0, [], False),
        ("市场主体登记_gbk.csv", "csv", "gb18030", "alias2", 0.15, None, 0.3, ["序号", "备注"], True),
        ("登记台账.xlsx", "xlsx", None, "mixed", 0.05, 2000, 0.2, ["备注"], False),
        ("registration_bulk.parquet", "parquet", None, "canonical", None, None, 0.0, [], False),
    ],
    "samr-350103": [
        ("台江登记_utf8bom.csv", "csv", "utf-8-sig", "alias2", 0.20, None, 0.3, ["数据来源"], False),
        ("台江登记_gbk.csv", "csv", "gb18030", "alias1", 0.20, None, 0.3, [], True),
        ("台江登记.xlsx", "xlsx", None, "alias1", 0.05, 2000, 0.2, ["备注"], False),
        ("registration_bulk.jsonl", "jsonl", None, "mixed", None, None, 0.2, [], False),
    ],
}


def render_registration(df: pd.DataFrame, rng, fmt: str, fullwidth: float, extras: list[str]):
    """Canonical values -> (columns dict of raw cell values, reasons array)."""
    n = len(df)
    err = df["error"].to_numpy()
    uscc = df["uscc_given"].to_numpy(dtype=object).copy()
    u = rng.random(n)
    low = (u < 0.003) & (uscc != "")
    uscc[low] = np.char.lower(uscc[low].astype(str))
    pad = (u >= 0.003) & (u < 0.005) & (uscc != "")
    uscc[pad] = np.char.add(" ", uscc[pad].astype(str))
    name = maybe_fullwidth(df["name"].to_numpy(dtype=object), rng.random(n) < fullwidth)
    name[err == "missing_name"] = None
    est_style = rng.integers(0, 5, n)
    est = fmt_dates(df["established_on"].to_numpy(), est_style)
    bad = err == "invalid_date"
    est[bad] = BAD_DATES[rng.integers(0, len(BAD_DATES), int(bad.sum()))]
    upd = fmt_dates(df["updated_at"].to_numpy(), rng.choice([0, 1, 3, 5], n))
    employees = df["employees"].to_numpy(float)
    cols = {
        "uscc": blank_to_none(uscc), "reg_no": blank_to_none(df["reg_no"].to_numpy(dtype=object)), "name": name,
        "entity_type": maybe_fullwidth(df["entity_type"].to_numpy(dtype=object), rng.random(n) < 0.7),
        "legal_rep": df["legal_rep"].to_numpy(dtype=object),
        "reg_capital": fmt_money(df["reg_capital"].to_numpy(float), rng.choice(6, n, p=[0.35, 0.1, 0.3, 0.1, 0.1, 0.05])),
        "established_on": est, "status": df["status"].to_numpy(dtype=object),
        "address": blank_to_none(maybe_fullwidth(df["address"].to_numpy(dtype=object), rng.random(n) < fullwidth)),
        "region_code": df["region_code"].to_numpy(dtype=object), "authority": df["authority"].to_numpy(dtype=object),
        "industry_code": df["industry_code_raw"].to_numpy(dtype=object),
        "business_scope": df["business_scope"].to_numpy(dtype=object),
        "employees": num_text(employees),
        "revenue": fmt_money(df["revenue"].to_numpy(float), rng.choice(4, n, p=[0.6, 0.2, 0.15, 0.05])),
        "total_assets": fmt_money(df["total_assets"].to_numpy(float), rng.choice(4, n, p=[0.6, 0.2, 0.15, 0.05])),
        "online_shop": fmt_bool(df["online_shop"].to_numpy(dtype=object), rng), "updated_at": upd,
    }
    if fmt == "xlsx":  # Excel cells: dates as date cells for half the rows, employees as numbers
        dcell = (rng.random(n) < 0.5) & ~bad
        ed = pd.to_datetime(df["established_on"].to_numpy()).date
        cols["established_on"] = np.where(dcell, ed, est).astype(object)
        cols["employees"] = np.array([None if np.isnan(x) else int(x) for x in employees], dtype=object)
    if fmt == "parquet":
        cols["employees"] = employees  # int64 column with nulls
    for e in extras:
        if e == "备注":
            cols[e] = blank_to_none(REMARKS[rng.integers(0, len(REMARKS), n)])
        elif e == "序号":
            cols[e] = np.arange(1, n + 1).astype(str).astype(object)
        else:
            cols[e] = np.full(n, "福州市市场主体登记系统", dtype=object)
    reasons = np.select([err == "invalid_uscc", err == "invalid_date", err == "missing_name"],
                        ["invalid_uscc", "invalid_date", "missing_required"], "").astype(object)
    return cols, reasons


def write_registration(land: Landing, ent: pd.DataFrame, updates: pd.DataFrame) -> dict[int, str]:
    """Returns: enterprise idx -> the file holding its winning version."""
    rng = land.rng
    where: dict[int, str] = {}
    first_rows = None
    for agency, plan in REG_FILES.items():
        sub = ent.loc[ent["agency"] == agency]
        sub = sub.iloc[rng.permutation(len(sub))]
        counts = split_counts(len(sub), [p[4] for p in plan], [p[5] for p in plan])
        start = 0
        for (fname, fmt, enc, style, _f, _c, fw, extras, crlf), k in zip(plan, counts):
            part = sub.iloc[start:start + k]
            start += k
            cols, reasons = render_registration(part, rng, fmt, fw, extras)
            order = REG_COLS + extras
            headers = headers_for("registration", order, style, rng)
            if fname.startswith("登记信息"):
                headers = [" " + headers[2] + " " if i == 2 else h for i, h in enumerate(headers)]  # header trimmed on read
            typed = {headers[order.index("employees")]: pa.int64()} if fmt == "parquet" else None
            rel = land.write(agency, "registration", fname, fmt, headers, [cols[c] for c in order], encoding=enc, crlf=crlf,
                             typed=typed, reasons=reasons)
            for i in part.loc[part["error"] == "", "idx"]:
                where[int(i)] = rel
            if first_rows is None:
                first_rows = (part.head(12), headers, order, extras)
        # the later update file: ~1 % re-registered, newer updated_at (a few stale ones carry an older date)
        up = updates.loc[updates["agency"] == agency]
        cols, reasons = render_registration(up, rng, "csv", 0.3, [])
        headers = headers_for("registration", REG_COLS, "alias1", rng)
        rel = land.write(agency, "registration", "登记变更_2026-11.csv", "csv", headers, [cols[c] for c in REG_COLS],
                         reasons=reasons, later_days=20, note="re-registrations; rows with an older updated_at must lose")
        for i, stale in zip(up["idx"], up["stale"]):
            if not stale:
                where[int(i)] = rel
    # the same bytes again under another name
    land.duplicate("samr-350102/registration/registration_export.csv", "registration_export(1).csv",
                   "same bytes as registration_export.csv")
    land.ignored("samr-350102", "registration", "~$登记台账.xlsx", b"\x0bshuangsuiji" + b"\x00" * 150,
                 "Excel lock file: still being written, never read")
    land.ignored("samr-350103", "registration", "台江登记_2026-11.csv.part", "统一社会信用代码,企业名称\n".encode(),
                 "partial download, never read")
    # a folder that is not in the registry, and a feed the agency may not drop
    part, _, order, _ = first_rows
    cols, reasons = render_registration(part.assign(error=""), rng, "csv", 0.0, [])
    headers = headers_for("registration", REG_COLS, "alias1", rng)
    land.write("samr-350104", "registration", "登记信息.csv", "csv", headers, [cols[c] for c in REG_COLS],
               status="rejected", error_code="unknown_agency", note="agency folder not in the registry")
    land.write("tax-350102", "registration", "纳税人登记信息.csv", "csv", headers, [cols[c] for c in REG_COLS],
               status="rejected", error_code="feed_not_allowed", note="tax-350102 may only drop draw_list")
    return where


# =========================================================================== approval
APP_COLS = ["uscc", "name", "licence_type", "licence_no", "valid_from", "valid_to", "issuer", "scope", "status", "updated_at"]


def render_approval(df: pd.DataFrame, rng, fmt: str, fullwidth: float):
    n = len(df)
    cols = {
        "uscc": blank_to_none(df["uscc"].to_numpy(dtype=object)),
        "name": maybe_fullwidth(df["name"].to_numpy(dtype=object), rng.random(n) < fullwidth),
        "licence_type": df["licence_type"].to_numpy(dtype=object), "licence_no": df["licence_no"].to_numpy(dtype=object),
        "valid_from": fmt_dates(df["valid_from"].to_numpy(), rng.choice([0, 1, 3, 4], n)),
        "valid_to": fmt_dates(df["valid_to"].to_numpy(), rng.choice([0, 1, 3, 4], n)),
        "issuer": df["issuer"].to_numpy(dtype=object), "scope": df["scope"].to_numpy(dtype=object),
        "status": blank_to_none(df["status"].to_numpy(dtype=object)),
        "updated_at": fmt_dates(df["updated_at"].to_numpy(), rng.choice([0, 5], n)),
    }
    if fmt == "xlsx":
        for c in ("valid_from", "valid_to"):
            cells = pd.to_datetime(df[c].to_numpy()).date
            cols[c] = np.where(rng.random(n) < 0.6, cells, cols[c]).astype(object)
    return cols


def write_approval(land: Landing, lic: pd.DataFrame) -> pd.Series:
    rng = land.rng
    where = pd.Series(index=lic.index, dtype=object)
    base, later = lic.loc[lic["version"] == 0], lic.loc[lic["version"] == 1]
    plans = {
        "xzsp-350100": [("许可信息_2026.xlsx", "xlsx", None, "alias1", 0.10, 2000, 0.2, False),
                        ("食品药品许可_gbk.csv", "csv", "gb18030", "alias2", 0.45, None, 0.3, True),
                        ("approval_bulk.jsonl", "jsonl", None, "canonical", None, None, 0.0, False)],
        "samr-350102": [("特种设备及工业产品许可.csv", "csv", "utf-8", "canonical", None, None, 0.2, False)],
        "samr-350103": [("特种设备及工业产品许可.csv", "csv", "utf-8-sig", "alias1", None, None, 0.2, False)],
    }
    for agency, plan in plans.items():
        sub = base.loc[base["agency"] == agency]
        sub = sub.iloc[rng.permutation(len(sub))]
        counts = split_counts(len(sub), [p[4] for p in plan], [p[5] for p in plan])
        start = 0
        for (fname, fmt, enc, style, _f, _c, fw, crlf), k in zip(plan, counts):
            part = sub.iloc[start:start + k]
            start += k
            cols = render_approval(part, rng, fmt, fw)
            rel = land.write(agency, "approval", fname, fmt, headers_for("approval", APP_COLS, style, rng),
                             [cols[c] for c in APP_COLS], encoding=enc, crlf=crlf)
            where[part.index] = rel
        up = later.loc[later["agency"] == agency]
        if len(up):
            cols = render_approval(up, rng, "csv", 0.0)
            rel = land.write(agency, "approval", "许可变更_2026-11.csv", "csv", headers_for("approval", APP_COLS, "alias1", rng),
                             [cols[c] for c in APP_COLS], later_days=20, note="licences cancelled later (newer updated_at)")
            where[up.index] = rel
    return where


# =========================================================================== credit_risk
CR_COLS = ["uscc", "name", "grade", "domain", "score", "classified_on"]


def render_credit(df: pd.DataFrame, rng):
    n = len(df)
    g = df["grade"].to_numpy(dtype=object)
    style = rng.choice(4, n, p=[0.4, 0.2, 0.25, 0.15])
    words = np.array([{"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}[x] for x in g], dtype=object)
    digits = np.array(["ABCD".index(x) + 1 for x in g]).astype(str).astype(object)
    grade = np.select([style == 1, style == 2, style == 3], [g + "类", words, digits], g).astype(object)
    dom = df["domain"].to_numpy(dtype=object).copy()
    general = dom == ""
    dom[general] = np.where(rng.random(int(general.sum())) < 0.5, "", "通用")
    uscc = df["uscc"].to_numpy(dtype=object).copy()
    low = rng.random(n) < 0.005
    uscc[low] = np.char.lower(uscc[low].astype(str))
    return {"uscc": uscc, "name": df["name"].to_numpy(dtype=object), "grade": grade, "domain": blank_to_none(dom),
            "score": df["score"].astype(str).to_numpy(dtype=object),
            "classified_on": fmt_dates(df["classified_on"].to_numpy(), rng.choice([0, 1, 3, 4], n))}


def write_credit(land: Landing, credit: pd.DataFrame) -> None:
    rng = land.rng
    # the first classification round goes to file 1; second classifications (older or newer) and domain rows to file 2
    round2 = credit.duplicated(subset=["uscc", "domain"], keep="first") | (credit["domain"] != "")
    plans = {"samr-350102": [("信用风险分类结果_第一批.csv", "csv", "utf-8", "alias1", False),
                             ("credit_risk_batch2.parquet", "parquet", None, "canonical", False)],
             "samr-350103": [("信用风险分类结果_第一批.csv", "csv", "gb18030", "alias2", True),
                             ("credit_risk_batch2.jsonl", "jsonl", None, "alias1", False)]}
    for agency, plan in plans.items():
        for (fname, fmt, enc, style, crlf), part_mask in zip(plan, (~round2, round2)):
            part = credit.loc[(credit["agency"] == agency) & part_mask]
            part = part.iloc[rng.permutation(len(part))]
            cols = render_credit(part, rng)
            land.write(agency, "credit_risk", fname, fmt, headers_for("credit_risk", CR_COLS, style, rng),
                       [cols[c] for c in CR_COLS], encoding=enc, crlf=crlf,
                       later_days=5 if part_mask is round2 else 0,
                       note="latest classified_on wins, not the later file" if part_mask is round2 else "")


# =========================================================================== inspectors
INS_COLS = ["cert_no", "name", "id_no", "agency_name", "unit", "region_code", "qualifications", "specialties",
            "cert_valid_to", "status", "updated_at"]


def render_inspectors(df: pd.DataFrame, rng, fmt: str):
    n = len(df)
    cols = {
        "cert_no": df["cert_no"].to_numpy(dtype=object), "name": df["name"].to_numpy(dtype=object),
        "id_no": df["id_no"].to_numpy(dtype=object), "agency_name": df["agency_name"].to_numpy(dtype=object),
        "unit": df["unit"].to_numpy(dtype=object), "region_code": df["region_code"].to_numpy(dtype=object),
        "qualifications": join_list(df["qualifications"].tolist(), rng), "specialties": join_list(df["specialties"].tolist(), rng),
        "cert_valid_to": fmt_dates(df["cert_valid_to"].to_numpy(), rng.choice([0, 1, 2, 4], n)),
        "status": df["status"].to_numpy(dtype=object), "updated_at": fmt_dates(df["updated_at"].to_numpy(), rng.choice([0, 3], n)),
    }
    if fmt == "xlsx":
        cells = pd.to_datetime(df["cert_valid_to"].to_numpy()).date
        cols["cert_valid_to"] = np.where(rng.random(n) < 0.7, cells, cols["cert_valid_to"]).astype(object)
    reasons = np.where(df["id_invalid"].to_numpy(), "invalid_id_no", "").astype(object)
    return cols, reasons


def write_inspectors(land: Landing, ins: pd.DataFrame) -> None:
    rng = land.rng
    base, later = ins.loc[ins["version"] == 0], ins.loc[ins["version"] == 1]
    k = min(int(np.ceil(0.8 * len(base))), XLSX_MAX_ROWS)
    a, b = base.iloc[:k], pd.concat([base.iloc[k:], later])
    cols, reasons = render_inspectors(a, rng, "xlsx")
    land.write("sfj-350100", "inspectors", "执法人员名录_2026.xlsx", "xlsx", headers_for("inspectors", INS_COLS, "alias1", rng),
               [cols[c] for c in INS_COLS], reasons=reasons)
    cols, reasons = render_inspectors(b, rng, "csv")
    land.write("sfj-350100", "inspectors", "执法人员_补充及变动.csv", "csv", headers_for("inspectors", INS_COLS, "alias2", rng),
               [cols[c] for c in INS_COLS], encoding="gb18030", crlf=True, reasons=reasons, later_days=10,
               note="remaining officers and status changes (newer updated_at)")


# =========================================================================== draw_list
DRAW_COLS = ["task_id", "task_name", "agency", "uscc", "name", "address", "items", "window_start", "window_end"]
AGENCY_NAMES = {"tax-350102": "国家税务总局福州市鼓楼区税务局"}


def render_draws(df: pd.DataFrame, rng, fmt: str, declared: str | None, date_style: int):
    n = len(df)
    decl = df["declared"].to_numpy(dtype=object).copy()
    decl = np.where(pd.isna(pd.Series(decl)).to_numpy(), declared, decl).astype(object)
    styles = np.full(n, date_style)
    cols = {
        "task_id": df["task_id"].to_numpy(dtype=object), "task_name": df["task_name"].to_numpy(dtype=object),
        "agency": decl, "uscc": blank_to_none(df["uscc"].to_numpy(dtype=object)),
        "name": blank_to_none(df["name"].to_numpy(dtype=object)), "address": blank_to_none(df["address"].to_numpy(dtype=object)),
        "items": join_list(df["items"].tolist(), rng),
        "window_start": fmt_dates(df["window_start"].to_numpy(), styles),
        "window_end": fmt_dates(df["window_end"].to_numpy(), styles),
    }
    if fmt == "xlsx":
        for c in ("window_start", "window_end"):
            cols[c] = pd.to_datetime(df[c].to_numpy()).date.astype(object)
    reasons = np.select([df["note"].to_numpy() == "window_end_before_start", df["note"].to_numpy() == "agency_mismatch"],
                        ["window_end_before_start", "agency_mismatch"], "").astype(object)
    return cols, reasons


def write_draws(land: Landing, draws: pd.DataFrame) -> pd.DataFrame:
    """Writes the draw files; returns draws with source_file / source_row."""
    rng = land.rng
    draws = draws.copy()
    draws["source_file"] = None
    draws["source_row"] = 0

    def emit(mask, agency, fname, fmt, style, *, declared=None, with_agency=False, enc="utf-8", crlf=False, date_style=0,
             later_days=0.0, note=""):
        part = draws.loc[mask]
        part = part.iloc[rng.permutation(len(part))]
        cols, reasons = render_draws(part, rng, fmt, declared, date_style)
        order = [c for c in DRAW_COLS if with_agency or c != "agency"]
        typed = None
        if fmt == "parquet":
            cols["window_start"] = part["window_start"].to_numpy()
            cols["window_end"] = part["window_end"].to_numpy()
            typed = {}
        headers = headers_for("draw_list", order, style, rng)
        if fmt == "parquet":
            typed = {headers[order.index("window_start")]: pa.date32(), headers[order.index("window_end")]: pa.date32()}
        rel = land.write(agency, "draw_list", fname, fmt, headers, [cols[c] for c in order], encoding=enc, crlf=crlf,
                         typed=typed, reasons=reasons, later_days=later_days, note=note)
        draws.loc[part.index, "source_file"] = rel
        draws.loc[part.index, "source_row"] = np.arange(1, len(part) + 1)

    A, T, V = draws["agency"], draws["task_id"], draws["version"]
    emit(A == "samr-350102", "samr-350102", "2026年度双随机抽查名单.csv", "csv", "alias1", enc="utf-8-sig", date_style=0)
    emit(A == "samr-350103", "samr-350103", "台江区抽查名单.csv", "csv", "alias2", declared="samr-350103", with_agency=True,
         enc="gb18030", crlf=True, date_style=1, note="抽查部门 column holds the agency code")
    emit(A == "tax-350102", "tax-350102", "税务抽查对象.jsonl", "jsonl", "alias1", declared=AGENCY_NAMES["tax-350102"],
         with_agency=True, date_style=4, note="发起部门 holds the registry's Chinese name of the folder's agency")
    emit((A == "eco-350100") & (T == "HB2026-01"), "eco-350100", "生态环境抽查_HB2026-01.csv", "csv", "mixed", date_style=2)
    n2 = int(((A == "eco-350100") & (T == "HB2026-02")).sum())
    if n2 <= XLSX_MAX_ROWS:
        emit((A == "eco-350100") & (T == "HB2026-02"), "eco-350100", "生态环境抽查_HB2026-02.xlsx", "xlsx", "alias1")
    else:
        emit((A == "eco-350100") & (T == "HB2026-02"), "eco-350100", "生态环境抽查_HB2026-02.parquet", "parquet", "alias1")
    emit(A == "yjj-350100", "yjj-350100", "yjj_draw_2026.parquet", "parquet", "canonical")
    emit((A == "wjw-350100") & (V == 0), "wjw-350100", "wjw_draw_2026.csv", "csv", "canonical", date_style=3)
    emit((A == "wjw-350100") & (V == 1), "wjw-350100", "wjw_adjusted.csv", "csv", "canonical", date_style=0, later_days=10,
         note="re-draws task WJ2026-01: replaces its earlier rows (later mtime; name sorts first)")
    return draws


# =========================================================================== links
LINK_HEADERS = ["数据类型", "部门", "任务编号", "企业名称", "统一社会信用代码", "确认主体", "确认人", "确认日期", "备注"]


def write_links(land: Landing, draws: pd.DataFrame, pool: pd.DataFrame) -> None:
    """A data steward's links file (docs/matching.md, "The steward's loop"): one row deciding each
    draw row planted ambiguous for it (note ``steward``: its enterprise), and one linking the
    unregistered USCC's row to that USCC — the pool does not hold it, so it is quarantined
    (enterprise_not_in_pool)."""
    rows: list[list[str]] = []
    reasons: list[str] = []
    for _, d in draws.loc[draws["note"] == "steward"].iterrows():
        rows.append(["draw_list", d["agency"], d["task_id"], d["name"], "", pool.at[d["pool_idx"], "enterprise_id"],
                     "林审核", "2026-05-06", "电话核实：地址与登记住所一致"])
        reasons.append("")
    for _, d in draws.loc[draws["note"] == "not_in_pool"].head(1).iterrows():
        rows.append(["抽取名单", AGENCY_NAMES.get(d["agency"], d["agency"]), d["task_id"], d["name"], d["uscc"], d["uscc"],
                     "林审核", "2026-05-06", "名单上的代码"])
        reasons.append("enterprise_not_in_pool")
    if not rows:
        return
    columns = [np.array([r[i] for r in rows], dtype=object) for i in range(len(LINK_HEADERS))]
    land.write("samr-350102", "links", "人工确认.csv", "csv", LINK_HEADERS, columns,
               reasons=np.array(reasons, dtype=object), later_days=1,
               note="a steward's decisions: one ambiguous draw row decided, one link to an enterprise not in the pool")
