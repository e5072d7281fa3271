"""Compliance maps, zone maps and static PNG maps of evaluation results (folium/Leaflet, offline).

Plain data in (parcels, verdicts, zones, aggregates — the shapes of ``EvaluationResult``) and a ``legend``
(``RuleSet.legend()``: status names and colours, rule titles and units, code names), a ``folium.Map`` out.
This package knows no rule ids: every name on the map comes from the legend or from :mod:`gis.vocabulary`.
Every script and stylesheet is local (inlined, a folder beside the HTML, or a URL prefix the web app serves);
tiles are only requested from a basemap the user picks.

Examples
--------
A result file as ``mujun evaluate`` writes it (here of the committed sample, run from the repository root), drawn
as one e-mailable HTML file:

>>> import tempfile
>>> from gis.io import load_inputs
>>> from rules.engine import evaluate
>>> from rules.export import write_result
>>> from rules.ruleset import load_ruleset
>>> d, out = "data/sample_parcels/", Path(tempfile.mkdtemp())
>>> inputs = load_inputs(d + "parcels.gpkg", d + "enterprises.csv", d + "occupancy.csv", d + "zones.gpkg")
>>> path = write_result(evaluate(inputs, load_ruleset("chengdu-2023"), "2025-06-30"), out / "result.gpkg")
>>> layers = read_result_layers(path)
>>> legend = load_ruleset(layers.ruleset_id).legend()
>>> save_compliance_map(out / "map.html", layers.parcels, layers.verdicts, layers.zones,
...                     layers.aggregates, legend=legend, inline=True).name
'map.html'
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
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
from gis.crs import WORKING_CRS
from gis.errors import InputFileError
from gis.vocabulary import ZONE_LAYER_LABELS, column_label, land_use_label, yes_no

__all__ = [
    "BASEMAPS",
    "Legend",
    "ResultLayers",
    "asset_dirs",
    "compliance_map",
    "copy_assets",
    "draw_static",
    "length_text",
    "map_distinct",
    "read_legend",
    "read_result_layers",
    "round_length",
    "result_parcel_count",
    "save_compliance_map",
    "save_map",
    "static_map_png",
    "tile_url_templates",
    "wgs84_to_gcj02",
    "zone_map",
]

Legend = md.Legend
read_legend = md.read_legend
map_distinct = md.map_distinct
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
        "urls": ["https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"],
        "attribution": "© 高德地图",
        "subdomains": "1234",
    },
}

# Context layers, drawn above the parcels as lines (no fill, so a zone never tints the parcels' status colours).
# The protection lines are a dashed dark outline over a comb of short ticks (the "hatched edge"): a line
# symbol that cannot be mistaken for a red (不合规) or blue (豁免) parcel fill.
_ZONE_STYLES: dict[str, dict[str, Any]] = {
    "red_line": {"color": "#3b0008", "weight": 2, "dash": "8 5", "hatch": "#b2182b", "hatchWeight": 7},
    "blue_line": {"color": "#08254f", "weight": 2, "dash": "8 5", "hatch": "#2166ac", "hatchWeight": 7},
    "ring": {"color": "#222222", "weight": 2.5, "dash": "1 6"},
    "parks": {"color": "#7b3294", "weight": 2},
    "urban_dev_boundary": {"color": "#8c510a", "weight": 2, "dash": "10 4 2 4"},
    "planned_construction_area": {"color": "#b35806", "weight": 1.5, "dash": "3 4"},
    "districts": {"color": "#555555", "weight": 1, "dash": "6 3 2 3"},
}
_HATCH_DASH = "2 4"
PARCEL_EDGE = "#303030"  # the parcels' outline on the static, print and QGIS maps
_ZONE_SHOWN = {"red_line", "blue_line", "ring", "parks"}
_FILL_OPACITY = 0.78  # parcels on the canvas (mujun-map.js); the colour-vision test checks the blended colours
_SCOPES = {"park": ("parks", ("park_id",), "园区"), "district": ("districts", ("name", "district"), "区（市）县")}


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
        raise TypeError(f"{what} 必须是 GeoDataFrame / {what} must be a GeoDataFrame, got {type(frame).__name__}")
    if frame.crs is None:
        raise ValueError(f"{what} 没有坐标系 / {what} has no CRS: set it (working CRS EPSG:4544)")
    return frame


def _names(layer: pd.DataFrame) -> list[str]:
    col = next((c for c in ("name", "zone_id", "park_id") if c in layer.columns), None)
    if col is None:
        return [""] * len(layer)
    s = layer[col].astype(object)
    return s.where(s.notna(), "").astype("str").tolist()


def _zone_payload(
    zones: dict[str, gpd.GeoDataFrame] | None,
    gcj02: bool,
    precision: int,
    extra_styles: dict[str, dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    out = []
    styles = {**_ZONE_STYLES, **(extra_styles or {})}
    labels = {**ZONE_LAYER_LABELS, **(labels or {})}
    for kind, layer in (zones or {}).items():
        if layer is None or len(layer) == 0 or kind not in styles:
            continue
        layer = _as_gdf(layer, f"zones[{kind}]")
        geoms = md.to_display(layer.geometry, gcj02=gcj02)
        types = set(layer.geom_type.dropna().unique())
        lines = bool(types) and types <= {"LineString", "MultiLineString", "LinearRing"}
        enc = md.encode_lines(geoms, precision) if lines else md.encode_polygons(geoms, precision)
        out.append(
            {
                "kind": kind,
                "label": labels.get(kind, kind),
                "style": {**styles[kind], "hatchDash": _HATCH_DASH} if "hatch" in styles[kind] else styles[kind],
                "geom": enc,
                "names": _names(layer),
                "lines": lines,
                "show": kind in _ZONE_SHOWN or kind in (extra_styles or {}),
            }
        )
    return out


def _choropleths(
    aggregates: pd.DataFrame | None,
    zones: dict[str, gpd.GeoDataFrame] | None,
    legend: md.Legend,
    gcj02: bool,
    precision: int,
) -> list[dict[str, Any]]:
    """Parks and districts coloured by the status of each aggregate verdict about them (one layer each).

    An aggregate row names its subject by ``scope`` (``park`` → the parks layer by ``park_id``, ``district`` →
    the districts layer by name) and ``key``; the layer is titled by the rule set's title of its rule.
    """
    need = {"rule", "scope", "key", "status"}
    if aggregates is None or aggregates.empty or not zones or not need <= set(aggregates.columns):
        return []
    agg = aggregates[aggregates["scope"].astype("str").isin(list(_SCOPES))]
    if agg.empty:
        return []
    value, threshold, code = md.verdict_texts(agg, legend)
    agg = agg.assign(_value=value, _threshold=threshold, _code=code)
    code_col = agg["code"].astype(object) if "code" in agg.columns else pd.Series(None, index=agg.index)
    agg = agg.assign(_code_key=code_col.where(code_col.notna(), "").astype("str"))
    out = []
    for (rule, scope, code_key), rows in agg.groupby(["rule", "scope", "_code_key"], sort=False):
        kind, key_cols, scope_label = _SCOPES[str(scope)]
        layer = zones.get(kind)
        key_col = next((c for c in key_cols if layer is not None and c in layer.columns), None)
        if layer is None or len(layer) == 0 or key_col is None:
            continue
        entry = legend.rule(str(rule))
        if entry is None:
            continue
        keys = layer[key_col].astype(object).where(layer[key_col].notna(), "").astype("str")
        rows = rows.drop_duplicates("key", keep="last").set_index(rows["key"].astype("str").to_numpy())
        hit = rows.reindex(keys.to_numpy())

        def texts(col: str, frame: pd.DataFrame = hit) -> list[str]:
            s = frame[col].astype(object)
            return s.where(s.notna(), "").astype("str").tolist()

        label = str(rows["_code"].iloc[0]) if code_key else ""
        geoms = md.to_display(_as_gdf(layer, f"zones[{kind}]").geometry, gcj02=gcj02)
        out.append(
            {
                "title": f"{scope_label}：{entry['title']}" + (f"（{label}）" if label else ""),
                "geom": md.encode_polygons(geoms, precision),
                "names": _names(layer),
                "st": [int(c) for c in md.status_codes(hit["status"].astype("str"), legend)],
                "value": texts("_value"),
                "threshold": texts("_threshold"),
                "message": texts("message") if "message" in hit.columns else [""] * len(layer),
            }
        )
    return out


def _info_fields(parcels: pd.DataFrame, zones: Mapping[str, gpd.GeoDataFrame] | None = None) -> list[dict[str, Any]]:
    """The parcel's own data in words, one field each (行政区, 园区 by name, 保护线, 容积率, 用地分类, 绕城).

    Each field is ``{"label", "strs", "codes"}``: the distinct texts and each parcel's index into them
    (packed; −1 = unknown), so 100 000 parcels do not repeat "用地分类：二类工业用地（100102）" 100 000 times.
    """
    park_names: dict[str, str] = {}
    parks = (zones or {}).get("parks")
    if parks is not None and {"park_id", "name"} <= set(parks.columns):
        park_names = dict(zip(parks["park_id"].astype("str"), parks["name"].astype("str"), strict=True))
    fields: list[tuple[str, str, Any]] = [
        ("district", column_label("district"), str),
        ("park_id", "园区", lambda v: park_names.get(str(v), str(v))),
        ("zone", column_label("zone"), lambda v: ZONE_LAYER_LABELS.get(str(v), str(v))),
        ("far", column_label("far"), None),
        ("land_use", column_label("land_use"), land_use_label),
        ("inside_ring", column_label("inside_ring"), yes_no),
    ]
    out = []
    for col, label, words in fields:
        if col not in parcels.columns:
            continue
        s = parcels[col]
        if col == "far":  # two decimals, as the FAR rule judges it
            s = pd.to_numeric(s, errors="coerce").round(2)
            words = lambda v: f"{float(v):.2f}"  # noqa: E731
        codes, uniques = pd.factorize(s)
        texts = [words(u) if str(u).strip() else "" for u in uniques]
        keep = np.array([i if t else -1 for i, t in enumerate(texts)] + [-1], dtype=np.int64)
        codes = keep[np.where(codes < 0, len(texts), codes)]
        if (codes >= 0).any():
            out.append({"label": label, "strs": texts, "codes": md.pack(codes)})
    return out


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


def _parcel_layers(
    parcels: gpd.GeoDataFrame, verdicts: pd.DataFrame | None, legend: md.Legend
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, np.ndarray]]:
    """The parcel layers (overall, then one per rule in the rule set's order, notes last) and their codes."""
    by_rule = md.rule_codes(parcels, verdicts, legend)
    overall = md.overall_codes(parcels, by_rule, legend)
    layers = [{"key": "overall", "title": "总体合规状态", "group": "overall"}]
    codes = {"overall": overall}
    rules = [r for r in legend.rules if r["id"] in by_rule]
    for r in sorted(rules, key=lambda r: r["note"]):  # stable: rule set order, the notes after the rules
        layers.append({"key": r["id"], "id": r["id"], "title": r["title"], "group": "note" if r["note"] else "rule"})
        codes[r["id"]] = by_rule[r["id"]]
    return layers, {k: md.code_string(c) for k, c in codes.items()}, codes


def compliance_map(
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None = None,
    zones: dict[str, gpd.GeoDataFrame] | None = None,
    aggregates: pd.DataFrame | None = None,
    *,
    legend: Mapping[str, Any] | md.Legend,
    basemap: str = "none",
    inline: bool = False,
    static_url: str | None = None,
    title: str = "工业用地合规评估地图",
    precision: int = 6,
    tianditu_key: str | None = None,
) -> folium.Map:
    """Build the compliance map: parcels by overall status and by each rule, zones, legend, search, measure.

    Parameters
    ----------
    parcels : GeoDataFrame with ``parcel_id`` (and ``status``, ``area_mu``, ``st_*`` when available), any CRS.
        ``status`` (contract v2) is drawn as given; it is only derived where a parcel has none.
    verdicts : long table ``subject_id, rule, status, value, code, threshold, message, citation`` (+ ``level``),
        optionally with ``value_text``, ``threshold_text``, ``code_text``: the rule set's own wording of the value
        (with its unit), the threshold and the code; without them a plain wording is used.
    zones : context layers by kind (``red_line``, ``blue_line``, ``ring``, ``parks``, ``urban_dev_boundary``,
        ``planned_construction_area``, ``districts``).
    aggregates : the result's aggregate verdicts: parks and districts coloured by each one's status.
    legend : ``RuleSet.legend()`` of the rule set the result was evaluated with: status names and colours,
        rule titles (layer names, popups), units and code names.
    basemap : ``none`` (default, no network), ``osm``, ``tianditu`` (needs ``MUJUN_TIANDITU_KEY``) or
        ``gaode`` (geometries shifted to GCJ-02 for display).
    inline : inline every script and stylesheet (one e-mailable HTML file); otherwise link to ``static_url``
        or to ``map_files/`` beside the HTML (``save_map`` copies it).

    Examples
    --------
    One parcel (lon/lat) failing one rule, drawn with the legend of the rule set that judged it:

    >>> import tempfile
    >>> import shapely
    >>> from rules.ruleset import load_ruleset
    >>> legend = load_ruleset("chengdu-2023").legend()
    >>> parcels = gpd.GeoDataFrame({"parcel_id": ["CD-GX-0001"], "status": ["fail"]},
    ...                            geometry=[shapely.box(104.050, 30.650, 104.052, 30.652)], crs="EPSG:4490")
    >>> verdicts = pd.DataFrame({"subject_id": ["CD-GX-0001"], "rule": ["far.bounds"], "status": ["fail"],
    ...                          "value": [1.6], "code": ["below_min"], "message": ["容积率 1.6 低于下限 2.0"]})
    >>> m = compliance_map(parcels, verdicts, legend=legend, inline=True)
    >>> save_map(m, Path(tempfile.mkdtemp()) / "map.html").name
    'map.html'
    """
    lg = md.read_legend(legend)
    parcels = _as_gdf(parcels, "parcels")
    if "parcel_id" not in parcels.columns:
        raise ValueError("parcels 缺少 parcel_id 列 / parcels have no parcel_id column")
    gcj02 = basemap == "gaode"
    bases = _basemap_list(basemap, tianditu_key)
    geoms = md.to_display(parcels.geometry, gcj02=gcj02)
    layers, st, _ = _parcel_layers(parcels, verdicts, lg)
    zone_list = _zone_payload(zones, gcj02, precision)
    bounds = (
        _bounds(geoms)
        if len(geoms)
        else _bounds(*(md.to_display(z.geometry, gcj02=gcj02) for z in (zones or {}).values() if z is not None))
    )
    payload: dict[str, Any] = {
        "title": title,
        **lg.to_payload(),
        "layers": layers,
        "parcels": {
            "ids": parcels["parcel_id"].astype("str").tolist(),
            "mu": np.round(md.area_mu(parcels), 2).tolist(),
            "st": st,
            "geom": md.encode_polygons(geoms, precision),
            "info": _info_fields(parcels, zones),
        },
        "verdicts": md.encode_verdicts(parcels["parcel_id"], verdicts, lg),
        "alphabet": md.ALPHABET,
        "zones": zone_list,
        "choropleths": _choropleths(aggregates, zones, lg, gcj02, precision),
        "basemaps": bases,
        "bounds": None if bounds is None else [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "fillOpacity": _FILL_OPACITY,
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
    *,
    legend: Mapping[str, Any] | md.Legend,
    **kwargs: Any,
) -> Path:
    """Build the compliance map and write it to ``path`` (keyword options as ``compliance_map``)."""
    return save_map(compliance_map(parcels, verdicts, zones, aggregates, legend=legend, **kwargs), path)


# --------------------------------------------------------------------------------------------------
# reading result files


class ResultLayers(NamedTuple):
    """What a map needs from a result file."""

    parcels: gpd.GeoDataFrame
    verdicts: pd.DataFrame | None
    zones: dict[str, gpd.GeoDataFrame]
    aggregates: pd.DataFrame | None
    meta: dict[str, Any]

    @property
    def ruleset_id(self) -> str | None:
        """Id of the rule set the result was evaluated with (``run`` table or GeoJSON ``ruleset`` member)."""
        rid = self.meta.get("ruleset_id")
        if not rid and isinstance(self.meta.get("ruleset"), Mapping):
            rid = self.meta["ruleset"].get("id")
        return str(rid) if rid else None


def result_parcel_count(path: str | Path) -> int:
    """How many parcels an evaluation result file holds, counted by GDAL without reading them (so a caller can
    decide whether the file fits a single-file map before loading every verdict)."""
    import pyogrio

    path = _result_path(path)
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if path.suffix.lower() == ".gpkg":
            return int(pyogrio.read_info(path, layer="parcels")["features"])
        return int(pyogrio.read_info(path, force_feature_count=True)["features"])
    except Exception:  # pyogrio's DataSourceError / DataLayerError: the reader says precisely what is wrong
        return len(read_result_layers(path).parcels)


def read_result_layers(path: str | Path) -> ResultLayers:
    """Read an evaluation result file (``.geojson``, ``.gpkg`` or ``.parquet``) into the pieces a map needs.

    ``meta`` holds the run (``ruleset_id``/``ruleset_version``/``ruleset_sha256`` or ``ruleset``, ``as_of``,
    ``summary``, ``crs``) and, when the file has them, ``enterprises`` (a frame).
    """
    path = _result_path(path)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return _read_geojson_result(path)
    if suffix == ".parquet":
        return _read_parquet_result(path)
    return _read_gpkg_result(path)


def _result_path(path: str | Path) -> Path:
    """``path`` if it is a result file a map can be drawn from (.geojson, .json, .gpkg, .parquet), else
    InputFileError."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(
            "结果文件不存在 / result file not found",
            path=str(path),
            hint="先运行 mujun evaluate 生成结果 / run `mujun evaluate` first",
        )
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json", ".gpkg", ".parquet"):
        return path
    raise InputFileError(
        f"{path}: 不支持的结果格式 {suffix} / unsupported result format; 请使用 .geojson、.gpkg 或 .parquet",
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
    meta = {k: doc[k] for k in ("ruleset", "as_of", "year", "summary", "crs") if k in doc}
    if isinstance(doc.get("enterprises"), list):
        meta["enterprises"] = pd.DataFrame(doc["enterprises"])
    return ResultLayers(parcels.to_crs(WORKING_CRS), verdicts, {}, aggregates, meta)


def _read_parquet_result(path: Path) -> ResultLayers:
    """``result.parquet`` (GeoParquet parcels, the run in its ``mujun`` metadata) and ``result.verdicts.parquet``."""
    import pyarrow.parquet as pq

    try:
        parcels = gpd.read_parquet(path)
        meta_raw = (pq.read_schema(path).metadata or {}).get(b"mujun")
    except Exception as exc:  # pyarrow and geopandas raise several kinds
        raise InputFileError(f"无法读取 GeoParquet / cannot read: {exc}", path=str(path)) from exc
    if meta_raw is None or "parcel_id" not in parcels.columns:
        raise InputFileError(
            "不是 mujun 评估结果 / not a mujun result (no run metadata or parcel_id)",
            path=str(path),
            hint="结果 GeoParquet 由 mujun evaluate --out result.parquet 生成",
        )
    parcels["parcel_id"] = parcels["parcel_id"].astype("str")
    meta = json.loads(meta_raw)
    vpath = path.with_name(path.stem + ".verdicts.parquet")
    verdicts = pd.read_parquet(vpath) if vpath.is_file() else None
    aggregates = pd.DataFrame(meta.pop("aggregates", None) or [])
    if "enterprises" in meta:
        meta["enterprises"] = pd.DataFrame(meta["enterprises"])
    if parcels.crs is not None and parcels.crs.to_epsg() != 4544:
        parcels = parcels.to_crs(WORKING_CRS)
    return ResultLayers(parcels, verdicts, {}, aggregates, meta)


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
        name[5:]: pyogrio.read_dataframe(path, layer=name).to_crs(4544) for name in layers if name.startswith("zone_")
    }
    meta: dict[str, Any] = {}
    if run is not None and len(run):
        meta = {k: (None if pd.isna(v) else v) for k, v in run.iloc[0].to_dict().items()}
    enterprises = table("enterprises")
    if enterprises is not None:
        meta["enterprises"] = enterprises
    if parcels.crs is not None and parcels.crs.to_epsg() != 4544:
        parcels = parcels.to_crs(WORKING_CRS)
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
_LAND_LEGEND = md.Legend(
    ("industrial", "other"),
    {"industrial": "工业用地", "other": "非工业用地"},
    {"industrial": "#bdbdbd", "other": "#f7f7f7"},
    (),
    {},
    "",
)


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
        ind = np.ones(len(parcels), dtype=bool) if is_industrial is None else np.asarray(is_industrial, dtype=bool)
        codes = np.where(ind, 0, 1)
        ids = parcels["parcel_id"].astype("str").tolist()
        mu = np.round(md.area_mu(parcels), 2).tolist()
        info = _info_fields(parcels, context)
    else:
        geoms = np.array([], dtype=object)
        codes, ids, mu, info = np.array([], dtype=np.int64), [], [], []  # type: ignore[assignment]
    all_geoms = [geoms] + [md.to_display(g.geometry, gcj02=gcj02) for g in layers.values() if len(g)]
    bounds = _bounds(*all_geoms)
    payload: dict[str, Any] = {
        "title": title,
        **_LAND_LEGEND.to_payload(),
        "layers": [{"key": "overall", "title": "用地类型", "group": "overall"}],
        "parcels": {
            "ids": ids,
            "mu": mu,
            "st": {"overall": md.code_string(codes)},
            "geom": md.encode_polygons(geoms, 6),
            "info": info,
        },
        "verdicts": md.encode_verdicts(pd.Series(ids, dtype="str"), None, _LAND_LEGEND),
        "alphabet": md.ALPHABET,
        "zones": zone_list,
        "choropleths": [],
        "basemaps": _basemap_list(basemap, tianditu_key),
        "bounds": None if bounds is None else [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "fillOpacity": _FILL_OPACITY,
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


def _mpl_dash(dash: str | None, weight: float) -> Any:
    """An SVG dash array in pixels as a matplotlib line style (dashes are scaled by the line width)."""
    if not dash:
        return "-"
    return (0, tuple(max(float(x), 0.1) / max(weight, 0.1) for x in dash.split()))


def round_length(raw: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``raw`` (a scale-bar or grid step); 1 for a non-positive ``raw``.

    >>> round_length(2345.0), round_length(7.9), round_length(0.0)
    (2000.0, 5.0, 1.0)
    """
    if not raw > 0:
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    return max(m for m in (mag, 2 * mag, 5 * mag) if m <= raw * (1 + 1e-12))


def length_text(metres: float) -> str:
    """A length in words: ``500 米``, ``2 公里``."""
    return f"{metres / 1000:g} 公里" if metres >= 1000 else f"{metres:g} 米"


class StaticLayers(NamedTuple):
    """What :func:`draw_static` drew: legend handles and labels (statuses with counts, then zones), a subtitle."""

    handles: list[Any]
    labels: list[str]
    subtitle: str


def draw_static(
    ax: Any,
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None,
    zones: Mapping[str, gpd.GeoDataFrame] | None,
    legend: Mapping[str, Any] | md.Legend,
    layer: str = "overall",
    *,
    line_scale: float = 0.6,
    parcel_edge: float = 0.2,
) -> StaticLayers:
    """Draw parcels coloured by status (overall or one rule's) and the zone outlines on a matplotlib axes.

    The one drawing of the static PNG and the print map. ``parcels`` in a projected CRS (the working CRS); zone
    line widths are the web map's times ``line_scale`` (points). ``layer`` is ``overall`` or a rule id of the
    legend; an unknown one is a ``ValueError`` naming the choices.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    lg = md.read_legend(legend)
    layers, _, codes_by_layer = _parcel_layers(parcels, verdicts, lg)
    titles = {entry["key"]: entry["title"] for entry in layers}
    if layer not in titles:
        choices = "、".join(f"{k}（{t}）" for k, t in titles.items())
        raise ValueError(f"未知图层 / unknown map layer {layer!r}: 可选 {choices}")
    codes = codes_by_layer[layer]
    subtitle = "总体合规状态" if layer == "overall" else "按规则着色：" + titles[layer]
    palette = np.array([lg.colors[s] for s in lg.statuses] + ["none"], dtype=object)
    colors = palette[np.where(codes >= 0, codes, len(lg.statuses))]
    parcels.plot(ax=ax, color=list(colors), edgecolor=PARCEL_EDGE, linewidth=parcel_edge)
    handles: list[Any] = []
    labels: list[str] = []
    for kind, zone in (zones or {}).items():
        if zone is None or len(zone) == 0 or kind not in _ZONE_STYLES:
            continue
        style = _ZONE_STYLES[kind]
        zone = zone.to_crs(parcels.crs)
        polygonal = zone.geom_type.isin(["Polygon", "MultiPolygon"])
        edges = pd.concat([zone[polygonal].boundary, zone[~polygonal].geometry])
        weight = style["weight"] * line_scale
        dash = _mpl_dash(style.get("dash"), weight)
        line = Line2D([], [], color=style["color"], linewidth=weight, linestyle=dash)
        if "hatch" in style:
            hatch_w = style["hatchWeight"] * line_scale
            comb = _mpl_dash(_HATCH_DASH, hatch_w)
            edges.plot(ax=ax, color=style["hatch"], linewidth=hatch_w, linestyle=comb, alpha=0.85)
            tick = Line2D([], [], color=style["hatch"], linewidth=hatch_w, linestyle=comb, alpha=0.85)
            handles.append((tick, line))
        else:
            handles.append(line)
        edges.plot(ax=ax, color=style["color"], linewidth=weight, linestyle=dash)
        labels.append(ZONE_LAYER_LABELS.get(kind, kind))
    counts = np.bincount(codes[codes >= 0], minlength=len(lg.statuses))
    shown = [i for i in range(len(lg.statuses)) if counts[i]]
    status_handles = [Patch(facecolor=lg.colors[lg.statuses[i]], edgecolor=PARCEL_EDGE) for i in shown]
    status_labels = [f"{lg.labels[lg.statuses[i]]}（{int(counts[i])}）" for i in shown]
    return StaticLayers(status_handles + handles, status_labels + labels, subtitle)


def static_map_png(
    path: str | Path,
    parcels: gpd.GeoDataFrame,
    verdicts: pd.DataFrame | None = None,
    zones: dict[str, gpd.GeoDataFrame] | None = None,
    *,
    legend: Mapping[str, Any] | md.Legend,
    layer: str = "overall",
    title: str = "工业用地合规评估",
    dpi: int = 150,
    size: tuple[float, float] = (10.0, 8.0),
) -> Path:
    """Render a static PNG (no tiles): parcels by status, zones, Chinese legend, scale bar, north arrow.

    ``layer`` is ``overall`` or the id of a rule in the legend: the parcels are coloured by that rule's status
    (parcels it has no verdict for are left blank). For paper, see :func:`gis.print_map.print_map_pdf`.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.patches import FancyArrow, Rectangle

    parcels = _as_gdf(parcels, "parcels")
    if not parcels.crs.is_projected:
        parcels = parcels.to_crs(WORKING_CRS)
    with plt.rc_context({"font.sans-serif": _cjk_font(), "font.family": "sans-serif", "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=size, dpi=dpi)
        try:
            drawn = draw_static(ax, parcels, verdicts, zones, legend, layer)
        except ValueError:
            plt.close(fig)
            raise
        ax.legend(
            handles=drawn.handles,
            labels=drawn.labels,
            handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
            loc="lower right",
            title=drawn.subtitle,
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
        bar = round_length(width / 5)
        x0 = xmin + width * 0.04
        y0 = ymin + (ymax - ymin) * 0.04
        h = (ymax - ymin) * 0.012
        ax.add_patch(Rectangle((x0, y0), bar / 2, h, facecolor="black", edgecolor="black"))
        ax.add_patch(Rectangle((x0 + bar / 2, y0), bar / 2, h, facecolor="white", edgecolor="black"))
        ax.text(x0 + bar / 2, y0 + h * 1.8, length_text(bar), ha="center", va="bottom", fontsize=8)
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
