"""Read a dropped landing file as Arrow record batches in the raw-Parquet shape.

``open_drop(path, feed)`` reads the file's header, maps it onto the feed's
canonical columns (``connectors.feeds.map_headers``) and returns a
``DropReader`` whose ``batches()`` streams the rows lazily, in bounded memory.
Every batch has exactly the schema ``reader_schema(feed)``:

* every canonical column of the feed, in ``feed.column_names`` order, as
  string — the value as written, untrimmed and unfolded (staging trims and
  NFKC-folds, once); NULL when the file has no such column or the cell is empty
  (an empty string; a whitespace-only cell is kept as is);
* ``_extra`` string — a JSON object ``{"original header": "value", ...}`` of the
  columns outside the contract (``ensure_ascii=False``); NULL when the file has
  no extra column. An empty cell of a named extra column is ``null`` in the
  object; a column whose header is blank (Excel's trailing ``,,,``) appears as
  ``column_<n>`` only in rows where it holds a value, and ``_extra`` is NULL
  when a row has nothing to put in it. Two extra columns with the same header
  are ``h``, ``h_2``, ``h_3``...;
* ``_source_row`` int64 — 1-based number of the data row within the file;
* ``_parse_error`` string — NULL, or why the row could not be split (then the
  canonical columns are NULL and ``_extra`` is ``{"_raw_line": "<the text>"}``).

Row numbering and skipped rows (the same rule for every format): blank lines,
and rows whose every cell is empty or only white space (``,,,,`` lines, empty
spreadsheet rows, all NULL Parquet rows, ``{}`` JSON objects), carry no data and
are skipped;
``_source_row`` numbers the rows the reader emits, in file order, 1, 2, 3, ...
with no gaps, malformed rows included. So ``rows read`` = number of rows
emitted = the last ``_source_row``; nothing that holds data is dropped.

Formats (by extension, case-insensitive):

* ``.csv`` — comma-separated; the encoding is detected (``connectors.encoding``),
  never assumed. Leading blank lines before the header are skipped. Quoted
  fields may hold commas, quotes (``""``) and newlines. A row with the wrong
  number of fields becomes a ``_parse_error`` row ("expected N fields, got M")
  in its place, except that surplus trailing *empty* fields, or missing fields
  under blank headers, are tolerated (Excel exports). Streamed with pyarrow's
  CSV reader in 4 MiB blocks (``CSV_BLOCK_SIZE``: peak memory about 150 MiB
  whatever the file size; a single record larger than a block — in practice an
  unclosed quote in a large file — rejects the file ``unreadable``).
* ``.xlsx`` / ``.xls`` — the first sheet, via python-calamine; the header is
  the first non-empty row; date cells become ``YYYY-MM-DD``, datetime cells
  ``YYYY-MM-DD HH:MM:SS``, integral floats integer text (``2024.0`` ->
  ``2024``), booleans ``true``/``false``. An ``.xlsx`` whose decompressed size
  exceeds ``XLSX_MAX_UNCOMPRESSED`` (or looks like a zip bomb) is rejected
  ``too_large`` before it is opened. A ``.xls`` that is really an ``.xlsx`` (zip)
  is read as one. calamine holds the first sheet as a dense range: an ``.xlsx``
  whose first sheet spans more than ``SHEET_MAX_CELLS`` (rows x columns, from
  the cell references in its XML, scanned before calamine opens it) is rejected
  ``too_large`` (legacy ``.xls`` is capped at 65,536 x 256 by format).
* ``.parquet`` — column names are the headers; a file whose footer counts more
  rows than ``max_file_rows()`` (SSJ_MAX_FILE_ROWS) is rejected ``too_large``
  before any row is decoded (dictionary encoding packs millions of rows in a
  few KiB); values are cast to text
  (dates ``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS`` in their own time
  zone, integers and integral floats without ``.0``, other floats in shortest
  round-trip form, decimals exactly, nested values as JSON).
* ``.jsonl`` — UTF-8, one JSON object per line; the header is the union of the
  keys of the first 1,000 objects in first-seen order, keys first seen later go
  to ``_extra`` (every extra header key is in a row's ``_extra``, null when the
  line lacks it). Numbers keep their written text; nested values become compact
  JSON; a line that is not a JSON object becomes a ``_parse_error`` row; a line
  nesting values deeper than ``JSONL_MAX_DEPTH`` rejects the file. Read in
  chunks of whole lines (``JSONL_CHUNK_BYTES``): a chunk whose every line is an
  object of text values is parsed by Arrow's JSON reader, any other line by line
  with the same result (``jsonl_batches``).

A file that cannot be read at all raises ``FileRejected`` with a code:
``unreadable``, ``bad_encoding``, ``empty_file``, ``no_header``,
``missing_columns``, ``unsupported_format``, ``too_large`` (also for a header
row wider than ``MAX_COLUMNS``). Messages never quote the file's values. ``open_drop`` does
every check it can up front (encoding validation included), but ``batches()``
can still raise ``FileRejected("unreadable")`` mid-stream (e.g. a CSV record
larger than the block size after an unclosed quote, an I/O error): callers
must then discard the batches they already took.
"""

from connectors.encoding import FileRejected, detect_csv_encoding
from connectors.readers.assemble import FORMATS, max_file_rows, reader_schema, too_many_rows
from connectors.readers.reader import DropReader, open_drop

__all__ = [
    "FileRejected",
    "DropReader",
    "open_drop",
    "detect_csv_encoding",
    "reader_schema",
    "max_file_rows",
    "too_many_rows",
    "FORMATS",
]
