"""An ID number split across the values of a JSON column (``extra``, ``raw``) is masked,
and the data test that guards those columns looks at the same thing in the same way.

Two columns outside the contract may each hold part of a number (its first 12 digits
under ``证件号前段``, its last 6 under ``证件号后段``), as may two elements of an array: each part
alone is no ID number, the published JSON shows them side by side. ``mask_personal_json``
(dbt_project/macros/value_rules.sql) masks them through ``connectors.personal.split_id_spans``,
decided on the values before any masking; ``json_holds_id_number`` (the ``no_full_id_number``
data test with ``json=true``) asks the same function about what is published.

The checks below read the masked values with a check of their own (``joined_ids``: the
values concatenated in order, any valid 18- or 15-character number in them), not with the
masking code's rule.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn.ric import calc_check_digit

from connectors import personal
from tests.leak_detector import scan_rows, split_numbers_in
from tests.support import make_id_no, make_reg_no, make_uscc
from tests.unit.test_personal_udfs import sql_batch
from tests.unit.test_value_rules import json_expr, orgcode_check

provinces = st.sampled_from(sorted(personal.PROVINCES))
births = st.dates(date(1900, 1, 1), date(2099, 12, 31))
ids_18 = st.builds(lambda p, born, seq: make_id_no(f"{p}0102{born:%Y%m%d}{seq}"),
                   provinces, births, st.from_regex(r"[0-9]{3}", fullmatch=True))
ids_15 = st.builds(lambda p, born, seq: f"{p}0102{born:%y%m%d}{seq}",
                   provinces, st.dates(date(1900, 1, 1), date(1999, 12, 31)), st.from_regex(r"[0-9]{3}", fullmatch=True))
ids = st.one_of(ids_18, ids_15)


def _real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def joined_ids(values) -> set[str]:
    """Valid ID numbers in the values' text concatenated in order, white space and dashes
    ignored: a province code and a birth date, and 18 characters with the right check
    character or 15 digits (these may come from honest dates side by side)."""
    text = unicodedata.normalize("NFKC", "".join(v for v in values if isinstance(v, str)))
    text = re.sub(r"[\s\-]", "", text)
    found = set()
    for run in re.findall(r"[0-9]{15,}[Xx]?", text):
        run = run.upper()
        for i in range(len(run) - 14):
            w18, w15 = run[i:i + 18], run[i:i + 15]
            if len(w18) == 18 and w18[:2] in REGIONS and _real_date(w18[6:14]) and calc_check_digit(w18) == w18[17]:
                found.add(w18)
            if w15.isdigit() and w15[:2] in REGIONS and _real_date("19" + w15[6:12]):
                found.add(w15)
    return found


REGIONS = {f"{d}" for d in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                            50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83)}


def leaves(value) -> list:
    """The strings of a JSON value in the order they are written (a string that holds JSON: its own)."""
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except ValueError:
            return [value]
        return leaves(inner) if isinstance(inner, (dict, list)) else [value]
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return [] if value is None else [str(value)]


def another_number_beside(number: str, values: list) -> bool:
    """Whether the digits of the values, in order, hold an ID number other than ``number`` that takes
    digits from beside it: the tail of a split number and an amount's digits can make a 15-digit one
    (503040000 + 1200.50 → 503040000120050, born 1900-01-20). The masking masks that one too (the
    safe side), so the values beside do not stay whole then."""
    digits = "".join(re.sub(r"[^0-9Xx]", "", str(v)) for v in values if v is not None)
    at = digits.find(number)
    return any(personal.is_id_number(digits[i:i + size], strict=True)
               for size in (18, 15) for i in range(len(digits) - size + 1)
               if (i, size) != (at, 18) and (i < at or i + size > at + 18))


def masked(obj, personal_keys="[]::varchar[]") -> str:
    return json_expr("mask_personal_json", json.dumps(obj, ensure_ascii=False), personal_keys)


def holds(text: str) -> bool:
    return json_expr("json_holds_id_number", text)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(ids, st.data(), st.sampled_from(["", "证件 ", "号码：", "2026-01-01 "]), st.sampled_from(["", " 已核", "号"]),
       st.sampled_from(["columns", "array", "nested"]), st.booleans())
def test_an_id_number_split_at_any_point_is_masked(number, data, before, after, shape, beside):
    """Whatever the split point, the text around the halves, and a date or amount beside them."""
    cut = data.draw(st.integers(1, len(number) - 1))
    head, tail = before + number[:cut], number[cut:] + after
    if shape == "columns":
        obj = {"前段": head, "后段": tail}
    elif shape == "array":
        obj = {"号码": [head, tail]}
    else:
        obj = {"联系人": {"姓名": "蒋九", "一": head, "二": tail}}
    if beside:
        obj = {"登记日期": "2026-01-01", **obj, "金额": "1200.50", "电话": "0591-87654321"}
    assert number in joined_ids(leaves(obj))  # the premise: the published values would show it
    assert holds(json.dumps(obj, ensure_ascii=False)) is True
    out = masked(obj)
    found = joined_ids(leaves(json.loads(out)))
    assert number not in found and not any(len(n) == 18 for n in found), out
    assert holds(out) is False
    assert not scan_rows("extra", ["extra"], [(json.loads(out),)])
    if beside and not another_number_beside(number, leaves(obj)):
        # the dates, amounts and phone numbers beside it stay as they are
        kept = json.loads(out)
        assert (kept["登记日期"], kept["金额"], kept["电话"]) == ("2026-01-01", "1200.50", "0591-87654321")


def test_the_finding_as_reported():
    number = make_id_no("11010119900307123")
    obj = {"证件号前段": number[:12], "证件号后段": number[12:], "备注": "无"}
    out = masked(obj)
    assert number[:12] not in out and number not in "".join(json.loads(out).values())
    assert holds(json.dumps(obj, ensure_ascii=False)) is True and holds(out) is False
    # headers naming no identity document: the halves are masked as one number is
    out = json.loads(masked({"前段": number[:12], "后段": number[12:]}))
    assert out == {"前段": number[:4] + "*" * 8, "后段": "*" * 2 + number[-4:]}


ADJACENT_HONEST = [
    {"成立日期": "20260101", "核准日期": "2026-12-31", "注册资本": "500", "电话": "13800138000"},
    {"a": "2026-01-01", "b": "2026-12-31", "c": 13800138000, "d": 1200.5, "e": None, "f": {"g": 1}},
    {"统一社会信用代码": make_uscc("91350100MA2Y00007"), "注册号": make_reg_no("35010210000001"), "邮编": "350001"},
    # 18 digits, both check characters right: kept readable beside a date and a number
    {"统一社会信用代码": make_uscc("91350100" + "37669050" + orgcode_check("37669050")), "日期": "2024-03-05",
     "序号": "7"},
    {"金额": ["1200.50", "3310.00", "20260101", "20261231"]},
    {"电话": "0591-87654321", "手机": "13905910000", "传真": "0591-87654322"},
]


@pytest.mark.parametrize("obj", ADJACENT_HONEST)
def test_adjacent_honest_numbers_are_kept(obj):
    text = json.dumps(obj, ensure_ascii=False)
    assert not any(len(n) == 18 for n in joined_ids(leaves(obj)))  # the premise: side by side, no valid number
    assert json.loads(masked(obj)) == obj
    assert holds(text) is False


def test_honest_numbers_that_join_into_a_valid_number_are_masked():
    """When in doubt, mask: 330000 then 20260101 then 2026… read 330000 20260101 2026, a region,
    a birth date and the right check character — an ID number as far as anyone can tell."""
    obj = {"金额": ["1200", "330000", "20260101", "20261231"]}
    assert "330000202601012026" in joined_ids(leaves(obj))
    out = json.loads(masked(obj))
    assert json.loads(out["金额"]) == ["1200", "3300**", "********", "20261231"]


# -- what the masking leaves never trips the data test

digits = st.text(alphabet="0123456789", min_size=1, max_size=18)
value = st.one_of(
    st.none(),
    digits,
    st.integers(0, 10 ** 15),
    st.builds(lambda d: d.isoformat(), births),
    st.builds(lambda d: f"{d:%Y%m%d}", births),
    st.builds(lambda n, cut, left: n[:cut] if left else n[cut:], ids, st.integers(1, 17), st.booleans()),
    ids,
    st.text(alphabet="0123456789 -*甲X", max_size=20),
)
objects = st.dictionaries(st.text(alphabet="abc备注号码12", min_size=1, max_size=4),
                          st.one_of(value, st.lists(value, max_size=4)), max_size=7)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(objects)
def test_what_mask_personal_json_leaves_never_trips_the_data_test(obj):
    out = masked(obj)
    assert holds(out) is False, out


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(alphabet="abc备注12", min_size=1, max_size=4),
                       st.one_of(value, st.floats(allow_nan=False, allow_infinity=False), st.lists(value, max_size=4),
                                 st.lists(value, max_size=3).map(json.dumps)), max_size=7))
def test_the_guard_never_skips_an_object_the_masking_would_change(obj):
    """mask_personal_json_guarded lets an object without a digit run or a personal header through
    as it is unless json_may_hold_split_id (Python) says it may hold a split number: never where
    mask_personal_json would mask one."""
    text = json.dumps(obj, ensure_ascii=False)
    guarded = json_expr("mask_personal_json_guarded", text)
    assert json.loads(guarded) == json.loads(json_expr("mask_personal_json", text)), (text, guarded)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(value, value.map(lambda v: v if v is None else str(v))).map(
    lambda v: v if v is None else str(v)), max_size=8))
def test_masked_values_hold_no_split_id_number_by_the_same_rule(values):
    alone = [personal.mask_text(v) for v in values]
    out = personal.mask_split_ids(values, alone)
    assert not personal.holds_split_id(out), out
    assert all(o is None or len(o) == len(v) for o, v in zip(out, values))


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(value.map(lambda v: v if v is None else str(v)), max_size=6), min_size=1, max_size=10))
def test_the_sql_functions_are_the_python_ones(rows):
    """mask_split_ids and holds_split_id in SQL (macros over Python, guarded by RE2), run on a
    batch of rows, give connectors.personal's results."""
    from tests.unit.test_personal_udfs import con

    alone = [[personal.mask_text(v) for v in row] for row in rows]
    nested = [[False] * len(row) for row in rows]
    got = con().execute(
        "select mask_split_ids(t, m, n), holds_split_id(t, n) from (select unnest($1::varchar[][]) as t, "
        "unnest($2::varchar[][]) as m, unnest($3::boolean[][]) as n, generate_subscripts($1::varchar[][], 1) as i) "
        "order by i", [rows, alone, nested]).fetchall()
    assert got == [(personal.mask_split_ids(r, a, n), personal.holds_split_id(r, n)) for r, a, n in zip(rows, alone, nested)]


def test_split_id_guard_pattern_never_misses():
    """The RE2 guard (15 digits in all) lets through every list the Python rule finds a split number in."""
    number = make_id_no("35010219800101124")
    values = [f"x{number[:5]}", f"{number[5:]}y"]
    assert personal.holds_split_id(values)
    assert sql_batch("regexp_matches(v, ssj_split_id_pattern())", ["".join(values), "1" * 14, "1" * 15]) == [True, False, True]


# -- a hostile value never stops the run

HOSTILE = [
    "[" * 1000,
    "{" * 1000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "[" * 100000 + "]" * 100000,
    "1" * 200000,
    "\ud800" + "350102" + "\udfff",
    "null",
    "123456789012345678",
    '"a string"',
    "[1, 2, 3]",
    "",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_never_raise(text):
    number = make_id_no("35010219800101123")
    for texts in ([text], [text, number[:12], number[12:]], [number[:12], text, number[12:]]):
        for nested in (None, [True] * len(texts)):
            out = personal.mask_split_ids(texts, [personal.mask_text(t) for t in texts], nested)
            assert len(out) == len(texts)
            assert number not in "".join(o or "" for o in out)
            assert isinstance(personal.holds_split_id(texts, nested), bool)
    assert isinstance(personal.json_may_hold_split_id(text), bool)
    assert isinstance(personal.json_may_hold_split_id(json.dumps({"a": text, "b": [text]})), bool)


def test_deep_brackets_beside_a_date_are_masked_in_sql():
    obj = {"备注": "[" * 1000, "电话": "0591-87654321", "日期": "2026-01-01"}
    text = json.dumps(obj, ensure_ascii=False)
    assert json.loads(json_expr("mask_personal_json_guarded", text)) == obj
    assert holds(text) is False


def test_an_unexpected_error_masks_every_digit(monkeypatch):
    def broken(*_):
        raise MemoryError

    monkeypatch.setattr(personal, "split_id_spans", broken)
    texts = ["甲350102", "19800101", None, "1234X"]
    assert personal.mask_split_ids(texts, list(texts)) == ["甲******", "********", None, "****X"]
    assert personal.holds_split_id(texts) is True and personal.holds_split_id(["甲", None]) is False
    monkeypatch.setattr(personal, "_json_may_hold_split_id", broken)
    assert personal.json_may_hold_split_id('{"a": "1"}') is True


def _one_digit_per_element(size: int) -> list[str]:
    number = make_id_no("35010219800101123")
    element = json.dumps(list(number) + ["2026", "01", "01"])[1:-1] + ", "
    return [("[" + element * (size // len(element)) + '"1"]')]


def test_masking_time_grows_linearly_with_the_pieces():
    """An array with one element per digit: 1 MB is masked in seconds, not in minutes; four
    times the values take about four times as long."""
    import time

    times = {}
    for size in (100_000, 400_000, 1_000_000):
        texts = _one_digit_per_element(size)
        started = time.perf_counter()
        out = personal.mask_split_ids(texts, list(texts), [True])
        times[size] = time.perf_counter() - started
        assert not personal.holds_split_id(out, [True])
        assert out[0].count("*") > size // 20
    assert times[1_000_000] < 30, times  # quadratic: some twenty minutes
    assert times[400_000] < 8 * times[100_000] + 1, times


def _shown(text: str) -> str:
    return text[:4] + "*" * max(len(text) - 8, 0) + text[-4:]


@pytest.mark.parametrize("shape", ["star_before", "star_between", "stars_inside"])
def test_a_mask_character_parts_only_the_digits_beside_it(shape):
    number = make_id_no("11010119900307123")
    obj = {"star_before": {"前段": "*" + number[:12], "后段": number[12:]},
           "star_between": {"前段": number[:12], "x": "*", "后段": number[12:]},
           "stars_inside": {"前段": "**" + number[:12], "注": "***", "后段": number[12:] + "*"}}[shape]
    text = json.dumps(obj, ensure_ascii=False)
    assert split_numbers_in(obj) == [number], _shown(number)  # the premise: a reader finds it
    assert holds(text) is True
    out = masked(obj)
    assert not split_numbers_in(out) and number[4:14] not in out, _shown(number)
    assert holds(out) is False and not scan_rows("extra", ["extra"], [(json.loads(out),)])


@pytest.mark.parametrize("x", ["X", "x", "Ｘ", " X", "ｘ"])
def test_a_check_character_alone_in_its_value_counts(x):
    for body in ("11010119900307001", "35010219800101002", "44030119851231003", "32010219700605004"):
        number = make_id_no(body)
        if number.endswith("X"):
            break
    assert number.endswith("X")
    obj = {"a": number[:12], "b": number[12:17], "c": x}
    assert holds(json.dumps(obj, ensure_ascii=False)) is True
    out = json.loads(masked(obj))
    assert out["a"] == number[:4] + "*" * 8 and out["b"].startswith("**") and out["c"] == x, _shown(number)
    assert not split_numbers_in(out)
    assert holds(json.dumps(out, ensure_ascii=False)) is False


def test_neighbours_of_a_value_masked_whole_are_checked_again():
    """A value whose digits are all starred drops out of the joined values, as a reader drops
    it: its neighbours, side by side now, are read again, and masked where they make a number.
    Here W (110101…) is cut into three values; once its middle value is starred, the first
    value (3501021990 and W's first 4) and the last (W's last 4) make another number."""
    for day in range(1, 29):
        w = make_id_no(f"110101199003{day:02d}123")
        v = "3501021990" + w[:4] + w[14:]
        if personal.is_valid_id_number(v):
            break
    assert personal.is_valid_id_number(v)
    values = ["3501021990" + w[:4], w[4:14], w[14:]]
    out = personal.mask_split_ids(values, [personal.mask_text(x) for x in values])
    assert out[1] == "*" * 10
    assert not personal.holds_split_id(out) and not split_numbers_in(json.dumps(out)), out[0][:4]
    obj = dict(zip("abc", values))
    out = json.loads(masked(obj))
    assert holds(json.dumps(out)) is False and not split_numbers_in(out)


# -- nested values are read as a reader reads them: unescaped, a string holding JSON element by element

def test_a_json_string_inside_a_nested_value_is_read_element_by_element():
    number = make_id_no("35010219800101123")
    obj = {"联系人": {"证件": json.dumps([number[:12], number[12:]])}}
    text = json.dumps(obj, ensure_ascii=False)
    assert holds(text) is True and personal.json_may_hold_split_id(text) is True
    out = masked(obj)
    assert number[4:12] not in out and holds(out) is False, _shown(number)
    inner = json.loads(json.loads(json.loads(out)["联系人"])["证件"])
    assert inner == [number[:4] + "*" * 8, "**" + number[14:]]


def test_an_escape_is_never_read_as_digits():
    """A control character inside a nested value is written \\u0011: its digits are not the value's."""
    number = make_id_no("11010119900307123")  # \u0011 ends in the number's first two digits
    obj = {"备注": {"x": "甲\x11", "y": number[2:12], "z": number[12:]}}
    text = json.dumps(obj, ensure_ascii=False)
    assert personal.json_may_hold_split_id(text) is False
    assert json.loads(json_expr("mask_personal_json", text)) == obj
    assert holds(text) is False
    texts = [json.dumps(obj["备注"])]
    assert personal.mask_split_ids(texts, texts, [True]) == texts


json_text = st.text(alphabet="0123456789 \"\\\x11\x00\n\t*X甲-", max_size=12)
leaf = st.one_of(value, json_text, st.builds(lambda n, cut: n[:cut] + "\x11" + n[cut:], ids, st.integers(1, 17)),
                 # a number broken by white space JSON writes as an escape (\n, \t, \r, \f)
                 st.builds(lambda n, cut, gap: n[:cut] + gap + n[cut:], ids, st.integers(1, 17),
                           st.sampled_from(["\n", "\t", "\r\n", " \n", "\f"])))
# an ID number of region 11-15 whose first two digits are those of a control character's escape
escaped_head = st.builds(
    lambda p, born, seq, cut: (lambda n: {"x": "甲" + chr(int(n[:2], 16)), "y": n[2:cut], "z": n[cut:]})(
        make_id_no(f"{p}0102{born:%Y%m%d}{seq}")),
    st.sampled_from(["11", "12", "13", "14", "15"]), births, st.from_regex(r"[0-9]{3}", fullmatch=True),
    st.integers(3, 17))
leaf = st.one_of(leaf, escaped_head)
nested_values = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(alphabet="ab1", min_size=1, max_size=2), inner, max_size=4),
    st.lists(inner, max_size=3).map(json.dumps)), max_leaves=12)
nested_objects = st.dictionaries(st.text(alphabet="ab备1", min_size=1, max_size=3), nested_values, max_size=5)


def _as_the_sql_passes(obj: dict, ascii: bool) -> tuple[list, list]:
    texts, nested = [], []
    for v in obj.values():
        if isinstance(v, (dict, list)):
            texts.append(json.dumps(v, ensure_ascii=ascii))
            nested.append(True)
        elif v is not None:
            texts.append(str(v))
            nested.append(False)
    return texts, nested


@settings(max_examples=200, deadline=None)
@given(nested_objects, st.booleans())
def test_the_guard_the_masking_and_the_check_read_nested_values_alike(obj, ascii):
    """Escapes (\\u0011, \\", \\\\, \\u7532) in nested values and strings holding JSON: where the
    guard says no, the masking changes nothing and the check finds nothing; what the masking
    returns, the check never flags."""
    texts, nested = _as_the_sql_passes(obj, ascii)
    out = personal.mask_split_ids(texts, [personal.mask_text(t) for t in texts], nested)
    assert not personal.holds_split_id(out, nested), out
    if not personal.json_may_hold_split_id(json.dumps(obj, ensure_ascii=ascii)):
        assert not personal.holds_split_id(texts, nested)
        assert personal.mask_split_ids(texts, texts, nested) == texts


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(nested_objects)
def test_the_guard_never_skips_a_nested_object_the_masking_would_change(obj):
    text = json.dumps(obj, ensure_ascii=False)
    guarded = json_expr("mask_personal_json_guarded", text)
    assert json.loads(guarded) == json.loads(json_expr("mask_personal_json", text)), (text, guarded)
    assert holds(guarded) is False, guarded


@pytest.mark.parametrize("gap", ["\n", "\t", "\r\n", "\f", " \n "])
@pytest.mark.parametrize("shape", ["value", "nested object", "array", "string holding JSON", "nested key",
                                   "key in an array", "key in a string holding JSON"])
def test_a_number_an_escape_hides_is_masked(gap, shape):
    """A line break or tab inside an ID number: JSON writes it as an escape (``\\n``), so the
    text as written shows no digit run, but a reader of the value sees one."""
    number = make_id_no("11010519491231002")
    broken = number[:9] + gap + number[9:]
    value = {"value": broken, "nested object": {"a": broken}, "array": ["甲", broken],
             "string holding JSON": json.dumps({"a": broken}), "nested key": {broken: "v"},
             "key in an array": [{broken: 1}], "key in a string holding JSON": json.dumps({broken: 1})}[shape]
    text = json.dumps({"备注": value}, ensure_ascii=False)
    assert holds(text) is True
    for macro in ("mask_personal_json", "mask_personal_json_guarded"):
        masked = json_expr(macro, text)
        assert holds(masked) is False, macro
        assert number[:4] in masked and number[9:] not in masked.replace(gap.encode("unicode_escape").decode(), "")
    texts = [value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)]
    nested = [shape in ("nested object", "array", "nested key", "key in an array")]
    assert personal.holds_split_id(texts, nested) is (shape != "value")


def test_a_broken_unicode_escape_is_read_as_a_letter():
    """``\\u`` without four hex digits is no escape a reader would decode: read as it stands,
    the digits beside it still count, and nothing raises."""
    number = make_id_no("11010519491231002")
    texts = ['{"a": "\\uZZ ' + number + '"}']
    assert personal.split_id_spans(texts, [True]) == []  # a run mask_text sees as written
    assert personal.holds_split_id(["{\"a\": \"\\uZZ 12\"}"], [True]) is False
