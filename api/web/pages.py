"""The planners' pages (``/web/…``): dashboard, import, evaluate, results, parcels, 亩产论英雄, rule sets."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from api.services import datasets
from api.services import runs as runs_service
from api.settings import Settings
from api.store.errors import NotFound
from api.web.charts import GRADE_COLORS, bar_svg, histogram_svg
from api.web.session import (
    SESSION_ENDED,
    Forbidden,
    NeedsSignIn,
    WebUser,
    clear_cookie,
    current_user,
    require_user,
    session_ended,
    set_cookie,
    sign_in,
    sign_out,
)
from gis.vocabulary import (
    DELAY_CAUSE_LABELS,
    SITE_STATUS_LABELS,
    ZONE_LAYER_LABELS,
    column_label,
    display_value,
    industry_label,
    industry_name,
    land_use_label,
)
from rules.result import records
from rules.vocabulary import (
    AGGREGATE_CODE_LABELS,
    NOTE_LABEL,
    STATUS_COLORS,
    STATUS_LABELS,
    STATUS_ORDER,
    code_label,
    is_note,
    threshold_text,
    value_text,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PREFIX = "/web"
PAGE_SIZE = 50
FLAGGED = ("fail", "warn", "missing_data")
GRADES = ("A", "B", "C", "D")
RUN_STATES = {"done": "完成", "running": "运行中", "queued": "排队", "failed": "失败"}
LEVEL_LABELS = {"parcel": "宗地", "enterprise": "企业", "aggregate": "汇总"}
# Columns shown with a fixed number of decimals on the parcel page (the rest through display_value).
_DECIMALS = {"area_m2": 2, "area_mu": 2, "far": 2}


def _tpl(request: Request, name: str, user: WebUser | None, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.update(
        user=user,
        prefix=PREFIX,
        status_labels=STATUS_LABELS,
        status_colors=STATUS_COLORS,
        status_order=STATUS_ORDER,
        note_label=NOTE_LABEL,
        grade_names={g: code_label(g) for g in GRADES},
        run_states=RUN_STATES,
        nav=ctx.get("nav", ""),
    )
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code)


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _engine(request: Request) -> Any:
    return request.app.state.engine


def _runs(request: Request) -> runs_service.Runs:
    return request.app.state.runs


def _result(request: Request, run_id: int) -> Any:
    return _runs(request).result(run_id)


def _fmt(value: Any, digits: int = 2) -> str:
    """A cell for a planner: numbers with ``digits`` decimals, 是/否, dates, lists joined; — for nothing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return "—"
    if isinstance(value, float | np.floating):
        return f"{float(value):,.{digits}f}"
    text = display_value(value)
    return text if text != "" else "—"


_COLUMN_WORD = re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z0-9]*_[a-z0-9_]+(?![A-Za-z0-9_])")


def column_words(message: object) -> str:
    """A loader message with contract column names in Chinese (``above_scale`` → 规上企业 …).

    The loader's messages name columns by their contract key where the file had none of its own; a planner
    reads the Chinese header instead. Words that are not contract columns are left as they are.
    """
    text = "" if message is None else str(message)
    return _COLUMN_WORD.sub(lambda m: column_label(m.group(0)) if column_label(m.group(0)) != m.group(0)
                            else m.group(0), text)


TEMPLATES.env.filters["fmt"] = _fmt
TEMPLATES.env.filters["columns_cn"] = column_words
TEMPLATES.env.filters["tojson_cn"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)
TEMPLATES.env.filters["code_label"] = code_label
TEMPLATES.env.filters["industry"] = lambda v: industry_label(v) or "—"
TEMPLATES.env.filters["land_use"] = lambda v: land_use_label(v) or "—"
TEMPLATES.env.filters["column"] = column_label
TEMPLATES.env.filters["datetime"] = lambda v: (
    v.strftime("%Y-%m-%d %H:%M") if isinstance(v, dt.datetime) else str(v)[:16].replace("T", " ") if v else "—"
)
TEMPLATES.env.filters["zone_layer"] = lambda v: ZONE_LAYER_LABELS.get(str(v), str(v)) if v else ""


def router(settings: Settings | None = None) -> APIRouter:
    """The web pages as one router (prefix ``/web``); settings are read from the app at request time."""
    r = APIRouter(prefix=PREFIX, include_in_schema=False)

    # --- sign-in -------------------------------------------------------------------------------------
    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "") -> HTMLResponse:
        if session_ended(request):  # the page that sent the browser here was refused: say why, drop the cookie
            resp = _tpl(request, "login.html", None, status_code=401, next=next, error=SESSION_ENDED)
            clear_cookie(resp, request)
            return resp
        return _tpl(request, "login.html", current_user(request), next=next, error=None)

    @r.post("/login", response_class=HTMLResponse)
    def login(request: Request, token: str = Form(""), next: str = Form("")) -> Response:
        outcome = sign_in(request, token)
        if outcome.user is None:
            return _tpl(request, "login.html", None, status_code=401, next=next, error=outcome.error)
        target = next if next.startswith(PREFIX + "/") else PREFIX + "/"
        resp = RedirectResponse(target, status_code=303)
        set_cookie(resp, request, outcome)
        return resp

    @r.post("/logout")
    def logout(request: Request) -> Response:
        sign_out(request)
        resp = RedirectResponse(PREFIX + "/login", status_code=303)
        clear_cookie(resp, request)
        return resp

    # --- dashboard -----------------------------------------------------------------------------------
    @r.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        user = require_user(request)
        from api.store.repository import list_datasets

        with request.app.state.engine.connect() as conn:
            datasets = list_datasets(conn)
        runs = _runs(request).list()
        latest = next((run for run in runs if run["status"] == "done"), None)
        ctx: dict[str, Any] = {
            "datasets": datasets,
            "runs": runs[:10],
            "latest": latest,
            "indicators": [],
            "by_rule": [],
            "notes": [],
            "by_district": [],
        }
        if latest:
            res = _result(request, latest["id"])
            words = _run_words(_engine(request), latest)
            ctx["indicators"] = _indicators(latest.get("summary") or {}, res.aggregates, words)
            ctx["by_rule"] = _flag_counts_by_rule(res.verdicts, words)
            ctx["notes"] = _note_counts(res.verdicts, words)
            ctx["by_district"] = _flag_counts_by(res.parcels, "district")
        return _tpl(request, "dashboard.html", user, nav="dashboard", **ctx)

    # --- import --------------------------------------------------------------------------------------
    @r.get("/import", response_class=HTMLResponse)
    def import_form(request: Request) -> HTMLResponse:
        user = require_user(request, "analyst")
        return _tpl(request, "import.html", user, nav="import", kinds=datasets.KIND_LABELS, problems=None, preview=None)

    @r.post("/import", response_class=HTMLResponse)
    async def import_upload(request: Request) -> HTMLResponse:
        user = require_user(request, "analyst")
        form = await request.form()
        incoming = [
            datasets.Incoming(kind, up.filename, up.file)
            for kind in datasets.INPUT_KINDS
            for up in form.getlist(kind)
            if isinstance(up, UploadFile) and up.filename
        ]
        crs = str(form.get("crs") or "").strip() or None
        name = str(form.get("name") or "").strip() or None

        def problem_page(status: int, problems: list[dict[str, Any]], summary: str | None = None) -> HTMLResponse:
            return _tpl(request, "import.html", user, nav="import", kinds=datasets.KIND_LABELS,
                        status_code=status, problems=problems, preview=None, summary=summary)

        from api.errors import gis_error_details
        from api.store.errors import ImportRejected
        from gis.errors import GisError

        settings = request.app.state.settings
        try:
            stage = datasets.stage(settings.data_dir, incoming, datasets.limits_of(settings))
        except ImportRejected as exc:
            hint = "GeoPackage、GeoJSON、Shapefile（zip 或 .shp/.shx/.dbf/.prj 一起）、FlatGeobuf 或 GeoParquet"
            return problem_page(400, [{"file": "上传文件", "message": exc.message, "ids": [], "hint": hint}])
        except GisError as exc:
            return problem_page(422, gis_error_details(exc), exc.message)
        try:
            inputs = datasets.validate(stage.paths, crs)
        except GisError as exc:
            datasets.discard(stage)
            return problem_page(422, gis_error_details(exc), exc.message)
        counts = {"parcels": len(inputs.parcels)}
        for kind in ("enterprises", "occupancy", "land_supply"):
            frame = getattr(inputs, kind)
            if frame is not None:
                counts[kind] = len(frame)
        for layer, gdf in (inputs.zones or {}).items():
            counts[f"zones:{layer}"] = len(gdf)
        preview = {
            "token": stage.token,
            "counts": counts,
            "name": name or stage.names["parcels"],
            "crs": crs or "",
            "files": dict(stage.names),
            "warnings": [
                {"file": i.file, "message": i.message, "ids": i.ids[:30], "n": len(i.ids)}
                for i in inputs.report.warnings
            ],
            "missing": list(inputs.parcels.attrs.get("missing_columns", []) or []),
        }
        return _tpl(
            request,
            "import.html",
            user,
            nav="import",
            kinds=datasets.KIND_LABELS,
            problems=None,
            preview=preview,
        )

    @r.post("/import/confirm")
    def import_confirm(request: Request, token: str = Form(...), name: str = Form(""), crs: str = Form("")) -> Response:
        user = require_user(request, "analyst")
        try:
            stage = datasets.staged(request.app.state.settings.data_dir, token)
        except KeyError:
            return _tpl(
                request,
                "error.html",
                user,
                status_code=404,
                message="待确认的上传已失效，请重新上传 (the staged upload is gone; upload again)",
            )
        outcome = datasets.import_staged(
            request.app.state.engine, stage, name=name or None, crs=crs or None, actor=user.name
        )
        return RedirectResponse(
            f"{PREFIX}/evaluate?dataset={outcome.dataset_id}&imported={1 if outcome.created else 0}",
            status_code=303,
        )

    # --- evaluate ------------------------------------------------------------------------------------
    @r.get("/evaluate", response_class=HTMLResponse)
    def evaluate_form(request: Request, dataset: int | None = None, imported: int | None = None) -> HTMLResponse:
        user = require_user(request, "analyst")
        from api.store.repository import list_datasets

        with request.app.state.engine.connect() as conn:
            datasets = list_datasets(conn)
        return _tpl(
            request,
            "evaluate.html",
            user,
            nav="evaluate",
            datasets=datasets,
            selected=dataset,
            imported=imported,
            rulesets=_ruleset_refs(_engine(request)),
            today=dt.date.today().isoformat(),
            error=None,
        )

    @r.post("/evaluate")
    def evaluate_start(
        request: Request, dataset: int = Form(...), ruleset: str = Form("chengdu-2023"), as_of: str = Form("")
    ) -> Response:
        user = require_user(request, "analyst")
        from api.store.errors import StoreError

        try:
            day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
        except ValueError:
            return _tpl(
                request,
                "error.html",
                user,
                status_code=400,
                message=f"评估基准日“{as_of}”不是有效日期，应为 YYYY-MM-DD (as-of date must be ISO 8601)",
            )
        try:
            run_id = _runs(request).start(dataset, ruleset, day, user.name)
        except StoreError as exc:
            return _tpl(request, "error.html", user, status_code=404, message=exc.message)
        return RedirectResponse(f"{PREFIX}/runs/{run_id}", status_code=303)

    # --- a run ---------------------------------------------------------------------------------------
    def _run_or_404(request: Request, run_id: int) -> dict[str, Any]:
        try:
            return _runs(request).get(run_id)
        except NotFound as exc:
            raise _NotFound(f"评估 {run_id} 不存在 (evaluation {run_id} not found)") from exc

    @r.get("/runs/{run_id}/status.json")
    def run_status(request: Request, run_id: int) -> JSONResponse:
        require_user(request)
        run = _run_or_404(request, run_id)
        return JSONResponse(
            json.loads(json.dumps({k: run.get(k) for k in ("id", "status", "progress", "error")}, default=str))
        )

    @r.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(
        request: Request,
        run_id: int,
        rule: str = "",
        status: str = "",
        district: str = "",
        park: str = "",
        sort: str = "parcel_id",
        desc: int = 0,
        page: int = 1,
    ) -> HTMLResponse:
        user = require_user(request)
        run = _run_or_404(request, run_id)
        if run["status"] != "done":
            return _tpl(request, "run_progress.html", user, nav="runs", run=run)
        res = _result(request, run_id)
        words = _run_words(_engine(request), run)
        parks = park_names(res.zones)
        rule_ids = _rule_columns(_engine(request), run, res.parcels)
        table = _flagged_table(
            res.parcels,
            rule_ids,
            rule=rule,
            status=status,
            district=district,
            park=park,
            sort=sort,
            desc=bool(desc),
            page=page,
            words=words,
            parks=parks,
        )
        params = {
            "rule": rule,
            "status": status,
            "district": district,
            "park": park,
            "sort": sort,
            "desc": desc,
        }
        base_q = {k: v for k, v in params.items() if v not in ("", 0)}
        rules = [i for i in rule_ids.values() if not is_note(i)]
        notes = [i for i in rule_ids.values() if is_note(i)]
        return _tpl(
            request,
            "run.html",
            user,
            nav="runs",
            run=run,
            summary=run.get("summary") or {},
            indicators=_indicators(run.get("summary") or {}, res.aggregates, words),
            table=table,
            params=params,
            query=lambda **kw: "?" + urlencode({**base_q, **kw}),
            rules=rules,
            note_rules=notes,
            words=words,
            districts=_options(res.parcels, "district"),
            parks=[(pid, parks.get(pid, pid)) for pid in _options(res.parcels, "park_id")],
            downloads=runs_service.DOWNLOADS,
        )

    @r.get("/runs/{run_id}/map", response_class=HTMLResponse)
    def run_map(request: Request, run_id: int) -> HTMLResponse:
        require_user(request)
        _run_or_404(request, run_id)
        from api.cli_maps import map_args, stored_ruleset
        from gis.maps import compliance_map

        res = _result(request, run_id)
        m = compliance_map(
            **map_args(res, stored_ruleset(_engine(request), res.ruleset)),
            static_url=f"{PREFIX}/static/map",
            title=f"评估 {run_id} 合规地图",
        )
        return HTMLResponse(m.get_root().render())

    @r.get("/runs/{run_id}/download/{fmt}")
    def run_download(request: Request, run_id: int, fmt: str) -> Response:
        require_user(request)
        run = _run_or_404(request, run_id)
        if run["status"] != "done":
            raise _NotFound(f"评估 {run_id} 尚未完成 (evaluation not finished)")
        try:
            if fmt not in (*runs_service.DOWNLOADS, "json", "png"):
                raise KeyError(fmt)
            path = _runs(request).file(run_id, fmt)
        except KeyError as exc:
            raise _NotFound(f"不支持的下载格式 {fmt} (unknown format)") from exc
        name = f"mujun_{run['ruleset']['id']}_{run['as_of']}_run{run_id}.{fmt}"
        media = runs_service.EXPORT_MEDIA_TYPES[fmt]
        if fmt == "png":
            return FileResponse(path, media_type=media)
        return FileResponse(path, media_type=media, filename=name)

    @r.get("/runs/{run_id}/print", response_class=HTMLResponse)
    def run_print(request: Request, run_id: int) -> HTMLResponse:
        user = require_user(request)
        run = _run_or_404(request, run_id)
        res = _result(request, run_id)
        try:
            has_map = _runs(request).file(run_id, "png").is_file()
        except Exception:  # the summary prints without the picture
            has_map = False
        words = _run_words(_engine(request), run)
        return _tpl(
            request,
            "print.html",
            user,
            run=run,
            summary=run.get("summary") or {},
            indicators=_indicators(run.get("summary") or {}, res.aggregates, words),
            by_rule=_flag_counts_by_rule(res.verdicts, words),
            notes=_note_counts(res.verdicts, words),
            by_district=_flag_counts_by(res.parcels, "district"),
            has_map=has_map,
            now=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        )

    @r.get("/runs/{run_id}/parcels/{parcel_id}", response_class=HTMLResponse)
    def parcel_page(request: Request, run_id: int, parcel_id: str) -> HTMLResponse:
        user = require_user(request)
        run = _run_or_404(request, run_id)
        res = _result(request, run_id)
        row = res.parcels[res.parcels["parcel_id"] == parcel_id]
        if row.empty:
            raise _NotFound(f"评估 {run_id} 中没有宗地 {parcel_id} (parcel not in this evaluation)")
        parks = park_names(res.zones)
        attrs = _parcel_attributes(request, run, parcel_id, row, parks)
        verdicts = res.verdicts[
            (res.verdicts["subject_id"].astype(str) == parcel_id) & (res.verdicts.get("level", "parcel") == "parcel")
        ]
        occupants = _occupants(request, run["dataset_id"], parcel_id, res.enterprises)
        geo = json.loads(row.to_crs(4326)[["parcel_id", "status", "geometry"]].to_json())
        return _tpl(
            request,
            "parcel.html",
            user,
            nav="runs",
            run=run,
            parcel_id=parcel_id,
            attrs=attrs,
            verdicts=verdict_rows(records(verdicts), _run_words(_engine(request), run)),
            occupants=occupants,
            geojson=geo,
            status=str(row["status"].iloc[0]),
        )

    @r.get("/runs/{run_id}/mujun", response_class=HTMLResponse)
    def mujun_page(
        request: Request, run_id: int, park: str = "", industry: str = "", grade: str = "", page: int = 1
    ) -> HTMLResponse:
        user = require_user(request)
        run = _run_or_404(request, run_id)
        res = _result(request, run_id)
        ent = res.enterprises.copy()
        if ent.empty:
            return _tpl(
                request,
                "mujun.html",
                user,
                nav="mujun",
                run=run,
                rows=[],
                total=0,
                charts={},
                parks=[],
                industries=[],
                params={},
                pages=1,
                page=1,
                query=lambda **kw: "",
                grades={},
            )
        ent = _with_parks(ent, res.verdicts, res.parcels, _occupancy_frame(request, run["dataset_id"]))
        names = park_names(res.zones)
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
        targets = _targets(_engine(request), run)
        in_scope = shown[
            shown["above_scale"].astype("boolean").fillna(False) & shown["in_park"].astype("boolean").fillna(False)
        ]
        charts = {
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
        params = {"park": park, "industry": industry, "grade": grade}
        base_q = {k: v for k, v in params.items() if v}
        return _tpl(
            request,
            "mujun.html",
            user,
            nav="mujun",
            run=run,
            rows=rows,
            total=len(shown),
            charts=charts,
            parks=parks,
            industries=industries,
            params=params,
            pages=pages,
            page=page,
            query=lambda **kw: "?" + urlencode({**base_q, **kw}),
            in_scope=len(in_scope),
        )

    @r.get("/mujun")
    def mujun_latest(request: Request) -> Response:
        require_user(request)
        latest = next((x for x in _runs(request).list() if x["status"] == "done"), None)
        if latest is None:
            return _tpl(
                request,
                "error.html",
                current_user(request),
                status_code=404,
                message="还没有完成的评估；请先运行一次评估 (no finished evaluation yet)",
            )
        return RedirectResponse(f"{PREFIX}/runs/{latest['id']}/mujun", status_code=303)

    @r.get("/runs", response_class=HTMLResponse)
    def runs_page(request: Request) -> HTMLResponse:
        user = require_user(request)
        return _tpl(request, "runs.html", user, nav="runs", runs=_runs(request).list())

    # --- check one parcel ----------------------------------------------------------------------------
    def _check_ctx(request: Request) -> dict[str, Any]:
        from api.store.repository import list_datasets

        with _engine(request).connect() as conn:
            datasets = list_datasets(conn)
        return {
            "rulesets": _ruleset_refs(_engine(request)),
            "datasets": datasets,
            "today": dt.date.today().isoformat(),
            "zones_ds": _zones_dataset(request),
            "site_statuses": SITE_STATUS_LABELS,
            "result": None,
            "error": None,
        }

    @r.get("/check", response_class=HTMLResponse)
    def check_form(request: Request) -> HTMLResponse:
        user = require_user(request)
        return _tpl(request, "check.html", user, nav="check", form={}, **_check_ctx(request))

    @r.post("/check", response_class=HTMLResponse)
    async def check_run(request: Request) -> HTMLResponse:
        user = require_user(request)
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        upload = form.get("file")
        ctx = _check_ctx(request)
        try:
            from api.web.check import check_parcel

            file_bytes = (upload.filename, await upload.read()) if getattr(upload, "filename", None) else None
            result = check_parcel(values, file_bytes, engine=_engine(request), zones_dataset=ctx["zones_ds"])
        except ValueError as exc:
            ctx["error"] = str(exc)
        else:
            words = rule_words(result["rules"])
            parks: dict[str, str] = {}
            if result["zones_dataset"] is not None:
                from api.store.evaluations import load_zones

                with _engine(request).connect() as conn:
                    parks = park_names(load_zones(conn, result["zones_dataset"]))
            for p in result["parcels"]:
                p["park"] = parks.get(str(p["park_id"]), str(p["park_id"])) if p.get("park_id") else ""
                p["zone_label"] = ZONE_LAYER_LABELS.get(str(p["zone"]), "") if p.get("zone") else ""
            result["rows"] = verdict_rows(result["verdicts"] + result["enterprise_verdicts"], words)
            for g in result["grading"]:
                g["title"] = words.title(g["rule"])
            ctx["result"] = result
        return _tpl(
            request,
            "check.html",
            user,
            nav="check",
            form=values,
            status_code=200 if ctx["error"] is None else 422,
            **ctx,
        )

    @r.get("/check/context.geojson")
    def check_context(request: Request) -> Response:
        require_user(request)
        ds = _zones_dataset(request)
        if ds is None:
            return JSONResponse({"type": "FeatureCollection", "features": []})
        return Response(_zone_context(request, ds), media_type="application/geo+json")

    # --- rule sets -----------------------------------------------------------------------------------
    def _load_ref(request: Request, ref: str) -> Any:
        from api.store import evaluations as ev
        from api.store.errors import NotFound

        try:
            with _engine(request).begin() as conn:
                return ev.resolve_ruleset(conn, ref)[1]
        except NotFound as exc:
            raise _NotFound(f"规则集 {ref} 不存在 (no such rule set)") from exc

    @r.get("/rulesets", response_class=HTMLResponse)
    def rulesets_page(request: Request, error: str = "", uploaded: str = "") -> HTMLResponse:
        user = require_user(request)
        refs = _ruleset_refs(_engine(request))
        sets = [(ref, label, _load_ref(request, ref)) for ref, label in refs]
        return _tpl(request, "rulesets.html", user, nav="rulesets", sets=sets, problems=None, uploaded=uploaded)

    @r.post("/rulesets", response_class=HTMLResponse)
    async def ruleset_upload(request: Request) -> Response:
        user = require_user(request, "admin")
        from api.store import evaluations as ev
        from api.store.errors import StoreError
        from rules.errors import RuleSetError
        from rules.ruleset import parse_ruleset

        form = await request.form()
        up = form.get("file")
        problems: list[tuple[str, str]] = []
        if not isinstance(up, UploadFile) or not up.filename:
            problems = [("", "请选择一个 YAML 规则集文件 (choose a YAML file)")]
        else:
            try:
                text = (await up.read()).decode("utf-8")
                ruleset = parse_ruleset(text, source=up.filename)
                with _engine(request).begin() as conn:
                    ev.store_ruleset(conn, ruleset, actor=user.name)
                ref = f"{ruleset.id}@{ruleset.version}"
                return RedirectResponse(f"{PREFIX}/rulesets?" + urlencode({"uploaded": ref}), status_code=303)
            except UnicodeDecodeError:
                problems = [("", "规则集须为 UTF-8 编码 (rule set must be UTF-8 text)")]
            except RuleSetError as exc:
                problems = list(exc.problems) or [("", str(exc))]
            except StoreError as exc:
                problems = [("", exc.message)]
        refs = _ruleset_refs(_engine(request))
        sets = [(ref, label, _load_ref(request, ref)) for ref, label in refs]
        return _tpl(
            request,
            "rulesets.html",
            user,
            nav="rulesets",
            sets=sets,
            problems=problems,
            uploaded="",
            status_code=422,
        )

    @r.get("/rulesets/diff", response_class=HTMLResponse)
    def ruleset_diff_page(request: Request, a: str = "chengdu-2020", b: str = "chengdu-2023") -> HTMLResponse:
        user = require_user(request)
        from api.web.rulediff import diff_rulesets

        ra, rb = _load_ref(request, a), _load_ref(request, b)
        return _tpl(request, "ruleset_diff.html", user, nav="rulesets", a=ra, b=rb, diff=diff_rulesets(ra, rb))

    @r.get("/rulesets/{ref}", response_class=HTMLResponse)
    def ruleset_page(request: Request, ref: str) -> HTMLResponse:
        user = require_user(request)
        from api.web.rulediff import parameter_rows

        rs = _load_ref(request, ref)
        units = rs.units()
        rows = [
            {
                "rule": rule,
                "params": parameter_rows(rule.params, units.get(rule.id, "")),
                "citation": rs.citation_text(rule),
                "level": LEVEL_LABELS.get(rule.level, rule.level),
                "note": is_note(rule.id),
            }
            for rule in rs.rules
        ]
        return _tpl(
            request,
            "ruleset.html",
            user,
            nav="rulesets",
            rs=rs,
            rows=rows,
            parameters=parameter_rows(rs.parameters),
        )

    # --- zone proposals ------------------------------------------------------------------------------
    @r.get("/zones", response_class=HTMLResponse)
    def zones_page(request: Request) -> HTMLResponse:
        user = require_user(request)
        from api.web.zones import proposal_status

        return _tpl(request, "zones.html", user, nav="zones", **proposal_status(request))

    @r.post("/zones/propose")
    def zones_propose(request: Request, dataset: int = Form(...)) -> Response:
        user = require_user(request, "analyst")
        from api.web.zones import propose

        error = propose(request, dataset, user.name)
        if error:
            return _tpl(request, "error.html", user, status_code=409, message=error)
        return RedirectResponse(f"{PREFIX}/zones", status_code=303)

    @r.get("/zones/{dataset_id}/map", response_class=HTMLResponse)
    def zones_map(request: Request, dataset_id: int) -> Response:
        require_user(request)
        from api.web.zones import proposal_file

        path = proposal_file(request, dataset_id, "map.html")
        if not path.is_file():
            raise _NotFound(f"数据集 {dataset_id} 尚无红线、蓝线划定建议 (no proposal yet)")
        return HTMLResponse(path.read_text(encoding="utf-8"))

    @r.get("/zones/{dataset_id}/download")
    def zones_download(request: Request, dataset_id: int) -> Response:
        require_user(request)
        from api.web.zones import proposal_file

        path = proposal_file(request, dataset_id, "zones.gpkg")
        if not path.is_file():
            raise _NotFound(f"数据集 {dataset_id} 尚无红线、蓝线划定建议 (no proposal yet)")
        return FileResponse(
            path,
            media_type="application/geopackage+sqlite3",
            filename=f"mujun_zone_proposal_dataset{dataset_id}.gpkg",
        )

    return r


class _NotFound(Exception):
    """A page's object does not exist (rendered as a Chinese 404 page)."""


def install_error_pages(app: Any) -> None:
    """Render sign-in redirects, 403 and 404 of the pages as HTML, not the API's JSON."""

    async def needs_sign_in(request: Request, exc: Exception) -> Response:
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?" + urlencode({"next": nxt}), status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        return _tpl(
            request,
            "error.html",
            exc.user,
            status_code=403,
            message=f"您的角色（{exc.user.role_label}）无权执行此操作，需要“{exc.role}”及以上角色 "
            f"(your role may not do this)",
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _tpl(request, "error.html", current_user(request), status_code=404, message=str(exc))

    app.add_exception_handler(NeedsSignIn, needs_sign_in)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(_NotFound, not_found)


# --- helpers ---------------------------------------------------------------------------------------


@dataclass
class RuleWords:
    """How a run's rules are named: Chinese titles and value units (from the run's rule set)."""

    titles: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def title(self, rule_id: str) -> str:
        """The rule's Chinese title; a rule the rule set does not know reads 规则."""
        return self.titles.get(str(rule_id), "规则")

    def unit(self, rule_id: str) -> str:
        """The unit of the rule's ``value``."""
        return self.units.get(str(rule_id), "")


def rule_words(ruleset: Any) -> RuleWords:
    """Titles and units of a ``RuleSet`` (``None`` gives empty words)."""
    if ruleset is None:
        return RuleWords()
    return RuleWords({r.id: r.title for r in ruleset.rules}, ruleset.units())


def verdict_rows(verdicts: list[dict[str, Any]], words: RuleWords) -> dict[str, list[dict[str, Any]]]:
    """Verdicts as a planner reads them, most severe first: ``{"rules": [...], "notes": [...]}``.

    ``data.*`` verdicts are data-quality notes (数据提示): listed apart and never counted as problems.
    """
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    out: dict[str, list[dict[str, Any]]] = {"rules": [], "notes": []}
    for v in sorted(verdicts, key=lambda v: rank.get(str(v.get("status")), 99)):
        rule = str(v.get("rule"))
        unit = words.unit(rule)
        threshold = v.get("threshold")
        if isinstance(threshold, str):
            try:
                threshold = json.loads(threshold)
            except json.JSONDecodeError:
                pass
        row = {
            "subject_id": v.get("subject_id"),
            "level": v.get("level"),
            "rule": rule,
            "title": words.title(rule),
            "status": v.get("status"),
            "code": code_label(v.get("code"), rule),
            "value": value_text(v.get("value"), unit) or "—",
            "threshold": threshold_text(threshold, unit) or "—",
            "message": v.get("message") or "",
            "citation": v.get("citation") or "",
        }
        out["notes" if is_note(rule) else "rules"].append(row)
    return out


def park_names(zones: dict[str, Any] | None) -> dict[str, str]:
    """Park id → park name from a dataset's ``parks`` zone layer (ids without a name keep the id)."""
    parks = (zones or {}).get("parks")
    if parks is None or len(parks) == 0 or "park_id" not in parks.columns:
        return {}
    names = parks["name"] if "name" in parks.columns else parks["park_id"]
    ids = parks["park_id"].astype(str)
    return dict(zip(ids, names.where(names.notna(), ids).astype(str), strict=True))


def _indicators(
    summary: dict[str, Any], aggregates: pd.DataFrame | None = None, words: RuleWords | None = None
) -> list[dict[str, Any]]:
    """City indicators against the 2025 targets (``summary["city"]``) plus the latest year's supply share."""
    words = words or RuleWords()
    city = dict(summary.get("city") or {})
    if aggregates is not None and not aggregates.empty and "agg.supply_share" not in city:
        years = aggregates[(aggregates["rule"] == "agg.supply_share") & (aggregates["scope"] == "year")]
        if len(years):
            last = years.assign(_y=years["key"].astype(str)).sort_values("_y").iloc[-1]
            threshold = last["threshold"]
            if isinstance(threshold, str):
                threshold = json.loads(threshold)
            city["agg.supply_share"] = {
                "value": last["value"],
                "threshold": threshold,
                "status": last["status"],
                "year": str(last["key"]),
            }
    out = []
    for key, item in city.items():
        rule, code = key, ""
        if rule not in words.titles and "." in key:
            head, _, tail = key.rpartition(".")
            if head in words.titles:
                rule, code = head, tail
        label = words.titles.get(rule) or "全市指标"
        if code:
            label += f"（{AGGREGATE_CODE_LABELS.get(code) or code_label(code, rule)}）"
        if item.get("year"):
            label += f"（{item['year']} 年）"
        unit = words.unit(rule)
        threshold = item.get("threshold") or {}
        out.append(
            {
                "key": key,
                "label": label,
                "status": item.get("status"),
                "value": value_text(item.get("value"), unit) or "—",
                "target": threshold_text(threshold, unit) or "—",
            }
        )
    return out


def _flag_counts_by_rule(verdicts: pd.DataFrame, words: RuleWords) -> list[dict[str, Any]]:
    """Problems per rule (fail / warn / missing data), data-quality notes left out."""
    if verdicts.empty:
        return []
    v = verdicts[verdicts["status"].isin(FLAGGED) & ~verdicts["rule"].astype(str).str.startswith("data.")]
    counts = v.groupby(["rule", "status"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(FLAGGED), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts = counts.sort_values("total", ascending=False)
    return [
        {"rule": str(k), "title": words.title(str(k)), **{c: int(x) for c, x in row.items()}}
        for k, row in counts.iterrows()
    ]


def _note_counts(verdicts: pd.DataFrame, words: RuleWords) -> list[dict[str, Any]]:
    """Data-quality notes (数据提示) per rule: how many subjects each flags."""
    if verdicts.empty:
        return []
    notes = verdicts[verdicts["rule"].astype(str).str.startswith("data.") & (verdicts["status"] == "warn")]
    counts = notes.groupby("rule").size().sort_values(ascending=False)
    return [{"rule": str(k), "title": words.title(str(k)), "n": int(n)} for k, n in counts.items()]


def _flag_counts_by(parcels: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    if column not in parcels.columns:
        return []
    keys = parcels[column].astype("object").where(parcels[column].notna(), "（未归属）")
    counts = pd.crosstab(keys, parcels["status"]).reindex(columns=list(STATUS_ORDER), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts = counts.sort_values(["fail", "warn"], ascending=False)
    return [{"key": str(k), **{c: int(x) for c, x in row.items()}} for k, row in counts.iterrows()]


def _options(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    return sorted(set(frame[column].dropna().astype(str)))


def _rule_columns(engine: Any, run: dict[str, Any], parcels: pd.DataFrame) -> dict[str, str]:
    """``{st_column: rule id}`` for the run's parcel-level rules present in the result, in rule-set order."""
    from rules.result import status_column

    try:
        ids = [r.id for r in _run_ruleset(engine, run).rules]
    except Exception:  # fall back to the column names
        ids = [c[3:] for c in parcels.columns if c.startswith("st_")]
    return {status_column(i): i for i in ids if status_column(i) in parcels.columns}


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
    sortable = {"parcel_id", "area_mu", "far", "district", "park_id", "status"}
    key = sort if sort in sortable else "parcel_id"
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


def _ruleset_refs(engine: Any) -> list[tuple[str, str]]:
    """(reference, label) of every rule set the store knows: stored versions and built-ins."""
    from api.store import evaluations as ev

    with engine.connect() as conn:
        rows = ev.list_rulesets(conn)
    refs: list[tuple[str, str]] = []
    for r in rows:
        ref = f"{r['ruleset_id']}@{r['version']}" if r["version"] else r["ruleset_id"]
        kind = "内置" if r["builtin"] else "上传"
        if ref not in dict(refs):
            refs.append((ref, f"{r['ruleset_id']} {r['version'] or ''}（{kind}）"))
    refs.sort(key=lambda x: (not x[0].startswith("chengdu-2023"), x[0]))
    return refs


def _run_ruleset(engine: Any, run: dict[str, Any]) -> Any:
    """The exact rule set a run used (by its sha256, from the store)."""
    from api.store import evaluations as ev

    with engine.connect() as conn:
        return ev.resolve_ruleset(conn, run["ruleset"]["sha256"])[1]


def _run_words(engine: Any, run: dict[str, Any]) -> RuleWords:
    """Titles and units of the rule set a run used (the built-in of the same id if it is gone)."""
    try:
        return rule_words(_run_ruleset(engine, run))
    except Exception:  # a rule set removed since the run: the built-in of the same id still names the rules
        from rules.ruleset import load_ruleset

        try:
            return rule_words(load_ruleset(str(run["ruleset"]["id"])))
        except Exception:
            return RuleWords()


def _targets(engine: Any, run: dict[str, Any]) -> dict[str, float]:
    out = {"revenue": 650.0, "tax": 30.0}
    try:
        rs = _run_ruleset(engine, run)
        params = rs.rule("per_mu.revenue").params
        out["revenue"] = float(params.get("min", params.get("target", out["revenue"])))
        params = rs.rule("per_mu.tax").params
        out["tax"] = float(params.get("min", params.get("target", out["tax"])))
    except Exception:  # keep the policy's 2025 targets
        pass
    out["revenue_2020"] = round(out["revenue"] / 1.6, 2)
    out["tax_2020"] = round(out["tax"] / 1.5, 2)
    return out


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
        return _fmt(float(value), _DECIMALS[column])
    text = display_value(value)
    return text if text != "" else "—"


def _parcel_attributes(
    request: Request, run: dict[str, Any], parcel_id: str, row: pd.DataFrame, parks: dict[str, str]
) -> list[dict[str, Any]]:
    """The parcel's input attributes (from the store) followed by the evaluation's derived ones.

    Each row is ``{"label", "value", "raw"}``; ``raw`` marks the user's own extra columns (their header
    is shown as it was in the file).
    """
    from api.store.features import query_parcels

    props: dict[str, Any] = {}
    try:
        with request.app.state.engine.connect() as conn:
            page = query_parcels(
                conn, int(run["dataset_id"]), feature_id=parcel_id, limit=1, run_id=int(run["id"])
            )
        if page.features:
            props = dict(page.features[0]["properties"])
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


def _occupancy_frame(request: Request, dataset_id: int) -> pd.DataFrame:
    from sqlalchemy import select

    from api.store import models as m

    with request.app.state.engine.connect() as conn:
        rows = conn.execute(
            select(m.Occupancy.enterprise_id, m.Occupancy.parcel_id, m.Occupancy.floor_area_m2).where(
                m.Occupancy.dataset_id == int(dataset_id)
            )
        ).all()
    return pd.DataFrame(rows, columns=["enterprise_id", "parcel_id", "floor_area_m2"])


def _occupants(request: Request, dataset_id: int, parcel_id: str, enterprises: pd.DataFrame) -> list[dict[str, Any]]:
    occ = _occupancy_frame(request, dataset_id)
    occ = occ[occ["parcel_id"].astype(str) == parcel_id]
    if occ.empty or enterprises.empty:
        return occ.to_dict("records")
    ent = enterprises.assign(enterprise_id=enterprises["enterprise_id"].astype(str))
    return (
        occ.assign(enterprise_id=occ["enterprise_id"].astype(str))
        .merge(ent, on="enterprise_id", how="left")
        .to_dict("records")
    )


def _with_parks(ent: pd.DataFrame, verdicts: pd.DataFrame, parcels: pd.DataFrame, occ: pd.DataFrame) -> pd.DataFrame:
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


def _zones_dataset(request: Request) -> int | None:
    """The newest dataset that has zone layers (context for a check), or None."""
    from api.store.repository import latest_dataset_id

    with _engine(request).connect() as conn:
        return latest_dataset_id(conn, with_zones=True)


_context_cache: dict[tuple[str, int], str] = {}


def _zone_context(request: Request, dataset_id: int) -> str:
    """The zone layers of a dataset in EPSG:4326 (simplified to ~5 m) as GeoJSON text, cached per dataset."""
    key = (runs_service.store_key(request.app.state.settings), dataset_id)
    if key in _context_cache:
        return _context_cache[key]
    import geopandas as gpd

    from api.store.evaluations import load_zones

    with _engine(request).connect() as conn:
        zones = load_zones(conn, dataset_id)
    frames = []
    for layer in ("ring", "parks", "blue_line", "red_line"):
        gdf = zones.get(layer)
        if gdf is not None and len(gdf):
            geoms = gdf.geometry.simplify(5).to_numpy()
            frames.append(gpd.GeoDataFrame({"layer": [layer] * len(gdf)}, geometry=geoms, crs=gdf.crs))
    text = (
        pd.concat(frames, ignore_index=True).to_crs(4326).to_json(drop_id=True)
        if frames
        else '{"type": "FeatureCollection", "features": []}'
    )
    _context_cache[key] = text
    return text
