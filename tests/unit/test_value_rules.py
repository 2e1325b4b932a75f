"""Property tests of the value-rule macros (dbt_project/macros/value_rules.sql).

The macros are the only definition of the rules. They use plain Jinja only, so
this test renders the very same file with jinja2 and runs the resulting SQL
expressions in an in-memory DuckDB (with the functions pipelines/udfs.py registers) — no dbt
start-up, and no second copy of the SQL to drift.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from functools import cache

import duckdb
import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.cn import uscc as std_uscc
from stdnum.iso7064 import mod_11_10

from connectors import personal
from pipelines.udfs import register
from tests.support import DBT_DIR

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def ric_check(body17: str) -> str:
    """stdnum.cn.ric.calc_check_digit wants the number WITH a check position (it drops the last char)."""
    return ric.calc_check_digit(body17 + "0")


@cache
def macros():
    return jinja2.Environment().from_string((DBT_DIR / "macros" / "value_rules.sql").read_text("utf-8")).module


@cache
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    register(c)
    return c


def ev(macro: str, value, **kwargs):
    expr = getattr(macros(), macro)("$1::varchar", **kwargs)
    return con().execute(f"select {expr}", [value]).fetchone()[0]


# ------------------------------------------------------------------ check digits


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_uscc_any_body_with_stdnum_check_is_valid(body):
    assert ev("uscc_is_valid", body + std_uscc.calc_check_digit(body)) is True


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17), st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_uscc_single_character_change_is_invalid(body, pos, char):
    code = body + std_uscc.calc_check_digit(body)
    changed = code[:pos] + char + code[pos + 1:]
    # the weights are all non-zero mod 31 (a prime), so any single substitution changes the check
    assert ev("uscc_is_valid", changed) is (changed == code)


def test_uscc_letter_led_codes_are_valid_although_stdnum_rejects_them():
    for body in ("N2350102MA2XXXXX", "Y1350102MA12345", "A1000000MA1234"):
        body = (body + "00000000000000000")[:17]
        code = body + std_uscc.calc_check_digit(body)
        assert ev("uscc_is_valid", code) is True
        assert not std_uscc.is_valid(code)
    assert ev("uscc_is_valid", "91440300085948158H") is True
    assert ev("uscc_is_valid", "91440300085948158I") is False  # I is not in the alphabet
    assert ev("uscc_is_valid", "9144030008594815") is False
    assert ev("uscc_is_valid", None) is False


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789", min_size=14, max_size=14), st.sampled_from("0123456789"))
def test_reg_no_agrees_with_mod_11_10(body, check):
    number = body + check
    assert ev("reg_no_is_valid", number) is mod_11_10.is_valid(number)
    assert ev("reg_no_is_valid", body + mod_11_10.calc_check_digit(body)) is True


def test_reg_no_examples():
    assert ev("reg_no_is_valid", "440301108548379") is True
    assert ev("reg_no_is_valid", "440301108548378") is False
    assert ev("reg_no_is_valid", "44030110854837") is False
    assert ev("reg_no_is_valid", "44030110854837X") is False


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789", min_size=6, max_size=6), birth_dates,
       st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_id_no_check_digit_agrees_with_stdnum(region, born, seq):
    body = region + born.strftime("%Y%m%d") + seq
    check = ric_check(body)
    assert ev("id_no_is_valid", body + check) is True
    for other in "0123456789X":
        if other != check:
            assert ev("id_no_is_valid", body + other) is False


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_id_no_random_digits(body):
    """Valid iff the check digit is stdnum's AND positions 7-14 are a real date (≥ 1900)."""
    number = body + ric_check(body)
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
        expected = born.year >= 1900
    except ValueError:
        expected = False
    assert ev("id_no_is_valid", number) is expected


def test_id_no_region_is_not_checked_and_legacy_15_digits_rejected():
    body = "35010219800101123"  # a Fuzhou district number of someone born 1980
    assert ev("id_no_is_valid", body + ric_check(body)) is True
    bad_date = "35010219800230123"
    assert ev("id_no_is_valid", bad_date + ric_check(bad_date)) is False
    assert ev("id_no_is_valid", "350102800101123") is False  # 15-digit first generation: not accepted


def test_orgcode():
    assert ev("orgcode_is_valid", "085948158") is True
    assert ev("orgcode_is_valid", "085948157") is False


# ------------------------------------------------------------------ text and values


def test_clean_text_and_code():
    assert ev("clean_text", " Ａ　Ｂ \t （中国）\u200b ") == "A B (中国)"
    assert ev("clean_text", "   ") is None
    assert ev("clean_code", " ９１４４-0300 0859 48158h ") == "91440300085948158H"
    assert ev("clean_key", " ssj-2026 01 ") == "SSJ-202601"


# The cleaning rules restated in Python, to check the SQL (which skips the
# replacements when a value holds no white space or zero-width character).
CLEAN_ALPHABET = "ab Z9-_‐—\t\n\r\f\v\u3000\u00a0\u200b\u200c\u200d\ufeffＡａ１（）：；　食品药·"


def _clean_text_reference(s: str) -> str | None:
    t = unicodedata.normalize("NFKC", s)
    t = re.sub("[\u200b-\u200d\ufeff]", "", t)
    t = re.sub("[\t\n\f\r ]+", " ", t).strip(" ")  # RE2's \s: tab, LF, FF, CR, space
    return t or None


def _clean_code_reference(s: str) -> str | None:
    t = unicodedata.normalize("NFKC", s).upper()
    return re.sub("[\t\n\f\r \u200b-\u200d\ufeff\\-‐‑‒–—―]+", "", t) or None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=CLEAN_ALPHABET, max_size=12))
def test_clean_text_and_code_agree_with_reference(text):
    assert ev("clean_text", text) == _clean_text_reference(text)
    assert ev("clean_code", text) == _clean_code_reference(text)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789０１２３,.-/年月日元万人 \u3000是否YNx%％", max_size=14))
def test_parsers_on_cleaned_text_equal_parsers_on_raw_text(text):
    """Staging passes clean_text()'d columns with cleaned=true: the same values as parsing the raw text."""
    for macro in ("parse_date", "parse_money", "parse_int", "parse_number", "parse_ratio", "parse_bool"):
        cleaned = con().execute(f"select {macros().clean_text('$1::varchar')}", [text]).fetchone()[0]
        assert ev(macro, cleaned, cleaned=True) == ev(macro, text), macro


@pytest.mark.parametrize("text", ["2024-03-05", "2024/3/5", "2024.3.5", "20240305", "2024年3月5日", "２０２４年３月５日",
                                  "2024-03-05 10:11:12", "2024/3/5 10:11", "2024-03-05T10:11:12+08:00", " 2024-3-05 "])
def test_parse_date_accepts(text):
    assert ev("parse_date", text) == date(2024, 3, 5)


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13-45", "2024035", "abc", "45356", "1899-12-31", "长期"])
def test_parse_date_rejects(text):
    assert ev("parse_date", text) is None


def test_parse_date_open_ended():
    assert ev("parse_date", "长期有效", open_ended=True) == date(9999, 12, 31)
    assert ev("parse_date", "2030-1-1", open_ended=True) == date(2030, 1, 1)


@pytest.mark.parametrize("text, wan", [("100", 100.0), ("1,000.5", 1000.5), ("100万元", 100.0), ("100万元人民币", 100.0),
                                       ("100万", 100.0), ("1000000元", 100.0), ("５０万元", 50.0), ("1,234,567元", 123.4567),
                                       ("¥200万", 200.0), ("abc", None), ("10万美元", None), ("", None)])
def test_parse_money(text, wan):
    got = ev("parse_money", text)
    assert got == pytest.approx(wan) if wan is not None else got is None


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A[0-9]{1,17}(?:\.[0-9]{1,8})?\Z"))
def test_parse_money_bare_numbers_are_their_value(text):
    """A bare number takes the macro's shortcut (a cast) when it has at most 15 digits and 6
    decimals, and the general rule otherwise: either way it is its own value in 万元."""
    assert ev("parse_money", text) == float(text)
    assert ev("parse_money", text + "万元") == float(text)
    assert ev("parse_money", text + "元") == pytest.approx(float(text) / 10000)


def test_parse_int_and_number():
    assert [ev("parse_int", v) for v in ("35", "1,200", "12.0", "35人", "3.5", "x")] == [35, 1200, 12, 35, None, None]
    assert [ev("parse_number", v) for v in ("85", "92.5", "1e3", ".5", "x")] == [85.0, 92.5, 1000.0, 0.5, None]


@pytest.mark.parametrize("text, ratio", [("0.05", 0.05), (".05", 0.05), ("5%", 0.05), ("5 %", 0.05), ("５％", 0.05),
                                         ("12.5%", 0.125), ("1", 1.0), ("100%", 1.0), ("0", 0.0), ("0%", 0.0),
                                         ("150%", 1.5), ("5", 5.0), ("-5%", -0.05), ("五成", None), ("5%%", None),
                                         ("%", None), ("", None), (None, None)])
def test_parse_ratio_reads_fractions_and_percents(text, ratio):
    """A percent is divided by 100, a fraction is as written; the range is the caller's rule."""
    assert ev("parse_ratio", text) == ratio


def test_split_keys():
    assert ev("split_keys", " ssj-sp-001、SSJ-SP-001；tz 002/ ") == ["SSJ-SP-001", "TZ002"]
    assert ev("split_keys", " ; ") is None
    assert ev("split_keys", None) is None


def test_parse_bool():
    yes = ["是", "Y", "y", "1", "TRUE", "true", "有", "Yes"]
    no = ["否", "N", "n", "0", "False", "无", "NO"]
    assert [ev("parse_bool", v) for v in yes] == [True] * len(yes)
    assert [ev("parse_bool", v) for v in no] == [False] * len(no)
    assert ev("parse_bool", "也许") is None


def test_split_list():
    assert ev("split_list", "食品；药品、食品, 特种设备 | 工业产品/ 化妆品，医疗器械;;") == [
        "食品", "药品", "特种设备", "工业产品", "化妆品", "医疗器械"]
    assert ev("split_list", " ; ") is None
    assert ev("split_list", None) is None


DIVISIONS = "map(['01','05','51','52','13'],['A','A','F','F','C'])"


@pytest.mark.parametrize("raw, code", [("5211", "F5211"), ("F5211", "F5211"), ("F52", "F52"), ("521", "F521"),
                                       ("511", "F511"), ("A511", "A0511"), ("0511", "A0511"), ("5", "A05"),
                                       ("5211.0", "F5211"), ("f 52-11", "F5211"), ("C5211", None), ("F", "F"),
                                       ("99", None), ("abc", None)])
def test_normalize_industry_code(raw, code):
    assert ev("normalize_industry_code", raw, division_map=DIVISIONS) == code


ids = st.builds(
    lambda region, born, seq: (lambda body: body + ric_check(body))(region + born.strftime("%Y%m%d") + seq),
    st.sampled_from(sorted(personal.PROVINCES)).map(lambda p: p + "0102"), birth_dates,
    st.text(alphabet="0123456789", min_size=3, max_size=3),
)
filler = st.text(alphabet="甲乙 ,;:\"{}abc", max_size=12)


def json_expr(macro: str, value, *args) -> object:
    expr = getattr(macros(), macro)("$1::varchar", *args)
    return con().execute(f"select {expr}", [value]).fetchone()[0]


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(ids, ids, filler)
def test_mask_personal_json_masks_personal_values_whole_and_runs_elsewhere(number, other, note):
    reg_no = mod_11_10.calc_check_digit("35010210000001")
    obj = {
        "id_no": f" {number} ",               # a personal column of the feed
        "法定代表人身份证号码": other,          # a header naming an identity document
        "护照号码": "E12345678",
        "备注": f"{note}{number[:6]}-{number[6:14]}-{number[14:]}{note}",
        "注册号": "35010210000001" + reg_no,   # a valid 注册号 stays readable
        "序号": "7",
        "empty": None,
    }
    masked = json.loads(json_expr("mask_personal_json", json.dumps(obj, ensure_ascii=False), "['id_no']"))
    # each value masked on its own, then where digits joined across values make an ID number
    # (rarely, by chance, from these values' digits)
    alone = [personal.mask_value(f" {number} "), personal.mask_value(other), "E123*5678",
             personal.mask_text(obj["备注"]), obj["注册号"], "7", None]
    assert list(masked.values()) == personal.mask_split_ids(list(obj.values()), alone)
    assert (masked["护照号码"], masked["empty"]) == ("E123*5678", None)
    text = json.dumps(masked, ensure_ascii=False)
    assert number not in text and other not in text
    assert json_expr("json_holds_id_number", json.dumps(obj, ensure_ascii=False)) is True
    assert json_expr("json_holds_id_number", text) is False


def test_mask_personal_json_replaces_control_characters_and_leaves_clean_json_alone():
    """PostgreSQL's jsonb refuses even an escaped NUL: raw shows every control character as U+FFFD."""
    out = json_expr("mask_personal_json", '{"a":"x\u0085y\u007f","b":"\\u0001","c":"\\u0000","d":"tab\\there"}')
    assert json.loads(out) == {"a": "x\ufffdy\ufffd", "b": "\ufffd", "c": "\ufffd", "d": "tab\there"}
    assert not re.search("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]|\\\\u00(?:0[0-8be]|1)", out)
    assert json_expr("mask_personal_json_guarded", '{"备注":"无"}') == '{"备注":"无"}'  # no run, no header: as is
    assert json_expr("mask_personal_json", None) is None
    assert json_expr("mask_personal_json", "not json") is None


def test_keys_that_mask_alike_are_numbered_and_no_key_stops_the_row():
    """Two headers differing only inside an ID number, or by a control character, mask to one key."""
    a, b = "350102199001011234", "350102188801011234"
    obj = {f"联系 {a}": "x", f"联系 {b}": "y", "k\u0001": "1", "k\u0002": "2", "n": a}
    out = json_expr("mask_personal_json", json.dumps(obj, ensure_ascii=False))
    key = personal.mask_text(f"联系 {a}")
    assert key == personal.mask_text(f"联系 {b}")  # the premise: the two keys mask alike
    assert json.loads(out) == {key: "x", f"{key}_2": "y", "k\ufffd": "1", "k\ufffd_2": "2", "n": personal.mask_text(a)}
    assert a not in out and b not in out
    # a key crafted to be the number another key gets: both kept, the row still stages
    crafted = json.dumps({f"联系 {a}": "x", f"联系 {b}": "y", f"{key}_2": "z"}, ensure_ascii=False)
    assert json_expr("mask_personal_json", crafted).count(f'"{key}_2"') == 2


def orgcode_check(body8: str) -> str:
    """GB 11714's check character, written out here to build test codes."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    check = (11 - sum(alphabet.index(c) * w for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2))) % 11) % 11
    return "X" if check == 10 else str(check)


def test_an_enterprise_code_is_kept_under_a_code_header_only():
    org = "37669050" + orgcode_check("37669050")
    assert ev("orgcode_is_valid", org) is True and org.isdigit()
    uscc = "91350100" + org + std_uscc.calc_check_digit("91350100" + org)  # 18 digits, both checks right
    for header in ("uscc", "统一社会信用代码"):
        assert json.loads(json_expr("mask_personal_json", json.dumps({header: uscc}))) == {header: uscc}
    assert json.loads(json_expr("mask_personal_json", json.dumps({"备注": uscc}))) == {"备注": personal.mask_text(uscc)}
    # an ID number that passes the USCC check by chance (once in 31) but not its 组织机构代码's: masked anywhere
    number = "12010220580215156X"
    assert std_uscc.calc_check_digit(number[:17]) == number[-1] and ev("orgcode_is_valid", number[8:17]) is False
    out = json.loads(json_expr("mask_personal_json", json.dumps({"统一社会信用代码": number, "备注": number})))
    assert out == {"统一社会信用代码": personal.mask_text(number), "备注": personal.mask_text(number)}
    assert json_expr("json_holds_id_number", json.dumps({"统一社会信用代码": number})) is True
    assert json_expr("json_holds_id_number", json.dumps({"统一社会信用代码": uscc, "备注": "无"})) is False


def screen(texts, codes, json_text=None):
    """screen_texts over the row (a, b_text, c) of texts and (k) of codes, with JSON ``json_text``."""
    expr = macros().screen_texts(["a", ("b", "b_text"), ("c", "array_to_string(c, chr(10))")], codes=["k"], json="e")
    row = "select $1::varchar a, $2::varchar b_text, $3::varchar[] c, $4::varchar k, $5::varchar e"
    found = con().execute(f"select {expr} from ({row})", [*texts, *codes, json_text]).fetchone()[0]
    return found or {"personal_id": None, "control": None}  # NULL: the scans found nothing


CLEAN = {"personal_id": None, "control": None}


def test_screen_texts_names_the_columns_holding_an_id_number():
    number = "350102199001011234"
    assert screen(["甲", None, ["乙"]], ["K-1"]) == CLEAN
    assert screen(["甲 " + number, "３５０１０２１９９００１０１１２３４", ["乙", "3501 0219 9001 0112 34"]], [number]) == {
        "personal_id": ["a", "b", "c"], "control": None}  # a code is not screened for ID numbers
    assert screen(["电话 13800000000 卡号 6222000000000000000", None, None], [None]) == CLEAN  # long runs, no ID
    assert screen(["350102900101123", "2024-03-05", None], [None]) == {"personal_id": ["a"], "control": None}


def test_screen_texts_passes_over_a_clean_row_in_one_scan():
    """Texts are joined for the scan by a character no digit run spans: a row of dates (2024-03-05,
    2024-03-20: 16 digits and separators, were they joined by a list separator) is clean at once,
    without a column looked at or Python called (the struct is NULL)."""
    expr = macros().screen_texts(["a", "b", ("c", "array_to_string(c, chr(10))")])
    row = "select $1::varchar a, $2::varchar b, $3::varchar[] c"
    assert con().execute(f"select {expr} from ({row})", ["2024-03-05", "2024-03-20", ["闽执39012", "2024-04-01"]]
                         ).fetchone()[0] is None


def test_screen_texts_names_the_columns_holding_a_control_character():
    assert screen(["tab\tline\nform\freturn\r", "ok", None], ["K"], '{"k":"a\\\\b\\\\u0001\\t\\f"}') == CLEAN
    assert screen(["x\x00", "\x1b[0m", ["a\x0b"]], ["K"]) == {"personal_id": None, "control": ["a", "b", "c"]}
    assert screen(["x\x85", "del\x7f", None], ["K\x9f"], '{"k":"\\u001b"}') == {
        "personal_id": None, "control": ["a", "b", "k", "extra"]}
    assert screen([None, None, None], [None], '{"k":"\\b","\u0090":1}') == {"personal_id": None, "control": ["extra"]}
    number = "350102199001011234"
    assert screen([f"{number}\x1b", None, None], [None]) == {"personal_id": ["a"], "control": ["a"]}


def test_reasons_are_masked_and_free_of_control_characters():
    m = macros()
    finding = m.issue("true", "x", m.quoted("v"))
    reason = con().execute(f"select ({m.collect_issues([finding])}).reason from (select $1::varchar v)",
                           ["a\x1b 350102199001011234 \x85"]).fetchone()[0]
    assert reason == "'a\ufffd 3501**********1234 \ufffd'"
    id_reason = ev("issue_id_no", "35010219900101123")["message"]
    assert "3501*********1123" in id_reason and "35010219900101123" not in id_reason


# ------------------------------------------------------------------ row verdicts


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, 0, 1, 2, 3]), st.sampled_from([None, 0, 1, 2, 3])), max_size=30))
def test_collect_issues_lists_the_findings_of_each_row(rows):
    """A row without a finding is accepted with no codes and no reason (the macro skips building
    its list); a row with findings has their codes sorted and distinct, their messages in order."""
    m = macros()
    findings = [
        m.issue("a = 1", "code_b", "'a is one'"),
        m.issue("b > 1", "code_a", "'b is ' || b"),
        m.issue("a = 1 and b = 1", "code_b", "'both are one'"),
        m.issue("a is null and b is null", "missing", "'a, b: both missing'"),
    ]
    c = con()
    c.execute("create or replace temp table issue_rows (i int, a int, b int)")
    if rows:
        c.executemany("insert into issue_rows values (?, ?, ?)", [(i, a, b) for i, (a, b) in enumerate(rows)])
    got = c.execute(f"select {m.collect_issues(findings)} from issue_rows order by i").fetchall()
    for (a, b), (outcome,) in zip(rows, got):
        expected = [(code, text) for cond, code, text in [
            (a == 1, "code_b", "a is one"),
            (b is not None and b > 1, "code_a", f"b is {b}"),
            (a == 1 and b == 1, "code_b", "both are one"),
            (a is None and b is None, "missing", "a, b: both missing"),
        ] if cond]
        assert outcome == {
            "reason_codes": sorted({code for code, _ in expected}),
            "reason": "; ".join(text for _, text in expected) or None,
            "is_accepted": not expected,
        }
