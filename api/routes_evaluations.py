"""Evaluations: ``POST /evaluations`` (run in a background worker, with status and progress),
``GET /evaluations[/{id}]``, verdicts filtered by rule/status/district/park, exports and the compliance map."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import Field

from api.deps import MAX_ID, Analyst, Conn, Reader, RowId
from api.errors import ApiError, error_responses
from api.schemas import (
    Comparison,
    In,
    IsoDate,
    ParcelTimeline,
    RunDetail,
    RunList,
    TrendOut,
    VerdictPage,
    WarningList,
    dump,
)
from api.services import runs as runs_service
from api.store import evaluations as ev
from rules.notices import KIND_CHOICES

router = APIRouter(tags=["评估 evaluations"])

NoticeKind = Literal[KIND_CHOICES]  # type: ignore[valid-type]
EXPORT_FORMATS = {fmt: runs_service.EXPORT_MEDIA_TYPES[fmt] for fmt in ("json", "geojson", "gpkg", "csv", "xlsx")}


class EvaluationRequest(In):
    """What to evaluate: a stored dataset, a rule set (id, ``id@version`` or sha256) and the as-of date."""

    dataset: int = Field(ge=1, le=MAX_ID, description="数据集编号 (dataset id)")
    ruleset: str = Field(default="chengdu-2023", description="规则集 (rule set id, id@version or sha256)")
    as_of: IsoDate | None = Field(default=None, description="评估基准日，默认今天 (as-of date; default today)")
    wait: bool = Field(default=False, description="同步等待完成 (run synchronously and return the finished run)")


def setup(app: FastAPI) -> None:
    """Give the app its evaluation runs service (worker pool, result cache, export folder; shut down with it)."""
    app.state.runs = runs_service.Runs(app.state.engine, app.state.settings, app.state.settings.evaluate_workers)
    app.router.on_shutdown.append(app.state.runs.shutdown)


@router.post("/evaluations", status_code=202, summary="发起评估 (start an evaluation)", response_model=RunDetail,
             responses={202: {"description": "已排队：轮询 Location 所指的评估 (queued; poll GET /evaluations/{id})"},
                        201: {"model": RunDetail, "description": "wait=true：评估已完成或失败 (finished or failed)"},
                        **error_responses(400, 401, 403, 404, 413)})
def create_evaluation(body: EvaluationRequest, request: Request, user: Analyst) -> JSONResponse:
    """Queue a run (202, poll ``GET /evaluations/{id}``) or, with ``wait``, run it now (201)."""
    runs: runs_service.Runs = request.app.state.runs
    run_id = runs.start(body.dataset, body.ruleset, body.as_of or dt.date.today(), user.name, wait=body.wait)
    run = runs.get(run_id)
    run["links"] = _run_links(request, run_id)
    status = 201 if body.wait else 202
    headers = {"Location": str(request.url_for("get_evaluation", run_id=run_id))}
    return JSONResponse(dump(RunDetail, run), status_code=status, headers=headers)


def _run_links(request: Request, run_id: int) -> dict[str, str]:
    base = str(request.base_url).rstrip("/") + f"/evaluations/{run_id}"
    links = {"self": base, "verdicts": base + "/verdicts", "map": base + "/map",
             "parcels": str(request.base_url).rstrip("/") + f"/collections/parcels/items?run={run_id}"}
    links.update({f"export_{fmt}": f"{base}/export.{fmt}" for fmt in EXPORT_FORMATS})
    return links


@router.get("/evaluations", summary="评估列表 (runs)", response_model=RunList,
            responses=error_responses(400, 401))
def list_evaluations(conn: Conn, _user: Reader,
                     dataset: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> dict[str, Any]:
    """Runs, newest first (optionally of one dataset)."""
    return {"evaluations": ev.list_runs(conn, dataset)}


@router.get("/evaluations/{run_id}", summary="评估概要 (run summary)", response_model=RunDetail,
            responses=error_responses(400, 401, 404))
def get_evaluation(run_id: RowId, request: Request, conn: Conn, _user: Reader) -> dict[str, Any]:
    """Status (queued/running/done/failed), progress 0–1, summary, rule set and links."""
    run = ev.get_run(conn, run_id)
    run["links"] = _run_links(request, run_id)
    return run


def _values(raw: str | None) -> list[str] | None:
    vals = [v.strip() for v in (raw or "").split(",") if v.strip()]
    return vals or None


@router.get("/evaluations/{run_id}/verdicts", summary="评估结论 (verdicts)", response_model=VerdictPage,
            responses=error_responses(400, 401, 404))
def get_verdicts(
    run_id: RowId, conn: Conn, _user: Reader,
    rule: Annotated[str | None, Query(description="规则编号，逗号分隔")] = None,
    status: Annotated[str | None, Query(description="状态，逗号分隔：fail,warn,…")] = None,
    district: Annotated[str | None, Query(description="区(市)县")] = None,
    park_id: Annotated[str | None, Query(description="园区编号")] = None,
    level: Annotated[str | None, Query(pattern="^(parcel|enterprise)$")] = None,
    subject: Annotated[str | None, Query(description="宗地或企业编号")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    """A page of verdicts filtered by rule, status, district, park, level and subject."""
    ev.get_run(conn, run_id)
    rows, total = ev.query_verdicts(conn, run_id, rule=_values(rule), status=_values(status),
                                    district=_values(district), park_id=_values(park_id), level=level,
                                    subject=subject, limit=limit, offset=offset)
    return {"run": run_id, "numberMatched": total, "numberReturned": len(rows), "offset": offset,
            "verdicts": rows}


_FILE = {"schema": {"type": "string", "format": "binary"}}
_EXPORT_CONTENT = {EXPORT_FORMATS[fmt].split(";")[0]: {"schema": {"type": "object"}} if fmt in ("json", "geojson")
                   else _FILE for fmt in EXPORT_FORMATS}


@router.get("/evaluations/{run_id}/export.{fmt}", summary="导出评估结果 (export: json/geojson/gpkg/csv/xlsx)",
            response_class=FileResponse,
            responses={200: {"description": "评估结果文件，媒体类型随格式 (the file, its media type by format)",
                             "content": _EXPORT_CONTENT},
                       **error_responses(400, 401, 404, 409)})
def export_run(run_id: RowId, fmt: Annotated[str, Path(description="导出格式 (export format)",
                                                      json_schema_extra={"enum": list(EXPORT_FORMATS)})],
               request: Request, _user: Reader) -> FileResponse:
    """The run's result as a file: JSON, GeoJSON, GeoPackage, CSV (UTF-8 BOM) or XLSX (Chinese headers)."""
    if fmt not in EXPORT_FORMATS:
        raise ApiError(400, "unsupported_format", f"不支持的导出格式 '{fmt}' (unsupported export format)",
                       [{"parameter": "fmt", "allowed": list(EXPORT_FORMATS)}])
    path = request.app.state.runs.file(run_id, fmt)
    return FileResponse(path, media_type=EXPORT_FORMATS[fmt], filename=f"mujun-run-{run_id}.{fmt}")


@router.get("/evaluations/{run_id}/map", summary="合规地图 (compliance map, HTML)", response_class=FileResponse,
            responses={200: {"description": "离线可用的单页 HTML 地图 (one self-contained HTML page)",
                             "content": {"text/html": {"schema": {"type": "string"}}}},
                       **error_responses(400, 401, 404, 409)})
def run_map(run_id: RowId, request: Request, _user: Reader) -> FileResponse:
    """The run's compliance map as one self-contained HTML page (works offline)."""
    return FileResponse(request.app.state.runs.file(run_id, "html"), media_type="text/html; charset=utf-8")


@router.get("/evaluations/{run_id}/compare/{other_id}", summary="两次评估对比 (policy sandbox: compare two runs)",
            response_model=Comparison, responses=error_responses(400, 401, 404, 409, 422))
def compare_runs(run_id: RowId, other_id: RowId, request: Request, _user: Reader) -> dict[str, Any]:
    """What changes from run ``run_id`` (A) to ``other_id`` (B) of the same dataset: parcels whose overall status
    changed, every changed rule verdict, firms whose grade moved, and counts by rule, district and park."""
    out = request.app.state.runs.compare(run_id, other_id).to_dict()
    base = str(request.base_url).rstrip("/") + f"/evaluations/{run_id}/compare/{other_id}"
    out["links"] = {f"export_{fmt}": f"{base}/export.{fmt}" for fmt in runs_service.COMPARISON_FORMATS}
    return out


@router.get("/evaluations/{run_id}/compare/{other_id}/export.{fmt}",
            summary="对比结果导出 (comparison as XLSX, or a map of the changed parcels as HTML)",
            response_class=FileResponse,
            responses={200: {"description": "对比报表或变化宗地地图 (the workbook or the map)",
                             "content": {t.split(";")[0]: _FILE for t in runs_service.COMPARISON_FORMATS.values()}},
                       **error_responses(400, 401, 404, 409, 422)})
def export_comparison(run_id: RowId, other_id: RowId,
                      fmt: Annotated[str, Path(description="导出格式",
                                               json_schema_extra={"enum": list(runs_service.COMPARISON_FORMATS)})],
                      request: Request, _user: Reader) -> FileResponse:
    """The comparison of two runs as a print-ready XLSX, or the changed parcels on an offline HTML map."""
    if fmt not in runs_service.COMPARISON_FORMATS:
        raise ApiError(400, "unsupported_format", f"不支持的导出格式 '{fmt}' (unsupported export format)",
                       [{"parameter": "fmt", "allowed": list(runs_service.COMPARISON_FORMATS)}])
    path = request.app.state.runs.comparison_file(run_id, other_id, fmt)
    return FileResponse(path, media_type=runs_service.COMPARISON_FORMATS[fmt],
                        filename=f"mujun-compare-{run_id}-{other_id}.{fmt}")


def _run_ids(raw: str) -> list[int]:
    try:
        ids = [int(v) for v in raw.split(",") if v.strip()]
    except ValueError:
        ids = []
    if len(ids) < 2 or any(not 1 <= i <= MAX_ID for i in ids):
        raise ApiError(400, "invalid_parameter",
                       f"runs 应为逗号分隔的两个以上评估编号，如 runs=3,5,8；收到 '{raw}' (runs: two or more run ids)",
                       [{"parameter": "runs"}])
    return ids


RunIds = Annotated[str, Query(description="各统计年度的评估编号，逗号分隔，如 3,5,8 (one finished run per year)",
                              pattern=r"^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8}){1,49}$")]


@router.get("/trends", summary="年度趋势 (trend across statistics years)", response_model=TrendOut,
            responses=error_responses(400, 401, 404, 409, 422))
def get_trend(runs: RunIds, request: Request, _user: Reader) -> dict[str, Any]:
    """Per firm, park and district: 亩均营收/亩均税收 and grade by year, the change against the year before, the
    firms that moved grade, the parks that reached or left the target, and each year's list counts."""
    ids = _run_ids(runs)
    out = request.app.state.runs.trend(ids).to_dict()
    out["links"] = {"export_xlsx": str(request.base_url).rstrip("/") + "/trends/export.xlsx?runs=" + runs}
    return out


@router.get("/trends/export.xlsx", summary="年度趋势报表 (trend workbook)", response_class=FileResponse,
            responses={200: {"description": "趋势报表 (the workbook)",
                             "content": {EXPORT_FORMATS["xlsx"]: _FILE}},
                       **error_responses(400, 401, 404, 409, 422)})
def export_trend(runs: RunIds, request: Request, _user: Reader) -> FileResponse:
    """The trend as a print-ready XLSX (年度名单统计, 等级变动企业, 园区趋势, 园区达标变化, 区县趋势, 企业趋势)."""
    path = request.app.state.runs.trend_file(_run_ids(runs))
    return FileResponse(path, media_type=EXPORT_FORMATS["xlsx"], filename="mujun-trend.xlsx")


@router.get("/evaluations/{run_id}/lists.xlsx", summary="年度名单 (the year's published lists)",
            response_class=FileResponse,
            responses={200: {"description": "A/B/C/D 类、T 类（不参评原因）和租赁厂房企业名单",
                             "content": {EXPORT_FORMATS["xlsx"]: _FILE}},
                       **error_responses(400, 401, 404, 409)})
def export_lists(run_id: RowId, request: Request, _user: Reader) -> FileResponse:
    """Every firm of the run's enterprise table in exactly one list: A, B, C, D, T 类 (with the reason) or
    租赁厂房企业 (tenants without land of their own, judged by the floor area they occupy)."""
    path = request.app.state.runs.lists_file(run_id)
    return FileResponse(path, media_type=EXPORT_FORMATS["xlsx"], filename=f"mujun-lists-run{run_id}.xlsx")


@router.get("/evaluations/{run_id}/parcels/{parcel_id}/timeline", summary="宗地时间线 (a parcel's timeline)",
            response_model=ParcelTimeline, responses=error_responses(400, 401, 404, 409))
def parcel_timeline(run_id: RowId, parcel_id: Annotated[str, Path(max_length=200, description="宗地编号")],
                    request: Request, _user: Reader) -> dict[str, Any]:
    """The parcel's dated events: 供地, 约定/实际动工, 中止开发, Order 53's early warning, 满一年 and 满两年, 达产/到期
    and the run's as-of date, each marked past / today / upcoming."""
    return request.app.state.runs.parcel_timeline(run_id, parcel_id)


@router.get("/evaluations/{run_id}/warnings", summary="预警清单 (deadlines within N days)", response_model=WarningList,
            responses=error_responses(400, 401, 404, 409))
def evaluation_warnings(
    run_id: RowId, request: Request, _user: Reader,
    within: Annotated[int, Query(ge=0, le=3660, description="预警天数 (days after the as-of date)")] = 90,
) -> dict[str, Any]:
    """The deadlines (约定动工, Order 53's 闲置预警 / 满一年 / 满两年, 达产/到期) from the run's as-of date to
    ``within`` days later, soonest first, each with the parcel's district, park, area, status and firms."""
    return request.app.state.runs.warnings(run_id, within)


_ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}


@router.get("/evaluations/{run_id}/notices.zip", summary="告知书 (Word notices of the flagged parcels, zip)",
            response_class=FileResponse,
            responses={200: {"description": "每宗问题宗地一份 .docx (one notice per flagged parcel)", "content": _ZIP},
                       **error_responses(400, 401, 404, 409)})
def evaluation_notices(
    run_id: RowId, request: Request, _user: Reader,
    kind: Annotated[NoticeKind, Query(description="告知书类型 (notice kind)")] = "all",
) -> FileResponse:
    """闲置土地调查通知书 (idle-risk and idle land), 低效用地整改告知书 (low efficiency) and 标准地达产复核意见
    (标准地 below their commitments), filled from the editable templates, in one zip."""
    path, _n = request.app.state.runs.notices(run_id, kind)
    return FileResponse(path, media_type="application/zip", filename=f"mujun-run-{run_id}-notices-{kind}.zip")
