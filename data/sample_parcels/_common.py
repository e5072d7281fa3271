"""The parts both generators share: columns, codes, the street lattice, blocks cut into parcels, firms, writers.

Private to this folder: ``_sample.py`` (the committed Chengdu sample, ``generate.py``) and ``synthetic.py``
(benchmark data of any size) build on it; nothing in the installed library imports it.  Everything is drawn from
one ``numpy.random.default_rng(seed)`` passed in by the caller and vectorised over whole arrays (no per-parcel
Python loops), so the same seed gives the same geometries and byte-identical CSV files.

Parcels sit in street blocks of one global, slightly irregular street lattice (EPSG:4544).  A block is cut into
1–6 strips by slanted cut lines and some strips are cut once across, giving rectangles and irregular
quadrilaterals of 5–300 亩 separated by 2 m gaps.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

WORKING_CRS = "EPSG:4544"  # the same values as gis.crs: the generator does not depend on the library
GEOGRAPHIC_CRS = "EPSG:4490"
MU_M2 = 10000.0 / 15.0
AS_OF = np.datetime64("2025-06-30")

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


# ---------------------------------------------------------------------------------------------- parcels


def _add_years(d: np.ndarray, years: int) -> np.ndarray:
    month = d.astype("datetime64[M]")
    day = d - month.astype("datetime64[D]")
    return (month + 12 * years).astype("datetime64[D]") + day


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
