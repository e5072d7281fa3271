"""Check one parcel at once (``/web/check``): draw, paste or upload it, type its attributes, see its verdicts.

The check itself is ``api.web.check.check_parcel`` over ``api.services.checks`` (as ``POST /check``); the zones
it reads are the ones kept per server there, so the map's context layers and park names cost no second read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.services import checks
from api.store.engine import memo
from api.store.repository import latest_dataset_id, reading
from api.web.pages._results import park_names, rule_words, verdict_rows
from api.web.pages._shared import WebReader, datasets_of, engine_of, page_router, render, ruleset_refs
from gis.vocabulary import SITE_STATUS_LABELS, ZONE_LAYER_LABELS

router = page_router()
_CONTEXT_LAYERS = ("ring", "parks", "blue_line", "red_line")


@router.get("/check", response_class=HTMLResponse)
def check_form(request: Request, user: WebReader) -> HTMLResponse:
    """The empty form."""
    return render(request, "check.html", user, nav="check", form={}, **_context(request))


@router.post("/check", response_class=HTMLResponse)
async def check_run(request: Request, user: WebReader) -> HTMLResponse:
    """The form again with the parcel's verdicts (422 with the problem when it cannot be checked)."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    upload = form.get("file")
    file_bytes = (upload.filename, await upload.read()) if getattr(upload, "filename", None) else None
    # reading the store and evaluating take a while: in a worker thread, not the event loop
    ctx = await run_in_threadpool(_checked, request, values, file_bytes)
    return render(request, "check.html", user, nav="check", form=values,
                  status_code=200 if ctx["error"] is None else 422, **ctx)


def _checked(request: Request, values: dict[str, str], file_bytes: tuple[str, bytes] | None) -> dict[str, Any]:
    """The page's context with the check's result in words, or its error."""
    from api.web.check import check_parcel

    ctx = _context(request)
    engine = engine_of(request)
    try:
        result = check_parcel(values, file_bytes, engine=engine, zones_dataset=ctx["zones_ds"])
    except ValueError as exc:
        ctx["error"] = str(exc)
        return ctx
    words = rule_words(result["rules"])
    ds = result["zones_dataset"]
    parks = park_names(checks.zones(engine, ds)) if ds is not None else {}
    for p in result["parcels"]:
        p["park"] = parks.get(str(p["park_id"]), str(p["park_id"])) if p.get("park_id") else ""
        p["zone_label"] = ZONE_LAYER_LABELS.get(str(p["zone"]), "") if p.get("zone") else ""
    result["rows"] = verdict_rows(result["verdicts"] + result["enterprise_verdicts"], words)
    for g in result["grading"]:
        g["title"] = words.title(g["rule"])
    ctx["result"] = result
    return ctx


@router.get("/check/context.geojson")
def check_context(request: Request, _user: WebReader) -> Response:
    """The zone layers the form's map draws under the parcel (ring, parks, blue and red lines), CRS84."""
    ds = _zones_dataset(request)
    if ds is None:
        return JSONResponse({"type": "FeatureCollection", "features": []})
    return Response(_zone_context(engine_of(request), ds), media_type="application/geo+json")


def _context(request: Request) -> dict[str, Any]:
    return {
        "rulesets": ruleset_refs(request),
        "datasets": datasets_of(request),
        "today": dt.date.today().isoformat(),
        "zones_ds": _zones_dataset(request),
        "site_statuses": SITE_STATUS_LABELS,
        "result": None,
        "error": None,
    }


def _zones_dataset(request: Request) -> int | None:
    """The newest dataset that has zone layers (what a check is made against by default), or None."""
    return reading(engine_of(request), latest_dataset_id, with_zones=True)


def _zone_context(engine: Any, dataset_id: int) -> str:
    """The context layers of a dataset in EPSG:4326 (simplified to ~5 m) as GeoJSON text, made once per store
    and dataset (datasets never change once stored)."""
    kept = memo(engine)
    key = ("web", "zone_context", int(dataset_id))
    if key not in kept:
        import geopandas as gpd
        import pandas as pd

        zones = checks.zones(engine, dataset_id)
        frames = [
            gpd.GeoDataFrame({"layer": [layer] * len(gdf)}, geometry=gdf.geometry.simplify(5).to_numpy(), crs=gdf.crs)
            for layer in _CONTEXT_LAYERS
            if (gdf := zones.get(layer)) is not None and len(gdf)
        ]
        kept[key] = (
            pd.concat(frames, ignore_index=True).to_crs(4326).to_json(drop_id=True)
            if frames
            else '{"type": "FeatureCollection", "features": []}'
        )
    return kept[key]
