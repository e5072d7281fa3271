"""Rule sets (``/web/rulesets…``): every version as a table in words, two versions compared, an admin's upload."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.services import checks
from api.store.errors import NotFound, StoreError
from api.store.evaluations import store_ruleset
from api.store.repository import writing
from api.web.pages._shared import (
    PREFIX,
    PageNotFound,
    WebAdmin,
    WebReader,
    datasets_of,
    engine_of,
    page_router,
    render,
    ruleset_refs,
)
from api.web.rulediff import diff_rulesets, parameter_rows
from api.web.session import WebUser
from rules.vocabulary import is_note

router = page_router()
LEVEL_LABELS = {"parcel": "宗地", "enterprise": "企业", "aggregate": "汇总"}


def _ruleset(request: Request, ref: str) -> Any:
    """The rule set ``ref`` names (id, ``id@version`` or sha256), parsed once per server (``api.services.checks``)."""
    try:
        return checks.ruleset(engine_of(request), ref)
    except NotFound as exc:
        raise PageNotFound(f"规则集 {ref} 不存在 (no such rule set)") from exc


def _list_page(request: Request, user: WebUser, status_code: int = 200, *,
               problems: list[tuple[str, str]] | None = None, uploaded: str = "") -> HTMLResponse:
    sets = [(ref, label, _ruleset(request, ref)) for ref, label in ruleset_refs(request)]
    return render(request, "rulesets.html", user, status_code=status_code, nav="rulesets", sets=sets,
                  problems=problems, uploaded=uploaded)


@router.get("/rulesets", response_class=HTMLResponse)
def rulesets_page(request: Request, user: WebReader, uploaded: str = "") -> HTMLResponse:
    """Every rule set version the store knows (stored and built-in)."""
    return _list_page(request, user, uploaded=uploaded)


@router.post("/rulesets", response_class=HTMLResponse)
async def ruleset_upload(request: Request, user: WebAdmin) -> Response:
    """Validate and store a new version (as ``POST /rulesets``); 422 with the problems pointing into the YAML."""
    from rules.errors import RuleSetError
    from rules.ruleset import parse_ruleset

    form = await request.form()
    up = form.get("file")
    problems: list[tuple[str, str]]
    if not isinstance(up, UploadFile) or not up.filename:
        problems = [("", "请选择一个 YAML 规则集文件 (choose a YAML file)")]
    else:
        try:
            ruleset = parse_ruleset((await up.read()).decode("utf-8"), source=up.filename)
            await run_in_threadpool(writing, engine_of(request), store_ruleset, ruleset, actor=user.name)
            ref = f"{ruleset.id}@{ruleset.version}"
            return RedirectResponse(f"{PREFIX}/rulesets?" + urlencode({"uploaded": ref}), status_code=303)
        except UnicodeDecodeError:
            problems = [("", "规则集须为 UTF-8 编码 (rule set must be UTF-8 text)")]
        except RuleSetError as exc:
            problems = list(exc.problems) or [("", str(exc))]
        except StoreError as exc:
            problems = [("", exc.message)]
    return await run_in_threadpool(_list_page, request, user, 422, problems=problems)


@router.get("/rulesets/diff", response_class=HTMLResponse)
def ruleset_diff_page(request: Request, user: WebReader, a: str = "chengdu-2020",
                      b: str = "chengdu-2023") -> HTMLResponse:
    """What changed from version ``a`` to ``b``, in words."""
    ra, rb = _ruleset(request, a), _ruleset(request, b)
    return render(request, "ruleset_diff.html", user, nav="rulesets", a=ra, b=rb, diff=diff_rulesets(ra, rb),
                  ref_a=a, ref_b=b, datasets=datasets_of(request), today=dt.date.today().isoformat())


@router.get("/rulesets/{ref}", response_class=HTMLResponse)
def ruleset_page(request: Request, user: WebReader, ref: str) -> HTMLResponse:
    """One version: its parameters and rules (level, parameters with units, citation)."""
    rs = _ruleset(request, ref)
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
    return render(request, "ruleset.html", user, nav="rulesets", rs=rs, rows=rows,
                  parameters=parameter_rows(rs.parameters))
