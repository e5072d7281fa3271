"""The planners' web pages (Chinese, offline): their routers, a static mount and ``register(app)``.

``create_app`` calls ``register(app)``; any other app can include ``api.web.pages.ROUTERS``, call
``mount_static(app)`` and ``api.web.pages.install_error_pages(app)`` itself. Pages live under ``/web/``; our
CSS/JS and the vendored Bootstrap, jQuery, Font Awesome and Leaflet (from the xstatic packages, never a CDN)
under ``/web/static/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


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
    """Add the pages, their static files and HTML error pages to ``app`` (called by ``create_app``).

    ``settings`` is not needed: the pages read the app's settings at request time.
    """
    from api.web.pages import ROUTERS, install_error_pages

    for router in ROUTERS:
        app.include_router(router)
    mount_static(app)
    install_error_pages(app)

    @app.get("/web", include_in_schema=False)
    def _web_root() -> RedirectResponse:
        return RedirectResponse("/web/", status_code=307)
