"""Synthetic benchmark data: ``make_synthetic(n, seed)`` frames and ``write_synthetic(n, out_dir, seed)`` files.

Used by ``benchmarks/*.py`` and the tests (``tests/test_results_identical.py`` pins a digest of
``make_synthetic(20_000 / 100_000, seed=1)``: the output must not change).  It lives beside the sample it imitates,
outside the installed library; import it with the repository root on ``sys.path`` (pytest and the benchmarks put
it there)::

    from data.sample_parcels.synthetic import make_synthetic, write_synthetic

Layout: a compact version of the sample that scales to a million parcels and keeps benchmark timings comparable.
Each industrial area (产业功能区) claims the lattice cells nearest its real centre, so areas never overlap and
parcels never overlap; its nearest cells form its park.  Same columns and distributions as the sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
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
    _write_set,
    ring_polygon,
)

PARK_CORE = 0.68  # the nearest 68 % of an area's cells form its park


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


def write_synthetic(n: int, out_dir: str | Path, seed: int = 0, xlsx: bool = False) -> list[Path]:
    """Write `make_synthetic(n, seed)` as the same file set as the sample (XLSX only on request: slow)."""
    return _write_set(make_synthetic(n, seed), Path(out_dir), xlsx=xlsx)
