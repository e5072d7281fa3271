"""Import (``/web/import``): upload the contract's files, see every problem or a preview, then confirm.

The steps are ``api.services.datasets``' (stage with every safety check, validate, import all-or-nothing), as
for ``POST /datasets`` and ``mujun import``; the page only shows them.
"""

from __future__ import annotations

from typing import Any

from fastapi import Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.errors import gis_error_details
from api.services import datasets
from api.store.errors import ImportRejected
from api.web.pages._shared import PREFIX, WebAnalyst, error_page, page_router, render
from api.web.session import WebUser
from gis.errors import GisError

router = page_router()
_FORMATS_HINT = ("GeoPackage、GeoJSON、Shapefile（zip 或 .shp/.shx/.dbf/.prj 一起）、FlatGeobuf、GeoParquet "
                 "或界址点坐标 TXT（勘测定界/部备案格式）")


def _page(request: Request, user: WebUser, status_code: int = 200, *, problems: list[dict[str, Any]] | None = None,
          preview: dict[str, Any] | None = None, summary: str | None = None) -> HTMLResponse:
    return render(request, "import.html", user, status_code=status_code, nav="import", kinds=datasets.KIND_LABELS,
                  problems=problems, preview=preview, summary=summary)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, user: WebAnalyst) -> HTMLResponse:
    """The upload form."""
    return _page(request, user)


@router.post("/import", response_class=HTMLResponse)
async def import_upload(request: Request, user: WebAnalyst) -> HTMLResponse:
    """Stage and validate the uploads: the problems (400/422, nothing kept) or a preview to confirm."""
    form = await request.form()
    incoming = [
        datasets.Incoming(kind, up.filename, up.file)
        for kind in datasets.INPUT_KINDS
        for up in form.getlist(kind)
        if isinstance(up, UploadFile) and up.filename
    ]
    crs = str(form.get("crs") or "").strip() or None
    name = str(form.get("name") or "").strip() or None
    settings = request.app.state.settings
    try:  # reading and checking the files takes seconds: in a worker thread, not the event loop
        stage = await run_in_threadpool(datasets.stage, settings.data_dir, incoming, datasets.limits_of(settings))
    except ImportRejected as exc:
        return _page(request, user, 400, problems=[{"file": "上传文件", "message": exc.message, "ids": [],
                                                     "hint": _FORMATS_HINT}])
    except GisError as exc:
        return _page(request, user, 422, problems=gis_error_details(exc), summary=exc.message)
    try:
        inputs = await run_in_threadpool(datasets.validate, stage.paths, crs, name or stage.names["parcels"])
    except GisError as exc:
        datasets.discard(stage)
        return _page(request, user, 422, problems=gis_error_details(exc), summary=exc.message)
    except ImportRejected as exc:
        datasets.discard(stage)
        return _page(request, user, 422, problems=_rejected(exc), summary=exc.message)
    return _page(request, user, preview=_preview(stage, inputs, name, crs))


def _rejected(exc: ImportRejected) -> list[dict[str, Any]]:
    """The store's refusal as rows of the problems table (what, which rows or ids, what to do)."""
    rows = [{"file": datasets.KIND_LABELS.get(d.get("file"), "数据集名称" if d.get("file") == "dataset" else "—"),
             "message": d.get("problem") or d.get("message") or exc.message,
             "ids": [str(i) for i in d.get("ids") or d.get("rows") or []], "hint": "请修改后重新上传"}
            for d in exc.details if isinstance(d, dict)]
    return rows or [{"file": "—", "message": exc.message, "ids": [], "hint": "请修改后重新上传"}]


def _preview(stage: datasets.Staging, inputs: Any, name: str | None, crs: str | None) -> dict[str, Any]:
    """What the confirmation shows: rows per input, the name, the files, warnings and missing columns."""
    counts = {"parcels": len(inputs.parcels)}
    for kind in ("enterprises", "occupancy", "land_supply"):
        frame = getattr(inputs, kind)
        if frame is not None:
            counts[kind] = len(frame)
    for layer, gdf in (inputs.zones or {}).items():
        counts[f"zones:{layer}"] = len(gdf)
    return {
        "token": stage.token,
        "counts": counts,
        "name": name or stage.names["parcels"],
        "crs": crs or "",
        "files": dict(stage.names),
        "warnings": [
            {"file": i.file, "message": i.message, "ids": i.ids[:30], "n": len(i.ids)}
            for i in inputs.report.warnings
        ],
        "missing": list(inputs.parcels.attrs.get("missing_columns", []) or []),
    }


@router.post("/import/confirm")
def import_confirm(request: Request, user: WebAnalyst, token: str = Form(...), name: str = Form(""),
                   crs: str = Form("")) -> Response:
    """Import the staged files as one dataset (or find the same one) and go on to evaluate it."""
    try:
        stage = datasets.staged(request.app.state.settings.data_dir, token)
    except KeyError:
        return error_page(request, user, 404,
                          "待确认的上传已失效，请重新上传 (the staged upload is gone; upload again)")
    try:
        outcome = datasets.import_staged(request.app.state.engine, stage, name=name or None, crs=crs or None,
                                         actor=user.name)
    except ImportRejected as exc:
        return _page(request, user, 422, problems=_rejected(exc), summary=exc.message)
    return RedirectResponse(
        f"{PREFIX}/evaluate?dataset={outcome.dataset_id}&imported={1 if outcome.created else 0}", status_code=303
    )
