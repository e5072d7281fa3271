"""``POST /datasets`` (multipart upload of the contract's files), ``GET /datasets``, ``GET /datasets/{id}``."""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from api.deps import Analyst, Conn, Reader, RowId
from api.errors import ApiError
from api.settings import ApiSettings
from api.store import repository as repo
from api.store.importer import import_files

router = APIRouter(tags=["数据集 datasets"])

INPUT_FIELDS = ("parcels", "enterprises", "occupancy", "zones", "land_supply")
_SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"}
_CHUNK = 1 << 20


def safe_name(filename: str | None, field: str) -> str:
    """The base name of an uploaded file with anything odd replaced (never a path)."""
    base = Path((filename or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", base).lstrip(".")
    return base or f"{field}.bin"


def check_zip(path: Path, settings: ApiSettings, field: str) -> None:
    """Refuse archives with absolute or ``..`` paths, links, too many entries, or bomb-like sizes/ratios."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise ApiError(422, "invalid_archive", f"{path.name} 不是有效的 zip 文件 (not a valid zip archive)",
                       [{"field": field, "file": path.name}]) from exc
    problems: list[dict[str, Any]] = []
    if len(infos) > settings.max_zip_entries:
        problems.append({"problem": "too many entries", "entries": len(infos), "limit": settings.max_zip_entries})
    total = 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = name.split("/")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            problems.append({"problem": "unsafe path", "entry": info.filename})
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append({"problem": "symbolic link", "entry": info.filename})
        total += info.file_size
        if info.file_size > (1 << 20) and info.file_size > settings.max_zip_ratio * max(info.compress_size, 1):
            problems.append({"problem": "compression ratio too high", "entry": info.filename,
                             "ratio": round(info.file_size / max(info.compress_size, 1)),
                             "limit": settings.max_zip_ratio})
    limit = int(settings.max_unzipped_mb * 1024 * 1024)
    if total > limit:
        problems.append({"problem": "uncompressed size too large", "bytes": total, "limit_bytes": limit})
    if problems:
        raise ApiError(422, "unsafe_archive",
                       f"{path.name}: 压缩包不安全或过大，已拒绝 (unsafe or oversized zip archive refused)",
                       [{"field": field, "file": path.name, **p} for p in problems[:50]])


async def _save(upload: UploadFile, target: Path) -> None:
    with target.open("wb") as fh:
        while chunk := await upload.read(_CHUNK):
            fh.write(chunk)


async def _save_field(field: str, uploads: list[UploadFile], folder: Path, settings: ApiSettings
                      ) -> tuple[Path, str]:
    """Save one field's file(s); a shapefile may come as its parts. Returns the path to read and its name."""
    sub = folder / field
    sub.mkdir()
    saved: list[Path] = []
    for upload in uploads:
        target = sub / safe_name(upload.filename, field)
        await _save(upload, target)
        saved.append(target)
        if target.suffix.lower() == ".zip":
            check_zip(target, settings, field)
    if len(saved) == 1:
        return saved[0], saved[0].name
    shp = [p for p in saved if p.suffix.lower() == ".shp"]
    odd = [p.name for p in saved if p.suffix.lower() not in _SHAPEFILE_PARTS]
    if len(shp) != 1 or odd:
        raise ApiError(422, "invalid_upload",
                       f"字段 {field} 上传了多个文件：仅允许同一 Shapefile 的组成文件 (.shp/.shx/.dbf/.prj/.cpg) "
                       f"(several files for {field}: only the parts of one shapefile are allowed)",
                       [{"field": field, "files": [p.name for p in saved]}])
    return shp[0], shp[0].name


@router.post("/datasets", status_code=201, summary="上传并导入数据集 (upload and import a dataset)")
async def create_dataset(
    request: Request,
    user: Analyst,
    parcels: Annotated[list[UploadFile], File(description="宗地图层 (GeoPackage/GeoJSON/zip/FGB/Parquet "
                                                          "或 Shapefile 的 .shp/.shx/.dbf/.prj)")],
    enterprises: Annotated[list[UploadFile] | None, File(description="企业表 CSV/XLSX")] = None,
    occupancy: Annotated[list[UploadFile] | None, File(description="用地企业对应表")] = None,
    zones: Annotated[list[UploadFile] | None, File(description="分区 GeoPackage")] = None,
    land_supply: Annotated[list[UploadFile] | None, File(description="土地供应表")] = None,
    crs: Annotated[str | None, Form(description="无坐标系图层的坐标系，如 EPSG:4544")] = None,
    name: Annotated[str | None, Form(description="数据集名称")] = None,
) -> JSONResponse:
    """Import the uploaded files as one dataset (all-or-nothing); 200 with the existing one if seen before."""
    settings = request.app.state.settings
    fields = {"parcels": parcels, "enterprises": enterprises, "occupancy": occupancy, "zones": zones,
              "land_supply": land_supply}
    folder = Path(tempfile.mkdtemp(prefix="mujun-upload-"))
    try:
        paths: dict[str, Path] = {}
        names: dict[str, str] = {}
        for field, uploads in fields.items():
            uploads = [u for u in (uploads or []) if u.filename]
            if not uploads:
                continue
            paths[field], names[field] = await _save_field(field, uploads, folder, settings)
        if "parcels" not in paths:
            raise ApiError(422, "missing_file", "必须上传宗地图层 (the parcels file is required)",
                           [{"field": "parcels"}])
        import anyio.to_thread

        outcome = await anyio.to_thread.run_sync(lambda: import_files(
            request.app.state.engine, paths["parcels"], paths.get("enterprises"), paths.get("occupancy"),
            paths.get("zones"), paths.get("land_supply"), crs=crs, name=name, actor=user.name,
            display_names=names))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with request.app.state.engine.connect() as conn:
        body = repo.get_dataset(conn, outcome.dataset_id)
    body["created"] = outcome.created
    return JSONResponse(_jsonable(body), status_code=201 if outcome.created else 200)


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


@router.get("/datasets", summary="数据集列表 (datasets)")
def list_datasets(conn: Conn, _user: Reader) -> dict[str, Any]:
    """Every dataset, newest first."""
    return {"datasets": repo.list_datasets(conn)}


@router.get("/datasets/{dataset_id}", summary="数据集 (one dataset)")
def get_dataset(dataset_id: RowId, conn: Conn, _user: Reader) -> dict[str, Any]:
    """One dataset: its source files and hashes, counts, warnings, who imported it and when."""
    from api.store.evaluations import list_runs

    body = repo.get_dataset(conn, dataset_id)
    body["runs"] = list_runs(conn, dataset_id)
    return body
