"""The committed Chengdu sample set: ``write_sample(out_dir)``; ``generate.py`` runs it for this folder.

The ten parks are drawn at their real sites and approximate public planned areas (``PARKS``, written out as
parks.csv with sources) and filled in part with parcels in industrial sub-areas, with satellite blocks and
scattered plots outside them; then the documented example cases of ``cases.yaml`` are pinned on suitable parcels
(written out as examples.csv).  One ``numpy.random.default_rng(seed)``: the same seed writes byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from shapely import affinity

from data.sample_parcels._common import (
    _RESTRICTED,
    _SECTORS,
    AS_OF,
    INDUSTRIAL_CODES,
    INDUSTRIAL_P,
    MU_M2,
    NON_INDUSTRIAL_CODES,
    NON_INDUSTRIAL_P,
    WORKING_CRS,
    _add_years,
    _assemble,
    _blank_na,
    _district_land,
    _ellipse,
    _enterprise_table,
    _land_supply,
    _lattice,
    _occupancy,
    _parcel_ids,
    _split_blocks,
    _to_xy,
    _write_csv,
    _write_set,
    ring_polygon,
)

SAMPLE_SEED = 20230323


# ---------------------------------------------------------------------------------------------- parks and sites


@dataclass(frozen=True)
class _Park:
    """A 产业功能区/园区 of the sample: real site, approximate public area, and how the sample fills it."""

    park_id: str
    code: str  # parcel-id prefix of its area
    district: str
    name: str
    lon: float
    lat: float
    area_km2: float  # planned area, drawn to this size (parks.csv, with its source)
    source: str
    sector: str  # industry mix key (_SECTORS)
    level: float  # per-mu output multiplier of the park's firms
    founded: int  # year the park's core land was first supplied
    parcels: int  # sample parcels of the park, including its fringe just outside the boundary
    clusters: int  # industrial sub-areas the parcels form: the core, others, and one at the boundary
    street_angle: float  # street-grid orientation, degrees anticlockwise
    elongation: float  # outline length ÷ width
    axis: float  # direction of the outline's long axis, degrees anticlockwise from east


_APPROX = "近似公开数字，凭记忆整理，生成时未联网核实"
PARKS = (
    _Park("P01", "GX", "高新区", "成都高新区西区 电子信息产业功能区", 103.951, 30.742, 43.0,
          f"成都高新区西部园区（高新西区）规划面积约 43 km²，高新区园区介绍（约 2020 年）；{_APPROX}",
          "C39", 1.25, 2001, 230, 3, 18, 1.35, 5),
    _Park("P02", "GX", "高新区", "成都高新区南区 新经济活力区", 104.065, 30.568, 68.0,
          f"新经济活力区规划面积约 68 km²，高新区产业功能区介绍（约 2019 年）；{_APPROX}",
          "C39", 1.35, 2000, 110, 3, 0, 1.6, 85),
    _Park("P03", "CH", "成华区", "成华区 龙潭工业机器人产业功能区", 104.150, 30.712, 13.0,
          f"龙潭工业机器人产业功能区规划面积约 13 km²，成华区产业功能区介绍（约 2019 年）；{_APPROX}",
          "C38", 1.0, 2006, 75, 2, -8, 1.3, 60),
    _Park("P04", "JK", "龙泉驿区", "成都经开区 汽车产业功能区", 104.270, 30.610, 75.0,
          f"成都经开区汽车产业功能区规划面积约 75 km²，龙泉驿区产业功能区介绍（约 2019 年）；{_APPROX}",
          "C36", 1.05, 2001, 230, 4, 24, 1.4, 50),
    _Park("P05", "QBJ", "青白江区", "青白江 欧洲产业城", 104.262, 30.815, 65.0,
          f"成都—欧洲产业城规划面积约 65 km²，青白江区介绍（约 2018 年）；{_APPROX}",
          "C34", 0.9, 2012, 165, 3, -15, 1.5, -20),
    _Park("P06", "XD", "新都区", "新都 现代交通产业功能区", 104.132, 30.853, 36.0,
          f"现代交通产业功能区规划面积约 36 km²，新都区产业功能区介绍（约 2019 年）；{_APPROX}",
          "C37", 0.95, 2005, 165, 3, 30, 1.3, 30),
    _Park("P07", "SL", "双流区", "双流 航空经济区", 103.922, 30.540, 35.0,
          f"双流航空经济区（航空动力产业功能区）规划面积约 35 km²，双流区介绍（约 2019 年）；{_APPROX}",
          "C37", 1.0, 2004, 160, 3, -12, 1.4, 100),
    _Park("P08", "WJ", "温江区", "温江 成都医学城", 103.830, 30.725, 30.0,
          f"成都医学城规划面积约 30 km²，温江区介绍（约 2019 年）；{_APPROX}",
          "C27", 1.3, 2008, 150, 2, 35, 1.3, 120),
    _Park("P09", "PD", "郫都区", "郫都 电子信息产业功能区（菁蓉镇）", 103.885, 30.828, 28.0,
          f"郫都电子信息产业功能区（含菁蓉镇）规划面积约 28 km²，郫都区介绍（约 2019 年）；{_APPROX}",
          "C39", 0.95, 2006, 125, 2, 40, 1.3, 70),
    _Park("P10", "DB", "东部新区", "东部新区 空港新城", 104.485, 30.385, 50.0,
          "空港新城规划面积约 483 km²（含天府国际机场及城区，2017 年公开数字，凭记忆）；"
          "样例只画其产业片区，约 50 km² 为示意值，非公开数字",
          "C37", 1.0, 2017, 100, 3, 10, 1.5, 40),
)  # fmt: skip


@dataclass(frozen=True)
class _Site:
    """Existing industrial land outside the parks (satellite blocks and scattered plots)."""

    code: str
    district: str
    lon: float
    lat: float
    parcels: int
    kind: str  # multi_site (in UDB and PCA) | outside (in UDB, outside PCA) | remote (outside UDB) | scattered
    sector: str
    level: float
    founded: int
    street_angle: float
    line: str  # "red" / "blue" / "" (no protection line drawn)
    line_name: str


SITES = (
    _Site("JK", "龙泉驿区", 104.345, 30.688, 45, "multi_site",
          "C36", 0.9, 2003, 5, "red", "经开区 东北片区 工业红线区"),
    _Site("PD", "郫都区", 103.832, 30.882, 35, "multi_site",
          "C39", 0.9, 2004, -20, "blue", "郫都区 安德片区 工业蓝线区"),
    _Site("CH", "成华区", 104.105, 30.690, 30, "multi_site",
          "C38", 0.9, 2000, 12, "blue", "成华区 东郊老工业区 工业蓝线区"),
    _Site("DB", "东部新区", 104.562, 30.442, 30, "multi_site",
          "C37", 0.9, 2012, 0, "red", "东部新区 空港北片 工业红线区"),
    _Site("SL", "双流区", 103.862, 30.482, 35, "outside",
          "mixed", 0.8, 2002, -25, "blue", "双流区 弹性区 工业蓝线区"),
    _Site("WJ", "温江区", 103.762, 30.672, 35, "outside",
          "C27", 0.8, 2003, 15, "blue", "温江区 弹性区 工业蓝线区"),
    _Site("XD", "新都区", 104.215, 30.928, 30, "remote", "mixed", 0.7, 2001, 8, "", ""),
    _Site("QBJ", "青白江区", 104.372, 30.878, 40, "remote", "heavy", 0.7, 2000, -10, "", ""),
    # 零散工业用地: one plot each, in the urban development boundary, outside the parks
    _Site("CH", "成华区", 104.120, 30.668, 1, "scattered",
          "mixed", 0.8, 2000, 0, "blue", "成华区 零散工业用地 工业蓝线区"),
    _Site("CH", "成华区", 104.176, 30.662, 1, "scattered", "mixed", 0.8, 2000, 0, "", ""),
    _Site("GX", "高新区", 104.137, 30.548, 1, "scattered", "C39", 0.9, 2003, 0, "", ""),
    _Site("JK", "龙泉驿区", 104.332, 30.553, 1, "scattered",
          "C36", 0.8, 2002, 0, "blue", "龙泉驿区 零散工业用地 工业蓝线区"),
    _Site("XD", "新都区", 104.192, 30.800, 1, "scattered", "mixed", 0.8, 2001, 0, "", ""),
    _Site("SL", "双流区", 103.992, 30.498, 1, "scattered", "mixed", 0.8, 2003, 0, "", ""),
    _Site("WJ", "温江区", 103.880, 30.680, 1, "scattered",
          "C27", 0.8, 2004, 0, "blue", "温江区 零散工业用地 工业蓝线区"),
    _Site("PD", "郫都区", 103.962, 30.815, 1, "scattered", "mixed", 0.8, 2002, 0, "", ""),
    _Site("QBJ", "青白江区", 104.200, 30.882, 1, "scattered", "heavy", 0.7, 2000, 0, "", ""),
    _Site("DB", "东部新区", 104.400, 30.420, 1, "scattered", "mixed", 0.8, 2006, 0, "", ""),
)  # fmt: skip

# Voronoi seeds of the sample's simplified 区(市)县; each park and site is then moved into its own district.
SAMPLE_DISTRICT_SEEDS = (
    ("高新区", 103.945, 30.742),
    ("高新区", 104.065, 30.560),
    ("成华区", 104.130, 30.695),
    ("龙泉驿区", 104.285, 30.590),
    ("青白江区", 104.290, 30.840),
    ("新都区", 104.135, 30.870),
    ("双流区", 103.905, 30.520),
    ("温江区", 103.800, 30.705),
    ("郫都区", 103.870, 30.855),
    ("东部新区", 104.510, 30.380),
    ("锦江区", 104.100, 30.630),
    ("青羊区", 104.030, 30.680),
    ("金牛区", 104.040, 30.730),
    ("武侯区", 104.020, 30.630),
    ("天府新区", 104.090, 30.450),
    ("新津区", 103.810, 30.410),
    ("金堂县", 104.420, 30.860),
    ("彭州市", 103.960, 31.000),
)


def parks_table() -> pd.DataFrame:
    """The sample's parks with their approximate public areas and sources (written as ``parks.csv``)."""
    return pd.DataFrame(
        {
            "park_id": [p.park_id for p in PARKS],
            "name": [p.name for p in PARKS],
            "district": [p.district for p in PARKS],
            "area_km2": [p.area_km2 for p in PARKS],
            "source": [p.source for p in PARKS],
        }
    )


def _rotate_about(x: np.ndarray, y: np.ndarray, ox: float, oy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = x - ox, y - oy
    return ox + dx * c - dy * s, oy + dx * s + dy * c


def _cells_near(lat: tuple, x: float, y: float, reach: float) -> dict:
    """Lattice cells (street blocks) whose cell lies within `reach` metres (box) of (x, y)."""
    x_edges, y_edges, col_s, row_s = lat
    c0 = max(int(np.searchsorted(x_edges, x - reach)) - 1, 1)
    c1 = min(int(np.searchsorted(x_edges, x + reach)), len(x_edges) - 2)
    r0 = max(int(np.searchsorted(y_edges, y - reach)) - 1, 1)
    r1 = min(int(np.searchsorted(y_edges, y + reach)), len(y_edges) - 2)
    cc, rr = (a.ravel() for a in np.meshgrid(np.arange(c0, c1), np.arange(r0, r1)))
    return {
        "col": cc,
        "row": rr,
        "x0": x_edges[cc],
        "x1": x_edges[cc + 1],
        "y0": y_edges[rr],
        "y1": y_edges[rr + 1],
        # block = cell minus half of the street on each side
        "bx0": x_edges[cc] + col_s[cc - 1] / 2,
        "bx1": x_edges[cc + 1] - col_s[cc] / 2,
        "by0": y_edges[rr] + row_s[rr - 1] / 2,
        "by1": y_edges[rr + 1] - row_s[rr] / 2,
    }


def _subset(cells: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in cells.items()}


def _rotated_boxes(cells: dict, ox: float, oy: float, angle: float, inset: bool = False) -> np.ndarray:
    """The cells (or, with `inset`, their blocks) as polygons in their final, rotated position."""
    k = ("bx0", "bx1", "by0", "by1") if inset else ("x0", "x1", "y0", "y1")
    x0, x1, y0, y1 = (cells[c] for c in k)
    xs = np.stack([x0, x1, x1, x0, x0], axis=1)
    ys = np.stack([y0, y0, y1, y1, y0], axis=1)
    rx, ry = _rotate_about(xs, ys, ox, oy, angle)
    return shapely.polygons(np.stack([rx, ry], axis=-1))


def _blob(
    rng: np.random.Generator,
    x: float,
    y: float,
    radius: float,
    elongation: float = 1.0,
    axis: float = 0.0,
    wobble: float = 0.1,
    n: int = 48,
) -> shapely.Polygon:
    """An irregular, star-shaped outline (an ellipse with a few random lobes) of mean radius `radius`."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius * _shape_radius(rng, t, elongation, axis, wobble)
    return shapely.Polygon(np.c_[x + r * np.cos(t), y + r * np.sin(t)])


def _shape_radius(
    rng: np.random.Generator, phi: np.ndarray, elongation: float, axis: float, wobble: float
) -> np.ndarray:
    """Radius of an elongated outline with 4 random harmonics, relative to its mean radius, at angles `phi`."""
    a, b = np.sqrt(elongation), 1 / np.sqrt(elongation)
    al = np.deg2rad(axis)
    r = 1 / np.sqrt((np.cos(phi - al) / a) ** 2 + (np.sin(phi - al) / b) ** 2)
    k = np.arange(2, 6)
    amp = rng.uniform(0.3, 1.0, 4) * wobble / np.sqrt(k - 1)
    ph = rng.uniform(0, 2 * np.pi, 4)
    return r * (1 + (amp[:, None] * np.cos(k[:, None] * np.asarray(phi)[None, :] + ph[:, None])).sum(axis=0))


def _take_nearest(score: np.ndarray, quota: int) -> np.ndarray:
    """Indices of the `quota` smallest finite scores, in ascending order."""
    finite = np.flatnonzero(np.isfinite(score))
    if len(finite) < quota:
        raise RuntimeError(f"sample generator: only {len(finite)} free street blocks where {quota} are needed")
    pick = finite[np.argsort(score[finite], kind="stable")[:quota]]
    return pick


def _sample_layout(rng: np.random.Generator) -> dict:
    """Parks at their real extents, the street blocks that hold parcels, and their rotation per group.

    Returns ``parks`` (final park polygons), ``cells`` (parcel blocks with ``unit`` and ``rank``), ``units``
    (one row per parcel unit: a park cluster, a park's fringe outside it, or a site) and ``groups`` (rotation
    origin and angle per park / site).
    """
    lat = _lattice(rng)
    placed: list[shapely.Geometry] = []  # final geometry of earlier groups (parks, site blocks)
    parks, cell_parts, units, groups = [], [], [], []
    per_cell = 3.5  # parcels per street block, conservatively (5–6 on average): trimmed to the quota later

    def free(boxes: np.ndarray, gap: float) -> np.ndarray:
        if not placed:
            return np.ones(len(boxes), dtype=bool)
        other = shapely.buffer(shapely.union_all(placed), gap)
        shapely.prepare(other)
        return ~shapely.intersects(other, boxes)

    def add_unit(cells: dict, g: int, quota: int, **info: object) -> None:
        u = len(units)
        units.append({"group": g, "quota": quota, **info})
        cells = dict(cells)
        cells["unit"] = np.full(len(cells["col"]), u)
        cells["rank"] = np.arange(len(cells["col"]))
        cell_parts.append(cells)

    for k, pk in enumerate(PARKS):  # per park (10), vectorised over its street blocks
        ox, oy = (float(v) for v in _to_xy(pk.lon, pk.lat))
        ang = np.deg2rad(pk.street_angle)
        g = len(groups)
        groups.append((ox, oy, ang))
        area = pk.area_km2 * 1e6
        reach = np.sqrt(area / np.pi) * np.sqrt(pk.elongation) * 1.7 + 1500.0
        cand = _cells_near(lat, ox, oy, reach)
        cx, cy = (cand["x0"] + cand["x1"]) / 2, (cand["y0"] + cand["y1"]) / 2
        fx, fy = _rotate_about(cx, cy, ox, oy, ang)
        phi = np.arctan2(fy - oy, fx - ox)
        score = np.hypot(fx - ox, fy - oy) / _shape_radius(rng, phi, pk.elongation, pk.axis, 0.22)
        score = score * rng.uniform(0.985, 1.015, len(score))
        score[~free(_rotated_boxes(cand, ox, oy, ang), 300.0)] = np.inf
        order = np.argsort(score, kind="stable")
        cell_area = (cand["x1"] - cand["x0"]) * (cand["y1"] - cand["y0"])
        n_in = int(np.searchsorted(np.cumsum(cell_area[order]), area)) + 1
        inside = order[:n_in]
        # one polygon along street centre lines: the largest part, holes filled
        union = shapely.coverage_union_all(
            shapely.box(cand["x0"][inside], cand["y0"][inside], cand["x1"][inside], cand["y1"][inside])
        )
        parts = sorted(shapely.get_parts(union), key=lambda p: -p.area)
        outline = shapely.Polygon(parts[0].exterior)
        shapely.prepare(outline)
        in_park = shapely.contains_xy(outline, cx, cy)
        final = affinity.rotate(outline, ang, origin=(ox, oy), use_radians=True)
        parks.append(final)
        # parcel clusters: the core at the centre, others inside, the last one at the boundary
        s_rel = score / score[inside].max()
        used = ~in_park.copy()
        n_cl = pk.clusters
        shares = {1: [1.0], 2: [0.65, 0.35], 3: [0.45, 0.3, 0.25], 4: [0.35, 0.25, 0.2, 0.2]}[n_cl]
        n_adj = max(5, int(round(0.06 * pk.parcels)))
        quotas = np.floor(np.array(shares) * (pk.parcels - n_adj)).astype(int)
        quotas[0] += pk.parcels - n_adj - quotas.sum()
        seeds: list[int] = []
        for j in range(n_cl):
            if j == 0:
                band = in_park & (s_rel < 0.25)
            elif j == n_cl - 1:
                band = in_park & (s_rel > 0.85) & (s_rel < 0.97)
            else:
                band = in_park & (s_rel > 0.35) & (s_rel < 0.7)
            for gap in (2500.0, 1500.0, 0.0):  # keep sub-areas apart where the park allows
                apart = band.copy()
                for sd in seeds:
                    apart &= np.hypot(cx - cx[sd], cy - cy[sd]) > gap
                if apart.any():
                    break
            opts = np.flatnonzero(apart)
            seed = int(opts[rng.integers(len(opts))]) if j else int(opts[np.argmin(s_rel[opts])])
            seeds.append(seed)
            d = np.hypot(cx - cx[seed], cy - cy[seed]) * rng.uniform(0.9, 1.1, len(cx))
            d[used] = np.inf
            pick = _take_nearest(d, int(np.ceil(quotas[j] / per_cell)) + 2)
            used[pick] = True
            kind = "fringe" if (j == n_cl - 1 and n_cl > 1) else ("core" if j == 0 else "cluster")
            founded = pk.founded + (0 if j == 0 else int(rng.integers(3, 9)) + 3 * (kind == "fringe"))
            add_unit(
                _subset(cand, pick),
                g,
                int(quotas[j]),
                kind="park",
                park=k,
                cluster=j,
                founded=founded,
                code=pk.code,
                district=pk.district,
                sector=pk.sector,
                level=pk.level,
                sub=kind,
            )
        # blocks just outside the boundary next to the fringe (紧邻园区的成板块工业用地)
        key = cand["col"] * 100_000 + cand["row"]
        rim = np.zeros(len(cx), dtype=bool)
        for dc, dr in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            rim |= np.isin(key, (cand["col"][in_park] + dc) * 100_000 + cand["row"][in_park] + dr)
        d = np.hypot(cx - cx[seeds[-1]], cy - cy[seeds[-1]])
        d[~rim | in_park | (score == np.inf)] = np.inf
        pick = _take_nearest(d, int(np.ceil(n_adj / per_cell)) + 2)
        add_unit(
            _subset(cand, pick),
            g,
            n_adj,
            kind="adjacent",
            park=k,
            cluster=-1,
            founded=pk.founded + 2,
            code=pk.code,
            district=pk.district,
            sector=pk.sector,
            level=pk.level * 0.85,
            sub="adjacent",
        )
        placed.append(final)
        placed.append(shapely.union_all(_rotated_boxes(_subset(cand, pick), ox, oy, ang)))

    for s in SITES:  # per site (18)
        ox, oy = (float(v) for v in _to_xy(s.lon, s.lat))
        ang = np.deg2rad(s.street_angle)
        g = len(groups)
        groups.append((ox, oy, ang))
        n_cells = 1 if s.kind == "scattered" else int(np.ceil(s.parcels / per_cell)) + 2
        cand = _cells_near(lat, ox, oy, np.sqrt(n_cells * 0.2e6) + 1200.0)
        cx, cy = (cand["x0"] + cand["x1"]) / 2, (cand["y0"] + cand["y1"]) / 2
        fx, fy = _rotate_about(cx, cy, ox, oy, ang)
        d = np.hypot(fx - ox, fy - oy) * rng.uniform(0.88, 1.12, len(cx))
        d[~free(_rotated_boxes(cand, ox, oy, ang), 1200.0 if s.kind != "scattered" else 600.0)] = np.inf
        pick = _take_nearest(d, n_cells)
        add_unit(
            _subset(cand, pick),
            g,
            s.parcels,
            kind=s.kind,
            park=-1,
            cluster=-1,
            founded=s.founded,
            code=s.code,
            district=s.district,
            sector=s.sector,
            level=s.level,
            sub=s.kind,
        )
        placed.append(shapely.union_all(_rotated_boxes(_subset(cand, pick), ox, oy, ang)))

    cells = {k: np.concatenate([c[k] for c in cell_parts]) for k in cell_parts[0]}
    return {"parks": parks, "cells": cells, "units": pd.DataFrame(units), "groups": np.array(groups)}


def _sample_parcels(rng: np.random.Generator, layout: dict) -> tuple[np.ndarray, np.ndarray]:
    """Cut the layout's blocks into parcels, keep each unit's quota, rotate into place: (geometries, unit)."""
    cells, units = layout["cells"], layout["units"]
    coords, cell_of = _split_blocks(rng, cells)
    unit = cells["unit"][cell_of]
    quota = units["quota"].to_numpy()
    counts = np.bincount(unit, minlength=len(units))
    if (counts < quota).any():
        bad = int(np.flatnonzero(counts < quota)[0])
        raise RuntimeError(f"sample generator: unit {bad} has {counts[bad]} parcels, needs {quota[bad]}")
    starts = np.r_[0, np.cumsum(counts)[:-1]]  # cells, hence parcels, are in unit order
    keep = (np.arange(len(unit)) - starts[unit]) < quota[unit]
    coords, unit = coords[keep], unit[keep]
    g = units["group"].to_numpy()[unit]
    ox, oy, ang = (layout["groups"][g, i][:, None] for i in range(3))
    rx, ry = _rotate_about(coords[..., 0], coords[..., 1], ox, oy, ang)
    # each parcel's street block, and the blocks' cells (to the street centre lines) in their final position
    layout["cell_of"] = cell_of[keep]
    gc = units["group"].to_numpy()[cells["unit"]]
    xs = np.stack([cells["x0"], cells["x1"], cells["x1"], cells["x0"], cells["x0"]], axis=1)
    ys = np.stack([cells["y0"], cells["y0"], cells["y1"], cells["y1"], cells["y0"]], axis=1)
    cx, cy, ca = (layout["groups"][gc, i][:, None] for i in range(3))
    layout["cell_polys"] = shapely.polygons(np.stack(_rotate_about(xs, ys, cx, cy, ca), axis=-1))
    return shapely.polygons(np.stack([rx, ry], axis=-1)), unit


def _sample_zones(
    rng: np.random.Generator, layout: dict, geom: np.ndarray, unit: np.ndarray
) -> dict[str, gpd.GeoDataFrame]:
    """Parks, red and blue lines, ring and boundaries of the Chengdu sample (EPSG:4544)."""
    crs = WORKING_CRS
    ring = ring_polygon()
    units = layout["units"]
    parks = layout["parks"]
    cent = shapely.centroid(geom)
    px, py = shapely.get_x(cent), shapely.get_y(cent)

    def spread(m: np.ndarray, q: float) -> tuple[float, float, float]:
        x, y = px[m].mean(), py[m].mean()
        return float(x), float(y), float(np.quantile(np.hypot(px[m] - x, py[m] - y), q))

    reds, blues = [], []
    for k, pk in enumerate(PARKS):  # per park: one red line around each of its parcel clusters
        ids = units.index[(units["kind"] == "park") & (units["park"] == k)].to_numpy()
        numbered = len(ids) > 1
        for j, u in enumerate(ids):
            draw = units.loc[u, "sub"] != "fringe" or rng.random() < 0.5  # newer fringe land: not always lined yet
            x, y, r = spread(unit == u, 0.8)
            if not draw:
                continue
            blob = _blob(rng, x, y, r + 60.0, rng.uniform(1.0, 1.4), rng.uniform(0, 180), 0.12)
            if rng.random() < 0.8 and (k, j) != (0, 0):  # along the street centre lines: whole blocks
                m = unit == u
                shapely.prepare(blob)
                hit = np.unique(layout["cell_of"][m][shapely.contains_xy(blob, px[m], py[m])])
                blob = shapely.union_all(layout["cell_polys"][hit]) if len(hit) else blob
            suffix = f"（{'一二三四'[j]}）" if numbered else ""
            reds.append((f"{pk.name} 工业红线区{suffix}", shapely.intersection(blob, parks[k])))
            if k == 0 and j == 0:  # a blue zone over the edge of the first red zone (红蓝重叠, red wins)
                overlap = _ellipse(x + r * 0.75, y - r * 0.25, r * 0.35, r * 0.3, 0.4)
                blues.append(("高新西区 外围 工业蓝线区（与红线重叠）", overlap))
    site_units = units.index[units["kind"] != "park"].to_numpy()
    site_rows = [u for u in site_units if units.loc[u, "kind"] != "adjacent"]
    for u, s in zip(site_rows, SITES, strict=True):  # per site (18)
        if not s.line:
            continue
        m = unit == u
        if s.kind == "scattered":
            shape = shapely.buffer(shapely.union_all(geom[m]), 40.0, join_style="mitre")
        else:
            x, y, r = spread(m, 0.85)
            shape = _blob(rng, x, y, r + 120.0, rng.uniform(1.0, 1.5), rng.uniform(0, 180), 0.12)
        (reds if s.line == "red" else blues).append((s.line_name, shape))

    def frame(rows: list, prefix: str) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"zone_id": [f"{prefix}{i:02d}" for i, _ in enumerate(rows, 1)], "name": [r[0] for r in rows]},
            geometry=[r[1] for r in rows],
            crs=crs,
        )

    kind = units["kind"].to_numpy()[unit]

    def hull(m: np.ndarray, buffer: float) -> shapely.Geometry:
        parts = [shapely.convex_hull(shapely.union_all(geom[m & (unit == u)])) for u in np.unique(unit[m])]
        return shapely.buffer(shapely.union_all(parts), buffer)

    park_union = shapely.union_all(parks)
    udb = shapely.union_all(
        [
            shapely.buffer(ring, 3000.0),
            shapely.buffer(park_union, 1500.0),
            hull(np.isin(kind, ["multi_site", "outside", "adjacent"]), 1000.0),
            hull(kind == "scattered", 600.0),
        ]
    )
    pca = shapely.union_all(
        [
            shapely.buffer(ring, 800.0),
            shapely.buffer(park_union, 300.0),
            hull(np.isin(kind, ["multi_site", "adjacent"]), 300.0),
            hull(kind == "scattered", 300.0),
        ]
    )
    # the 'outside' sites lie in the 城镇弹性建设区: outside the planned construction area
    pca = pca.difference(hull(kind == "outside", 250.0))
    return {
        "red_line": frame(reds, "RL"),
        "blue_line": frame(blues, "BL"),
        "ring": gpd.GeoDataFrame({"name": ["绕城高速（G4202）以内"]}, geometry=[ring], crs=crs),
        "parks": gpd.GeoDataFrame(
            {"park_id": [p.park_id for p in PARKS], "name": [p.name for p in PARKS]},
            geometry=list(parks),
            crs=crs,
        ),
        "urban_dev_boundary": gpd.GeoDataFrame(
            {"name": ["城镇开发边界（示意）"]}, geometry=[shapely.simplify(udb, 30.0)], crs=crs
        ),
        "planned_construction_area": gpd.GeoDataFrame(
            {"name": ["规划集中建设区（示意）"]}, geometry=[shapely.simplify(pca, 30.0)], crs=crs
        ),
    }


def _sample_districts(layout: dict, geom: np.ndarray, unit: np.ndarray) -> gpd.GeoDataFrame:
    """Simplified 区(市)县: Voronoi cells of seeds, with every park and site moved into its own district."""
    names = np.array([s[0] for s in SAMPLE_DISTRICT_SEEDS], dtype=object)
    sx, sy = _to_xy([s[1] for s in SAMPLE_DISTRICT_SEEDS], [s[2] for s in SAMPLE_DISTRICT_SEEDS])
    x0, y0, x1, y1 = shapely.total_bounds(geom)
    env = shapely.box(
        min(x0, sx.min()) - 15000, min(y0, sy.min()) - 15000, max(x1, sx.max()) + 15000, max(y1, sy.max()) + 15000
    )
    vor = shapely.voronoi_polygons(shapely.multipoints(np.c_[sx, sy]), extend_to=env, ordered=True)
    cells = shapely.intersection(np.asarray(shapely.get_parts(vor)), env)
    units = layout["units"]
    owned: dict[str, list] = {}
    for k, pk in enumerate(PARKS):
        owned.setdefault(pk.district, []).append(layout["parks"][k])
    for u, row in units.iterrows():  # per unit (≈ 50)
        if row["kind"] != "park":
            owned.setdefault(row["district"], []).append(
                shapely.buffer(shapely.convex_hull(shapely.union_all(geom[unit == u])), 200.0)
            )
    own = {d: shapely.union_all(g) for d, g in owned.items()}
    every = shapely.union_all(list(own.values()))
    out = []
    for name in dict.fromkeys(names):  # per district (17)
        base = shapely.union_all(cells[names == name])
        base = shapely.difference(base, every)
        if name in own:
            base = shapely.union(base, own[name])
        out.append((name, base))
    return gpd.GeoDataFrame({"name": [o[0] for o in out]}, geometry=[o[1] for o in out], crs=WORKING_CRS)


def _year_dates(year: np.ndarray) -> np.ndarray:
    """Dates from fractional years (2012.4 → a day in May 2012)."""
    y = np.floor(year).astype(int)
    start = (y - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return start + np.floor((year - y) * 365).astype(int).astype("timedelta64[D]")


def _sample_attributes(rng: np.random.Generator, area: np.ndarray, f: dict[str, np.ndarray]) -> dict:
    """Every contract column for the Chengdu sample, drawn by supply era and place (NaN/NaT/None/-1 = NA).

    Older land has lower FAR and 建筑系数 more often; parks hold the vacant and new land; conversions to
    non-industrial use are proposed mostly for old land outside the parks near the city.
    """
    n = len(area)
    mu = area / MU_M2
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    kind, in_park = f["kind"], f["in_park"]
    ind = (rng.random(n) < 0.9) | (kind == "scattered")
    land_use = np.where(
        ind,
        rng.choice(INDUSTRIAL_CODES, n, p=INDUSTRIAL_P),
        rng.choice(NON_INDUSTRIAL_CODES, n, p=NON_INDUSTRIAL_P),
    ).astype(object)
    # new land goes to parks: vacant and under-construction plots are mostly there (东部新区 is young)
    new_park = in_park & (f["founded"] >= 2015)
    p_built = np.where(in_park, np.where(new_park, 0.62, 0.8), np.where(kind == "adjacent", 0.9, 0.97))
    p_uc = np.where(in_park, np.where(new_park, 0.18, 0.09), 0.015)
    u = rng.random(n)
    status = np.where(u < p_built, "built", np.where(u < p_built + p_uc, "under_construction", "vacant")).astype(object)
    status = np.where(ind, status, np.where(u < 0.92, "built", "under_construction")).astype(object)
    built, uc, vac = status == "built", status == "under_construction", status == "vacant"
    founded = f["founded"].astype(float)
    # built land: supplied between the sub-area's founding and 2022, earlier years more common
    built_year = founded + rng.beta(1.3, 2.0, n) * np.maximum(2022.95 - founded, 0.5)
    vac_year = np.where(rng.random(n) < 0.75, rng.uniform(2023.5, 2025.4, n), rng.uniform(2019.5, 2023.5, n))
    year = np.where(built, built_year, np.where(uc, rng.uniform(2021.0, 2025.25, n), vac_year))
    transfer = _year_dates(year)
    agreed = transfer + rng.integers(90, 366, n).astype("timedelta64[D]")
    actual = np.where(
        built,
        agreed + rng.integers(-60, 241, n).astype("timedelta64[D]"),
        np.where(
            uc,
            np.minimum(agreed + rng.integers(-30, 301, n).astype("timedelta64[D]"), AS_OF - np.timedelta64(20, "D")),
            nat,
        ),
    )
    halted = uc & (rng.random(n) < 0.15)
    halted_since = np.where(
        halted,
        np.minimum(actual + rng.integers(60, 900, n).astype("timedelta64[D]"), AS_OF - np.timedelta64(1, "D")),
        nat,
    )
    inside = f["inside_ring"]
    lo, hi = np.where(inside, 2.0, 1.2), np.where(inside, 4.0, 3.0)
    # FAR by era: land before the 2008 national 控制指标 is often below today's floor, new land rarely
    p_low = np.where(year < 2008, 0.3, np.where(year < 2016, 0.12, 0.04))
    u = rng.random(n)
    far = np.where(
        u < p_low,
        lo * rng.uniform(0.55, 0.97, n),
        np.where(u > 0.985, hi * rng.uniform(1.03, 1.25, n), lo + (hi - lo) * rng.beta(1.6, 3.2, n)),
    )
    far = np.where(ind, far, rng.uniform(1.0, 3.5, n))
    floor = np.round(np.where(vac, 0.0, far * area), 1)
    p_cov = np.where(year < 2008, 0.12, 0.04)
    cover = np.where(rng.random(n) < p_cov, rng.uniform(0.16, 0.295, n), rng.uniform(0.32, 0.62, n))
    cover = np.minimum(cover, far * 0.95)
    footprint = np.round(np.where(vac, 0.0, cover * area), 1)
    special = (rng.random(n) < 0.03).astype(np.int8)
    # proposed use changes: conversions (住宅/商业/…) mostly on old land outside parks near the city
    p_conv = np.where(
        f["in_red"],
        0.012,
        np.where(f["in_blue"], 0.05, np.where(in_park, 0.02, np.where(f["near_city"], 0.2, 0.05))),
    )
    u = rng.random(n)
    planned_use = np.where(
        ind & (u < p_conv),
        rng.choice(["0701", "R2", "B1", "1101"], n, p=[0.35, 0.25, 0.3, 0.1]),
        np.where(ind & (u > 0.985), rng.choice(["100102", "M1"], n), np.where(~ind & (u < 0.02), "B1", None)),
    ).astype(object)
    outside = ~in_park & ~f["in_pca"]
    retainable = np.where(outside, rng.choice(np.array([1, 0, -1], dtype=np.int8), n, p=[0.5, 0.3, 0.2]), -1).astype(
        np.int8
    )
    planned_dev = np.round(area, 1)
    dev_share = np.where(built, 1.0, np.where(uc, rng.uniform(0.35, 1.0, n), 0.0))
    dev_share = np.where(halted, rng.uniform(0.1, 0.6, n), dev_share)
    total_inv = np.round(mu * rng.uniform(250, 650, n), 1)
    inv_share = np.where(
        built, rng.uniform(0.95, 1.1, n), np.where(uc, rng.uniform(0.3, 0.9, n), rng.uniform(0.0, 0.05, n))
    )
    inv_share = np.where(halted, rng.uniform(0.1, 0.6, n), inv_share)
    # many idle cases are the government's (land not delivered on time, plan changes): 第八条
    delay = np.where(
        vac | halted, rng.choice(["none", "government", "force_majeure"], n, p=[0.7, 0.24, 0.06]), "none"
    ).astype(object)
    new_in_park = in_park & ind & (transfer >= np.datetime64("2024-01-01"))
    std = np.where(
        new_in_park,
        rng.choice(np.array([1, 0, -1], dtype=np.int8), n, p=[0.86, 0.1, 0.04]),
        np.where(in_park & ind & built & (transfer >= np.datetime64("2019-06-01")), (rng.random(n) < 0.35), 0),
    ).astype(np.int8)
    is_std = std == 1
    c_inv = np.where(is_std, np.round(rng.uniform(300, 520, n), 0), np.nan)
    c_rev = np.where(is_std, np.round(rng.uniform(300, 560, n), 0), np.nan)
    c_tax = np.where(is_std, np.round(rng.uniform(12, 26, n), 1), np.nan)
    drop = is_std & (rng.random(n) < 0.08)  # a 标准地 contract missing one of the three indicators
    which = rng.integers(0, 3, n)
    c_inv[drop & (which == 0)] = np.nan
    c_rev[drop & (which == 1)] = np.nan
    c_tax[drop & (which == 2)] = np.nan
    due = np.where(is_std, _add_years(transfer, 3), nat)
    std_inv = np.round(mu * c_inv * rng.uniform(0.85, 1.35, n), 1)
    total_inv = np.where(is_std & ~np.isnan(c_inv), std_inv, total_inv)
    return {
        "industrial": ind,
        "land_use": land_use,
        "floor_area_m2": floor,
        "footprint_m2": footprint,
        "special_process": special,
        "status": status,
        "planned_use": planned_use,
        "retainable": retainable,
        "transfer_date": transfer,
        "agreed_start_date": agreed,
        "actual_start_date": actual,
        "planned_dev_area_m2": planned_dev,
        "developed_area_m2": np.round(planned_dev * dev_share, 1),
        "total_investment_10k": total_inv,
        "invested_10k": np.round(total_inv * inv_share, 1),
        "halted_since": halted_since,
        "delay_cause": delay,
        "standard_land": std,
        "committed_investment_per_mu_10k": c_inv,
        "committed_revenue_per_mu_10k": c_rev,
        "committed_tax_per_mu_10k": c_tax,
        "production_due_date": due,
    }


# (revenue multiplier, tax share of revenue) by sector: vehicles and electronics sell much per 亩 at thin
# margins, pharma less at a high tax share (rough shapes of national industry ratios, not Chengdu statistics)
_SECTOR_OUTPUT = {
    "C39": (1.1, 0.038),
    "C36": (1.15, 0.03),
    "C27": (0.85, 0.062),
    "C37": (0.95, 0.048),
    "C38": (1.0, 0.046),
    "C34": (0.9, 0.042),
    "mixed": (0.8, 0.04),
    "heavy": (0.9, 0.032),
}
_REVENUE_PER_MU = 550.0  # median 万元/亩 of a firm at level 1, sector multiplier 1, mid-range FAR


def _sample_enterprises(
    rng: np.random.Generator,
    n_firms: int,
    firm: np.ndarray,
    info: dict,
    f: dict[str, np.ndarray],
    far_rel: np.ndarray,
    overrides: dict[int, dict],
) -> pd.DataFrame:
    """Enterprises of the Chengdu sample: revenue = productive land × per-mu output by park, sector and FAR."""
    slot_parcel = info["slot_parcel"]
    first_slot = np.full(n_firms, -1)
    order = np.argsort(firm, kind="stable")
    uniq, first = np.unique(firm[order], return_index=True)
    first_slot[uniq] = order[first]
    home = slot_parcel[first_slot]
    sectors = f["sector"][home]
    codes = np.empty(n_firms, dtype=object)
    for key, (cs, ps) in _SECTORS.items():  # per sector (8), not per firm
        m = sectors == key
        codes[m] = rng.choice(cs, int(m.sum()), p=ps)
    restricted = pd.Series(codes).str.startswith(_RESTRICTED).to_numpy()
    sect_rev = np.array([_SECTOR_OUTPUT[s][0] for s in sectors])
    sect_tax = np.array([_SECTOR_OUTPUT[s][1] for s in sectors])
    level = f["level"][home] * np.where(info["multi"][home], 0.85, 1.0)  # tenants of 标准厂房: small firms
    # denser plants earn more per 亩 (floor area is where production happens)
    far_factor = np.clip(np.nan_to_num(far_rel[home], nan=1.0), 0.4, 1.5) ** 0.4
    rev_mu = (
        _REVENUE_PER_MU
        * level
        * sect_rev
        * far_factor
        * rng.lognormal(0.0, 0.4, n_firms)
        * np.where(restricted, 0.75, 1.0)
    )
    rev_mu = np.clip(rev_mu, 60.0, 2600.0)
    tax_rate = np.clip(sect_tax * rng.lognormal(0.0, 0.2, n_firms) * level**0.4, 0.01, 0.14)
    for fi, o in overrides.items():  # the documented example parcels (a few dozen)
        codes[fi] = o.get("industry_code", codes[fi])
        if "rev_mu" in o:
            rev_mu[fi] = o["rev_mu"]
            tax_rate[fi] = o["tax_mu"] / o["rev_mu"]
    restricted = pd.Series(codes).str.startswith(_RESTRICTED).to_numpy()
    prod_mu = np.bincount(firm, weights=info["prod_land"], minlength=n_firms) / MU_M2
    revenue = np.round(prod_mu * rev_mu, 2)
    keep = np.isin(np.arange(n_firms), list(overrides))
    # firms whose only land is still vacant earn their revenue elsewhere (outside the sample)
    idle_only = prod_mu < 0.05 * np.bincount(firm, weights=info["land"], minlength=n_firms) / MU_M2
    revenue = np.where(idle_only & ~keep, np.round(rng.uniform(50, 1800, n_firms), 2), revenue)
    tax = np.round(revenue * tax_rate, 2)
    return _enterprise_table(rng, codes, revenue, tax, restricted, keep)


# ---------------------------------------------------------------------------------------------- examples
# The documented example cases are data: cases.yaml (its header says what each key does).

CASES_FILE = Path(__file__).with_name("cases.yaml")
_CASE_REQUIRED = ("case", "rule", "expected", "note", "candidates")
_CASE_OPTIONAL = ("code", "overall", "parcel", "firm")


def load_cases(path: str | Path = CASES_FILE) -> list[dict]:
    """The example cases of `path` in file order, each with its ``parcel`` overrides and its ``firm``."""
    path = Path(path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    default_firm, cases = doc["default_firm"], doc["cases"]
    seen: set[str] = set()
    for n, case in enumerate(cases, start=1):
        name = case.get("case", f"#{n}")
        missing = [k for k in _CASE_REQUIRED if k not in case]
        unknown = sorted(set(case) - {*_CASE_REQUIRED, *_CASE_OPTIONAL})
        if missing or unknown or name in seen:
            raise ValueError(
                f"{path.name}: case {name!r}: missing {missing}, unknown keys {unknown}"
                + (", name used twice" if name in seen else "")
            )
        seen.add(name)
        case.setdefault("parcel", {})
        case.setdefault("firm", dict(default_firm))
    return cases


def _zone_share(geom: np.ndarray, area: np.ndarray, layer: gpd.GeoDataFrame) -> np.ndarray:
    union = shapely.union_all(layer.geometry.to_numpy())
    return shapely.area(shapely.intersection(geom, union)) / area


def _case_masks(a: dict, geom: np.ndarray, area: np.ndarray, zones: dict) -> dict[str, np.ndarray]:
    s = {
        k: _zone_share(geom, area, zones[k])
        for k in ("ring", "parks", "red_line", "blue_line", "planned_construction_area", "urban_dev_boundary")
    }
    inside = {k: v > 0.999 for k, v in s.items()}
    out = {k: v < 0.001 for k, v in s.items()}
    d_park = shapely.distance(geom, shapely.union_all(zones["parks"].geometry.to_numpy()))
    mu = area / MU_M2
    ind = a["industrial"] & (a["land_use"] != None)  # noqa: E711 (object array)
    mid = ind & (mu >= 12) & (mu <= 150)
    left, right = shapely.STRtree(geom).query(geom, predicate="dwithin", distance=30.0)
    neighbours = np.bincount(left[left != right], minlength=len(geom))
    lines_clear = out["red_line"] & out["blue_line"]
    return {
        "ring_in": mid & inside["ring"] & lines_clear,
        "ring_out_park": mid & out["ring"] & inside["parks"] & lines_clear,
        "red_only": mid & inside["red_line"] & out["blue_line"],
        "blue_only": mid & inside["blue_line"] & out["red_line"],
        "red_and_blue": mid & (s["red_line"] > 0.6) & (s["blue_line"] > 0.6),
        "red_edge": mid & (s["red_line"] > 0.2) & (s["red_line"] < 0.8) & out["blue_line"],
        "ring_edge": mid & (s["ring"] > 0.2) & (s["ring"] < 0.8) & out["blue_line"],
        "outside": mid & out["parks"] & out["planned_construction_area"],
        "near_park": mid & out["parks"] & (d_park <= 40) & inside["urban_dev_boundary"] & lines_clear,
        "far_from_park": mid
        & out["parks"]
        & (d_park > 1000)
        & inside["urban_dev_boundary"]
        & inside["planned_construction_area"],
        "idle": mid & inside["parks"] & lines_clear,
        "halted": mid & inside["parks"] & lines_clear,
        "sl_new": mid & inside["parks"] & lines_clear,
        "sl_out": mid & out["parks"] & inside["planned_construction_area"],
        "slp": mid & inside["parks"] & lines_clear,
        "old_park": mid & inside["parks"] & lines_clear & out["ring"],
        "old_park_out": mid & inside["parks"] & lines_clear & out["ring"],
        "pm_park": mid & inside["parks"] & lines_clear & (mu >= 15),
        "pm_small": ind & inside["parks"] & lines_clear & (mu < 9.5),
        "pm_out": mid & out["parks"] & inside["planned_construction_area"],
        # an industrial plot outside the parks with no other plot within 30 m (no 成板块 block)
        "lone": ind & (mu < 45) & out["parks"] & inside["urban_dev_boundary"] & (neighbours == 0),
    }


def _set(a: dict, i: int, col: str, value: object) -> None:
    arr = a[col]
    if arr.dtype.kind == "M":
        arr[i] = np.datetime64("NaT") if value is None else np.datetime64(value, "D")
    elif arr.dtype.kind == "f":
        arr[i] = np.nan if value is None else value
    else:
        arr[i] = value


def _clean(a: dict, i: int, area: float, inside_ring: bool) -> None:
    """A tidy built industrial parcel (2010 land) so each example isolates one rule."""
    mu = area / MU_M2
    base = {
        "land_use": "100101",
        "status": "built",
        "special_process": 0,
        "planned_use": None,
        "floor_area_m2": round((2.6 if inside_ring else 1.8) * area, 1),
        "footprint_m2": round(0.45 * area, 1),
        "transfer_date": "2010-05-10",
        "agreed_start_date": "2010-11-01",
        "actual_start_date": "2010-10-20",
        "planned_dev_area_m2": round(area, 1),
        "developed_area_m2": round(area, 1),
        "total_investment_10k": round(400 * mu, 1),
        "invested_10k": round(400 * mu, 1),
        "halted_since": None,
        "delay_cause": "none",
        "standard_land": 0,
        "committed_investment_per_mu_10k": None,
        "committed_revenue_per_mu_10k": None,
        "committed_tax_per_mu_10k": None,
        "production_due_date": None,
    }
    for col, v in base.items():
        _set(a, i, col, v)
    a["industrial"][i] = True


def _pin_cases(
    rng: np.random.Generator, a: dict, geom: np.ndarray, area: np.ndarray, zones: dict, ids: np.ndarray
) -> tuple[pd.DataFrame, dict[int, dict]]:
    """Put the documented example cases (cases.yaml) on suitable parcels; return table, occupants."""
    masks = _case_masks(a, geom, area, zones)
    used = np.zeros(len(area), dtype=bool)
    ring = _zone_share(geom, area, zones["ring"]) > 0.5
    park = _zone_share(geom, area, zones["parks"]) > 0.5
    rows, occupants = [], {}
    for case in load_cases():  # ~65 documented cases, in file order (the order draws the random numbers)
        key, mask_name, over = case["case"], case["candidates"], case["parcel"]
        if mask_name not in masks:
            raise ValueError(
                f"{CASES_FILE.name}: case {key!r}: unknown candidates {mask_name!r}; one of {sorted(masks)}"
            )
        cand = np.flatnonzero(masks[mask_name] & ~used)
        if not len(cand):
            raise RuntimeError(f"sample generator: no parcel fits example {key!r} ({mask_name})")
        i = int(cand[rng.integers(len(cand))])
        used[i] = True
        _clean(a, i, area[i], bool(ring[i]))
        if mask_name in ("idle", "halted"):
            idle = {
                "status": "vacant" if mask_name == "idle" else "under_construction",
                "floor_area_m2": 0.0 if mask_name == "idle" else round(1.5 * area[i], 1),
                "footprint_m2": 0.0 if mask_name == "idle" else round(0.3 * area[i], 1),
                "actual_start_date": None if mask_name == "idle" else "2023-05-01",
                "developed_area_m2": 0.0,
                "invested_10k": round(5 * area[i] / MU_M2, 1),
                "agreed_start_date": "2023-04-01",
                "transfer_date": "2022-10-01",
            }
            for col, v in idle.items():
                _set(a, i, col, v)
        for col, v in over.items():
            if col in ("far", "far_exact"):
                _set(a, i, "floor_area_m2", v * area[i] if col == "far_exact" else round(v * area[i], 1))
            elif col == "cover":
                _set(a, i, "footprint_m2", round(v * area[i], 1))
            elif col in ("developed", "invested"):
                tgt = "developed_area_m2" if col == "developed" else "invested_10k"
                src = a["planned_dev_area_m2"] if col == "developed" else a["total_investment_10k"]
                _set(a, i, tgt, round(v * src[i], 1))
            elif col == "inv_mu":
                _set(a, i, "invested_10k", round(v * area[i] / MU_M2, 1))
            elif col in ("c_inv", "c_rev", "c_tax"):
                full = {
                    "c_inv": "committed_investment_per_mu_10k",
                    "c_rev": "committed_revenue_per_mu_10k",
                    "c_tax": "committed_tax_per_mu_10k",
                }[col]
                _set(a, i, full, v)
            else:
                _set(a, i, col, v)
        if a["status"][i] == "vacant":
            _set(a, i, "floor_area_m2", 0.0)
            _set(a, i, "footprint_m2", 0.0)
        new_park_land = park[i] and a["transfer_date"][i] >= np.datetime64("2024-01-01")
        if new_park_land and "standard_land" not in over:  # new park land is 标准地: keep the example about one rule
            for col, v in (
                ("standard_land", 1),
                ("committed_investment_per_mu_10k", 400.0),
                ("committed_revenue_per_mu_10k", 600.0),
                ("committed_tax_per_mu_10k", 25.0),
                ("production_due_date", str(_add_years(a["transfer_date"][i : i + 1], 3)[0])),
            ):
                _set(a, i, col, v)
        occupants[i] = case["firm"]
        code, overall = case.get("code", ""), case.get("overall", "")
        rows.append((int(i), ids[i], case["rule"], case["expected"], code, overall, key, case["note"]))
    table = pd.DataFrame(rows, columns=["row", "parcel_id", "rule", "expected", "code", "overall", "case", "note"])
    return table.sort_values(["rule", "case"], kind="stable").reset_index(drop=True), occupants


def _build_sample(seed: int) -> tuple[dict, pd.DataFrame]:
    """The Chengdu sample: parks at real extents, parcels, zones, enterprises, and the documented examples."""
    rng = np.random.default_rng(seed)
    layout = _sample_layout(rng)
    geom, unit = _sample_parcels(rng, layout)
    n = len(geom)
    area = shapely.area(geom)
    cent = shapely.centroid(geom)
    px, py = shapely.get_x(cent), shapely.get_y(cent)
    zones = _sample_zones(rng, layout, geom, unit)

    def inside(layer: str, buffer: float = 0.0) -> np.ndarray:
        g = shapely.union_all(zones[layer].geometry.to_numpy())
        g = shapely.buffer(g, buffer) if buffer else g
        shapely.prepare(g)
        return shapely.contains_xy(g, px, py)

    units = layout["units"]
    per_parcel = {c: units[c].to_numpy()[unit] for c in ("kind", "founded", "sector", "level", "code")}
    flags = {
        **per_parcel,
        "inside_ring": inside("ring"),
        "near_city": inside("ring", 6000.0),
        "in_park": inside("parks"),
        "in_pca": inside("planned_construction_area"),
        "in_udb": inside("urban_dev_boundary"),
        "in_red": inside("red_line"),
        "in_blue": inside("blue_line"),
    }
    if not np.array_equal(flags["in_park"], flags["kind"] == "park"):
        raise RuntimeError("sample generator: a park's parcels fall outside it, or other parcels inside a park")
    a = _sample_attributes(rng, area, flags)
    ids = _parcel_ids(per_parcel["code"])
    examples_table, parcel_ent_override = _pin_cases(rng, a, geom, area, zones, ids)
    force_single = np.zeros(n, dtype=bool)
    force_single[list(parcel_ent_override)] = True
    force_single[examples_table["row"].to_numpy()] = True
    _blank_na(rng, a, force_single)
    a["industrial"] = np.isin(a["land_use"].astype(str), INDUSTRIAL_CODES)
    occ, firm, single_slot, info = _occupancy(rng, a, area, unit, force_single)
    # land supplied in 2021–2022 was still ramping up in 2024
    year = a["transfer_date"].astype("datetime64[Y]").astype(float) + 1970
    ramp = np.clip(np.nan_to_num((2024.0 - year) / 2.0, nan=1.0), 0.6, 1.0)
    info["prod_land"] = info["prod_land"] * np.where(a["status"] == "built", ramp, 1.0)[info["slot_parcel"]]
    n_firms = int(firm.max()) + 1 if len(firm) else 0
    ent_overrides: dict[int, dict] = {}
    for row, o in parcel_ent_override.items():
        slots = np.flatnonzero(info["slot_parcel"] == row)
        if len(slots):
            ent_overrides[int(firm[slots[0]])] = o
    lo, hi = np.where(flags["inside_ring"], 2.0, 1.2), np.where(flags["inside_ring"], 4.0, 3.0)
    with np.errstate(invalid="ignore"):
        far_rel = np.where(a["floor_area_m2"] > 0, a["floor_area_m2"] / area / ((lo + hi) / 2), np.nan)
    ent = _sample_enterprises(rng, n_firms, firm, info, flags, far_rel, ent_overrides)
    districts = _district_land(_sample_districts(layout, geom, unit), (px, py), area, a["industrial"], rng)
    out = _assemble(a, ids, geom, ent, occ, firm, single_slot, info, zones, districts, _land_supply(rng, n))
    return out, examples_table.drop(columns="row")


def write_sample(out_dir: str | Path, seed: int = SAMPLE_SEED) -> list[Path]:
    """Write the committed sample set (gpkg, geojson, CSV, XLSX, examples) to `out_dir`.

    1 800 parcels in the real Chengdu industrial areas with zones, enterprises, occupancy and land supply, plus
    ``examples.csv`` naming the parcels that illustrate each rule outcome at the as-of date 2025-06-30.
    The same seed writes byte-identical files.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_sample(tempfile.mkdtemp())
    >>> sorted(p.name for p in paths)[:4]
    ['enterprises.csv', 'enterprises.xlsx', 'enterprises_2022.csv', 'enterprises_2023.csv']
    """
    out_dir = Path(out_dir)
    data, examples = _build_sample(seed)
    written = _write_set(data, out_dir)
    tables = [("examples.csv", examples), ("parks.csv", parks_table())]
    tables += [(f"enterprises_{year}.csv", table) for year, table in earlier_years(data["enterprises"], seed).items()]
    for name, table in tables:
        _write_csv(table, out_dir / name)
        written.append(out_dir / name)
    return written


EARLIER_YEARS = (2023, 2022)  # the statistics years before the enterprise table's own (2024)
# Going back a year: revenue ÷ (1 + growth), growth ~ N(7 %, 15 %) per firm and year (Chengdu's industrial output
# grew 5–10 % a year); tax follows revenue with its own noise; a few firms had not started yet (new entrants).
_GROWTH, _GROWTH_SD, _TAX_SD, _ENTRANTS = 0.07, 0.15, 0.08, 0.04


def earlier_years(enterprises: pd.DataFrame, seed: int = SAMPLE_SEED) -> dict[int, pd.DataFrame]:
    """The enterprise table of each of :data:`EARLIER_YEARS`, derived from the latest year's table.

    Each year back divides revenue, value added and tax by the firm's growth of that year, marks 规上
    (``revenue_10k >= 2000``) anew and leaves out a further 4 % of firms (entrants of the year after). Firms
    therefore move between grades and parks between meeting and missing the targets, as they do.
    """
    rng = np.random.default_rng(seed + 2022)
    current = enterprises.copy()
    out: dict[int, pd.DataFrame] = {}
    for year in EARLIER_YEARS:
        n = len(current)
        growth = np.clip(rng.normal(_GROWTH, _GROWTH_SD, n), -0.4, 0.8)
        tax_growth = np.clip(growth + rng.normal(0.0, _TAX_SD, n), -0.5, 0.9)
        prev = current.copy()
        for column, g in (("revenue_10k", growth), ("value_added_10k", growth), ("tax_10k", tax_growth)):
            if column in prev:
                prev[column] = (pd.to_numeric(prev[column], errors="coerce") / (1.0 + g)).round(2)
        if "employees" in prev:
            staff = pd.to_numeric(prev["employees"], errors="coerce") / (1.0 + growth / 3.0)
            prev["employees"] = staff.round().astype("Int64")
        prev["year"] = year
        if "above_scale" in prev:
            prev["above_scale"] = pd.to_numeric(prev["revenue_10k"], errors="coerce") >= 2000
        prev = prev[rng.random(n) >= _ENTRANTS].reset_index(drop=True)
        out[year] = prev
        current = prev
    return out
