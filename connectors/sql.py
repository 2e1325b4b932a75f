"""Read a table or query from any SQLAlchemy URL as raw-store record batches.

``read_sql_source(url, table=... | query=..., feed=..., watermark_column=..., since=...)``
connects (with bounded retries), runs the query with a server-side cursor
(``stream_results`` + ``yield_per``: memory is bounded by ``chunk_rows``), maps
the result's column names onto the feed through the same alias table as file
drops (``connectors.feeds.map_headers``, so ``执法证号``/``姓名``/... work) and
returns a ``SqlExtract`` whose ``batches()`` yields Arrow record batches in
exactly the schema of the file readers (``connectors.readers.reader_schema``):

* every canonical column of the feed as string, the value as text: dates
  ``YYYY-MM-DD``, datetimes ``YYYY-MM-DD HH:MM:SS`` (time-zone-aware values are
  first converted to Asia/Shanghai), integers and integral floats/decimals
  without ``.0``, other numbers in shortest round-trip / exact decimal form,
  booleans ``true``/``false``, JSON / array values as compact JSON. SQL NULL
  stays NULL; an empty string becomes NULL too (an empty cell, as in files);
* ``_extra`` — JSON object of the columns outside the contract (NULL if none);
* ``_source_row`` — 1-based row number within this extract;
* ``_parse_error`` — always NULL (a database row cannot be malformed).

Every row the query returns is emitted (unlike files, an all-NULL row is a
record and is kept; staging quarantines it for its missing required values).

Incremental extraction
----------------------
With ``watermark_column`` and ``since`` the query becomes
``SELECT * FROM <source> WHERE wm >= :since ORDER BY wm``. We use ``>=``, not
``>``: watermarks are often coarse (a DATE, or a timestamp shared by a batch
update) and a row committed after our read with the *same* value as the
maximum we saw would be lost forever with ``>``. With ``>=`` the rows sitting
exactly at ``since`` are re-read; those already delivered are recognised by a
hash of their full content (``exclude``: the ``boundary`` hashes the previous
extract returned) and skipped, so a row is delivered once per version: an
unchanged boundary row is not delivered again, a boundary row whose content
changed without its watermark moving is. Downstream, the latest version of
each key wins, so even a repeat would be harmless — but it would count twice
in ``rows_read``, which the boundary hashes avoid.

Limits (documented, not hidden): rows whose watermark is NULL are read only by
a full extract (``since=None``); a writer that commits a row whose watermark
is *older* than the maximum already read (a long transaction stamping
``updated_at`` at its start) is missed until the next full extract.

Retries: connecting and starting the query are retried on
``OperationalError`` (connection refused, server gone, timeouts) with
exponential backoff and a bounded number of attempts (``RetryPolicy``); then
``SourceUnavailable`` is raised naming the source by its URL with the password
masked. A connection lost mid-stream raises ``SourceUnavailable`` as well; the
caller discards what it took and retries the whole extract (see
``pipelines/defs/ingest/sql_sources.py``). Credentials never appear in a
message or log line: URLs are rendered with ``hide_password=True`` and the
password text is scrubbed from driver messages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from connectors.feeds import Feed, HeaderMap, MissingColumns, fold_header, map_headers

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
EXTRA = "_extra"
SOURCE_ROW = "_source_row"
PARSE_ERROR = "_parse_error"
CONNECT_TIMEOUT_S = 10

T = TypeVar("T")


# --------------------------------------------------------------------------- errors, URLs, retries


class SqlSourceError(RuntimeError):
    """A SQL source could not be read; the message names the source (password masked)."""


class SourceUnavailable(SqlSourceError):
    """The source's server could not be reached (after retries) or dropped the connection."""


SECRET_QUERY_KEY = re.compile(r"pass|pwd|secret|token|key|auth|credential|sig", re.IGNORECASE)
"""Query parameters of a connection URL whose values are secrets (password, passwd, pwd,
sslpassword, token, sslkey, api_key, authSource's … — any name containing one of these)."""


def mask_url(url: str | URL) -> str:
    """What a message may say of a connection URL: driver, host, port and database only.

    The user name, the password and every query parameter are left out (a password
    also hides in ``?password=`` or an ``sslpassword``; a user name is personal data).
    """
    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 - an unparseable URL must not leak either
        return "<unparseable database URL>"
    host = u.host or ""
    if u.port:
        host += f":{u.port}"
    database = f"/{u.database}" if u.database else ""
    return f"{u.drivername}://{host}{database}"


def _secrets_of(url: str | URL) -> list[str]:
    """Every secret a URL carries, as written and percent-decoded, longest first."""
    text = str(url)
    found: set[str] = set()
    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001
        u = None
    if u is not None:
        found.add(u.render_as_string(hide_password=False))
        if u.password:
            found.add(str(u.password))
        if u.username and len(u.username) >= 3:  # an account name may be a person's; 1-2 letters would garble the text
            found.add(str(u.username))
        for key, value in u.query.items():
            if SECRET_QUERY_KEY.search(key):
                found.update(value if isinstance(value, tuple) else (value,))
    found.add(text)
    # the password as written in the URL (percent-encoded), and a query value as written
    match = re.match(r"^[^:/]+://[^:/@]*:([^@]*)@", text)
    if match:
        found.add(match.group(1))
    for key, value in re.findall(r"[?&]([^=&]+)=([^&]*)", text):
        if SECRET_QUERY_KEY.search(key):
            found.add(value)
    return sorted((s for s in found if s), key=len, reverse=True)


def normalize_url(url: str | URL) -> URL:
    """Pick the installed driver for bare ``postgresql://`` / ``mysql://`` / ``mariadb://`` URLs."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername in ("mysql", "mariadb"):
        u = u.set(drivername=f"{u.drivername}+pymysql")
    if u.get_backend_name() in ("mysql", "mariadb") and "charset" not in u.query:
        u = u.update_query_dict({"charset": "utf8mb4"})
    return u


def scrub(text: str, url: str | URL | None) -> str:
    """A driver's message with the URL (as ``mask_url`` shows it) and every secret it carries removed."""
    if url is None:
        return text
    for secret in _secrets_of(url):
        text = text.replace(secret, mask_url(url) if secret == str(url) else "***")
    return text


def make_engine(url: str | URL, **kwargs: Any) -> sa.Engine:
    """An engine without a pool (each extract/publish is one connection) and with a connect timeout."""
    u = normalize_url(url)
    connect_args: dict[str, Any] = {}
    if u.get_backend_name() in ("postgresql", "mysql", "mariadb"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    return sa.create_engine(u, poolclass=NullPool, connect_args=connect_args, **kwargs)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base_delay * 2**n`` (capped, with ±25 % jitter), ``attempts`` tries in all."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        d = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return d * random.uniform(0.75, 1.25)


def is_connection_error(exc: BaseException) -> bool:
    """OperationalError from SQLAlchemy or the DB-API drivers: worth a retry."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.DisconnectionError)):
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if name == "OperationalError" or any(c.__name__ == "OperationalError" for c in type(exc).__mro__):
        return module.startswith(("psycopg", "pymysql", "sqlite3", "sqlalchemy"))
    return isinstance(exc, (ConnectionError, TimeoutError))


def with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    url: str | URL | None = None,
    retry_on: Callable[[BaseException], bool] = is_connection_error,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; on a retryable error back off and try again; finally raise ``SourceUnavailable``."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not retry_on(exc):
                raise
            reason = scrub(_first_line(exc), url)
            if attempt == policy.attempts:
                raise SourceUnavailable(
                    f"{what}: unreachable after {policy.attempts} attempt(s): {reason}"
                ) from None
            delay = policy.delay(attempt)
            log.warning("%s: attempt %d/%d failed (%s); retrying in %.1fs", what, attempt, policy.attempts, reason, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return f"{type(orig if orig is not None else exc).__name__}: {text.splitlines()[0] if text else ''}"


# --------------------------------------------------------------------------- values as text


def _float_text(v: float) -> str:
    if v != v or v in (float("inf"), float("-inf")):
        return repr(v)
    if v.is_integer() and abs(v) < 1e17:
        return str(int(v))
    return repr(v)


def _decimal_text(v: Decimal) -> str:
    if not v.is_finite():
        return str(v)
    text = format(v, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def value_text(v: Any) -> str | None:
    """One database value as the text the raw store keeps (see the module docstring)."""
    if v is None:
        return None
    t = type(v)
    if t is str:
        return v if v != "" else None
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return _float_text(v)
    if isinstance(v, Decimal):
        return _decimal_text(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(TZ).replace(tzinfo=None)
        return v.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.replace(microsecond=0, tzinfo=None).isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", errors="backslashreplace") or None
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    if isinstance(v, str):
        return str(v) or None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return _float_text(float(v))
    if isinstance(v, uuid.UUID):
        return str(v)
    return str(v)


def _json_default(v: Any) -> Any:
    return value_text(v)


def _coerce_like(since: Any, sample: Any) -> Any:
    """Make the bound ``since`` comparable in Python with the column's values (date vs datetime, tz)."""
    if isinstance(sample, dt.datetime):
        if not isinstance(since, dt.datetime) and isinstance(since, dt.date):
            since = dt.datetime.combine(since, dt.time())
        if isinstance(since, dt.datetime):
            if sample.tzinfo is not None and since.tzinfo is None:
                since = since.replace(tzinfo=sample.tzinfo)
            elif sample.tzinfo is None and since.tzinfo is not None:
                since = since.astimezone(TZ).replace(tzinfo=None)
    elif isinstance(sample, dt.date) and isinstance(since, dt.datetime):
        since = since.date() if since.time() == dt.time() else since
    elif isinstance(sample, (int, Decimal, float)) and isinstance(since, str):
        try:
            since = type(sample)(since)
        except (ValueError, ArithmeticError):
            pass
    return since


# --------------------------------------------------------------------------- watermarks


WATERMARK_TYPES = ("datetime", "date", "int", "decimal", "float", "str")


def watermark_type(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return "datetime"
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, bool):
        return "int"
    if isinstance(v, int):
        return "int"
    if isinstance(v, Decimal):
        return "decimal"
    if isinstance(v, float):
        return "float"
    return "str"


def encode_watermark(v: Any) -> str:
    """Full-precision text of a watermark value (datetimes keep microseconds and offset)."""
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return repr(v)
    return str(v)


def decode_watermark(text: str, kind: str | None) -> Any:
    """The Python value to bind for ``since``; ``kind`` None guesses (int, date, datetime, else text)."""
    if kind is None:
        for guess in ("int", "date", "datetime"):
            try:
                return decode_watermark(text, guess)
            except ValueError:
                continue
        return text
    if kind == "datetime":
        return dt.datetime.fromisoformat(text)
    if kind == "date":
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    if kind == "int":
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "float":
        return float(text)
    if kind == "str":
        return text
    raise ValueError(f"unknown watermark type {kind!r} (one of {', '.join(WATERMARK_TYPES)})")


# --------------------------------------------------------------------------- the extract


def reader_schema(feed: Feed) -> pa.Schema:
    """Same as ``connectors.readers.reader_schema``: canonical columns as text + reader fields."""
    return pa.schema(
        [pa.field(c, pa.string()) for c in feed.column_names]
        + [pa.field(EXTRA, pa.string()), pa.field(SOURCE_ROW, pa.int64()), pa.field(PARSE_ERROR, pa.string())]
    )


_NULL_MARK = "\x00\x02NULL\x03"


def row_hash(values: tuple[str | None, ...] | list[str | None]) -> str:
    """Hash of one row's text values in source column order (NULL distinct from any text)."""
    joined = "\x00\x1f".join(_NULL_MARK if v is None else v for v in values)
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def column_text(values: tuple[Any, ...]) -> list[str | None]:
    """``value_text`` over a column, with a fast path for text (the common case)."""
    return [(v or None) if type(v) is str else (None if v is None else value_text(v)) for v in values]


@dataclass
class SqlExtract:
    """A running extract. Iterate ``batches()`` once; afterwards the summary fields are set.

    ``watermark`` / ``watermark_type``: the largest watermark value read (encoded
    text; ``since`` again when no row was newer); ``boundary``: content hashes of
    the delivered rows whose watermark equals it (pass them as ``exclude`` next
    time); ``rows``: rows delivered; ``skipped``: boundary rows already delivered
    before; ``content_hash``: an order-independent hash of every delivered row.
    """

    label: str  # "<name> (<masked url>)"
    feed: Feed
    header_map: HeaderMap
    columns: list[str]  # the source's column names, in result order
    schema: pa.Schema
    since: str | None
    watermark: str | None
    watermark_type: str | None
    watermark_column: str | None = None
    boundary: set[str] = field(default_factory=set)
    rows: int = 0
    skipped: int = 0
    null_watermarks: int = 0
    content_hash: str | None = None
    _result: Any = field(default=None, repr=False)
    _conn: Any = field(default=None, repr=False)
    _engine: Any = field(default=None, repr=False)
    _wm_pos: int | None = field(default=None, repr=False)
    _since_value: Any = field(default=None, repr=False)
    _exclude: frozenset[str] = field(default_factory=frozenset, repr=False)
    _chunk_rows: int = field(default=50_000, repr=False)
    _url: Any = field(default=None, repr=False)
    _done: bool = field(default=False, repr=False)

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._done or self._result is None:
            raise SqlSourceError(f"{self.label}: batches() can be iterated only once")
        feed_cols = self.feed.column_names
        by_canonical = {name: pos for pos, name in self.header_map.canonical.items()}
        canon_pos = [by_canonical.get(c) for c in feed_cols]
        extras = self.header_map.extra_keys()
        wm_pos = self._wm_pos
        since_value = self._since_value
        exclude = self._exclude
        max_wm = since_value
        at_max: set[str] = set(exclude) if since_value is not None else set()
        acc = 0  # order-independent content hash: sum of row hashes mod 2**128
        next_row = 1
        coerced = False
        try:
            try:
                for chunk in self._result.partitions(self._chunk_rows):
                    if not chunk:
                        continue
                    raw_cols = list(zip(*chunk))
                    text_cols = [column_text(col) for col in raw_cols]
                    hashes = [row_hash(r) for r in zip(*text_cols)]
                    keep = None
                    if wm_pos is not None:
                        wms = raw_cols[wm_pos]
                        keep = [True] * len(chunk)
                        for i, w in enumerate(wms):
                            if w is None:
                                self.null_watermarks += 1
                                continue
                            if not coerced:
                                coerced = True
                                if since_value is not None:
                                    since_value = max_wm = _coerce_like(since_value, w)
                            if since_value is not None and w == since_value and hashes[i] in exclude:
                                keep[i] = False
                                self.skipped += 1
                                continue
                            if max_wm is None or w > max_wm:
                                max_wm, at_max = w, {hashes[i]}
                            elif w == max_wm:
                                at_max.add(hashes[i])
                        if all(keep):
                            keep = None
                        else:
                            idx = [i for i, k in enumerate(keep) if k]
                            text_cols = [[c[i] for i in idx] for c in text_cols]
                            hashes = [hashes[i] for i in idx]
                    n = len(hashes)
                    if n == 0:
                        continue
                    for h in hashes:
                        acc = (acc + int(h, 16)) % (1 << 128)
                    arrays = [
                        pa.array(text_cols[p], pa.string()) if p is not None else pa.nulls(n, pa.string())
                        for p in canon_pos
                    ]
                    arrays.append(_extra_array(text_cols, extras, n))
                    arrays.append(pa.array(range(next_row, next_row + n), pa.int64()))
                    arrays.append(pa.nulls(n, pa.string()))
                    next_row += n
                    self.rows += n
                    yield pa.RecordBatch.from_arrays(arrays, schema=self.schema)
            except sa.exc.DBAPIError as exc:
                reason = scrub(_first_line(exc), self._url)
                if is_connection_error(exc):
                    raise SourceUnavailable(f"{self.label}: connection lost after {self.rows} row(s): {reason}") from None
                raise SqlSourceError(f"{self.label}: reading failed after {self.rows} row(s): {reason}") from None
            if wm_pos is not None and max_wm is not None:
                self.watermark = encode_watermark(max_wm)
                self.watermark_type = watermark_type(max_wm)
                self.boundary = at_max
            self.content_hash = f"{acc:032x}"
            self._done = True
        finally:
            self.close()

    def close(self) -> None:
        for closer in (getattr(self._result, "close", None), getattr(self._conn, "close", None)):
            if closer is not None:
                try:
                    closer()
                except Exception:  # noqa: BLE001 - closing a broken connection must not mask the error
                    pass
        if self._engine is not None:
            self._engine.dispose()
        self._result = self._conn = self._engine = None

    def __enter__(self) -> SqlExtract:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _extra_array(text_cols: list[list[str | None]], extras: list[tuple[int, str]], n: int) -> pa.Array:
    if not extras:
        return pa.nulls(n, pa.string())
    cols = [(key, text_cols[pos]) for pos, key in extras]
    return pa.array(
        [json.dumps({k: c[i] for k, c in cols}, ensure_ascii=False, separators=(",", ":")) for i in range(n)],
        pa.string(),
    )


def _find_column(columns: list[str], wanted: str) -> int | None:
    if wanted in columns:
        return columns.index(wanted)
    folded = fold_header(wanted)
    for i, c in enumerate(columns):
        if fold_header(c) == folded:
            return i
    return None


def _source_selectable(table: str | None, query: str | None, wm: str | None) -> tuple[Any, Any]:
    """(FROM clause, watermark column expression or None)."""
    if table:
        schema, _, name = table.rpartition(".")
        cols = [sa.column(wm)] if wm else []
        src = sa.table(name, *cols, schema=schema or None)
    else:
        text = query.strip().rstrip(";").strip()
        cols = [sa.column(wm)] if wm else []
        src = sa.text(text).columns(*cols).subquery("ssj_src")
    return src, (src.c[wm] if wm else None)


def read_sql_source(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    feed: Feed,
    watermark_column: str | None,
    since: str | None,
    since_type: str | None = None,
    exclude: Collection[str] = (),
    chunk_rows: int = 50_000,
    name: str | None = None,
    retry: RetryPolicy | None = None,
) -> SqlExtract:
    """Start extracting ``table`` or ``query`` from ``url`` (see the module docstring).

    Raises ``SourceUnavailable`` if the server cannot be reached after the
    retries, ``SqlSourceError`` for anything else wrong with the source (a
    missing required column, an unknown watermark column, a bad query).
    """
    if (table is None) == (query is None):
        raise ValueError("give exactly one of table= or query=")
    retry = retry or RetryPolicy()
    label = f"SQL source {name + ' ' if name else ''}({mask_url(url)})"
    since_value = decode_watermark(since, since_type) if since is not None else None
    if since is not None and not watermark_column:
        raise ValueError("since= needs watermark_column=")
    src, wm_expr = _source_selectable(table, query, watermark_column)
    stmt = sa.select(sa.literal_column("*")).select_from(src)
    if wm_expr is not None:
        if since_value is not None:
            stmt = stmt.where(wm_expr >= sa.bindparam("ssj_since", since_value))
        stmt = stmt.order_by(wm_expr)

    def start() -> tuple[sa.Engine, sa.Connection, sa.CursorResult]:
        engine = make_engine(url)
        conn = None
        try:
            conn = engine.connect().execution_options(stream_results=True, yield_per=max(1, chunk_rows))
            result = conn.execute(stmt)
            return engine, conn, result
        except BaseException:
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
            engine.dispose()
            raise

    try:
        engine, conn, result = with_retries(start, what=label, policy=retry, url=url)
    except SourceUnavailable:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise SqlSourceError(f"{label}: query failed: {scrub(_first_line(exc), url)}") from None

    columns = [str(k) for k in result.keys()]
    extract = SqlExtract(
        label=label, feed=feed, header_map=HeaderMap({}, {}, {}), columns=columns, schema=reader_schema(feed),
        since=since, watermark=since, watermark_type=since_type or (watermark_type(since_value) if since is not None else None),
        watermark_column=watermark_column, boundary=set(exclude), _result=result, _conn=conn, _engine=engine,
        _since_value=since_value, _exclude=frozenset(exclude), _chunk_rows=max(1, chunk_rows), _url=url,
    )
    try:
        extract.header_map = map_headers(feed, columns)
        if watermark_column:
            extract._wm_pos = _find_column(columns, watermark_column)
            if extract._wm_pos is None:
                raise SqlSourceError(f"{label}: watermark column {watermark_column!r} is not among {columns}")
    except MissingColumns as exc:
        extract.close()
        raise SqlSourceError(f"{label}: {exc}") from None
    except BaseException:
        extract.close()
        raise
    return extract
