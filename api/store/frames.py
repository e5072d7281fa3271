"""Conversions between pandas/geopandas frames and database rows, both ways (import and read)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from gis.crs import WORKING_CRS

SRID = CRS(WORKING_CRS).to_epsg()


def _per_thread_cheap(transformer: Transformer) -> Transformer:
    """The same coordinate operation as ``transformer``, rebuilt from its pipeline text.

    pyproj keeps a Transformer's PROJ object per thread and makes it again in every thread that uses it; for
    CGCS2000 ↔ CRS84 that means PROJ's operation search, ~0.25 s each, one thread after another (40 server
    threads meeting their first bbox request at once waited 10 s). From the pipeline a thread's copy takes
    about a millisecond; the coordinates are the same to the bit. (A pipeline knows no CRS, so its
    ``transform_bounds`` gives inf: bounds keep the CRS-aware one, used once per dataset import.)
    """
    return Transformer.from_pipeline(transformer.definition)


_BOUNDS_TO_CRS84 = Transformer.from_crs(WORKING_CRS, "OGC:CRS84", always_xy=True)
_TO_CRS84 = _per_thread_cheap(_BOUNDS_TO_CRS84)
_FROM_CRS84 = _per_thread_cheap(Transformer.from_crs("OGC:CRS84", WORKING_CRS, always_xy=True))


def column_values(series: pd.Series, kind: str) -> pd.Series:
    """Values of ``series`` as Python objects for a column of ``kind`` (str/float/bool/date), NA → None."""
    if kind == "date":
        values = pd.to_datetime(series, errors="coerce")
        out = values.dt.date.astype(object)
        return out.where(values.notna(), None)
    if kind == "float":
        values = pd.to_numeric(series, errors="coerce").astype("float64")
        return values.astype(object).where(values.notna(), None)
    if kind == "bool":
        values = series.astype("boolean")
        return values.astype(object).where(values.notna(), None)
    return objects(series.map(_as_text, na_action="ignore"))


def objects(series: pd.Series) -> pd.Series:
    """``series`` as an object Series whose missing values are None (what DB drivers and JSON expect)."""
    return series.astype(object).where(series.notna(), None)


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def jsonable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose cells are JSON-serialisable Python values (dates → ISO text, NA → None)."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d").astype(object)
            out[name] = text.where(col.notna(), None)
        elif pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            out[name] = col.astype(object).where(col.notna(), None)
        else:
            out[name] = objects(col.map(_json_scalar, na_action="ignore"))
    return pd.DataFrame(out, index=frame.index)


def _json_scalar(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return json.loads(json.dumps(value, default=str))


def expand_extra(frame: pd.DataFrame, column: str = "extra") -> pd.DataFrame:
    """Spread the JSON dicts of ``column`` back into columns (the input's extra columns)."""
    if column not in frame.columns:
        return frame
    values = frame[column].map(lambda v: json.loads(v) if isinstance(v, str) else v)
    frame = frame.drop(columns=[column])
    if not values.notna().any():
        return frame
    extra = pd.DataFrame(values.map(lambda v: v or {}).tolist(), index=frame.index)
    extra = extra[[c for c in extra.columns if c not in frame.columns]]
    return pd.concat([frame, extra], axis=1)


def to_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Polygons and MultiPolygons (and collections of them) as 2-D MultiPolygons, vectorised."""
    geoms = shapely.force_2d(np.asarray(geoms, dtype=object))
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3  # polygons only (repairs may leave stray lines or points)
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=index[keep], out=out)
    return out


_CRS84 = CRS("OGC:CRS84")


def north_first(crs: CRS) -> bool:
    """True when ``crs``'s first axis points north or south, as EPSG:4490 (lat, lon) and EPSG:4544 (N, E)."""
    return crs.axis_info[0].direction in ("north", "south")


_transformers: dict[tuple[str, str], Transformer] = {}


def _transformer(src: CRS, dst: CRS) -> Transformer:
    """An x/y (east, north) transformer between two CRSs, built once per pair (see :func:`_per_thread_cheap`)."""
    key = (src.srs, dst.srs)
    found = _transformers.get(key)
    if found is None:
        found = _transformers[key] = _per_thread_cheap(Transformer.from_crs(src, dst, always_xy=True))
    return found


def bbox_polygon_working(bbox: tuple[float, float, float, float], points_per_edge: int = 16,
                         crs: CRS | None = None) -> tuple[tuple[float, float, float, float], bytes]:
    """A bbox (CRS84, or ``crs`` in its own axis order) as an EPSG:4544 polygon (edges densified; the box is
    not axis-aligned there) and its bounds.

    Grid north and true north differ by about a degree around Chengdu, so the enclosing 4544 rectangle of
    a large box holds a sliver of features outside it: bounds serve the index, the polygon the exact test.
    """
    minx, miny, maxx, maxy = bbox
    if crs is not None and north_first(crs):
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    t = np.linspace(0.0, 1.0, points_per_edge, endpoint=False)
    xs = np.concatenate([minx + (maxx - minx) * t, np.full_like(t, maxx), maxx - (maxx - minx) * t,
                         np.full_like(t, minx)])
    ys = np.concatenate([np.full_like(t, miny), miny + (maxy - miny) * t, np.full_like(t, maxy),
                         maxy - (maxy - miny) * t])
    px, py = (_FROM_CRS84 if crs is None else _transformer(crs, CRS(WORKING_CRS))).transform(xs, ys)
    polygon = shapely.Polygon(np.column_stack([px, py]))
    return tuple(float(v) for v in polygon.bounds), shapely.to_wkb(polygon)  # type: ignore[return-value]


def geometry_to_working(geom: shapely.Geometry, crs: CRS | None = None) -> bytes:
    """A geometry in CRS84 (or ``crs``, in its own axis order) as EPSG:4544 WKB."""
    swap = crs is not None and north_first(crs)
    to = _FROM_CRS84 if crs is None else _transformer(crs, CRS(WORKING_CRS))

    def _project(coords: np.ndarray) -> np.ndarray:
        x, y = (coords[:, 1], coords[:, 0]) if swap else (coords[:, 0], coords[:, 1])
        return np.column_stack(to.transform(x, y))

    return shapely.to_wkb(shapely.transform(geom, _project))


class RawJSON(str):
    """JSON text to be written as it is where a value goes (``api.ogc.GeoJSONResponse``): a geometry shapely
    wrote as GeoJSON is not parsed into dicts only to be serialised again (a third of a 1000-feature page)."""

    __slots__ = ()


def geometries_to_crs84(wkb: list[bytes | None], precision: int = 7, crs: CRS | None = None
                        ) -> list[RawJSON | None]:
    """EPSG:4544 WKB → GeoJSON geometries (as :class:`RawJSON` text) in CRS84, or in ``crs`` with its own axis
    order (EPSG:4490: latitude first; EPSG:4544/4523: northing first), coordinates rounded to ``precision``
    decimals (3 for a projected ``crs``: millimetres)."""
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    to = _TO_CRS84
    swap = False
    if crs is not None and crs != _CRS84:
        to, swap = _transformer(CRS(WORKING_CRS), crs), north_first(crs)
        precision = precision if crs.is_geographic else 3

    def _project(coords: np.ndarray) -> np.ndarray:
        x, y = to.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([y, x] if swap else [x, y]), precision)

    projected = shapely.transform(geoms, _project)
    texts = shapely.to_geojson(projected)
    return [RawJSON(t) if t is not None else None for t in texts]


def crs84_bounds(geoms: np.ndarray) -> list[float] | None:
    """The CRS84 bbox ``[minx, miny, maxx, maxy]`` of EPSG:4544 geometries (None when there are none)."""
    bounds = shapely.total_bounds(np.asarray(geoms, dtype=object))
    if not np.isfinite(bounds).all():
        return None
    return [round(float(v), 7) for v in _BOUNDS_TO_CRS84.transform_bounds(*bounds, densify_pts=11)]
