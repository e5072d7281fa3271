"""Compact, vectorised encoding of parcels, verdicts and zones for the browser map (private).

The map page receives one JSON payload: geometries as one delta-encoded integer stream with ring/part
counts, per-parcel status codes per rule family as small ints, and the verdicts as a CSR table whose
strings (rules, messages, citations, thresholds) are de-duplicated. No per-parcel Python loops.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# Shared vocabulary (docs/ARCHITECTURE.md): colours and Chinese labels of each status.
STATUSES: tuple[str, ...] = ("fail", "warn", "missing_data", "pass", "exempt", "not_applicable")
STATUS_COLORS: dict[str, str] = {
    "fail": "#d7301f",
    "warn": "#fc8d59",
    "missing_data": "#969696",
    "pass": "#1a9850",
    "exempt": "#91bfdb",
    "not_applicable": "#e0e0e0",
}
STATUS_LABELS: dict[str, str] = {
    "fail": "不合规",
    "warn": "预警",
    "missing_data": "数据缺失",
    "pass": "合规",
    "exempt": "豁免",
    "not_applicable": "不适用",
}
# Severity for a family's status on a parcel: the most severe rule wins; exempt and not_applicable are
# pass-like but keep their own colour when every rule of the family says so.
SEVERITY: dict[str, int] = {
    "fail": 5,
    "warn": 4,
    "missing_data": 3,
    "pass": 2,
    "exempt": 1,
    "not_applicable": 0,
}

# Rule families by rule-id prefix, in legend order.
FAMILIES: dict[str, str] = {
    "far": "容积率",
    "zone": "保护线/园区",
    "per_mu": "亩均效益",
    "idle": "闲置土地",
    "low_efficiency": "低效用地",
    "standard_land": "标准地",
    "industry": "产业限制",
    "data": "数据质量",
}

RULE_LABELS: dict[str, str] = {
    "far.bounds": "容积率",
    "zone.red_line": "工业红线区",
    "zone.blue_line": "工业蓝线区",
    "zone.outside": "园区及集中建设区外工业用地",
    "zone.park_management": "纳入园区管理",
    "per_mu.revenue": "亩均营收",
    "per_mu.tax": "亩均税收",
    "idle.order53": "闲置土地（53号令）",
    "low_efficiency": "低效工业用地",
    "standard_land.required": "标准地供应",
    "standard_land.performance": "标准地达产考核",
    "industry.restricted": "限制类传统产业",
    "data.straddles": "跨界宗地",
    "mujun.grade": "亩产论英雄评价",
}

ZONE_LABELS: dict[str, str] = {
    "red_line": "工业红线区",
    "blue_line": "工业蓝线区",
    "ring": "绕城高速（G4202）以内",
    "parks": "工业园区",
    "urban_dev_boundary": "城镇开发边界",
    "planned_construction_area": "规划集中建设区",
    "districts": "区（市）县",
}

_MU_PER_M2 = 15 / 10000


def family_of(rules: pd.Series) -> pd.Series:
    """Rule family of each rule id (``far.bounds`` → ``far``), ``""`` when no known prefix matches."""
    rules = rules.astype("str")
    out = pd.Series("", index=rules.index, dtype="str")
    for fam in FAMILIES:  # eight vectorised string tests, not a loop over rows
        hit = (rules == fam) | rules.str.startswith(fam + ".")
        out = out.mask(hit & (out == ""), fam)
    return out


def family_status(parcels: pd.DataFrame, verdicts: pd.DataFrame | None) -> pd.DataFrame:
    """Status of each rule family per parcel (columns = families present, index aligned to parcels)."""
    ids = parcels["parcel_id"].astype("str")
    if verdicts is not None and len(verdicts):
        v = verdicts
        if "level" in v.columns:
            v = v[v["level"].astype("str") == "parcel"]
        long = pd.DataFrame(
            {
                "parcel_id": v["subject_id"].astype("str").to_numpy(),
                "family": family_of(v["rule"]).to_numpy(),
                "sev": v["status"].astype("str").map(SEVERITY).to_numpy(),
            }
        )
    else:
        st_cols = [c for c in parcels.columns if c.startswith("st_")]
        if not st_cols:
            return pd.DataFrame(index=parcels.index)
        melted = parcels[["parcel_id", *st_cols]].melt(id_vars="parcel_id", var_name="col", value_name="st")
        # st_<rule id with . → _>: match families on the underscore form ("st_per_mu_revenue" → per_mu)
        raw = melted["col"].str.slice(3)
        fam = pd.Series("", index=raw.index, dtype="str")
        for name in FAMILIES:
            hit = (raw == name) | raw.str.startswith(name + "_")
            fam = fam.mask(hit & (fam == ""), name)
        long = pd.DataFrame(
            {
                "parcel_id": melted["parcel_id"].astype("str").to_numpy(),
                "family": fam.to_numpy(),
                "sev": melted["st"].astype("str").map(SEVERITY).to_numpy(),
            }
        )
    long = long[(long["family"] != "") & long["sev"].notna()]
    if long.empty:
        return pd.DataFrame(index=parcels.index)
    worst = long.groupby(["parcel_id", "family"])["sev"].max().unstack("family")
    by_sev = {v: k for k, v in SEVERITY.items()}
    out = worst.reindex(ids.to_numpy())
    out.index = parcels.index
    cols = [f for f in FAMILIES if f in out.columns]
    return out[cols].apply(lambda col: col.map(by_sev))


def overall_status(parcels: pd.DataFrame, fam: pd.DataFrame) -> pd.Series:
    """Overall status per parcel: the ``status`` column when present, else the worst family status."""
    if "status" in parcels.columns:
        st = parcels["status"].astype("str")
        if st.isin(list(SEVERITY)).any():
            return st.where(st.isin(list(SEVERITY)), "missing_data")
    if fam.empty:
        return pd.Series("missing_data", index=parcels.index, dtype="str")
    sev = fam.apply(lambda col: col.map(SEVERITY)).max(axis=1)
    # exempt and not_applicable count as pass for the overall status (data contract).
    sev = sev.where(sev >= SEVERITY["pass"], SEVERITY["pass"]).fillna(SEVERITY["missing_data"])
    by_sev = {v: k for k, v in SEVERITY.items()}
    return sev.astype(int).map(by_sev)


def status_codes(status: pd.Series) -> list[int]:
    """Statuses as small ints (index into ``STATUSES``), -1 for none."""
    codes = status.map({s: i for i, s in enumerate(STATUSES)})
    return codes.fillna(-1).astype(int).tolist()


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → GCJ-02 (火星坐标) offset used by 高德/腾讯 basemaps; vectorised, display only."""
    a = 6378245.0
    ee = 0.00669342162296594323
    x = lon - 105.0
    y = lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * math.pi) + 320 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * np.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def to_display(geoms: gpd.GeoSeries, *, gcj02: bool = False) -> np.ndarray:
    """Geometries in EPSG:4326 (optionally shifted to GCJ-02) as a shapely array."""
    if geoms.crs is None:
        raise ValueError("地图图层没有坐标系 / map layer has no CRS: reproject it to EPSG:4544 first")
    arr = np.asarray(geoms.to_crs(4326).to_numpy())
    if gcj02:
        arr = shapely.transform(arr, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    return arr


def encode_polygons(geoms: np.ndarray, precision: int = 6) -> dict[str, Any]:
    """Encode (multi)polygons as a delta-encoded int stream (x, y interleaved) with ring/part counts.

    ``pp[f]`` parts in feature f, ``pr[p]`` rings in part p, ``rl[r]`` points in ring r (closing point
    dropped); ``c`` the running differences of round(coord × 10^precision).
    """
    geoms = np.asarray(geoms, dtype=object)
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
    geoms = np.where(empty, shapely.Polygon(), geoms)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    parts = np.asarray(parts)
    keep = shapely.get_type_id(parts) == 3  # polygons only (drop stray points/lines of collections)
    parts, part_of = parts[keep], part_of[keep]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    n_pts = np.bincount(coord_of, minlength=len(rings))
    # drop each ring's closing point: it is the last coordinate of the ring
    last = np.cumsum(n_pts) - 1
    mask = np.ones(len(coords), dtype=bool)
    mask[last[n_pts > 0]] = False
    coords = coords[mask]
    scale = 10**precision
    ints = np.rint(coords * scale).astype(np.int64)
    flat = ints.reshape(-1)
    deltas = np.diff(flat.reshape(-1, 2), axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).reshape(-1)
    return {
        "scale": scale,
        "pp": np.bincount(part_of, minlength=len(geoms)).tolist(),
        "pr": np.bincount(ring_of, minlength=len(parts)).tolist(),
        "rl": (n_pts - 1).clip(min=0).tolist(),
        "c": deltas.tolist(),
    }


def encode_lines(geoms: np.ndarray, precision: int = 6) -> dict[str, Any]:
    """Encode (multi)linestrings like ``encode_polygons`` (each line one part with one 'ring')."""
    geoms = np.asarray(geoms, dtype=object)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    parts = np.asarray(parts)
    keep = np.isin(shapely.get_type_id(parts), (1, 2))
    parts, part_of = parts[keep], part_of[keep]
    coords, coord_of = shapely.get_coordinates(parts, return_index=True)
    scale = 10**precision
    ints = np.rint(coords * scale).astype(np.int64)
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).reshape(-1)
    return {
        "scale": scale,
        "pp": np.bincount(part_of, minlength=len(geoms)).tolist(),
        "pr": [1] * len(parts),
        "rl": np.bincount(coord_of, minlength=len(parts)).tolist(),
        "c": deltas.tolist(),
    }


def _threshold_text(thr: Any) -> str:
    """A threshold dict as planners read it: ``{"min": 2, "max": 4}`` → ``2–4``."""
    if thr is None or (isinstance(thr, float) and math.isnan(thr)):
        return ""
    if isinstance(thr, str):
        text = thr.strip()
        if not text or text in ("null", "None", "nan"):
            return ""
        try:
            thr = json.loads(text)
        except ValueError:
            return text
    if isinstance(thr, Mapping):
        lo, hi = thr.get("min"), thr.get("max")
        rest = {k: v for k, v in thr.items() if k not in ("min", "max")}
        parts = []
        if lo is not None and hi is not None:
            parts.append(f"{_num(lo)}–{_num(hi)}")
        elif lo is not None:
            parts.append(f"≥ {_num(lo)}")
        elif hi is not None:
            parts.append(f"≤ {_num(hi)}")
        parts += [f"{k}: {_num(v)}" for k, v in rest.items()]
        return "；".join(parts)
    return str(thr)


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def encode_verdicts(ids: pd.Series, verdicts: pd.DataFrame | None) -> dict[str, Any]:
    """Verdicts as a CSR table over parcels (``off[i]:off[i+1]``) with de-duplicated string tables."""
    n = len(ids)
    if verdicts is None or verdicts.empty:
        return {
            "off": [0] * (n + 1),
            "rules": [],
            "strs": [],
            "r": [],
            "s": [],
            "v": [],
            "t": [],
            "m": [],
            "c": [],
            "k": [],
        }
    v = verdicts
    if "level" in v.columns:
        v = v[v["level"].astype("str") == "parcel"]
    pos = pd.Series(np.arange(n), index=ids.astype("str").to_numpy())
    pos = pos[~pos.index.duplicated()]
    row_pos = pos.reindex(v["subject_id"].astype("str").to_numpy()).to_numpy()
    ok = ~np.isnan(row_pos)
    v = v.iloc[np.flatnonzero(ok)]
    row_pos = row_pos[ok].astype(np.int64)
    order = np.argsort(row_pos, kind="stable")
    v = v.iloc[order]
    row_pos = row_pos[order]
    rule_codes, rules = pd.factorize(v["rule"].astype("str"))

    def col(name: str) -> pd.Series:
        if name in v.columns:
            return v[name]
        return pd.Series([None] * len(v), index=v.index, dtype=object)

    thr = col("threshold")
    # thresholds are dicts or JSON text: key each by its str() (C loop), format each distinct one once
    thr_key = thr.astype("str")
    first = ~thr_key.duplicated()
    thr_text = {k: _threshold_text(t) for k, t in zip(thr_key[first], thr[first], strict=True)}
    texts = pd.concat(
        [
            thr_key.map(thr_text).astype("str"),
            col("message").fillna("").astype("str"),
            col("citation").fillna("").astype("str"),
            col("code").fillna("").astype("str"),
        ],
        ignore_index=True,
    )
    str_codes, strs = pd.factorize(texts)
    k = len(v)
    values = pd.to_numeric(col("value"), errors="coerce").to_numpy(dtype=float)
    values_list = np.where(np.isfinite(values), np.round(values, 4), np.nan).tolist()
    values_list = [None if x != x else x for x in values_list]  # NaN → null (C-speed list comp on floats)
    counts = np.bincount(row_pos, minlength=n)
    return {
        "off": np.concatenate([[0], np.cumsum(counts)]).tolist(),
        "rules": [str(r) for r in rules],
        "rule_labels": [RULE_LABELS.get(str(r), str(r)) for r in rules],
        "strs": [str(s) for s in strs],
        "r": rule_codes.tolist(),
        "s": v["status"]
        .astype("str")
        .map({s: i for i, s in enumerate(STATUSES)})
        .fillna(-1)
        .astype(int)
        .tolist(),
        "v": values_list,
        "t": str_codes[:k].tolist(),
        "m": str_codes[k : 2 * k].tolist(),
        "c": str_codes[2 * k : 3 * k].tolist(),
        "k": str_codes[3 * k :].tolist(),
    }


def area_mu(parcels: gpd.GeoDataFrame) -> np.ndarray:
    """Parcel area in 亩: the ``area_mu`` column when present, else computed in the working CRS."""
    if "area_mu" in parcels.columns:
        vals = pd.to_numeric(parcels["area_mu"], errors="coerce").to_numpy(dtype=float)
        if np.isfinite(vals).all():
            return vals
    else:
        vals = np.full(len(parcels), np.nan)
    if parcels.crs is not None and parcels.crs.is_projected:
        computed = parcels.geometry.area.to_numpy() * _MU_PER_M2
    else:
        computed = parcels.geometry.to_crs(4544).area.to_numpy() * _MU_PER_M2
    return np.where(np.isfinite(vals), vals, computed)
