"""Propose 工业红线区 / 工业蓝线区 from parcels, parks and boundaries (policy.md §4); compare with lines.

红线: industrial land inside the 城镇开发边界 that lies in a 现状工业园区, or in a 连片 block (parcels
chained by gaps ≤ ``block_gap_m``) of at least ``block_min_mu`` 亩 inside the 规划集中建设区.
蓝线: the other (零散) industrial land inside the boundary, and industrial land of the 弹性建设区 (inside the
boundary, outside the 规划集中建设区) that is not in a park.
Parameters come from the rule set; ``is_industrial`` is passed in (the land-use vocabulary is the rule set's).

Examples
--------
On the committed sample (run from the repository root):

>>> from gis.io import read_parcels, read_zones
>>> parcels, _ = read_parcels("data/sample_parcels/parcels.gpkg")
>>> zones, _ = read_zones("data/sample_parcels/zones.gpkg")
>>> out = propose_zones(parcels, zones["parks"], zones["urban_dev_boundary"], zones["planned_construction_area"],
...                     is_industrial=parcels["land_use"].str.startswith("1001"))
>>> out["parcels"]["proposed"].value_counts().to_dict()
{'red_line': 1068, 'blue_line': 62, '': 40}
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis import overlay
from gis.crs import M2_PER_MU, WORKING_CRS
from gis.errors import ValidationError

__all__ = ["ZONE_COLUMNS", "compare_zones", "propose_zones"]

MU_PER_M2 = 1.0 / M2_PER_MU
ZONE_COLUMNS = ["zone_id", "name", "area_mu", "parcels_mu", "parcel_count", "parcel_ids"]
_MEMBERSHIP = 0.5  # a parcel belongs to a zone when ≥ half its area lies inside (data contract)


def _union(layer: gpd.GeoDataFrame | gpd.GeoSeries | None, crs: object) -> shapely.Geometry | None:
    if layer is None or len(layer) == 0:
        return None
    geoms = layer.geometry if isinstance(layer, gpd.GeoDataFrame) else layer
    if geoms.crs is not None and geoms.crs != crs:
        geoms = geoms.to_crs(crs)
    return shapely.union_all(shapely.make_valid(geoms.to_numpy()))


def _share_inside(geoms: np.ndarray, area: shapely.Geometry | None) -> np.ndarray:
    if area is None:
        return np.zeros(len(geoms))
    return overlay.area_share(geoms, [area])


def _dissolve(
    geoms: np.ndarray, ids: np.ndarray, gap: float, prefix: str, label: str, crs: object
) -> gpd.GeoDataFrame:
    """Close gaps ≤ ``gap`` between the parcels (buffer out, union, buffer back) and split into zones."""
    if len(geoms) == 0:
        return gpd.GeoDataFrame(
            {
                c: pd.Series(dtype="str" if c in ("zone_id", "name", "parcel_ids") else "float")
                for c in ZONE_COLUMNS
            },
            geometry=gpd.GeoSeries([], crs=crs),
            crs=crs,
        )
    half = gap / 2
    grown = shapely.buffer(geoms, half, join_style="mitre", mitre_limit=2.0)
    merged = shapely.buffer(shapely.union_all(grown), -half, join_style="mitre", mitre_limit=2.0)
    # the closing can shave a parcel's own edge by rounding; keep every parcel wholly inside its zone
    merged = shapely.union_all(np.concatenate([[merged], geoms]))
    parts = np.asarray(shapely.get_parts(merged))
    parts = parts[shapely.area(parts) > 0]
    tree = shapely.STRtree(parts)
    p_idx, z_idx = tree.query(shapely.point_on_surface(geoms), predicate="intersects")
    zone_of = np.full(len(geoms), -1)
    zone_of[p_idx] = z_idx
    # order zones by size (largest first) so ids are stable for the same input
    area = shapely.area(parts)
    order = np.argsort(-area, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    parts, area = parts[order], area[order]
    zone_of = rank[zone_of]
    frame = pd.DataFrame({"zone": zone_of, "pid": ids.astype(str), "mu": shapely.area(geoms) * MU_PER_M2})
    frame = frame.sort_values(["zone", "pid"])
    grouped = frame.groupby("zone")
    zone_ids = [f"{prefix}{k + 1:03d}" for k in range(len(parts))]
    out = gpd.GeoDataFrame(
        {
            "zone_id": zone_ids,
            "name": [f"建议{label} {z}" for z in zone_ids],
            "area_mu": np.round(area * MU_PER_M2, 2),
            "parcels_mu": np.round(
                grouped["mu"].sum().reindex(range(len(parts)), fill_value=0).to_numpy(), 2
            ),
            "parcel_count": grouped.size().reindex(range(len(parts)), fill_value=0).to_numpy(),
            "parcel_ids": grouped["pid"].agg(",".join).reindex(range(len(parts)), fill_value="").to_numpy(),
        },
        geometry=parts,
        crs=crs,
    )
    return out


def propose_zones(
    parcels: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame | None,
    urban_dev_boundary: gpd.GeoDataFrame | None,
    planned_construction_area: gpd.GeoDataFrame | None = None,
    *,
    is_industrial: pd.Series | np.ndarray,
    block_gap_m: float = 30.0,
    block_min_mu: float = 50.0,
) -> dict[str, gpd.GeoDataFrame]:
    """Propose red-line and blue-line zones: dissolved blocks with area (亩) and the parcels they hold.

    Returns ``{"red_line": …, "blue_line": …, "parcels": …}`` in EPSG:4544; the zone layers have the
    contract's ``zone_id`` and ``name`` plus ``area_mu``, ``parcels_mu``, ``parcel_count``, ``parcel_ids``;
    ``parcels`` lists every industrial parcel with its ``proposed`` line (``red_line``/``blue_line``/``""``),
    ``reason`` (Chinese), ``block_mu`` and ``zone_id``.

    Examples
    --------
    Three 100 m squares (15 亩 each): A in a park, B 10 m east of it, C 900 m further; all inside the boundary.
    A and B chain into one block of 30 亩 (gap ≤ 30 m), C is a block of 15 亩; both are below 50 亩, so only A,
    in the park, is red, and B and C are two separate blue zones (790 m apart).

    >>> import shapely
    >>> x, y = 407_000, 3_391_000
    >>> squares = [shapely.box(x + dx, y, x + dx + 100, y + 100) for dx in (0, 110, 1000)]
    >>> parcels = gpd.GeoDataFrame({"parcel_id": ["A", "B", "C"]}, geometry=squares, crs="EPSG:4544")
    >>> park = parcels.iloc[:1].buffer(5).to_frame("geometry")
    >>> boundary = gpd.GeoDataFrame(geometry=[shapely.box(x - 50, y - 50, x + 1200, y + 200)], crs="EPSG:4544")
    >>> out = propose_zones(parcels, park, boundary, is_industrial=[True, True, True])
    >>> out["parcels"][["parcel_id", "proposed", "block_mu", "zone_id"]].values.tolist()
    [['A', 'red_line', 30.0, 'R001'], ['B', 'blue_line', 30.0, 'B001'], ['C', 'blue_line', 15.0, 'B002']]
    >>> out["red_line"]["area_mu"].tolist(), out["blue_line"]["area_mu"].tolist()
    ([15.0], [15.0, 15.0])
    """
    if "parcel_id" not in parcels.columns:
        raise ValidationError("parcels 缺少 parcel_id 列 / parcels have no parcel_id column")
    flags = np.asarray(is_industrial, dtype=bool)
    if len(flags) != len(parcels):
        raise ValidationError(
            f"is_industrial 长度 {len(flags)} 与宗地数 {len(parcels)} 不一致 / "
            "is_industrial must have one flag per parcel"
        )
    if urban_dev_boundary is None or len(urban_dev_boundary) == 0:
        raise ValidationError(
            "缺少城镇开发边界图层 / the urban_dev_boundary layer is required to propose red and blue lines",
            hint="在分区 GeoPackage 中提供 urban_dev_boundary 图层 / add an urban_dev_boundary layer",
        )
    crs = parcels.crs if parcels.crs is not None and parcels.crs.is_projected else WORKING_CRS
    work = parcels.to_crs(crs) if parcels.crs != crs else parcels
    ind = work[flags]
    geoms = shapely.make_valid(ind.geometry.to_numpy())
    ids = ind["parcel_id"].astype("str").to_numpy()
    inside = _share_inside(geoms, _union(urban_dev_boundary, crs)) >= _MEMBERSHIP
    in_park = _share_inside(geoms, _union(parks, crs)) >= _MEMBERSHIP
    planned = _union(planned_construction_area, crs)
    elastic = (
        inside & (_share_inside(geoms, planned) < _MEMBERSHIP)
        if planned is not None
        else np.zeros(len(geoms), dtype=bool)
    )
    # blocks among the industrial parcels inside the boundary (same chaining as zone.park_management)
    block_mu = np.zeros(len(geoms))
    idx_in = np.flatnonzero(inside)
    if len(idx_in):
        labels = overlay.contiguous_blocks(geoms[idx_in], block_gap_m)
        block_mu[idx_in] = overlay.block_sums(labels, shapely.area(geoms[idx_in]) * MU_PER_M2)
    big_block = block_mu >= block_min_mu
    red = inside & (in_park | (big_block & ~elastic))
    blue = inside & ~red
    reason = np.select(
        [red & in_park, red, blue & elastic, blue, ~inside],
        [
            "现状工业园区内",
            f"连片工业用地（板块 ≥ {block_min_mu:g} 亩）",
            "城镇弹性建设区内的工业用地",
            f"零散工业用地（板块 < {block_min_mu:g} 亩）",
            "城镇开发边界外，不划入红线/蓝线",
        ],
        default="",
    )
    red_zones = _dissolve(geoms[red], ids[red], block_gap_m, "R", "工业红线区", crs)
    blue_zones = _dissolve(geoms[blue], ids[blue], block_gap_m, "B", "工业蓝线区", crs)
    zone_id = np.full(len(geoms), "", dtype=object)
    for layer, mask in ((red_zones, red), (blue_zones, blue)):
        if len(layer):
            exploded = (
                layer[["zone_id", "parcel_ids"]].assign(pid=layer["parcel_ids"].str.split(",")).explode("pid")
            )
            lookup = pd.Series(exploded["zone_id"].to_numpy(), index=exploded["pid"].to_numpy())
            zone_id[mask] = lookup.reindex(ids[mask]).to_numpy()
    summary = gpd.GeoDataFrame(
        {
            "parcel_id": ids,
            "proposed": np.select([red, blue], ["red_line", "blue_line"], default=""),
            "reason": reason,
            "in_park": in_park,
            "inside_boundary": inside,
            "elastic": elastic,
            "block_mu": np.round(block_mu, 2),
            "zone_id": zone_id.astype(str),
        },
        geometry=geoms,
        crs=crs,
    )
    return {"red_line": red_zones, "blue_line": blue_zones, "parcels": summary}


def _lines_union(layers: dict[str, gpd.GeoDataFrame], crs: object) -> shapely.Geometry | None:
    geoms = [
        g.to_crs(crs).geometry.to_numpy()
        for k, g in layers.items()
        if k in ("red_line", "blue_line") and g is not None and len(g)
    ]
    return shapely.union_all(shapely.make_valid(np.concatenate(geoms))) if geoms else None


def compare_zones(
    proposed: dict[str, gpd.GeoDataFrame],
    existing: dict[str, gpd.GeoDataFrame],
    parcels: gpd.GeoDataFrame | None = None,
    is_industrial: pd.Series | np.ndarray | None = None,
    *,
    min_mu: float = 1.0,
) -> dict[str, gpd.GeoDataFrame]:
    """Differences between proposed and existing lines, as layers in EPSG:4544.

    ``proposed_not_protected``: land in a proposed line but in no existing red/blue line (pieces ≥ ``min_mu``
    亩, with the parcels mostly inside them); ``protected_not_industrial``: parcels lying in an existing line
    (≥ half their area) whose land use is no longer industrial (needs ``parcels`` and ``is_industrial``).
    """
    crs = WORKING_CRS
    prop = _lines_union(proposed, crs)
    exist_layers = {
        k: g.to_crs(crs)
        for k, g in existing.items()
        if k in ("red_line", "blue_line") and g is not None and len(g)
    }
    exist = _lines_union(exist_layers, crs)
    if prop is None:
        diff_parts = np.array([], dtype=object)
    else:
        diff = prop if exist is None else shapely.difference(prop, exist)
        diff_parts = np.asarray(shapely.get_parts(diff))
        diff_parts = diff_parts[shapely.area(diff_parts) * MU_PER_M2 >= min_mu]
    npp = gpd.GeoDataFrame(
        {
            "diff_id": [f"N{k + 1:03d}" for k in range(len(diff_parts))],
            "name": ["建议划入但尚未保护"] * len(diff_parts),
            "area_mu": np.round(shapely.area(diff_parts) * MU_PER_M2, 2),
        },
        geometry=gpd.GeoSeries(diff_parts, crs=crs),
        crs=crs,
    )
    if parcels is not None and len(diff_parts):
        pg = parcels.to_crs(crs).geometry.to_numpy()
        pid, zid, share = overlay.overlay_pairs(pg, diff_parts)
        keep = share >= _MEMBERSHIP
        frame = pd.DataFrame(
            {"z": zid[keep], "pid": parcels["parcel_id"].astype("str").to_numpy()[pid[keep]]}
        )
        frame = frame.sort_values(["z", "pid"])
        npp["parcel_ids"] = (
            frame.groupby("z")["pid"].agg(",".join).reindex(range(len(npp)), fill_value="").to_numpy()
        )
    pni_cols: dict[str, object] = {
        "parcel_id": pd.Series(dtype="str"),
        "name": pd.Series(dtype="str"),
        "existing_zone": pd.Series(dtype="str"),
        "area_mu": pd.Series(dtype="float"),
    }
    pni = gpd.GeoDataFrame(pni_cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if parcels is not None and is_industrial is not None and exist_layers:
        flags = np.asarray(is_industrial, dtype=bool)
        work = parcels.to_crs(crs)
        rows = []
        for kind, layer in exist_layers.items():  # two layers at most
            ids, share = overlay.best_zone(
                work.geometry.to_numpy(),
                layer.geometry.to_numpy(),
                layer["zone_id"].astype("str").to_numpy()
                if "zone_id" in layer
                else np.array([kind] * len(layer), dtype=object),
            )
            hit = (share >= _MEMBERSHIP) & ~flags
            if hit.any():
                rows.append(
                    gpd.GeoDataFrame(
                        {
                            "parcel_id": work["parcel_id"].astype("str").to_numpy()[hit],
                            "name": "已保护但已非工业用地",
                            "existing_zone": np.char.add(f"{kind}:", ids[hit].astype(str)),
                            "area_mu": np.round(work.geometry.area.to_numpy()[hit] * MU_PER_M2, 2),
                        },
                        geometry=work.geometry.to_numpy()[hit],
                        crs=crs,
                    )
                )
        if rows:
            pni = pd.concat(rows, ignore_index=True).drop_duplicates("parcel_id")
    return {"proposed_not_protected": npp, "protected_not_industrial": pni}
