"""Deterministic Chengdu sample data (样例数据) and synthetic benchmark parcels.

`write_sample(out_dir)` writes the committed files in `data/sample_parcels/`; `make_synthetic(n)` builds the
same kinds of frames with any number of parcels for benchmarks.  Everything is drawn from one
`numpy.random.default_rng(seed)` and vectorised over whole arrays (no per-parcel Python loops), so the same
seed gives the same geometries and byte-identical CSV files.

Layout: parcels sit in street blocks of one global, slightly irregular street lattice (EPSG:4544); each
industrial area (产业功能区) claims the lattice cells nearest its real centre, so areas never overlap and
parcels never overlap.  A block is cut into 1–6 strips by slanted cut lines and some strips are cut once
across, giving rectangles and irregular quadrilaterals of 5–300 亩 separated by 2 m gaps.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from shapely import affinity

WORKING_CRS = "EPSG:4544"  # same value as gis.crs.WORKING_CRS; kept local so the generator has no deps
GEOGRAPHIC_CRS = "EPSG:4490"
MU_M2 = 10000.0 / 15.0
SAMPLE_SEED = 20230323
SAMPLE_PARCELS = 1800
AS_OF = np.datetime64("2025-06-30")
PARK_CORE = 0.68  # the nearest 68 % of an area's cells form its park

INDUSTRIAL_CODES = ("100101", "100102", "1001", "100103", "M1", "M2", "0601")
INDUSTRIAL_P = (0.27, 0.32, 0.09, 0.02, 0.12, 0.09, 0.09)
NON_INDUSTRIAL_CODES = ("0701", "R2", "B1", "1101", "0901")
NON_INDUSTRIAL_P = (0.3, 0.2, 0.2, 0.2, 0.1)

PARCEL_COLUMNS = (
    "parcel_id",
    "land_use",
    "floor_area_m2",
    "footprint_m2",
    "special_process",
    "status",
    "planned_use",
    "retainable",
    "transfer_date",
    "agreed_start_date",
    "actual_start_date",
    "planned_dev_area_m2",
    "developed_area_m2",
    "total_investment_10k",
    "invested_10k",
    "halted_since",
    "delay_cause",
    "standard_land",
    "committed_investment_per_mu_10k",
    "committed_revenue_per_mu_10k",
    "committed_tax_per_mu_10k",
    "production_due_date",
    "enterprise_id",
)
DATE_COLUMNS = (
    "transfer_date",
    "agreed_start_date",
    "actual_start_date",
    "halted_since",
    "production_due_date",
)
BOOL_COLUMNS = ("special_process", "retainable", "standard_land")
TEXT_COLUMNS = ("parcel_id", "land_use", "status", "planned_use", "delay_cause", "enterprise_id")
ENTERPRISE_COLUMNS = (
    "enterprise_id",
    "name",
    "industry_code",
    "revenue_10k",
    "tax_10k",
    "year",
    "above_scale",
    "value_added_10k",
    "energy_tce",
    "rd_expense_10k",
    "employees",
    "emission_eq",
)
ZONE_LAYERS = (
    "red_line",
    "blue_line",
    "ring",
    "parks",
    "urban_dev_boundary",
    "planned_construction_area",
    "districts",
)

# 绕城高速 (G4202), clockwise from 犀浦, traced by hand (lon, lat, CGCS2000).  ≈ 91 km in EPSG:4544.
G4202_LONLAT = (
    (103.9780, 30.7607),  # 犀浦 东侧 (郫都区), 成灌高速互通
    (103.9922, 30.7701),
    (104.0079, 30.7777),
    (104.0249, 30.7834),  # 成彭高速互通
    (104.0431, 30.7872),
    (104.0629, 30.7889),  # 北星大道 / 北三环外
    (104.0979, 30.7887),  # 天回 (成绵高速互通), 大丰 东南
    (104.1208, 30.7870),
    (104.1387, 30.7838),
    (104.1538, 30.7791),
    (104.1668, 30.7729),  # 成南高速互通
    (104.1779, 30.7653),
    (104.1873, 30.7561),
    (104.1950, 30.7453),
    (104.2011, 30.7326),
    (104.2057, 30.7179),
    (104.2086, 30.7002),  # 成洛大道
    (104.2099, 30.6760),
    (104.2096, 30.6346),  # 成渝立交 (龙泉驿 西侧)
    (104.2078, 30.6135),
    (104.2043, 30.5969),
    (104.1993, 30.5829),
    (104.1926, 30.5709),
    (104.1843, 30.5607),
    (104.1744, 30.5520),  # 成自泸高速互通
    (104.1627, 30.5448),
    (104.1491, 30.5392),
    (104.1331, 30.5350),
    (104.1139, 30.5323),
    (104.0878, 30.5311),  # 华阳 北 (天府大道)
    (104.0561, 30.5315),
    (104.0369, 30.5338),
    (104.0191, 30.5383),
    (104.0025, 30.5446),  # 成雅高速互通
    (103.9873, 30.5528),
    (103.9776, 30.5668),
    (103.9712, 30.5820),  # 双流机场 东北
    (103.9629, 30.5946),
    (103.9497, 30.6051),
    (103.9370, 30.6178),
    (103.9330, 30.6347),
    (103.9311, 30.6530),
    (103.9315, 30.6733),  # 光华大道 (温江 东)
    (103.9341, 30.6911),
    (103.9388, 30.7075),
    (103.9457, 30.7229),
    (103.9546, 30.7369),
    (103.9654, 30.7496),
)


@dataclass(frozen=True)
class _Centre:
    """One cluster of industrial blocks: a park (产业功能区) or a satellite without a park."""

    code: str  # parcel-id prefix
    district: str
    lon: float
    lat: float
    weight: float  # share of the lattice cells
    park: str | None  # park name; None for satellites
    kind: str  # park | multi_site (in UDB+PCA) | outside (in UDB, outside PCA) | remote (outside both)
    sector: str  # industry mix key
    level: float  # per-mu output multiplier (高新 electronics above the city mean)
    street_angle: float = 0.0  # street-grid orientation, degrees anticlockwise (illustrative)


CENTRES = (
    _Centre("GX", "高新区", 103.955, 30.739, 1.3, "成都高新区西区 电子信息产业功能区", "park", "C39", 1.25, 18),
    _Centre("GX", "高新区", 104.045, 30.556, 0.6, "成都高新区南区 新经济活力区", "park", "C39", 1.6, 0),
    _Centre("CH", "成华区", 104.145, 30.715, 0.55, "成华区 龙潭新经济产业功能区", "park", "C38", 1.0, -8),
    _Centre("JK", "龙泉驿区", 104.250, 30.600, 1.5, "成都经开区 汽车产业功能区", "park", "C36", 0.95, 24),
    _Centre("QBJ", "青白江区", 104.270, 30.810, 1.0, "青白江 欧洲产业城", "park", "C34", 0.8, -15),
    _Centre("XD", "新都区", 104.130, 30.855, 1.0, "新都 现代交通产业功能区", "park", "C37", 0.85, 30),
    _Centre("SL", "双流区", 103.935, 30.545, 1.0, "双流 航空经济区", "park", "C37", 0.95, -12),
    _Centre("WJ", "温江区", 103.830, 30.735, 0.9, "温江 成都医学城", "park", "C27", 1.4, 35),
    _Centre("PD", "郫都区", 103.895, 30.835, 0.8, "郫都 电子信息产业功能区（菁蓉镇）", "park", "C39", 0.9, 40),
    _Centre("DB", "东部新区", 104.490, 30.370, 0.8, "东部新区 空港新城", "park", "C37", 0.8, 10),
    # satellites: scattered existing industrial land without a park
    _Centre("JK", "龙泉驿区", 104.292, 30.640, 0.25, None, "multi_site", "C36", 0.8, 5),
    _Centre("PD", "郫都区", 103.855, 30.878, 0.2, None, "multi_site", "C39", 0.8, -20),
    _Centre("CH", "成华区", 104.105, 30.690, 0.15, None, "multi_site", "C38", 0.8, 12),
    _Centre("DB", "东部新区", 104.548, 30.405, 0.15, None, "multi_site", "C37", 0.8, 0),
    _Centre("SL", "双流区", 103.882, 30.505, 0.2, None, "outside", "mixed", 0.7, -25),
    _Centre("WJ", "温江区", 103.783, 30.690, 0.2, None, "outside", "C27", 0.7, 15),
    _Centre("XD", "新都区", 104.197, 30.887, 0.2, None, "remote", "mixed", 0.6, 8),
    _Centre("QBJ", "青白江区", 104.327, 30.847, 0.25, None, "remote", "heavy", 0.6, -10),
)

# Voronoi seeds for the simplified 区(市)县 polygons (lon, lat); 高新区 has two parts.
DISTRICT_SEEDS = (
    ("高新区", 103.955, 30.739),
    ("高新区", 104.045, 30.556),
    ("成华区", 104.135, 30.700),
    ("龙泉驿区", 104.270, 30.590),
    ("青白江区", 104.290, 30.830),
    ("新都区", 104.150, 30.870),
    ("双流区", 103.910, 30.530),
    ("温江区", 103.810, 30.715),
    ("郫都区", 103.875, 30.850),
    ("东部新区", 104.510, 30.380),
    ("锦江区", 104.095, 30.630),
    ("青羊区", 104.030, 30.675),
    ("金牛区", 104.050, 30.725),
    ("武侯区", 104.020, 30.620),
    ("天府新区", 104.080, 30.440),
    ("新津区", 103.810, 30.410),
    ("金堂县", 104.420, 30.860),
    ("彭州市", 103.960, 31.000),
)

# GB/T 4754-2017 codes by sector: (codes, probabilities)
_RESTRICTED = (
    "C3110",
    "C3120",
    "C3130",
    "C3011",
    "C2110",
    "C3391",
    "C3392",
    "C2221",
    "C3360",
    "C1713",
    "C3041",
    "C2021",
    "C3031",
)
_SECTORS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "C39": (
        ("C3973", "C3974", "C3976", "C3981", "C3982", "C3983", "C3911", "C3921", "C3562", "C3825"),
        (0.14, 0.1, 0.1, 0.14, 0.14, 0.08, 0.1, 0.1, 0.05, 0.05),
    ),
    "C36": (
        ("C3612", "C3611", "C3670", "C3660", "C3841", "C3484", "C3391", "C3360"),
        (0.15, 0.08, 0.45, 0.1, 0.1, 0.06, 0.03, 0.03),
    ),
    "C27": (("C2710", "C2720", "C2740", "C2761", "C2770", "C3581"), (0.15, 0.25, 0.15, 0.25, 0.1, 0.1)),
    "C37": (
        ("C3741", "C3744", "C3742", "C3711", "C3714", "C3720", "C3484", "C3391"),
        (0.2, 0.25, 0.05, 0.1, 0.15, 0.15, 0.07, 0.03),
    ),
    "C38": (
        ("C3811", "C3824", "C3825", "C3841", "C3823", "C3982", "C2110"),
        (0.15, 0.2, 0.15, 0.2, 0.15, 0.1, 0.05),
    ),
    "C34": (
        ("C3441", "C3411", "C3484", "C3513", "C3531", "C3130", "C3391", "C3011", "C2110"),
        (0.15, 0.1, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05, 0.05),
    ),
    "mixed": (
        ("C3484", "C3670", "C2110", "C2021", "C3031", "C1713", "C2221", "C3982", "C2720"),
        (0.2, 0.2, 0.12, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08),
    ),
    "heavy": (
        ("C3120", "C3130", "C3011", "C3041", "C3391", "C3360", "C3484", "C3441"),
        (0.15, 0.15, 0.12, 0.08, 0.15, 0.1, 0.15, 0.1),
    ),
}
_INDUSTRY_WORDS = {
    "C39": "电子科技",
    "C36": "汽车零部件",
    "C27": "生物医药",
    "C37": "航空装备",
    "C38": "新能源科技",
    "C34": "精密机械",
    "C35": "智能装备",
    "C31": "钢铁",
    "C30": "建材",
    "C21": "家具",
    "C33": "金属制品",
    "C22": "纸业",
    "C17": "印染",
    "C20": "木业",
}
_BRAND_1 = "天蓉锦华川巴西东新中宏恒瑞嘉鑫振光星金银博智远达长盛泰兴德信安和科联创晟昊"
_BRAND_2 = "府城江蜀岷峨都源通宇航迪芯微能电力成丰海阳锐辉景腾飞越凯诺晨昌利铭峰图维邦尔润康泽"


# ---------------------------------------------------------------------------------------------- geometry


def _to_xy(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    tr = Transformer.from_crs(GEOGRAPHIC_CRS, WORKING_CRS, always_xy=True)
    x, y = tr.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def ring_polygon() -> shapely.Polygon:
    """The area inside 绕城高速 (G4202) in EPSG:4544."""
    lon, lat = np.array(G4202_LONLAT).T
    x, y = _to_xy(lon, lat)
    return shapely.orient_polygons(shapely.Polygon(np.c_[x, y]))  # exterior anticlockwise (OGC/RFC 7946)


def _lattice(rng: np.random.Generator, n_cols: int = 1400, n_rows: int = 1500):
    """Column/row edges and street widths of the global street lattice (x from 180 km, y from 3 080 km)."""
    col_w = rng.uniform(330.0, 560.0, n_cols)
    row_h = rng.uniform(260.0, 420.0, n_rows)
    # every 4th street is an arterial road (52–60 m, breaks 成板块 chains); the others 18–28 m
    col_s = np.where(np.arange(n_cols) % 4 == 3, rng.uniform(52, 60, n_cols), rng.uniform(18, 28, n_cols))
    row_s = np.where(np.arange(n_rows) % 4 == 3, rng.uniform(52, 60, n_rows), rng.uniform(18, 28, n_rows))
    x_edges = 180_000.0 + np.r_[0.0, np.cumsum(col_w)]
    y_edges = 3_080_000.0 + np.r_[0.0, np.cumsum(row_h)]
    return x_edges, y_edges, col_s, row_s


def _allocate_cells(rng: np.random.Generator, n_cells: int):
    """Pick lattice cells for every centre: the cells nearest its real location (noisy: organic blobs)."""
    x_edges, y_edges, col_s, row_s = _lattice(rng)
    weights = np.array([c.weight for c in CENTRES])
    quota = np.maximum(np.floor(weights / weights.sum() * n_cells).astype(int), 1)
    quota[0] += n_cells - quota.sum() if n_cells > quota.sum() else 0
    cx, cy = _to_xy([c.lon for c in CENTRES], [c.lat for c in CENTRES])
    reach = np.sqrt(quota.max() * 0.18e6 / np.pi) * 1.6 + np.sqrt(n_cells * 0.18e6 / np.pi) + 3000.0
    xc_all = (x_edges[:-1] + x_edges[1:]) / 2
    yc_all = (y_edges[:-1] + y_edges[1:]) / 2
    cols = np.flatnonzero((xc_all > cx.min() - reach) & (xc_all < cx.max() + reach))
    rows = np.flatnonzero((yc_all > cy.min() - reach) & (yc_all < cy.max() + reach))
    cc, rr = (a.ravel() for a in np.meshgrid(cols, rows))
    px, py = xc_all[cc], yc_all[rr]
    noise = rng.uniform(0.88, 1.12, len(cc))
    taken = np.zeros(len(cc), dtype=bool)
    cell_idx, cell_centre, cell_rank = [], [], []
    for k, _centre in enumerate(CENTRES):  # loop over the 18 centres, not over parcels
        d = np.hypot(px - cx[k], py - cy[k]) * noise
        d[taken] = np.inf
        q = min(quota[k], int(np.isfinite(d).sum()))
        pick = np.argpartition(d, q - 1)[:q] if q < len(d) else np.arange(len(d))
        pick = pick[np.argsort(d[pick], kind="stable")]
        taken[pick] = True
        cell_idx.append(pick)
        cell_centre.append(np.full(q, k))
        cell_rank.append(np.arange(q) / max(q, 1))
    idx = np.concatenate(cell_idx)
    c_col, c_row = cc[idx], rr[idx]
    cells = {
        "centre": np.concatenate(cell_centre),
        "rank": np.concatenate(cell_rank),
        "x0": x_edges[c_col],
        "x1": x_edges[c_col + 1],
        "y0": y_edges[c_row],
        "y1": y_edges[c_row + 1],
    }
    # block = cell minus half of the street on each side
    left_s = np.where(c_col > 0, col_s[np.maximum(c_col - 1, 0)], col_s[0])
    bottom_s = np.where(c_row > 0, row_s[np.maximum(c_row - 1, 0)], row_s[0])
    cells["bx0"] = cells["x0"] + left_s / 2
    cells["bx1"] = cells["x1"] - col_s[c_col] / 2
    cells["by0"] = cells["y0"] + bottom_s / 2
    cells["by1"] = cells["y1"] - row_s[c_row] / 2
    return cells


def _group_position(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For groups of sizes k laid out consecutively: owner group, position in group, group start index."""
    owner = np.repeat(np.arange(len(k)), k)
    starts = np.cumsum(k) - k
    pos = np.arange(k.sum()) - starts[owner]
    return owner, pos, starts


def _split_blocks(rng: np.random.Generator, cells: dict) -> tuple[np.ndarray, np.ndarray]:
    """Cut every block into strips (slanted cuts) and some strips once across; return (coords, cell index)."""
    bx0, bx1, by0, by1 = cells["bx0"], cells["bx1"], cells["by0"], cells["by1"]
    bw, bh = bx1 - bx0, by1 - by0
    kmax = np.clip((bw // 60).astype(int), 1, 7)
    k = rng.integers(1, kmax + 1)
    k = np.where((bw * bh > 190_000) & (k < 2), 2, k)
    owner, pos, starts = _group_position(k)
    w = rng.uniform(0.5, 1.5, len(owner))
    tot = np.add.reduceat(w, starts)
    cum = np.cumsum(w)
    cum_in = cum - (cum[starts] - w[starts])[owner]
    right = bx0[owner] + cum_in / tot[owner] * bw[owner]
    left = right - w / tot[owner] * bw[owner]
    width = right - left
    first, last = pos == 0, pos == k[owner] - 1
    lim = 0.15 * np.minimum(width, np.roll(width, -1))
    d_bot = np.where(last, 0.0, rng.uniform(-1, 1, len(owner)) * lim)
    d_top = np.where(last, 0.0, rng.uniform(-1, 1, len(owner)) * lim)
    xr_b, xr_t = right + d_bot, right + d_top
    xl_b = np.where(first, bx0[owner], np.roll(xr_b, 1))
    xl_t = np.where(first, bx0[owner], np.roll(xr_t, 1))
    xr_b, xr_t = np.where(last, bx1[owner], xr_b), np.where(last, bx1[owner], xr_t)
    # 2 m between neighbouring parcels (1 m each side of a shared cut)
    xl_b, xl_t = xl_b + np.where(first, 0, 1.0), xl_t + np.where(first, 0, 1.0)
    xr_b, xr_t = xr_b - np.where(last, 0, 1.0), xr_t - np.where(last, 0, 1.0)
    y0, y1 = by0[owner], by1[owner]
    h = y1 - y0
    split = (rng.random(len(owner)) < 0.45) & (np.minimum(xr_b - xl_b, xr_t - xl_t) * h * 0.35 >= 3600)
    f = rng.uniform(0.38, 0.62, len(owner))
    ys_l = y0 + h * (f + rng.uniform(-0.06, 0.06, len(owner)))
    ys_r = y0 + h * (f + rng.uniform(-0.06, 0.06, len(owner)))

    def x_at(xb: np.ndarray, xt: np.ndarray, y: np.ndarray) -> np.ndarray:
        return xb + (xt - xb) * (y - y0) / h

    # lower (or only) part
    top_l = np.where(split, ys_l - 1.0, y1)
    top_r = np.where(split, ys_r - 1.0, y1)
    lower = np.stack(
        [
            np.c_[xl_b, y0],
            np.c_[xr_b, y0],
            np.c_[x_at(xr_b, xr_t, top_r), top_r],
            np.c_[x_at(xl_b, xl_t, top_l), top_l],
            np.c_[xl_b, y0],
        ],
        axis=1,
    )
    s = np.flatnonzero(split)
    yl, yr = ys_l[s] + 1.0, ys_r[s] + 1.0
    upper = np.stack(
        [
            np.c_[x_at(xl_b, xl_t, ys_l + 1.0)[s], yl],
            np.c_[x_at(xr_b, xr_t, ys_r + 1.0)[s], yr],
            np.c_[xr_t[s], y1[s]],
            np.c_[xl_t[s], y1[s]],
            np.c_[x_at(xl_b, xl_t, ys_l + 1.0)[s], yl],
        ],
        axis=1,
    )
    coords = np.concatenate([lower, upper])
    strip = np.r_[np.arange(len(owner)), s]
    order = np.lexsort((np.r_[np.zeros(len(owner)), np.ones(len(s))], strip))
    return coords[order], owner[strip[order]]


# ---------------------------------------------------------------------------------------------- zones


def _ellipse(x: float, y: float, rx: float, ry: float, angle: float, n: int = 24) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ex, ey = rx * np.cos(t), ry * np.sin(t)
    ca, sa = np.cos(angle), np.sin(angle)
    return shapely.Polygon(np.c_[x + ex * ca - ey * sa, y + ex * sa + ey * ca])


def _street_angles(cells: dict) -> np.ndarray:
    """Per-centre grid rotation (radians); 0 where the centre's blob could touch another one (large n)."""
    cx, cy = _to_xy([c.lon for c in CENTRES], [c.lat for c in CENTRES])
    k = cells["centre"]
    reach = np.zeros(len(CENTRES))
    for xs, ys in (
        (cells["x0"], cells["y0"]),
        (cells["x1"], cells["y0"]),
        (cells["x0"], cells["y1"]),
        (cells["x1"], cells["y1"]),
    ):  # the four cell corners
        np.maximum.at(reach, k, np.hypot(xs - cx[k], ys - cy[k]))
    gap = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :]) - reach[:, None] - reach[None, :]
    np.fill_diagonal(gap, np.inf)
    # rotating a blob about its own centre keeps it inside its disc; discs 100 m apart cannot touch
    alone = (gap > 100.0).all(axis=1)
    return np.where(alone, np.deg2rad([c.street_angle for c in CENTRES]), 0.0)


def _rotate_xy(coords: np.ndarray, centre: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate parcel coordinates (n, 5, 2) about their centre's location by that centre's angle."""
    cx, cy = _to_xy([c.lon for c in CENTRES], [c.lat for c in CENTRES])
    ox, oy = cx[centre][:, None], cy[centre][:, None]
    cos, sin = np.cos(angle[centre])[:, None], np.sin(angle[centre])[:, None]
    dx, dy = coords[..., 0] - ox, coords[..., 1] - oy
    return np.stack([ox + dx * cos - dy * sin, oy + dx * sin + dy * cos], axis=-1)


def _make_zones(
    rng: np.random.Generator,
    cells: dict,
    parcel_xy: tuple[np.ndarray, np.ndarray],
    parcel_centre: np.ndarray,
    angles: np.ndarray,
) -> dict[str, gpd.GeoDataFrame]:
    """Parks, red and blue lines, boundaries and districts around the generated cells."""
    ring = ring_polygon()
    cx, cy = _to_xy([c.lon for c in CENTRES], [c.lat for c in CENTRES])
    px, py = parcel_xy
    radius = np.zeros(len(CENTRES))
    np.maximum.at(radius, parcel_centre, np.hypot(px - cx[parcel_centre], py - cy[parcel_centre]))
    radius = np.maximum(radius, 300.0) + 250.0  # from parcel centroids to the blob's outer edge
    parks, reds, blues = [], [], []
    for k, c in enumerate(CENTRES):  # per zone, not per parcel
        if c.kind == "park":
            core = (cells["centre"] == k) & (cells["rank"] < PARK_CORE)
            boxes = shapely.box(cells["x0"][core], cells["y0"][core], cells["x1"][core], cells["y1"][core])
            geom = affinity.rotate(
                shapely.coverage_union_all(boxes), angles[k], origin=(cx[k], cy[k]), use_radians=True
            )
            parks.append((f"P{len(parks) + 1:02d}", c.park, geom))
            ang = rng.uniform(0, np.pi)
            reds.append(
                (
                    c.park.split(" ")[0] + " 工业红线区",
                    _ellipse(cx[k], cy[k], radius[k] * 0.62, radius[k] * 0.5, ang),
                )
            )
        elif c.kind in ("multi_site", "outside"):
            blues.append(
                (
                    f"{c.district} 零散工业用地 工业蓝线区",
                    _ellipse(cx[k], cy[k], radius[k] * 0.8, radius[k] * 0.65, rng.uniform(0, np.pi)),
                )
            )
    # a blue zone overlapping the first red zone's edge (红蓝重叠, red wins)
    k0 = 0
    blues.append(
        (
            "高新西区 外围 工业蓝线区（与红线重叠）",
            _ellipse(
                cx[k0] + radius[k0] * 0.55,
                cy[k0] - radius[k0] * 0.2,
                radius[k0] * 0.35,
                radius[k0] * 0.3,
                0.4,
            ),
        )
    )
    crs = WORKING_CRS

    def frame(rows: list, prefix: str) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"zone_id": [f"{prefix}{i:02d}" for i, _ in enumerate(rows, 1)], "name": [r[0] for r in rows]},
            geometry=[r[1] for r in rows],
            crs=crs,
        )

    kinds = np.array([c.kind for c in CENTRES])
    udb_parts = [shapely.buffer(ring, 3000.0)] + [
        shapely.Point(cx[k], cy[k]).buffer(radius[k] + 1200.0) for k in np.flatnonzero(kinds != "remote")
    ]
    pca_parts = [shapely.buffer(ring, 800.0)] + [
        shapely.Point(cx[k], cy[k]).buffer(radius[k] + 300.0)
        for k in np.flatnonzero((kinds == "park") | (kinds == "multi_site"))
    ]
    udb = shapely.simplify(shapely.union_all(udb_parts), 30.0)
    pca = shapely.simplify(shapely.union_all(pca_parts), 30.0)
    # the 'outside' satellites lie outside the planned construction area even where a buffer reaches them
    for k in np.flatnonzero(kinds == "outside"):
        pca = pca.difference(shapely.Point(cx[k], cy[k]).buffer(radius[k] + 150.0))
    return {
        "red_line": frame(reds, "RL"),
        "blue_line": frame(blues, "BL"),
        "ring": gpd.GeoDataFrame({"name": ["绕城高速（G4202）以内"]}, geometry=[ring], crs=crs),
        "parks": gpd.GeoDataFrame(
            {"park_id": [p[0] for p in parks], "name": [p[1] for p in parks]},
            geometry=[p[2] for p in parks],
            crs=crs,
        ),
        "urban_dev_boundary": gpd.GeoDataFrame({"name": ["城镇开发边界（示意）"]}, geometry=[udb], crs=crs),
        "planned_construction_area": gpd.GeoDataFrame({"name": ["规划集中建设区（示意）"]}, geometry=[pca], crs=crs),
    }


def _districts(parcels_bounds: np.ndarray) -> gpd.GeoDataFrame:
    """Simplified 区(市)县 polygons: Voronoi cells of district seeds, dissolved by name."""
    names = [s[0] for s in DISTRICT_SEEDS]
    sx, sy = _to_xy([s[1] for s in DISTRICT_SEEDS], [s[2] for s in DISTRICT_SEEDS])
    x0, y0, x1, y1 = parcels_bounds
    env = shapely.box(
        min(x0, sx.min()) - 15000,
        min(y0, sy.min()) - 15000,
        max(x1, sx.max()) + 15000,
        max(y1, sy.max()) + 15000,
    )
    vor = shapely.voronoi_polygons(shapely.multipoints(np.c_[sx, sy]), extend_to=env, ordered=True)
    cells = shapely.intersection(np.asarray(shapely.get_parts(vor)), env)
    frame = gpd.GeoDataFrame({"name": names}, geometry=cells, crs=WORKING_CRS)
    return frame.dissolve(by="name", sort=False).reset_index()[["name", "geometry"]]


# ---------------------------------------------------------------------------------------------- parcels


def _days(rng: np.random.Generator, lo: str, hi: str, n: int) -> np.ndarray:
    a, b = np.datetime64(lo, "D"), np.datetime64(hi, "D")
    return a + rng.integers(0, int((b - a).astype(int)) + 1, n).astype("timedelta64[D]")


def _add_years(d: np.ndarray, years: int) -> np.ndarray:
    month = d.astype("datetime64[M]")
    day = d - month.astype("datetime64[D]")
    return (month + 12 * years).astype("datetime64[D]") + day


def _parcel_attributes(rng: np.random.Generator, area: np.ndarray, flags: dict[str, np.ndarray]) -> dict:
    """Draw every contract column from its distribution (numpy arrays; NaN/NaT/None/-1 = NA)."""
    n = len(area)
    mu = area / MU_M2
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    ind = rng.random(n) < 0.9
    land_use = np.where(
        ind,
        rng.choice(INDUSTRIAL_CODES, n, p=INDUSTRIAL_P),
        rng.choice(NON_INDUSTRIAL_CODES, n, p=NON_INDUSTRIAL_P),
    ).astype(object)
    status = np.where(
        ind,
        rng.choice(["built", "under_construction", "vacant"], n, p=[0.78, 0.09, 0.13]),
        rng.choice(["built", "under_construction", "vacant"], n, p=[0.9, 0.05, 0.05]),
    ).astype(object)
    built, uc, vac = status == "built", status == "under_construction", status == "vacant"
    transfer = np.where(
        built,
        _days(rng, "2003-01-01", "2022-12-31", n),
        np.where(uc, _days(rng, "2021-01-01", "2025-03-31", n), _days(rng, "2020-06-01", "2025-05-31", n)),
    )
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
    halted = uc & (rng.random(n) < 0.18)
    halted_since = np.where(
        halted,
        np.minimum(actual + rng.integers(60, 900, n).astype("timedelta64[D]"), AS_OF - np.timedelta64(1, "D")),
        nat,
    )
    inside = flags["inside_ring"]
    lo, hi = np.where(inside, 2.0, 1.2), np.where(inside, 4.0, 3.0)
    u = rng.random(n)
    far = np.where(
        u < 0.12,
        lo * rng.uniform(0.45, 0.97, n),
        np.where(u < 0.2, hi * rng.uniform(1.03, 1.3, n), rng.uniform(lo, hi)),
    )
    far = np.where(ind, far, rng.uniform(1.0, 3.5, n))
    floor = np.round(np.where(vac, 0.0, far * area), 1)
    cover = np.where(rng.random(n) < 0.15, rng.uniform(0.14, 0.295, n), rng.uniform(0.31, 0.62, n))
    cover = np.minimum(cover, far * 0.95)
    footprint = np.round(np.where(vac, 0.0, cover * area), 1)
    special = (rng.random(n) < 0.03).astype(np.int8)
    planned_use = np.where(
        rng.random(n) < 0.07, rng.choice(["0701", "R2", "B1", "1101", "100102", "M1"], n), None
    ).astype(object)
    outside = ~flags["in_park"] & ~flags["in_pca"]
    retainable = np.where(outside, rng.choice(np.array([1, 0, -1], dtype=np.int8), n, p=[0.45, 0.35, 0.2]), -1).astype(
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
    delay = np.where(
        vac | halted, rng.choice(["none", "government", "force_majeure"], n, p=[0.84, 0.11, 0.05]), "none"
    ).astype(object)
    new_in_park = flags["in_park"] & ind & (transfer >= np.datetime64("2024-01-01"))
    std = np.where(
        new_in_park,
        rng.choice(np.array([1, 0, -1], dtype=np.int8), n, p=[0.8, 0.15, 0.05]),
        np.where(
            flags["in_park"] & ind & built & (transfer >= np.datetime64("2019-06-01")),
            (rng.random(n) < 0.35).astype(np.int8),
            0,
        ),
    ).astype(np.int8)
    is_std = std == 1
    c_inv = np.where(is_std, np.round(rng.uniform(300, 520, n), 0), np.nan)
    c_rev = np.where(is_std, np.round(rng.uniform(300, 620, n), 0), np.nan)
    c_tax = np.where(is_std, np.round(rng.uniform(12, 30, n), 1), np.nan)
    drop = is_std & (rng.random(n) < 0.1)  # a 标准地 contract missing one of the three indicators
    which = rng.integers(0, 3, n)
    c_inv[drop & (which == 0)] = np.nan
    c_rev[drop & (which == 1)] = np.nan
    c_tax[drop & (which == 2)] = np.nan
    due = np.where(is_std, _add_years(transfer, 3), nat)
    # a 标准地 project's investment is planned against its commitment (most reach it, some fall short)
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


def _blank_na(rng: np.random.Generator, a: dict, keep: np.ndarray) -> None:
    """Deliberate gaps so that `missing_data` occurs (never on the documented example parcels)."""
    n = len(keep)
    gaps = {
        "floor_area_m2": 0.02,
        "footprint_m2": 0.02,
        "transfer_date": 0.01,
        "agreed_start_date": 0.015,
        "special_process": 0.01,
        "status": 0.005,
        "delay_cause": 0.01,
        "total_investment_10k": 0.01,
    }
    for col, p in gaps.items():  # per column, vectorised over parcels
        m = (rng.random(n) < p) & ~keep
        arr = a[col]
        if arr.dtype.kind == "f":
            arr[m] = np.nan
        elif arr.dtype.kind == "M":
            arr[m] = np.datetime64("NaT")
        elif arr.dtype == np.int8:
            arr[m] = -1
        else:
            arr[m] = None


# ---------------------------------------------------------------------------------------------- enterprises


def _occupancy(
    rng: np.random.Generator, a: dict, area: np.ndarray, centre: np.ndarray, force_single: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict]:
    """Occupants per parcel: mostly one, ≥40 multi-tenant 标准厂房, a few firms on several parcels."""
    n = len(area)
    status = a["status"]
    occupied = a["industrial"] & np.isin(status, ["built", "under_construction", "vacant"])
    built = occupied & (status == "built")
    multi = built & ~force_single & (rng.random(n) < 0.06)
    tenants = np.where(multi, rng.integers(2, 7, n), np.where(occupied, 1, 0))
    no_floor = multi & (rng.random(n) < 0.1)
    mi = np.flatnonzero(multi)
    no_floor[mi[:3]] = True  # at least three equal-split cases
    owner, pos, starts = _group_position(tenants)
    # enterprise index per slot: single parcels may share the firm of the previous single parcel
    single_slot = ~multi[owner]
    reuse = single_slot & (rng.random(len(owner)) < 0.035) & ~force_single[owner]
    ss = np.flatnonzero(single_slot)
    prev_ok = np.r_[False, ~force_single[owner[ss[:-1]]] & (centre[owner[ss[:-1]]] == centre[owner[ss[1:]]])]
    reuse_s = reuse[ss] & prev_ok
    firm = np.empty(len(owner), dtype=np.int64)
    firm[ss] = np.cumsum(~reuse_s) - 1
    n_single_firms = int((~reuse_s).sum())
    ms = np.flatnonzero(~single_slot)
    firm[ms] = n_single_firms + np.arange(len(ms))
    # floor areas: single occupant = the parcel's floor area; tenants share 60–95 % of it
    pfloor = a["floor_area_m2"][owner]
    w = rng.uniform(0.3, 1.0, len(owner))
    wsum = np.bincount(owner, weights=w, minlength=n)[owner]
    occ_share = rng.uniform(0.6, 0.95, n)[owner]
    tenant_floor = np.floor(pfloor * occ_share * w / wsum)
    occ_floor = np.where(single_slot, np.where(status[owner] == "vacant", np.nan, pfloor), tenant_floor)
    occ_floor = np.where(no_floor[owner], np.nan, occ_floor)
    # land apportioned per slot (contract rule), for revenue = land × per-mu output
    divisor = np.where(np.isnan(pfloor), np.nan, pfloor)
    share = np.where(
        single_slot,
        1.0,
        np.where(
            no_floor[owner] | np.isnan(divisor),
            1.0 / tenants[owner],
            occ_floor / np.where(divisor > 0, divisor, np.nan),
        ),
    )
    share = np.nan_to_num(share, nan=1.0 / np.maximum(tenants[owner], 1))
    land = area[owner] * share
    prod = np.select([status[owner] == "built", status[owner] == "under_construction"], [1.0, 0.1], 0.02)
    occ = pd.DataFrame({"slot_parcel": owner, "firm": firm, "floor_area_m2": occ_floor})
    info = {
        "multi": multi,
        "no_floor": no_floor,
        "land": land,
        "prod_land": land * prod,
        "tenants": tenants,
        "slot_parcel": owner,
    }
    return occ, firm, single_slot, info


def _firm_names(idx: np.ndarray, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    combos = len(_BRAND_1) * len(_BRAND_2)
    perm = rng.permutation(combos)
    j = perm[idx % combos]
    b1 = np.array(list(_BRAND_1))[j % len(_BRAND_1)]
    b2 = np.array(list(_BRAND_2))[j // len(_BRAND_1)]
    word = pd.Series(codes).str[:3].map(_INDUSTRY_WORDS).fillna("实业").to_numpy(dtype=object)
    word = np.where(pd.Series(codes).isin(["C3360"]).to_numpy(), "表面处理", word)
    word = np.where(pd.Series(codes).str.startswith("C339").to_numpy(), "铸造", word)
    word = np.where(pd.Series(codes).isin(["C3011"]).to_numpy(), "水泥", word)
    word = np.where(pd.Series(codes).isin(["C3041"]).to_numpy(), "玻璃", word)
    word = np.where(pd.Series(codes).isin(["C3031"]).to_numpy(), "砖瓦建材", word)
    prefix = np.where(rng.random(len(idx)) < 0.8, "成都", "四川")
    suffix = np.where(rng.random(len(idx)) < 0.85, "有限公司", "股份有限公司")
    dup = idx >= combos  # only in very large synthetic sets
    tag = np.where(dup, pd.Series(idx // combos).astype(str).radd("第").add("分公司").to_numpy(), "")
    return (pd.Series(prefix) + b1 + b2 + word + suffix + tag).to_numpy(dtype=object)


def _enterprises(
    rng: np.random.Generator,
    n_firms: int,
    firm: np.ndarray,
    info: dict,
    centre: np.ndarray,
    overrides: dict[int, dict],
) -> pd.DataFrame:
    """Enterprise table: revenue and tax = productive land (亩) × per-mu output around Chengdu levels."""
    slot_parcel = info["slot_parcel"]
    first_slot = np.full(n_firms, -1)
    order = np.argsort(firm, kind="stable")
    uniq, first = np.unique(firm[order], return_index=True)
    first_slot[uniq] = order[first]
    f_centre = centre[slot_parcel[first_slot]]
    sectors = np.array([c.sector for c in CENTRES])[f_centre]
    level = np.array([c.level for c in CENTRES])[f_centre]
    codes = np.empty(n_firms, dtype=object)
    for key, (cs, ps) in _SECTORS.items():  # per sector (8), not per firm
        m = sectors == key
        codes[m] = rng.choice(cs, int(m.sum()), p=ps)
    restricted = pd.Series(codes).str.startswith(_RESTRICTED).to_numpy()
    rev_mu = np.clip(
        rng.lognormal(np.log(470.0), 0.55, n_firms) * level * np.where(restricted, 0.7, 1.0), 120.0, 2400.0
    )
    # stronger areas also pay a little more tax per 万元 of revenue (higher value added)
    tax_rate = np.clip(rng.lognormal(np.log(0.043), 0.35, n_firms) * np.sqrt(level), 0.012, 0.12)
    for fi, o in overrides.items():  # the documented example parcels (a few dozen)
        codes[fi] = o.get("industry_code", codes[fi])
        if "rev_mu" in o:
            rev_mu[fi] = o["rev_mu"]
            tax_rate[fi] = o["tax_mu"] / o["rev_mu"]
    prod_mu = np.bincount(firm, weights=info["prod_land"], minlength=n_firms) / MU_M2
    revenue = np.round(prod_mu * rev_mu, 2)
    idle_only = prod_mu < 0.05 * np.bincount(firm, weights=info["land"], minlength=n_firms) / MU_M2
    revenue = np.where(
        idle_only & ~np.isin(np.arange(n_firms), list(overrides)),
        np.round(rng.uniform(50, 1800, n_firms), 2),
        revenue,
    )
    tax = np.round(revenue * tax_rate, 2)
    keep = np.isin(np.arange(n_firms), list(overrides))
    return _enterprise_table(rng, codes, revenue, tax, restricted, keep)


def _enterprise_table(
    rng: np.random.Generator,
    codes: np.ndarray,
    revenue: np.ndarray,
    tax: np.ndarray,
    restricted: np.ndarray,
    keep: np.ndarray,
) -> pd.DataFrame:
    """The enterprise columns derived from revenue and tax (value added, energy, R&D, staff, emissions, gaps)."""
    n_firms = len(codes)
    va = np.round(revenue * rng.uniform(0.18, 0.36, n_firms), 2)
    heavy = restricted | pd.Series(codes).str.startswith(("C34", "C36")).to_numpy()
    energy = np.round(revenue * np.where(heavy, rng.uniform(0.08, 0.4, n_firms), rng.uniform(0.01, 0.08, n_firms)), 1)
    rd = np.round(
        revenue * np.where(restricted, rng.uniform(0.002, 0.015, n_firms), rng.uniform(0.01, 0.08, n_firms)),
        2,
    )
    employees = np.maximum(np.round(revenue / rng.uniform(80, 260, n_firms)), 3)
    emission = np.round(
        energy * np.where(restricted, rng.uniform(0.02, 0.08, n_firms), rng.uniform(0.002, 0.01, n_firms)), 2
    )
    above = pd.array(revenue >= 2000, dtype="boolean")
    above[(rng.random(n_firms) < 0.12) & ~keep] = pd.NA  # left empty: derive from revenue
    width = max(5, len(str(n_firms)))
    df = pd.DataFrame(
        {
            "enterprise_id": pd.array(
                pd.Series(np.arange(1, n_firms + 1)).astype(str).str.zfill(width).radd("E"), dtype="str"
            ),
            "name": pd.array(_firm_names(np.arange(n_firms), codes, rng), dtype="str"),
            "industry_code": pd.array(codes, dtype="str"),
            "revenue_10k": revenue,
            "tax_10k": tax,
            "year": np.full(n_firms, 2024),
            "above_scale": above,
            "value_added_10k": va,
            "energy_tce": energy,
            "rd_expense_10k": rd,
            "employees": pd.array(employees.astype(np.int64), dtype="Int64"),
            "emission_eq": emission,
        }
    )
    for col, p in (
        ("value_added_10k", 0.03),
        ("energy_tce", 0.03),
        ("rd_expense_10k", 0.05),
        ("emission_eq", 0.05),
        ("employees", 0.02),
        ("revenue_10k", 0.008),
        ("tax_10k", 0.008),
    ):
        m = (rng.random(n_firms) < p) & ~keep
        df.loc[m, col] = pd.NA if col == "employees" else np.nan
    return df


# ---------------------------------------------------------------------------------------------- tables


def _land_supply(rng: np.random.Generator, n_parcels: int) -> pd.DataFrame:
    """Plots of 国有建设用地 supplied per year; industrial share above 30 % in some years, below in others."""
    years = np.arange(2019, 2025)
    target = np.array([0.34, 0.26, 0.31, 0.23, 0.37, 0.28])
    per_year = int(np.clip(n_parcels // 100, 16, 4000))
    yr = np.repeat(years, per_year)
    share = np.repeat(target, per_year)
    is_ind = (np.arange(len(yr)) % per_year) < per_year * 0.4
    area = rng.lognormal(np.log(45_000), 0.6, len(yr))
    ind_sum = np.bincount(yr - 2019, weights=np.where(is_ind, area, 0))
    non_sum = np.bincount(yr - 2019, weights=np.where(is_ind, 0, area))
    # scale non-industrial plots so industrial / total hits the year's target share
    scale = (ind_sum / share[::per_year] - ind_sum) / non_sum
    area = np.round(np.where(is_ind, area, area * scale[yr - 2019]), 2)
    codes = np.where(
        is_ind,
        rng.choice(["100101", "100102", "1001", "M1", "0601"], len(yr)),
        rng.choice(["0701", "R2", "B1", "0901", "1101", "0801"], len(yr)),
    )
    return pd.DataFrame({"year": yr, "land_use": pd.array(codes, dtype="str"), "area_m2": area})


def _district_land(
    districts: gpd.GeoDataFrame,
    xy: tuple[np.ndarray, np.ndarray],
    area: np.ndarray,
    industrial: np.ndarray,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Give each district a 城市建设用地 area so that some reach 25 % industrial share and some don't."""
    ax, ay = xy
    ind_area = np.zeros(len(districts))
    for i, g in enumerate(districts.geometry.to_numpy()):  # per district (18), vectorised over parcels
        shapely.prepare(g)
        ind_area[i] = area[industrial & shapely.contains_xy(g, ax, ay)].sum()
    target = np.resize(np.array([0.31, 0.18, 0.27, 0.21, 0.36, 0.15, 0.26, 0.12]), len(districts))
    land = np.where(ind_area > 0, ind_area / target, rng.uniform(2.0e7, 6.0e7, len(districts)))
    out = districts.copy()
    out["construction_land_m2"] = np.round(land, -3)
    return out[["name", "construction_land_m2", "geometry"]]


# ---------------------------------------------------------------------------------------------- examples

# (key, rule, expected, 说明, candidate mask name, parcel overrides, occupant overrides)
# Overrides: "far"/"far_exact" set floor_area_m2 = FAR × area (exact: no rounding, for bound-inclusive tests);
# "cover" sets footprint_m2 = 建筑系数 × area; dates are ISO strings; None = empty.
_GOOD = {"industry_code": "C3982", "rev_mu": 720.0, "tax_mu": 34.0}
EXAMPLE_CASES: tuple[tuple[str, str, str, str, str, dict, dict | None], ...] = (
    ("far_in_low", "far.bounds", "fail", "绕城内容积率 1.6 < 2.0", "ring_in", {"far": 1.6}, None),
    (
        "far_in_min",
        "far.bounds",
        "pass",
        "绕城内容积率恰为下限 2.0（含边界）",
        "ring_in",
        {"far_exact": 2.0},
        None,
    ),
    (
        "far_in_max",
        "far.bounds",
        "pass",
        "绕城内容积率恰为上限 4.0（含边界）",
        "ring_in",
        {"far_exact": 4.0},
        None,
    ),
    ("far_in_high", "far.bounds", "fail", "绕城内容积率 4.6 > 4.0", "ring_in", {"far": 4.6}, None),
    ("far_out_low", "far.bounds", "fail", "绕城外容积率 0.9 < 1.2", "ring_out_park", {"far": 0.9}, None),
    ("far_out_ok", "far.bounds", "pass", "绕城外容积率 2.2", "ring_out_park", {"far": 2.2}, None),
    ("far_out_high", "far.bounds", "fail", "绕城外容积率 3.5 > 3.0", "ring_out_park", {"far": 3.5}, None),
    (
        "far_special",
        "far.bounds",
        "exempt",
        "特殊工艺用地，容积率 0.7",
        "ring_out_park",
        {"far": 0.7, "special_process": 1},
        None,
    ),
    (
        "far_vacant",
        "far.bounds",
        "not_applicable",
        "空地（未动工，约定动工日在评价日之后）",
        "ring_out_park",
        {
            "status": "vacant",
            "far": 0.0,
            "cover": 0.0,
            "transfer_date": "2025-01-10",
            "agreed_start_date": "2025-10-01",
            "actual_start_date": None,
            "developed": 0.0,
            "invested": 0.0,
        },
        None,
    ),
    (
        "far_non_industrial",
        "far.bounds",
        "not_applicable",
        "非工业用地（B1 商业）",
        "ring_out_park",
        {"land_use": "B1", "far": 2.6},
        None,
    ),
    (
        "far_missing",
        "far.bounds",
        "missing_data",
        "计容建筑面积缺失",
        "ring_out_park",
        {"floor_area_m2": np.nan},
        None,
    ),
    (
        "red_to_0701",
        "zone.red_line",
        "fail",
        "红线区内拟调整为 0701 城镇住宅用地",
        "red_only",
        {"planned_use": "0701"},
        None,
    ),
    (
        "red_to_R2",
        "zone.red_line",
        "fail",
        "红线区内拟调整为 R2 二类居住用地",
        "red_only",
        {"planned_use": "R2"},
        None,
    ),
    (
        "red_keep_industrial",
        "zone.red_line",
        "pass",
        "红线区内拟调整为 100102（仍为工业）",
        "red_only",
        {"planned_use": "100102"},
        None,
    ),
    (
        "blue_to_B1",
        "zone.blue_line",
        "fail",
        "蓝线区内（2035 年前）拟调整为 B1 商业用地",
        "blue_only",
        {"planned_use": "B1"},
        None,
    ),
    (
        "blue_no_change",
        "zone.blue_line",
        "pass",
        "蓝线区内无用途调整",
        "blue_only",
        {"planned_use": None},
        None,
    ),
    (
        "red_blue_overlap",
        "zone.red_line",
        "fail",
        "红蓝线重叠处拟调整为 0701：按红线判定，并报 data.straddles",
        "red_and_blue",
        {"planned_use": "0701"},
        None,
    ),
    ("red_straddle", "data.straddles", "warn", "宗地跨红线区边界", "red_edge", {}, None),
    ("ring_straddle", "data.straddles", "warn", "宗地跨绕城高速", "ring_edge", {}, None),
    (
        "outside_retain",
        "zone.outside",
        "pass",
        "园区外、规划集中建设区外，经认定可保留（retain）",
        "outside",
        {"retainable": 1},
        None,
    ),
    (
        "outside_exit",
        "zone.outside",
        "fail",
        "园区外、规划集中建设区外，不可保留（exit）",
        "outside",
        {"retainable": 0},
        None,
    ),
    (
        "outside_unknown",
        "zone.outside",
        "missing_data",
        "园区外、规划集中建设区外，是否可保留未填",
        "outside",
        {"retainable": -1},
        None,
    ),
    (
        "park_adjacent",
        "zone.park_management",
        "warn",
        "紧邻园区（≤50 m）的成板块工业用地：include_in_park",
        "near_park",
        {},
        None,
    ),
    (
        "park_multi_site",
        "zone.park_management",
        "warn",
        "不相邻的成板块工业用地：one_park_multi_site",
        "far_from_park",
        {},
        None,
    ),
    (
        "idle_not_due",
        "idle.order53",
        "pass",
        "约定动工日 2025-09-01 尚未到期",
        "idle",
        {"agreed_start_date": "2025-09-01", "transfer_date": "2025-02-20"},
        None,
    ),
    (
        "idle_120_days",
        "idle.order53",
        "pass",
        "逾期 121 天，未到 270 天预警",
        "idle",
        {"agreed_start_date": "2025-03-01", "transfer_date": "2024-10-15"},
        None,
    ),
    (
        "idle_risk",
        "idle.order53",
        "warn",
        "逾期 302 天未动工：idle_risk",
        "idle",
        {"agreed_start_date": "2024-09-01", "transfer_date": "2024-03-20"},
        None,
    ),
    (
        "idle_364_days",
        "idle.order53",
        "warn",
        "约定 2024-07-01，评价日尚差一天满一年：idle_risk",
        "idle",
        {"agreed_start_date": "2024-07-01", "transfer_date": "2024-01-05"},
        None,
    ),
    (
        "idle_one_year_exact",
        "idle.order53",
        "fail",
        "约定 2024-06-30，评价日恰满一年：idle_fee_20pct",
        "idle",
        {"agreed_start_date": "2024-06-30", "transfer_date": "2023-12-28"},
        None,
    ),
    (
        "idle_fee",
        "idle.order53",
        "fail",
        "未动工满一年不满两年：idle_fee_20pct",
        "idle",
        {"agreed_start_date": "2024-03-15", "transfer_date": "2023-09-01"},
        None,
    ),
    (
        "idle_two_years_exact",
        "idle.order53",
        "fail",
        "约定 2023-06-30，评价日恰满两年：idle_recover",
        "idle",
        {"agreed_start_date": "2023-06-30", "transfer_date": "2022-12-01"},
        None,
    ),
    (
        "idle_recover",
        "idle.order53",
        "fail",
        "未动工满两年：idle_recover",
        "idle",
        {"agreed_start_date": "2022-11-01", "transfer_date": "2022-03-01"},
        None,
    ),
    (
        "idle_government",
        "idle.order53",
        "warn",
        "政府原因（未按约定交地）：idle_negotiate",
        "idle",
        {"agreed_start_date": "2023-01-01", "transfer_date": "2022-06-15", "delay_cause": "government"},
        None,
    ),
    (
        "idle_force_majeure",
        "idle.order53",
        "warn",
        "不可抗力：idle_negotiate",
        "idle",
        {"agreed_start_date": "2023-10-01", "transfer_date": "2023-03-01", "delay_cause": "force_majeure"},
        None,
    ),
    (
        "idle_missing_start",
        "idle.order53",
        "missing_data",
        "空地，约定动工日缺失",
        "idle",
        {"agreed_start_date": None, "transfer_date": "2023-05-01"},
        None,
    ),
    (
        "halted_dev_lt_third",
        "idle.order53",
        "fail",
        "已动工，开发面积 20% < 1/3，中止满一年（2024-04-01 起）",
        "halted",
        {"developed": 0.2, "invested": 0.5, "halted_since": "2024-04-01"},
        None,
    ),
    (
        "halted_inv_lt_quarter",
        "idle.order53",
        "fail",
        "已动工，投资 15% < 25%，中止满两年（2023-05-20 起）",
        "halted",
        {"developed": 0.5, "invested": 0.15, "halted_since": "2023-05-20"},
        None,
    ),
    (
        "halted_short",
        "idle.order53",
        "pass",
        "开发 20%，中止不满一年（2025-01-10 起）",
        "halted",
        {"developed": 0.2, "invested": 0.2, "halted_since": "2025-01-10"},
        None,
    ),
    (
        "halted_enough_done",
        "idle.order53",
        "pass",
        "中止满两年但开发 50%、投资 60%，不构成闲置",
        "halted",
        {"developed": 0.5, "invested": 0.6, "halted_since": "2023-01-01"},
        None,
    ),
    (
        "sl_ok",
        "standard_land.required",
        "pass",
        "2024 年园区内供地，标准地，三项指标齐全",
        "sl_new",
        {
            "transfer_date": "2024-03-15",
            "standard_land": 1,
            "c_inv": 420.0,
            "c_rev": 650.0,
            "c_tax": 30.0,
            "production_due_date": "2027-03-15",
        },
        None,
    ),
    (
        "sl_missing_commitment",
        "standard_land.required",
        "fail",
        "标准地但缺亩均税收约定",
        "sl_new",
        {
            "transfer_date": "2024-06-01",
            "standard_land": 1,
            "c_inv": 400.0,
            "c_rev": 600.0,
            "c_tax": np.nan,
            "production_due_date": "2027-06-01",
        },
        None,
    ),
    (
        "sl_not_standard",
        "standard_land.required",
        "fail",
        "2024 年园区内新供工业用地未按标准地出让",
        "sl_new",
        {"transfer_date": "2024-08-01", "standard_land": 0},
        None,
    ),
    (
        "sl_unknown",
        "standard_land.required",
        "missing_data",
        "2024 年园区内供地，是否标准地未填",
        "sl_new",
        {"transfer_date": "2024-09-10", "standard_land": -1},
        None,
    ),
    (
        "sl_before_2024",
        "standard_land.required",
        "not_applicable",
        "2023-11-20 供地，早于 2024-01-01",
        "sl_new",
        {"transfer_date": "2023-11-20", "standard_land": 0},
        None,
    ),
    (
        "sl_outside_park",
        "standard_land.required",
        "not_applicable",
        "园区外 2024 年供地",
        "sl_out",
        {"transfer_date": "2024-05-01", "standard_land": 0},
        None,
    ),
    (
        "slp_above",
        "standard_land.performance",
        "pass",
        "已过达产日，实际投资/营收/税收均高于约定",
        "slp",
        {
            "transfer_date": "2021-04-01",
            "standard_land": 1,
            "c_inv": 400.0,
            "c_rev": 600.0,
            "c_tax": 25.0,
            "production_due_date": "2024-04-01",
            "inv_mu": 450.0,
        },
        {"industry_code": "C3982", "rev_mu": 800.0, "tax_mu": 36.0},
    ),
    (
        "slp_below",
        "standard_land.performance",
        "fail",
        "已过达产日，实际营收/税收/投资低于约定",
        "slp",
        {
            "transfer_date": "2021-09-01",
            "standard_land": 1,
            "c_inv": 450.0,
            "c_rev": 800.0,
            "c_tax": 40.0,
            "production_due_date": "2024-09-01",
            "inv_mu": 380.0,
        },
        {"industry_code": "C3670", "rev_mu": 500.0, "tax_mu": 18.0},
    ),
    (
        "slp_due_today",
        "standard_land.performance",
        "pass",
        "达产日恰为评价日 2025-06-30，指标达标",
        "slp",
        {
            "transfer_date": "2022-06-30",
            "standard_land": 1,
            "c_inv": 380.0,
            "c_rev": 600.0,
            "c_tax": 28.0,
            "production_due_date": "2025-06-30",
            "inv_mu": 420.0,
        },
        {"industry_code": "C3741", "rev_mu": 700.0, "tax_mu": 31.0},
    ),
    (
        "slp_not_due",
        "standard_land.performance",
        "not_applicable",
        "达产日 2026-05-01 未到",
        "slp",
        {
            "transfer_date": "2023-05-01",
            "standard_land": 1,
            "c_inv": 400.0,
            "c_rev": 650.0,
            "c_tax": 30.0,
            "production_due_date": "2026-05-01",
            "inv_mu": 400.0,
        },
        {"industry_code": "C3982", "rev_mu": 300.0, "tax_mu": 10.0},
    ),
    (
        "le_low_tax",
        "low_efficiency",
        "fail",
        "2010 年供地，亩均税收 9 万元 < 15：低效（可用存量处置方式）",
        "old_park",
        {},
        {"industry_code": "C3484", "rev_mu": 260.0, "tax_mu": 9.0},
    ),
    (
        "le_low_far",
        "low_efficiency",
        "fail",
        "容积率 0.8 低于下限：低效",
        "old_park_out",
        {"far": 0.8, "cover": 0.45},
        None,
    ),
    ("le_low_cover", "low_efficiency", "fail", "建筑系数 22% < 30%：低效", "old_park", {"cover": 0.22}, None),
    ("le_ok", "low_efficiency", "pass", "税收、容积率、建筑系数均达标", "old_park", {}, None),
    (
        "le_new_land",
        "low_efficiency",
        "fail",
        "2018 年供地、建筑系数 20%：低效，但不属改革前供地",
        "old_park",
        {
            "cover": 0.2,
            "transfer_date": "2018-06-01",
            "agreed_start_date": "2018-12-01",
            "actual_start_date": "2018-11-20",
        },
        None,
    ),
    (
        "pm_pass",
        "per_mu.revenue",
        "pass",
        "园区内规上企业亩均营收 820、税收 38",
        "pm_park",
        {},
        {"industry_code": "C3976", "rev_mu": 820.0, "tax_mu": 38.0},
    ),
    (
        "pm_below_target",
        "per_mu.revenue",
        "warn",
        "园区内规上企业亩均营收 480、税收 19：低于 2025 年全市目标，预警（差距见说明）",
        "pm_park",
        {},
        {"industry_code": "C3670", "rev_mu": 480.0, "tax_mu": 19.0},
    ),
    (
        "pm_tax_below_target",
        "per_mu.tax",
        "warn",
        "亩均营收 700 达到目标，税收 22 低于 30：预警",
        "pm_park",
        {},
        {"industry_code": "C3841", "rev_mu": 700.0, "tax_mu": 22.0},
    ),
    (
        "pm_below_scale",
        "per_mu.revenue",
        "not_applicable",
        "规下企业（营收 < 2000 万元）",
        "pm_small",
        {},
        {"industry_code": "C3484", "rev_mu": 200.0, "tax_mu": 6.0},
    ),
    (
        "pm_outside_park",
        "per_mu.revenue",
        "not_applicable",
        "园区外企业",
        "pm_out",
        {},
        {"industry_code": "C3484", "rev_mu": 300.0, "tax_mu": 9.0},
    ),
    (
        "rs_new_vacant",
        "industry.restricted",
        "fail",
        "2024 年供地的空地，用地企业为电镀 C3360（新项目）",
        "idle",
        {"status": "vacant", "transfer_date": "2024-05-10", "agreed_start_date": "2025-04-01"},
        {"industry_code": "C3360", "rev_mu": 300.0, "tax_mu": 9.0},
    ),
    (
        "rs_new_boundary",
        "industry.restricted",
        "fail",
        "2023-03-23 当日供地、在建的水泥 C3011 项目",
        "old_park",
        {
            "status": "under_construction",
            "transfer_date": "2023-03-23",
            "agreed_start_date": "2023-09-01",
            "actual_start_date": "2023-08-20",
            "developed": 0.6,
            "invested": 0.5,
        },
        {"industry_code": "C3011", "rev_mu": 300.0, "tax_mu": 9.0},
    ),
    (
        "rs_day_before",
        "industry.restricted",
        "warn",
        "2023-03-22 供地、在建的铸造 C3391 项目（存量）",
        "old_park",
        {
            "status": "under_construction",
            "transfer_date": "2023-03-22",
            "agreed_start_date": "2023-09-01",
            "actual_start_date": "2023-08-25",
            "developed": 0.6,
            "invested": 0.5,
        },
        {"industry_code": "C3391", "rev_mu": 300.0, "tax_mu": 9.0},
    ),
    (
        "rs_existing",
        "industry.restricted",
        "warn",
        "2009 年供地、已建成的钢压延 C3130",
        "old_park",
        {},
        {"industry_code": "C3130", "rev_mu": 400.0, "tax_mu": 12.0},
    ),
    (
        "rs_modern",
        "industry.restricted",
        "pass",
        "汽车零部件 C3670，不属限制类",
        "old_park",
        {},
        {"industry_code": "C3670", "rev_mu": 600.0, "tax_mu": 26.0},
    ),
    (
        "residential",
        "far.bounds",
        "not_applicable",
        "园区内的城镇住宅用地（0701）：各条规则均不适用，总体状态为「不适用」",
        "ring_out_park",
        {"land_use": "0701"},
        None,
    ),
    (
        "park_not_block",
        "zone.park_management",
        "not_applicable",
        "园区外零散工业用地（不足 50 亩，不成板块）：不适用",
        "lone",
        {},
        None,
    ),
)


# The verdict code each example should get (where the engine gives one), and the parcel's overall status
# where the example is about it (contract v2).
_EXAMPLE_CODES = {
    "far_in_high": "above_max",
    "far_out_high": "above_max",
    "far_in_low": "below_min",
    "far_out_low": "below_min",
    "far_special": "special_process",
    "red_straddle": "straddles",
    "ring_straddle": "straddles",
    "red_to_0701": "conversion",
    "red_to_R2": "conversion",
    "red_blue_overlap": "conversion",
    "blue_to_B1": "conversion",
    "outside_retain": "retain",
    "outside_exit": "exit",
    "park_adjacent": "include_in_park",
    "park_multi_site": "one_park_multi_site",
    "park_not_block": "not_block",
    "idle_not_due": "not_idle",
    "idle_120_days": "not_idle",
    "idle_risk": "idle_risk",
    "idle_364_days": "idle_risk",
    "idle_one_year_exact": "idle_fee_20pct",
    "idle_fee": "idle_fee_20pct",
    "idle_two_years_exact": "idle_recover",
    "idle_recover": "idle_recover",
    "idle_government": "idle_negotiate",
    "idle_force_majeure": "idle_negotiate",
    "halted_dev_lt_third": "idle_fee_20pct",
    "halted_inv_lt_quarter": "idle_recover",
    "halted_short": "not_idle",
    "halted_enough_done": "not_idle",
    "sl_missing_commitment": "missing_commitments",
    "sl_not_standard": "not_standard_land",
    "slp_below": "below_commitment",
    "slp_not_due": "not_due",
    "le_low_tax": "tax",
    "le_low_far": "far",
    "le_low_cover": "coverage",
    "le_new_land": "coverage",
    "pm_below_target": "below_target",
    "pm_tax_below_target": "below_target",
    "pm_below_scale": "below_scale",
    "pm_outside_park": "outside_park",
    "rs_new_vacant": "restricted_new",
    "rs_new_boundary": "restricted_new",
    "rs_day_before": "restricted_existing",
    "rs_existing": "restricted_existing",
}
_EXAMPLE_OVERALL = {"residential": "not_applicable", "pm_pass": "pass"}


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
    """Put the documented example cases (EXAMPLE_CASES) on suitable parcels; return table, occupants."""
    masks = _case_masks(a, geom, area, zones)
    used = np.zeros(len(area), dtype=bool)
    ring = _zone_share(geom, area, zones["ring"]) > 0.5
    park = _zone_share(geom, area, zones["parks"]) > 0.5
    rows, occupants = [], {}
    for key, rule, expected, note, mask_name, over, occ in EXAMPLE_CASES:  # ~65 documented cases
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
        occupants[i] = occ if occ is not None else dict(_GOOD)
        code, overall = _EXAMPLE_CODES.get(key, ""), _EXAMPLE_OVERALL.get(key, "")
        rows.append((int(i), ids[i], rule, expected, code, overall, key, note))
    table = pd.DataFrame(rows, columns=["row", "parcel_id", "rule", "expected", "code", "overall", "case", "note"])
    return table.sort_values(["rule", "case"], kind="stable").reset_index(drop=True), occupants


# ---------------------------------------------------------------------------------------------- assembly


def _frame_columns(a: dict, ids: np.ndarray, ent_col: np.ndarray) -> dict:
    cols = {"parcel_id": pd.array(ids, dtype="str")}
    for c in PARCEL_COLUMNS[1:-1]:
        v = a[c]
        if c in DATE_COLUMNS:  # as gis.io.read_parcels gives them; ISO text only in the files
            cols[c] = v.astype("datetime64[ns]")
        elif c in BOOL_COLUMNS:
            b = pd.array(v == 1, dtype="boolean")
            b[v < 0] = pd.NA
            cols[c] = b
        elif c in TEXT_COLUMNS:
            cols[c] = pd.array(v, dtype="str")
        else:
            cols[c] = v.astype(float)
    cols["enterprise_id"] = pd.array(ent_col, dtype="str")
    return cols


def _build_synthetic(n: int, seed: int) -> dict:
    """The compact benchmark layout: every area's parcels on the lattice cells nearest its real centre."""
    rng = np.random.default_rng(seed)
    cells = _allocate_cells(rng, int(np.ceil(n / 5.0 * 1.1)) + 20)
    coords, cell_of = _split_blocks(rng, cells)
    # keep n parcels, trimming the outermost cells of every centre alike
    order = np.argsort(cells["rank"][cell_of], kind="stable")[:n]
    order = np.sort(order)
    coords, cell_of = coords[order], cell_of[order]
    centre = cells["centre"][cell_of]
    angles = _street_angles(cells)
    geom = shapely.polygons(_rotate_xy(coords, centre, angles))
    area = shapely.area(geom)
    cent = shapely.centroid(geom)
    px, py = shapely.get_x(cent), shapely.get_y(cent)
    zones = _make_zones(rng, cells, (px, py), centre, angles)

    def inside(layer: str) -> np.ndarray:
        g = shapely.union_all(zones[layer].geometry.to_numpy())
        shapely.prepare(g)
        return shapely.contains_xy(g, px, py)

    kinds = np.array([c.kind for c in CENTRES])
    flags = {
        "inside_ring": inside("ring"),
        # parks are unions of whole lattice cells, so membership is known from the cell itself
        "in_park": (kinds[centre] == "park") & (cells["rank"][cell_of] < PARK_CORE),
        "in_pca": inside("planned_construction_area"),
        "in_udb": inside("urban_dev_boundary"),
        "in_red": inside("red_line"),
        "in_blue": inside("blue_line"),
    }
    a = _parcel_attributes(rng, area, flags)
    ids = _parcel_ids(np.array([c.code for c in CENTRES])[centre])
    force_single = np.zeros(n, dtype=bool)
    _blank_na(rng, a, force_single)
    a["industrial"] = np.isin(a["land_use"].astype(str), INDUSTRIAL_CODES)
    occ, firm, single_slot, info = _occupancy(rng, a, area, centre, force_single)
    n_firms = int(firm.max()) + 1 if len(firm) else 0
    ent = _enterprises(rng, n_firms, firm, info, centre, {})
    districts = _district_land(_districts(np.asarray(shapely.total_bounds(geom))), (px, py), area, a["industrial"], rng)
    return _assemble(a, ids, geom, ent, occ, firm, single_slot, info, zones, districts, _land_supply(rng, n))


def make_synthetic(n: int, seed: int = 0) -> dict:
    """Build `n` synthetic parcels (EPSG:4544) with enterprises, occupancy, zones and land supply.

    Same distributions as the committed sample, spread over the Chengdu industrial areas; parcels never
    overlap.  Returns ``{"parcels", "enterprises", "occupancy", "zones", "land_supply"}``.

    Examples
    --------
    >>> data = make_synthetic(2000, seed=1)
    >>> len(data["parcels"]), data["parcels"].crs.to_epsg()
    (2000, 4544)
    """
    if n < 1:
        raise ValueError(f"make_synthetic: n 必须为正整数 / n must be a positive integer, got {n!r}")
    return _build_synthetic(int(n), seed)


# ---------------------------------------------------------------------------------------------- the Chengdu sample
# write_sample() draws the nine areas' parks at their real extents (PARKS, written out as parks.csv with sources)
# and fills part of each with parcels; make_synthetic() keeps the compact layout above, which scales to a million
# parcels and keeps benchmark timings comparable.


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


def _parcel_ids(codes: np.ndarray) -> np.ndarray:
    """CD-<area code>-<number within the area, in generation order>."""
    n = len(codes)
    by_code = np.argsort(codes, kind="stable")
    counts = pd.Series(codes[by_code]).value_counts(sort=False)
    starts = np.repeat(np.r_[0, np.cumsum(counts.to_numpy())[:-1]], counts.to_numpy())
    num = np.empty(n, dtype=np.int64)
    num[by_code] = np.arange(n) - starts + 1
    width = max(4, len(str(num.max())))
    return ("CD-" + pd.Series(codes) + "-" + pd.Series(num).astype(str).str.zfill(width)).to_numpy(dtype=object)


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


def _assemble(
    a: dict,
    ids: np.ndarray,
    geom: np.ndarray,
    ent: pd.DataFrame,
    occ: pd.DataFrame,
    firm: np.ndarray,
    single_slot: np.ndarray,
    info: dict,
    zones: dict,
    districts: gpd.GeoDataFrame,
    land_supply: pd.DataFrame,
) -> dict:
    """The output frames, sorted by id, with the parcels' single-occupant shortcut column."""
    n = len(ids)
    slot_parcel = info["slot_parcel"]
    ent_ids = ent["enterprise_id"].to_numpy(dtype=object)
    occupancy = pd.DataFrame(
        {
            "enterprise_id": pd.array(ent_ids[firm], dtype="str"),
            "parcel_id": pd.array(ids[slot_parcel], dtype="str"),
            "floor_area_m2": occ["floor_area_m2"].to_numpy(),
        }
    )
    ent_col = np.full(n, None, dtype=object)
    ent_col[slot_parcel[single_slot]] = ent_ids[firm[single_slot]]
    parcels = gpd.GeoDataFrame(_frame_columns(a, ids, ent_col), geometry=geom, crs=WORKING_CRS)
    zones = {**zones, "districts": districts}
    sort = np.argsort(ids, kind="stable")
    return {
        "parcels": parcels.iloc[sort].reset_index(drop=True),
        "enterprises": ent,
        "occupancy": occupancy.sort_values(["parcel_id", "enterprise_id"], kind="stable").reset_index(drop=True),
        "zones": zones,
        "land_supply": land_supply,
    }


# ---------------------------------------------------------------------------------------------- writing


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")


def _iso_dates(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Date columns as ISO `YYYY-MM-DD` text (empty = unknown), the way the files carry them."""
    out = parcels.copy()
    for c in DATE_COLUMNS:
        v = out[c].to_numpy().astype("datetime64[D]")
        s = np.datetime_as_string(v, unit="D").astype(object)
        s[np.isnat(v)] = None
        out[c] = pd.array(s, dtype="str")
    return out


def _write_set(data: dict, out_dir: Path, xlsx: bool = True) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    data = {**data, "parcels": _iso_dates(data["parcels"])}
    # a fixed GeoPackage timestamp keeps regenerated files byte-identical (no spurious git diffs)
    old = os.environ.get("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2025-06-30T00:00:00Z"})
    try:
        for name in ("parcels.gpkg", "zones.gpkg", "parcels.geojson"):
            (out_dir / name).unlink(missing_ok=True)
        _write_gpkg(data["parcels"], out_dir / "parcels.gpkg", "parcels")
        written.append(out_dir / "parcels.gpkg")
        for layer in ZONE_LAYERS:
            _write_gpkg(data["zones"][layer], out_dir / "zones.gpkg", layer)
        written.append(out_dir / "zones.gpkg")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    geo = data["parcels"].to_crs(GEOGRAPHIC_CRS)
    pyogrio.write_dataframe(
        geo,
        out_dir / "parcels.geojson",
        driver="GeoJSON",
        layer_options={"COORDINATE_PRECISION": 8, "WRITE_NAME": "NO"},
    )
    written.append(out_dir / "parcels.geojson")
    for key in ("enterprises", "occupancy", "land_supply"):
        _write_csv(data[key], out_dir / f"{key}.csv")
        written.append(out_dir / f"{key}.csv")
    if xlsx:
        path = out_dir / "enterprises.xlsx"
        _write_xlsx(data["enterprises"], path)
        written.append(path)
    return written


_CORE_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b"<dc:creator>mujun sample generator</dc:creator>"
    b'<dcterms:created xsi:type="dcterms:W3CDTF">2025-06-30T00:00:00Z</dcterms:created>'
    b'<dcterms:modified xsi:type="dcterms:W3CDTF">2025-06-30T00:00:00Z</dcterms:modified>'
    b"</cp:coreProperties>"
)


def _write_xlsx(df: pd.DataFrame, path: Path) -> None:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name="enterprises", index=False)
        fixed = dt.datetime(2025, 6, 30)
        xw.book.properties.created = fixed
        xw.book.properties.modified = fixed
        xw.book.properties.creator = "mujun sample generator"
        sheet = xw.sheets["enterprises"]
        sheet.freeze_panes = "A2"
        for col, width in zip("ABCDEFGHIJKL", (10, 34, 10, 12, 10, 6, 10, 14, 11, 13, 9, 11), strict=True):
            sheet.column_dimensions[col].width = width
    # openpyxl stamps every zip member with the current time: rewrite with a fixed one (byte-identical reruns)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed_info = zipfile.ZipInfo(info.filename, date_time=(2025, 6, 30, 0, 0, 0))
            fixed_info.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps <modified> with the current time, and its XML prefixes follow whatever
                # namespaces other libraries registered with ElementTree (OWSLib registers "dct"): write a
                # fixed document instead.
                data = _CORE_XML
            dst.writestr(fixed_info, data)


def write_sample(out_dir: str | Path, seed: int = SAMPLE_SEED) -> list[Path]:
    """Write the committed sample set (gpkg, geojson, CSV, XLSX, examples) to `out_dir`.

    1 800 parcels in the real Chengdu industrial areas with zones, enterprises, occupancy and land supply, plus
    ``examples.csv`` naming the parcels that illustrate each rule outcome at the as-of date 2025-06-30.
    The same seed writes byte-identical files.

    Examples
    --------
    >>> paths = write_sample("/tmp/mujun_sample")
    >>> sorted(p.name for p in paths)[:3]
    ['enterprises.csv', 'enterprises.xlsx', 'examples.csv']
    """
    out_dir = Path(out_dir)
    data, examples = _build_sample(seed)
    written = _write_set(data, out_dir)
    for name, table in (("examples.csv", examples), ("parks.csv", parks_table())):
        _write_csv(table, out_dir / name)
        written.append(out_dir / name)
    return written


def write_synthetic(n: int, out_dir: str | Path, seed: int = 0, xlsx: bool = False) -> list[Path]:
    """Write `make_synthetic(n, seed)` as the same file set as the sample (XLSX only on request: slow)."""
    return _write_set(make_synthetic(n, seed), Path(out_dir), xlsx=xlsx)
