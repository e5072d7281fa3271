"""What every page group shares: the templates and their filters, the user by role, the error pages."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.services import runs as runs_service
from api.store import repository as repo
from api.store.errors import NotFound
from api.web.session import Forbidden, NeedsSignIn, WebUser, current_user, require_user
from gis.vocabulary import ZONE_LAYER_LABELS, column_label, display_value, industry_label, land_use_label
from rules.vocabulary import NOTE_LABEL, STATUS_COLORS, STATUS_LABELS, STATUS_ORDER, code_label

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parents[1] / "templates"))
PREFIX = "/web"
PAGE_SIZE = 50
FLAGGED = ("fail", "warn", "missing_data")
GRADES = ("A", "B", "C", "D")
RUN_STATES = {"done": "完成", "running": "运行中", "queued": "排队", "failed": "失败"}


def page_router() -> APIRouter:
    """A page group's router: under ``/web``, left out of the API's OpenAPI document."""
    return APIRouter(prefix=PREFIX, include_in_schema=False)


def render(request: Request, name: str, user: WebUser | None, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """The template ``name`` with ``ctx`` and what every page's frame needs (user, vocabulary, navigation)."""
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


def error_page(request: Request, user: WebUser | None, status_code: int, message: str) -> HTMLResponse:
    """The Chinese error page with ``message``."""
    return render(request, "error.html", user, status_code=status_code, message=message)


def fmt(value: Any, digits: int = 2) -> str:
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


TEMPLATES.env.filters["fmt"] = fmt
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


# --- who is asking: a dependency per role, as the JSON routes' Reader / Analyst / Admin ------------------------
def _role(role: str) -> Any:
    def user(request: Request) -> WebUser:
        return require_user(request, role)  # NeedsSignIn / Forbidden: rendered by the error pages below

    user.__name__ = f"web_{role}"
    return Depends(user)


WebReader = Annotated[WebUser, _role("viewer")]
WebAnalyst = Annotated[WebUser, _role("analyst")]
WebAdmin = Annotated[WebUser, _role("admin")]
MaybeUser = Annotated[WebUser | None, Depends(current_user)]


# --- the store behind the pages ---------------------------------------------------------------------------------
def engine_of(request: Request) -> Any:
    """The app's store engine."""
    return request.app.state.engine


def runs_of(request: Request) -> runs_service.Runs:
    """The app's evaluation runs (``api.services.runs``: one worker pool, one result cache, one export folder)."""
    return request.app.state.runs


def latest_done(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest finished run of ``runs`` (newest first, as ``Runs.list`` gives them), or None."""
    return next((run for run in runs if run["status"] == "done"), None)


def datasets_of(request: Request) -> list[dict[str, Any]]:
    """Every dataset, newest first (as ``GET /datasets``)."""
    return repo.reading(engine_of(request), repo.list_datasets)


def ruleset_refs(request: Request) -> list[tuple[str, str]]:
    """(reference, label) of every rule set the store knows: stored versions and built-ins."""
    from api.store.evaluations import list_rulesets

    refs: dict[str, str] = {}
    for r in repo.reading(engine_of(request), list_rulesets):
        ref = f"{r['ruleset_id']}@{r['version']}" if r["version"] else r["ruleset_id"]
        refs.setdefault(ref, f"{r['ruleset_id']} {r['version'] or ''}（{'内置' if r['builtin'] else '上传'}）")
    return sorted(refs.items(), key=lambda x: (not x[0].startswith("chengdu-2023"), x[0]))


def _run(request: Request, run_id: int) -> dict[str, Any]:
    try:
        return runs_of(request).get(run_id)
    except NotFound as exc:
        raise PageNotFound(f"评估 {run_id} 不存在 (evaluation {run_id} not found)") from exc


# Handlers take it after the user: who may look is settled before whether the run exists is said.
Run = Annotated[dict[str, Any], Depends(_run)]


# --- error pages ------------------------------------------------------------------------------------------------
class PageNotFound(Exception):
    """A page's object does not exist (rendered as a Chinese 404 page)."""


def install_error_pages(app: Any) -> None:
    """Render sign-in redirects, 403 and 404 of the pages as HTML, not the API's JSON."""

    async def needs_sign_in(request: Request, exc: Exception) -> Response:
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?" + urlencode({"next": nxt}), status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        return error_page(request, exc.user, 403, f"您的角色（{exc.user.role_label}）无权执行此操作，"
                          f"需要“{exc.role}”及以上角色 (your role may not do this)")

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_page(request, current_user(request), 404, str(exc))

    app.add_exception_handler(NeedsSignIn, needs_sign_in)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(PageNotFound, not_found)
