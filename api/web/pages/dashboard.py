"""The dashboard (``/web/``): datasets, recent runs and the latest finished run's indicators and problems."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.web.pages._results import overview, result_words
from api.web.pages._shared import WebReader, datasets_of, latest_done, page_router, render, runs_of

router = page_router()


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: WebReader) -> HTMLResponse:
    """The start page."""
    datasets = datasets_of(request)
    runs = runs_of(request).list()
    latest = latest_done(runs)
    ctx: dict[str, Any] = {"datasets": datasets, "runs": runs[:10], "latest": latest,
                           "indicators": [], "by_rule": [], "notes": [], "by_district": []}
    if latest:
        result = runs_of(request).result(latest["id"])
        ctx.update(overview(latest, result, result_words(result)))
    return render(request, "dashboard.html", user, nav="dashboard", **ctx)
