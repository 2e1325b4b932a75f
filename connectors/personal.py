"""Personal ID numbers (身份证号) as people actually write them: the one definition.

Everything that leaves the raw store — messages, reasons, ``raw`` and ``extra``
JSON, file names, logs, Dagster metadata, reports, exports — goes through this
module, in Python directly and in SQL through the DuckDB functions that
``pipelines/udfs.py`` registers from it (``mask_personal``, ``has_id_number``
and the prefilter pattern ``ssj_id_run_pattern()``). docs/personal_data.md says
where personal data may live.

Two rules, from broad to narrow:

* **A digit run** (``ID_RUN``): 15 or more digits, full-width or not, single
  spaces or hyphens allowed between them, optionally ending in X. Every such run
  in free text is *masked*: its first 4 and last 4 characters kept, every other
  character starred. This is deliberately broader than an ID number — a run of
  15 digits in a message is never needed in full, and a number glued to a date
  (``2024-03-05 350102199001011234``) is one run. When in doubt, mask.
* **An ID number** (``is_id_number``): after width folding and removing the
  separators, 18 characters (17 digits and a digit or X, *any* check character:
  a mistyped number is still somebody's number) or 15 digits (first generation),
  with a plausible province code (GB/T 2260's first two digits) and a real birth
  date. A value in a checked column that contains one is quarantined
  (``personal_id_in_value``) rather than published.

A column is personal when feeds.yaml says ``personal: true``, or — for the
columns outside the contract kept in ``extra`` — when its header names an ID
document (``is_personal_header``): such values are masked whole (``mask_value``).
"""

from __future__ import annotations

import datetime as dt
import re

DIGITS = "0-9０-９"
"""Digits as written: ASCII and full-width (U+FF10-FF19)."""
SEPARATORS = " \u00a0\u3000\\-\u2010-\u2015\uff0d"
"""Characters people put inside a number: spaces (also no-break and ideographic)
and the hyphen family (ASCII, U+2010-2015, full-width)."""
CHECK_X = "XxＸｘ"
MIN_RUN = 15

ID_RUN = f"[{DIGITS}](?:[{SEPARATORS}]?[{DIGITS}]){{{MIN_RUN - 1},}}(?:[{SEPARATORS}]?[{CHECK_X}])?"
"""A run of MIN_RUN or more digits (one separator at most between two), optionally
ending in X. Written with literal characters only, so it means the same to
Python's ``re`` and to RE2 (DuckDB, pyarrow)."""

_RUN = re.compile(ID_RUN)
_FOLD = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "x": "X", "Ｘ": "X", "ｘ": "X"})
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


def fold(text: str) -> str:
    """Width-fold the digits and X, drop the separators: the number as a machine compares it."""
    return _SEP.sub("", text.translate(_FOLD))


def _real_date(yyyymmdd: str) -> bool:
    try:
        day = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= day.year <= 2100


def is_id_number(token: str) -> bool:
    """Whether ``token`` (any spelling) is a personal ID number: 18 or 15 characters after folding."""
    t = fold(token)
    if len(t) == 18:
        return t[:17].isdigit() and t[17] in "0123456789X" and t[:2] in PROVINCES and _real_date(t[6:14])
    if len(t) == 15:
        return t.isdigit() and t[:2] in PROVINCES and _real_date("19" + t[6:12])
    return False


def has_id_number(text: str | None) -> bool:
    """Whether free text holds an ID number: a digit run that is one, or has an 18-character one inside."""
    if not text:
        return False
    for run in _RUN.findall(text):
        t = fold(run)
        if is_id_number(t):
            return True
        if any(is_id_number(t[i:i + 18]) for i in range(0, len(t) - 17)):
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
    """Free text with every digit run (ID_RUN) masked by ``mask_value``; everything else as it was."""
    if not text:
        return text
    return _RUN.sub(lambda m: mask_value(m.group(0)), text)


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
