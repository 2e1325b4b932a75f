"""Fuzzing the drop readers: whatever the bytes, a reader yields rows or
rejects the file with a `FileRejected` — never another exception, never a hang.

Seeds: the hostile corpus (tests/corpus/hostile) plus a good CSV, JSON Lines and
XLSX; hypothesis flips, inserts, deletes and splices bytes in them. A short run
goes with every test run; `SSJ_FUZZ_EXAMPLES=20000 pytest tests/unit/test_reader_fuzz.py`
fuzzes longer.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from connectors.feeds import feeds
from connectors.readers import FileRejected, open_drop

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "hostile"
EXAMPLES = int(os.environ.get("SSJ_FUZZ_EXAMPLES", "150"))
REG = feeds()["registration"]


def _xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "企业名称", "成立日期"])
    ws.append(["91350102MA2Y000071", "福州（鼓楼）测试有限公司", "2024-03-05"])
    ws.append([None, "=SUM(A1)", 45000])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_CSV = "统一社会信用代码,企业名称,成立日期\n91350102MA2Y000071,\"多行\n名称, 有逗号\",2024-03-05\n,乙,x\n".encode()
GOOD_JSONL = '{"统一社会信用代码": "91350102MA2Y000071", "企业名称": "甲", "n": {"a": [1, 2]}}\n{"企业名称": null}\n'.encode()
SEEDS = {
    ".csv": [GOOD_CSV, GOOD_CSV.decode().encode("gb18030"), b"\xef\xbb\xbf" + GOOD_CSV]
    + [p.read_bytes() for p in sorted(CORPUS.glob("*.csv"))],
    ".jsonl": [GOOD_JSONL],
    ".xlsx": [_xlsx(), (CORPUS / "truncated.xlsx").read_bytes()],
}


@st.composite
def mutated(draw, suffix: str) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS[suffix])))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "splice"]))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            i = min(pos, len(data) - 1)
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from([b"\x00", b'"', b",", b"\n", b"\r", b"\xff", b"\xe4\xb8", "，".encode(),
                                                  b"\xa1\xa1", draw(st.binary(max_size=16))]))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "splice":
            other = draw(st.sampled_from(SEEDS[suffix]))
            cut = draw(st.integers(0, len(other)))
            data = data[:pos] + bytearray(other[cut:])
    return bytes(data)


def read_or_reject(path: Path) -> None:
    try:
        reader = open_drop(path, REG)
        rows = 0
        for batch in reader.batches():
            rows += batch.num_rows
            assert batch.column("_source_row").to_pylist() == list(range(rows - batch.num_rows + 1, rows + 1))
    except FileRejected as exc:
        assert exc.code and exc.message


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_any_bytes_are_read_or_rejected(tmp_path, suffix, data):
    content = data.draw(mutated(suffix))
    path = tmp_path / f"drop{suffix}"
    path.write_bytes(content)
    read_or_reject(path)
