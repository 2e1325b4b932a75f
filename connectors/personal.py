"""Personal ID numbers (身份证号) as people actually write them: the one definition.

Everything that leaves the raw store — messages, reasons, ``raw`` and ``extra``
JSON, file names, logs, Dagster metadata, reports, exports — goes through this
module, in Python directly and in SQL through the DuckDB functions that
``pipelines/udfs.py`` registers from it (``mask_personal``, ``has_id_number``,
``mask_split_ids``, ``holds_split_id`` and the prefilter patterns
``ssj_id_run_pattern()``, ``ssj_split_id_pattern()``). docs/personal_data.md says
where personal data may live.

Two rules for a text, from broad to narrow, and one across values:

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

And across values (``split_id_spans``): the values of a JSON object (``extra``,
``raw``; an array's elements too) read in order show a number cut in two
(the first 12 digits under ``证件号前段``, the last 6 under ``证件号后段``), which neither value
holds alone. Where digits joined from two or more values make a *valid* ID number
(``is_valid_id_number``: the right check character and a real birth date; 15 digits
only as whole groups), those values are masked where the number is. The masking
decides on the values as they came; the ``no_full_id_number`` data test asks the same
function about what is published, and what the masking leaves never holds one by it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from functools import cache

ASCII_SEPARATORS = " \t\n\r\x0b\x0c\\-.,/_();|"
OTHER_SEPARATORS = (
    "\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff\u00ad"
    "\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
    "\uff0e\uff0c\uff0f\uff3f\uff08\uff09\u3001\u00b7"
    "\uff1b\uff5c"
)
SEPARATORS = ASCII_SEPARATORS + OTHER_SEPARATORS
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
NON_ASCII_DIGIT_RE2 = "[^\\P{Nd}0-9]|\\p{No}"
"""RE2: a Unicode digit (``\\p{Nd}``, ``\\p{No}``) other than 0–9."""
ID_RUN_GUARD_RE2 = (
    f"[0-9](?:[{ASCII_SEPARATORS}]{{0,{MAX_GAP}}}[0-9]){{{MIN_RUN - 1}}}"
    f"|[0-9][{SEPARATORS}]{{0,{MAX_GAP - 1}}}[{OTHER_SEPARATORS}][{SEPARATORS}]{{0,{MAX_GAP - 1}}}[0-9]"
    f"|{NON_ASCII_DIGIT_RE2}"
)
"""The guard before Python (``ssj_id_run_pattern()``, ``udfs._with_id_run``): RE2 (DuckDB,
pyarrow) that matches every text holding a digit run, on the text as written. Take a run: its
digits are ``\\p{Nd}`` or ``\\p{No}`` (a superset of what ``fold_digits`` turns into one),
and either one of them is not 0–9 (the last branch), or they are 0–9 and a gap between two
of them holds a separator that is not ASCII (the second: two digits, a non-ASCII separator
between them with at most two separators on either side), or digits and separators are all
ASCII (the first: MIN_RUN such digits, a bounded repeat — a longer run starts with one).
It is cheap to compile: the run written with the two Unicode classes repeated MIN_RUN times
over is a program of thousands of instructions, ~4.5 ms for every ``regexp_matches`` a
query holds (DuckDB compiles a constant pattern as it binds the call, and again for each
thread that runs it) — the greater part of a small staging model's time; this one ~1 ms.
It lets more texts through to Python (any text with a non-ASCII digit, ``1、2``), which
decides (``runs``, ``has_id_number``, ``mask_text``)."""

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


# ------------------------------------------------------------------ an ID number split across values

MASK = "*"
"""The character masking writes in place of a digit."""

SPLIT_GUARD_RE2 = f"(?:[^0-9]*[0-9]){{{MIN_RUN}}}|{NON_ASCII_DIGIT_RE2}"
"""RE2 (DuckDB): a text with MIN_RUN digits 0–9 in all, or any other Unicode digit — a
superset of every text with MIN_RUN digits in any script, so of every text with a digit run
or an ID number split across its values (``split_id_spans``); cheap to compile
(ID_RUN_GUARD_RE2)."""

_JSON_LEAF = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|(-?[0-9][0-9.eE+\-]*)')
"""A string (a key: followed by a colon) or a number in JSON text: a nested value's leaves."""
_DIGIT = re.compile("[0-9]")
_DIGIT_OR_X = re.compile("[0-9Xx]")
_LEADING_X = re.compile(r"\s*[Xx]")
"""A value that starts with a check character (after ``fold_digits``): joined as a digit's value is."""
_MASK_STANDIN = "#"
"""What a mask character is read as in the joined values: neither a digit nor a separator."""
_CHECK_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_MONTHS = frozenset(f"{m:02d}" for m in range(1, 13))


def check_character(body17: str) -> str:
    """The check character of an 18-character ID number (GB 11643, ISO 7064 MOD 11-2)."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, _CHECK_WEIGHTS)) % 11]


def is_valid_id_number(token: str) -> bool:
    """An ID number beyond doubt: 18 characters with a real birth date and the right check
    character, or 15 digits (first generation) with a real birth date — what digits joined
    from two values must be to count as one (``split_id_spans``)."""
    if len(token) == 18:
        return is_id_number(token, strict=True) and token[17] == check_character(token[:17])
    return len(token) == 15 and is_id_number(token)


def _holds_json(text: str) -> bool:
    """Whether a string is the JSON text of an object or an array (a reader keeps a JSON Lines
    file's nested values so): its strings and numbers are read one by one, as a nested value's."""
    if not text.lstrip().startswith(("{", "[")):
        return False
    try:
        return isinstance(json.loads(text), (dict, list))
    except (ValueError, RecursionError):
        return False


_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\.", re.DOTALL)
"""An escape in a JSON string: a surrogate pair, one \\uXXXX, or a backslash and a character."""
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

_Leaf = tuple[int, str, Sequence[int], Sequence[int]]
"""(index, text, starts, ends): a leaf of ``texts[index]`` as a reader reads it (unescaped), and
where each of its characters is written in ``texts[index]`` (an escape: all its characters)."""


def _unescaped(raw: str, starts: Sequence[int], ends: Sequence[int]) -> tuple[str, Sequence[int], Sequence[int]]:
    """A JSON string's content ``raw`` unescaped, with where each character is written."""
    if "\\" not in raw:
        return raw, starts, ends
    out, s_out, e_out, at = [], [], [], 0
    for m in _ESCAPE.finditer(raw):
        out.append(raw[at:m.start()])
        s_out += starts[at:m.start()]
        e_out += ends[at:m.start()]
        escape = m.group(0)
        if len(escape) == 12:
            high, low = int(escape[2:6], 16), int(escape[8:12], 16)
            out.append(chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)))
        elif escape[1] == "u" and len(escape) == 6:
            out.append(chr(int(escape[2:], 16)))
        else:
            out.append(_SIMPLE_ESCAPES.get(escape[1], escape[1]))
        s_out.append(starts[m.start()])
        e_out.append(ends[m.end() - 1])
        at = m.end()
    out.append(raw[at:])
    s_out += starts[at:]
    e_out += ends[at:]
    return "".join(out), s_out, e_out


def _json_leaves(i: int, text: str, starts: Sequence[int], ends: Sequence[int], found: list[_Leaf],
                 keys: list[_Leaf] | None = None) -> None:
    """The leaves of the JSON text ``text`` (of ``texts[i]``, its characters written at
    ``starts``/``ends``): each string value's content unescaped — a string holding JSON text
    itself: its own leaves — and each number; the keys, unescaped, to ``keys`` when given."""
    for m in _JSON_LEAF.finditer(text):
        if m.group(2) is not None:  # a key
            if keys is not None:
                a, b = m.start(1), m.end(1)
                keys.append((i, *_unescaped(text[a:b], starts[a:b], ends[a:b])))
            continue
        if m.group(1) is not None:
            a, b = m.start(1), m.end(1)
            value, v_starts, v_ends = _unescaped(text[a:b], starts[a:b], ends[a:b])
            if _holds_json(value):
                _json_leaves(i, value, v_starts, v_ends, found, keys)
            else:
                found.append((i, value, v_starts, v_ends))
        else:
            a, b = m.start(3), m.end(3)
            found.append((i, text[a:b], starts[a:b], ends[a:b]))


def _leaves(texts: list[str | None], nested: list[bool], keys: list[_Leaf] | None = None) -> list[_Leaf]:
    """Every leaf of ``texts`` in order: a text whole, or — a nested value's JSON text, or a
    string holding one (``_holds_json``) — each string value's content, read as a reader reads
    it (unescaped: an escape's own characters are never digits), and each number in it (not
    its keys: those go to ``keys``, read alike, when given)."""
    found: list[_Leaf] = []
    for i, text in enumerate(texts):
        if not text:
            continue
        where = range(len(text)), range(1, len(text) + 1)
        if nested[i] or _holds_json(text):
            _json_leaves(i, text, *where, found, keys)
        else:
            found.append((i, text, *where))
    return found


def _group_edge(places: list[int], piece: list[int], a: int, b: int) -> bool:
    """Whether a group of digits ends between the run's digits ``a`` and ``b`` (either may be
    outside the run): they belong to two values, or a separator stands between them."""
    return a < 0 or b >= len(places) or piece[a] != piece[b] or places[b] - places[a] > 1


def split_id_spans(texts: list[str | None], nested: list[bool] | None = None) -> list[tuple[int, int, int]]:
    """Where an ID number is split across values: the parts (index, start, end) of ``texts``
    to mask.

    ``texts`` are a JSON object's values in the order they are written (its keys, headers
    such as ``证件号后段``, are left out); a nested object's or array's JSON text with ``nested``
    true, or a string holding such JSON text, whose string and number values count one by
    one. The values holding a digit, or starting with a check character (``X``, ``Ｘ``), are
    joined, in order, with nothing between them; those holding neither (a name, NULL, a
    lone ``*``) are left out. A mask character (``*``: masked already) inside a value parts
    the digits on either side of it; the value's other digits count. A
    digit run (ID_RUN) of the joined text that crosses from one value to the next holds a
    split ID number where 18 of its consecutive digits, taken from two or more values, make
    a valid ID number (``is_valid_id_number``: check character, real birth date), or 15 do
    that form whole groups — each end at the edge of a value's digits or at a separator
    (with no check character, 15 digits cut out of longer numbers would make a birth date
    by chance too often). Each such number is masked as
    ``mask_value`` masks a value — its first 4 and last 4 characters kept — and the digits
    around it (a date in the next column) are left as they are.

    And a number that only an escape hides: a string or key of a nested value (or of a
    string holding JSON text) read unescaped holds a digit run that its JSON text, as written, does
    not show whole (``1101…\\n…002X``: a line break written as ``\\n``, which
    ``mask_text`` on the written text reads as two letters). Every digit run of such a leaf
    is masked as ``mask_text`` masks a run (``_escaped_run_spans``)."""
    nested = nested or [False] * len(texts)
    keys: list[_Leaf] = []
    leaves = _leaves(texts, nested, keys)
    spans = _escaped_run_spans(texts, leaves + keys)
    pieces = []  # each leaf joined
    for leaf in leaves:
        value = fold_digits(leaf[1])
        if _DIGIT.search(value) or _LEADING_X.match(value):
            pieces.append(leaf)
    if len(pieces) < 2:
        return spans
    # a mask character parts the digits on either side of it, nothing more
    joined = fold_digits("".join(leaf[1] for leaf in pieces)).replace(MASK, _MASK_STANDIN)
    bounds, at = [], 0
    for leaf in pieces:
        at += len(leaf[1])
        bounds.append(at)  # the piece of joined position p: bisect_right(bounds, p)
    starred = set()
    for m in _RUN.finditer(joined):
        if bisect_right(bounds, m.start()) == bisect_right(bounds, m.end() - 1):
            continue  # within one value: mask_text's
        places = [d.start() for d in _DIGIT_OR_X.finditer(joined, m.start(), m.end())]
        token = "".join(joined[p] for p in places).upper()
        piece = [bisect_right(bounds, p) for p in places]
        for size in (18, 15):
            for w in range(len(token) - size + 1):
                end = w + size - 1
                # the cheap tests first: most windows of honest numbers side by side fail the region
                if piece[w] == piece[end] or not _region(token[w:w + 2]):
                    continue
                if size == 18 and token[w + 6:w + 8] not in ("19", "20", "21"):
                    continue
                # 15 digits (no check character) only as a whole group: from a value's first digit
                # in the run, or one after a separator, to a value's last, or one before a separator
                if size == 15 and (token[w + 8:w + 10] not in _MONTHS or not (
                        _group_edge(places, piece, w - 1, w) and _group_edge(places, piece, end, end + 1))):
                    continue
                if is_valid_id_number(token[w:w + size]):
                    starred.update(range(places[w] + 4, places[end] + 1 - 4))
    for p in sorted(starred):  # one pass: each starred position's piece found by bisection
        k = bisect_right(bounds, p)
        i, value, starts, ends = pieces[k]
        at = p - (bounds[k] - len(value))
        spans.append((i, starts[at], ends[at]))
    return spans


def _escaped_run_spans(texts: list[str | None], leaves: list[_Leaf]) -> list[tuple[int, int, int]]:
    """The digit runs (``runs``) of the leaves read out of JSON text (not a text whole; its
    keys too) that
    an escape inside hides from ``mask_text`` on the text as written, each masked as
    ``mask_text`` masks a run — its first 4 and last 4 characters kept — where the characters
    between are written in ``texts`` (an escape: all its characters)."""
    spans = []
    for i, value, starts, ends in leaves:
        if value is texts[i]:
            continue  # a text whole: mask_text's
        for a, b, _ in runs(value):
            if ends[b - 1] - starts[a] > b - a:  # an escape inside: the written text shows no run
                spans.append((i, starts[a + 4], ends[b - 5]))
    return spans


def _holds_digit(texts: list[str | None]) -> bool:
    return any(isinstance(t, str) and _DIGIT.search(fold_digits(t)) for t in texts or [])


def holds_split_id(texts: list[str | None], nested: list[bool] | None = None) -> bool:
    """Whether an ID number is split across ``texts`` (``split_id_spans``). Never raises: on
    values it cannot read, true where they hold a digit (what ``mask_split_ids`` leaves of
    such values holds none)."""
    try:
        return bool(split_id_spans(texts, nested))
    except Exception:  # noqa: BLE001 - one row's values never stop the run
        return _holds_digit(texts)


class _Float(Exception):
    pass


def _no_float(_: str):
    raise _Float


def json_may_hold_split_id(text: str | None) -> bool:
    """Whether ``mask_split_ids`` may find an ID number split across the values of the JSON
    object ``text`` — the guard before the SQL's masking of a JSON object without a digit run or
    a personal header, which costs far more than this. Never false where it would find one: the
    values are read unescaped, as the masking reads them (``_leaves``); a document with a
    fractional number (written back by DuckDB in its own form), not an object, or not JSON:
    true. Never raises: on an error, true."""
    try:
        return _json_may_hold_split_id(text)
    except Exception:  # noqa: BLE001 - one row's values never stop the run; when in doubt, mask
        return True


def _json_may_hold_split_id(text: str | None) -> bool:
    if text is None:
        return False
    try:
        pairs = json.loads(text, object_pairs_hook=lambda kv: kv, parse_float=_no_float, parse_constant=_no_float)
    except (_Float, ValueError, RecursionError):
        return True
    if not isinstance(pairs, list) or pairs and not isinstance(pairs[0], tuple):
        return True
    values: list[str] = []
    keys: list[str] = []

    def leaves(value) -> None:
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            values.append(str(value))
        elif isinstance(value, list):  # an object's pairs or an array's elements
            for v in value:
                if isinstance(v, tuple):
                    keys.append(v[0])
                leaves(v[1] if isinstance(v, tuple) else v)

    leaves(pairs)
    if "\\" in text and any(_RUN.search(fold_digits(v)) for v in values + keys):
        return True  # a run an escape may hide from the masking of a nested value's written text
    return holds_split_id(values)


def mask_split_ids(texts: list[str | None], masked: list[str | None],
                   nested: list[bool] | None = None) -> list[str | None]:
    """``masked`` (each text of ``texts`` masked on its own, the same length) with every ID
    number split across ``texts`` (``split_id_spans``, decided on ``texts``) masked as well.
    What this returns never holds a split ID number by the same rule: where starring a
    value's every digit leaves its neighbours side by side, and they make one, it is masked
    too, round after round (after ``_MASK_ROUNDS``: every digit of the values).
    Never raises: on values it cannot read, every digit of each value holding one is masked."""
    try:
        return _mask_split_ids(texts, masked, nested)
    except Exception:  # noqa: BLE001 - one row's values never stop the run; when in doubt, mask
        return _mask_every_digit(texts, masked)


def _mask_every_digit(texts: list[str | None], masked: list[str | None]) -> list[str | None]:
    out = []
    for k, text in enumerate(texts or []):
        alone = masked[k] if masked is not None and k < len(masked) else None
        base = alone if isinstance(alone, str) and isinstance(text, str) and len(alone) == len(text) else text
        if not isinstance(base, str):
            out.append(base if base is None else None)
            continue
        folded = fold_digits(base)
        out.append("".join(MASK if "0" <= c <= "9" else base[j] for j, c in enumerate(folded)))
    return out


def _mask_split_ids(texts: list[str | None], masked: list[str | None],
                    nested: list[bool] | None = None) -> list[str | None]:
    out = _star(texts, masked, split_id_spans(texts, nested))
    # Starring a value's every digit takes it out of the joined values, so its neighbours may
    # meet: what that makes is masked too, until nothing is left to mask
    for _ in range(_MASK_ROUNDS):
        more = split_id_spans(out, nested)
        if not more:
            return out
        out = _star(out, out, more)
    return _mask_every_digit(out, out)


_MASK_ROUNDS = 8


def _star(texts: list[str | None], masked: list[str | None], spans: list[tuple[int, int, int]]) -> list[str | None]:
    """``masked`` with a mask character on each span of ``texts``."""
    out = list(masked)
    chars: dict[int, list[str]] = {}  # each value changed as a list of characters, joined once
    for i, s, e in spans:
        if i not in chars:
            text = out[i] if out[i] is not None and len(out[i]) == len(texts[i]) else mask_value(texts[i])
            chars[i] = list(text)
        chars[i][s:e] = MASK * (e - s)
    for i, text in chars.items():
        out[i] = "".join(text)
    return out
