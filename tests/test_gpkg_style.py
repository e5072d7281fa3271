"""``result.gpkg`` opens styled in QGIS: ``layer_styles`` (QML + SLD), Chinese aliases, a GeoPackage GDAL 3.6 reads.

The result is the committed sample evaluated for real and written by ``rules.export.write_result``; the file is
read back with sqlite3, Debian's ``ogrinfo`` (GDAL 3.6) and, where Debian's QGIS is installed, PyQGIS itself.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import pytest

from gis.maps import _ZONE_STYLES
from gis.vocabulary import ZONE_LAYER_LABELS
from rules.vocabulary import STATUS_COLORS, STATUS_LABELS, STATUS_ORDER

DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"
QGIS_SCHEMA = ["f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName", "styleQML",
               "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time"]
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-qgis lives there, not in the project's venv


def _rgba(hex_color: str) -> str:
    """#a50f15 → 165,15,21,255 by hand: a5 = 165, 0f = 15, 15 = 21."""
    h = hex_color.lstrip("#")
    return ",".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4)) + ",255"


@pytest.fixture(scope="module")
def result_gpkg(tmp_path_factory) -> tuple[Path, object]:
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.export import write_result
    from rules.ruleset import load_ruleset

    d = DATA_DIR
    inputs = load_inputs(d / "parcels.gpkg", d / "enterprises.csv", d / "occupancy.csv", d / "zones.gpkg")
    rs = load_ruleset("chengdu-2023")
    result = evaluate(inputs, rs, "2025-06-30")
    return write_result(result, tmp_path_factory.mktemp("gpkg") / "result.gpkg"), rs


def _rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as con:
        return con.execute(sql).fetchall()


def test_layer_styles_table_in_qgis_schema_with_one_default_per_layer(result_gpkg):
    path, _ = result_gpkg
    cols = [r[1] for r in _rows(path, "PRAGMA table_info(layer_styles)")]
    assert [c for c in cols if c != "fid"] == QGIS_SCHEMA
    rows = _rows(path, "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, useAsDefault, "
                       "styleName FROM layer_styles")
    tables = [r[2] for r in rows]
    zone_tables = [t for (t,) in _rows(path, "SELECT table_name FROM gpkg_contents WHERE table_name LIKE 'zone_%'")]
    assert len(zone_tables) == 7  # the sample's seven zone layers
    assert sorted(tables) == sorted(["parcels", *zone_tables])  # each spatial layer once
    geom = dict(_rows(path, "SELECT table_name, column_name FROM gpkg_geometry_columns"))
    for catalog, schema, table, column, default, name in rows:
        assert (catalog, schema, column, default) == ("", "", geom[table], 1)
        expected = "合规状态" if table == "parcels" else ZONE_LAYER_LABELS[table.removeprefix("zone_")]
        assert name == expected
    # registered as an attributes table, as QGIS itself creates it (so GDAL lists it and QGIS finds it)
    assert _rows(path, "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'") == [("attributes",)]


def test_parcels_qml_and_sld_are_categorised_by_overall_status_with_chinese_labels(result_gpkg):
    path, rs = result_gpkg
    qml, sld = _rows(path, "SELECT styleQML, styleSLD FROM layer_styles WHERE f_table_name = 'parcels'")[0]
    root = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "status"
    cats = [(c.get("value"), c.get("label"), c.get("symbol")) for c in renderer.find("categories")]
    assert [(v, lab) for v, lab, _ in cats] == [(s, STATUS_LABELS[s]) for s in STATUS_ORDER]
    fills = {
        sym.get("name"): sym.find("layer/Option/Option[@name='color']").get("value")
        for sym in renderer.find("symbols")
    }
    assert [fills[i] for _, _, i in cats] == [_rgba(STATUS_COLORS[s]) for s in STATUS_ORDER]
    assert fills[cats[0][2]] == "165,15,21,255"  # 不合规 #a50f15, by hand
    aliases = {a.get("field"): a.get("name") for a in root.find("aliases")}
    assert aliases["status"] == "总体结论" and aliases["area_mu"] == "面积（亩）"
    assert aliases["st_far_bounds"] == next(r.title for r in rs.rules if r.id == "far.bounds")
    ns = {"se": "http://www.opengis.net/se", "ogc": "http://www.opengis.net/ogc"}
    rules = ET.fromstring(sld.split("\n", 1)[1]).findall(".//se:Rule", ns)
    assert [r.find("se:Name", ns).text for r in rules] == [STATUS_LABELS[s] for s in STATUS_ORDER]
    assert [r.find(".//ogc:Literal", ns).text for r in rules] == list(STATUS_ORDER)
    assert [r.find(".//se:Fill/se:SvgParameter[@name='fill']", ns).text for r in rules] == [
        STATUS_COLORS[s] for s in STATUS_ORDER
    ]


def test_zone_styles_are_the_maps_outlines():
    from gis.gpkg_style import zone_style

    poly = ET.fromstring(zone_style("zone_parks", "parks").qml.split("\n", 1)[1])
    layers = poly.findall(".//symbol/layer")
    assert [lyr.get("class") for lyr in layers] == ["SimpleFill", "SimpleLine"]
    line = layers[1].find("Option/Option[@name='line_color']").get("value")
    assert line == _rgba(_ZONE_STYLES["parks"]["color"])
    # weight 2 px of the web map × 0.26 mm per px = 0.52 mm
    assert layers[1].find("Option/Option[@name='line_width']").get("value") == "0.52"
    dashed = ET.fromstring(zone_style("z", "red_line", "line").qml.split("\n", 1)[1])
    layer = dashed.find(".//symbol/layer")
    assert dashed.find(".//symbol").get("type") == "line" and layer.get("class") == "SimpleLine"
    # the web map's dash "8 5" px → 8 × 0.26 = 2.08 mm, 5 × 0.26 = 1.3 mm
    assert layer.find("Option/Option[@name='customdash']").get("value") == "2.08;1.3"


def test_field_aliases_in_gpkg_data_columns_with_the_schema_extension(result_gpkg):
    path, rs = result_gpkg
    names = {(t, c): (n, title) for t, c, n, title in
             _rows(path, "SELECT table_name, column_name, name, title FROM gpkg_data_columns")}
    assert names[("parcels", "status")] == ("总体结论", "总体结论")
    assert names[("parcels", "parcel_id")][0] == "宗地编号"
    rule_titles = {r.id: r.title for r in rs.rules}
    assert names[("parcels", "st_per_mu_revenue")][0] == rule_titles["per_mu.revenue"]
    assert names[("zone_parks", "name")][0] == "名称"
    assert names[("enterprises", "revenue_per_mu_10k")][0] == "亩均营收（万元/亩）"
    assert all(c != "geom" for _, c in names)
    ext = _rows(path, "SELECT table_name, column_name, extension_name, scope FROM gpkg_extensions "
                      "WHERE extension_name = 'gpkg_schema' ORDER BY table_name")
    assert ext == [("gpkg_data_column_constraints", None, "gpkg_schema", "read-write"),
                   ("gpkg_data_columns", None, "gpkg_schema", "read-write")]


def test_geopackage_version_gdal_3_6_reads_without_warning(result_gpkg):
    path, _ = result_gpkg
    # application_id 'GPKG' = 0x47504B47 = 1196444487; user_version 10300 = GeoPackage 1.3 (GDAL 3.6 knows ≤ 1.3)
    assert _rows(path, "PRAGMA application_id") == [(1196444487,)]
    assert _rows(path, "PRAGMA user_version") == [(10300,)]
    if shutil.which("ogrinfo") is None:
        pytest.skip("ogrinfo (gdal-bin) not installed")
    for args in ([str(path)], ["-so", str(path), "parcels"], ["-so", str(path), "layer_styles"]):
        run = subprocess.run(["ogrinfo", *args], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        out = run.stdout + run.stderr
        assert "Warning" not in out and "ERROR" not in out, out
    listing = subprocess.run(["ogrinfo", str(path)], capture_output=True, text=True, timeout=60).stdout
    assert "layer_styles (None)" in listing and "parcels (Multi Polygon)" in listing


def test_result_gpkg_still_reads_back(result_gpkg):
    from gis.maps import read_result_layers

    path, _ = result_gpkg
    layers = read_result_layers(path)
    assert len(layers.parcels) == 1800 and "layer_styles" not in layers.zones
    assert sorted(layers.zones) == sorted(
        t.removeprefix("zone_") for (t,) in _rows(path, "SELECT table_name FROM gpkg_contents WHERE table_name "
                                                        "LIKE 'zone_%'")
    )


QGIS_SCRIPT = r"""
import json, os, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in ("parcels", "zone_red_line"):
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    r = layer.renderer()
    d = {"valid": layer.isValid(), "renderer": r.type(),
         "aliases": {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())}}
    if r.type() == "categorizedSymbol":
        d["attr"] = r.classAttribute()
        d["categories"] = [[c.value(), c.label(), c.symbol().color().name()] for c in r.categories()]
    else:
        d["symbol_layers"] = [s.layerType() for s in r.symbol().symbolLayers()]
        d["line_color"] = r.symbol().symbolLayers()[-1].color().name()
    out[name] = d
print(json.dumps(out, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 may crash tearing down Qt after its work is done: leave without the teardown
"""


def _has_pyqgis() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    return probe.returncode == 0


@pytest.mark.skipif(not _has_pyqgis(), reason="Debian's QGIS (python3-qgis qgis-providers) not installed")
def test_qgis_loads_the_parcels_categorised_with_chinese_labels(result_gpkg, tmp_path):
    path, rs = result_gpkg
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    run = subprocess.run([SYSTEM_PYTHON, "-c", QGIS_SCRIPT, str(path)], capture_output=True, text=True, env=env,
                         timeout=180)
    assert run.returncode == 0, run.stderr
    assert "may only be partially supported" not in run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    parcels = got["parcels"]
    assert parcels["valid"] and parcels["renderer"] == "categorizedSymbol" and parcels["attr"] == "status"
    assert parcels["categories"] == [[s, STATUS_LABELS[s], STATUS_COLORS[s]] for s in STATUS_ORDER]
    assert parcels["aliases"]["status"] == "总体结论"
    assert parcels["aliases"]["st_far_bounds"] == next(r.title for r in rs.rules if r.id == "far.bounds")
    zone = got["zone_red_line"]
    assert zone["renderer"] == "singleSymbol" and zone["symbol_layers"] == ["SimpleFill", "SimpleLine"]
    assert zone["line_color"] == _ZONE_STYLES["red_line"]["color"]
