"""The project's DuckDB functions (pipelines/udfs.py) against DuckDB's own."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.udfs import register

PATTERNS = [r"^SC\d{14}$", r"^JY\d{14}$", "食品", "(?i)^ab", r"\d{3}", "a|b", "^$"]


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    register(con)
    yield con
    con.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(
    st.one_of(st.none(), st.text(alphabet="SCJYab食品0123456789", max_size=18)),
    st.one_of(st.none(), st.sampled_from(PATTERNS))), max_size=3000))
def test_matches_pattern_is_regexp_matches(con, pairs):
    # many rows and many patterns per batch, NULLs on either side
    con.execute("create or replace temp table t (v varchar, p varchar)")
    if pairs:
        con.executemany("insert into t values (?, ?)", pairs)
    mismatched = con.execute(
        "select count(*) from t where matches_pattern(v, p) is distinct from regexp_matches(v, p)").fetchall()
    assert mismatched == [(0,)]


def test_an_invalid_pattern_is_named(con):
    with pytest.raises(duckdb.Error, match=r"not a valid regular expression: '\['"):
        con.execute("select matches_pattern('b', '[')").fetchall()


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_reference(code: str | None) -> bool:
    """GB 32100-2015 written out, one character at a time."""
    if code is None or len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(code, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def with_check(body: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


uscc_like = st.one_of(
    st.none(),
    st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17).map(with_check),  # valid
    st.text(alphabet=USCC_ALPHABET, min_size=18, max_size=18),  # mostly a wrong check
    st.text(alphabet=USCC_ALPHABET + "ISOVZaz-é统", min_size=16, max_size=19),  # out of the alphabet, other lengths
)


@settings(max_examples=60, deadline=None)
@given(st.lists(uscc_like, max_size=5000))
def test_uscc_is_valid_is_the_standards_check(con, codes):
    # batches of DuckDB's size and more, NULLs among them; the function sees slices of
    # bigger arrays (offsets not at 0)
    con.execute("create or replace temp table u (i integer, v varchar)")
    if codes:
        con.executemany("insert into u values (?, ?)", list(enumerate(codes)))
    got = dict(con.execute("select i, uscc_is_valid(v) from u").fetchall())
    assert got == {i: uscc_reference(code) for i, code in enumerate(codes)}


def test_uscc_is_valid_examples(con):
    letter_led = with_check("Y1350102MA1234500")  # valid, although stdnum rejects it
    assert con.execute("select uscc_is_valid('91440300085948158H'), uscc_is_valid('91440300085948158I'), "
                       "uscc_is_valid('91440300085948158h'), uscc_is_valid(NULL), uscc_is_valid(''), "
                       "uscc_is_valid(?)", [letter_led]).fetchall() == [(True, False, False, False, False, True)]
