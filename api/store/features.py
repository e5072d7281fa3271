"""Feature queries behind the OGC API collections: parcels (with the latest run's statuses), enterprises'
land and each zone layer; bbox through the spatial index, property filters, paging, CRS84 GeoJSON out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from api.store import models as m
from api.store.engine import memo
from api.store.errors import NotFound
from api.store.frames import bbox_polygon_working, geometries_to_crs84

ZONE_TITLES = {
    "red_line": "工业红线区", "blue_line": "工业蓝线区", "ring": "绕城高速以内",
    "parks": "工业园区 / 产业功能区", "urban_dev_boundary": "城镇开发边界",
    "planned_construction_area": "规划集中建设区", "districts": "区(市)县",
}
RUN_FILTERS = ("status", "rule", "district", "park_id", "zone")
_P = m.Parcel.__table__
_E = m.Enterprise.__table__
_Z = m.ZoneFeature.__table__
_R = m.ParcelResult.__table__
_V = m.Verdict.__table__


@dataclass(frozen=True)
class Collection:
    """One feature collection of a dataset: id, titles, extent and the filters it accepts."""

    id: str
    title: str
    description: str
    dataset_id: int
    extent: list[float] | None
    filters: tuple[str, ...]
    layer: str | None = None
    count: int = 0


@dataclass
class FeaturePage:
    """A page of GeoJSON features plus the total matched before paging."""

    features: list[dict[str, Any]]
    number_matched: int
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def latest_run_id(conn: Connection, dataset_id: int) -> int | None:
    """The newest finished evaluation run of a dataset, or None."""
    return conn.scalar(select(func.max(m.EvaluationRun.id)).where(
        m.EvaluationRun.dataset_id == dataset_id, m.EvaluationRun.status == "done"))


def resolve_dataset(conn: Connection, dataset_id: int | None, *, with_zones: bool = False) -> int:
    """The dataset asked for, or the newest one (with zones, for zone collections); NotFound when none."""
    if dataset_id is not None:
        if ("collections", dataset_id) in memo(conn.engine):
            return dataset_id  # seen before; datasets are never deleted
        if conn.scalar(select(m.Dataset.id).where(m.Dataset.id == dataset_id)) is None:
            raise NotFound(f"数据集 {dataset_id} 不存在 (dataset {dataset_id} not found)",
                           details=[{"parameter": "dataset", "value": dataset_id}])
        return dataset_id
    if with_zones:
        found = conn.scalar(select(func.max(_Z.c.dataset_id)))
    else:
        found = conn.scalar(select(func.max(m.Dataset.id)))
    if found is None:
        raise NotFound("数据库中还没有数据，请先导入 (the store is empty; import a dataset first)",
                       details=[{"hint": "mujun import --parcels …  或 POST /datasets"}])
    return found


def list_collections(conn: Connection, dataset_id: int | None = None) -> list[Collection]:
    """The collections of a dataset (default: the newest): parcels, enterprises, and its zone layers."""
    try:
        ds_id = resolve_dataset(conn, dataset_id)
    except NotFound:
        if dataset_id is not None:
            raise
        return []
    return list(_collections(conn, ds_id))


def _collections(conn: Connection, ds_id: int) -> tuple[Collection, ...]:
    """A stored dataset's collections, read once per server: a dataset, its counts and extents and the zone
    layers it uses (its own, else the newest earlier dataset's) never change once it is imported."""
    cache = memo(conn.engine)
    key = ("collections", ds_id)
    found = cache.get(key)
    if found is not None:
        return found
    row = conn.execute(select(m.Dataset.counts, m.Dataset.extents).where(m.Dataset.id == ds_id)).one()
    counts, extents = row.counts or {}, row.extents or {}
    out = [Collection("parcels", "宗地", "工业用地宗地及最近一次评估的合规状态 (parcels with the latest "
                      "evaluation's status and per-rule statuses)", ds_id, extents.get("parcels"),
                      RUN_FILTERS, count=counts.get("parcels", 0))]
    if counts.get("enterprises"):
        out.append(Collection("enterprises", "企业用地", "企业占用的宗地范围及亩均指标 (enterprises' land)",
                              ds_id, extents.get("enterprises"), ("status", "rule"),
                              count=counts["enterprises"]))
    zone_ds = conn.scalar(select(func.max(_Z.c.dataset_id)).where(_Z.c.dataset_id <= ds_id))
    if zone_ds is not None:
        zone_counts = conn.execute(select(_Z.c.layer, func.count()).where(_Z.c.dataset_id == zone_ds)
                                   .group_by(_Z.c.layer).order_by(_Z.c.layer)).all()
        zone_extents = conn.scalar(select(m.Dataset.extents).where(m.Dataset.id == zone_ds)) or {}
        for layer, n in zone_counts:
            cid = f"zone_{layer}"
            out.append(Collection(cid, ZONE_TITLES.get(layer, layer), f"分区图层 {layer} (zone layer)",
                                  zone_ds, zone_extents.get(cid), (), layer=layer, count=n))
    found = cache[key] = tuple(out)
    return found


def get_collection(conn: Connection, collection_id: str, dataset_id: int | None = None) -> Collection:
    """One collection by id, or NotFound naming the ones that exist."""
    cols = list_collections(conn, dataset_id)
    for c in cols:
        if c.id == collection_id:
            return c
    raise NotFound(f"要素集 '{collection_id}' 不存在 (collection not found)",
                   details=[{"collection": collection_id, "available": [c.id for c in cols]}])


# --- SQL pieces ------------------------------------------------------------------------------------

def _bbox_clause(conn: Connection, table: Any, bbox84: tuple[float, float, float, float]) -> ColumnElement:
    (minx, miny, maxx, maxy), wkb = bbox_polygon_working(bbox84)
    geom = table.c.geom
    area = func.ST_GeomFromWKB(bindparam("bbox_wkb", wkb, type_=LargeBinary), m.SRID)
    if conn.dialect.name == "sqlite":
        # Candidates from the R*Tree SpatiaLite keeps in idx_<table>_geom, then the exact test.
        idx = text(f"SELECT pkid FROM idx_{table.name}_geom WHERE xmin <= :bx1 AND xmax >= :bx0 "
                   "AND ymin <= :by1 AND ymax >= :by0").bindparams(bx0=minx, by0=miny, bx1=maxx, by1=maxy)
        return and_(table.c.id.in_(idx.columns(pkid=Integer)), func.ST_Intersects(geom, area) == 1)
    envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, m.SRID)
    return and_(geom.op("&&")(envelope), func.ST_Intersects(geom, area))


def _values(raw: str | None) -> list[str]:
    return [v.strip() for v in (raw or "").split(",") if v.strip()]


def _wkb(conn: Connection, column: Any) -> Any:
    return func.ST_AsBinary(column, type_=LargeBinary).label("geom_wkb")


def _matched(conn: Connection, count: Any, rows: list[Any], limit: int, offset: int) -> int:
    """numberMatched: counted only when the page does not show where the matches end (a full page, or an
    empty one past the first); a short page ends them at ``offset`` + its length."""
    if len(rows) < limit and (rows or offset == 0):
        return offset + len(rows)
    return int(conn.scalar(count) or 0)


def _features(rows: list[Any], id_key: str, skip: set[str]) -> list[dict[str, Any]]:
    if not rows:
        return []
    geoms = geometries_to_crs84([r.geom_wkb for r in rows])
    names = list(rows[0]._fields)
    keep = [(i, k) for i, k in enumerate(names) if k not in skip]  # once per page, not per row and column
    at_id = names.index(id_key)
    dates = (dt.date, dt.datetime)
    feats = []
    for row, geom in zip(rows, geoms, strict=True):
        props = {k: (v.isoformat() if isinstance(v := row[i], dates) else v) for i, k in keep}
        feats.append({"type": "Feature", "id": str(row[at_id]), "geometry": geom, "properties": props})
    return feats


# --- parcels --------------------------------------------------------------------------------------

def _parcel_columns(conn: Connection) -> list[Any]:
    cols = [_P.c.id.label("_pk"), _P.c.parcel_id, _P.c.dataset_id, _P.c.land_use, _P.c.area_m2]
    for name in m.PARCEL_COLUMNS:
        if name == "land_use":
            continue
        cols.append(_P.c[name].label("site_status") if name == "status" else _P.c[name])
    cols += [_P.c.extra, _R.c.status, _R.c.area_mu, _R.c.district, _R.c.park_id, _R.c.zone, _R.c.inside_ring,
             _R.c.far, _R.c.rule_statuses, _wkb(conn, _P.c.geom)]
    return cols


def _run_filters(filters: dict[str, str | None], run_id: int | None, level: str, subject: Any,
                 result_table: Any | None) -> list[ColumnElement]:
    where: list[ColumnElement] = []
    statuses, rules = _values(filters.get("status")), _values(filters.get("rule"))
    if (statuses or rules or any(filters.get(k) for k in ("district", "park_id", "zone"))) and run_id is None:
        return [literal_column("1") == 0]  # nothing evaluated yet: no parcel has a status
    if rules:
        cond = [_V.c.run_id == run_id, _V.c.level == level, _V.c.subject_id == subject, _V.c.rule.in_(rules)]
        if statuses:
            cond.append(_V.c.status.in_(statuses))
        where.append(exists(select(literal_column("1")).select_from(_V).where(*cond)))
    elif statuses:
        if result_table is not None:
            where.append(result_table.c.status.in_(statuses))
        else:
            where.append(exists(select(literal_column("1")).select_from(_V).where(
                _V.c.run_id == run_id, _V.c.level == level, _V.c.subject_id == subject,
                _V.c.status.in_(statuses))))
    if result_table is not None:
        for key in ("district", "park_id", "zone"):
            vals = _values(filters.get(key))
            if vals:
                where.append(result_table.c[key].in_(vals))
    return where


def query_parcels(conn: Connection, dataset_id: int, *, bbox: tuple[float, float, float, float] | None = None,
                  filters: dict[str, str | None] | None = None, limit: int = 10, offset: int = 0,
                  run_id: int | None = None, feature_id: str | None = None) -> FeaturePage:
    """Parcels of a dataset joined to a run's results (default: the latest finished run), CRS84."""
    filters = filters or {}
    run_id = run_id if run_id is not None else latest_run_id(conn, dataset_id)
    joined = _P.outerjoin(_R, and_(_R.c.run_id == (run_id if run_id is not None else -1),
                                   _R.c.parcel_id == _P.c.parcel_id))
    where = [_P.c.dataset_id == dataset_id]
    if feature_id is not None:
        where.append(_P.c.parcel_id == feature_id)
    if bbox is not None:
        where.append(_bbox_clause(conn, _P, bbox))
    where += _run_filters(filters, run_id, "parcel", _P.c.parcel_id, _R)
    rows = conn.execute(select(*_parcel_columns(conn)).select_from(joined).where(*where)
                        .order_by(_P.c.id).limit(limit).offset(offset)).all()
    matched = _matched(conn, select(func.count()).select_from(joined).where(*where), rows, limit, offset)
    feats = _features(rows, "parcel_id", {"_pk", "geom_wkb", "extra", "rule_statuses"})
    for feat, row in zip(feats, rows, strict=True):
        props = feat["properties"]
        props["run_id"] = run_id
        for rule, status in (row.rule_statuses or {}).items():
            props["st_" + rule.replace(".", "_")] = status
        for key, value in (row.extra or {}).items():
            props.setdefault(key, value)
    return FeaturePage(feats, matched, run_id)


# --- enterprises ----------------------------------------------------------------------------------

def query_enterprises(conn: Connection, dataset_id: int, *,
                      bbox: tuple[float, float, float, float] | None = None,
                      filters: dict[str, str | None] | None = None, limit: int = 10, offset: int = 0,
                      run_id: int | None = None, feature_id: str | None = None) -> FeaturePage:
    """Enterprises with land (the union of their parcels), with the run's per-mu figures and grade."""
    filters = filters or {}
    run_id = run_id if run_id is not None else latest_run_id(conn, dataset_id)
    where = [_E.c.dataset_id == dataset_id, _E.c.geom.isnot(None)]
    if feature_id is not None:
        where.append(_E.c.enterprise_id == feature_id)
    if bbox is not None:
        where.append(_bbox_clause(conn, _E, bbox))
    where += _run_filters(filters, run_id, "enterprise", _E.c.enterprise_id, None)
    cols = [_E.c.enterprise_id, _E.c.dataset_id, *(_E.c[n] for n in m.ENTERPRISE_COLUMNS), _E.c.extra,
            _wkb(conn, _E.c.geom)]
    rows = conn.execute(select(*cols).where(*where).order_by(_E.c.id).limit(limit).offset(offset)).all()
    matched = _matched(conn, select(func.count()).select_from(_E).where(*where), rows, limit, offset)
    feats = _features(rows, "enterprise_id", {"geom_wkb", "extra"})
    results: dict[str, dict[str, Any]] = {}
    if run_id is not None and feats:
        stored = conn.scalar(select(m.EvaluationRun.enterprises).where(m.EvaluationRun.id == run_id)) or []
        wanted = {f["id"] for f in feats}
        results = {str(e.get("enterprise_id")): e for e in stored if str(e.get("enterprise_id")) in wanted}
    for feat, row in zip(feats, rows, strict=True):
        props = feat["properties"]
        props["run_id"] = run_id
        for key in ("land_m2", "land_mu", "revenue_per_mu_10k", "tax_per_mu_10k", "score", "grade",
                    "in_park"):
            props[key] = results.get(feat["id"], {}).get(key)
        for key, value in (row.extra or {}).items():
            props.setdefault(key, value)
    return FeaturePage(feats, matched, run_id)


# --- zones ----------------------------------------------------------------------------------------

def query_zones(conn: Connection, dataset_id: int, layer: str, *,
                bbox: tuple[float, float, float, float] | None = None, limit: int = 10, offset: int = 0,
                feature_id: str | None = None) -> FeaturePage:
    """Features of one zone layer as CRS84 GeoJSON (id = the stored row id)."""
    where = [_Z.c.dataset_id == dataset_id, _Z.c.layer == layer]
    if feature_id is not None:
        if not feature_id.isdigit():
            return FeaturePage([], 0)
        where.append(_Z.c.id == int(feature_id))
    if bbox is not None:
        where.append(_bbox_clause(conn, _Z, bbox))
    rows = conn.execute(select(_Z.c.id, _Z.c.layer, _Z.c.zone_id, _Z.c.name, _Z.c.properties,
                               _wkb(conn, _Z.c.geom)).where(*where).order_by(_Z.c.id)
                        .limit(limit).offset(offset)).all()
    matched = _matched(conn, select(func.count()).select_from(_Z).where(*where), rows, limit, offset)
    feats = _features(rows, "id", {"geom_wkb", "properties", "id"})
    for feat, row in zip(feats, rows, strict=True):
        for key, value in (row.properties or {}).items():
            feat["properties"].setdefault(key, value)
    return FeaturePage(feats, matched)


def query_collection(conn: Connection, collection: Collection, **kwargs: Any) -> FeaturePage:
    """Dispatch to the query of ``collection``'s kind."""
    if collection.id == "parcels":
        return query_parcels(conn, collection.dataset_id, **kwargs)
    if collection.id == "enterprises":
        return query_enterprises(conn, collection.dataset_id, **kwargs)
    kwargs.pop("filters", None)
    kwargs.pop("run_id", None)
    return query_zones(conn, collection.dataset_id, collection.layer or "", **kwargs)


__all__ = ["Collection", "FeaturePage", "get_collection", "latest_run_id", "list_collections",
           "query_collection", "query_enterprises", "query_parcels", "query_zones", "resolve_dataset"]
