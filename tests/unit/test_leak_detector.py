"""The leak detector finds a personal ID number in every spelling, and lets enterprise identifiers through."""

from __future__ import annotations

import json

import pytest

from tests.corpus import make_personal as corpus
from tests.leak_detector import numbers_in, scan_rows, scan_text, split_numbers_in
from tests.support import make_reg_no, make_uscc

SPELLINGS = [
    corpus.ID_A,
    corpus.ID_X.lower(),
    "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in corpus.ID_B),
    f"{corpus.ID_C[:4]} {corpus.ID_C[4:8]} {corpus.ID_C[8:12]} {corpus.ID_C[12:16]} {corpus.ID_C[16:]}",
    f"{corpus.ID_D[:6]}-{corpus.ID_D[6:14]}-{corpus.ID_D[14:]}",
    corpus.ID_15,
    corpus.ID_WRONG,
    f"2024-03-05 {corpus.ID_A}",  # glued to a date: one run of 26 digits
    f"{corpus.ID_GAPS[:6]}  {corpus.ID_GAPS[6:14]}\n{corpus.ID_GAPS[14:]}",
    corpus._mathematical(corpus.ID_MATH),
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_is_found_alone_and_in_text(spelling):
    assert numbers_in(spelling)
    assert numbers_in(f"身份证号：{spelling}，请核对")
    assert scan_text("x", f'{{"id": "{spelling}"}}')


def test_masked_numbers_and_enterprise_identifiers_pass():
    assert not numbers_in(corpus.ID_A[:4] + "*" * 10 + corpus.ID_A[-4:])
    assert not numbers_in(make_uscc("91350102MA2Y00007"))
    assert not numbers_in(make_uscc("12350000488000110"))  # all digits, a valid USCC
    assert not numbers_in(make_reg_no("35010210000012"))
    assert not numbers_in("2026-12-07 05:30:12.123456")
    assert not numbers_in('"execution_time": 0.2812049388885498, "timestamp": 1765085412.1234567')
    assert numbers_in(f"编号.{corpus.ID_A}。")  # a full stop is not a decimal point
    assert not numbers_in("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_findings_never_show_the_number():
    (where, shown), = scan_text("place", corpus.ID_A)
    assert where == "place" and corpus.ID_A not in shown and corpus.ID_A[4:14] not in shown


@pytest.mark.parametrize("number", [corpus.ID_A, corpus.ID_X, corpus.ID_15])
def test_a_number_cut_across_adjacent_json_values_is_found(number):
    for cut in range(1, len(number)):
        head, tail = number[:cut], number[cut:]
        for document in ({"证件号前段": head, "证件号后段": tail},
                         {"备注": f"核对 {head}", "核对人": "王五", "日期": tail + " 已核"},
                         {"联系人": {"证件": [head, tail]}},
                         [head, "甲", tail]):
            text = json.dumps(document, ensure_ascii=False)
            assert max(len(head), len(tail)) >= 15 or not numbers_in(text)  # the premise: no value holds it
            assert split_numbers_in(text) == [number.upper()], (cut, document)
            assert scan_rows("t", ["extra"], [(text,)]) and scan_rows("t", ["extra"], [(document,)])
    masked = {"前段": number[:4] + "*" * 8, "后段": "*" * (len(number) - 16) + number[-4:]}
    assert not split_numbers_in(masked)


def test_numbers_side_by_side_in_json_are_not_a_split_number():
    document = {"timestamp": 1765085412.1234567, "execution_time": 0.2812049388885498, "日期": "2026-01-01",
                "金额": ["1200.50", "3300.00", "20260101", "20261231"], "电话": "0591-87654321",
                "uscc": make_uscc("12350000488000110"), "注册号": make_reg_no("35010210000012"), "序号": 7}
    assert split_numbers_in(document) == []
    assert split_numbers_in(json.dumps(document)) == []
    assert split_numbers_in("not json 350102") == []
