"""``POST /datasets`` (multipart upload of the contract's files), ``GET /datasets``, ``GET /datasets/{id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic.json_schema import SkipJsonSchema

from api.deps import Analyst, Conn, Reader, RowId
from api.errors import error_responses
from api.schemas import DatasetDetail, DatasetImported, DatasetList, dump
from api.services import datasets
from api.store import repository as repo

router = APIRouter(tags=["数据集 datasets"])
Omitted = SkipJsonSchema[None]  # an optional form part: left out, never sent as "null"
PARCEL_FILES = ("宗地图层 (GeoPackage/GeoJSON/zip/FGB/Parquet、Shapefile 的 .shp/.shx/.dbf/.prj/.cpg "
                "或界址点坐标 TXT)")


@router.post("/datasets", status_code=201, summary="上传并导入数据集 (upload and import a dataset)",
             response_model=DatasetImported,
             responses={200: {"model": DatasetImported,
                              "description": "这些文件已导入过：返回已有的数据集 (seen before)"},
                        **error_responses(400, 401, 403, 409, 413, 422)})
async def create_dataset(
    request: Request,
    user: Analyst,
    parcels: Annotated[list[UploadFile], File(min_length=1, description=PARCEL_FILES)],
    enterprises: Annotated[list[UploadFile] | Omitted, File(description="企业表 CSV/XLSX/XLS")] = None,
    occupancy: Annotated[list[UploadFile] | Omitted, File(description="用地企业对应表")] = None,
    zones: Annotated[list[UploadFile] | Omitted, File(description="分区 GeoPackage")] = None,
    land_supply: Annotated[list[UploadFile] | Omitted, File(description="土地供应表")] = None,
    crs: Annotated[str | Omitted, Form(description="无坐标系图层的坐标系，如 EPSG:4544")] = None,
    name: Annotated[str | Omitted, Form(max_length=200, description="数据集名称，默认宗地文件名")] = None,
) -> JSONResponse:
    """Import the uploaded files as one dataset (all-or-nothing); 200 with the existing one if seen before."""
    settings = request.app.state.settings
    fields = {"parcels": parcels, "enterprises": enterprises, "occupancy": occupancy, "zones": zones,
              "land_supply": land_supply}
    files = [datasets.Incoming(kind, u.filename or "", u.file)
             for kind, uploads in fields.items() for u in (uploads or []) if u.filename]

    def run() -> Any:
        staging = datasets.stage(settings.data_dir, files, datasets.limits_of(settings))
        return datasets.import_staged(request.app.state.engine, staging, name=name, crs=crs, actor=user.name)

    import anyio.to_thread

    outcome = await anyio.to_thread.run_sync(run)
    with request.app.state.engine.connect() as conn:
        body = repo.get_dataset(conn, outcome.dataset_id)
    body["created"] = outcome.created
    return JSONResponse(dump(DatasetImported, body), status_code=201 if outcome.created else 200)


@router.get("/datasets", summary="数据集列表 (datasets)", response_model=DatasetList, responses=error_responses(401))
def list_datasets(conn: Conn, _user: Reader) -> dict[str, Any]:
    """Every dataset, newest first."""
    return {"datasets": repo.list_datasets(conn)}


@router.get("/datasets/{dataset_id}", summary="数据集 (one dataset)", response_model=DatasetDetail,
            responses=error_responses(400, 401, 404))
def get_dataset(dataset_id: RowId, conn: Conn, _user: Reader) -> dict[str, Any]:
    """One dataset: its source files and hashes, counts, warnings, who imported it and when."""
    from api.store.evaluations import list_runs

    body = repo.get_dataset(conn, dataset_id)
    body["runs"] = list_runs(conn, dataset_id)
    return body
