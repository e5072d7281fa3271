"""Evaluations (``/web/evaluate``, ``/web/runs…``): start a run, follow it, its flagged parcels, compliance map,
printed summary and downloads — all through ``api.services.runs`` (one result cache, one export folder)."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely
from fastapi import Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from api.deps import RowId
from api.services import runs as runs_service
from api.store.errors import StoreError
from api.store.features import list_collections, parcel_feature
from api.store.repository import reading
from api.store.tiles import rule_ids
from api.tiles import tile_response
from api.web.pages._results import RuleWords, indicators, overview, park_names, result_words, rule_words
from api.web.pages._shared import (
    FLAGGED,
    PAGE_SIZE,
    PREFIX,
    PageNotFound,
    Run,
    WebAnalyst,
    WebReader,
    datasets_of,
    engine_of,
    error_page,
    page_router,
    render,
    ruleset_refs,
    runs_of,
)
from gis.vocabulary import ZONE_LAYER_LABELS
from rules.result import status_column
from rules.vocabulary import STATUS_COLORS, STATUS_LABELS, STATUS_ORDER, is_note

router = page_router()
# The tiled map draws parcels from this zoom on (a 2.4 km tile): below it a view of a dense city holds tens of
# thousands of parcels, too many to encode and draw in a moment; the zone layers are drawn at every zoom.
TILED_MIN_ZOOM = 14
_SORTABLE = {"parcel_id", "area_mu", "far", "district", "park_id", "status"}


@router.get("/evaluate", response_class=HTMLResponse)
def evaluate_form(request: Request, user: WebAnalyst, dataset: int | None = None,
                  imported: int | None = None) -> HTMLResponse:
    """Choose a dataset, a rule set and the as-of date."""
    return render(request, "evaluate.html", user, nav="evaluate", datasets=datasets_of(request), selected=dataset,
                  imported=imported, rulesets=ruleset_refs(request), today=dt.date.today().isoformat(), error=None)


@router.post("/evaluate")
def evaluate_start(request: Request, user: WebAnalyst, dataset: int = Form(...),
                   ruleset: str = Form("chengdu-2023"), as_of: str = Form("")) -> Response:
    """Queue the run (as ``POST /evaluations``) and go to its page."""
    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        return error_page(request, user, 400,
                          f"评估基准日“{as_of}”不是有效日期，应为 YYYY-MM-DD (as-of date must be ISO 8601)")
    try:
        run_id = runs_of(request).start(dataset, ruleset, day, user.name)
    except StoreError as exc:
        return error_page(request, user, 404, exc.message)
    return RedirectResponse(f"{PREFIX}/runs/{run_id}", status_code=303)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, user: WebReader) -> HTMLResponse:
    """Every run, newest first."""
    return render(request, "runs.html", user, nav="runs", runs=runs_of(request).list())


@router.get("/runs/{run_id}/status.json")
def run_status(_user: WebReader, run: Run) -> JSONResponse:
    """Status and progress, polled by the progress page."""
    return JSONResponse(
        json.loads(json.dumps({k: run.get(k) for k in ("id", "status", "progress", "error")}, default=str))
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    user: WebReader,
    run: Run,
    rule: str = "",
    status: str = "",
    district: str = "",
    park: str = "",
    sort: str = "parcel_id",
    desc: int = 0,
    page: int = 1,
) -> HTMLResponse:
    """The progress page of an unfinished run; a finished one's indicators and flagged parcels, filtered."""
    if run["status"] != "done":
        return render(request, "run_progress.html", user, nav="runs", run=run)
    result = runs_of(request).result(run["id"])
    words = result_words(result)
    parks = park_names(result.zones)
    rule_ids = _rule_columns(words, result.parcels)
    table = _flagged_table(result.parcels, rule_ids, rule=rule, status=status, district=district, park=park,
                           sort=sort, desc=bool(desc), page=page, words=words, parks=parks)
    params = {"rule": rule, "status": status, "district": district, "park": park, "sort": sort, "desc": desc}
    base_q = {k: v for k, v in params.items() if v not in ("", 0)}
    return render(
        request,
        "run.html",
        user,
        nav="runs",
        run=run,
        summary=run.get("summary") or {},
        indicators=indicators(run.get("summary") or {}, result.aggregates, words),
        table=table,
        params=params,
        query=lambda **kw: "?" + urlencode({**base_q, **kw}),
        rules=[i for i in rule_ids.values() if not is_note(i)],
        note_rules=[i for i in rule_ids.values() if is_note(i)],
        words=words,
        districts=_options(result.parcels, "district"),
        parks=[(pid, parks.get(pid, pid)) for pid in _options(result.parcels, "park_id")],
        downloads=runs_service.DOWNLOADS,
        others=[r for r in runs_of(request).list(run["dataset_id"]) if r["id"] != run["id"] and r["status"] == "done"],
        tiled_map=_too_large_to_inline(request, run),
    )


@router.get("/runs/{run_id}/map", response_class=HTMLResponse)
def run_map_page(request: Request, _user: WebReader, run: Run) -> HTMLResponse:
    """The compliance map, its scripts and styles served from ``/web/static/map``."""
    from api.cli_maps import map_args
    from gis.maps import compliance_map

    if _too_large_to_inline(request, run):
        return RedirectResponse(f"{PREFIX}/runs/{run['id']}/tiled-map", status_code=307)
    runs = runs_of(request)
    result = runs.result(run["id"])
    m = compliance_map(**map_args(result, runs.ruleset(result)), static_url=f"{PREFIX}/static/map",
                       title=f"评估 {run['id']} 合规地图")
    return HTMLResponse(m.get_root().render())


@router.get("/runs/{run_id}/tiled-map", response_class=HTMLResponse)
def run_tiled_map_page(request: Request, user: WebReader, run: Run) -> HTMLResponse:
    """The compliance map drawn from vector tiles (any number of parcels): coloured by overall status or one
    rule, the zone layers as outlines, a parcel's verdicts fetched on click. Reads no result into memory."""
    if run["status"] != "done":
        raise PageNotFound(f"评估 {run['id']} 尚未完成 (evaluation not finished)")
    engine = engine_of(request)
    dataset = int(run["dataset_id"])
    words = rule_words(runs_of(request).ruleset_of_run(run))
    rules = [{"column": status_column(i), "id": i, "title": words.title(i)}
             for i in reading(engine, rule_ids, int(run["id"])) if not is_note(i)]
    collections = reading(engine, list_collections, dataset)
    extent = next((c.extent for c in collections if c.id == "parcels"), None)
    first = reading(engine, parcel_feature, dataset, None, int(run["id"]))
    zones = [{"id": c.id, "title": ZONE_LAYER_LABELS.get(c.layer or "", c.title)} for c in collections if c.layer]
    base = f"{PREFIX}/runs/{run['id']}"
    config = {"tiles": base + "/tiles/{collection}/{z}/{x}/{y}", "parcel": base + "/parcels/{parcel_id}",
              "verdicts": base + "/parcels/{parcel_id}/verdicts.json", "extent": extent, "rules": rules,
              "zones": zones, "colors": STATUS_COLORS, "labels": STATUS_LABELS, "minZoom": TILED_MIN_ZOOM,
              "start": shapely.from_geojson(first["geometry"]).representative_point().coords[0] if first else None}
    return render(request, "tiled_map.html", user, run=run, config=config)


@router.get("/runs/{run_id}/tiles/{collection_id}/{z}/{x}/{y}")
def run_tile(request: Request, _user: WebReader, run_id: RowId, collection_id: str, z: int, x: int, y: int
             ) -> Response:
    """A vector tile of the run's parcels or of its dataset's zone layers (as the OGC tile route answers it).

    Not the ``Run`` dependency: that reads the whole run row (its firms and aggregates as JSON, megabytes at
    100k parcels) for each of the map's many tile requests; the tile's own lookup finds the run's dataset."""
    return tile_response(request, collection_id, z, x, y, dataset=None, run=run_id)


@router.get("/runs/{run_id}/download/{fmt}")
def run_download(request: Request, _user: WebReader, run: Run, fmt: str) -> Response:
    """A finished run's file (``api.services.runs``' export folder), named after the rule set and date.

    ``pdf`` is the A3 print map (the 打印地图 button), ``png`` the summary's static map (shown, not saved)."""
    run_id = run["id"]
    if run["status"] != "done":
        raise PageNotFound(f"评估 {run_id} 尚未完成 (evaluation not finished)")
    try:
        if fmt not in (*runs_service.DOWNLOADS, "json", *runs_service.MAP_IMAGES):
            raise KeyError(fmt)
        path = runs_of(request).file(run_id, fmt)
    except KeyError as exc:
        raise PageNotFound(f"不支持的下载格式 {fmt} (unknown format)") from exc
    media = runs_service.EXPORT_MEDIA_TYPES[fmt]
    if fmt == "png":
        return FileResponse(path, media_type=media)
    name = f"mujun_{run['ruleset']['id']}_{run['as_of']}_run{run_id}.{fmt}"
    return FileResponse(path, media_type=media, filename=name)


@router.get("/runs/{run_id}/notices.zip")
def run_notices(request: Request, _user: WebReader, run: Run, kind: str = "all") -> Response:
    """The Word notices of a finished run's flagged parcels, one .docx each, in a zip (``Runs.notices``)."""
    run_id = run["id"]
    if run["status"] != "done":
        raise PageNotFound(f"评估 {run_id} 尚未完成 (evaluation not finished)")
    try:
        path, _n = runs_of(request).notices(run_id, kind)
    except KeyError as exc:
        raise PageNotFound(f"不支持的告知书类型 {kind} (unknown notice kind)") from exc
    name = f"mujun_告知书_{run['ruleset']['id']}_{run['as_of']}_run{run_id}_{kind}.zip"
    return FileResponse(path, media_type="application/zip", filename=name)


@router.get("/runs/{run_id}/warnings.xlsx")
def run_warnings(request: Request, _user: WebReader, run: Run, within: int = 90) -> Response:
    """The 预警清单 of a finished run: deadlines within ``within`` days of its as-of date (``Runs.warnings_file``)."""
    run_id = run["id"]
    if run["status"] != "done":
        raise PageNotFound(f"评估 {run_id} 尚未完成 (evaluation not finished)")
    if not 0 <= within <= 3660:
        raise PageNotFound(f"预警天数 {within} 应在 0–3660 之间 (within must be 0–3660 days)")
    path = runs_of(request).warnings_file(run_id, within)
    name = f"mujun_预警清单_{run['as_of']}_{within}天_run{run_id}.xlsx"
    return FileResponse(path, media_type=runs_service.EXPORT_MEDIA_TYPES["xlsx"], filename=name)


@router.get("/runs/{run_id}/print", response_class=HTMLResponse)
def run_print(request: Request, user: WebReader, run: Run) -> HTMLResponse:
    """The summary on paper: indicators, problems per rule and district, the static map."""
    runs = runs_of(request)
    result = runs.result(run["id"])
    try:
        has_map = runs.file(run["id"], "png").is_file()
    except Exception:  # the summary prints without the picture
        has_map = False
    return render(request, "print.html", user, run=run, summary=run.get("summary") or {},
                  **overview(run, result, result_words(result)), has_map=has_map,
                  now=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))


def _too_large_to_inline(request: Request, run: dict[str, Any]) -> bool:
    """More parcels than a single-file map holds (``map_max_inline_parcels``): show the tiled map instead."""
    return int((run.get("summary") or {}).get("parcels") or 0) > request.app.state.settings.map_max_inline_parcels


def _options(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    return sorted(set(frame[column].dropna().astype(str)))


def _rule_columns(words: RuleWords, parcels: pd.DataFrame) -> dict[str, str]:
    """``{st_column: rule id}`` for the run's parcel-level rules present in the result, in rule-set order."""
    return {status_column(i): i for i in words.titles if status_column(i) in parcels.columns}


def _flagged_table(
    parcels: pd.DataFrame,
    rule_ids: dict[str, str],
    *,
    rule: str,
    status: str,
    district: str,
    park: str,
    sort: str,
    desc: bool,
    page: int,
    words: RuleWords,
    parks: dict[str, str],
) -> dict[str, Any]:
    """Filter, sort and page the parcels (flagged only unless a status is asked for)."""
    p = parcels.drop(columns=parcels.geometry.name)
    col = next((c for c, i in rule_ids.items() if i == rule), "")
    if col and col in p.columns:
        sel = p[col].isin([status] if status else list(FLAGGED))
    elif status:
        sel = p["status"] == status
    else:
        sel = p["status"].isin(FLAGGED)
    if district:
        sel &= p["district"].astype(str) == district
    if park:
        sel &= p["park_id"].astype(str) == park
    rows = p[sel]
    key = sort if sort in _SORTABLE else "parcel_id"
    if key == "status":
        order = {s: i for i, s in enumerate(STATUS_ORDER)}
        rows = rows.assign(_k=rows["status"].map(order)).sort_values("_k", ascending=not desc, kind="stable")
    else:
        rows = rows.sort_values(key, ascending=not desc, na_position="last", kind="stable")
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = rows.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    # problems only: data-quality notes are not problems of the parcel
    st_cols = [c for c, i in rule_ids.items() if not is_note(i)]
    flagged_rules = shown[st_cols].isin(FLAGGED) if st_cols else pd.DataFrame(index=shown.index)
    out = shown[["parcel_id", "area_mu", "far", "district", "park_id", "zone", "status"]].to_dict("records")
    names = np.array([rule_ids[c] for c in st_cols], dtype=object)
    for rec, mask in zip(out, flagged_rules.to_numpy(bool), strict=True):
        rec["flags"] = [{"rule": i, "title": words.title(i)} for i in (names[mask] if len(names) else [])]
        pid = rec["park_id"]
        rec["park"] = parks.get(str(pid), str(pid)) if pid is not None and pid == pid else ""
        rec["zone"] = ZONE_LAYER_LABELS.get(str(rec["zone"]), "") if rec["zone"] else ""
    return {"rows": out, "total": int(len(rows)), "page": page, "pages": pages}
