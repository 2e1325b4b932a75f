"""Build a landing zone that hides personal ID numbers (身份证号) everywhere people put them.

    python -m tests.corpus.make_personal OUT_DIR

Each number is written the way offices write them — plain, full-width, in groups
with spaces, with hyphens, the 15-digit first generation, a mistyped check digit, a
lower-case x — and put where they end up: in an ID column under the headers people
use, in an extra column (法定代表人身份证号码), typed into a date column, a USCC
column, a name, an address, a business scope, a draw list's task name, a JSON Lines
nested object, a file name, and the first data row of a file without a header; and cut
in two across two extra columns (of an accepted row and of a rejected one) and across
two elements of a JSON Lines array, each part alone no ID number.
Beside them sit honest rows, which must be published as usual.

``PLANTED`` lists every number in its canonical 18- or 15-character form, for tests
that check none of them appears anywhere outside the raw store.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stdnum.cn.ric import calc_check_digit
from stdnum.cn.uscc import calc_check_digit as uscc_check
from stdnum.cn.uscc import is_valid as uscc_is_valid
from stdnum.iso7064 import mod_11_10


def id_no(body17: str) -> str:
    number = body17 + calc_check_digit(body17 + "0")
    assert not uscc_is_valid(number), f"{body17}: its number also reads as a USCC; plant another"
    return number


def uscc(body17: str) -> str:
    return body17 + uscc_check(body17)


def _first_generation(region: str, yymmdd: str) -> str:
    """A 15-digit number that is not also a valid 注册号 (so no check can mistake it for one)."""
    for seq in range(100, 1000):
        number = f"{region}{yymmdd}{seq}"
        if not mod_11_10.is_valid(number):
            return number
    raise AssertionError("unreachable")


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _mathematical(text: str) -> str:
    """Mathematical bold digits (U+1D7CE…), which NFKC folds to ASCII."""
    return "".join(chr(0x1D7CE + int(c)) if c.isdigit() else c for c in text)


def _grouped(number: str, sep: str, sizes: tuple[int, ...]) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(number[i:i + size])
        i += size
    return sep.join(out)


ID_A = id_no("35010219800101124")
ID_B = id_no("35010319851231456")
ID_C = id_no("11010519700615789")
ID_D = id_no("44030619921108002")
ID_E = id_no("35012119990909771")
ID_X = id_no(next(f"350102197503031{i:02d}" for i in range(100)
                  if calc_check_digit(f"350102197503031{i:02d}0") == "X"))
ID_WRONG = next(ID_B[:17] + c for c in "0123456789" if c != ID_B[17] and not uscc_is_valid(ID_B[:17] + c))
"""A mistyped check character: still somebody's number."""
ID_15 = _first_generation("350104", "680412")
ID_IN_NAME = id_no("35010220010203001")
ID_FILE = id_no("35010219661111042")
ID_NOHEADER = id_no("35010219770707333")
ID_GAPS = id_no("35010219900101123")
ID_MATH = id_no("35010519880808001")
ID_CERT = id_no("35010219880808123")
ID_TASK = id_no("35010219720202456")
ID_FOLDER = id_no("35010219850505123")
ID_HEADER = id_no("35010219830115123")
ID_BROKEN = id_no("35010219940505123")
ID_SPLIT = id_no("35010319870707123")
"""Cut across the extra columns 核对编号前段 and 核对编号后段 of an accepted registration row."""
ID_SPLIT_RAW = id_no("35010219910909456")
"""Cut the same way on a rejected row: in its ``raw`` too."""
ID_SPLIT_LIST = id_no("35010219930303789")
"""Cut across two elements of a JSON Lines array."""

PLANTED = [ID_A, ID_B, ID_C, ID_D, ID_E, ID_X, ID_WRONG, ID_15, ID_IN_NAME, ID_FILE, ID_NOHEADER,
           ID_GAPS, ID_MATH, ID_CERT, ID_TASK, ID_FOLDER, ID_HEADER, ID_BROKEN, ID_SPLIT, ID_SPLIT_RAW,
           ID_SPLIT_LIST]
"""Every planted number, canonical (no separators, half-width, upper-case X)."""

HONEST_USCC = [uscc(f"9135010257{i:07d}") for i in range(1, 4)]
HONEST_NAMES = ["福州清白商贸有限公司", "鼓楼区坦荡食品店", "福州正直科技有限公司"]
FILE_WITH_ID_IN_NAME = f"samr-350102/approval/许可清单_{ID_FILE}.csv"
FOLDER_WITH_ID = f"{ID_FOLDER}/registration/登记.csv"
"""A file in an agency folder named after a person (not in the registry: rejected)."""


def build(out: Path) -> Path:
    """Write the landing zone under ``out``; return it."""
    land = Path(out)

    def write(rel: str, text: str, encoding: str = "utf-8") -> None:
        path = land / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))

    header = ("统一社会信用代码,企业名称,法定代表人,法定代表人身份证号码,住所,成立日期,经营范围,登记状态,行政区划代码,"
              f"备注,核对人{ID_HEADER}")
    rows = [
        f"{HONEST_USCC[0]},{HONEST_NAMES[0]},王清,{ID_A},福州市鼓楼区五四路1号,2020-01-01,日用百货销售,存续,350102,"
        f'"核对 {ID_BROKEN[:10]}\n{ID_BROKEN[10:]}",已核',
        f"{HONEST_USCC[1]},{HONEST_NAMES[1]},李白,{_fullwidth(ID_C)},福州市鼓楼区东街2号,2021-02-02,食品销售,存续,350102,,",
        f"{uscc('91350102570000099')},日期栏误填公司,张三,,福州市鼓楼区三坊七巷3号,{_fullwidth(ID_B)},服装销售,存续,350102,,",
        f"{uscc('91350102570000098')},地址栏误填公司,赵四,,福州市鼓楼区 {_grouped(ID_D, ' ', (4, 4, 4, 4, 2))},2019-03-03,家电销售,存续,350102,,",
        f"{_grouped(ID_E, '-', (6, 8, 4))},信用代码栏误填公司,钱五,,福州市鼓楼区湖东路5号,2018-04-04,五金销售,存续,350102,,",
        f"{uscc('91350102570000097')},经营范围误填公司,孙六,,福州市鼓楼区杨桥路6号,2017-05-05,负责人{ID_15}兼营茶叶,存续,350102,,",
        f"{uscc('91350102570000096')},控制\x1b字符\u0085公司,周七,,福州市鼓楼区西二环7号,2016-06-06,茶叶销售,存续,350102,,",
        f"{HONEST_USCC[2]},{HONEST_NAMES[2]},吴八,{ID_X.lower()},福州市鼓楼区铜盘路8号,2015-07-07,软件开发,存续,350102,,",
        f"{uscc('91350102570000095')},双空格公司,郑九,,福州市 {_grouped(ID_GAPS, '  ', (6, 8, 4))},2014-08-08,茶具销售,存续,350102,,",
        f"{uscc('91350102570000094')},数学数字公司,王十,,福州市鼓楼区{_mathematical(ID_MATH)}号,2013-09-09,文具销售,存续,350102,,",
    ]
    write("samr-350102/registration/登记.csv", "\n".join([header, *rows]) + "\n")
    write("sfj-350100/inspectors/执法人员.csv", "\n".join([
        "执法证号,姓名,身份证号码,所属单位,证件有效期,在岗状态,执法门类",
        f"FJ0100001,郑清,{ID_A},福州市鼓楼区市场监督管理局,2028-12-31,在岗,食品",
        f"FJ0100002,冯白,{_grouped(ID_C, ' ', (6, 8, 4))},福州市鼓楼区市场监督管理局,2028-12-31,在岗,特种设备",
        f"FJ0100003,陈正,{ID_WRONG},福州市鼓楼区市场监督管理局,2028-12-31,在岗,食品",
        f"FJ0100004,褚直,{ID_15},福州市鼓楼区市场监督管理局,{ID_D},在岗,食品",
        f"FJ0100005,卫公,{_fullwidth(ID_X)},福州市鼓楼区市场监督管理局,2028-12-31,在岗,药品",
        f"{ID_CERT},卫私,,福州市鼓楼区市场监督管理局,2028-12-31,在岗,药品",
    ]) + "\n", encoding="gb18030")
    write("tax-350102/draw_list/抽查名单.csv", "\n".join([
        "任务编号,任务名称,统一社会信用代码,企业名称,开始日期,结束日期,检查事项",
        f"SW-2026-01,税务双随机,{HONEST_USCC[0]},{HONEST_NAMES[0]},2026-05-01,2026-06-30,发票",
        f"SW-2026-01,税务双随机,,个体户王某{ID_IN_NAME},2026-05-01,2026-06-30,发票",
        f"SW-2026-02,核查{_grouped(ID_B, '-', (6, 8, 4))}名下企业,{HONEST_USCC[1]},{HONEST_NAMES[1]},2026-05-01,2026-06-30,账簿",
        f"{ID_TASK},税务双随机,{HONEST_USCC[2]},{HONEST_NAMES[2]},2026-05-01,2026-06-30,发票",
    ]) + "\n")
    write("samr-350103/registration/分段核对.csv", "\n".join([
        "统一社会信用代码,企业名称,法定代表人,住所,成立日期,经营范围,登记状态,行政区划代码,核对编号前段,核对编号后段,核对日期",
        f"{uscc('91350103570000013')},分段核对公司,林一,福州市台江区五一路1号,2020-01-01,茶叶销售,存续,350103,"
        f"{ID_SPLIT[:12]},{ID_SPLIT[12:]},2026-01-01",
        f"{uscc('91350103570000014')},分段退回公司,林二,福州市台江区五一路2号,不详,茶叶销售,存续,350103,"
        f"{ID_SPLIT_RAW[:9]},{ID_SPLIT_RAW[9:]},2026-01-01",
    ]) + "\n")
    write("samr-350103/registration/无表头.csv",
          f"{uscc('91350103570000011')},无表头公司,{ID_NOHEADER},2020-01-01\n")
    write(FOLDER_WITH_ID, f"统一社会信用代码,企业名称\n{HONEST_USCC[0]},{HONEST_NAMES[0]}\n")
    write(FILE_WITH_ID_IN_NAME, "\n".join([
        "统一社会信用代码,企业名称,许可证类型,许可证编号,有效期起,有效期至,许可状态",
        f"{HONEST_USCC[0]},{HONEST_NAMES[0]},食品经营许可证,JY13501020000001,2024-01-01,2029-01-01,有效",
    ]) + "\n")
    write("samr-350103/credit_risk/分类.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"统一社会信用代码": HONEST_USCC[2], "风险等级": "B", "分类日期": "2026-01-01",
         "联系人": {"姓名": "蒋九", "证件号码": ID_E}, "核对": {_grouped(ID_C, "  ", (6, 8, 4)): "已核"}},
        {"统一社会信用代码": HONEST_USCC[1], "风险等级": "A", "分类日期": "2026-01-01", "备注": f"核对 {ID_C}"},
        {"统一社会信用代码": uscc("91350103570000012"), "企业名称": "零\u0000字节公司", "风险等级": "C",
         "分类日期": "2026-01-01"},
        {"统一社会信用代码": HONEST_USCC[0], "风险等级": "A", "分类日期": "2026-01-01",
         "核对记录": [ID_SPLIT_LIST[:6], ID_SPLIT_LIST[6:]]},
    ]) + "\n")
    return land


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
