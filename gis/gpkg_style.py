"""GeoPackages that open styled in QGIS: ``layer_styles`` (QML and SLD) and Chinese field aliases.

QGIS keeps a layer's default style in a ``layer_styles`` table of the GeoPackage (its own schema: f_table_catalog,
f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner,
ui, update_time) and applies the row with ``useAsDefault`` when the layer is added. Field aliases are written
twice: in the QML (``<aliases>``, what QGIS 3.22 applies with the style) and in the GeoPackage's own
``gpkg_data_columns`` (``name``/``title``, with the ``gpkg_schema`` extension registered), which GDAL ≥ 3.7 reads as
the fields' alternative names and which ArcGIS and newer QGIS show.

This module knows no rule ids and no status words of its own: the categories of a status layer come from the
``legend`` (``RuleSet.legend()``: status ids, Chinese labels, colours), the zone layers' outlines from
:mod:`gis.maps` (the web map's colours and dashes) and their names from :data:`gis.vocabulary.ZONE_LAYER_LABELS`.

Examples
--------
>>> from gis.maps import read_legend
>>> lg = {"statuses": [{"id": "fail", "label": "不合规", "color": "#a50f15"},
...                    {"id": "pass", "label": "合规", "color": "#6faf7c"}]}
>>> qml = status_qml("status", read_legend(lg), {"status": "总体结论"})
>>> 'value="fail"' in qml and 'label="不合规"' in qml and 'value="165,15,21,255"' in qml
True
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from gis import _map_data as md
from gis.io import write_layer
from gis.maps import _ZONE_STYLES, PARCEL_EDGE
from gis.vocabulary import ZONE_LAYER_LABELS

QGIS_VERSION = "3.22.16-Białowieża"  # the QML dialect written (Debian 12's QGIS); newer QGIS reads it too
STYLE_TABLE = "layer_styles"
PX_MM = 0.26  # one web-map pixel as millimetres on a QGIS canvas (96 dpi)
SCHEMA_EXTENSION = ("gpkg_schema", "http://www.geopackage.org/spec/#extension_schema", "read-write")


class LayerStyle(NamedTuple):
    """One row of ``layer_styles``: the layer (table) it styles, its name and description, QML and SLD."""

    table: str
    name: str
    description: str
    qml: str
    sld: str


# --- colours and XML -------------------------------------------------------------------------------


def _rgba(color: str, alpha: float = 1.0) -> str:
    """``#a50f15`` → ``165,15,21,255`` (QGIS's colour text)."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _options(parent: ET.Element, props: Mapping[str, str]) -> None:
    """A symbol layer's properties, as QGIS 3.22 writes them (``<Option type="Map">`` and the older ``<prop>``)."""
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(opt, "Option", type="QString", name=k, value=str(v))
    for k, v in props.items():
        ET.SubElement(parent, "prop", k=k, v=str(v))


def _fill_layer(symbol: ET.Element, fill: str, fill_alpha: float, edge: str, edge_mm: float,
                edge_style: str = "solid") -> None:
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
    _options(layer, {
        "color": _rgba(fill, fill_alpha) if fill != "none" else "0,0,0,0",
        "style": "solid" if fill != "none" and fill_alpha > 0 else "no",
        "outline_color": _rgba(edge),
        "outline_style": edge_style,
        "outline_width": f"{edge_mm:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel",
        "offset": "0,0",
        "offset_unit": "MM",
    })


def _line_layer(symbol: ET.Element, color: str, width_mm: float, dash: str | None, alpha: float = 1.0) -> None:
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"})
    _options(layer, {
        "line_color": _rgba(color, alpha),
        "line_style": "solid",
        "line_width": f"{width_mm:g}",
        "line_width_unit": "MM",
        "use_custom_dash": "1" if dash else "0",
        "customdash": ";".join(f"{float(x) * PX_MM:g}" for x in dash.split()) if dash else "5;2",
        "customdash_unit": "MM",
        "capstyle": "flat",
        "joinstyle": "round",
        "offset": "0",
        "offset_unit": "MM",
    })


def _symbol(parent: ET.Element, name: str, kind: str) -> ET.Element:
    return ET.SubElement(parent, "symbol", {"name": name, "type": kind, "alpha": "1", "clip_to_extent": "1",
                                            "force_rhr": "0"})


def _qml(renderer: ET.Element, aliases: Mapping[str, str] | None, geometry: str) -> str:
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology|Fields"})
    root.append(renderer)
    if aliases:
        el = ET.SubElement(root, "aliases")
        for i, (field, alias) in enumerate(aliases.items()):
            ET.SubElement(el, "alias", field=field, index=str(i), name=alias)
    ET.SubElement(root, "layerGeometryType").text = "1" if geometry == "line" else "2"
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


_SLD_NS = {
    "xmlns": "http://www.opengis.net/sld",
    "xmlns:ogc": "http://www.opengis.net/ogc",
    "xmlns:se": "http://www.opengis.net/se",
    "xmlns:xlink": "http://www.w3.org/1999/xlink",
    "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "version": "1.1.0",
    "xsi:schemaLocation": "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
}


def _sld(table: str, rules: Iterable[tuple[str, tuple[str, str] | None, ET.Element]]) -> str:
    """An SLD 1.1 document: one ``se:Rule`` per (title, (field, value) filter or none, symbolizer)."""
    root = ET.Element("StyledLayerDescriptor", _SLD_NS)
    layer = ET.SubElement(root, "NamedLayer")
    ET.SubElement(layer, "se:Name").text = table
    style = ET.SubElement(layer, "UserStyle")
    ET.SubElement(style, "se:Name").text = table
    fts = ET.SubElement(style, "se:FeatureTypeStyle")
    for title, where, symbolizer in rules:
        rule = ET.SubElement(fts, "se:Rule")
        ET.SubElement(rule, "se:Name").text = title
        ET.SubElement(ET.SubElement(rule, "se:Description"), "se:Title").text = title
        if where is not None:
            eq = ET.SubElement(ET.SubElement(rule, "ogc:Filter"), "ogc:PropertyIsEqualTo")
            ET.SubElement(eq, "ogc:PropertyName").text = where[0]
            ET.SubElement(eq, "ogc:Literal").text = where[1]
        rule.append(symbolizer)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _svg(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "se:SvgParameter", name=name).text = value


def _sld_symbolizer(geometry: str, fill: str | None, fill_alpha: float, edge: str, edge_px: float,
                    dash: str | None) -> ET.Element:
    sym = ET.Element("se:LineSymbolizer" if geometry == "line" else "se:PolygonSymbolizer")
    if fill and geometry != "line":
        f = ET.SubElement(sym, "se:Fill")
        _svg(f, "fill", fill)
        if fill_alpha < 1:
            _svg(f, "fill-opacity", f"{fill_alpha:g}")
    stroke = ET.SubElement(sym, "se:Stroke")
    _svg(stroke, "stroke", edge)
    _svg(stroke, "stroke-width", f"{edge_px:g}")
    if dash:
        _svg(stroke, "stroke-dasharray", dash)
    return sym


# --- the styles ------------------------------------------------------------------------------------


def status_qml(field: str, legend: md.Legend, aliases: Mapping[str, str] | None = None) -> str:
    """QML of a polygon layer categorised by a status column: one category per legend status, its label and colour."""
    renderer = ET.Element("renderer-v2", {"type": "categorizedSymbol", "attr": field, "symbollevels": "0",
                                          "enableorderby": "0", "forceraster": "0", "referencescale": "-1"})
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, status in enumerate(legend.statuses):
        ET.SubElement(cats, "category", {"value": status, "label": legend.labels[status], "symbol": str(i),
                                         "render": "true", "type": "string"})
        _fill_layer(_symbol(symbols, str(i), "fill"), legend.colors[status], 1.0, PARCEL_EDGE, 0.1)
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _qml(renderer, aliases, "polygon")


def status_sld(table: str, field: str, legend: md.Legend) -> str:
    """SLD of the same categories (for GeoServer, ArcGIS and QGIS's SLD import)."""
    return _sld(table, [
        (legend.labels[s], (field, s), _sld_symbolizer("polygon", legend.colors[s], 1.0, PARCEL_EDGE, 0.4, None))
        for s in legend.statuses
    ])


def zone_style(table: str, kind: str, geometry: str = "polygon",
               aliases: Mapping[str, str] | None = None) -> LayerStyle:
    """The outline style of a zone layer (``kind`` as in :data:`gis.vocabulary.ZONE_LAYER_LABELS`), as on the map.

    Polygons get a transparent fill (a light tint of the hatch colour for 工业红线区/蓝线区) and the web map's
    dashed outline; lines the outline alone. An unknown kind is drawn dark grey.
    """
    style = _ZONE_STYLES.get(kind, {"color": "#555555", "weight": 1})
    label = ZONE_LAYER_LABELS.get(kind, kind)
    tint, tint_alpha = (style["hatch"], 0.18) if "hatch" in style else ("none", 0.0)
    width_mm = style["weight"] * PX_MM
    renderer = ET.Element("renderer-v2", {"type": "singleSymbol", "symbollevels": "0", "enableorderby": "0",
                                          "forceraster": "0", "referencescale": "-1"})
    symbols = ET.SubElement(renderer, "symbols")
    symbol = _symbol(symbols, "0", "line" if geometry == "line" else "fill")
    if geometry != "line":
        _fill_layer(symbol, tint, tint_alpha, style["color"], 0.0, edge_style="no")  # the line layer outlines
    _line_layer(symbol, style["color"], width_mm, style.get("dash"))
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    sld = _sld(table, [(label, None, _sld_symbolizer(geometry, tint if tint != "none" else None, tint_alpha,
                                                     style["color"], float(style["weight"]), style.get("dash")))])
    return LayerStyle(table, label, f"{label}（与合规地图相同的线型）", _qml(renderer, aliases, geometry), sld)


# --- writing into a GeoPackage ---------------------------------------------------------------------


def _geometry_columns(con: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Table → (geometry column, ``polygon``/``line``/``point``) of the GeoPackage's feature tables."""
    out = {}
    for table, column, kind in con.execute("SELECT table_name, column_name, geometry_type_name FROM "
                                           "gpkg_geometry_columns"):
        k = str(kind).upper()
        out[str(table)] = (str(column), "line" if "LINE" in k else "point" if "POINT" in k else "polygon")
    return out


def write_styles(path: str | Path, styles: Iterable[LayerStyle]) -> int:
    """Write ``styles`` as the GeoPackage's ``layer_styles`` table (QGIS's schema, an attributes table GDAL lists;
    one already there is replaced), each the default of its layer; returns the number of rows written."""
    path = Path(path)
    with closing(sqlite3.connect(path)) as con:
        geoms = _geometry_columns(con)
    now = pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": s.table,
            "f_geometry_column": geoms.get(s.table, ("", ""))[0],
            "styleName": s.name,
            "styleQML": s.qml,
            "styleSLD": s.sld,
            "useAsDefault": True,
            "description": s.description,
            "owner": "",
            "ui": None,
            "update_time": now,
        }
        for s in styles
    ]
    if rows:
        frame = pd.DataFrame(rows).astype({"ui": "string", "useAsDefault": "boolean"})
        write_layer(frame, path, STYLE_TABLE)
    return len(rows)


def write_aliases(path: str | Path, aliases: Mapping[str, Mapping[str, str]]) -> None:
    """Field aliases (table → column → Chinese name) into ``gpkg_data_columns`` (``name`` and ``title``).

    The table and the ``gpkg_schema`` extension rows are created as GDAL creates them. Aliases of columns a table
    does not have are skipped; a name two columns of one table would share gets the column name appended (the
    GeoPackage wants names unique per table).
    """
    with closing(sqlite3.connect(Path(path))) as con, con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
            "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
            "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))"
        )
        con.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
            "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, "
            "max_is_inclusive BOOLEAN, description TEXT, "
            "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"
        )
        con.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT "
            "NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, "
            "extension_name))"
        )
        for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
            if not con.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = ?",
                               (table, SCHEMA_EXTENSION[0])).fetchone():
                con.execute("INSERT INTO gpkg_extensions VALUES (?, NULL, ?, ?, ?)", (table, *SCHEMA_EXTENSION))
        rows = []
        for table, names in aliases.items():
            have = {r[1] for r in con.execute(f'PRAGMA table_info("{table.replace(chr(34), "")}")')}
            seen: set[str] = set()
            for column, alias in names.items():
                if column not in have or not alias:
                    continue
                name = alias if alias not in seen else f"{alias}（{column}）"
                seen.add(name)
                rows.append((table, column, name, name))
        con.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title) "
                        "VALUES (?, ?, ?, ?)", rows)


def style_geopackage(
    path: str | Path,
    *,
    legend: Mapping[str, Any] | md.Legend,
    status_layers: Mapping[str, str],
    zone_layers: Mapping[str, str] | None = None,
    aliases: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Style a written GeoPackage for QGIS: categorised status layers, zone outlines, Chinese field aliases.

    ``status_layers`` maps a table to its status column (categorised by the ``legend``'s statuses);
    ``zone_layers`` maps a table to its zone kind (``red_line``, ``parks``, …); ``aliases`` maps a table to
    column → Chinese name (in the QML of its style and in ``gpkg_data_columns``).
    """
    lg = md.read_legend(legend)
    aliases = aliases or {}
    with closing(sqlite3.connect(Path(path))) as con:
        geoms = _geometry_columns(con)
        columns = {t: [r[1] for r in con.execute(f'PRAGMA table_info("{t.replace(chr(34), "")}")')] for t in geoms}

    def shown(table: str) -> dict[str, str]:  # in the table's column order, as QGIS lists the fields
        names = aliases.get(table, {})
        return {c: names[c] for c in columns.get(table, []) if names.get(c)}

    words = "、".join(lg.labels[s] for s in lg.statuses)
    styles = [
        LayerStyle(table, "合规状态", f"按{shown(table).get(field, field)}分类着色：{words}",
                   status_qml(field, lg, shown(table)), status_sld(table, field, lg))
        for table, field in status_layers.items() if table in geoms
    ]
    styles += [
        zone_style(table, kind, geoms[table][1], shown(table))
        for table, kind in (zone_layers or {}).items() if table in geoms
    ]
    write_styles(path, styles)
    write_aliases(path, aliases)
