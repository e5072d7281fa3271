"""Import an ``Inputs`` (or the contract's files) into the store: all-or-nothing, de-duplicated by hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from sqlalchemy import Connection, Engine, UniqueConstraint, insert, select
from sqlalchemy.exc import IntegrityError

from api.store import models as m
from api.store.bulk import bulk_insert, json_objects, json_values
from api.store.errors import ImportRejected
from api.store.frames import column_values, crs84_bounds, jsonable, objects, to_multipolygons
from api.store.limits import check_text_lengths
from api.store.repository import analyze, audit


@dataclass
class ImportOutcome:
    """What an import did: the dataset id, whether it was new, and the rows stored per kind."""

    dataset_id: int
    created: bool
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(file_hashes: dict[str, str], crs: str | None = None) -> str:
    """The identity of an import: kinds and contents of its files (not their names) and the CRS option."""
    key = json.dumps({"files": dict(sorted(file_hashes.items())), "crs": crs}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def find_dataset(conn: Connection, content_sha256: str) -> int | None:
    """The id of the dataset already imported with this content hash, if any."""
    return conn.scalar(select(m.Dataset.id).where(m.Dataset.content_sha256 == content_sha256))


def import_files(
    engine: Engine,
    parcels: str | Path,
    enterprises: str | Path | None = None,
    occupancy: str | Path | None = None,
    zones: str | Path | None = None,
    land_supply: str | Path | None = None,
    *,
    crs: str | None = None,
    name: str | None = None,
    actor: str | None = None,
    display_names: dict[str, str] | None = None,
) -> ImportOutcome:
    """Validate the contract's files with ``gis.io.load_inputs``; store them as one dataset (or find it).

    Validation comes first: files that fail are reported as such even when their bytes were seen before (a CSV
    renamed ``.xlsx`` is an error, never "already imported"); only valid files are matched by content hash.
    """
    paths = {"parcels": parcels, "enterprises": enterprises, "occupancy": occupancy, "zones": zones,
             "land_supply": land_supply}
    paths = {k: Path(v) for k, v in paths.items() if v is not None}

    from gis.io import load_inputs  # validation lives in gis/; it raises GisError naming files and ids

    inputs = load_inputs(crs=crs, **{k: str(v) for k, v in paths.items()})
    hashes = {k: file_sha256(p) for k, p in paths.items() if p.is_file()}
    digest = content_hash(hashes, crs)
    names = display_names or {k: p.name for k, p in paths.items()}
    sources = {k: {"name": names.get(k, p.name), "sha256": hashes.get(k), "size": _size(p)}
               for k, p in paths.items()}
    return import_inputs(engine, inputs, name=name or names["parcels"], actor=actor,
                         content_sha256=digest, sources=sources)


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def _existing_outcome(conn: Connection, dataset_id: int) -> ImportOutcome:
    row = conn.execute(select(m.Dataset.__table__).where(m.Dataset.id == dataset_id)).one()
    return ImportOutcome(dataset_id, False, row.name, dict(row.counts), list(row.warnings))


def import_inputs(
    engine: Engine,
    inputs: Any,
    *,
    name: str = "dataset",
    actor: str | None = None,
    content_sha256: str | None = None,
    sources: dict[str, Any] | None = None,
) -> ImportOutcome:
    """Store an already validated ``gis.io.Inputs`` as one dataset in one transaction (nothing on failure)."""
    if sources is None:
        sources = {k: {"name": Path(str(s.path)).name, "sha256": s.sha256, "size": s.size}
                   for k, s in (getattr(inputs, "sources", None) or {}).items()}
    if content_sha256 is None:
        hashes = {k: v["sha256"] for k, v in sources.items() if v.get("sha256")}
        if not hashes:
            raise ImportRejected("缺少源文件哈希，无法识别重复导入 (no source hashes to identify the import)")
        content_sha256 = content_hash(hashes)
    parcels = _checked_parcels(inputs.parcels)
    check_text_lengths(inputs, name)
    warnings = _warnings(inputs)
    missing = list(getattr(inputs.parcels, "attrs", {}).get("missing_columns", []) or [])
    try:
        return _store(engine, inputs, parcels, name=name, actor=actor, content_sha256=content_sha256,
                      sources=sources, warnings=warnings, missing=missing)
    except IntegrityError:
        # The same files imported at the same moment by someone else: theirs won the unique content hash.
        with engine.connect() as conn:
            existing = find_dataset(conn, content_sha256)
            if existing is None:
                raise
            return _existing_outcome(conn, existing)


def _store(engine: Engine, inputs: Any, parcels: gpd.GeoDataFrame, *, name: str, actor: str | None,
           content_sha256: str, sources: dict[str, Any], warnings: list[dict[str, Any]], missing: list[str],
           ) -> ImportOutcome:
    """Write one dataset in one transaction (or return the one already stored with this content hash)."""
    with engine.begin() as conn, _large_cache(conn):
        existing = find_dataset(conn, content_sha256)
        if existing is not None:
            return _existing_outcome(conn, existing)
        dataset_id = conn.scalar(
            insert(m.Dataset).returning(m.Dataset.id),
            [{"name": name, "content_sha256": content_sha256, "sources": sources, "counts": {}, "extents": {},
              "warnings": warnings, "missing_columns": missing, "created_by": actor}],
        )
        counts = {"parcels": _insert_parcels(conn, dataset_id, parcels)}
        extents = {"parcels": crs84_bounds(parcels.geometry.to_numpy())}
        if inputs.enterprises is not None:
            counts["enterprises"] = _insert_enterprises(conn, dataset_id, inputs.enterprises, parcels,
                                                        inputs.occupancy)
        if inputs.occupancy is not None:
            counts["occupancy"] = _insert_table(conn, m.Occupancy, dataset_id, inputs.occupancy,
                                                m.OCCUPANCY_COLUMNS)
        if getattr(inputs, "land_supply", None) is not None:
            counts["land_supply"] = _insert_table(conn, m.LandSupply, dataset_id, inputs.land_supply,
                                                  m.LAND_SUPPLY_COLUMNS)
        for layer, gdf in (inputs.zones or {}).items():
            counts[f"zone_{layer}"] = _insert_zone_layer(conn, dataset_id, layer, gdf)
            extents[f"zone_{layer}"] = crs84_bounds(gdf.geometry.to_numpy())
        if counts.get("enterprises"):
            extents["enterprises"] = extents["parcels"]
        conn.execute(m.Dataset.__table__.update().where(m.Dataset.id == dataset_id)
                     .values(counts=counts, extents=extents))
        audit(conn, actor, "import", "dataset", dataset_id,
              {"name": name, "counts": counts, "sources": sources})
        analyze(conn, "parcels", "enterprises", "occupancy", "zone_features")
    return ImportOutcome(dataset_id, True, name, counts, warnings)


@contextmanager
def _large_cache(conn: Connection) -> Iterator[None]:
    """SpatiaLite: a 256 MB page cache for the import's connection while it writes (the indexes of a million
    rows stay in memory instead of spilling to the WAL and back), the default again after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _warnings(inputs: Any) -> list[dict[str, Any]]:
    report = getattr(inputs, "report", None)
    issues = getattr(report, "issues", None) or []
    return [{"severity": i.severity, "file": i.file, "message": i.message, "ids": list(i.ids)[:100]}
            for i in issues if getattr(i, "severity", "warning") == "warning"]


def _checked_parcels(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Refuse what the store cannot hold: missing/duplicate ids, geometries that are not polygons."""
    if "parcel_id" not in parcels.columns:
        raise ImportRejected("宗地图层缺少 parcel_id 列 (parcels layer has no parcel_id column)",
                             details=[{"field": "parcel_id"}])
    if parcels.crs is None or parcels.crs.to_epsg() != m.SRID:
        raise ImportRejected(f"宗地图层坐标系应为 EPSG:{m.SRID} (parcels must be in EPSG:{m.SRID}), "
                             f"得到 (got) {parcels.crs}")
    ids = parcels["parcel_id"].astype("str")
    problems = []
    empty = parcels.index[parcels["parcel_id"].isna() | (ids.str.strip() == "")]
    if len(empty):
        problems.append({"problem": "empty parcel_id", "rows": [int(i) + 1 for i in empty[:50]]})
    dup = ids[ids.duplicated(keep=False) & parcels["parcel_id"].notna()]
    if len(dup):
        problems.append({"problem": "duplicate parcel_id", "ids": sorted(set(dup))[:50]})
    multi = to_multipolygons(parcels.geometry.to_numpy())
    bad = ids[pd.isna(pd.Series(multi, index=parcels.index)) | shapely.is_empty(multi)]
    if len(bad):
        problems.append({"problem": "geometry is not a polygon", "ids": list(bad)[:50]})
    if problems:
        raise ImportRejected("宗地数据无法入库，未写入任何内容 (parcels rejected; nothing was stored)",
                             details=problems)
    out = parcels.copy()
    out["geometry"] = gpd.GeoSeries(multi, index=parcels.index, crs=parcels.crs)
    out["parcel_id"] = ids
    return out


# A load of at least this many rows skips the per-row index work and does it once for the whole load:
# - PostgreSQL, when the load is larger than what the table holds: the GiST index and the unique (dataset, id)
#   constraint are dropped and built again after the COPY (one sorted build beats a million index updates);
# - SpatiaLite: the per-row triggers (geometry constraint check, spatial index update, last-insert time) are
#   set aside; after the load one statement checks every new geometry's type and SRID, one fills the R*Tree
#   with the new rows' boxes, and the triggers are put back as they were.
# All inside the import's transaction, so a failed import leaves the table and its indexes as they were.
REBUILD_INDEXES_FROM = 50_000
REBUILD_WHEN_HELD_UNDER = 1.0  # PostgreSQL: rebuild only if the table holds fewer rows than this × the load
_ROW_TRIGGERS = ("ggi", "gii", "tmi")  # SpatiaLite's insert triggers of a geometry column


@contextmanager
def _indexes_after_load(conn: Connection, table: Any, geoms: np.ndarray, dataset_id: int) -> Iterator[None]:
    n = len(geoms)
    if n < REBUILD_INDEXES_FROM:
        yield
        return
    name, geom = table.name, "geom"
    unique = next(c for c in table.constraints if isinstance(c, UniqueConstraint))
    id_column = next(c.name for c in unique.columns if c.name != "dataset_id")
    if conn.dialect.name == "postgresql":
        held = conn.exec_driver_sql(f"SELECT reltuples FROM pg_class WHERE relname = '{name}'").scalar() or 0
        if held >= REBUILD_WHEN_HELD_UNDER * n:
            yield
            return
        cols = ", ".join(c.name for c in unique.columns)
        conn.exec_driver_sql(f"DROP INDEX idx_{name}_{geom}")
        conn.exec_driver_sql(f"ALTER TABLE {name} DROP CONSTRAINT {unique.name}")
        yield
        conn.exec_driver_sql(f"ALTER TABLE {name} ADD CONSTRAINT {unique.name} UNIQUE ({cols})")
        conn.exec_driver_sql(f"CREATE INDEX idx_{name}_{geom} ON {name} USING gist ({geom})")
        return
    names = [f"{t}_{name}_{geom}" for t in _ROW_TRIGGERS]
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?)", tuple(names)).all()
    for trigger, _ in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{trigger}"')
    yield
    kind = str(table.c[geom].type.geometry_type).upper()
    bad = conn.exec_driver_sql(
        f"SELECT {id_column} FROM {name} WHERE dataset_id = ? AND {geom} IS NOT NULL "
        f"AND (ST_SRID({geom}) <> ? OR GeometryType({geom}) <> ?) LIMIT 50", (dataset_id, m.SRID, kind)).all()
    if bad:
        raise ImportRejected(f"{name} 几何类型或坐标系不符 (geometries are not {kind} in EPSG:{m.SRID})",
                             details=[{"ids": [str(r[0]) for r in bad]}])
    for _, sql in triggers:
        conn.exec_driver_sql(sql)
    # The new rows' boxes into the R*Tree in Hilbert order (neighbours inserted together: a third of the time of
    # table order at a million rows); the rows were inserted in ``geoms`` order, so their ids come in that order.
    ids = np.array([r[0] for r in conn.exec_driver_sql(f"SELECT id FROM {name} WHERE dataset_id = ? ORDER BY id",
                                                       (dataset_id,))], dtype=np.int64)
    has = ~(pd.isna(pd.Series(geoms)).to_numpy() | shapely.is_empty(geoms))
    ids, boxes = ids[has], shapely.bounds(geoms[has])
    order = np.argsort(gpd.GeoSeries(shapely.points((boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2))
                       .hilbert_distance(total_bounds=shapely.total_bounds(geoms[has])).to_numpy(), kind="stable")
    cursor = conn.connection.driver_connection.cursor()
    cursor.executemany(f"INSERT INTO idx_{name}_{geom} (pkid, xmin, xmax, ymin, ymax) VALUES (?, ?, ?, ?, ?)",
                       zip(ids[order].tolist(), boxes[order, 0].tolist(), boxes[order, 2].tolist(),
                           boxes[order, 1].tolist(), boxes[order, 3].tolist(), strict=True))
    cursor.close()
    conn.exec_driver_sql("UPDATE geometry_columns_time SET last_insert = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                         "WHERE lower(f_table_name) = lower(?) AND lower(f_geometry_column) = lower(?)", (name, geom))


def _typed_columns(frame: pd.DataFrame, columns: dict[str, str]) -> dict[str, Any]:
    n = len(frame)
    return {name: (column_values(frame[name], kind) if name in frame.columns else pa.nulls(n))
            for name, kind in columns.items()}


def _extra(frame: pd.DataFrame, known: set[str]) -> pa.Array:
    """The input's columns outside the contract as one JSON object per row (null when there are none)."""
    extra = [c for c in frame.columns if c not in known and c != "geometry"]
    return json_objects({c: json_values(frame[c], keep_missing=True) for c in extra}, len(frame))


def _insert_parcels(conn: Connection, dataset_id: int, parcels: gpd.GeoDataFrame) -> int:
    geoms = parcels.geometry.to_numpy()
    n = len(parcels)
    with _indexes_after_load(conn, m.Parcel.__table__, geoms, dataset_id):
        return bulk_insert(conn, m.Parcel.__table__, {
            "dataset_id": np.full(n, dataset_id, dtype=np.int64),
            "parcel_id": parcels["parcel_id"].astype(str),
            **_typed_columns(parcels, m.PARCEL_COLUMNS),
            "area_m2": shapely.area(geoms),
            "extra": _extra(parcels, set(m.PARCEL_COLUMNS) | {"parcel_id"}),
            "geom": geoms,
        }, geometry="geom", srid=m.SRID)


def _insert_enterprises(conn: Connection, dataset_id: int, enterprises: pd.DataFrame,
                        parcels: gpd.GeoDataFrame, occupancy: pd.DataFrame | None) -> int:
    if "enterprise_id" not in enterprises.columns:
        raise ImportRejected("企业表缺少 enterprise_id 列 (enterprises table has no enterprise_id column)",
                             details=[{"field": "enterprise_id"}])
    ids = enterprises["enterprise_id"].astype("str")
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise ImportRejected("企业编号重复 (duplicate enterprise_id)",
                             details=[{"problem": "duplicate enterprise_id", "ids": sorted(set(dup))[:50]}])
    land = _enterprise_land(parcels, occupancy).reindex(ids.to_numpy()).to_numpy(dtype=object).copy()
    land[pd.isna(land)] = None  # a firm without land: no geometry (reindex gives NaN, which GEOS refuses)
    n = len(enterprises)
    with _indexes_after_load(conn, m.Enterprise.__table__, land, dataset_id):
        return bulk_insert(conn, m.Enterprise.__table__, {
            "dataset_id": np.full(n, dataset_id, dtype=np.int64),
            "enterprise_id": ids,
            **_typed_columns(enterprises, m.ENTERPRISE_COLUMNS),
            "extra": _extra(enterprises, set(m.ENTERPRISE_COLUMNS) | {"enterprise_id"}),
            "geom": land,
        }, geometry="geom", srid=m.SRID)


def _enterprise_land(parcels: gpd.GeoDataFrame, occupancy: pd.DataFrame | None) -> pd.Series:
    """Each enterprise's land: the union of its parcels (occupancy, else parcels.enterprise_id), by id.

    A firm on one parcel has that parcel's geometry as is; only the firms on several parcels are unioned, one
    GEOS union per such firm (what a dissolve does for every group).
    """
    if occupancy is not None and {"enterprise_id", "parcel_id"} <= set(occupancy.columns):
        links = occupancy[["enterprise_id", "parcel_id"]].dropna().astype("str").drop_duplicates()
    elif "enterprise_id" in parcels.columns:
        links = parcels[["enterprise_id", "parcel_id"]].dropna().astype("str")
    else:
        return pd.Series([], dtype=object)
    position = pd.Series(np.arange(len(parcels)), index=parcels["parcel_id"].astype(str).to_numpy())
    links = links[links["parcel_id"].isin(position.index)]
    if links.empty:
        return pd.Series([], dtype=object)
    codes, firms = pd.factorize(links["enterprise_id"], sort=True)
    geoms = parcels.geometry.to_numpy()[position.reindex(links["parcel_id"].to_numpy()).to_numpy()]
    order = np.argsort(codes, kind="stable")
    codes, geoms = codes[order], geoms[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    land = geoms[starts].copy()
    for i in np.flatnonzero(sizes > 1).tolist():  # firms on several parcels only
        land[i] = shapely.union_all(geoms[starts[i]:starts[i] + sizes[i]])
    return pd.Series(to_multipolygons(land), index=pd.Index(np.asarray(firms, dtype=object)).astype(str),
                     dtype=object)


def _insert_table(conn: Connection, model: Any, dataset_id: int, frame: pd.DataFrame,
                  columns: dict[str, str]) -> int:
    return bulk_insert(conn, model.__table__, {
        "dataset_id": np.full(len(frame), dataset_id, dtype=np.int64),
        **_typed_columns(frame, columns),
        "extra": _extra(frame, set(columns)),
    })


def _insert_zone_layer(conn: Connection, dataset_id: int, layer: str, gdf: gpd.GeoDataFrame) -> int:
    geoms = shapely.force_2d(gdf.geometry.to_numpy())
    missing = np.flatnonzero(pd.isna(pd.Series(geoms)) | shapely.is_empty(geoms))
    if len(missing):
        raise ImportRejected(f"分区图层 {layer} 有空几何 (zone layer {layer} has empty geometries)",
                             details=[{"layer": layer, "rows": [int(i) + 1 for i in missing[:50]]}])
    props = jsonable(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
    key = next((c for c in ("zone_id", "park_id", "name") if c in props.columns), None)
    n = len(gdf)
    return bulk_insert(conn, m.ZoneFeature.__table__, {
        "dataset_id": np.full(n, dataset_id, dtype=np.int64),
        "layer": pa.array([layer] * n, pa.string()),
        "zone_id": objects(props[key].map(_text, na_action="ignore")) if key else pa.nulls(n),
        "name": objects(props["name"].map(_text, na_action="ignore")) if "name" in props.columns else pa.nulls(n),
        "properties": json_objects({c: json_values(props[c], keep_missing=True) for c in props.columns}, n),
        "geom": geoms,
    }, geometry="geom", srid=m.SRID)


def _text(value: Any) -> str:
    return str(value)
