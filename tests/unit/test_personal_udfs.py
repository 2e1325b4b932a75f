"""The personal-data functions the SQL uses (pipelines/udfs.py) give exactly
connectors.personal's results: one definition, called from SQL.

Values are run in batches (one query, one Arrow call) mixing clean text, ID
numbers in every spelling and NULLs, so the RE2 prefilter and the put-back of the
Python results into the batch are exercised, not only single values."""

from __future__ import annotations

from datetime import date
from functools import cache

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import personal
from connectors.feeds import feeds, fold_header, map_headers
from pipelines.udfs import register
from tests.support import make_id_no


@cache
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    register(c)
    return c


def sql_batch(expression: str, values: list[str | None]) -> list:
    """The SQL ``expression`` over ``v`` for each of ``values``, in one query, results in input order.
    A bare function name stands for ``name(v)``."""
    expression = expression if "(" in expression else f"{expression}(v)"
    rows = con().execute(
        f"select {expression} from (select unnest($1::varchar[]) as v, generate_subscripts($1::varchar[], 1) as i) "
        "order by i", [values]).fetchall()
    return [r[0] for r in rows]


FULL_WIDTH = "".join(chr(0xFF10 + i) for i in range(10))
SEPARATORS = " \u00a0\u3000-\u2010\u2013\u2014\uff0d\n\t./_，、(（;；|｜"  # ; ； | ｜: a number cut across list elements
OTHER_DIGITS = "٣۵०৩๓𝟑𝟗³¹①⑨½"  # Arabic-Indic, Devanagari, Bengali, Thai, mathematical, superscript, circled; ½ is no digit
pieces = st.text(alphabet="0123456789" + FULL_WIDTH + OTHER_DIGITS + SEPARATORS + "XxＸｘ甲乙住所abc,;:（）", max_size=40)
id_numbers = st.builds(
    lambda province, born, seq: make_id_no(f"{province}0102{born:%Y%m%d}{seq}"),
    st.sampled_from(sorted(personal.PROVINCES)), st.dates(date(1900, 1, 1), date(2100, 12, 31)),
    st.from_regex(r"[0-9]{3}", fullmatch=True))


@st.composite
def spelled(draw, number):
    """An ID number as people write it: full-width digits, a separator between groups, x for X."""
    chars = [FULL_WIDTH[int(c)] if c.isdigit() and draw(st.booleans()) else c for c in number]
    cuts = sorted(draw(st.sets(st.sampled_from([6, 10, 14]), max_size=3)), reverse=True)
    sep = draw(st.sampled_from(SEPARATORS)) * draw(st.integers(1, personal.MAX_GAP))
    for cut in cuts:
        chars.insert(cut, sep)
    return "".join(chars).replace("X", draw(st.sampled_from("XxＸｘ")))


texts = st.one_of(
    st.none(),
    pieces,
    st.tuples(pieces, id_numbers.flatmap(spelled), pieces).map("".join),
    # plain runs of 15-20 digits: first-generation numbers, and runs that are no ID number
    st.tuples(pieces, st.from_regex(r"[0-9]{15,20}", fullmatch=True), pieces).map("".join),
)
batches = st.lists(texts, min_size=1, max_size=25)


@settings(max_examples=200, deadline=None)
@given(batches)
def test_mask_personal_is_mask_text(values):
    assert sql_batch("mask_personal", values) == [personal.mask_text(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(batches)
def test_has_id_number_is_has_id_number(values):
    assert sql_batch("has_id_number", values) == [personal.has_id_number(v) for v in values]


@settings(max_examples=100, deadline=None)
@given(batches)
def test_mask_personal_value_is_mask_value(values):
    assert sql_batch("mask_personal_value", values) == [personal.mask_value(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(batches)
def test_the_sql_guard_pattern_never_misses_a_run(values):
    """``regexp_matches(v, ssj_id_run_pattern())`` in DuckDB is true wherever Python finds a run (a guard
    may let more through, never less)."""
    got = sql_batch("regexp_matches(v, ssj_id_run_pattern())", values)
    for value, guarded in zip(values, got):
        assert guarded is None if value is None else (guarded or not personal.runs(value))


headers = st.one_of(
    st.sampled_from(["身份证号码", "法定代表人身份证号码", "证件号码", "公民身份号码", "ID No", "id_number", "IDCard",
                     "Passport", "sfz", "id\u3000no", "ID\u00a0card", "备注", "序号", "idea", "注册号", "统一社会信用代码"]),
    st.text(alphabet="身份证件号码护照idnocardIDNOpassport _-\u3000\u00a0甲", max_size=14),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(headers, min_size=1, max_size=20))
def test_is_personal_header_and_its_guard(values):
    expected = [personal.is_personal_header(v) for v in values]
    assert sql_batch("is_personal_header", values) == expected
    guarded = sql_batch("regexp_matches(v, ssj_personal_header_pattern())", values)
    # the guard may let more through, never less
    assert all(g for g, e in zip(guarded, expected) if e)


def test_code_headers_and_personal_columns_come_from_feeds_yaml():
    code_headers = {fold_header(h) for f in feeds().values() for c in f.columns
                    if c.type in ("uscc", "reg_no") for h in c.accepted_headers}
    assert {"uscc", "reg_no", "注册号", "统一社会信用代码"} <= code_headers
    assert sql_batch("is_code_header", ["注册号", " 注册号 ", "USCC", "备注", None]) == [True, True, True, False, False]
    for name, feed in feeds().items():
        got = con().execute("select ssj_personal_columns($1)", [name]).fetchone()[0]
        assert got == feed.personal
    assert con().execute("select ssj_personal_columns('registration')").fetchone()[0] == ["legal_rep"]
    assert con().execute("select ssj_personal_columns('inspectors')").fetchone()[0] == ["id_no"]


def test_a_clean_batch_never_reaches_python(monkeypatch):
    """Values without a digit run are answered by the RE2 scan alone."""
    calls = []
    for name in ("mask_text", "has_id_number"):
        original = getattr(personal, name)
        monkeypatch.setattr(personal, name, lambda v, _o=original: calls.append(v) or _o(v))
    values = ["福州市鼓楼区五四路 100 号", "电话 0591-12345678", None, "食品；药品"] * 50
    assert sql_batch("mask_personal", values) == values
    assert sql_batch("has_id_number", values) == [False] * len(values)
    assert calls == []
    number = make_id_no("35010219900101123")
    assert sql_batch("has_id_number", values + [f"身份证 {number}"])[-1] is True
    assert calls == [f"身份证 {number}"]


ID_HEADERS = ("身份证号", "身份证号码", "公民身份号码", "公民身份证号码", "居民身份证号码", "身份证件号码", "证件号码", "身份证")


def test_the_headers_people_write_for_an_id_number_map_to_id_no():
    inspectors = feeds()["inspectors"]
    for header in ID_HEADERS:
        mapped = map_headers(inspectors, ["执法证号", "姓名", header, "所属单位"])
        assert mapped.canonical == {0: "cert_no", 1: "name", 2: "id_no", 3: "agency_name"}, header
        assert personal.is_personal_header(header)
    # the certificate's own numbers stay cert_no, whichever comes first
    for cert in ("证件编号", "执法证件号"):
        assert map_headers(inspectors, ["证件号码", cert, "姓名", "所属单位"]).canonical[1] == "cert_no"
    # no header is accepted for two columns of a feed
    for feed in feeds().values():
        headers = [fold_header(h) for c in feed.columns for h in c.accepted_headers]
        assert len(headers) == len(set(headers)), feed.name
    # another feed's ID column stays outside the contract, masked whole by its header
    registration = map_headers(feeds()["registration"], ["统一社会信用代码", "企业名称", "法定代表人身份证号码"])
    assert registration.extras == {2: "法定代表人身份证号码"}
    assert personal.is_personal_header("法定代表人身份证号码")


def test_a_number_cut_across_list_elements_is_masked_as_written():
    """A list column is masked in `raw` as written: an ID number split by a list separator is one run there."""
    for sep in ";；|｜":
        written = f"A1{sep}350102199{sep}001011234"
        assert personal.has_id_number(written) and "350102199" not in personal.mask_text(written)


def test_every_digit_python_folds_passes_the_guards_in_duckdb_and_arrow():
    """The RE2 guards (ID_RUN_GUARD_RE2, SPLIT_GUARD_RE2) let a text through to Python when it holds
    a digit other than 0–9 (NON_ASCII_DIGIT_RE2): every character fold_digits turns into a digit
    must be one, in DuckDB's RE2 and in Arrow's (each has its own Unicode tables)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    folded = [chr(c) for c in range(0x80, 0x110000)
              if not 0xD800 <= c <= 0xDFFF and personal.fold_digits(chr(c)) in "0123456789"]
    assert len(folded) > 500
    for guard in (personal.NON_ASCII_DIGIT_RE2, personal.ID_RUN_GUARD_RE2, personal.SPLIT_GUARD_RE2):
        arrow = pc.match_substring_regex(pa.array(folded, pa.string()), guard).to_pylist()
        duck = sql_batch(f"regexp_matches(v, '{guard.replace(chr(39), chr(39) * 2)}')", folded)
        assert all(arrow), [hex(ord(c)) for c, hit in zip(folded, arrow) if not hit][:20]
        assert all(duck), [hex(ord(c)) for c, hit in zip(folded, duck) if not hit][:20]
    assert not any(pc.match_substring_regex(pa.array(list("0123456789")), personal.NON_ASCII_DIGIT_RE2).to_pylist())
