"""One parcel of a run (``/web/runs/{id}/parcels/{parcel_id}``): its attributes, every verdict, its occupants."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.store.evaluations import occupancy_table, query_verdicts
from api.store.features import parcel_feature
from api.store.repository import reading
from api.web.charts import timeline_svg
from api.web.pages._results import park_names, result_words, rule_words, verdict_rows
from api.web.pages._shared import PageNotFound, Run, WebReader, engine_of, fmt, page_router, render, runs_of
from gis.vocabulary import (
    DELAY_CAUSE_LABELS,
    SITE_STATUS_LABELS,
    ZONE_LAYER_LABELS,
    column_label,
    display_value,
    industry_label,
    land_use_label,
)
from rules.result import records
from rules.vocabulary import STATUS_LABELS

router = page_router()
# Columns shown with a fixed number of decimals (the rest through display_value).
_DECIMALS = {"area_m2": 2, "area_mu": 2, "far": 2}


@router.get("/runs/{run_id}/parcels/{parcel_id}", response_class=HTMLResponse)
def parcel_page(request: Request, user: WebReader, run: Run, parcel_id: str) -> HTMLResponse:
    """The parcel's page."""
    result = runs_of(request).result(run["id"])
    row = result.parcels[result.parcels["parcel_id"] == parcel_id]
    if row.empty:
        raise PageNotFound(f"评估 {run['id']} 中没有宗地 {parcel_id} (parcel not in this evaluation)")
    verdicts = result.verdicts[
        (result.verdicts["subject_id"].astype(str) == parcel_id)
        & (result.verdicts.get("level", "parcel") == "parcel")
    ]
    return render(
        request,
        "parcel.html",
        user,
        nav="runs",
        run=run,
        parcel_id=parcel_id,
        attrs=_attributes(request, run, parcel_id, row, park_names(result.zones)),
        verdicts=verdict_rows(records(verdicts), result_words(result)),
        occupants=_occupants(request, run["dataset_id"], parcel_id, result.enterprises),
        geojson=json.loads(row.to_crs(4326)[["parcel_id", "status", "geometry"]].to_json()),
        status=str(row["status"].iloc[0]),
        **_timeline(request, run, parcel_id),
    )


@router.get("/runs/{run_id}/parcels/{parcel_id}/download/txt")
def parcel_survey_txt(request: Request, _user: WebReader, run: Run, parcel_id: str) -> Response:
    """The parcel as a 界址点坐标 file (部备案 format), to send a proposal back to the ministry's system."""
    from api.services.runs import EXPORT_MEDIA_TYPES

    try:
        data = runs_of(request).parcel_survey_txt(run["id"], parcel_id)
    except KeyError as exc:
        raise PageNotFound(f"评估 {run['id']} 中没有宗地 {parcel_id} (parcel not in this evaluation)") from exc
    name = quote(f"宗地_{parcel_id}_界址点.txt")
    return Response(data, media_type=EXPORT_MEDIA_TYPES["txt"],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


def _timeline(request: Request, run: dict[str, Any], parcel_id: str) -> dict[str, Any]:
    """The parcel's timeline (``api.services.runs.Runs.parcel_timeline``): its events and the SVG drawing."""
    tl = runs_of(request).parcel_timeline(int(run["id"]), parcel_id)
    as_of = tl["as_of"].isoformat()
    svg = timeline_svg(tl["events"], as_of=as_of, title=f"宗地时间线（评估基准日 {as_of}）") if tl["events"] else ""
    return {"timeline": tl["events"], "timeline_svg": svg}


@router.get("/runs/{run_id}/parcels/{parcel_id}/verdicts.json")
def parcel_verdicts(request: Request, _user: WebReader, run: Run, parcel_id: str) -> JSONResponse:
    """The parcel's verdicts in the run, in words (for the tiled map's popup): read from the store by the query
    ``GET /evaluations/{id}/verdicts?level=parcel&subject=…`` answers, without rebuilding the run's result."""
    rows, total = reading(engine_of(request), query_verdicts, int(run["id"]), level="parcel", subject=parcel_id,
                          limit=1000)
    if not total:
        raise PageNotFound(f"评估 {run['id']} 中没有宗地 {parcel_id} (parcel not in this evaluation)")
    words = rule_words(runs_of(request).ruleset_of_run(run))
    return JSONResponse({"parcel_id": parcel_id, "run": run["id"], **verdict_rows(rows, words)})


def attribute_text(column: str, value: Any, parks: dict[str, str] | None = None) -> str:
    """One parcel attribute in words: land-use and industry names, zone layers, park names, 是/否, dates."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if column in ("land_use", "planned_use"):
        return land_use_label(value) or "—"
    if column == "industry_code":
        return industry_label(value) or "—"
    if column == "zone":
        return ZONE_LAYER_LABELS.get(str(value), str(value))
    if column == "park_id":
        return (parks or {}).get(str(value), str(value))
    if column == "site_status":
        return SITE_STATUS_LABELS.get(str(value), str(value))
    if column == "delay_cause":
        return DELAY_CAUSE_LABELS.get(str(value), str(value))
    if column == "status":
        return STATUS_LABELS.get(str(value), str(value))
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return value[:10] if value[10:19] == "T00:00:00" else value[:16].replace("T", " ")
    if column in _DECIMALS and isinstance(value, int | float | np.integer | np.floating):
        return fmt(float(value), _DECIMALS[column])
    text = display_value(value)
    return text if text != "" else "—"


def _attributes(
    request: Request, run: dict[str, Any], parcel_id: str, row: pd.DataFrame, parks: dict[str, str]
) -> list[dict[str, Any]]:
    """The parcel's input attributes (the parcels collection's item, as the OGC API gives it) followed by the
    evaluation's derived ones.

    Each row is ``{"label", "value", "raw"}``; ``raw`` marks the user's own extra columns (their header
    is shown as it was in the file).
    """
    try:
        feature = reading(engine_of(request), parcel_feature, int(run["dataset_id"]), parcel_id, int(run["id"]))
        props = dict(feature["properties"]) if feature else {}
    except Exception:  # the derived attributes below are still worth showing
        props = {}
    derived = row.drop(columns=row.geometry.name).iloc[0].to_dict()
    merged = {
        **{k: v for k, v in props.items() if not k.startswith("st_") and k not in ("run_id", "dataset_id")},
        **{k: v for k, v in derived.items() if not k.startswith("st_")},
    }
    rows = []
    for key, value in merged.items():
        label = "总体结论" if key == "status" else "园区" if key == "park_id" else column_label(key)
        rows.append({"label": label, "value": attribute_text(key, value, parks), "raw": label == key})
    return sorted(rows, key=lambda r: r["raw"])


def _occupants(request: Request, dataset_id: int, parcel_id: str, enterprises: pd.DataFrame) -> list[dict[str, Any]]:
    """The firms on the parcel (occupancy rows joined to the run's firm table)."""
    occ = reading(engine_of(request), occupancy_table, dataset_id, parcel_id)
    if occ.empty or enterprises.empty:
        return occ.to_dict("records")
    ent = enterprises.assign(enterprise_id=enterprises["enterprise_id"].astype(str))
    return (
        occ.assign(enterprise_id=occ["enterprise_id"].astype(str))
        .merge(ent, on="enterprise_id", how="left")
        .to_dict("records")
    )
