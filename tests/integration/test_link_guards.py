"""What a steward's link cannot do (docs/contract.md §9): override a row's own USCC, or be dated after the run.

Raw-store files → dbt build → tables, one build for both rules.
"""

from __future__ import annotations

import pytest

from tests.support import make_uscc, run_dbt, warehouse_rows, write_raw

SAMR, TAX = "samr-350102", "tax-350102"
AS_OF = "2026-06-30"
USCC_A = make_uscc("91350102MA2GRDAA0")
USCC_B = make_uscc("91350102MA2GRDBB0")
SELECT = "+draw_entries +match_review +quarantine"


def link(**kw):
    return {"target_feed": "draw_list", "agency": TAX, "source_key": "TX-1", "decided_by": "王审核",
            "decided_on": "2026-06-01", **kw}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    w = tmp_path_factory.mktemp("warehouse")
    write_raw(w, "registration", [
        {"uscc": USCC_A, "name": "福州甲贸易有限公司", "status": "存续"},
        {"uscc": USCC_B, "name": "福州乙贸易有限公司", "status": "存续"},
    ], agency=SAMR, source_file=f"{SAMR}/registration/reg.csv")
    write_raw(w, "draw_list", [
        {"task_id": "TX-1", "uscc": USCC_A, "name": "福州甲贸易有限公司", "window_start": "2026-06-01",
         "window_end": "2026-06-30"},
        {"task_id": "TX-1", "name": "福州丙商行", "window_start": "2026-06-01", "window_end": "2026-06-30"},
    ], agency=TAX, source_file=f"{TAX}/draw_list/tx1.csv")
    write_raw(w, "links", [
        # another agency's steward points the row drawn with USCC A at enterprise B
        link(name="福州甲贸易有限公司", enterprise_id=USCC_B),
        # a decision dated after the run, which would pin itself as the latest
        link(name="福州丙商行", enterprise_id=USCC_B, decided_on="2099-12-31"),
    ], agency=SAMR, source_file=f"{SAMR}/links/decisions.csv")
    run_dbt(w, AS_OF, "build", "--select", SELECT, "--indirect-selection", "cautious")
    return w


def test_a_link_never_overrides_the_rows_own_uscc_and_waits_as_stale(wh):
    [entry] = warehouse_rows(wh, f"select * from draw_entries where uscc = '{USCC_A}'")
    assert (entry["enterprise_id"], entry["match_method"]) == (USCC_A, "uscc")
    assert "steward_link" not in entry["flags"]
    stale = warehouse_rows(wh, "select source_key, enterprise_id, reasons from match_review "
                               "where list_contains(reasons, 'stale_link')")
    assert stale == [{"source_key": "TX-1", "enterprise_id": USCC_B, "reasons": ["stale_link"]}]


def test_a_link_dated_after_the_run_is_quarantined(wh):
    rows = warehouse_rows(wh, "select source_row, reason_codes, reason from quarantine where feed = 'links'")
    assert [(r["source_row"], r["reason_codes"]) for r in rows] == [(2, ["future_date"])]
    assert "2099-12-31" in rows[0]["reason"]
    [entry] = warehouse_rows(wh, "select match_method, flags from draw_entries where name = '福州丙商行'")
    assert entry["match_method"] == "none" and "not_in_pool" in entry["flags"]
