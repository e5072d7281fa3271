"""One place that turns exceptions into JSON errors: ``{"code", "message" (Chinese), "details"}``.

Domain errors (``gis.errors.GisError``, ``rules.errors.RuleSetError``, store errors) map to 4xx status codes;
request validation errors become 400 naming the parameter; anything unexpected is logged and becomes a 500
with no internals in the body.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.store.errors import Conflict, ImportRejected, NotFound, StoreError

log = logging.getLogger("mujun.api")


class ApiError(Exception):
    """An error raised by the HTTP layer itself (bad parameter, upload too large, unsafe archive, auth)."""

    def __init__(self, status_code: int, code: str, message: str, details: Sequence[Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = list(details or [])
        self.headers = headers
        super().__init__(message)


class ErrorBody(BaseModel):
    """The stable error shape every endpoint returns (see :func:`error_body`)."""

    code: str = Field(description="机器可读的错误代码，如 not_found、invalid_parameter (machine-readable code)")
    message: str = Field(description="中文说明，括号内附英文 (Chinese message, English in parentheses)")
    details: list[Any] = Field(description="出错的参数、文件、行或规则 (what is wrong, where)")


def error_body(code: str, message: str, details: Sequence[Any] | None = None) -> dict[str, Any]:
    """The stable error shape every endpoint returns."""
    return {"code": code, "message": message, "details": list(details or [])}


ERROR_DESCRIPTIONS = {
    400: "请求参数有误：缺少、类型不对或超出范围 (invalid_parameter and other bad requests)",
    401: "缺少令牌，或令牌无效、已吊销、已过期 (unauthorized, invalid_token, token_revoked, token_expired)",
    403: "当前角色无权执行此操作 (forbidden: the token's role is too low)",
    404: "所指的资源不存在 (not_found)",
    409: "与已有内容冲突 (conflict)",
    413: "请求体超过上传上限 MUJUN_MAX_UPLOAD_MB (payload_too_large)",
    415: "不支持的内容类型 (unsupported_media_type)",
    422: "内容未通过校验：文件、几何或规则集有问题，details 指明位置 (the content failed validation)",
}


ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with :class:`ErrorBody` as JSON and what it means here.

    The content is given, not the model: FastAPI would document a model under the route's own media type
    (GeoJSON on the OGC items), while errors are always ``application/json``. ``api.openapi30`` adds the
    ``ErrorBody`` schema the references point to.
    """
    return {status: {"description": ERROR_DESCRIPTIONS[status], "content": ERROR_CONTENT} for status in statuses}


def _json(status: int, code: str, message: str, details: Sequence[Any] | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def gis_error_details(exc: Exception) -> list[dict[str, Any]]:
    """Each problem of a ``GisError`` as ``{file, message, ids, hint}``."""
    problems = getattr(exc, "problems", None) or [exc]
    return [{"kind": type(p).__name__, "file": getattr(p, "path", None),
             "message": getattr(p, "message", str(p)), "ids": list(getattr(p, "ids", []) or [])[:200],
             "hint": getattr(p, "hint", None)} for p in problems]


def _status_for_store(exc: StoreError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, ImportRejected):
        return 422
    return 400


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "unprocessable"}
_HTTP_MESSAGES = {404: "资源不存在 (not found)", 405: "不支持该请求方法 (method not allowed)",
                  401: "需要登录令牌 (authentication required)", 403: "无权限 (forbidden)"}


def register_error_handlers(app: FastAPI) -> None:
    """Install the exception → JSON error mapping on ``app``."""
    from gis.archive import NotAnArchiveError, UnsafeArchiveError
    from gis.errors import GisError
    from rules.compare import CompareError
    from rules.errors import RuleSetError
    from rules.trend import TrendError

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(GisError)
    async def _gis_error(_req: Request, exc: GisError) -> JSONResponse:
        code = ("unsafe_archive" if isinstance(exc, UnsafeArchiveError)
                else "invalid_archive" if isinstance(exc, NotAnArchiveError) else "invalid_input")
        return _json(422, code, f"输入数据有问题 (invalid input): {exc.message}", gis_error_details(exc))

    @app.exception_handler(RuleSetError)
    async def _ruleset_error(_req: Request, exc: RuleSetError) -> JSONResponse:
        details = [{"path": path, "message": msg} for path, msg in exc.problems]
        return _json(422, "invalid_ruleset",
                     f"规则集有 {len(details)} 处问题 (rule set has {len(details)} problem(s))", details)

    @app.exception_handler(CompareError)
    @app.exception_handler(TrendError)
    async def _compare_error(_req: Request, exc: CompareError | TrendError) -> JSONResponse:
        return _json(422, "not_comparable", exc.message, [])

    @app.exception_handler(StoreError)
    async def _store_error(_req: Request, exc: StoreError) -> JSONResponse:
        return _json(_status_for_store(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path")),
                    "location": (e.get("loc") or ["?"])[0], "message": e.get("msg"),
                    "input": _short(e.get("input"))} for e in exc.errors()]
        names = ", ".join(d["field"] for d in details)
        return _json(400, "invalid_parameter", f"请求参数有误 (invalid request parameters): {names}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in _HTTP_MESSAGES \
            else _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(req)}
        return _json(exc.status_code, code, message, [], headers)

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return _json(500, "internal_error", "服务器内部错误，已记录日志 (internal error; it has been logged)")


def _allowed_methods(request: Request) -> str:
    """Every method the request's path answers to (Starlette's 405 names only the first route's)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


def _short(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value if not isinstance(value, str) or len(value) < 200 else value[:200] + "…"
    return str(value)[:200]
