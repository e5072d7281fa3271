"""Feature queries behind the OGC API collections: parcels (with the latest run's statuses), enterprises'
land and each zone layer; bbox through the spatial index, property filters, paging, CRS84 GeoJSON out."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyproj import CRS
from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from api.store import models as m
from api.store.engine import memo
from api.store.errors import BadQuery, NotFound
from api.store.frames import bbox_polygon_working, geometries_to_crs84
from gis.vocabulary import column_label

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
    """A page of GeoJSON features, the total matched and the cursor of the page after it (None on the last
    page)."""

    features: list[dict[str, Any]]
    number_matched: int
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    next_cursor: str | None = None


@dataclass(frozen=True)
class Queryable:
    """A property a filter or ``sortby`` may name: its column and its JSON Schema type (``format`` for dates)."""

    name: str
    column: Any
    type: str  # string, number, integer, boolean
    title: str
    format: str | None = None


@dataclass(frozen=True)
class FeatureQuery:
    """What an items page asks for, beyond the collection.

    ``bbox`` is CRS84, or in ``bbox_crs``'s own axis order; ``cql`` a parsed CQL2 filter (:mod:`api.store.cql`;
    geometries in it in CRS84 or ``filter_crs``) and ``cql_key`` its text, for the count cache;
    ``sortby`` is ``[(property, descending)]``; ``cursor`` the opaque ``next`` token of the page before;
    ``crs`` the CRS of the geometries out (None: CRS84).
    """

    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: CRS | None = None
    filters: dict[str, str | None] = field(default_factory=dict)
    cql: Any = None
    cql_key: str = ""
    filter_crs: CRS | None = None
    sortby: tuple[tuple[str, bool], ...] = ()
    cursor: str | None = None
    limit: int = 10
    offset: int = 0
    crs: CRS | None = None


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

def _bbox_clause(conn: Connection, table: Any, bbox: tuple[float, float, float, float],
                 crs: CRS | None = None) -> ColumnElement:
    (minx, miny, maxx, maxy), wkb = bbox_polygon_working(bbox, crs=crs)
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


def _iso_date(conn: Connection, column: Any) -> Any:
    """A date column read as its ISO text by the database (SpatiaLite keeps that text; PostGIS writes it), not
    parsed into ``date`` objects and formatted again row by row."""
    if conn.dialect.name == "sqlite":
        return type_coerce(column, String)
    return func.to_char(column, "YYYY-MM-DD", type_=String)


def _wkb(conn: Connection, column: Any) -> Any:
    return func.ST_AsBinary(column, type_=LargeBinary).label("geom_wkb")


# numberMatched per query: (collection, dataset, run, filters, CQL2 filter, bbox) → count, kept with the engine
# (api.store.engine.memo). A dataset never changes once imported and a run's results never change once it is
# done, so an entry is never stale: a new dataset or a new run is a new key. Bounded, oldest dropped first.
_COUNTS_MAX = 2048
_counts_lock = threading.Lock()


def _counts(conn: Connection) -> OrderedDict[tuple[Any, ...], int]:
    cache = memo(conn.engine)
    with _counts_lock:
        return cache.setdefault(("matched",), OrderedDict())


def _matched(conn: Connection, count: Any, rows: list[Any], q: FeatureQuery, key: tuple[Any, ...],
             more: bool) -> int:
    """numberMatched: a first page with nothing after it ends the matches at its length; otherwise counted
    once per query (and per store) and kept, so a walk through every page counts once, not once per page."""
    if not more and q.cursor is None and (rows or q.offset == 0):
        return q.offset + len(rows)
    key = (*key, tuple(sorted((k, v) for k, v in q.filters.items() if v)), q.cql_key,
           q.bbox, q.bbox_crs.srs if q.bbox_crs is not None else None)
    counts = _counts(conn)
    with _counts_lock:
        found = counts.get(key)
        if found is not None:
            counts.move_to_end(key)
            return found
    found = int(conn.scalar(count) or 0)
    with _counts_lock:
        counts[key] = found
        while len(counts) > _COUNTS_MAX:
            counts.popitem(last=False)
    return found


# --- keyset paging ---------------------------------------------------------------------------------

def _encode_cursor(values: Sequence[Any], sortby: tuple[tuple[str, bool], ...]) -> str:
    data = {"k": [v.isoformat() if isinstance(v, dt.date) else v for v in values],
            "s": [[n, d] for n, d in sortby]}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _bad_cursor(raw: str, why: str) -> BadQuery:
    return BadQuery(f"分页游标 cursor 无效（{why}），请从第一页重新开始，并使用上一页 next 链接中的 cursor "
                    "(invalid cursor: start again from the first page and follow the next links)",
                    details=[{"parameter": "cursor", "value": raw[:80], "reason": why}], code="invalid_cursor")


def _decode_cursor(raw: str, keys: list[tuple[Queryable | None, bool]],
                   sortby: tuple[tuple[str, bool], ...]) -> list[Any]:
    """The sort values (and row key) a cursor carries, typed as the columns are; BadQuery when it is not one
    of ours, or was made for another ``sortby``."""
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
        values, made_for = data["k"], [tuple(x) for x in data["s"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise _bad_cursor(raw, "无法解析 (not a cursor of this server)") from None
    if made_for != [tuple(x) for x in sortby]:
        raise _bad_cursor(raw, "与 sortby 不一致 (made for another sortby)")
    if not isinstance(values, list) or len(values) != len(keys) or not isinstance(values[-1], int):
        raise _bad_cursor(raw, "内容不完整 (malformed)")
    out = []
    for (qb, _desc), v in zip(keys, values, strict=True):
        if v is not None and qb is not None:
            kind = qb.format or qb.type
            ok = {"date": isinstance(v, str), "string": isinstance(v, str), "boolean": isinstance(v, bool),
                  "number": isinstance(v, int | float), "integer": isinstance(v, int)}.get(kind, False)
            if not ok:
                raise _bad_cursor(raw, f"{qb.name} 的取值类型不对 (wrong value type for {qb.name})")
            if kind == "date":
                try:
                    v = dt.date.fromisoformat(v)
                except ValueError:
                    raise _bad_cursor(raw, f"{qb.name} 不是日期 (not a date)") from None
        out.append(v)
    return out


def _sort_keys(sortby: tuple[tuple[str, bool], ...], queryables: dict[str, Queryable]
               ) -> list[tuple[Queryable | None, bool]]:
    keys: list[tuple[Queryable | None, bool]] = []
    for name, desc in sortby:
        if name not in queryables:
            raise BadQuery(f"sortby 中的属性 {name} 不存在，可排序的属性见 queryables (unknown sortby property)",
                           details=[{"parameter": "sortby", "property": name, "allowed": sorted(queryables)}],
                           code="invalid_parameter")
        keys.append((queryables[name], desc))
    keys.append((None, False))  # the row key last: every row has its own place
    return keys


def _paged(conn: Connection, cols: list[Any], select_from: Any, where: list[ColumnElement], pk: Any,
           q: FeatureQuery, queryables: dict[str, Queryable]) -> tuple[list[Any], str | None]:
    """One page in ``sortby`` order (then the row key), after the cursor's row: ``WHERE key > last`` rather
    than ``OFFSET``, so every page of a walk costs the same. NULLs sort last in either direction."""
    keys = _sort_keys(q.sortby, queryables)
    exprs = [qb.column if qb is not None else pk for qb, _ in keys]
    where = list(where)
    if q.cursor is not None:
        after = [None if v is None else bindparam(f"after_{i}", v, type_=e.type)
                 for i, (e, v) in enumerate(zip(exprs, _decode_cursor(q.cursor, keys, q.sortby), strict=True))]
        beyond = []
        for i, ((_qb, desc), expr, v) in enumerate(zip(keys, exprs, after, strict=True)):
            if v is None:
                continue  # nothing sorts after NULL but other NULLs, which later keys order
            same = [e.is_(None) if w is None else e == w for e, w in zip(exprs[:i], after[:i], strict=True)]
            step = expr < v if desc else expr > v
            beyond.append(and_(*same, or_(step, expr.is_(None)) if i < len(keys) - 1 else step))
        where.append(or_(*beyond) if beyond else literal_column("1") == 0)
    order: list[Any] = []
    for (qb, desc), expr in zip(keys, exprs, strict=True):
        if qb is not None:
            order.append(expr.is_(None))
        order.append(expr.desc() if desc else expr)
    stmt = (select(*cols, *(e.label(f"_k{i}") for i, e in enumerate(exprs))).select_from(select_from)
            .where(*where).order_by(*order).limit(q.limit + 1))  # one more: is there a next page?
    if q.offset:
        stmt = stmt.offset(q.offset)
    rows = conn.execute(stmt).all()
    cursor = None
    if len(rows) > q.limit:
        rows = rows[:q.limit]
        last = rows[-1]
        cursor = _encode_cursor([getattr(last, f"_k{i}") for i in range(len(exprs))], q.sortby)
    return rows, cursor


def _features(rows: list[Any], id_key: str, skip: set[str], crs: CRS | None = None) -> list[dict[str, Any]]:
    if not rows:
        return []
    geoms = geometries_to_crs84([r.geom_wkb for r in rows], crs=crs)
    names = list(rows[0]._fields)
    keep = [(i, k) for i, k in enumerate(names) if k not in skip and not k.startswith("_k")]
    at_id = names.index(id_key)
    feats = []
    for row, geom in zip(rows, geoms, strict=True):  # dates come as ISO text (_iso_date)
        props = {k: row[i] for i, k in keep}
        feats.append({"type": "Feature", "id": str(row[at_id]), "geometry": geom, "properties": props})
    return feats


# --- parcels --------------------------------------------------------------------------------------

def _parcel_columns(conn: Connection) -> list[Any]:
    cols = [_P.c.id.label("_pk"), _P.c.parcel_id, _P.c.dataset_id, _P.c.land_use, _P.c.area_m2]
    for name, kind in m.PARCEL_COLUMNS.items():
        if name == "land_use":
            continue
        column = _iso_date(conn, _P.c[name]) if kind == "date" else _P.c[name]
        cols.append(column.label("site_status" if name == "status" else name))
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


_JSON_TYPES = {"str": ("string", None), "float": ("number", None), "bool": ("boolean", None),
               "date": ("string", "date")}
# The run's results joined to each parcel; ``status`` there is the compliance status (the input's 现状 is
# ``site_status``), the others have their contract labels.
_RESULT_QUERYABLES = {"status": "string", "area_mu": "number", "district": "string", "park_id": "string",
                      "zone": "string", "inside_ring": "boolean", "far": "number"}


def _label(name: str) -> str:
    return "合规状态 (compliance status)" if name == "status" else column_label(name)


def collection_queryables(collection: Collection) -> dict[str, Queryable]:
    """The properties of ``collection`` a filter or ``sortby`` may name, with their columns and types: the
    stored, typed columns (the ``extra`` input columns are not queryable)."""
    out: dict[str, Queryable] = {}
    if collection.id == "parcels":
        out["parcel_id"] = Queryable("parcel_id", _P.c.parcel_id, "string", column_label("parcel_id"))
        out["area_m2"] = Queryable("area_m2", _P.c.area_m2, "number", column_label("area_m2"))
        for name, kind in m.PARCEL_COLUMNS.items():
            jtype, fmt = _JSON_TYPES[kind]
            prop = "site_status" if name == "status" else name
            out[prop] = Queryable(prop, _P.c[name], jtype, column_label(name), fmt)
        for name, jtype in _RESULT_QUERYABLES.items():
            out[name] = Queryable(name, _R.c[name], jtype, _label(name))
    elif collection.id == "enterprises":
        out["enterprise_id"] = Queryable("enterprise_id", _E.c.enterprise_id, "string",
                                         column_label("enterprise_id"))
        for name, kind in m.ENTERPRISE_COLUMNS.items():
            jtype, fmt = _JSON_TYPES[kind]
            out[name] = Queryable(name, _E.c[name], jtype, column_label(name), fmt)
    else:
        out["zone_id"] = Queryable("zone_id", _Z.c.zone_id, "string", "分区要素编号 (zone feature id)")
        out["name"] = Queryable("name", _Z.c.name, "string", "名称 (name)")
        out["layer"] = Queryable("layer", _Z.c.layer, "string", "图层 (layer)")
    return out


def _where(conn: Connection, q: FeatureQuery, queryables: dict[str, Queryable], geom: Any
           ) -> list[ColumnElement]:
    if q.cql is None:
        return []
    from api.store.cql import to_sql

    return [to_sql(q.cql, queryables, geom, sqlite=conn.dialect.name == "sqlite", filter_crs=q.filter_crs)]


def query_parcels(conn: Connection, collection: Collection, q: FeatureQuery, *, run_id: int | None = None,
                  feature_id: str | None = None) -> FeaturePage:
    """Parcels of a dataset joined to a run's results (default: the latest finished run)."""
    dataset_id = collection.dataset_id
    run_id = run_id if run_id is not None else latest_run_id(conn, dataset_id)
    joined = _P.outerjoin(_R, and_(_R.c.run_id == (run_id if run_id is not None else -1),
                                   _R.c.parcel_id == _P.c.parcel_id))
    where = [_P.c.dataset_id == dataset_id]
    if feature_id is not None:
        where.append(_P.c.parcel_id == feature_id)
    if q.bbox is not None:
        where.append(_bbox_clause(conn, _P, q.bbox, q.bbox_crs))
    where += _run_filters(q.filters, run_id, "parcel", _P.c.parcel_id, _R)
    queryables = collection_queryables(collection)
    where += _where(conn, q, queryables, _P.c.geom)
    rows, cursor = _paged(conn, _parcel_columns(conn), joined, where, _P.c.id, q, queryables)
    matched = _matched(conn, select(func.count()).select_from(joined).where(*where), rows, q,
                       ("parcels", dataset_id, run_id), cursor is not None)
    feats = _features(rows, "parcel_id", {"_pk", "geom_wkb", "extra", "rule_statuses"}, q.crs)
    for feat, row in zip(feats, rows, strict=True):
        props = feat["properties"]
        props["run_id"] = run_id
        for rule, status in (row.rule_statuses or {}).items():
            props["st_" + rule.replace(".", "_")] = status
        for key, value in (row.extra or {}).items():
            props.setdefault(key, value)
    return FeaturePage(feats, matched, run_id, next_cursor=cursor)


def parcel_feature(conn: Connection, dataset_id: int, parcel_id: str | None, run_id: int | None = None
                   ) -> dict[str, Any] | None:
    """One parcel of a dataset as the parcels collection gives it (CRS84; its geometry GeoJSON text), or None;
    without ``parcel_id`` the collection's first parcel."""
    page = query_parcels(conn, get_collection(conn, "parcels", dataset_id), FeatureQuery(limit=1), run_id=run_id,
                         feature_id=parcel_id)
    return page.features[0] if page.features else None


# --- enterprises ----------------------------------------------------------------------------------

ENTERPRISE_RESULT_KEYS = ("land_m2", "land_mu", "revenue_per_mu_10k", "tax_per_mu_10k", "score", "grade", "in_park")


def query_enterprises(conn: Connection, collection: Collection, q: FeatureQuery, *, run_id: int | None = None,
                      feature_id: str | None = None) -> FeaturePage:
    """Enterprises with land (the union of their parcels), with the run's per-mu figures and grade."""
    dataset_id = collection.dataset_id
    run_id = run_id if run_id is not None else latest_run_id(conn, dataset_id)
    where = [_E.c.dataset_id == dataset_id, _E.c.geom.isnot(None)]
    if feature_id is not None:
        where.append(_E.c.enterprise_id == feature_id)
    if q.bbox is not None:
        where.append(_bbox_clause(conn, _E, q.bbox, q.bbox_crs))
    where += _run_filters(q.filters, run_id, "enterprise", _E.c.enterprise_id, None)
    queryables = collection_queryables(collection)
    where += _where(conn, q, queryables, _E.c.geom)
    cols = [_E.c.enterprise_id, _E.c.dataset_id, *(_E.c[n] for n in m.ENTERPRISE_COLUMNS), _E.c.extra,
            _wkb(conn, _E.c.geom)]
    rows, cursor = _paged(conn, cols, _E, where, _E.c.id, q, queryables)
    matched = _matched(conn, select(func.count()).select_from(_E).where(*where), rows, q,
                       ("enterprises", dataset_id, run_id), cursor is not None)
    feats = _features(rows, "enterprise_id", {"geom_wkb", "extra"}, q.crs)
    results: dict[str, dict[str, Any]] = {}
    if run_id is not None and feats:
        stored = conn.scalar(select(m.EvaluationRun.enterprises).where(m.EvaluationRun.id == run_id)) or []
        wanted = {f["id"] for f in feats}
        results = {str(e.get("enterprise_id")): e for e in stored if str(e.get("enterprise_id")) in wanted}
    for feat, row in zip(feats, rows, strict=True):
        props = feat["properties"]
        props["run_id"] = run_id
        for key in ENTERPRISE_RESULT_KEYS:
            props[key] = results.get(feat["id"], {}).get(key)
        for key, value in (row.extra or {}).items():
            props.setdefault(key, value)
    return FeaturePage(feats, matched, run_id, next_cursor=cursor)


# --- zones ----------------------------------------------------------------------------------------

def query_zones(conn: Connection, collection: Collection, q: FeatureQuery, *,
                feature_id: str | None = None) -> FeaturePage:
    """Features of one zone layer as GeoJSON (id = the stored row id)."""
    dataset_id, layer = collection.dataset_id, collection.layer or ""
    where = [_Z.c.dataset_id == dataset_id, _Z.c.layer == layer]
    if feature_id is not None:
        if not feature_id.isdigit():
            return FeaturePage([], 0)
        where.append(_Z.c.id == int(feature_id))
    if q.bbox is not None:
        where.append(_bbox_clause(conn, _Z, q.bbox, q.bbox_crs))
    queryables = collection_queryables(collection)
    where += _where(conn, q, queryables, _Z.c.geom)
    cols = [_Z.c.id, _Z.c.layer, _Z.c.zone_id, _Z.c.name, _Z.c.properties, _wkb(conn, _Z.c.geom)]
    rows, cursor = _paged(conn, cols, _Z, where, _Z.c.id, q, queryables)
    matched = _matched(conn, select(func.count()).select_from(_Z).where(*where), rows, q,
                       ("zones", dataset_id, layer), cursor is not None)
    feats = _features(rows, "id", {"geom_wkb", "properties", "id"}, q.crs)
    for feat, row in zip(feats, rows, strict=True):
        for key, value in (row.properties or {}).items():
            feat["properties"].setdefault(key, value)
    return FeaturePage(feats, matched, next_cursor=cursor)


def query_collection(conn: Connection, collection: Collection, q: FeatureQuery, *, run_id: int | None = None,
                     feature_id: str | None = None) -> FeaturePage:
    """Dispatch to the query of ``collection``'s kind."""
    if collection.id == "parcels":
        return query_parcels(conn, collection, q, run_id=run_id, feature_id=feature_id)
    if collection.id == "enterprises":
        return query_enterprises(conn, collection, q, run_id=run_id, feature_id=feature_id)
    return query_zones(conn, collection, q, feature_id=feature_id)


__all__ = ["Collection", "FeaturePage", "FeatureQuery", "Queryable", "collection_queryables", "get_collection",
           "latest_run_id", "list_collections", "parcel_feature", "query_collection", "query_enterprises",
           "query_parcels", "query_zones", "resolve_dataset"]
