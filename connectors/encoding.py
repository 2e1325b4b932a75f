"""Text-encoding detection for dropped CSV files (and UTF-8 validation for JSON Lines).

The contract (docs/contract.md §1) says CSV files arrive as UTF-8 with or
without BOM, or GBK/GB18030 — *detected, never assumed*. Detection here is
exact, not statistical:

1. a UTF-8 byte-order mark -> ``utf-8-sig`` (the rest must then be valid UTF-8);
2. otherwise, if the whole file is valid UTF-8 -> ``utf-8``;
3. otherwise, if the whole file is valid GB18030 -> ``gb18030`` (a superset of
   GBK and GB2312 that also holds CJK Extension B, e.g. 𠮷);
4. otherwise the file is rejected (``bad_encoding``) with the byte offset of
   the first byte that is neither.

Validation streams the file through Python's incremental decoders (C speed) in
1 MiB chunks, so memory stays bounded whatever the file size. A NUL byte
never occurs in a text CSV; it marks a binary file (or UTF-16, which the
contract does not accept) and rejects the file straight away.
"""

from __future__ import annotations

import codecs
from pathlib import Path

CHUNK = 1 << 20  # 1 MiB

_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class FileRejected(Exception):
    """A dropped file cannot be read at all; the whole file is rejected.

    ``code`` is machine-readable (unreadable, bad_encoding, empty_file,
    no_header, missing_columns, unsupported_format, too_large); ``message`` is
    for the agency and names what is wrong and where — never the file's values
    (it is logged and published).
    """

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def first_invalid_offset(path: Path, encoding: str, *, start: int = 0) -> int | None:
    """Byte offset of the first byte ``path`` cannot be decoded at in ``encoding``, or None.

    Streams the file from ``start`` in 1 MiB chunks through an incremental decoder.
    Raises FileRejected("unreadable") on a NUL byte (binary content).
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    pos = start
    with open(path, "rb") as f:
        f.seek(start)
        while True:
            chunk = f.read(CHUNK)
            final = not chunk
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise FileRejected(
                    "unreadable",
                    f"binary content (NUL byte at byte offset {pos + nul}); not a text CSV/JSON Lines file",
                )
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final)
            except UnicodeDecodeError as e:
                return max(start, pos - pending + e.start)
            if final:
                return None
            pos += len(chunk)


def detect_csv_encoding(path: Path) -> str:
    """Return ``utf-8-sig``, ``utf-8`` or ``gb18030`` for a CSV file; raise FileRejected otherwise.

    Raises FileRejected("empty_file") for a 0-byte file, ("bad_encoding") when
    the bytes are neither UTF-8 nor GB18030 (the message gives byte offsets),
    ("unreadable") for binary content.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise FileRejected("unreadable", f"cannot open file: {e.strerror}") from e
    if not head:
        raise FileRejected("empty_file", "the file is empty (0 bytes)")
    for bom, name in _UTF16_32_BOMS:
        if head.startswith(bom):
            raise FileRejected(
                "bad_encoding", f"the file is {name}-encoded; save it as UTF-8 or GB18030/GBK CSV"
            )
    if head.startswith(codecs.BOM_UTF8):
        bad = first_invalid_offset(path, "utf-8", start=len(codecs.BOM_UTF8))
        if bad is not None:
            raise FileRejected(
                "bad_encoding", f"the file starts with a UTF-8 BOM but is not valid UTF-8 at byte offset {bad}"
            )
        return "utf-8-sig"
    bad_utf8 = first_invalid_offset(path, "utf-8")
    if bad_utf8 is None:
        return "utf-8"
    bad_gb = first_invalid_offset(path, "gb18030")
    if bad_gb is None:
        return "gb18030"
    raise FileRejected(
        "bad_encoding",
        f"the file is neither UTF-8 (invalid at byte offset {bad_utf8}) "
        f"nor GB18030/GBK (invalid at byte offset {bad_gb})",
    )
