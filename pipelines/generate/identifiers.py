"""Vectorised identifiers with correct check characters.

Every function works on whole numpy arrays of digit *values* (one row per
identifier, one column per position) and only turns them into strings at the
end, so a million codes cost a few numpy passes rather than a million Python
loops.

- 统一社会信用代码 (USCC, GB 32100-2015): 17 characters over a 31-character
  alphabet + a check character; positions 9-17 embed a 组织机构代码 (GB 11714)
  whose own check character is position 17.
- 注册号 (legacy 15-digit registration number): 14 digits + ISO 7064 MOD 11,10.
- 身份证号 (GB 11643): 17 digits + MOD 11-2 check (``X`` for 10).
"""

from __future__ import annotations

import numpy as np

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = np.array(list("10X98765432"))

_USCC_CODES = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)
_USCC_VALUE = np.full(128, -1, dtype=np.int64)
_USCC_VALUE[_USCC_CODES] = np.arange(31)


def digits_of(values: np.ndarray, width: int) -> np.ndarray:
    """(n,) non-negative ints -> (n, width) decimal digit values, zero-padded on the left."""
    values = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


def to_strings(codes: np.ndarray) -> np.ndarray:
    """(n, w) uint8 ASCII codes -> (n,) numpy unicode strings."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    n, w = codes.shape
    return codes.view(f"S{w}").reshape(n).astype(f"U{w}")


def to_codes(strings: np.ndarray, width: int) -> np.ndarray:
    """(n,) ASCII strings of one width -> (n, width) uint8 ASCII codes."""
    b = np.asarray(strings).astype(f"S{width}")
    return np.frombuffer(b.tobytes(), dtype=np.uint8).reshape(len(b), width)


# --------------------------------------------------------------------------- USCC
def uscc_check_values(values17: np.ndarray) -> np.ndarray:
    """(n, 17) alphabet values -> (n,) check values (index into the alphabet)."""
    total = (np.asarray(values17, dtype=np.int64) * USCC_WEIGHTS).sum(axis=1)
    return (31 - total % 31) % 31


def org_check_values(values8: np.ndarray) -> np.ndarray:
    """(n, 8) base-36 values of a 组织机构代码 body -> (n,) check values 0..10 (10 = 'X')."""
    c = 11 - (np.asarray(values8, dtype=np.int64) * ORG_WEIGHTS).sum(axis=1) % 11
    return np.where(c == 11, 0, c)


def make_uscc(dept: np.ndarray, kind: np.ndarray, region: np.ndarray, org_body: np.ndarray) -> np.ndarray:
    """Build valid USCCs.

    dept, kind: (n,) single characters from the alphabet (e.g. '9', '1'; 'Y', '1').
    region: (n,) 6-digit region codes as ints.  org_body: (n,) ints < 10**8 — the
    digits of the embedded 组织机构代码 body (its check character is computed).
    """
    n = len(region)
    vals = np.empty((n, 18), dtype=np.int64)
    vals[:, 0] = _USCC_VALUE[to_codes(dept, 1)[:, 0]]
    vals[:, 1] = _USCC_VALUE[to_codes(kind, 1)[:, 0]]
    vals[:, 2:8] = digits_of(region, 6)
    body = digits_of(org_body, 8)
    vals[:, 8:16] = body
    vals[:, 16] = org_check_values(body)  # 10 -> 'X' whose USCC value is 30 ('X' at index 29?)
    # the org check character is a character: 0-9 or 'X'; map to its USCC alphabet value
    x_value = USCC_ALPHABET.index("X")
    vals[:, 16] = np.where(vals[:, 16] == 10, x_value, vals[:, 16])
    vals[:, 17] = uscc_check_values(vals[:, :17])
    return to_strings(_USCC_CODES[vals])


def uscc_is_valid(codes: np.ndarray) -> np.ndarray:
    """(n,) strings -> bool: 18 characters of the alphabet with a right check character."""
    codes = np.asarray(codes, dtype=str)
    ok = np.char.str_len(codes) == 18
    out = np.zeros(len(codes), dtype=bool)
    if not ok.any():
        return out
    c = to_codes(np.char.upper(codes[ok]), 18)
    v = _USCC_VALUE[c]
    good = (v >= 0).all(axis=1)
    good &= uscc_check_values(np.where(v[:, :17] < 0, 0, v[:, :17])) == v[:, 17]
    out[ok] = good
    return out


def corrupt_uscc(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace the check character with another alphabet character (always invalid)."""
    c = to_codes(codes, 18).copy()
    v = _USCC_VALUE[c[:, 17]]
    v = (v + rng.integers(1, 31, size=len(v))) % 31
    c[:, 17] = _USCC_CODES[v]
    return to_strings(c)


# --------------------------------------------------------------------------- 注册号
def mod_11_10_check(digits: np.ndarray) -> np.ndarray:
    """(n, k) digit values -> (n,) ISO 7064 MOD 11,10 check digits."""
    digits = np.asarray(digits, dtype=np.int64)
    check = np.full(len(digits), 5, dtype=np.int64)
    for j in range(digits.shape[1]):
        check = (((np.where(check == 0, 10, check)) * 2) % 11 + digits[:, j]) % 10
    return (1 - (np.where(check == 0, 10, check) * 2) % 11) % 10


def make_reg_no(region: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """15-digit 注册号: region (6) + serial (8) + MOD 11,10 check."""
    d = np.empty((len(region), 15), dtype=np.int64)
    d[:, :6] = digits_of(region, 6)
    d[:, 6:14] = digits_of(serial, 8)
    d[:, 14] = mod_11_10_check(d[:, :14])
    return to_strings((d + 48).astype(np.uint8))


# --------------------------------------------------------------------------- 身份证号
def id_check_chars(digits17: np.ndarray) -> np.ndarray:
    return ID_CHECK[(np.asarray(digits17, dtype=np.int64) * ID_WEIGHTS).sum(axis=1) % 11]


def make_id_no(region: np.ndarray, birth_yyyymmdd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """18-character 身份证号: region (6) + birth date (8) + sequence (3) + check."""
    d = np.empty((len(region), 17), dtype=np.int64)
    d[:, :6] = digits_of(region, 6)
    d[:, 6:14] = digits_of(birth_yyyymmdd, 8)
    d[:, 14:17] = digits_of(seq, 3)
    body = to_strings((d + 48).astype(np.uint8))
    return np.char.add(body, id_check_chars(d))


def corrupt_id_no(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Swap the check character for a wrong one."""
    ids = np.asarray(ids, dtype="U18")
    last = np.array([s[-1] for s in ids])
    pos = np.array(["10X98765432".index(ch) for ch in last])
    wrong = np.array(list("10X98765432"))[(pos + rng.integers(1, 11, size=len(ids))) % 11]
    return np.char.add(np.array([s[:-1] for s in ids]), wrong)
