"""Personal ID numbers (身份证号) as people actually write them: the one definition.

Everything that leaves the raw store — messages, reasons, ``raw`` and ``extra``
JSON, file names, logs, Dagster metadata, reports, exports — goes through this
module, in Python directly and in SQL through the DuckDB functions that
``pipelines/udfs.py`` registers from it (``mask_personal``, ``has_id_number``
and the prefilter pattern ``ssj_id_run_pattern()``). docs/personal_data.md says
where personal data may live.

Two rules, from broad to narrow:

* **A digit run** (``ID_RUN``): 15 or more digits in any script (ASCII, full-width,
  Arabic-Indic, mathematical, superscript, circled …: ``fold_digits``), with up to
  three separators between two of them (white space and line breaks, dashes, dots,
  commas, slashes, underscores, brackets), optionally ending in X. Every such run in
  free text is *masked*: its first 4 and last 4 characters kept, every other
  character starred. This is deliberately broader than an ID number — a run of 15
  digits in a message is never needed in full, and a number glued to a date
  (``2024-03-05 350102199001011234``) is one run. When in doubt, mask.
* **An ID number** (``is_id_number``), after folding and removing the separators:
  18 characters (17 digits and a digit or X, *any* check character and any birth
  day of a 19xx/20xx year: a mistyped number is still somebody's number), 17 digits
  (one left out), or 15 digits (first generation, with a real birth date); each
  with a GB/T 2260 province code (or 9, foreigners' permanent-residence numbers).
  Inside a longer run, any 18 or 15 consecutive digits with a real birth date count.
  A value in a checked column that holds one is quarantined
  (``personal_id_in_value``) rather than published.

A column is personal when feeds.yaml says ``personal: true``, or — for the
columns outside the contract kept in ``extra`` — when its header names an ID
document (``is_personal_header``): such values are masked whole (``mask_value``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache

SEPARATORS = (
    " \t\n\r\x0b\x0c\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff\u00ad"
    "\\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
    ".,/_()\uff0e\uff0c\uff0f\uff3f\uff08\uff09\u3001\u00b7"
    ";|\uff1b\uff5c"
)
"""What people put inside a number (a character class's content, literal characters only):
white space of every width and line breaks, zero-width characters and the soft hyphen, the
hyphen and dash family, dots, commas (also 、), slashes, underscores and brackets, ASCII and
full-width; and the other list separators (; ； | ｜), so that a number cut across list
elements (``A1；350102199；001011234``) is one run wherever the list is shown as written."""
MAX_GAP = 3
"""Separators allowed between two digits of one number (``350102 - 19900101``)."""
MIN_RUN = 15

ID_RUN = f"[0-9](?:[{SEPARATORS}]{{0,{MAX_GAP}}}[0-9]){{{MIN_RUN - 1},}}(?:[{SEPARATORS}]{{0,{MAX_GAP}}}[Xx])?"
"""A run of MIN_RUN or more digits, separators between them, optionally ending in X —
matched on the text as ``fold_digits`` leaves it (every digit ASCII, same length)."""
ID_RUN_RE2 = ID_RUN.replace("[0-9]", "[0-9\\p{Nd}\\p{No}]").replace("[Xx]", "[XxＸｘ]")
"""The same run for RE2 (DuckDB, pyarrow) on the text as written: any Unicode digit — a
superset of what ``fold_digits`` turns into one, so a guard built on it never misses a run."""

_RUN = re.compile(ID_RUN)
_SEP = re.compile(f"[{SEPARATORS}]")

PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})
"""First two digits of a GB/T 2260 region code (83: the number Taiwan residents in the mainland carry)."""

PERSONAL_HEADER = re.compile(
    r"身份证|身份證|证件号|證件號|证件编号|公民身份|身份号码|护照|sfz|id[\s_\-]*(?:no|num|number|card|code)\b|idcard|passport",
    re.IGNORECASE,
)
"""A header that names an identity document (身份证号码, 法定代表人身份证号码, 证件号码,
ID_No, idcard …). Values under such a header, outside the contract's columns, are masked whole."""


@cache
def _digit_table() -> dict[int, str]:
    """Every character with a decimal digit value (full-width, Arabic-Indic, mathematical,
    superscript, circled …) → its ASCII digit; full-width X → X. Built once, on first use."""
    table = {c: str(unicodedata.digit(chr(c))) for c in range(0x80, 0x110000)
             if unicodedata.digit(chr(c), None) is not None}
    table.update({ord("Ｘ"): "X", ord("ｘ"): "x"})
    return table


def fold_digits(text: str) -> str:
    """``text`` with every digit written as ASCII, character for character (the same length)."""
    return text if text.isascii() else text.translate(_digit_table())


def runs(text: str | None) -> list[tuple[int, int, str]]:
    """The digit runs (ID_RUN) of ``text``: (start, end, the run's digits and X alone, upper-case)."""
    if not text:
        return []
    folded = fold_digits(text)
    return [(m.start(), m.end(), _SEP.sub("", m.group(0)).upper()) for m in _RUN.finditer(folded)]


def _real_date(yyyymmdd: str) -> bool:
    try:
        day = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= day.year <= 2100


def _region(t: str) -> bool:
    # 9: the permanent-residence ID numbers of foreigners (2023 on)
    return t[:2] in PROVINCES or t[0] == "9"


def is_id_number(token: str, *, strict: bool = False) -> bool:
    """Whether ``token`` (digits and X, no separators) is a personal ID number as people type them:
    18 characters (any check character) or 17 (a digit left out) with a region and a birth year
    19xx/20xx, or 15 digits (first generation) with a region and a real birth date. ``strict``:
    18 characters only with a real birth date — for numbers cut out of a longer run."""
    t = token
    if len(t) == 18 and t[:17].isdigit() and t[17] in "0123456789X" and _region(t):
        return _real_date(t[6:14]) if strict else t[6:8] in ("19", "20")
    if len(t) == 17 and not strict and t.isdigit() and _region(t):
        return t[6:8] in ("19", "20")
    if len(t) == 15 and t.isdigit() and t[:2] in PROVINCES:
        return _real_date("19" + t[6:12])
    return False


def has_id_number(text: str | None) -> bool:
    """Whether free text holds an ID number: a digit run that is one, or with one inside it."""
    for _, _, t in runs(text):
        if is_id_number(t):
            return True
        for size in (18, 15):
            if any(is_id_number(t[i:i + size], strict=True) for i in range(len(t) - size + 1)):
                return True
    return False


def mask_value(value: str | None) -> str | None:
    """A personal value shown as its first 4 and last 4 characters (one * for each other); 8 or fewer: all stars."""
    if value is None:
        return None
    if len(value) > 8:
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    return "*" * len(value)


def mask_text(text: str | None) -> str | None:
    """Free text with every digit run (ID_RUN, digits in any script) masked by ``mask_value``."""
    found = runs(text)
    if not found:
        return text
    out, at = [], 0
    for start, end, _ in found:
        out += [text[at:start], mask_value(text[start:end])]
        at = end
    return "".join(out) + text[at:]


def mask_any(value):
    """``mask_text`` over every string inside a value (dicts, lists, tuples); other values as they are."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_any(k): mask_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_any(v) for v in value)
    return value


def is_personal_header(header: str | None) -> bool:
    return bool(header) and PERSONAL_HEADER.search(header) is not None
