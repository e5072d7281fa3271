"""The policy sandbox (``/web/compare``, 预演): two runs of one dataset compared, or a dataset judged under two rule
sets at once from the rule-set comparison page — all through ``api.services.runs`` (``Runs.compare``)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.services import runs as runs_service
from api.store.errors import NotFound, StoreError
from api.web.pages._results import park_names
from api.web.pages._shared import PREFIX, PageNotFound, WebAnalyst, WebReader, error_page, page_router, render, runs_of
from rules.compare import DIRECTION_LABELS, CompareError
from rules.result import records

router = page_router()
SHOWN = 500  # changed parcels and verdicts listed on the page; the workbook has them all


@router.post("/rulesets/preview")
def ruleset_preview(request: Request, user: WebAnalyst, a: str = Form(...), b: str = Form(...),
                    dataset: int = Form(...), as_of: str = Form("")) -> Response:
    """预演: evaluate one dataset under rule sets ``a`` and ``b`` (two runs) and go to their comparison."""
    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        return error_page(request, user, 400,
                          f"评估基准日“{as_of}”不是有效日期，应为 YYYY-MM-DD (as-of date must be ISO 8601)")
    runs = runs_of(request)
    try:
        run_a = runs.start(dataset, a, day, user.name)
        run_b = runs.start(dataset, b, day, user.name)
    except StoreError as exc:
        return error_page(request, user, 404, exc.message)
    return RedirectResponse(f"{PREFIX}/compare?" + urlencode({"a": run_a, "b": run_b}), status_code=303)


def _runs(request: Request, a: int, b: int) -> tuple[dict, dict]:
    runs = runs_of(request)
    try:
        return runs.get(a), runs.get(b)
    except NotFound as exc:
        raise PageNotFound(exc.message) from exc


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, user: WebReader, a: int, b: int) -> HTMLResponse:
    """What changes from run ``a`` to run ``b``: counts by rule, district and park, the parcels and firms."""
    run_a, run_b = _runs(request, a, b)
    if run_a["status"] != "done" or run_b["status"] != "done":
        failed = [r for r in (run_a, run_b) if r["status"] == "failed"]
        return render(request, "compare.html", user, nav="runs", run_a=run_a, run_b=run_b, comparison=None,
                      failed=failed)
    runs = runs_of(request)
    try:
        comparison = runs.compare(a, b)
    except CompareError as exc:
        return error_page(request, user, 422, exc.message)
    parks = park_names(runs.result(b).zones)

    def park(value: object) -> str:
        return parks.get(str(value), str(value)) if isinstance(value, str) and value not in ("", "—") else "园区外"

    parcel_rows = records(comparison.parcels.head(SHOWN))
    for row in parcel_rows:
        row["park"] = park(row["park_id"])
    park_rows = records(comparison.by_park)
    for row in park_rows:
        row["park"] = park(row["park_id"])
    return render(request, "compare.html", user, nav="runs", run_a=run_a, run_b=run_b, comparison=comparison,
                  failed=[], parcel_rows=parcel_rows, park_rows=park_rows, shown=SHOWN, directions=DIRECTION_LABELS)


@router.get("/compare/download/{fmt}")
def compare_download(request: Request, _user: WebReader, fmt: str, a: int, b: int) -> Response:
    """The comparison's workbook (``xlsx``) or the map of the changed parcels (``html``)."""
    _runs(request, a, b)
    try:
        path = runs_of(request).comparison_file(a, b, fmt)
    except KeyError as exc:
        raise PageNotFound(f"不支持的下载格式 {fmt} (unknown format)") from exc
    media = runs_service.COMPARISON_FORMATS[fmt]
    if fmt == "html":
        return FileResponse(path, media_type=media)
    return FileResponse(path, media_type=media, filename=f"mujun_预演对比_run{a}_run{b}.{fmt}")
