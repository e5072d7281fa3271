"""``GET /rulesets``, ``GET /rulesets/{ref}``, ``POST /rulesets`` (admin: upload a new, validated version)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import Admin, Conn, Reader
from api.errors import ApiError
from api.store import evaluations as ev

router = APIRouter(tags=["规则集 rulesets"])

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


@router.get("/rulesets", summary="规则集列表 (rule sets)")
def list_rulesets(conn: Conn, _user: Reader) -> dict[str, Any]:
    """Stored versions and built-in rule sets; ``used`` marks versions referenced by a run (immutable)."""
    return {"rulesets": ev.list_rulesets(conn)}


@router.get("/rulesets/{ref}", summary="规则集 (one rule set)")
def get_ruleset(ref: str, conn: Conn, _user: Reader, format: str | None = None) -> Any:
    """A rule set by id (newest version), ``id@version`` or sha256; ``?format=yaml`` for the raw YAML."""
    body = ev.get_ruleset(conn, ref)
    if format == "yaml":
        return PlainTextResponse(body["yaml_text"], media_type="application/yaml")
    return body


@router.post("/rulesets", status_code=201, summary="上传规则集新版本 (upload a rule set version)",
             openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}},
                                                         "application/json": {"schema": {
                                                             "type": "object",
                                                             "properties": {"yaml": {"type": "string"}}}}}}})
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
    if not str(text).strip():
        raise ApiError(400, "empty_body", "规则集内容为空 (empty rule set)", [{"field": "body"}])
    ruleset = parse_ruleset(str(text), source="upload")
    engine = request.app.state.engine
    with engine.begin() as conn:
        existed = conn.scalar(ev.select(ev.m.RuleSetRecord.id).where(ev.m.RuleSetRecord.sha256 == ruleset.sha256))
        pk = ev.store_ruleset(conn, ruleset, actor=user.name)
    with engine.connect() as conn:
        body = ev.get_ruleset(conn, f"{ruleset.id}@{ruleset.version}")
    body["created"] = existed is None
    from fastapi.encoders import jsonable_encoder

    return JSONResponse(jsonable_encoder(body), status_code=201 if existed is None and pk else 200)
