"""The planner's year (``/web/trend``): several statistics years side by side — parks' 亩均营收/税收 as small
multiples, districts, the firms that moved grade, each year's lists — through ``api.services.runs``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.services.runs import EXPORT_MEDIA_TYPES
from api.web.charts import line_svg
from api.web.pages._results import park_names
from api.web.pages._shared import PageNotFound, WebReader, page_router, render, runs_of
from rules.result import records
from rules.trend import LIST_LABELS, LIST_ORDER, TrendError

router = page_router()
SHOWN = 300  # grade moves listed on the page; the workbook has them all
_FIGURES = {"revenue": "亩均营收", "tax": "亩均税收"}


def yearly_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Finished runs that know their statistics year, newest first (``Runs.list`` order)."""
    return [r for r in runs if r["status"] == "done" and (r.get("summary") or {}).get("year") is not None]


def _default(candidates: list[dict[str, Any]]) -> list[int]:
    """The newest run of each year, all judged by one rule set: the one that covers the most years (of those, the
    one used most recently); oldest year first."""
    newest: dict[str, dict[int, int]] = {}
    for r in candidates:  # newest first: the first run seen of a rule set and year is its newest
        newest.setdefault(r["ruleset_sha256"], {}).setdefault(int(r["summary"]["year"]), r["id"])
    if not newest:
        return []
    best = max(newest.values(), key=len)  # max keeps the first of equals: the most recently used rule set
    return [best[y] for y in sorted(best)]


def _selected(raw: str, candidates: list[dict[str, Any]]) -> list[int]:
    if not raw:
        return _default(candidates)
    try:
        return [int(v) for v in raw.split(",") if v.strip()]
    except ValueError as exc:
        raise PageNotFound(f"评估编号“{raw}”无法识别，应为逗号分隔的数字 (run ids)") from exc


@router.get("/trend", response_class=HTMLResponse)
def trend_page(request: Request, user: WebReader, runs: str = "") -> HTMLResponse:
    """Pick one run per year (by default the newest of each year) and see them side by side."""
    service = runs_of(request)
    candidates = yearly_runs(service.list())
    chosen = _selected(runs, candidates)
    ctx: dict[str, Any] = {"candidates": candidates, "chosen": chosen, "trend": None, "error": None}
    if len(chosen) >= 2:
        try:
            t = service.trend(chosen)
        except TrendError as exc:
            ctx["error"] = exc.message
        else:
            ctx.update(_words(t, park_names(service.result(chosen[-1]).zones)), trend=t)
    return render(request, "trend.html", user, nav="trend", **ctx, runs_param=",".join(map(str, chosen)))


def _words(t: Any, parks: dict[str, str]) -> dict[str, Any]:
    """What the page shows: one small chart per park and figure, and the tables as rows."""
    charts = []
    for (park_id, figure), rows in t.parks.groupby(["park_id", "figure"], sort=True):
        by_year = dict(zip(rows["year"].astype(int), rows["value"].astype(float), strict=True))
        target = rows["target"].dropna()
        charts.append({
            "park": parks.get(str(park_id), str(park_id)), "figure": _FIGURES.get(figure, figure),
            "svg": line_svg(t.years, [by_year.get(y) for y in t.years],
                            target=float(target.iloc[-1]) if len(target) else None,
                            title=f"{_FIGURES.get(figure, figure)}（万元/亩）"),
        })
    moves = records(t.grade_moves.head(SHOWN))
    park_moves = records(t.park_moves)
    for row in park_moves:
        row["park"] = parks.get(str(row["park_id"]), str(row["park_id"]))
        row["figure_word"] = _FIGURES.get(row["figure"], row["figure"])
    return {"charts": charts, "moves": moves, "moves_total": len(t.grade_moves), "park_moves": park_moves,
            "districts": records(t.districts), "lists": records(t.lists), "list_labels": LIST_LABELS,
            "list_order": LIST_ORDER}


@router.get("/trend/download.xlsx")
def trend_download(request: Request, _user: WebReader, runs: str) -> Response:
    """The trend workbook of the chosen runs."""
    ids = _selected(runs, [])
    try:
        path = runs_of(request).trend_file(ids)
    except TrendError as exc:
        raise PageNotFound(exc.message) from exc
    return FileResponse(path, media_type=EXPORT_MEDIA_TYPES["xlsx"], filename="mujun_年度趋势.xlsx")
