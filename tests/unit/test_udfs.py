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


@pytest.mark.parametrize("name", ["mask_personal", "mask_personal_few", "mask_personal_value", "ssj_mask_personal_py",
                                  "has_id_number", "is_personal_header"])
def test_a_warehouse_macro_named_like_a_masking_function_is_refused(tmp_path, name):
    """The search path finds the warehouse's own schema first: a `mask_personal` saved there would
    replace the masking of ID numbers in every model, and so would one named like a Python
    function the models call. Such a warehouse is refused, naming the fix."""
    con = duckdb.connect(str(tmp_path / "ssj.duckdb"))
    con.execute(f"create macro main.{name}(text) as text")
    with pytest.raises(RuntimeError, match=rf"{name}.*drop macro"):
        register(con)
