"""亩产论英雄 (``/web/mujun``, ``/web/runs/{id}/mujun``): a run's firms ranked by score, filtered, with charts."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.services.runs import EXPORT_MEDIA_TYPES
from api.store.evaluations import occupancy_table
from api.store.repository import reading
from api.web.charts import GRADE_COLORS, bar_svg, histogram_svg
from api.web.pages._results import park_names
from api.web.pages._shared import (
    PAGE_SIZE,
    PREFIX,
    Run,
    WebReader,
    engine_of,
    error_page,
    latest_done,
    page_router,
    render,
    runs_of,
)
from gis.vocabulary import industry_label, industry_name

router = page_router()


@router.get("/mujun")
def mujun_latest(request: Request, user: WebReader) -> Response:
    """The ranking of the newest finished run."""
    latest = latest_done(runs_of(request).list())
    if latest is None:
        return error_page(request, user, 404, "还没有完成的评估；请先运行一次评估 (no finished evaluation yet)")
    return RedirectResponse(f"{PREFIX}/runs/{latest['id']}/mujun", status_code=303)


@router.get("/mujun/year")
def mujun_year(request: Request, _user: WebReader, run: int) -> Response:
    """The year selector's target: the ranking of the chosen year's run."""
    return RedirectResponse(f"{PREFIX}/runs/{int(run)}/mujun", status_code=303)


@router.get("/runs/{run_id}/lists.xlsx")
def lists_download(request: Request, _user: WebReader, run: Run) -> Response:
    """The run's published lists: A/B/C/D, T 类 with the reason, 租赁厂房企业."""
    path = runs_of(request).lists_file(run["id"])
    year = (run.get("summary") or {}).get("year") or ""
    name = f"mujun_{year}年度名单_run{run['id']}.xlsx"
    return FileResponse(path, media_type=EXPORT_MEDIA_TYPES["xlsx"], filename=name)


def _years(request: Request, run: dict[str, Any]) -> list[tuple[int, int]]:
    """(run id, year) of the newest finished run of each statistics year, the shown run's year by the shown run."""
    from api.web.pages.trend import yearly_runs

    newest: dict[int, int] = {}
    for r in yearly_runs(runs_of(request).list()):
        newest.setdefault(int(r["summary"]["year"]), r["id"])
    year = (run.get("summary") or {}).get("year")
    if year is not None:
        newest[int(year)] = run["id"]
    return sorted(((rid, y) for y, rid in newest.items()), key=lambda p: p[1], reverse=True)


@router.get("/runs/{run_id}/mujun", response_class=HTMLResponse)
def mujun_page(request: Request, user: WebReader, run: Run, park: str = "", industry: str = "", grade: str = "",
               page: int = 1) -> HTMLResponse:
    """The firms of a run by score (filtered by park, GB/T 4754 division and grade) with their distributions."""
    runs = runs_of(request)
    result = runs.result(run["id"])
    if result.enterprises.empty:
        return render(request, "mujun.html", user, nav="mujun", run=run, rows=[], total=0, charts={}, parks=[],
                      industries=[], params={}, pages=1, page=1, query=lambda **kw: "", grades={}, years=[],
                      year=None)
    ent = _with_parks(result.enterprises, result.parcels,
                      reading(engine_of(request), occupancy_table, run["dataset_id"]))
    names = park_names(result.zones)
    parks = [(pid, names.get(pid, pid)) for pid in sorted(set(ent["park"].dropna().astype(str)))]
    # industry filter at the GB/T 4754 division (大类: C39), named
    industries = [(i, industry_name(i)) for i in sorted(set(ent["industry_code"].dropna().astype(str).str[:3]))]
    sel = pd.Series(True, index=ent.index)
    if park:
        sel &= ent["park"].astype(str) == park
    if industry:
        sel &= ent["industry_code"].astype(str).str.startswith(industry)
    if grade:
        sel &= ent["grade"].astype(str) == grade
    shown = ent[sel].sort_values("score", ascending=False, na_position="last")
    shown = shown.assign(rank=np.arange(1, len(shown) + 1))
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = shown.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].to_dict("records")
    for e in rows:
        e["industry"] = industry_label(e.get("industry_code")) or "—"
        pid = e.get("park")
        e["park_name"] = names.get(str(pid), str(pid)) if isinstance(pid, str) and pid else "—"
    in_scope = shown[
        shown["above_scale"].astype("boolean").fillna(False) & shown["in_park"].astype("boolean").fillna(False)
    ]
    params = {"park": park, "industry": industry, "grade": grade}
    base_q = {k: v for k, v in params.items() if v}
    return render(
        request,
        "mujun.html",
        user,
        nav="mujun",
        run=run,
        rows=rows,
        total=len(shown),
        charts=_charts(shown, in_scope, _targets(runs.ruleset(result))),
        parks=parks,
        industries=industries,
        params=params,
        pages=pages,
        page=page,
        query=lambda **kw: "?" + urlencode({**base_q, **kw}),
        in_scope=len(in_scope),
        years=_years(request, run),
        year=(run.get("summary") or {}).get("year"),
    )


def _charts(shown: pd.DataFrame, in_scope: pd.DataFrame, targets: dict[str, float]) -> dict[str, str]:
    """Per-mu revenue and tax of the in-park firms above scale against the targets; firms per grade."""
    return {
        "revenue": histogram_svg(
            in_scope["revenue_per_mu_10k"].to_numpy(float),
            target=targets["revenue"],
            baseline=targets.get("revenue_2020"),
            title="园内规上企业亩均营收分布",
        ),
        "tax": histogram_svg(
            in_scope["tax_per_mu_10k"].to_numpy(float),
            target=targets["tax"],
            baseline=targets.get("tax_2020"),
            title="园内规上企业亩均税收分布",
        ),
        "grades": bar_svg(
            [(g, int((shown["grade"].astype(str) == g).sum())) for g in "ABCD"],
            title="评价等级（家）",
            colors=GRADE_COLORS,
        ),
    }


def _targets(ruleset: Any) -> dict[str, float]:
    """The rule set's per-mu revenue and tax targets (万元/亩) and their 2020 baselines."""
    out = {"revenue": 650.0, "tax": 30.0}
    try:
        params = ruleset.rule("per_mu.revenue").params
        out["revenue"] = float(params.get("min", params.get("target", out["revenue"])))
        params = ruleset.rule("per_mu.tax").params
        out["tax"] = float(params.get("min", params.get("target", out["tax"])))
    except Exception:  # keep the policy's 2025 targets
        pass
    out["revenue_2020"] = round(out["revenue"] / 1.6, 2)
    out["tax_2020"] = round(out["tax"] / 1.5, 2)
    return out


def _with_parks(ent: pd.DataFrame, parcels: pd.DataFrame, occ: pd.DataFrame) -> pd.DataFrame:
    """Add each enterprise's park: the park of the parcel holding most of its floor area."""
    ent = ent.assign(enterprise_id=ent["enterprise_id"].astype(str))
    if occ.empty:
        return ent.assign(park=None)
    occ = occ.assign(enterprise_id=occ["enterprise_id"].astype(str), parcel_id=occ["parcel_id"].astype(str))
    parks = parcels[["parcel_id", "park_id"]].assign(parcel_id=parcels["parcel_id"].astype(str))
    joined = occ.merge(parks, on="parcel_id", how="left").dropna(subset=["park_id"])
    if joined.empty:
        return ent.assign(park=None)
    joined = joined.assign(fa=joined["floor_area_m2"].fillna(0.0))
    best = joined.sort_values("fa", ascending=False).drop_duplicates("enterprise_id").set_index("enterprise_id")
    return ent.assign(park=ent["enterprise_id"].map(best["park_id"]))
