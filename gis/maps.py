"""Compliance maps, zone maps and static PNG maps of evaluation results (folium/Leaflet, offline).

Plain data in (parcels, verdicts, zones, aggregates — the shapes of ``EvaluationResult``), a
``folium.Map`` out. Every script and stylesheet is local (inlined, a folder beside the HTML, or a URL
prefix the web app serves); tiles are only requested from a basemap the user picks.

Examples
--------
>>> layers = read_result_layers("result.gpkg")                       # doctest: +SKIP
>>> save_compliance_map("map.html", layers.parcels, layers.verdicts,
...                     layers.zones, layers.aggregates, inline=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from branca.element import Element, MacroElement

from gis import _map_data as md
from gis._map_assets import asset_dirs, attach_assets, copy_assets
from gis.errors import InputFileError

__all__ = [
    "BASEMAPS",
    "FAMILIES",
    "STATUS_COLORS",
    "STATUS_LABELS",
    "ResultLayers",
    "asset_dirs",
    "compliance_map",
    "copy_assets",
    "read_result_layers",
    "save_compliance_map",
    "save_map",
    "static_map_png",
    "tile_url_templates",
    "wgs84_to_gcj02",
    "zone_map",
]

STATUS_COLORS = md.STATUS_COLORS
STATUS_LABELS = md.STATUS_LABELS
FAMILIES = md.FAMILIES
wgs84_to_gcj02 = md.wgs84_to_gcj02

BASEMAPS: dict[str, dict[str, Any]] = {
    "none": {"label": "无底图（离线）", "urls": []},
    "osm": {
        "label": "OpenStreetMap",
        "urls": ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"],
        "attribution": "© OpenStreetMap contributors",
        "subdomains": "abc",
    },
    "tianditu": {
        "label": "天地图",
        "urls": [
            "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
            "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva"
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
        ],
        "attribution": "© 天地图 国家地理信息公共服务平台",
        "subdomains": "01234567",
    },
    "gaode": {
        "label": "高德地图（GCJ-02）",
        "urls": [
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
        ],
        "attribution": "© 高德地图",
        "subdomains": "1234",
    },
}

# Styles of the context layers (colour, line weight, dash, fill opacity), drawn above the parcels.
_ZONE_STYLES: dict[str, dict[str, Any]] = {
    "red_line": {"color": "#c00000", "weight": 2.5, "fillOpacity": 0.06},
    "blue_line": {"color": "#1f5fbf", "weight": 2.5, "fillOpacity": 0.06},
    "ring": {"color": "#222222", "weight": 2, "dash": "8 6", "fillOpacity": 0},
    "parks": {"color": "#7b3294", "weight": 2, "fillOpacity": 0},
    "urban_dev_boundary": {"color": "#8c510a", "weight": 2, "dash": "4 4", "fillOpacity": 0},
    "planned_construction_area": {"color": "#e08214", "weight": 1.5, "dash": "2 4", "fillOpacity": 0},
    "districts": {"color": "#555555", "weight": 1, "dash": "6 3 2 3", "fillOpacity": 0},
}
_ZONE_SHOWN = {"red_line", "blue_line", "ring", "parks"}
_CHORO_BREAKS = [0.0, 0.5, 0.8, 1.0, 1.2]
_CHORO_COLORS = ["#b2182b", "#ef8a62", "#fddbc7", "#a6dba0", "#1b7837"]


def tile_url_templates(tianditu_key: str | None = None) -> list[str]:
    """Every tile URL template a generated map may contain (the only http(s) URLs allowed in it)."""
    key = tianditu_key if tianditu_key is not None else os.environ.get("MUJUN_TIANDITU_KEY")
    urls = [*BASEMAPS["osm"]["urls"], *BASEMAPS["gaode"]["urls"]]
    if key:
        urls += [u.replace("{key}", key) for u in BASEMAPS["tianditu"]["urls"]]
    return urls


class _RawHtml(Element):
    """Literal HTML/JS in the page, never run through Jinja (payload text may contain ``{{`` or ``{#``)."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text unchanged."""
        return self._text


class _MujunLayers(MacroElement):
    """The payload (JSON in a ``<script type=application/json>``) and the call that builds the layers."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__()
        self._name = "MujunLayers"
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        # safe inside <script>: no "</script" and no HTML comment openers
        self.payload = text.replace("<", "\\u003c")

    def render(self, **kwargs: Any) -> None:
        """Add the payload to the page body and the build call after the map's own script."""
        figure = self.get_root()
        name = self.get_name()
        figure.html.add_child(
            _RawHtml(f'<script type="application/json" id="{name}">{self.payload}</script>'), name=name
        )
        figure.script.add_child(
            _RawHtml(
                f"var {name}_api = MujunMap.build({self._parent.get_name()}, "
                f'JSON.parse(document.getElementById("{name}").textContent));'
            ),
            name=name + "_build",
        )


def _basemap_list(basemap: str, tianditu_key: str | None) -> list[dict[str, Any]]:
    key = tianditu_key if tianditu_key is not None else os.environ.get("MUJUN_TIANDITU_KEY")
    if basemap not in BASEMAPS:
        raise ValueError(f"未知底图 / unknown basemap {basemap!r}: 可选 {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not key:
        raise ValueError("天地图底图需要密钥 / the 天地图 basemap needs a key: set MUJUN_TIANDITU_KEY")
    if basemap == "gaode":
        names = ["none", "gaode"]  # geometries are shifted to GCJ-02: other basemaps would not line up
    else:
        names = ["none", "osm"] + (["tianditu"] if key else [])
    out = []
    for name in names:
        spec = BASEMAPS[name]
        urls = [u.replace("{key}", key or "") for u in spec["urls"]]
        out.append(
            {
                "label": spec["label"],
                "url": bool(urls),
                "urls": urls,
                "attribution": spec.get("attribution", ""),
                "subdomains": spec.get("subdomains", "abc"),
                "active": name == basemap,
            }
        )
    return out


def _as_gdf(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(
            f"{what} 必须是 GeoDataFrame / {what} must be a GeoDataFrame, got {type(frame).__name__}"
        )
    if frame.crs is None:
        raise ValueError(f"{what} 没有坐标系 / {what} has no CRS: set it (working CRS EPSG:4544)")
    return frame


def _zone_payload(
    zones: dict[str, gpd.GeoDataFrame] | None,
    gcj02: bool,
    precision: int,
    extra_styles: dict[str, dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    out = []
    styles = {**_ZONE_STYLES, **(extra_styles or {})}
    labels = {**md.ZONE_LABELS, **(labels or {})}
    for kind, layer in (zones or {}).items():
        if layer is None or len(layer) == 0 or kind not in styles:
            continue
        layer = _as_gdf(layer, f"zones[{kind}]")
        geoms = md.to_display(layer.geometry, gcj02=gcj02)
        types = set(layer.geom_type.dropna().unique())
        lines = bool(types) and types <= {"LineString", "MultiLineString", "LinearRing"}
        enc = md.encode_lines(geoms, precision) if lines else md.encode_polygons(geoms, precision)
        name_col = next((c for c in ("name", "zone_id", "park_id") if c in layer.columns), None)
        names = layer[name_col].astype("str").fillna("").tolist() if name_col else [""] * len(layer)
        out.append(
            {
                "kind": kind,
                "label": labels.get(kind, kind),
                "style": styles[kind],
                "geom": enc,
                "names": names,
                "lines": lines,
                "show": kind in _ZONE_SHOWN or kind in (extra_styles or {}),
            }
        )
    return out


def _threshold_min(thresholds: pd.Series) -> float | None:
    for t in thresholds.dropna():
        if isinstance(t, str):
            try:
                t = json.loads(t)
            except ValueError:
                continue
        if isinstance(t, dict) and t.get("min") is not None:
            return float(t["min"])
    return None


def _choropleths(
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None,
    zones: dict[str, gpd.GeoDataFrame] | None,
    aggregates: pd.DataFrame | None,
    gcj02: bool,
    precision: int,
) -> list[dict[str, Any]]:
    """Per-mu revenue/tax of parks and districts: land-weighted mean of the parcels' per_mu verdict values."""
    if verdicts is None or verdicts.empty or not zones:
        return []
    v = verdicts
    if "level" in v.columns:
        v = v[v["level"].astype("str") == "parcel"]
    v = v[v["rule"].astype("str").isin(["per_mu.revenue", "per_mu.tax"])]
    if v.empty:
        return []
    mu = pd.Series(md.area_mu(parcels), index=parcels["parcel_id"].astype("str").to_numpy())
    mu = mu[~mu.index.duplicated()]
    out = []
    scopes = [("parks", "park_id", "park_id", "园区"), ("districts", "district", "name", "区县")]
    for zone_kind, parcel_col, zone_col, scope_label in scopes:
        layer = zones.get(zone_kind)
        if (
            layer is None
            or len(layer) == 0
            or parcel_col not in parcels.columns
            or zone_col not in layer.columns
        ):
            continue
        key_of = pd.Series(
            parcels[parcel_col].astype("str").to_numpy(), index=parcels["parcel_id"].astype("str").to_numpy()
        )
        key_of = key_of[~key_of.index.duplicated()]
        geoms = md.to_display(_as_gdf(layer, f"zones[{zone_kind}]").geometry, gcj02=gcj02)
        keys = layer[zone_col].astype("str")
        names = (layer["name"].astype("str") if "name" in layer.columns else keys).tolist()
        notes = [""] * len(layer)
        if (
            aggregates is not None
            and len(aggregates)
            and {"scope", "key", "message"} <= set(aggregates.columns)
        ):
            scope = "park" if zone_kind == "parks" else "district"
            agg = aggregates[aggregates["scope"].astype("str") == scope]
            msg = agg.groupby(agg["key"].astype("str"))["message"].agg(lambda s: "；".join(map(str, s)))
            notes = [m if isinstance(m, str) else "" for m in keys.map(msg)]
        for rule, label in (("per_mu.revenue", "亩均营收"), ("per_mu.tax", "亩均税收")):
            rv = v[v["rule"].astype("str") == rule]
            target = _threshold_min(rv["threshold"]) if "threshold" in rv.columns else None
            vals = pd.to_numeric(rv["value"], errors="coerce")
            ids = rv["subject_id"].astype("str")
            w = mu.reindex(ids.to_numpy()).to_numpy()
            frame = pd.DataFrame(
                {
                    "key": key_of.reindex(ids.to_numpy()).to_numpy(),
                    "vw": vals.to_numpy() * w,
                    "w": np.where(np.isfinite(vals.to_numpy()), w, np.nan),
                }
            )
            frame = frame.dropna()
            if target is None or frame.empty:
                continue
            sums = frame.groupby("key")[["vw", "w"]].sum()
            per_mu = (sums["vw"] / sums["w"]).reindex(keys.to_numpy())
            land = sums["w"].reindex(keys.to_numpy())
            out.append(
                {
                    "title": f"{scope_label}{label}（万元/亩）",
                    "label": label,
                    "unit": "万元/亩",
                    "target": target,
                    "geom": md.encode_polygons(geoms, precision),
                    "names": names,
                    "values": [None if not np.isfinite(x) else round(float(x), 2) for x in per_mu.to_numpy()],
                    "land": [None if not np.isfinite(x) else round(float(x), 2) for x in land.to_numpy()],
                    "notes": notes,
                    "breaks": _CHORO_BREAKS,
                    "colors": _CHORO_COLORS,
                }
            )
    return out


def _info_strings(parcels: pd.DataFrame) -> list[str]:
    fields = [
        ("district", "区县"),
        ("park_id", "园区"),
        ("zone", "保护线"),
        ("far", "容积率"),
        ("land_use", "用地分类"),
        ("inside_ring", "绕城内"),
    ]
    pieces = []
    for col, label in fields:
        if col not in parcels.columns:
            continue
        s = parcels[col]
        text = s.round(2).astype("str") if pd.api.types.is_float_dtype(s) else s.astype("str")
        text = (label + "：" + text).where(s.notna() & (text != "") & (text != "nan"), "")
        pieces.append(text)
    if not pieces:
        return [""] * len(parcels)
    joined = pieces[0]
    for p in pieces[1:]:
        joined = joined.str.cat(p, sep=" · ")
    return (
        joined.str.replace(r"^( · )+|( · )+$", "", regex=True)
        .str.replace(r"( · ){2,}", " · ", regex=True)
        .tolist()
    )


def _new_map(bounds: np.ndarray | None, title: str) -> folium.Map:
    if bounds is not None and np.all(np.isfinite(bounds)):
        center = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
    else:
        center = [30.657, 104.066]  # 天府广场
    m = folium.Map(location=center, zoom_start=12, tiles=None, prefer_canvas=True, control_scale=False)
    m.get_root().header.add_child(Element(f"<title>{title}</title>"), name="mujun_title")
    return m


def _build(
    payload: dict[str, Any], title: str, bounds: np.ndarray | None, *, inline: bool, static_url: str | None
) -> folium.Map:
    m = _new_map(bounds, title)
    attach_assets(m, inline=inline, static_url=static_url)
    m.add_child(_MujunLayers(payload))
    return m


def _bounds(*arrays: np.ndarray) -> np.ndarray | None:
    import shapely

    geoms = (
        np.concatenate([np.asarray(a, dtype=object) for a in arrays if len(a)])
        if any(len(a) for a in arrays)
        else np.array([], dtype=object)
    )
    if len(geoms) == 0:
        return None
    b = shapely.total_bounds(geoms)
    return b if np.all(np.isfinite(b)) else None


def compliance_map(
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None = None,
    zones: dict[str, gpd.GeoDataFrame] | None = None,
    aggregates: pd.DataFrame | None = None,
    *,
    basemap: str = "none",
    inline: bool = False,
    static_url: str | None = None,
    title: str = "工业用地合规评估地图",
    precision: int = 6,
    tianditu_key: str | None = None,
) -> folium.Map:
    """Build the compliance map: parcels by status, a layer per rule family, zones, legend, search, measure.

    Parameters
    ----------
    parcels : GeoDataFrame with ``parcel_id`` (and ``status``, ``area_mu``, ``st_*`` when available), any CRS.
    verdicts : long table ``subject_id, rule, status, value, threshold, message, citation`` (+ ``level``).
    zones : context layers by kind (``red_line``, ``blue_line``, ``ring``, ``parks``, ``urban_dev_boundary``,
        ``planned_construction_area``, ``districts``).
    aggregates : the result's aggregate rows (messages shown on the per-mu choropleth of parks/districts).
    basemap : ``none`` (default, no network), ``osm``, ``tianditu`` (needs ``MUJUN_TIANDITU_KEY``) or
        ``gaode`` (geometries shifted to GCJ-02 for display).
    inline : inline every script and stylesheet (one e-mailable HTML file); otherwise link to ``static_url``
        or to ``map_files/`` beside the HTML (``save_map`` copies it).

    Examples
    --------
    >>> m = compliance_map(parcels, verdicts, zones, inline=True)  # doctest: +SKIP
    >>> save_map(m, "map.html")                                     # doctest: +SKIP
    """
    parcels = _as_gdf(parcels, "parcels")
    if "parcel_id" not in parcels.columns:
        raise ValueError("parcels 缺少 parcel_id 列 / parcels have no parcel_id column")
    gcj02 = basemap == "gaode"
    bases = _basemap_list(basemap, tianditu_key)
    geoms = md.to_display(parcels.geometry, gcj02=gcj02)
    fam = md.family_status(parcels, verdicts)
    overall = md.overall_status(parcels, fam)
    st = {"overall": md.status_codes(overall)}
    for f in fam.columns:
        st[f] = md.status_codes(fam[f])
    zone_list = _zone_payload(zones, gcj02, precision)
    bounds = (
        _bounds(geoms)
        if len(geoms)
        else _bounds(
            *(md.to_display(z.geometry, gcj02=gcj02) for z in (zones or {}).values() if z is not None)
        )
    )
    payload: dict[str, Any] = {
        "title": title,
        "statuses": list(md.STATUSES),
        "colors": md.STATUS_COLORS,
        "labels": md.STATUS_LABELS,
        "legendStatuses": ["fail", "warn", "missing_data", "pass"],
        "families": list(fam.columns),
        "familyLabels": md.FAMILIES,
        "parcels": {
            "ids": parcels["parcel_id"].astype("str").tolist(),
            "mu": np.round(md.area_mu(parcels), 2).tolist(),
            "st": st,
            "geom": md.encode_polygons(geoms, precision),
            "info": _info_strings(parcels),
        },
        "verdicts": md.encode_verdicts(parcels["parcel_id"], verdicts),
        "zones": zone_list,
        "choropleths": _choropleths(parcels, verdicts, zones, aggregates, gcj02, precision),
        "basemaps": bases,
        "bounds": None if bounds is None else [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "collapseLayers": False,
        "note": "显示坐标已转换为 GCJ-02，仅用于与高德底图套合" if gcj02 else "",
    }
    return _build(payload, title, bounds, inline=inline, static_url=static_url)


def save_map(m: folium.Map, path: str | Path, *, folder: str = "map_files") -> Path:
    """Write a map of this module to ``path``; copies the assets to ``path.parent / folder`` if linked."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = m.get_root().render()
    path.write_text(html, encoding="utf-8")
    if f'src="{folder}/' in html:
        copy_assets(path.parent / folder)
    return path


def save_compliance_map(
    path: str | Path,
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None = None,
    zones: dict[str, gpd.GeoDataFrame] | None = None,
    aggregates: pd.DataFrame | None = None,
    **kwargs: Any,
) -> Path:
    """Build the compliance map and write it to ``path`` (keyword options as ``compliance_map``)."""
    return save_map(compliance_map(parcels, verdicts, zones, aggregates, **kwargs), path)


# --------------------------------------------------------------------------------------------------
# reading result files


class ResultLayers(NamedTuple):
    """What a map needs from a result file."""

    parcels: gpd.GeoDataFrame
    verdicts: pd.DataFrame | None
    zones: dict[str, gpd.GeoDataFrame]
    aggregates: pd.DataFrame | None
    meta: dict[str, Any]


def read_result_layers(path: str | Path) -> ResultLayers:
    """Read an evaluation result file (``.geojson`` or ``.gpkg``) into the pieces a map needs."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(
            "结果文件不存在 / result file not found",
            path=str(path),
            hint="先运行 mujun evaluate 生成结果 / run `mujun evaluate` first",
        )
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return _read_geojson_result(path)
    if suffix == ".gpkg":
        return _read_gpkg_result(path)
    raise InputFileError(
        f"{path}: 不支持的结果格式 {suffix} / unsupported result format; 请使用 .geojson 或 .gpkg",
        path=str(path),
        hint="mujun evaluate … --out result.gpkg",
    )


def _read_geojson_result(path: Path) -> ResultLayers:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"不是有效的 GeoJSON / not valid GeoJSON: {exc}", path=str(path)) from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and "parcels" in doc and features is None:
        raise InputFileError(
            "这是不含几何的评估结果 JSON，无法作图 / this is the result JSON, which has no geometry",
            path=str(path),
            hint="请用同一次评估输出的 result.gpkg 或 result.geojson 作图 (map the .gpkg or .geojson result)",
        )
    if not isinstance(features, list):
        raise InputFileError(
            "缺少 features 数组 / no FeatureCollection features",
            path=str(path),
            hint="结果 GeoJSON 由 mujun evaluate --out result.geojson 生成",
        )
    props = pd.DataFrame([f.get("properties") or {} for f in features])
    verdict_lists = props.pop("verdicts") if "verdicts" in props.columns else None
    gdf = gpd.GeoDataFrame.from_features(
        [{"type": "Feature", "geometry": f.get("geometry"), "properties": {}} for f in features], crs=4326
    )
    parcels = gpd.GeoDataFrame(props, geometry=gdf.geometry.to_numpy(), crs=4326)
    if "parcel_id" not in parcels.columns:
        raise InputFileError("要素缺少 parcel_id 属性 / features have no parcel_id", path=str(path))
    parcels["parcel_id"] = parcels["parcel_id"].astype("str")
    verdicts = None
    if verdict_lists is not None:
        lens = verdict_lists.map(lambda x: len(x) if isinstance(x, list) else 0)
        flat = [v for lst in verdict_lists if isinstance(lst, list) for v in lst]
        verdicts = pd.DataFrame(flat)
        if len(verdicts):
            verdicts.insert(0, "subject_id", np.repeat(parcels["parcel_id"].to_numpy(), lens.to_numpy()))
            verdicts.insert(0, "level", "parcel")
    aggregates = pd.DataFrame(doc["aggregates"]) if isinstance(doc.get("aggregates"), list) else None
    meta = {k: doc[k] for k in ("ruleset", "as_of", "summary", "crs") if k in doc}
    return ResultLayers(parcels.to_crs(4544), verdicts, {}, aggregates, meta)


def _read_gpkg_result(path: Path) -> ResultLayers:
    try:
        layers = {str(name): str(kind) for name, kind in pyogrio.list_layers(path)}
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFileError(f"无法打开 GeoPackage / cannot open: {exc}", path=str(path)) from exc
    if "parcels" not in layers:
        raise InputFileError(
            f"缺少 parcels 图层 / no 'parcels' layer (layers: {', '.join(layers)})",
            path=str(path),
            hint="结果 GeoPackage 由 mujun evaluate --out result.gpkg 生成",
        )
    parcels = pyogrio.read_dataframe(path, layer="parcels")
    parcels["parcel_id"] = parcels["parcel_id"].astype("str")

    def table(name: str) -> pd.DataFrame | None:
        if name not in layers:
            return None
        return pd.DataFrame(pyogrio.read_dataframe(path, layer=name, read_geometry=False))

    verdicts = table("verdicts")
    aggregates = table("aggregates")
    run = table("run")
    zones = {
        name[5:]: pyogrio.read_dataframe(path, layer=name).to_crs(4544)
        for name in layers
        if name.startswith("zone_")
    }
    meta: dict[str, Any] = {}
    if run is not None and len(run):
        meta = {k: (None if pd.isna(v) else v) for k, v in run.iloc[0].to_dict().items()}
    if parcels.crs is not None and parcels.crs.to_epsg() != 4544:
        parcels = parcels.to_crs(4544)
    return ResultLayers(parcels, verdicts, zones, aggregates, meta)


# --------------------------------------------------------------------------------------------------
# zone map

_DIFF_STYLES: dict[str, dict[str, Any]] = {
    "proposed_red_line": {"color": "#c00000", "weight": 1.5, "fillOpacity": 0.25},
    "proposed_blue_line": {"color": "#1f5fbf", "weight": 1.5, "fillOpacity": 0.25},
    "existing_red_line": {"color": "#67000d", "weight": 2.5, "dash": "6 4", "fillOpacity": 0},
    "existing_blue_line": {"color": "#08306b", "weight": 2.5, "dash": "6 4", "fillOpacity": 0},
    "proposed_not_protected": {"color": "#e7298a", "weight": 2, "fillOpacity": 0.55},
    "protected_not_industrial": {"color": "#e6ab02", "weight": 2, "fillOpacity": 0.55},
}
_DIFF_LABELS = {
    "proposed_red_line": "建议红线区",
    "proposed_blue_line": "建议蓝线区",
    "existing_red_line": "现状红线区",
    "existing_blue_line": "现状蓝线区",
    "proposed_not_protected": "建议划入但尚未保护",
    "protected_not_industrial": "已保护但已非工业用地",
}


def zone_map(
    proposed: dict[str, gpd.GeoDataFrame],
    existing: dict[str, gpd.GeoDataFrame] | None = None,
    differences: dict[str, gpd.GeoDataFrame] | None = None,
    parcels: gpd.GeoDataFrame | None = None,
    is_industrial: pd.Series | None = None,
    context: dict[str, gpd.GeoDataFrame] | None = None,
    *,
    basemap: str = "none",
    inline: bool = False,
    static_url: str | None = None,
    title: str = "工业红线、蓝线划定建议",
    tianditu_key: str | None = None,
) -> folium.Map:
    """Map proposed red/blue lines beside the existing ones, with the differences highlighted."""
    gcj02 = basemap == "gaode"
    layers: dict[str, gpd.GeoDataFrame] = {}
    for kind in ("parks", "urban_dev_boundary", "planned_construction_area", "ring", "districts"):
        if context and context.get(kind) is not None:
            layers[kind] = context[kind]
    for kind in ("red_line", "blue_line"):
        if proposed.get(kind) is not None:
            layers[f"proposed_{kind}"] = proposed[kind]
        if existing and existing.get(kind) is not None:
            layers[f"existing_{kind}"] = existing[kind]
    for kind, layer in (differences or {}).items():
        layers[kind] = layer
    zone_list = _zone_payload(layers, gcj02, 6, extra_styles=_DIFF_STYLES, labels=_DIFF_LABELS)
    if parcels is not None and len(parcels):
        parcels = _as_gdf(parcels, "parcels")
        geoms = md.to_display(parcels.geometry, gcj02=gcj02)
        ind = (
            pd.Series(True, index=parcels.index)
            if is_industrial is None
            else pd.Series(np.asarray(is_industrial, dtype=bool), index=parcels.index)
        )
        codes = np.where(ind.to_numpy(), 0, 1).tolist()
        ids = parcels["parcel_id"].astype("str").tolist()
        mu = np.round(md.area_mu(parcels), 2).tolist()
        info = _info_strings(parcels)
    else:
        geoms = np.array([], dtype=object)
        codes, ids, mu, info = [], [], [], []
    all_geoms = [geoms] + [md.to_display(g.geometry, gcj02=gcj02) for g in layers.values() if len(g)]
    bounds = _bounds(*all_geoms)
    payload: dict[str, Any] = {
        "title": title,
        "statuses": ["industrial", "other"],
        "colors": {"industrial": "#bdbdbd", "other": "#f7f7f7"},
        "labels": {"industrial": "工业用地", "other": "非工业用地"},
        "overallLabel": "用地类型",
        "legendStatuses": ["industrial", "other"],
        "families": [],
        "familyLabels": {},
        "parcels": {
            "ids": ids,
            "mu": mu,
            "st": {"overall": codes},
            "geom": md.encode_polygons(geoms, 6),
            "info": info,
        },
        "verdicts": md.encode_verdicts(pd.Series(ids, dtype="str"), None),
        "zones": zone_list,
        "choropleths": [],
        "basemaps": _basemap_list(basemap, tianditu_key),
        "bounds": None if bounds is None else [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "collapseLayers": False,
        "note": "显示坐标已转换为 GCJ-02，仅用于与高德底图套合" if gcj02 else "",
    }
    return _build(payload, title, bounds, inline=inline, static_url=static_url)


# --------------------------------------------------------------------------------------------------
# static PNG


def _cjk_font() -> list[str]:
    from matplotlib import font_manager

    wanted = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei"]
    have = {f.name for f in font_manager.fontManager.ttflist}
    found = [w for w in wanted if w in have]
    return [*found, "DejaVu Sans"]


def static_map_png(
    path: str | Path,
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None = None,
    zones: dict[str, gpd.GeoDataFrame] | None = None,
    *,
    family: str = "overall",
    title: str = "工业用地合规评估",
    dpi: int = 150,
    size: tuple[float, float] = (10.0, 8.0),
) -> Path:
    """Render a static PNG (no tiles): parcels by status, zones, Chinese legend, scale bar, north arrow."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrow, Patch, Rectangle

    parcels = _as_gdf(parcels, "parcels")
    if parcels.crs is None or not parcels.crs.is_projected:
        parcels = parcels.to_crs(4544)
    fam = md.family_status(parcels, verdicts)
    if family == "overall":
        status = md.overall_status(parcels, fam)
        subtitle = "总体合规状态"
    elif family in fam.columns:
        status = fam[family]
        subtitle = "按规则着色：" + md.FAMILIES.get(family, family)
    else:
        raise ValueError(
            f"未知规则类别 / unknown rule family {family!r}: 可选 overall, {', '.join(fam.columns)}"
        )
    colors = status.map(md.STATUS_COLORS).fillna("#ffffff")
    with plt.rc_context(
        {"font.sans-serif": _cjk_font(), "font.family": "sans-serif", "axes.unicode_minus": False}
    ):
        fig, ax = plt.subplots(figsize=size, dpi=dpi)
        parcels.plot(ax=ax, color=colors.to_numpy(), edgecolor="#303030", linewidth=0.2)
        handles = []
        for kind, layer in (zones or {}).items():
            if layer is None or len(layer) == 0 or kind not in _ZONE_STYLES:
                continue
            style = _ZONE_STYLES[kind]
            layer = layer.to_crs(parcels.crs)
            ls = "--" if style.get("dash") else "-"
            polygonal = layer.geom_type.isin(["Polygon", "MultiPolygon"])
            edges = pd.concat([layer[polygonal].boundary, layer[~polygonal].geometry])
            edges.plot(ax=ax, color=style["color"], linewidth=style["weight"] * 0.6, linestyle=ls)
            handles.append(
                Line2D([], [], color=style["color"], linestyle=ls, label=md.ZONE_LABELS.get(kind, kind))
            )
        counts = status.value_counts()
        status_handles = [
            Patch(
                facecolor=md.STATUS_COLORS[s],
                edgecolor="#303030",
                label=f"{md.STATUS_LABELS[s]}（{int(counts.get(s, 0))}）",
            )
            for s in md.STATUSES
            if counts.get(s, 0) or s in ("fail", "warn", "missing_data", "pass")
        ]
        ax.legend(
            handles=status_handles + handles,
            loc="lower right",
            title=subtitle,
            fontsize=8,
            title_fontsize=9,
            framealpha=0.92,
        )
        ax.set_title(title, fontsize=14)
        ax.set_axis_off()
        ax.set_aspect("equal")
        xmin, xmax = ax.get_xlim()
        ymin, ymax = ax.get_ylim()
        # scale bar: a round length near a fifth of the width (metres, working CRS)
        width = xmax - xmin
        raw = width / 5
        mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
        bar = max(m for m in (mag, 2 * mag, 5 * mag) if m <= raw) if raw > 0 else 1
        x0 = xmin + width * 0.04
        y0 = ymin + (ymax - ymin) * 0.04
        h = (ymax - ymin) * 0.012
        ax.add_patch(Rectangle((x0, y0), bar / 2, h, facecolor="black", edgecolor="black"))
        ax.add_patch(Rectangle((x0 + bar / 2, y0), bar / 2, h, facecolor="white", edgecolor="black"))
        label = f"{bar / 1000:g} 公里" if bar >= 1000 else f"{bar:g} 米"
        ax.text(x0 + bar / 2, y0 + h * 1.8, label, ha="center", va="bottom", fontsize=8)
        # north arrow (grid north of the Gauss-Krüger projection, within 1° of true north in Chengdu)
        ax_len = (ymax - ymin) * 0.07
        nx, ny = xmax - width * 0.05, ymax - (ymax - ymin) * 0.14
        ax.add_patch(
            FancyArrow(
                nx,
                ny,
                0,
                ax_len,
                width=width * 0.006,
                head_width=width * 0.02,
                head_length=ax_len * 0.35,
                length_includes_head=True,
                color="black",
            )
        )
        ax.text(nx, ny + ax_len * 1.08, "北", ha="center", va="bottom", fontsize=11, fontweight="bold")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight", dpi=dpi)
        plt.close(fig)
    return path
