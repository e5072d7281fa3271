"""Print maps: a vector PDF of an evaluation result on A3 or A4 paper, at a true scale.

The page holds the title, the map frame (parcels by status and the zone outlines, drawn by
:func:`gis.maps.draw_static`, with the district and park names and a labelled CGCS2000 coordinate grid in metres
of the working CRS), and a panel with the 指北针, the 图例 (statuses with their colours from the ``legend``, zone
layers), the 比例尺 (a bar in metres and the representative fraction 1:N) and the 制图单位/制图日期/数据来源 block.

The scale is exact: the frame's width on paper (mm) and the ground width of the data (metres, padded) give the
smallest round denominator N (1, 2, 2.5 or 5 × 10^k) that fits the data, and the frame then shows exactly
N/1000 metres per millimetre of paper, so the bar and 1:N can be measured with a ruler on the printed sheet.
Text is in the Noto CJK fonts embedded as Type 42 (selectable and searchable in the PDF).

Like :mod:`gis.maps`, this module knows no rule ids: names and colours come from the ``legend``
(``RuleSet.legend()``).

Examples
--------
>>> print_scale((11_000.0, 4_000.0), (250.0, 180.0))  # 44 m per mm across → 1:44 000 → the round 1:50 000
50000
>>> paper_size("A3", landscape=True), paper_size("A4", landscape=False)
((420.0, 297.0), (210.0, 297.0))
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gis import _map_data as md
from gis.crs import WORKING_CRS
from gis.maps import _as_gdf, _cjk_font, draw_static, length_text, round_length

# ISO 216 sizes in millimetres, (short side, long side).
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
MARGIN_MM = 10.0  # page edge to the frame and the panel
TITLE_MM = 16.0  # the title band above the frame
GRID_LABEL_MM = (11.0, 7.0)  # room left of and below the frame for the grid labels
PANEL_MM = 80.0  # the side panel (landscape: its width; portrait: its height)
GAP_MM = 5.0  # between the frame and the panel
PAD = 0.04  # share of the data's extent added on each side before the scale is chosen
MIN_EXTENT_M = 200.0  # the least ground width and height shown (a single parcel is drawn with its surroundings)
SCALE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)  # round denominators × 10^k: 1:1000, 1:1500, …


class PrintMap(NamedTuple):
    """A written print map: its path, the scale denominator N (1:N), the paper size in mm and the frame in mm."""

    path: Path
    scale: int
    page_mm: tuple[float, float]
    frame_mm: tuple[float, float, float, float]


def paper_size(paper: str, landscape: bool = True) -> tuple[float, float]:
    """Page (width, height) in mm; ``paper`` is ``A3`` or ``A4`` (any case), else a ``ValueError`` in Chinese."""
    key = str(paper).strip().upper()
    if key not in PAPERS:
        raise ValueError(f"不支持的纸张 {paper!r} (unsupported paper): 可选 {' / '.join(PAPERS)}")
    short, long = PAPERS[key]
    return (long, short) if landscape else (short, long)


def print_layout(paper: str, landscape: bool = True) -> dict[str, tuple[float, float, float, float]]:
    """The page's rectangles in mm from its lower-left corner, ``(x, y, width, height)``.

    ``frame`` is the map; ``north``, ``legend``, ``scale``, ``info`` are the panel's parts (a column on the right
    of a landscape page, a row below the frame of a portrait one).

    >>> print_layout("A4", landscape=True)["frame"]  # 297 - 10 - 11 - 5 - 80 - 10 = 181 wide, 210 - 10 - 7 - 16 - 10
    (21.0, 17.0, 181.0, 167.0)
    """
    w, h = paper_size(paper, landscape)
    gl, gb = GRID_LABEL_MM
    if landscape:
        frame = (MARGIN_MM + gl, MARGIN_MM + gb, w - 2 * MARGIN_MM - gl - GAP_MM - PANEL_MM,
                 h - 2 * MARGIN_MM - gb - TITLE_MM)
        px, top = w - MARGIN_MM - PANEL_MM, h - MARGIN_MM - TITLE_MM
        north = (px, top - 28.0, PANEL_MM, 28.0)
        info = (px, MARGIN_MM, PANEL_MM, 34.0)
        scale = (px, MARGIN_MM + 36.0, PANEL_MM, 24.0)
        legend = (px, scale[1] + scale[3] + 2.0, PANEL_MM, north[1] - (scale[1] + scale[3] + 2.0))
    else:
        frame = (MARGIN_MM + gl, MARGIN_MM + PANEL_MM + GAP_MM + gb, w - 2 * MARGIN_MM - gl,
                 h - 2 * MARGIN_MM - PANEL_MM - GAP_MM - gb - TITLE_MM)
        col = (w - 2 * MARGIN_MM) / 3
        north = (MARGIN_MM, MARGIN_MM + PANEL_MM - 30.0, col, 30.0)
        scale = (MARGIN_MM, MARGIN_MM + PANEL_MM - 58.0, col, 26.0)
        legend = (MARGIN_MM + col, MARGIN_MM, col, PANEL_MM)
        info = (MARGIN_MM + 2 * col, MARGIN_MM, col, PANEL_MM)
    return {"frame": frame, "north": north, "legend": legend, "scale": scale, "info": info}


def print_scale(extent_m: tuple[float, float], frame_mm: tuple[float, float]) -> int:
    """The scale denominator N for a ground extent (width, height in metres) in a frame (width, height in mm).

    The smallest round N (see :data:`SCALE_STEPS`) at which the extent fits the frame both ways:
    N ≥ 1000 × max(width_m / width_mm, height_m / height_mm).
    """
    need = 1000.0 * max(extent_m[0] / frame_mm[0], extent_m[1] / frame_mm[1])
    if not need > 0:
        return 1000
    mag = 10.0 ** math.floor(math.log10(need))
    return int(round(min(s * mag for s in (*SCALE_STEPS, 10.0) if s * mag >= need * (1 - 1e-9))))


def scale_text(n: int) -> str:
    """``1:50,000`` — the representative fraction as printed."""
    return f"1:{n:,d}"


def _data_bounds(parcels: gpd.GeoDataFrame, zones: Mapping[str, gpd.GeoDataFrame] | None) -> np.ndarray:
    """The parcels' bounds (the zones' if there are no parcels), padded by :data:`PAD` of the extent on each side
    and at least :data:`MIN_EXTENT_M` wide and high."""
    geoms = parcels.geometry.to_numpy()
    b = shapely.total_bounds(geoms[~shapely.is_empty(geoms)]) if len(geoms) else np.full(4, np.nan)
    if not np.all(np.isfinite(b)):
        layers = [z.to_crs(parcels.crs).geometry.to_numpy() for z in (zones or {}).values() if z is not None and len(z)]
        b = shapely.total_bounds(np.concatenate(layers)) if layers else np.full(4, np.nan)
    if not np.all(np.isfinite(b)):
        raise ValueError("结果中没有可绘制的宗地或分区 / nothing to draw: the result has no parcel or zone geometry")
    centre = (b[:2] + b[2:]) / 2
    half = np.maximum((b[2:] - b[:2]) * (1 + 2 * PAD), MIN_EXTENT_M) / 2  # one small parcel: its neighbourhood
    return np.concatenate([centre - half, centre + half])


def _names(layer: gpd.GeoDataFrame, view: Any, columns: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Representative points (of each feature clipped to the view) and names of a zone layer's features."""
    col = next((c for c in columns if c in layer.columns), None)
    if col is None:
        return np.empty((0, 2)), []
    names = layer[col].astype("string")
    if col != "park_id" and "park_id" in layer.columns:
        names = names.fillna(layer["park_id"].astype("string"))
    clipped = shapely.intersection(layer.geometry.to_numpy(), view)
    keep = ~shapely.is_empty(clipped) & names.notna().to_numpy() & (names.str.strip() != "").fillna(False).to_numpy()
    points = shapely.get_coordinates(shapely.point_on_surface(clipped[keep]))
    return points, names[keep].tolist()


def _label_places(ax: Any, zones: Mapping[str, gpd.GeoDataFrame] | None, crs: Any, view: Any) -> None:
    """The district and park names at the representative points of their parts inside the frame."""
    # a light box behind each name (a stroked halo would turn the text into outlines: not selectable)
    for kind, columns, size, color, weight in (
        ("districts", ("name", "district"), 11, "#404040", "bold"),
        ("parks", ("name", "park_id"), 7.5, "#5a1f73", "normal"),
    ):
        layer = (zones or {}).get(kind)
        if layer is None or len(layer) == 0:
            continue
        points, names = _names(layer.to_crs(crs), view, columns)
        for (x, y), name in zip(points, names, strict=True):
            ax.text(x, y, name, ha="center", va="center", fontsize=size, color=color, fontweight=weight,
                    bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.65},
                    clip_on=True, zorder=5)


def _grid(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float]) -> float:
    """Grid lines every round number of metres (4–10 across), labelled in metres at the frame's edges."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    step = round_length((xlim[1] - xlim[0]) / 4)
    xs = np.arange(math.ceil(xlim[0] / step), math.floor(xlim[1] / step) + 1) * step
    ys = np.arange(math.ceil(ylim[0] / step), math.floor(ylim[1] / step) + 1) * step
    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace(",", " "))
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.yaxis.set_major_locator(FixedLocator(ys))
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.tick_params(labelsize=6.5, length=2, width=0.4, direction="out", top=True, right=True)
    for label in ax.get_yticklabels():
        label.set_rotation(90)
        label.set_va("center")
    ax.grid(True, color="#7f7f7f", linewidth=0.3, linestyle=(0, (4, 3)), zorder=4)
    ax.set_xlabel("东坐标 Y（米）", fontsize=7, labelpad=1)
    ax.set_ylabel("北坐标 X（米）", fontsize=7, labelpad=1)
    ax.set_axisbelow(False)
    return step


def _north_arrow(ax: Any, w: float, h: float) -> None:
    from matplotlib.patches import Polygon

    cx, base, top, half = w / 2, 4.0, h - 7.0, 4.0
    mid = base + (top - base) * 0.35
    ax.add_patch(Polygon([(cx, top), (cx - half, base), (cx, mid)], closed=True, facecolor="black",
                         edgecolor="black", linewidth=0.6))
    ax.add_patch(Polygon([(cx, top), (cx + half, base), (cx, mid)], closed=True, facecolor="white",
                         edgecolor="black", linewidth=0.6))
    ax.text(cx, top + 0.8, "北", ha="center", va="bottom", fontsize=12, fontweight="bold")
    ax.text(cx + half + 2.0, base, "指北针（坐标北）", ha="left", va="bottom", fontsize=6.5, color="#404040")


def _scale_bar(ax: Any, w: float, h: float, n: int) -> float:
    """A bar of four alternating segments whose length on paper is its ground length at 1:n; returns metres."""
    from matplotlib.patches import Rectangle

    metres_per_mm = n / 1000.0
    bar_m = round_length(metres_per_mm * (w - 16.0))  # as long as the panel allows, a round length
    bar_mm = bar_m / metres_per_mm
    x0, y0, hh = 4.0, h - 16.0, 2.2
    for i in range(4):
        ax.add_patch(Rectangle((x0 + i * bar_mm / 4, y0), bar_mm / 4, hh, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.5))
    per, word = (1000.0, "公里") if bar_m >= 1000 else (1.0, "米")
    for i in (0, 2, 4):
        ax.text(x0 + i * bar_mm / 4, y0 + hh + 0.8, f"{bar_m * i / 4 / per:g}", ha="center", va="bottom",
                fontsize=6.5)
    ax.text(x0 + bar_mm + 1.5, y0, word, ha="left", va="bottom", fontsize=6.5)
    ax.text(x0, h - 5.0, f"比例尺 {scale_text(n)}", ha="left", va="center", fontsize=10, fontweight="bold")
    ax.text(x0, y0 - 3.0, f"图上 1 厘米 = 实地 {length_text(n / 100.0)}", ha="left", va="top", fontsize=6.5)
    return bar_m


def _mm_axes(fig: Any, rect: tuple[float, float, float, float], page: tuple[float, float]) -> Any:
    """An invisible axes over ``rect`` whose data units are millimetres of paper."""
    x, y, w, h = rect
    ax = fig.add_axes((x / page[0], y / page[1], w / page[0], h / page[1]))
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_axis_off()
    return ax


def print_map_pdf(
    path: str | Path,
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None = None,
    zones: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    legend: Mapping[str, Any] | md.Legend,
    paper: str = "A3",
    landscape: bool = True,
    title: str = "工业用地合规评估图",
    layer: str = "overall",
    unit: str = "",
    source: str = "",
    date: dt.date | None = None,
) -> PrintMap:
    """Write the print map of a result as a vector PDF (one page, A3 or A4) and return its :class:`PrintMap`.

    ``parcels``, ``verdicts``, ``zones`` as for :func:`gis.maps.static_map_png` (``layer`` the same choice);
    ``unit`` (制图单位) and ``source`` (数据来源) are printed as given (a blank line to fill in by hand when
    empty); ``date`` (制图日期) defaults to today.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.patches import Rectangle

    page = paper_size(paper, landscape)
    boxes = print_layout(paper, landscape)
    parcels = _as_gdf(parcels, "parcels")
    if not parcels.crs.is_projected:
        parcels = parcels.to_crs(WORKING_CRS)
    b = _data_bounds(parcels, zones)
    fx, fy, fw, fh = boxes["frame"]
    n = print_scale((b[2] - b[0], b[3] - b[1]), (fw, fh))
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    half_w, half_h = fw * n / 2000.0, fh * n / 2000.0  # exactly n/1000 metres per millimetre of frame
    xlim, ylim = (cx - half_w, cx + half_w), (cy - half_h, cy + half_h)
    crs = pyproj.CRS(parcels.crs)
    rc = {
        "font.sans-serif": _cjk_font(),
        "font.family": "sans-serif",
        "axes.unicode_minus": False,
        "pdf.fonttype": 42,  # TrueType (Type 42) embedding: the text stays text
        "hatch.linewidth": 0.4,
    }
    with plt.rc_context(rc):
        fig = plt.figure(figsize=(page[0] / 25.4, page[1] / 25.4))
        try:
            ax = fig.add_axes((fx / page[0], fy / page[1], fw / page[0], fh / page[1]))
            drawn = draw_static(ax, parcels, verdicts, zones, legend, layer, line_scale=0.5, parcel_edge=0.15)
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)
            _label_places(ax, zones, parcels.crs, shapely.box(xlim[0], ylim[0], xlim[1], ylim[1]))
            step = _grid(ax, xlim, ylim)
            for spine in ax.spines.values():
                spine.set_linewidth(0.8)
            fig.text(0.5, 1 - (MARGIN_MM + TITLE_MM / 2) / page[1], title, ha="center", va="center", fontsize=18,
                     fontweight="bold")
            ax.text(0.0, 1.0, f"  坐标网格：{length_text(step)}（{crs.name}，{WORKING_CRS}，单位：米）",
                    transform=ax.transAxes, ha="left", va="bottom", fontsize=6.5, color="#404040")

            _north_arrow(_mm_axes(fig, boxes["north"], page), *boxes["north"][2:])
            lax = _mm_axes(fig, boxes["legend"], page)
            lax.legend(handles=drawn.handles, labels=drawn.labels,
                       handler_map={tuple: HandlerTuple(ndivide=None, pad=0)}, loc="upper left",
                       title=f"图例　{drawn.subtitle}", fontsize=8, title_fontsize=9, frameon=False,
                       alignment="left", borderaxespad=0.2, handlelength=2.2)
            _scale_bar(_mm_axes(fig, boxes["scale"], page), *boxes["scale"][2:], n)
            iax = _mm_axes(fig, boxes["info"], page)
            iax.add_patch(Rectangle((0, 0), *boxes["info"][2:], fill=False, linewidth=0.6, clip_on=False))
            rows = [
                ("制图单位", unit or "＿＿＿＿＿＿＿＿＿＿"),
                ("制图日期", (date or dt.date.today()).isoformat()),
                ("数据来源", source or "＿＿＿＿＿＿＿＿＿＿"),
                ("坐标系统", f"CGCS2000（{WORKING_CRS}）"),
            ]
            row_h = boxes["info"][3] / len(rows)
            for i, (key, value) in enumerate(rows):
                y = boxes["info"][3] - (i + 0.5) * row_h
                iax.text(2.0, y, f"{key}：", ha="left", va="center", fontsize=7.5, fontweight="bold")
                iax.text(16.0, y, "\n".join(textwrap.wrap(value, 28)[:2]), ha="left", va="center", fontsize=7.5,
                         linespacing=1.1)
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="pdf", metadata={"Title": title, "Subject": scale_text(n), "Creator": "mujun"})
        finally:
            plt.close(fig)
    return PrintMap(path, n, page, boxes["frame"])
