"""Vector tiles of the OGC collections (OGC API – Tiles style path, WebMercatorQuad, Mapbox Vector Tiles).

``GET /collections/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}`` (also under ``/datasets/{id}/ogc/``) for ``parcels``
(with a run's overall and per-rule statuses: ``?run=``, default the dataset's latest finished run) and each
``zone_<layer>``; the same auth as the items routes. The web map's tiles (``/web/runs/{id}/tiles/…``) are
answered by :func:`tile_response` too. The tiles themselves come from ``api.store.tiles``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import Response

from api.deps import MAX_ID, Reader
from api.errors import ApiError, error_responses
from api.ogc import DATASET_PREFIX
from api.store import tiles as store_tiles

router = APIRouter(tags=["OGC API – Tiles"])

MVT = "application/vnd.mapbox-vector-tile"
TILE_PATH = "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}"
# A run's tile never changes (finished runs and stored datasets are immutable): the browser keeps it a day. A
# tile of "the latest run" may change when a newer run finishes, so it is revalidated by its ETag each time.
CACHE_PINNED = "private, max-age=86400"
CACHE_LATEST = "private, no-cache"


def check_tile(z: int, x: int, y: int) -> None:
    """400 naming the bad number unless 0 ≤ z ≤ 24 and 0 ≤ x, y < 2^z."""
    if not 0 <= z <= store_tiles.MAX_ZOOM:
        raise ApiError(400, "invalid_tile", f"瓦片层级 z={z} 超出范围，应为 0–{store_tiles.MAX_ZOOM} "
                       "(zoom out of range)", [{"parameter": "z", "value": z}])
    top = 2**z - 1
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value <= top:
            raise ApiError(400, "invalid_tile", f"瓦片编号 {name}={value} 超出范围，层级 {z} 应为 0–{top} "
                           "(tile column/row out of range)", [{"parameter": name, "value": value, "max": top}])


def tile_response(request: Request, collection_id: str, z: int, x: int, y: int, *, dataset: int | None,
                  run: int | None) -> Response:
    """The tile as ``application/vnd.mapbox-vector-tile`` (204 when empty), with an ETag of its dataset, run
    and address; a request whose ``If-None-Match`` matches gets 304 without the tile being made."""
    check_tile(z, x, y)
    with request.app.state.engine.connect() as conn:
        key = store_tiles.resolve(conn, collection_id, dataset, run, z, x, y)
        headers = {"ETag": key.etag, "Cache-Control": CACHE_PINNED if run is not None else CACHE_LATEST}
        if key.etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        data = store_tiles.render(conn, key)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


_TILE_ROUTE = {
    "response_class": Response,
    "responses": {200: {"description": "Mapbox 矢量瓦片 (Mapbox Vector Tile)", "content": {MVT: {}}},
                  204: {"description": "此瓦片内没有要素 (no feature in this tile)"},
                  304: {"description": "未改变 (not modified, per If-None-Match)"},
                  **error_responses(400, 401, 404)},
}
# The bounds are documented, and checked by check_tile (its message names the tile's own range, which the
# generic validation message cannot). The bound of x and y depends on z (0 … 2^z−1), which a schema cannot say:
# the widest one is documented.
Z = Annotated[int, Path(description="层级 0–24 (zoom)",
                        json_schema_extra={"minimum": 0, "maximum": store_tiles.MAX_ZOOM})]
XY = Annotated[int, Path(description="列/行号 0 … 2^z−1，超出为 400 (tile column/row)",
                         json_schema_extra={"minimum": 0, "maximum": 2**store_tiles.MAX_ZOOM - 1})]
DatasetParam = Annotated[int | None, Query(ge=1, le=MAX_ID, description="数据集编号，默认评估所属或最新 (dataset id)")]
RunParam = Annotated[int | None, Query(ge=1, le=MAX_ID,
                                       description="评估编号（宗地），默认最近一次 (run id, parcels only)")]


@router.get(TILE_PATH, summary="矢量瓦片 (vector tile, WebMercatorQuad)", **_TILE_ROUTE)
def collection_tile(request: Request, collection_id: str, z: Z, x: XY, y: XY, _user: Reader,
                    dataset: DatasetParam = None, run: RunParam = None) -> Response:
    """One tile of ``parcels`` (properties ``parcel_id``, ``status`` and ``st_<rule>`` of the run) or of a
    ``zone_<layer>`` (``layer``, ``zone_id``, ``name``); the MVT layer is named after the collection."""
    return tile_response(request, collection_id, z, x, y, dataset=dataset, run=run)


def _dataset_tile(request: Request, dataset_id: Annotated[int, Path(ge=1, le=MAX_ID)], collection_id: str, z: Z,
                  x: XY, y: XY, _user: Reader, run: RunParam = None) -> Response:
    return tile_response(request, collection_id, z, x, y, dataset=dataset_id, run=run)


def setup(app: FastAPI) -> None:
    """Add the tile route, and again under the per-dataset OGC root ``/datasets/{id}/ogc/``."""
    app.include_router(router)
    app.add_api_route(DATASET_PREFIX + TILE_PATH, _dataset_tile, methods=["GET"], include_in_schema=False,
                      response_class=Response, name="collection_tile_of_dataset")
