"""The strong baseline: what a competent analyst writes in an afternoon with geopandas and shapely 2.

It reads the same files as mujun (GeoParquet parcels, a zones GeoPackage, CSV tables) and computes three of our
rules the fast way: FAR by ring (prepared ring, ``contains_properly`` for whole parcels, intersection area only
for the parcels that cross it, majority share, [2.0, 4.0] inside and [1.2, 3.0] outside); red and blue membership
(an ``STRtree`` of the zone polygons, ``query(predicate="intersects")``, a ``contains_properly`` shortcut,
intersection area only for partial pairs, ``np.bincount`` of shares, ≥ 0.5); per-mu revenue and tax per enterprise
with tenants apportioned by floor area (an equal split where no tenant of a parcel gives one).

    .venv/bin/python benchmarks/strong_baseline.py DIR      # prints read / rules seconds as JSON
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

M2_PER_MU = 10000 / 15


def read(folder: Path) -> dict:
    """Read the four inputs as an analyst would."""
    parcels = gpd.read_parquet(folder / "parcels.parquet")
    layers = ("ring", "red_line", "blue_line")
    zones = {name: pyogrio.read_dataframe(folder / "zones.gpkg", layer=name) for name in layers}
    ids = {"enterprise_id": str, "parcel_id": str}
    enterprises = pd.read_csv(folder / "enterprises.csv", dtype=ids)
    occupancy = pd.read_csv(folder / "occupancy.csv", dtype=ids)
    return {"parcels": parcels, "zones": zones, "enterprises": enterprises, "occupancy": occupancy}


def _membership_share(geoms: np.ndarray, area: np.ndarray, zone_geoms: np.ndarray) -> np.ndarray:
    """Share of each parcel inside a zone layer: STRtree pairs, whole pairs by contains_properly, the rest cut."""
    shapely.prepare(zone_geoms)
    tree = shapely.STRtree(zone_geoms)
    pi, zi = tree.query(geoms, predicate="intersects")
    whole = shapely.contains_properly(zone_geoms[zi], geoms[pi])
    inter = np.where(whole, area[pi], 0.0)
    part = ~whole
    inter[part] = shapely.area(shapely.intersection(geoms[pi[part]], zone_geoms[zi[part]]))
    return np.bincount(pi, weights=inter, minlength=len(geoms)) / area


def rules(data: dict) -> dict:
    """FAR by ring, red/blue membership, per-mu per enterprise."""
    parcels = data["parcels"]
    geoms = parcels.geometry.to_numpy()
    area = shapely.area(geoms)
    ring_geoms = data["zones"]["ring"].geometry.to_numpy()
    lines = shapely.get_type_id(ring_geoms) != shapely.GeometryType.POLYGON.value
    ring = shapely.union_all(
        np.concatenate([ring_geoms[~lines], np.asarray(shapely.get_parts(shapely.polygonize(ring_geoms[lines])))])
    )
    shapely.prepare(ring)
    whole = shapely.contains_properly(ring, geoms)
    cross = shapely.intersects(ring, geoms) & ~whole
    share = whole.astype(float)
    share[cross] = shapely.area(shapely.intersection(geoms[cross], ring)) / area[cross]
    inside = share >= 0.5
    far = pd.to_numeric(parcels["floor_area_m2"], errors="coerce").to_numpy(dtype=float) / area
    lo, hi = np.where(inside, 2.0, 1.2), np.where(inside, 4.0, 3.0)
    far_ok = (far >= lo) & (far <= hi)

    member = {}
    for name in ("red_line", "blue_line"):
        zone_geoms = data["zones"][name].geometry.to_numpy()
        member[name] = _membership_share(geoms, area, zone_geoms) >= 0.5
    red = member["red_line"]
    blue = member["blue_line"] & ~red

    occ = data["occupancy"]
    pos = pd.Index(parcels["parcel_id"]).get_indexer(occ["parcel_id"])
    occ = occ[pos >= 0]
    pos = pos[pos >= 0]
    parcel_floor = parcels["floor_area_m2"].to_numpy(dtype=float)[pos]
    occ_floor = occ["floor_area_m2"].to_numpy(dtype=float)
    occ_sum = np.bincount(pos, weights=np.nan_to_num(occ_floor), minlength=len(parcels))[pos]
    tenants = np.bincount(pos, minlength=len(parcels))[pos]
    divisor = np.where(np.isnan(parcel_floor), occ_sum, parcel_floor)
    share_of_parcel = np.where(occ_sum > 0, np.nan_to_num(occ_floor) / divisor, 1.0 / tenants)
    land_mu = area[pos] * share_of_parcel / M2_PER_MU
    land = pd.Series(land_mu).groupby(occ["enterprise_id"].to_numpy()).sum()
    ent = data["enterprises"].set_index("enterprise_id")
    land = land.reindex(ent.index)
    revenue_per_mu = ent["revenue_10k"] / land
    tax_per_mu = ent["tax_10k"] / land
    return {
        "far_fail": int((~far_ok & ~np.isnan(far)).sum()),
        "red": int(red.sum()),
        "blue": int(blue.sum()),
        "revenue_below": int((revenue_per_mu < 650).sum()),
        "tax_below": int((tax_per_mu < 30).sum()),
    }


def main(folder: Path) -> dict:
    """Time read and rules; return the figures."""
    t0 = time.perf_counter()
    data = read(folder)
    t1 = time.perf_counter()
    counts = rules(data)
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "rules_s": t2 - t1, "counts": counts}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
