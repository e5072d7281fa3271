"""``create_app``: the only place the mujun HTTP application is built (OGC API, datasets, evaluations, …)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import (
    ogc,
    openapi30,
    routes_admin,
    routes_check,
    routes_datasets,
    routes_evaluations,
    routes_rulesets,
    tiles,
    web,
)
from api.errors import ApiError, error_body, register_error_handlers
from api.settings import Settings, get_settings
from api.store.engine import get_engine


class BodyLimitMiddleware:
    """Refuse request bodies above ``max_bytes`` with 413, by Content-Length and while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the body as it arrives; answer 413 as soon as it is too large."""
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        web = str(scope.get("path", "")).startswith("/web/")  # a planner's form: answer with a page, not JSON
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit, web)
            return
        received = 0
        started = False
        exceeded = False  # the body passed the limit: whatever the app answers, the client gets the 413
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise ApiError(413, "payload_too_large", _too_large_message(limit))
            return message

        async def guarded_send(message: Message) -> None:
            # A chunked body has no Content-Length: the limit is found while the app reads it, and the app's
            # body parser turns the error into its own 400 ("error parsing the body"). Replace that answer.
            nonlocal started, answered
            if exceeded and not started:
                if not answered:
                    answered = True
                    await _too_large(send, limit, web)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started and not answered:
            await _too_large(send, limit, web)


SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    # The results page shows the map in a same-origin frame; nobody else may frame a page (clickjacking).
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Add ``SECURITY_HEADERS`` to every HTTP response (a header the response already sets is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in SECURITY_HEADERS if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _too_large_message(limit: int) -> str:
    return (
        f"上传内容超过 {limit / 2**20:.3g} MB 上限 (upload larger than the {limit / 2**20:.3g} MB limit); "
        "请拆分文件或调整 MUJUN_MAX_UPLOAD_MB"
    )


async def _too_large(send: Send, limit: int, web: bool = False) -> None:
    import html
    import json

    message = _too_large_message(limit)
    if web:
        body = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>上传内容过大 · mujun</title></head>'
            f'<body><h1>上传内容过大 (413)</h1><p id="error-message">{html.escape(message)}</p>'
            '<p><a href="/web/import">返回数据导入</a></p></body></html>'
        ).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps(
            error_body("payload_too_large", message, [{"limit_bytes": limit}]), ensure_ascii=False
        ).encode()
        content_type = b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        app.openapi_schema = openapi30.downgrade(doc)
    return app.openapi_schema


def create_app(settings: Settings | None = None, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """Build the app: store engine (migrated), error mapping, upload limit, API routers, extra ``routers``.

    The web pages are included too (``api.web.register``).
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="亩均 mujun API",
        version="0.1.0",
        description="成都工业用地合规评估：OGC API – Features、数据集、规则集、评估与导出",
        openapi_url="/api",
        docs_url=None,  # served below from local files: the bureau's intranet has no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings)
    register_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=int(settings.max_upload_mb * 1024 * 1024))
    app.include_router(ogc.router)
    ogc.setup(app)  # the same endpoints again under /datasets/{id}/ogc/
    tiles.setup(app)  # vector tiles of the collections, at both roots
    for module in (routes_datasets, routes_rulesets, routes_evaluations, routes_check, routes_admin):
        app.include_router(module.router)
    routes_evaluations.setup(app)  # the evaluation worker pool
    for router in routers:
        app.include_router(router)
    web.register(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _offline_docs(app)
    app.add_middleware(_BrowserHomeMiddleware)
    if settings.cors_origins:
        # Bearer tokens travel in a header, never in cookies, so other origins get no credentials.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Accept"], max_age=600)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every response gets them, errors and 413s too
    return app


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at ``/api.html`` with its script and stylesheet from the fastapi-offline package."""
    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/static/apidocs", StaticFiles(directory=assets), name="apidocs")

    @app.get("/api.html", include_in_schema=False)
    def api_docs() -> Any:
        return get_swagger_ui_html(
            openapi_url="/api",
            title="亩均 mujun API",
            swagger_js_url="/static/apidocs/swagger-ui-bundle.js",
            swagger_css_url="/static/apidocs/swagger-ui.css",
            swagger_favicon_url="/static/apidocs/favicon.png",
        )


class _BrowserHomeMiddleware:
    """A browser opening ``/`` (asking for HTML) lands on the planners' pages; API clients get JSON."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "GET":
            headers = dict(scope.get("headers") or [])
            accept = headers.get(b"accept", b"").decode("latin-1")
            query = scope.get("query_string", b"").decode("latin-1")
            if "text/html" in accept and "f=json" not in query:
                response = RedirectResponse("/web/", status_code=307)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
