"""Evaluations: ``POST /evaluations`` (run in a background worker, with status and progress),
``GET /evaluations[/{id}]``, verdicts filtered by rule/status/district/park, exports and the compliance map."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from api.deps import MAX_ID, Analyst, Conn, Reader, RowId
from api.errors import ApiError
from api.store import evaluations as ev

router = APIRouter(tags=["评估 evaluations"])

EXPORT_FORMATS = {"json": "application/json", "geojson": "application/geo+json",
                  "gpkg": "application/geopackage+sqlite3", "csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class EvaluationRequest(BaseModel):
    """What to evaluate: a stored dataset, a rule set (id, ``id@version`` or sha256) and the as-of date."""

    dataset: int = Field(ge=1, le=MAX_ID, description="数据集编号 (dataset id)")
    ruleset: str = Field(default="chengdu-2023", description="规则集 (rule set id, id@version or sha256)")
    as_of: dt.date | None = Field(default=None, description="评估基准日，默认今天 (as-of date; default today)")
    wait: bool = Field(default=False, description="同步等待完成 (run synchronously and return the finished run)")


def setup(app: FastAPI) -> None:
    """Give the app its evaluation worker pool (shut down with the app)."""
    app.state.evaluation_pool = ThreadPoolExecutor(max_workers=max(1, app.state.settings.evaluate_workers),
                                                   thread_name_prefix="mujun-eval")
    app.state.export_lock = threading.RLock()
    app.state.result_cache = OrderedDict()
    app.router.on_shutdown.append(lambda: app.state.evaluation_pool.shutdown(wait=False, cancel_futures=True))


@router.post("/evaluations", status_code=202, summary="发起评估 (start an evaluation)")
def create_evaluation(body: EvaluationRequest, request: Request, user: Analyst) -> JSONResponse:
    """Queue a run (202, poll ``GET /evaluations/{id}``) or, with ``wait``, run it now (201)."""
    engine = request.app.state.engine
    with engine.begin() as conn:
        run_id = ev.create_run(conn, body.dataset, body.ruleset, body.as_of or dt.date.today(), actor=user.name)
    if body.wait:
        ev.execute_run(engine, run_id)
    else:
        request.app.state.evaluation_pool.submit(ev.execute_run, engine, run_id)
    with engine.connect() as conn:
        run = ev.get_run(conn, run_id)
    run["links"] = _run_links(request, run_id)
    from fastapi.encoders import jsonable_encoder

    status = 201 if body.wait else 202
    headers = {"Location": str(request.url_for("get_evaluation", run_id=run_id))}
    return JSONResponse(jsonable_encoder(run), status_code=status, headers=headers)


def _run_links(request: Request, run_id: int) -> dict[str, str]:
    base = str(request.base_url).rstrip("/") + f"/evaluations/{run_id}"
    links = {"self": base, "verdicts": base + "/verdicts", "map": base + "/map",
             "parcels": str(request.base_url).rstrip("/") + f"/collections/parcels/items?run={run_id}"}
    links.update({f"export_{fmt}": f"{base}/export.{fmt}" for fmt in EXPORT_FORMATS})
    return links


@router.get("/evaluations", summary="评估列表 (runs)")
def list_evaluations(conn: Conn, _user: Reader,
                     dataset: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> dict[str, Any]:
    """Runs, newest first (optionally of one dataset)."""
    return {"evaluations": ev.list_runs(conn, dataset)}


@router.get("/evaluations/{run_id}", summary="评估概要 (run summary)")
def get_evaluation(run_id: RowId, request: Request, conn: Conn, _user: Reader) -> dict[str, Any]:
    """Status (queued/running/done/failed), progress 0–1, summary, rule set and links."""
    run = ev.get_run(conn, run_id)
    run["links"] = _run_links(request, run_id)
    return run


def _values(raw: str | None) -> list[str] | None:
    vals = [v.strip() for v in (raw or "").split(",") if v.strip()]
    return vals or None


@router.get("/evaluations/{run_id}/verdicts", summary="评估结论 (verdicts)")
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


def _cached_file(request: Request, run_id: RowId, suffix: str, build: Any) -> Path:
    """A run's export in ``<data_dir>/exports`` (runs are immutable once done, so a file stays valid)."""
    settings = request.app.state.settings
    folder = Path(settings.data_dir) / "exports" / _store_key(request)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mujun-run-{run_id}{suffix}"
    if path.exists():
        return path
    with request.app.state.export_lock:
        if not path.exists():
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                tmp_path = Path(tmp) / path.name
                build(tmp_path)
                os.replace(tmp_path, path)
    return path


def _store_key(request: Request) -> str:
    import hashlib

    url = request.app.state.settings.resolved_database_url
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def _done_result(request: Request, run_id: int) -> Any:
    """The rebuilt result of a finished run; the last few are kept in memory (exports come in bursts)."""
    cache: OrderedDict[int, Any] = request.app.state.result_cache
    with request.app.state.export_lock:
        if run_id in cache:
            cache.move_to_end(run_id)
            return cache[run_id]
    with request.app.state.engine.connect() as conn:
        result = ev.result_from_store(conn, run_id)
    with request.app.state.export_lock:
        cache[run_id] = result
        while len(cache) > 2:
            cache.popitem(last=False)
    return result


@router.get("/evaluations/{run_id}/export.{fmt}", summary="导出评估结果 (export: json/geojson/gpkg/csv/xlsx)")
def export_run(run_id: RowId, fmt: str, request: Request, _user: Reader) -> FileResponse:
    """The run's result as a file: JSON, GeoJSON, GeoPackage, CSV (UTF-8 BOM) or XLSX (Chinese headers)."""
    if fmt not in EXPORT_FORMATS:
        raise ApiError(400, "unsupported_format", f"不支持的导出格式 '{fmt}' (unsupported export format)",
                       [{"parameter": "fmt", "allowed": list(EXPORT_FORMATS)}])
    from rules.export import write_result

    with request.app.state.engine.connect() as conn:
        ev.get_run(conn, run_id)
    path = _cached_file(request, run_id, f".{fmt}", lambda p: write_result(_done_result(request, run_id), p))
    return FileResponse(path, media_type=EXPORT_FORMATS[fmt], filename=path.name)


@router.get("/evaluations/{run_id}/map", summary="合规地图 (compliance map, HTML)")
def run_map(run_id: RowId, request: Request, _user: Reader) -> FileResponse:
    """The run's compliance map as one self-contained HTML page (works offline)."""
    from api.cli_maps import map_args, stored_ruleset
    from gis.maps import save_compliance_map

    def build(path: Path) -> None:
        result = _done_result(request, run_id)
        save_compliance_map(path, **map_args(result, stored_ruleset(request.app.state.engine, result.ruleset)),
                            inline=True,
                            title=f"合规评估地图 — 评估 {run_id}（{result.ruleset.get('id')}，{result.as_of}）")

    with request.app.state.engine.connect() as conn:
        ev.get_run(conn, run_id)
    path = _cached_file(request, run_id, ".html", build)
    return FileResponse(path, media_type="text/html; charset=utf-8")
