"""Zone proposals (``/web/zones…``): 工业红线、蓝线划定建议 per dataset — generate, view the map, download."""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.web.pages._shared import PREFIX, PageNotFound, WebAnalyst, WebReader, error_page, page_router, render
from api.web.zones import proposal_file, proposal_status, propose

router = page_router()


@router.get("/zones", response_class=HTMLResponse)
def zones_page(request: Request, user: WebReader) -> HTMLResponse:
    """The datasets, which can have a proposal and which have one."""
    return render(request, "zones.html", user, nav="zones", **proposal_status(request))


@router.post("/zones/propose")
def zones_propose(request: Request, user: WebAnalyst, dataset: int = Form(...)) -> Response:
    """Generate a dataset's proposal (409 with the reason when it cannot be made)."""
    error = propose(request, dataset, user.name)
    if error:
        return error_page(request, user, 409, error)
    return RedirectResponse(f"{PREFIX}/zones", status_code=303)


def _proposal(request: Request, dataset_id: int, name: str) -> Response:
    path = proposal_file(request, dataset_id, name)
    if not path.is_file():
        raise PageNotFound(f"数据集 {dataset_id} 尚无红线、蓝线划定建议 (no proposal yet)")
    if name == "map.html":
        return HTMLResponse(path.read_text(encoding="utf-8"))
    return FileResponse(path, media_type="application/geopackage+sqlite3",
                        filename=f"mujun_zone_proposal_dataset{dataset_id}.gpkg")


@router.get("/zones/{dataset_id}/map", response_class=HTMLResponse)
def zones_map(request: Request, _user: WebReader, dataset_id: int) -> Response:
    """The proposal's comparison map."""
    return _proposal(request, dataset_id, "map.html")


@router.get("/zones/{dataset_id}/download")
def zones_download(request: Request, _user: WebReader, dataset_id: int) -> Response:
    """The proposal as a GeoPackage (the layers of ``mujun zones propose``)."""
    return _proposal(request, dataset_id, "zones.gpkg")
