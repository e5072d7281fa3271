"""OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0): landing page, conformance, collections, items.

Collections: ``parcels`` (with the latest evaluation's status and per-rule statuses), ``enterprises`` (their
land) and one ``zone_<layer>`` per zone layer. Geometries in CRS84; ``bbox`` goes through the spatial index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from api.deps import MAX_ID, Reader
from api.errors import ApiError, error_responses
from api.schemas import CollectionInfo, Collections, Conformance, Feature, FeatureCollection, LandingPage
from api.store import features as fs
from api.store.frames import SRID

router = APIRouter(tags=["OGC API – Features"])

GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_COMMON_PARAMS = {"f", "bbox", "bbox-crs", "limit", "offset", "datetime", "dataset", "run"}

DatasetParam = Annotated[int | None, Query(ge=1, le=MAX_ID,
                                           description="数据集编号，默认最新 (dataset id; default: newest)")]


class GeoJSONResponse(JSONResponse):
    """JSON with the GeoJSON media type (RFC 7946)."""

    media_type = GEOJSON

    def render(self, content: Any) -> bytes:
        """Serialise compactly with Chinese left readable."""
        import json

        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


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
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": f"http://www.opengis.net/def/crs/EPSG/0/{SRID}",
        "extent": {"spatial": {"bbox": [c.extent or [-180.0, -90.0, 180.0, 90.0]], "crs": CRS84}},
        "links": [
            _link(_url(request, f"/collections/{c.id}", dataset=dataset), "self", "application/json",
                  c.title),
            _link(items, "items", GEOJSON, f"{c.title}要素 (items)"),
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


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` (or the 6-number 3-D form) in CRS84, checked; 400 naming what is wrong.

    The text must match :data:`BBOX_PATTERN` (decimal numbers, as the OpenAPI document says; ``inf``, ``nan``,
    spaces and ``1_000`` are refused), each longitude within ±180 and latitude within ±90, min ≤ max.
    """
    if raw is None or raw == "":
        return None
    nums = [float(p) for p in raw.split(",")] if _BBOX_RE.match(raw) else []
    if len(nums) not in (4, 6) or not all(math.isfinite(n) for n in nums):
        raise ApiError(400, "invalid_bbox", "bbox 应为 4 个数：最小经度,最小纬度,最大经度,最大纬度 "
                       "(bbox must be minLon,minLat,maxLon,maxLat)", [{"parameter": "bbox", "value": raw}])
    minx, miny, maxx, maxy = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90) or minx > maxx:
        raise ApiError(400, "invalid_bbox", "bbox 超出经纬度范围或最小值大于最大值 "
                       "(bbox out of range, or min > max)", [{"parameter": "bbox", "value": raw}])
    return minx, miny, maxx, maxy


def _check_params(request: Request, c: fs.Collection) -> dict[str, str | None]:
    allowed = _COMMON_PARAMS | set(c.filters)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ApiError(400, "unknown_parameter",
                       f"不支持的查询参数 (unknown query parameter): {', '.join(unknown)}",
                       [{"parameter": u, "allowed": sorted(allowed)} for u in unknown])
    bbox_crs = request.query_params.get("bbox-crs")
    if bbox_crs not in (None, CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326"):
        raise ApiError(400, "invalid_parameter", "bbox-crs 仅支持 CRS84 (only CRS84 is supported)",
                       [{"parameter": "bbox-crs", "value": bbox_crs}])
    return {k: request.query_params.get(k) for k in c.filters}


BBOX_DESCRIPTION = ("最小经度,最小纬度,最大经度,最大纬度 (CRS84)，或 6 个数的三维形式；经度在 ±180、纬度在 ±90 之内，"
                    "最小值不大于最大值，否则 400 invalid_bbox (minLon,minLat,maxLon,maxLat)")
Bbox = Annotated[str | None, Query(description=BBOX_DESCRIPTION,
                                   json_schema_extra={"pattern": BBOX_PATTERN, "format": "bbox"})]
Limit = Annotated[int | None, Query(ge=1, le=MAX_ID, description="每页要素数 (page size), 默认 10")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="跳过的要素数 (features to skip)")]
RunParam = Annotated[int | None, Query(ge=1, le=MAX_ID, description="评估编号，默认最近一次 (run id)")]

FILTER_DESCRIPTIONS = {
    "status": "合规状态，逗号分隔 (status: fail,warn,…)",
    "rule": "规则编号，逗号分隔，如 far.bounds (rule ids)",
    "district": "区(市)县，逗号分隔 (districts)",
    "park_id": "园区编号，逗号分隔 (park ids)",
    "zone": "分区，逗号分隔：red_line / blue_line / … (zones)",
}
# The property filters of the collections every dataset has (``mujun:filters``; api.store.features). Each of
# these collections has its own items path in the document, listing its filters: a filter another collection
# does not have is refused there with 400 unknown_parameter, so one path for all could not say which apply.
FIXED_COLLECTION_FILTERS: dict[str, tuple[str, ...]] = {"parcels": fs.RUN_FILTERS, "enterprises": ("status", "rule")}
_ITEMS_ROUTE: dict[str, Any] = {"response_class": GeoJSONResponse, "response_model": FeatureCollection,
                                "responses": error_responses(400, 401, 404)}


def _filter_parameters(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "description": FILTER_DESCRIPTIONS[n],
             "schema": {"type": "string"}} for n in names]


def _fixed_items(collection_id: str) -> Any:
    def endpoint(request: Request, _user: Reader, bbox: Bbox = None, limit: Limit = None, offset: Offset = 0,
                 dataset: DatasetParam = None, run: RunParam = None) -> GeoJSONResponse:
        return _items_page(request, collection_id, bbox, limit, offset, dataset, run)

    endpoint.__name__ = f"{collection_id}_items"
    endpoint.__doc__ = (f"A page of {collection_id}: bbox, the filters below (comma-separated values), limit/offset, "
                        "numberMatched/numberReturned, next/prev.")
    return endpoint


for _cid, _names in FIXED_COLLECTION_FILTERS.items():
    router.add_api_route(f"/collections/{_cid}/items", _fixed_items(_cid), methods=["GET"],
                         summary=f"要素：{_cid} (features, with their filters)",
                         openapi_extra={"parameters": _filter_parameters(_names)}, **_ITEMS_ROUTE)


@router.get("/collections/{collection_id}/items", summary="要素 (features)", **_ITEMS_ROUTE)
def items(request: Request, collection_id: CollectionId, _user: Reader, bbox: Bbox = None, limit: Limit = None,
          offset: Offset = 0, dataset: DatasetParam = None, run: RunParam = None) -> GeoJSONResponse:
    """A page of features: bbox, limit/offset, numberMatched/numberReturned, next/prev.

    Zone layers (``zone_<layer>``) have no property filters; parcels and enterprises have their own paths in the
    document listing theirs. Any other query parameter is refused with 400 ``unknown_parameter``.
    """
    return _items_page(request, collection_id, bbox, limit, offset, dataset, run)


def _items_page(request: Request, collection_id: str, bbox: str | None, limit: int | None, offset: int,
                dataset: int | None, run: int | None) -> GeoJSONResponse:
    settings = request.app.state.settings
    page_size = min(limit or settings.items_default_limit, settings.items_max_limit)
    with _store(request) as conn:
        c = fs.get_collection(conn, collection_id, _dataset(request, dataset))
        filters = _check_params(request, c)
        box = parse_bbox(bbox)
        page = fs.query_collection(conn, c, bbox=box, filters=filters, limit=page_size, offset=offset, run_id=run)
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}
    params["limit"] = str(page_size)
    path = f"/collections/{collection_id}/items"
    links = [_link(_url(request, path, **params, offset=offset or None), "self", GEOJSON, "本页 (this page)"),
             _link(_url(request, f"/collections/{collection_id}"), "collection", "application/json", c.title)]
    if offset + len(page.features) < page.number_matched:
        links.append(_link(_url(request, path, **params, offset=offset + page_size), "next", GEOJSON,
                           "下一页 (next page)"))
    if offset > 0:
        links.append(_link(_url(request, path, **params, offset=max(0, offset - page_size) or None), "prev",
                           GEOJSON, "上一页 (previous page)"))
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
    return GeoJSONResponse(body)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="单个要素 (one feature)",
            response_class=GeoJSONResponse, response_model=Feature, responses=error_responses(400, 401, 404))
def item(request: Request, collection_id: CollectionId, feature_id: str, _user: Reader,
         dataset: DatasetParam = None, run: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> GeoJSONResponse:
    """One feature by id (parcel_id, enterprise_id, or a zone feature's number)."""
    with _store(request) as conn:
        c = fs.get_collection(conn, collection_id, _dataset(request, dataset))
        page = fs.query_collection(conn, c, feature_id=feature_id, limit=1, offset=0, run_id=run)
    if not page.features:
        raise ApiError(404, "not_found",
                       f"要素集 {collection_id} 中没有要素 '{feature_id}' (feature not found)",
                       [{"collection": collection_id, "feature": feature_id}])
    feat = page.features[0]
    feat["links"] = [
        _link(_url(request, f"/collections/{collection_id}/items/{feature_id}"), "self", GEOJSON, feature_id),
        _link(_url(request, f"/collections/{collection_id}"), "collection", "application/json", c.title),
    ]
    return GeoJSONResponse(feat)


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
