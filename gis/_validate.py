"""Column converters and geometry checks behind gis.io (vectorised; each returns values plus what was wrong).

A converter takes the raw column (any dtype: str from CSV, objects from XLSX, typed from GDAL) and returns
the normalised column and a boolean mask of the values it could not understand. The caller (gis.io) turns
masks into ValidationErrors naming the file and the offending ids, so one file's problems are reported
at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pandas.api import types as pdt

#: Column kinds understood by `convert`.
KINDS = ("id", "text", "code", "number", "int", "bool", "date", "status", "delay_cause")

#: Cells meaning "empty" in text exports (databases write NULL, Excel writes #N/A).
MISSING_TOKENS = ["", "NULL", "null", "NaN", "nan", "N/A", "#N/A"]

STATUS_VALUES = {
    "built": "built",
    "under_construction": "under_construction",
    "vacant": "vacant",
    "已建成": "built",
    "已建": "built",
    "建成": "built",
    "在建": "under_construction",
    "空地": "vacant",
}
DELAY_CAUSE_VALUES = {
    "none": "none",
    "government": "government",
    "force_majeure": "force_majeure",
    "无": "none",
    "政府原因": "government",
    "政府": "government",
    "不可抗力": "force_majeure",
}
BOOL_VALUES = {
    "true": True, "false": False, "t": True, "f": False,
    "1": True, "0": False, "1.0": True, "0.0": False,
    "yes": True, "no": False, "y": True, "n": False,
    "是": True, "否": False,
}
# Excel's day 0 (the 1900 leap-year bug makes it 1899-12-30 for every date after February 1900)
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


@dataclass
class Converted:
    """A normalised column, the mask of values that could not be understood, and what was expected."""

    values: pd.Series
    bad: np.ndarray
    expected: str = ""
    negative: np.ndarray | None = None


def isin(values: pd.Series, known: pd.Series | Iterable[str]) -> np.ndarray:
    """``values.isin(known)`` through Arrow compute; NA is never in.

    pandas' ``isin`` on Arrow-backed strings turns every element of ``known`` into a pyarrow scalar in Python,
    which costs seconds for an id column of a million rows; ``pyarrow.compute.is_in`` does the same in C++.
    """
    arr = pa.array(values.astype("str").array)
    known = known if isinstance(known, pd.Series) else pd.Series(list(known), dtype="str")
    known_arr = pc.drop_null(pa.array(known.astype("str").array))  # repeats are fine in a value set
    if isinstance(known_arr, pa.ChunkedArray):
        known_arr = known_arr.combine_chunks()
    mask = pc.is_in(arr, value_set=known_arr.cast(arr.type))
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' "str"
_MISSING_SET = pa.array(MISSING_TOKENS, pa.large_string())


def _str_series(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """An Arrow string array as a pandas ``str`` column (no copy)."""
    from pandas.arrays import ArrowStringArray

    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return pd.Series(ArrowStringArray(arr, dtype=_STR), index=index)


def _clean_arrow(s: pd.Series, *, excel: bool) -> pa.Array | pa.ChunkedArray:
    """`clean_text` of a text column as an Arrow array (null = empty cell), all in Arrow compute."""
    arr = pc.utf8_trim_whitespace(pa.array(s.astype("str").array))  # what pandas' str.strip() calls
    if excel:
        # openpyxl gives floats for numbers typed with a decimal point: "1001.0" means the code 1001
        arr = pc.replace_substring_regex(arr, r"^(-?\d+)\.0$", r"\1")
    missing = pc.fill_null(pc.is_in(arr, value_set=_MISSING_SET.cast(arr.type)), False)
    return pc.if_else(missing, pa.scalar(None, arr.type), arr)


def clean_text(s: pd.Series, *, excel: bool = False) -> pd.Series:
    """Text as pandas ``str`` with NA for empty cells; integral numbers without a trailing ``.0``."""
    if pdt.is_bool_dtype(s):
        return s.astype("object").astype("str")
    if pdt.is_numeric_dtype(s):
        f = s.astype("float64")
        out = f.astype("str")
        integral = np.isfinite(f) & (f == np.round(f))
        out[integral] = f[integral].astype("int64").astype("str")
        out[~np.isfinite(f)] = np.nan
        return out
    if pdt.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d").astype("str")
        return out
    return _str_series(_clean_arrow(s, excel=excel), s.index)


def to_float(t: pd.Series) -> pd.Series:
    """``pd.to_numeric(t, errors="coerce")`` as float64 for cleaned text, parsed by Arrow where it can.

    pandas parses strings one Python object at a time; Arrow's parser gives the same (correctly rounded)
    value for a positive finite number. Cells Arrow cannot parse, and those it reads as zero, negative, not
    finite or NaN (where pandas' rules on signs and words such as "inf" decide), are handed to pandas.
    """
    arr = pa.array(t.astype("str").array)
    known = t.notna().to_numpy()
    try:
        values = pc.cast(arr, pa.float64())
    except pa.ArrowInvalid:  # some cell is not a number to Arrow: parse only the plain decimals in Arrow
        plain = pc.fill_null(pc.match_substring_regex(arr, r"^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), False)
        values = pc.cast(pc.if_else(plain, arr, pa.scalar(None, arr.type)), pa.float64())
    out = np.asarray(values.to_numpy(zero_copy_only=False), dtype="float64").copy()
    with np.errstate(invalid="ignore"):
        other = np.flatnonzero(known & ~(np.isfinite(out) & (out > 0)))
    if len(other):
        out[other] = pd.to_numeric(t.iloc[other], errors="coerce").astype("float64").to_numpy()
    return pd.Series(out, index=t.index, dtype="float64")


def _convert_number(s: pd.Series, *, excel: bool) -> Converted:
    if pdt.is_bool_dtype(s):
        s = s.astype("float64")
    if pdt.is_numeric_dtype(s):
        v = s.astype("float64")
        bad = np.zeros(len(s), dtype=bool)
    else:
        t = _clean_arrow(s, excel=excel)
        # thousands separators and full-width digits from Chinese spreadsheets
        t2 = pc.replace_substring(pc.replace_substring(t, ",", ""), "，", "")
        v = to_float(_str_series(t2, s.index))
        bad = (np.asarray(pc.is_valid(t).to_numpy(zero_copy_only=False), dtype=bool) & v.isna().to_numpy())
    # NaN typed into a GeoPackage, "inf" or 1e400 in a CSV: a number, but not a measurement — refused by row
    infinite = np.isinf(v.to_numpy(dtype=float, na_value=np.nan))
    bad = bad | infinite
    v = v.mask(infinite)
    neg = (v < 0).to_numpy(na_value=False) if hasattr(v, "to_numpy") else np.asarray(v < 0)
    return Converted(v, bad, "有限的数字 (a finite number)", negative=neg)


def _map_distinct(t: pd.Series, func) -> np.ndarray:
    """``func`` of each distinct non-empty cell, spread over the column (object array; NaN where empty)."""
    codes, uniques = pd.factorize(t, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques.tolist()] + [np.nan], dtype=object)
    return mapped[codes]


def _convert_int(s: pd.Series, *, excel: bool) -> Converted:
    c = _convert_number(s, excel=excel)
    v = c.values
    frac = (v.notna() & (v != np.round(v))).to_numpy()
    bad = c.bad | frac
    out = v.where(~frac).round().astype("Int64")
    return Converted(out, bad, "整数 (an integer)", negative=c.negative)


def _convert_bool(s: pd.Series, *, excel: bool) -> Converted:
    if pdt.is_bool_dtype(s):
        return Converted(s.astype("boolean"), np.zeros(len(s), dtype=bool), "")
    t = clean_text(s, excel=excel)
    mapped = pd.Series(_map_distinct(t, lambda u: BOOL_VALUES.get(u.lower(), np.nan)), index=t.index)
    bad = (t.notna() & mapped.isna()).to_numpy()
    return Converted(mapped.astype("boolean"), bad, "是/否 (true/false, 1/0, 是/否, yes/no, y/n)")


def _convert_date(s: pd.Series, *, excel: bool) -> Converted:
    n = len(s)
    if pdt.is_datetime64_any_dtype(s):
        v = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        return Converted(v.astype("datetime64[ns]"), np.zeros(n, dtype=bool), "")
    if pdt.is_numeric_dtype(s) and not pdt.is_bool_dtype(s):
        f = s.astype("float64")
        if excel:
            ok = f.between(1, 2958465)
            v = (_EXCEL_EPOCH + pd.to_timedelta(f.where(ok), unit="D")).astype("datetime64[ns]")
            return Converted(v, (f.notna() & ~ok).to_numpy(), "日期 (a date, ISO 8601: 2024-03-01)")
        return Converted(pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), f.notna().to_numpy(),
                         "日期 (a date, ISO 8601: 2024-03-01)")
    t = clean_text(s, excel=excel)
    t2 = t.str.replace("/", "-", regex=False).str.replace(".", "-", regex=False)
    v = pd.to_datetime(t2, format="ISO8601", errors="coerce")
    # 2024-3-1 (no zero padding) is not ISO 8601 but is how people type dates
    retry = v.isna() & t2.notna()
    if retry.any():
        v = v.where(~retry, pd.to_datetime(t2.where(retry), format="%Y-%m-%d", errors="coerce"))
    if excel:
        serial = pd.to_numeric(t.where(v.isna()), errors="coerce")
        ok = serial.between(1, 2958465)
        if ok.any():
            v = v.where(~ok, _EXCEL_EPOCH + pd.to_timedelta(serial.where(ok), unit="D"))
    v = v.astype("datetime64[ns]")
    bad = (t.notna() & v.isna()).to_numpy()
    return Converted(v, bad, "日期 (a date, ISO 8601: 2024-03-01; 2024/03/01 also accepted)")


def _convert_choice(s: pd.Series, values: dict[str, str], *, excel: bool) -> Converted:
    t = clean_text(s, excel=excel)
    # each distinct cell looked up once; the column built in Arrow from the few words it holds
    codes, uniques = pd.factorize(t, use_na_sentinel=True)
    words = [values.get(u.lower(), values.get(u)) for u in uniques.tolist()]
    known = np.array([w is not None for w in words] + [False])
    vocab = sorted({w for w in words if w is not None})
    index = np.array([vocab.index(w) if w is not None else -1 for w in words] + [-1], dtype=np.int32)[codes]
    text = pa.DictionaryArray.from_arrays(pa.array(index, mask=index < 0), pa.array(vocab, pa.large_string()))
    bad = t.notna().to_numpy() & ~known[codes]
    allowed = " / ".join(dict.fromkeys(values.values())) + "（或 " + " / ".join(
        k for k in values if not k.isascii()) + "）"
    return Converted(_str_series(text.dictionary_decode(), t.index), bad, allowed)


def convert(s: pd.Series, kind: str, *, excel: bool = False) -> Converted:
    """Normalise one column to ``kind`` (see `KINDS`); report values that do not fit."""
    if kind in ("id", "text", "code"):
        return Converted(clean_text(s, excel=excel), np.zeros(len(s), dtype=bool))
    if kind == "number":
        return _convert_number(s, excel=excel)
    if kind == "int":
        return _convert_int(s, excel=excel)
    if kind == "bool":
        return _convert_bool(s, excel=excel)
    if kind == "date":
        return _convert_date(s, excel=excel)
    if kind == "status":
        return _convert_choice(s, STATUS_VALUES, excel=excel)
    if kind == "delay_cause":
        return _convert_choice(s, DELAY_CAUSE_VALUES, excel=excel)
    raise ValueError(f"unknown column kind {kind!r}")


def empty_column(kind: str, index: pd.Index) -> pd.Series:
    """An all-NA column of the dtype `convert` gives for ``kind``."""
    dtype = {
        "number": "float64",
        "int": "Int64",
        "bool": "boolean",
        "date": "datetime64[ns]",
    }.get(kind, "str")
    return pd.Series(pd.NA if dtype in ("Int64", "boolean") else np.nan, index=index, dtype=dtype)


# --- geometry ---------------------------------------------------------------------------------------

POLYGON_TYPES = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
LINE_TYPES = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING,
              shapely.GeometryType.LINEARRING)
_TYPE_NAMES = {int(t): t.name.title().replace("string", "String").replace("polygon", "Polygon")
               for t in shapely.GeometryType}


def type_names(geoms: np.ndarray) -> np.ndarray:
    """Geometry type names ("Point", "LineString", …) of a geometry array."""
    tid = shapely.get_type_id(geoms)
    return np.array([_TYPE_NAMES.get(int(t), "Missing") for t in np.unique(tid)], dtype=object)[
        np.searchsorted(np.unique(tid), tid)
    ]


@dataclass
class GeometryCheck:
    """Outcome of `check_polygons`: masks over the input rows plus the repaired MultiPolygons."""

    geoms: np.ndarray
    null: np.ndarray
    wrong_type: np.ndarray
    repaired: np.ndarray
    reasons: np.ndarray
    dropped_parts: np.ndarray
    collapsed: np.ndarray
    nonfinite: np.ndarray  # NaN or infinite coordinates: refused, never repaired


def check_polygons(geoms: np.ndarray, *, allow_types: tuple = POLYGON_TYPES) -> GeometryCheck:
    """Find null/empty and non-polygon geometries, repair invalid ones, make every result a MultiPolygon."""
    n = len(geoms)
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    tid = shapely.get_type_id(geoms)
    wrong_type = ~null & ~np.isin(tid, [int(t) for t in allow_types])
    ok = ~null & ~wrong_type
    g = np.array(geoms, dtype=object, copy=True)
    zm = ok & (shapely.has_z(g) | shapely.has_m(g))
    if zm.any():
        g[zm] = shapely.force_2d(g[zm])
    invalid = ok & ~shapely.is_valid(g)
    reasons = np.full(n, None, dtype=object)
    nonfinite = np.zeros(n, dtype=bool)
    if invalid.any():
        reasons[invalid] = shapely.is_valid_reason(g[invalid])
        # GEOS reports a NaN or infinite coordinate as "Invalid Coordinate"; make_valid would throw on it
        nonfinite[invalid] = pd.Series(reasons[invalid], dtype=object).str.startswith("Invalid Coordinate").to_numpy(
            dtype=bool
        )
        invalid &= ~nonfinite
        ok &= ~nonfinite
        if invalid.any():
            g[invalid] = shapely.make_valid(g[invalid])
    out = np.full(n, None, dtype=object)
    # a valid Polygon is one part already: wrapped as a MultiPolygon directly (the common case, no flattening)
    simple = ok & ~invalid & (tid == int(shapely.GeometryType.POLYGON))
    if simple.any():
        out[simple] = shapely.multipolygons(g[simple], indices=np.arange(int(simple.sum())))
    # flatten the rest to polygons: make_valid can give GeometryCollections holding MultiPolygons and lines
    rows = np.flatnonzero(ok & ~simple)
    parts, idx = shapely.get_parts(g[rows], return_index=True)
    parts2, idx2 = shapely.get_parts(parts, return_index=True)
    owner = rows[idx[idx2]]
    is_poly = (shapely.get_type_id(parts2) == int(shapely.GeometryType.POLYGON)) & ~shapely.is_empty(parts2)
    dropped_parts = np.zeros(n, dtype=bool)
    dropped_parts[owner[~is_poly]] = True
    keep_owner = owner[is_poly]
    if len(keep_owner):
        uniq, compact = np.unique(keep_owner, return_inverse=True)
        out[uniq] = shapely.multipolygons(parts2[is_poly], indices=compact)
    collapsed = ok & shapely.is_missing(out)
    return GeometryCheck(out, null, wrong_type, invalid, reasons, dropped_parts & ~collapsed, collapsed, nonfinite)
