"""Mapbox Vector Tiles (WebMercatorQuad) of the parcels collection — with a run's overall and per-rule
statuses — and of each zone layer, through the spatial index.

PostGIS builds the tile itself (``ST_AsMVTGeom`` on ``ST_TileEnvelope``, ``ST_AsMVT``); SpatiaLite finds the
candidates through its R*Tree and the tile is encoded here with ``mapbox_vector_tile`` after projecting to
EPSG:3857, clipping to the tile (plus a buffer) and simplifying to the tile's grid. Both give the same layer name
(the collection id), feature id (the stored row id) and properties.

At small scales a parcel smaller than a quarter of a screen pixel (256-pixel tiles) is left out of the tile
(``min_area_m2``): a city of a million parcels at zoom 8 would otherwise be a tile of a million sub-pixel polygons.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, LargeBinary, and_, func, literal_column, select

from api.store import models as m
from api.store.engine import memo
from api.store.errors import NotFound
from api.store.features import _bbox_clause, get_collection, latest_run_id
from api.store.frames import _TO_CRS84
from rules.result import status_column

EXTENT = 4096  # tile grid units per tile side (the MVT default)
BUFFER = 64  # grid units drawn beyond each tile edge, so strokes meet across tiles
MAX_ZOOM = 24  # WebMercatorQuad's deepest tile matrix
TILE_COLLECTIONS = "parcels, zone_<layer>"
_HALF_WORLD = 20037508.342789244  # EPSG:3857 half circumference (m)
_MAX_LAT = 85.0511287798066
_P = m.Parcel.__table__
_R = m.ParcelResult.__table__
_Z = m.ZoneFeature.__table__


class TileNotServed(NotFound):
    """A collection that has no vector tiles (enterprises)."""


@dataclass(frozen=True)
class TileKey:
    """What a tile's content depends on: collection, dataset, run (parcels only) and the tile's address."""

    collection: str
    dataset_id: int
    run_id: int | None
    z: int
    x: int
    y: int

    @property
    def etag(self) -> str:
        """Stored datasets and finished runs never change, so these ids and the address name the bytes."""
        run = f"r{self.run_id}" if self.run_id is not None else "r0"
        return f'"mvt1-d{self.dataset_id}-{run}-{self.collection}-{self.z}-{self.x}-{self.y}"'


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's EPSG:3857 bounds (minx, miny, maxx, maxy); WebMercatorQuad counts ``y`` from the north."""
    size = 2 * _HALF_WORLD / 2**z
    minx = -_HALF_WORLD + x * size
    maxy = _HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def _lonlat(mx: np.ndarray, my: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.degrees(mx / 6378137.0)
    lat = np.degrees(2 * np.arctan(np.exp(my / 6378137.0)) - math.pi / 2)
    return lon, lat


def _mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = np.clip(lat, -_MAX_LAT, _MAX_LAT)
    return 6378137.0 * np.radians(lon), 6378137.0 * np.log(np.tan(math.pi / 4 + np.radians(lat) / 2))


def min_area_m2(z: int) -> float:
    """The smallest parcel drawn at zoom ``z``: a quarter of a 256-pixel tile's pixel, in ground m² at 30°N
    (Web Mercator metres are 1/cos(lat) ground metres); 0 from zoom 14 on, where every parcel is drawn."""
    if z >= 14:
        return 0.0
    pixel = 2 * _HALF_WORLD / 2**z / 256 * math.cos(math.radians(30.0))
    return pixel * pixel / 4


def resolve(conn: Connection, collection_id: str, dataset_id: int | None, run_id: int | None, z: int, x: int,
            y: int) -> TileKey:
    """The tile's key: the collection in the dataset asked for (the run's dataset when only ``run`` is given,
    else the newest) and, for parcels, the run (default: the dataset's latest finished one). NotFound when the
    dataset, collection or run does not exist, or the run is not finished."""
    if run_id is not None:
        found = conn.execute(select(m.EvaluationRun.dataset_id, m.EvaluationRun.status)
                             .where(m.EvaluationRun.id == run_id)).first()
        if found is None or found.status != "done" or (dataset_id is not None and found.dataset_id != dataset_id):
            why = ("不存在" if found is None else "尚未完成" if found.status != "done"
                   else f"不属于数据集 {dataset_id}")
            raise NotFound(f"评估 {run_id} {why} (run not found, not finished or of another dataset)",
                           details=[{"parameter": "run", "value": run_id}])
        dataset_id = found.dataset_id
    c = get_collection(conn, collection_id, dataset_id)
    if c.id != "parcels" and c.layer is None:
        raise TileNotServed(f"要素集 {c.id} 不提供矢量瓦片，可用：{TILE_COLLECTIONS} (no tiles for this collection)",
                            details=[{"collection": c.id}])
    if c.id == "parcels" and run_id is None:
        run_id = latest_run_id(conn, c.dataset_id)
    return TileKey(c.id, c.dataset_id, run_id if c.id == "parcels" else None, z, x, y)


def rule_ids(conn: Connection, run_id: int) -> tuple[str, ...]:
    """The parcel-level rules of a finished run (the keys of its stored per-rule statuses), read once."""
    cache = memo(conn.engine)
    key = ("tile_rules", run_id)
    if key not in cache:
        sample = conn.scalar(select(_R.c.rule_statuses).where(_R.c.run_id == run_id).limit(1))
        if isinstance(sample, str):
            import json

            sample = json.loads(sample)
        cache[key] = tuple(sample or ())
    return cache[key]


class _TileCache:
    """The most recently made tiles of a store, up to ``limit`` bytes: a tile's key names its bytes for good."""

    def __init__(self, limit: int = 64 * 2**20) -> None:
        self.limit, self.size = limit, 0
        self.items: OrderedDict[TileKey, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: TileKey) -> bytes | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: TileKey, data: bytes) -> None:
        with self.lock:
            if key not in self.items:
                self.items[key] = data
                self.size += len(data)
            while self.size > self.limit and self.items:
                self.size -= len(self.items.popitem(last=False)[1])


def render(conn: Connection, key: TileKey) -> bytes:
    """The tile's MVT bytes (``b""`` when no feature falls in it), made once and then kept a while per server."""
    cache = memo(conn.engine).setdefault(("tiles",), _TileCache())
    found = cache.get(key)
    if found is None:
        found = _render(conn, key)
        cache.put(key, found)
    return found


def _render(conn: Connection, key: TileKey) -> bytes:
    c = get_collection(conn, key.collection, key.dataset_id)
    if not c.extent:
        return b""
    bounds = tile_bounds(key.z, key.x, key.y)
    pad = (bounds[2] - bounds[0]) * BUFFER / EXTENT
    lon, lat = _lonlat(np.array([bounds[0] - pad, bounds[2] + pad]), np.array([bounds[1] - pad, bounds[3] + pad]))
    box = (max(lon[0], c.extent[0]), max(lat[0], c.extent[1]), min(lon[1], c.extent[2]), min(lat[1], c.extent[3]))
    if box[0] > box[2] or box[1] > box[3]:
        return b""  # the tile is nowhere near the collection: no query
    if key.collection == "parcels":
        table = _P
        cols = [_P.c.id.label("fid"), _P.c.parcel_id, _R.c.status]
        if key.run_id is not None:
            cols += [_R.c.rule_statuses[r].as_string().label(status_column(r)) for r in rule_ids(conn, key.run_id)]
        source = _P.outerjoin(_R, and_(_R.c.run_id == (key.run_id if key.run_id is not None else -1),
                                       _R.c.parcel_id == _P.c.parcel_id))
        where = [_P.c.dataset_id == key.dataset_id]
        if (least := min_area_m2(key.z)) > 0:
            where.append(_P.c.area_m2 >= least)
    else:
        table = _Z
        cols = [_Z.c.id.label("fid"), _Z.c.layer, _Z.c.zone_id, _Z.c.name]
        source = _Z
        where = [_Z.c.dataset_id == key.dataset_id, _Z.c.layer == c.layer]
    where.append(_bbox_clause(conn, table, box))
    if conn.dialect.name == "sqlite":
        rows = conn.execute(select(*cols, func.ST_AsBinary(table.c.geom, type_=LargeBinary).label("wkb"))
                            .select_from(source).where(*where)).all()
        return _encode(key.collection, rows, bounds)
    envelope = func.ST_TileEnvelope(key.z, key.x, key.y)
    geom = func.ST_AsMVTGeom(func.ST_Transform(table.c.geom, 3857), envelope, EXTENT, BUFFER, True).label("geom")
    inner = select(*cols, geom).select_from(source).where(*where).subquery("t")
    mvt = func.ST_AsMVT(literal_column("t"), key.collection, EXTENT, "geom", "fid", type_=LargeBinary)
    data = conn.scalar(select(mvt).select_from(inner).where(inner.c.geom.isnot(None)))
    return bytes(data or b"")


def _encode(layer: str, rows: list[Any], bounds: tuple[float, float, float, float]) -> bytes:
    """SpatiaLite rows (id, properties, EPSG:4544 WKB) as one MVT layer, projected, clipped and simplified."""
    if not rows:
        return b""
    import mapbox_vector_tile
    from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

    minx, _, maxx, maxy = bounds
    scale = EXTENT / (maxx - minx)

    def to_grid(coords: np.ndarray) -> np.ndarray:
        lon, lat = _TO_CRS84.transform(coords[:, 0], coords[:, 1])
        mx, my = _mercator(np.asarray(lon), np.asarray(lat))
        return np.column_stack([(mx - minx) * scale, (maxy - my) * scale])  # grid units, y down

    geoms = shapely.transform(shapely.from_wkb(np.array([r.wkb for r in rows], dtype=object)), to_grid)
    geoms = shapely.clip_by_rect(geoms, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    geoms = shapely.simplify(geoms, 0.5)  # half a grid unit: what rounding to the grid would lose anyway
    # Snapped to the integer grid here (valid, collapsed parts dropped) and oriented as MVT wants (exterior
    # clockwise on screen, y down): the encoder's own per-feature winding checks were half of its time.
    geoms = shapely.orient_polygons(shapely.set_precision(geoms, 1.0), exterior_cw=False)
    keep = ~shapely.is_empty(geoms)
    if not keep.any():
        return b""
    names = [k for k in rows[0]._fields if k not in ("fid", "wkb")]
    features = [
        {"id": int(row.fid), "geometry": geom,
         "properties": {k: v for k in names if (v := getattr(row, k)) is not None}}
        for row, geom, kept in zip(rows, geoms, keep, strict=True) if kept
    ]
    return mapbox_vector_tile.encode(
        {"name": layer, "features": features},
        default_options={"extents": EXTENT, "y_coord_down": True, "check_winding_order": False,
                         "on_invalid_geometry": on_invalid_geometry_make_valid},
    )


__all__ = ["BUFFER", "EXTENT", "MAX_ZOOM", "TileKey", "TileNotServed", "min_area_m2", "render", "resolve", "rule_ids",
           "tile_bounds"]
