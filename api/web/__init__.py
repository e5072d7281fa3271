"""The planners' web pages (Chinese, offline): a router factory, a static mount and ``register(app)``.

``create_app`` calls ``register(app)``; any other app can do ``app.include_router(router(settings))`` and
``mount_static(app)`` itself. Pages live under ``/web/``; our CSS/JS and the vendored Bootstrap, jQuery,
Font Awesome and Leaflet (from the xstatic packages, never a CDN) under ``/web/static/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"


def router(settings: Settings | None = None) -> APIRouter:
    """The pages' router (prefix ``/web``)."""
    from api.web.pages import router as pages_router

    return pages_router(settings)


def vendor_dirs() -> dict[str, Path]:
    """Offline front-end libraries from the xstatic packages: name -> folder."""
    import xstatic.pkg.bootstrap as bootstrap
    import xstatic.pkg.font_awesome as font_awesome
    import xstatic.pkg.jquery as jquery
    import xstatic.pkg.leaflet as leaflet

    return {
        "bootstrap": Path(bootstrap.BASE_DIR),
        "jquery": Path(jquery.BASE_DIR),
        "font-awesome": Path(font_awesome.BASE_DIR),
        "leaflet": Path(leaflet.BASE_DIR),
    }


def mount_static(app: FastAPI) -> None:
    """Serve our CSS/JS at ``/web/static/``, vendored libraries in ``vendor/``, map assets in ``map/``."""
    from gis.maps import asset_dirs

    for name, folder in vendor_dirs().items():
        app.mount(f"/web/static/vendor/{name}", StaticFiles(directory=folder), name=f"web-vendor-{name}")
    for name, folder in asset_dirs().items():
        app.mount(f"/web/static/map/{name}", StaticFiles(directory=folder), name=f"web-map-{name}")
    app.mount("/web/static", StaticFiles(directory=STATIC_DIR), name="web-static")


def register(app: FastAPI, settings: Any = None) -> None:
    """Add the pages, their static files and HTML error pages to ``app`` (called by ``create_app``)."""
    from api.web.pages import install_error_pages

    app.include_router(router(settings or getattr(app.state, "settings", None)))
    mount_static(app)
    install_error_pages(app)

    @app.get("/web", include_in_schema=False)
    def _web_root() -> RedirectResponse:
        return RedirectResponse("/web/", status_code=307)
