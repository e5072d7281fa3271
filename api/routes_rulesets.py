"""``GET /rulesets``, ``GET /rulesets/{ref}``, ``POST /rulesets`` (admin: upload a new, validated version)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import Admin, Conn, Reader
from api.errors import ApiError, error_responses
from api.schemas import RuleSetDetail, RuleSetList, RuleSetStored, dump
from api.store import evaluations as ev

router = APIRouter(tags=["规则集 rulesets"])

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
# Some character that is not white space (Python's str.isspace, which also counts U+001C–U+001F).
_NOT_BLANK = r"[^\s\x1c-\x1f]"
_YAML_TEXT = {"type": "string", "pattern": _NOT_BLANK, "description": "规则集 YAML 原文 (the rule set's YAML text)"}
# As YAML, a rule set is a mapping (id, version, parameters, rules, …; see rules/rulesets/*.yaml).
_RULESET_YAML = {"type": "object", "description": "规则集：id、version、parameters、rules … (a rule set)"}
_UPLOAD_BODY = {"required": True, "content": {
    "application/yaml": {"schema": _RULESET_YAML},
    "application/json": {"schema": {"type": "object", "required": ["yaml"], "properties": {"yaml": _YAML_TEXT}}},
}}
_STORED = {"model": RuleSetStored}


@router.get("/rulesets", summary="规则集列表 (rule sets)", response_model=RuleSetList,
            responses=error_responses(401))
def list_rulesets(conn: Conn, _user: Reader) -> dict[str, Any]:
    """Stored versions and built-in rule sets; ``used`` marks versions referenced by a run (immutable)."""
    return {"rulesets": ev.list_rulesets(conn)}


@router.get("/rulesets/{ref}", summary="规则集 (one rule set)", response_model=RuleSetDetail,
            responses={200: {"description": "JSON；?format=yaml 时为 YAML 原文 (the raw YAML with format=yaml)",
                             "content": {"application/yaml": {"schema": _RULESET_YAML}}},
                       **error_responses(400, 401, 404)})
def get_ruleset(ref: str, conn: Conn, _user: Reader,
                format: Annotated[str | None, Query(description="yaml：YAML 原文；其他或不填：JSON")] = None,
                ) -> Any:
    """A rule set by id (newest version), ``id@version`` or sha256; ``?format=yaml`` for the raw YAML."""
    body = ev.get_ruleset(conn, ref)
    if format == "yaml":
        return PlainTextResponse(body["yaml_text"], media_type="application/yaml")
    return body


@router.post("/rulesets", status_code=201, summary="上传规则集新版本 (upload a rule set version)",
             response_model=RuleSetStored, openapi_extra={"requestBody": _UPLOAD_BODY},
             responses={201: {"description": "新版本已保存 (stored)"},
                        200: {**_STORED, "description": "相同文本已保存过 (the same text was stored before)"},
                        **error_responses(400, 401, 403, 409, 413, 415, 422)})
async def upload_ruleset(request: Request, user: Admin) -> JSONResponse:
    """Validate and store a rule set version (YAML body, or JSON ``{"yaml": …}``); errors point into the YAML."""
    from rules.ruleset import parse_ruleset

    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_encoding", "规则集须为 UTF-8 编码 (rule set must be UTF-8 text)") from exc
    if ctype == "application/json":
        try:
            text = json.loads(text)["yaml"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(400, "invalid_body", 'JSON 请求体应为 {"yaml": "…"} (JSON body must be {"yaml": …})',
                           [{"field": "yaml"}]) from exc
    elif ctype and ctype not in _YAML_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"不支持的内容类型 {ctype}；请用 application/yaml 或 application/json",
                       [{"header": "Content-Type", "value": ctype}])
    if not isinstance(text, str):
        raise ApiError(400, "invalid_body", 'JSON 请求体中 "yaml" 须为字符串 ("yaml" must be a string)',
                       [{"field": "yaml", "type": type(text).__name__}])
    if not text.strip():
        raise ApiError(400, "empty_body", "规则集内容为空 (empty rule set)", [{"field": "body"}])
    ruleset = parse_ruleset(text, source="upload")
    engine = request.app.state.engine
    with engine.begin() as conn:
        existed = conn.scalar(ev.select(ev.m.RuleSetRecord.id).where(ev.m.RuleSetRecord.sha256 == ruleset.sha256))
        pk = ev.store_ruleset(conn, ruleset, actor=user.name)
    with engine.connect() as conn:
        body = ev.get_ruleset(conn, f"{ruleset.id}@{ruleset.version}")
    body["created"] = existed is None
    return JSONResponse(dump(RuleSetStored, body), status_code=201 if existed is None and pk else 200)
