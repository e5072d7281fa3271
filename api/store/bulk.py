"""Bulk writes into the store, column-wise: PostgreSQL ``COPY`` (CSV written by Arrow), SpatiaLite one prepared
``INSERT`` run over tuples (``executemany``). No per-row dicts, no ORM; the caller's transaction is used, so a
failure leaves nothing behind.

Columns come as arrays (numpy, pandas or Arrow); missing values (None, NaN, NA, NaT) are stored as NULL. A
geometry column comes as a shapely array and is sent as WKB (EWKB hex in ``COPY``) in the working SRID. JSON
columns come as JSON text.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely
from sqlalchemy import Connection, Table, func, select

CHUNK = 200_000  # rows per COPY write / executemany call
DEFER_INDEXES_FROM = 50_000  # a load this large into a table holding fewer rows builds its indexes after it


def _arrow(values: Any) -> pa.Array:
    """One column as an Arrow array, missing values as nulls (NaN included)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        arr = values
    elif isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        arr = pa.array(values, from_pandas=True)
    elif isinstance(values, pd.Series):
        if pd.api.types.is_datetime64_any_dtype(values):
            arr = pa.array(values.dt.date.where(values.notna(), None), type=pa.date32(), from_pandas=True)
        else:
            arr = pa.array(values, from_pandas=True)
    else:
        arr = pa.array(np.asarray(values) if not isinstance(values, list) else values, from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_floating(arr.type):
        arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _table(columns: Mapping[str, Any], geometry: str | None, srid: int, ewkb: bool) -> pa.Table:
    arrays = {}
    for name, values in columns.items():
        if name == geometry:
            geoms = np.asarray(values, dtype=object)
            if ewkb:
                wkb = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
            else:
                wkb = shapely.to_wkb(geoms)
            arrays[name] = pa.array(wkb, from_pandas=True)
        else:
            arrays[name] = _arrow(values)
    return pa.table(arrays)


def _slice(values: Any, start: int, stop: int) -> Any:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.slice(start, stop - start)
    if isinstance(values, pd.Series):
        return values.iloc[start:stop]
    return values[start:stop]


def _parts(columns: Mapping[str, Any], n: int, geometry: str | None, srid: int, ewkb: bool) -> Iterator[pa.Table]:
    """The rows as Arrow tables of :data:`CHUNK` rows, converted one chunk at a time (memory: one chunk)."""
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        yield _table({k: _slice(v, start, stop) for k, v in columns.items()}, geometry, srid, ewkb)


def bulk_insert(conn: Connection, table: Table, columns: Mapping[str, Any], *, geometry: str | None = None,
                srid: int | None = None) -> int:
    """Insert the rows given column-wise into ``table`` within ``conn``'s transaction; returns the row count.

    Examples of columns: ``{"run_id": np.full(n, 7), "status": statuses, "geom": shapely_array}`` with
    ``geometry="geom", srid=4544``.
    """
    names = list(columns)
    if not names:
        return 0
    n = len(next(iter(columns.values())))
    if n == 0:
        return 0
    postgres = conn.dialect.name == "postgresql"
    parts = _parts(columns, n, geometry, srid or 0, ewkb=postgres)
    if postgres:
        _copy(conn, table, names, parts)
    else:
        _executemany(conn, table, names, parts, geometry, srid or 0)
    return n


@contextmanager
def deferred_indexes(conn: Connection, table: Table, n: int) -> Iterator[None]:
    """Drop ``table``'s plain (SQLAlchemy ``Index``) indexes for a load of ``n`` rows and build them after it,
    when the load is at least :data:`DEFER_INDEXES_FROM` rows and larger than what the table holds (index
    updates in random key order cost several times the rows themselves; one build after the load sorts once).
    In the caller's transaction: a failure leaves them as they were. Small loads change nothing."""
    if n < DEFER_INDEXES_FROM or not table.indexes:
        yield
        return
    held = conn.execute(select(func.max(table.c.id))).scalar() or 0  # ids only grow: an upper bound, cheaply
    if held >= n:
        yield
        return
    indexes = sorted(table.indexes, key=lambda i: i.name)
    for index in indexes:
        index.drop(conn)
    yield
    for index in indexes:
        index.create(conn)


def _copy(conn: Connection, table: Table, names: list[str], parts: Iterator[pa.Table]) -> None:
    cols = ", ".join(f'"{c}"' for c in names)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN (FORMAT csv)') as copy:
        for part in parts:
            buffer = io.BytesIO()
            pacsv.write_csv(part, buffer, options)
            copy.write(buffer.getbuffer())


def _python_values(arr: pa.Array) -> list[Any]:
    """Arrow values as the Python values sqlite3 binds: dates as ISO text (how SQLAlchemy stores them)."""
    if pa.types.is_date(arr.type):
        arr = arr.cast(pa.string())
    return arr.to_pylist()


def _executemany(conn: Connection, table: Table, names: list[str], parts: Iterator[pa.Table],
                 geometry: str | None, srid: int) -> None:
    cols = ", ".join(f'"{c}"' for c in names)
    marks = ", ".join(f"GeomFromWKB(?, {int(srid)})" if c == geometry else "?" for c in names)
    sql = f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})'
    cursor = conn.connection.driver_connection.cursor()
    try:
        for part in parts:
            cursor.executemany(sql, zip(*(_python_values(part.column(i).combine_chunks())
                                         for i in range(part.num_columns)), strict=True))
    finally:
        cursor.close()


def json_objects(columns: Mapping[str, Any], n: int) -> pa.Array:
    """One JSON object text per row from columns of JSON value texts (null where the value is missing, so the
    key is left out); rows with no key at all get null. Built in Arrow, no per-row dicts."""
    pieces = []
    for name, values in columns.items():
        arr = _arrow(values)
        pieces.append(pc.binary_join_element_wise(pa.scalar(json.dumps(name, ensure_ascii=False) + ": "), arr,
                                                  ""))
    if not pieces:
        return pa.nulls(n, pa.string())
    body = pc.binary_join_element_wise(*pieces, ", ", null_handling="skip")
    body = pc.if_else(pc.equal(pc.utf8_length(body), 0), pa.scalar(None, pa.string()), body)
    return pc.binary_join_element_wise(pa.scalar("{"), body, pa.scalar("}"), "")


def json_records(frame: pd.DataFrame) -> str:
    """A frame as the JSON text of its records (``[{column: value, …}, …]``; NaN/NA → null), column-wise."""
    if frame is None or frame.empty:
        return "[]"
    rows = json_objects({c: json_values(frame[c], keep_missing=True) for c in frame.columns}, len(frame))
    return "[" + ", ".join(rows.to_pylist()) + "]"


def json_values(values: Any, *, keep_missing: bool = False) -> pa.Array:
    """Each value as JSON text, each distinct value serialised once; a missing value is null (its key left out
    by :func:`json_objects`) or, with ``keep_missing``, the JSON ``null``."""
    series = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.dt.strftime("%Y-%m-%d").where(series.notna(), None)
    codes, uniq = pd.factorize(series.astype(object), use_na_sentinel=True)
    texts = [json.dumps(_plain(v), ensure_ascii=False, default=str) for v in np.asarray(uniq, dtype=object)]
    if keep_missing:
        codes = np.where(codes < 0, len(texts), codes)
        texts.append("null")
    dictionary = pa.array(texts, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0, type=pa.int32()), dictionary
                                          ).dictionary_decode()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    return value
