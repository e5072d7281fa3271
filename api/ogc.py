"""OGC API – Features: Part 1 (Core, GeoJSON, OpenAPI 3.0), Part 2 (CRS) and Part 3 (CQL2 filters,
queryables): landing page, conformance, collections, items, queryables, feature schema.

Collections: ``parcels`` (with the latest evaluation's status and per-rule statuses), ``enterprises`` (their
land) and one ``zone_<layer>`` per zone layer. Geometries in CRS84 unless ``crs`` asks for CGCS2000
(EPSG:4490, 4544, 4523); ``bbox`` goes through the spatial index; pages follow each other by a cursor.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pyproj import CRS
from sqlalchemy import Connection

from api.deps import MAX_ID, Reader
from api.errors import ApiError, error_responses
from api.schemas import CollectionInfo, Collections, Conformance, Feature, FeatureCollection, LandingPage
from api.store import features as fs
from api.store.cql import FILTER_LANGS, LEGACY_FILTER_LANGS, filter_lang, parse_filter
from api.store.frames import SRID, RawJSON, north_first
from gis.crs import GEOGRAPHIC_CRS, WORKING_CRS, cgcs2000_gk_epsg, parse_crs
from gis.errors import CrsError
from gis.vocabulary import column_label

router = APIRouter(tags=["OGC API – Features"])

GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

DatasetParam = Annotated[int | None, Query(ge=1, le=MAX_ID,
                                           description="数据集编号，默认最新 (dataset id; default: newest)")]


_RAW_MARK = secrets.token_hex(8)  # unguessable: no user text can pose as a placeholder
_RAW_RE = re.compile(rf'"@@{_RAW_MARK}:(\d+)@@"')


class GeoJSONResponse(JSONResponse):
    """JSON with the GeoJSON media type (RFC 7946); geometries already GeoJSON text (``RawJSON``) go in as
    they are."""

    media_type = GEOJSON

    def render(self, content: Any) -> bytes:
        """Serialise compactly with Chinese left readable, splicing in the features' geometry text."""
        raw: list[str] = []
        feats = content.get("features") if isinstance(content, dict) else None
        for feat in (feats if isinstance(feats, list) else [content] if isinstance(content, dict) else []):
            if isinstance(feat, dict) and isinstance(geom := feat.get("geometry"), RawJSON):
                feat["geometry"] = f"@@{_RAW_MARK}:{len(raw)}@@"
                raw.append(geom)
        text_ = json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        if raw:
            text_ = _RAW_RE.sub(lambda mt: raw[int(mt.group(1))], text_)
        return text_.encode()


DATASET_PREFIX = "/datasets/{dataset_id}/ogc"


@contextmanager
def _store(request: Request) -> Iterator[Connection]:
    """A pooled connection for the body of a handler only.

    Not the ``Conn`` dependency: a dependency's connection is taken before the handler waits for a worker
    thread and given back after the response is sent, so under load hundreds of waiting requests each held
    one and the threads that were running found the pool empty (200 clients: 500s after 30 s). Taken here, a
    connection is held only while a worker thread runs the handler: never more than the threads.
    """
    with request.app.state.engine.connect() as conn:
        yield conn


def _path_dataset(request: Request) -> int | None:
    """The dataset named in a per-dataset OGC root (``/datasets/{id}/ogc/…``), checked."""
    raw = request.path_params.get("dataset_id")
    if raw is None:
        return None
    if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(400, "invalid_parameter", f"数据集编号应为正整数 (dataset id must be a positive integer): {raw}",
                       [{"parameter": "dataset_id", "value": str(raw)[:50]}])
    return int(raw)


def _dataset(request: Request, dataset: int | None) -> int | None:
    path = _path_dataset(request)
    return path if path is not None else dataset


def _url(request: Request, path: str, **params: Any) -> str:
    base = str(request.base_url).rstrip("/")
    if (ds := _path_dataset(request)) is not None and not path.startswith("/api"):
        base += DATASET_PREFIX.format(dataset_id=ds)
        params.pop("dataset", None)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base}{path}" + (f"?{query}" if query else "")


def _link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


@router.get("/", summary="登录页 (landing page)", response_model=LandingPage, responses=error_responses(401))
def landing(request: Request, _user: Reader) -> dict[str, Any]:
    """The OGC API landing page (a browser asking for HTML is sent to the planners' pages, ``/web/``)."""
    return {
        "title": "亩均 mujun — 成都工业用地合规数据服务",
        "description": "OGC API – Features: 宗地、企业用地、分区图层及合规评估结果 "
                       "(parcels, enterprises' land, zone layers and compliance results)",
        "links": [
            _link(_url(request, "/"), "self", "application/json", "本页 (this document)"),
            _link(_url(request, "/api"), "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                  "OpenAPI 3.0 定义 (API definition)"),
            _link(_url(request, "/api.html"), "service-doc", "text/html", "接口文档 (API documentation)"),
            _link(_url(request, "/conformance"), "conformance", "application/json",
                  "符合的标准 (conformance classes)"),
            _link(_url(request, "/collections"), "data", "application/json", "要素集 (collections)"),
        ],
    }


@router.get("/conformance", summary="符合的标准 (conformance classes)", response_model=Conformance,
            responses=error_responses(401))
def conformance(_user: Reader) -> dict[str, list[str]]:
    """The conformance classes this server implements."""
    return {"conformsTo": CONFORMANCE}


def _collection_json(request: Request, c: fs.Collection, dataset: int | None) -> dict[str, Any]:
    items = _url(request, f"/collections/{c.id}/items", dataset=dataset)
    queryables_url = _url(request, f"/collections/{c.id}/queryables", dataset=dataset)
    schema_url = _url(request, f"/collections/{c.id}/schema", dataset=dataset)
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": list(CRS_URIS),
        "storageCrs": f"http://www.opengis.net/def/crs/EPSG/0/{SRID}",
        "extent": {"spatial": {"bbox": [c.extent or [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}},
        "links": [
            _link(_url(request, f"/collections/{c.id}", dataset=dataset), "self", "application/json",
                  c.title),
            _link(items, "items", GEOJSON, f"{c.title}要素 (items)"),
            _link(queryables_url, "http://www.opengis.net/def/rel/ogc/1.0/queryables", SCHEMA_JSON,
                  "可查询属性 (queryables)"),
            _link(queryables_url, "queryables", "application/json", "可查询属性 (queryables, for GDAL 3.6)"),
            _link(schema_url, "describedby", SCHEMA_JSON, "要素属性结构 (feature schema)"),
            _link(schema_url, "describedBy", SCHEMA_JSON, "要素属性结构 (feature schema, for GDAL 3.6)"),
        ],
        "mujun:dataset": c.dataset_id,
        "mujun:count": c.count,
        "mujun:filters": list(c.filters),
    }


@router.get("/collections", summary="要素集列表 (collections)", response_model=Collections,
            responses=error_responses(400, 401, 404))
def collections(request: Request, _user: Reader, dataset: DatasetParam = None) -> dict[str, Any]:
    """Every collection of the dataset (default: the newest)."""
    dataset = _dataset(request, dataset)
    with _store(request) as conn:
        cols = fs.list_collections(conn, dataset)
    return {
        "links": [_link(_url(request, "/collections", dataset=dataset), "self", "application/json",
                        "要素集")],
        "collections": [_collection_json(request, c, dataset) for c in cols],
    }


CollectionId = Annotated[str, Path(description="parcels, enterprises, zone_<layer>")]


@router.get("/collections/{collection_id}", summary="要素集 (collection)", response_model=CollectionInfo,
            responses=error_responses(400, 401, 404))
def collection(request: Request, collection_id: CollectionId, _user: Reader,
               dataset: DatasetParam = None) -> dict[str, Any]:
    """One collection's description."""
    dataset = _dataset(request, dataset)
    with _store(request) as conn:
        found = fs.get_collection(conn, collection_id, dataset)
    return _collection_json(request, found, dataset)


_NUMBER = r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?"
BBOX_PATTERN = rf"^({_NUMBER}(,{_NUMBER}){{3}}(,{_NUMBER},{_NUMBER})?)?$"
_BBOX_RE = re.compile(BBOX_PATTERN)


def parse_bbox(raw: str | None, crs: CRS | None = None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` (or the 6-number 3-D form) in CRS84 or ``crs`` (its own axis order), checked;
    400 naming what is wrong.

    The text must match :data:`BBOX_PATTERN` (decimal numbers, as the OpenAPI document says; ``inf``, ``nan``,
    spaces and ``1_000`` are refused), min ≤ max; in CRS84 each longitude within ±180 and latitude within ±90
    (EPSG:4490: latitude first).
    """
    if raw is None or raw == "":
        return None
    nums = [float(p) for p in raw.split(",")] if _BBOX_RE.match(raw) else []
    if len(nums) not in (4, 6) or not all(math.isfinite(n) for n in nums):
        raise ApiError(400, "invalid_bbox", "bbox 应为 4 个数：最小经度,最小纬度,最大经度,最大纬度 "
                       "(bbox must be minLon,minLat,maxLon,maxLat)", [{"parameter": "bbox", "value": raw}])
    minx, miny, maxx, maxy = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    lon0, lat0, lon1, lat1 = (miny, minx, maxy, maxx) if crs is not None and north_first(crs) else \
        (minx, miny, maxx, maxy)
    geographic = crs is None or crs.is_geographic
    if minx > maxx or miny > maxy or (geographic and not (-180 <= lon0 <= 180 and -180 <= lon1 <= 180
                                                          and -90 <= lat0 <= lat1 <= 90)):
        raise ApiError(400, "invalid_bbox", "bbox 超出经纬度范围或最小值大于最大值 "
                       "(bbox out of range, or min > max)", [{"parameter": "bbox", "value": raw}])
    return minx, miny, maxx, maxy


# --- Part 2: coordinate reference systems ------------------------------------------------------------

CRS84_CRS = CRS("OGC:CRS84")
#: The CRSs items are served in and bboxes/filters accepted in: CRS84 (lon, lat), CGCS2000 geographic
#: (EPSG:4490, latitude first as EPSG defines it), the working 3-degree zone (EPSG:4544, northing first) and
#: the same zone with the zone number before x (EPSG:4523), as surveyors' files have it.
SUPPORTED_CRS = [CRS84_CRS, parse_crs(GEOGRAPHIC_CRS), parse_crs(WORKING_CRS),
                 parse_crs(f"EPSG:{cgcs2000_gk_epsg(35, prefixed=True)}")]
CRS_URIS = {CRS84 if c is CRS84_CRS else f"http://www.opengis.net/def/crs/EPSG/0/{c.to_epsg()}": c
            for c in SUPPORTED_CRS}
_URI_OF = {id(c): uri for uri, c in CRS_URIS.items()}  # by identity: parse_crs_param gives these objects


def _crs_uri(crs: CRS) -> str:
    return _URI_OF[id(crs)]
_EPSG_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d{1,6})$")


def parse_crs_param(name: str, raw: str | None) -> CRS | None:
    """The CRS a ``crs``/``bbox-crs``/``filter-crs`` parameter names (a URI, ``[EPSG:n]`` or ``EPSG:n``),
    None for CRS84 or absent; 400 naming the parameter when it is unknown or not one we serve."""
    if raw is None or raw == "":
        return None
    text_ = raw.strip().removeprefix("[").removesuffix("]")
    if text_ in CRS_URIS:
        crs = CRS_URIS[text_]
    else:
        match = _EPSG_URI.match(text_)
        try:
            crs = parse_crs(f"EPSG:{match.group(1)}" if match else text_, source=name)
        except CrsError as exc:
            raise ApiError(400, "invalid_crs", f"{name}：{exc.message}", [{"parameter": name, "value": raw[:100],
                           "supported": list(CRS_URIS)}]) from None
    supported = next((c for c in SUPPORTED_CRS if c is crs or c == crs), None)
    if supported is None:
        raise ApiError(400, "invalid_crs", f"{name} 不支持该坐标系：{raw}，可用 {', '.join(CRS_URIS)} "
                       "(unsupported CRS)", [{"parameter": name, "value": raw[:100], "supported": list(CRS_URIS)}])
    return None if supported is CRS84_CRS else supported


# --- items -------------------------------------------------------------------------------------------

_ORDER_RE = re.compile(r"^[+-]?[A-Za-z_][A-Za-z0-9_]*$")


def parse_sortby(raw: str | None) -> tuple[tuple[str, bool], ...]:
    """``sortby=+far,-area_m2`` as ``((name, descending), …)``; names are checked against the queryables."""
    if not raw:
        return ()
    out = []
    for part in raw.split(","):
        part = part.strip()
        if not _ORDER_RE.match(part):
            raise ApiError(400, "invalid_parameter", f"sortby 格式应为 +属性 或 -属性，逗号分隔：{part[:50]} "
                           "(sortby must be +name or -name, comma-separated)", [{"parameter": "sortby",
                                                                              "value": raw[:100]}])
        out.append((part.lstrip("+-"), part.startswith("-")))
    return tuple(out)


def _check_params(request: Request, c: fs.Collection) -> dict[str, str | None]:
    allowed = _COMMON_PARAMS | set(c.filters)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ApiError(400, "unknown_parameter",
                       f"不支持的查询参数 (unknown query parameter): {', '.join(unknown)}",
                       [{"parameter": u, "allowed": sorted(allowed)} for u in unknown])
    return {k: request.query_params.get(k) for k in c.filters}


def _properties(raw: str | None, c: fs.Collection, queryables: dict[str, fs.Queryable]) -> list[str] | None:
    """The ``properties`` asked for, checked: queryables, ``run_id`` and (parcels) the ``st_*`` statuses."""
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    known = set(queryables) | {"run_id"} | (set(fs.ENTERPRISE_RESULT_KEYS) if c.id == "enterprises" else set())
    bad = [n for n in names if n not in known and not (c.id == "parcels" and n.startswith("st_"))]
    if bad:
        raise ApiError(400, "invalid_parameter", f"properties 中的属性不存在：{', '.join(bad)[:200]} "
                       "(unknown property)", [{"parameter": "properties", "property": n[:100],
                                               "allowed": sorted(known)} for n in bad])
    return names


def _feature_query(request: Request, c: fs.Collection, bbox: str | None, page_size: int, offset: int
                   ) -> tuple[fs.FeatureQuery, list[str] | None]:
    params = request.query_params
    filters = _check_params(request, c)
    bbox_crs = parse_crs_param("bbox-crs", params.get("bbox-crs"))
    filter_crs = parse_crs_param("filter-crs", params.get("filter-crs"))
    crs = parse_crs_param("crs", params.get("crs"))
    raw_filter = params.get("filter")
    lang = filter_lang(params.get("filter-lang"))
    cql = parse_filter(raw_filter, lang) if raw_filter else None
    queryables = fs.collection_queryables(c)
    q = fs.FeatureQuery(bbox=parse_bbox(bbox, bbox_crs), bbox_crs=bbox_crs, filters=filters, cql=cql,
                        cql_key=f"{lang}:{raw_filter}" if raw_filter else "", filter_crs=filter_crs,
                        sortby=parse_sortby(params.get("sortby")), cursor=params.get("cursor") or None,
                        limit=page_size, offset=offset, crs=crs)
    return q, _properties(params.get("properties"), c, queryables)


BBOX_DESCRIPTION = ("最小经度,最小纬度,最大经度,最大纬度 (CRS84，或 bbox-crs 所指坐标系按其轴序)，或 6 个数的三维形式；"
                    "经度在 ±180、纬度在 ±90 之内，最小值不大于最大值，否则 400 invalid_bbox "
                    "(minLon,minLat,maxLon,maxLat)")
Bbox = Annotated[str | None, Query(description=BBOX_DESCRIPTION,
                                   json_schema_extra={"pattern": BBOX_PATTERN, "format": "bbox"})]
Limit = Annotated[int | None, Query(ge=1, le=MAX_ID, description="每页要素数 (page size), 默认 10")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="跳过的要素数 (features to skip)；逐页浏览请用 next 链接")]
RunParam = Annotated[int | None, Query(ge=1, le=MAX_ID, description="评估编号，默认最近一次 (run id)")]

FILTER_DESCRIPTIONS = {
    "status": "合规状态，逗号分隔 (status: fail,warn,…)",
    "rule": "规则编号，逗号分隔，如 far.bounds (rule ids)",
    "district": "区(市)县，逗号分隔 (districts)",
    "park_id": "园区编号，逗号分隔 (park ids)",
    "zone": "分区，逗号分隔：red_line / blue_line / … (zones)",
}


def _query_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_CRS_SCHEMA = {"type": "string", "format": "uri", "enum": list(CRS_URIS)}
# The parameters of every items path beyond bbox/limit/offset/dataset/run. GDAL's OAPIF driver (3.6) pushes
# its -where to the server only when the items path documents filter-lang with "cql-text" among its values.
COMMON_ITEMS_PARAMETERS = [
    _query_parameter("cursor", "下一页的游标，取自上一页 next 链接 (opaque cursor of the next page)",
                     {"type": "string"}),
    _query_parameter("crs", "输出坐标系 (CRS of the geometries returned)", _CRS_SCHEMA),
    _query_parameter("bbox-crs", "bbox 的坐标系 (CRS of bbox)", _CRS_SCHEMA),
    _query_parameter("filter", "CQL2 过滤条件，属性见 queryables (CQL2 filter over the queryables)",
                     {"type": "string"}),
    _query_parameter("filter-lang", "filter 的语言，默认 cql2-text (filter language)",
                     {"type": "string", "enum": [*FILTER_LANGS, *LEGACY_FILTER_LANGS], "default": "cql2-text"}),
    _query_parameter("filter-crs", "filter 中几何的坐标系 (CRS of geometries in filter)", _CRS_SCHEMA),
    _query_parameter("sortby", "排序：+属性/-属性，逗号分隔 (sort order, e.g. -far,+parcel_id)", {"type": "string"}),
    _query_parameter("properties", "只返回这些属性，逗号分隔 (properties to return)", {"type": "string"}),
]
_COMMON_PARAMS = {"f", "bbox", "limit", "offset", "datetime", "dataset", "run",
                  *(p["name"] for p in COMMON_ITEMS_PARAMETERS)}
# The property filters of the collections every dataset has (``mujun:filters``; api.store.features). Each of
# these collections has its own items path in the document, listing its filters: a filter another collection
# does not have is refused there with 400 unknown_parameter, so one path for all could not say which apply.
FIXED_COLLECTION_FILTERS: dict[str, tuple[str, ...]] = {"parcels": fs.RUN_FILTERS, "enterprises": ("status", "rule")}
_ITEMS_ROUTE: dict[str, Any] = {"response_class": GeoJSONResponse, "response_model": FeatureCollection,
                                "responses": error_responses(400, 401, 404)}


def _filter_parameters(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [_query_parameter(n, FILTER_DESCRIPTIONS[n], {"type": "string"}) for n in names]


def _fixed_items(collection_id: str) -> Any:
    def endpoint(request: Request, _user: Reader, bbox: Bbox = None, limit: Limit = None, offset: Offset = 0,
                 dataset: DatasetParam = None, run: RunParam = None) -> GeoJSONResponse:
        return _items_page(request, collection_id, bbox, limit, offset, dataset, run)

    endpoint.__name__ = f"{collection_id}_items"
    endpoint.__doc__ = (f"A page of {collection_id}: bbox, the filters below (comma-separated values), CQL2 filter, "
                        "sortby, properties, crs; numberMatched/numberReturned, next by cursor.")
    return endpoint


for _cid, _names in FIXED_COLLECTION_FILTERS.items():
    router.add_api_route(f"/collections/{_cid}/items", _fixed_items(_cid), methods=["GET"],
                         summary=f"要素：{_cid} (features, with their filters)",
                         openapi_extra={"parameters": [*_filter_parameters(_names), *COMMON_ITEMS_PARAMETERS]},
                         **_ITEMS_ROUTE)


@router.get("/collections/{collection_id}/items", summary="要素 (features)",
            openapi_extra={"parameters": COMMON_ITEMS_PARAMETERS}, **_ITEMS_ROUTE)
def items(request: Request, collection_id: CollectionId, _user: Reader, bbox: Bbox = None, limit: Limit = None,
          offset: Offset = 0, dataset: DatasetParam = None, run: RunParam = None) -> GeoJSONResponse:
    """A page of features: bbox, CQL2 filter, sortby, properties, crs; numberMatched/numberReturned, next.

    Zone layers (``zone_<layer>``) have no property filters; parcels and enterprises have their own paths in the
    document listing theirs. Any other query parameter is refused with 400 ``unknown_parameter``.
    """
    return _items_page(request, collection_id, bbox, limit, offset, dataset, run)


def _crs_headers(crs: CRS | None) -> dict[str, str]:
    return {"Content-Crs": f"<{_crs_uri(crs or CRS84_CRS)}>"}


def _items_page(request: Request, collection_id: str, bbox: str | None, limit: int | None, offset: int,
                dataset: int | None, run: int | None) -> GeoJSONResponse:
    settings = request.app.state.settings
    page_size = min(limit or settings.items_default_limit, settings.items_max_limit)
    with _store(request) as conn:
        c = fs.get_collection(conn, collection_id, _dataset(request, dataset))
        q, properties = _feature_query(request, c, bbox, page_size, offset)
        page = fs.query_collection(conn, c, q, run_id=run)
    if properties is not None:
        for feat in page.features:
            feat["properties"] = {k: feat["properties"].get(k) for k in properties}
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit", "cursor")}
    params["limit"] = str(page_size)
    path = f"/collections/{collection_id}/items"
    links = [_link(_url(request, path, **params, offset=offset or None, cursor=q.cursor), "self", GEOJSON,
                   "本页 (this page)"),
             _link(_url(request, f"/collections/{collection_id}"), "collection", "application/json", c.title)]
    if page.next_cursor is not None:
        # Keyset paging: the next page starts after this page's last row (no OFFSET, every page costs the same).
        links.append(_link(_url(request, path, **params, cursor=page.next_cursor), "next", GEOJSON,
                           "下一页 (next page)"))
    body = {
        "type": "FeatureCollection",
        "features": page.features,
        "numberMatched": page.number_matched,
        "numberReturned": len(page.features),
        "timeStamp": _now_iso(),
        "links": links,
    }
    if page.run_id is not None:
        body["mujun:run"] = page.run_id
    return GeoJSONResponse(body, headers=_crs_headers(q.crs))


@router.get("/collections/{collection_id}/items/{feature_id}", summary="单个要素 (one feature)",
            response_class=GeoJSONResponse, response_model=Feature, responses=error_responses(400, 401, 404),
            openapi_extra={"parameters": [p for p in COMMON_ITEMS_PARAMETERS if p["name"] == "crs"]})
def item(request: Request, collection_id: CollectionId, feature_id: str, _user: Reader,
         dataset: DatasetParam = None, run: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> GeoJSONResponse:
    """One feature by id (parcel_id, enterprise_id, or a zone feature's number)."""
    crs = parse_crs_param("crs", request.query_params.get("crs"))
    with _store(request) as conn:
        c = fs.get_collection(conn, collection_id, _dataset(request, dataset))
        page = fs.query_collection(conn, c, fs.FeatureQuery(limit=1, crs=crs), run_id=run, feature_id=feature_id)
    if not page.features:
        raise ApiError(404, "not_found",
                       f"要素集 {collection_id} 中没有要素 '{feature_id}' (feature not found)",
                       [{"collection": collection_id, "feature": feature_id}])
    feat = page.features[0]
    feat["links"] = [
        _link(_url(request, f"/collections/{collection_id}/items/{feature_id}"), "self", GEOJSON, feature_id),
        _link(_url(request, f"/collections/{collection_id}"), "collection", "application/json", c.title),
    ]
    return GeoJSONResponse(feat, headers=_crs_headers(crs))


# --- Part 3: queryables and the feature schema ---------------------------------------------------------

SCHEMA_JSON = "application/schema+json"


def _property_schema(qb: fs.Queryable) -> dict[str, Any]:
    out: dict[str, Any] = {"title": qb.title, "type": qb.type}
    if qb.format:
        out["format"] = qb.format
    return out


def _typed_properties(c: fs.Collection) -> dict[str, dict[str, Any]]:
    """Every typed property of ``c``'s features with its JSON Schema type (one type each, so that GDAL, which
    reads one, types the field), the queryables first."""
    props = {name: _property_schema(qb) for name, qb in fs.collection_queryables(c).items()}
    if c.id in FIXED_COLLECTION_FILTERS:
        props["run_id"] = {"title": "评估编号 (run id)", "type": "integer"}
        props["dataset_id"] = {"title": "数据集编号 (dataset id)", "type": "integer"}
    if c.id == "enterprises":
        for key in fs.ENTERPRISE_RESULT_KEYS:
            props[key] = {"title": column_label(key), "type": "boolean" if key == "in_park" else
                          "string" if key == "grade" else "number"}
    return props


def _schema_response(request: Request, body: dict[str, Any]) -> JSONResponse:
    """JSON Schema as ``application/schema+json`` when asked for, else ``application/json`` (GDAL 3.6 accepts
    only the latter for queryables)."""
    media = SCHEMA_JSON if SCHEMA_JSON in request.headers.get("accept", "") else "application/json"
    return JSONResponse(body, media_type=media)


_SCHEMA_RESPONSES = {200: {"description": "JSON Schema", "content": {"application/json": {"schema": {"type": "object"}},
                                                                     SCHEMA_JSON: {"schema": {"type": "object"}}}},
                     **error_responses(400, 401, 404)}


@router.get("/collections/{collection_id}/queryables", summary="可查询属性 (queryables)",
            responses=_SCHEMA_RESPONSES)
def queryables(request: Request, collection_id: CollectionId, _user: Reader,
               dataset: DatasetParam = None) -> JSONResponse:
    """The properties a CQL2 ``filter`` and ``sortby`` may name, as JSON Schema (Part 3)."""
    with _store(request) as conn:
        c = fs.get_collection(conn, collection_id, _dataset(request, dataset))
    found = fs.collection_queryables(c)
    props = {name: _property_schema(qb) for name, qb in found.items()}
    props["geometry"] = {"title": "几何 (geometry)", "format": "geometry-any"}
    return _schema_response(request, {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url(request, f"/collections/{collection_id}/queryables"),
        "type": "object", "title": f"{c.title} 可查询属性 (queryables)", "properties": props,
        "additionalProperties": False,
        # The list of the Part 3 drafts, which GDAL's OAPIF driver (3.6) reads to know what it may push.
        "queryables": [{"id": name, "type": qb.type} for name, qb in found.items()],
    })


@router.get("/collections/{collection_id}/schema", summary="要素属性结构 (feature schema)",
            responses=_SCHEMA_RESPONSES)
def schema(request: Request, collection_id: CollectionId, _user: Reader,
           dataset: DatasetParam = None) -> JSONResponse:
    """The GeoJSON feature of the collection as JSON Schema: each property's type (numbers, ISO dates,
    booleans), so that clients (GDAL's OAPIF driver, QGIS) type the fields instead of guessing from a page."""
    with _store(request) as conn:
        c = fs.get_collection(conn, collection_id, _dataset(request, dataset))
    return _schema_response(request, {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url(request, f"/collections/{collection_id}/schema"),
        "title": c.title, "type": "object", "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"type": "object"},
            "properties": {"type": "object", "properties": _typed_properties(c)},
        },
    })


def _now_iso() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def setup(app: Any) -> None:
    """Also serve every endpoint under ``/datasets/{id}/ogc/`` — one OGC API root per dataset (for QGIS/GDAL)."""
    per_dataset = APIRouter(prefix=DATASET_PREFIX, include_in_schema=False)
    for route in router.routes:
        per_dataset.add_api_route(route.path, route.endpoint, methods=list(route.methods),
                                  response_class=route.response_class, response_model=route.response_model,
                                  name=f"{route.name}_of_dataset", include_in_schema=False)
    app.include_router(per_dataset)
