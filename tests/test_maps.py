"""Compliance map: payload encoding, offline assets, result-file reading, GCJ-02, static PNG."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from gis import _map_data as md
from gis import maps
from gis.errors import InputFileError

DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"
ARTIFACTS = Path(__file__).parent / "artifacts"
X0, Y0 = 410000.0, 3383000.0  # near 天府广场 in EPSG:4544


def make_fixture() -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Five parcels, hand-made verdicts and zones (the shapes of EvaluationResult).

    P1..P4 are 100 m × 100 m squares = 10 000 m² = 15 亩; P5 is such a square with a 20 m × 20 m hole,
    10 000 − 400 = 9 600 m² = 14.4 亩.
    """
    sq = lambda x, y: box(X0 + x, Y0 + y, X0 + x + 100, Y0 + y + 100)  # noqa: E731
    hole = Polygon(
        [(X0 + 600, Y0), (X0 + 700, Y0), (X0 + 700, Y0 + 100), (X0 + 600, Y0 + 100)],
        [[(X0 + 640, Y0 + 40), (X0 + 660, Y0 + 40), (X0 + 660, Y0 + 60), (X0 + 640, Y0 + 60)]],
    )
    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": ["P1", "P2", "P3", "P4", "P5"],
            "district": ["武侯区"] * 5,
            "park_id": ["PK1", "PK1", "PK1", None, None],
            "zone": ["red_line", "red_line", None, None, None],
            "far": [1.0, 2.5, 2.2, np.nan, 1.5],
            "status": ["fail", "pass", "warn", "missing_data", "pass"],
            "st_far_bounds": ["fail", "pass", "pass", "missing_data", "exempt"],
            "st_zone_park_management": ["pass", "pass", "warn", "not_applicable", "not_applicable"],
            "st_per_mu_revenue": ["fail", "pass", "not_applicable", "not_applicable", "not_applicable"],
        },
        geometry=[sq(0, 0), sq(110, 0), sq(0, 110), sq(400, 0), hole],
        crs="EPSG:4544",
    )
    parcels["area_m2"] = parcels.area
    parcels["area_mu"] = parcels["area_m2"] * 15 / 10000
    rows = [
        ("P1", "far.bounds", "fail", 1.0, {"min": 2.0, "max": 4.0}, "容积率 1.00，低于绕城高速以内下限 2.0"),
        ("P1", "zone.park_management", "pass", None, None, "位于园区内"),
        ("P1", "per_mu.revenue", "fail", 500.0, {"min": 650}, "亩均营收 500 万元，低于 650"),
        ("P2", "far.bounds", "pass", 2.5, {"min": 2.0, "max": 4.0}, "容积率 2.50，在 2.0–4.0 之间"),
        ("P2", "zone.park_management", "pass", None, None, "位于园区内"),
        ("P2", "per_mu.revenue", "pass", 800.0, {"min": 650}, "亩均营收 800 万元"),
        ("P3", "far.bounds", "pass", 2.2, {"min": 2.0, "max": 4.0}, "容积率 2.20"),
        ("P3", "zone.park_management", "warn", None, None, "园区外成板块工业用地，建议纳入园区管理"),
        (
            "P4",
            "far.bounds",
            "missing_data",
            None,
            {"min": 1.2, "max": 3.0},
            "缺少计容建筑面积，无法计算容积率",
        ),
        ("P5", "far.bounds", "exempt", 1.5, None, "特殊工艺用地，容积率豁免"),
    ]
    verdicts = pd.DataFrame(
        rows, columns=["subject_id", "rule", "status", "value", "threshold", "message"]
    ).assign(level="parcel", code=None, citation="成都市支持制造业产业功能区提能升级行动计划 四（七）")
    zones = {
        "red_line": gpd.GeoDataFrame(
            {"zone_id": ["R1"], "name": ["测试红线区"]},
            geometry=[box(X0 - 5, Y0 - 5, X0 + 215, Y0 + 105)],
            crs="EPSG:4544",
        ),
        "parks": gpd.GeoDataFrame(
            {"park_id": ["PK1"], "name": ["测试园区"]},
            geometry=[box(X0 - 10, Y0 - 10, X0 + 220, Y0 + 220)],
            crs="EPSG:4544",
        ),
        "districts": gpd.GeoDataFrame(
            {"name": ["武侯区"]}, geometry=[box(X0 - 500, Y0 - 500, X0 + 1200, Y0 + 800)], crs="EPSG:4544"
        ),
        "ring": gpd.GeoDataFrame(
            geometry=[box(X0 - 400, Y0 - 400, X0 + 1100, Y0 + 700).exterior], crs="EPSG:4544"
        ),
    }
    aggregates = pd.DataFrame(
        [
            {
                "rule": "agg.park_per_mu",
                "scope": "park",
                "key": "PK1",
                "status": "pass",
                "value": 650.0,
                "threshold": {"min": 650},
                "message": "园区亩均营收 650 万元/亩，达到目标",
                "citation": "…",
            }
        ]
    )
    return parcels, verdicts, zones, aggregates


URL = re.compile(r"https?://[^\s\"'<>)]*")


def offline_violations(html: str, allowed: list[str]) -> list[str]:
    """Every http(s) URL in the page that is not one of the configured tile URL templates."""
    for template in allowed:
        html = html.replace(template, "")
    return URL.findall(html)


def payload_of(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    assert m, "payload script missing"
    return json.loads(m.group(1))


def decode(g: dict) -> list[list[list[tuple[float, float]]]]:
    """Python twin of MujunMap.decode: features → parts → rings of (x, y)."""
    c = np.cumsum(np.asarray(g["c"]).reshape(-1, 2), axis=0) / g["scale"]
    out, ci, ri, pi = [], 0, 0, 0
    for np_ in g["pp"]:
        parts = []
        for _ in range(np_):
            rings = []
            for _ in range(g["pr"][pi]):
                n = g["rl"][ri]
                rings.append([tuple(p) for p in c[ci : ci + n]])
                ci += n
                ri += 1
            pi += 1
            parts.append(rings)
        out.append(parts)
    return out


@pytest.fixture()
def fixture():
    return make_fixture()


def test_encode_polygons_round_trips_rings_and_holes(fixture):
    parcels = fixture[0]
    geoms = md.to_display(parcels.geometry)
    enc = md.encode_polygons(geoms, precision=6)
    feats = decode(enc)
    assert len(feats) == 5
    assert [len(f[0]) for f in feats] == [1, 1, 1, 1, 2]  # P5 has an exterior and one hole
    # each square ring keeps 4 distinct corners (the closing point is dropped), equal to 1e-6 degrees
    ring = np.array(feats[0][0][0])
    expected = shapely.get_coordinates(geoms[0])[:-1]
    assert ring.shape == (4, 2)
    np.testing.assert_allclose(ring, np.round(expected, 6), atol=1.1e-6)


def test_area_mu_from_geometry_when_column_absent(fixture):
    parcels = fixture[0].drop(columns=["area_mu"])
    # 100 m × 100 m = 10 000 m² = 15 亩; P5: 10 000 − 20 × 20 = 9 600 m² = 14.4 亩
    np.testing.assert_allclose(md.area_mu(parcels), [15, 15, 15, 15, 14.4])


def test_family_status_is_worst_rule_and_same_from_st_columns(fixture):
    parcels, verdicts, _, _ = fixture
    from_verdicts = md.family_status(parcels, verdicts)
    from_columns = md.family_status(parcels, None)
    assert list(from_verdicts.columns) == ["far", "zone", "per_mu"]
    assert from_verdicts["far"].tolist() == ["fail", "pass", "pass", "missing_data", "exempt"]
    # P3 has no per_mu verdict: NaN in the verdict form, not_applicable in the st_ form
    assert from_verdicts["per_mu"].iloc[:2].tolist() == ["fail", "pass"]
    assert pd.isna(from_verdicts["per_mu"].iloc[2])
    pd.testing.assert_series_equal(from_verdicts["far"], from_columns["far"])
    pd.testing.assert_series_equal(from_verdicts["zone"].iloc[:3], from_columns["zone"].iloc[:3])


def test_overall_status_ranks_fail_warn_missing_pass_and_exempt_counts_as_pass(fixture):
    parcels, verdicts, _, _ = fixture
    fam = md.family_status(parcels, verdicts)
    computed = md.overall_status(parcels.drop(columns=["status"]), fam)
    # P1 fail (far), P2 pass, P3 warn (zone), P4 missing_data (far), P5 exempt → pass
    assert computed.tolist() == ["fail", "pass", "warn", "missing_data", "pass"]


def test_encode_verdicts_csr_with_deduplicated_strings(fixture):
    parcels, verdicts, _, _ = fixture
    enc = md.encode_verdicts(parcels["parcel_id"], verdicts)
    assert enc["off"] == [0, 3, 6, 8, 9, 10]  # P1 3 verdicts, P2 3, P3 2, P4 1, P5 1
    k = 0  # P1's first verdict: far.bounds fail 1.0 against {"min": 2.0, "max": 4.0}
    assert enc["rules"][enc["r"][k]] == "far.bounds"
    assert md.STATUSES[enc["s"][k]] == "fail"
    assert enc["v"][k] == 1.0
    assert enc["strs"][enc["t"][k]] == "2–4"
    assert enc["strs"][enc["t"][2]] == "≥ 650"
    assert enc["strs"][enc["t"][1]] == ""  # no threshold
    assert enc["v"][1] is None
    assert len(enc["strs"]) == len(set(enc["strs"]))


def test_gcj02_matches_reference_vector_and_offset_size_in_chengdu():
    # reference pair from the eviltransform test suite: WGS84 (31.1774276, 121.5272106) → GCJ-02
    lon, lat = md.wgs84_to_gcj02(np.array([121.5272106]), np.array([31.1774276]))
    assert lon[0] == pytest.approx(121.531541859215, abs=1e-9)
    assert lat[0] == pytest.approx(31.17530398364597, abs=1e-9)
    # at 天府广场 the shift is a few hundred metres (1° lon ≈ 95.8 km, 1° lat ≈ 110.9 km at 30.66°N)
    lon, lat = md.wgs84_to_gcj02(np.array([104.066]), np.array([30.657]))
    shift_m = np.hypot((lon[0] - 104.066) * 95_800, (lat[0] - 30.657) * 110_900)
    assert 100 < shift_m < 700


@pytest.mark.parametrize("mode", ["inline", "folder", "static_url"])
def test_map_html_is_offline_in_every_asset_mode(fixture, tmp_path, mode):
    parcels, verdicts, zones, aggregates = fixture
    kwargs = {"inline": mode == "inline", "static_url": "/static/vendor" if mode == "static_url" else None}
    path = maps.save_compliance_map(tmp_path / "map.html", parcels, verdicts, zones, aggregates, **kwargs)
    html = path.read_text(encoding="utf-8")
    assert offline_violations(html, maps.tile_url_templates()) == []
    refs = re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', html)
    if mode == "inline":
        assert refs == []
        assert "L.Map" in html or "L.map" in html
    elif mode == "folder":
        assert refs and all((tmp_path / r).is_file() for r in refs), refs
    else:
        assert refs and all(r.startswith("/static/vendor/") for r in refs)
        # the prefix maps onto asset_dirs(): /static/vendor/<root>/<file>
        for r in refs:
            root, _, rest = r.removeprefix("/static/vendor/").partition("/")
            assert (maps.asset_dirs()[root] / rest).is_file()


def test_payload_holds_parcels_families_zones_and_choropleths(fixture):
    parcels, verdicts, zones, aggregates = fixture
    html = maps.compliance_map(parcels, verdicts, zones, aggregates, inline=True).get_root().render()
    data = payload_of(html)
    assert data["parcels"]["ids"] == ["P1", "P2", "P3", "P4", "P5"]
    assert data["parcels"]["mu"] == [15.0, 15.0, 15.0, 15.0, 14.4]
    assert data["families"] == ["far", "zone", "per_mu"]
    st = [md.STATUSES[c] for c in data["parcels"]["st"]["overall"]]
    assert st == ["fail", "pass", "warn", "missing_data", "pass"]
    assert {z["kind"] for z in data["zones"]} == {"red_line", "parks", "districts", "ring"}
    assert next(z for z in data["zones"] if z["kind"] == "ring")["lines"] is True
    # park PK1 revenue per mu = (500 × 15 + 800 × 15) / (15 + 15) = 650 → exactly the 650 target
    park = next(c for c in data["choropleths"] if c["title"].startswith("园区亩均营收"))
    assert park["values"] == [650.0] and park["target"] == 650.0 and park["land"] == [30.0]
    assert "达到目标" in park["notes"][0]
    assert [b["label"] for b in data["basemaps"]] == ["无底图（离线）", "OpenStreetMap"]
    assert data["basemaps"][0]["active"] is True


def test_text_with_script_and_template_markup_is_inert(fixture):
    parcels, verdicts, zones, _ = fixture
    verdicts = verdicts.copy()
    verdicts.loc[0, "message"] = "</script><b>{{ x }}{# y #}{% z %}"
    html = maps.compliance_map(parcels, verdicts, zones, inline=True).get_root().render()
    assert "</script><b>" not in html
    data = payload_of(html)
    assert "</script><b>{{ x }}{# y #}{% z %}" in data["verdicts"]["strs"]


def test_tianditu_only_with_a_key(fixture, monkeypatch):
    parcels = fixture[0]
    monkeypatch.delenv("MUJUN_TIANDITU_KEY", raising=False)
    html = maps.compliance_map(parcels).get_root().render()
    assert "tianditu" not in html
    with pytest.raises(ValueError, match="MUJUN_TIANDITU_KEY"):
        maps.compliance_map(parcels, basemap="tianditu")
    monkeypatch.setenv("MUJUN_TIANDITU_KEY", "abc123")
    html = maps.compliance_map(parcels, basemap="tianditu").get_root().render()
    assert "tk=abc123" in html
    assert offline_violations(html, maps.tile_url_templates()) == []
    active = [b["label"] for b in payload_of(html)["basemaps"] if b["active"]]
    assert active == ["天地图"]


def test_gaode_shifts_display_geometry_to_gcj02(fixture):
    parcels = fixture[0]
    wgs = payload_of(maps.compliance_map(parcels).get_root().render())["bounds"]
    gcj = payload_of(maps.compliance_map(parcels, basemap="gaode").get_root().render())
    lon, lat = md.wgs84_to_gcj02(np.array([wgs[0][1]]), np.array([wgs[0][0]]))
    assert gcj["bounds"][0][1] == pytest.approx(lon[0], abs=1e-7)
    assert gcj["bounds"][0][0] == pytest.approx(lat[0], abs=1e-7)
    assert [b["label"] for b in gcj["basemaps"]] == ["无底图（离线）", "高德地图（GCJ-02）"]
    assert "GCJ-02" in gcj["note"]


def test_unknown_basemap_and_missing_crs_are_refused(fixture):
    parcels = fixture[0]
    with pytest.raises(ValueError, match="未知底图"):
        maps.compliance_map(parcels, basemap="google")
    with pytest.raises(ValueError, match="没有坐标系"):
        maps.compliance_map(parcels.set_crs(None, allow_override=True))


def _write_geojson_result(path: Path, parcels, verdicts, aggregates) -> None:
    wgs = parcels.to_crs(4326)
    feats = []
    for pid, geom, status in zip(wgs["parcel_id"], wgs.geometry, wgs["status"], strict=True):
        vs = verdicts[verdicts["subject_id"] == pid].drop(columns=["subject_id", "level"])
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "parcel_id": pid,
                    "status": status,
                    "area_mu": 15.0,
                    "verdicts": json.loads(vs.to_json(orient="records")),
                },
            }
        )
    doc = {
        "type": "FeatureCollection",
        "features": feats,
        "ruleset": {"id": "chengdu-2023"},
        "as_of": "2025-06-30",
        "aggregates": json.loads(aggregates.to_json(orient="records")),
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_read_result_layers_geojson(fixture, tmp_path):
    parcels, verdicts, _, aggregates = fixture
    _write_geojson_result(tmp_path / "r.geojson", parcels, verdicts, aggregates)
    got = maps.read_result_layers(tmp_path / "r.geojson")
    assert got.parcels.crs.to_epsg() == 4544
    assert got.parcels["parcel_id"].tolist() == ["P1", "P2", "P3", "P4", "P5"]
    np.testing.assert_allclose(got.parcels.area.iloc[:4], 10000, rtol=1e-6)
    assert len(got.verdicts) == 10
    assert got.verdicts["subject_id"].tolist()[:3] == ["P1", "P1", "P1"]
    assert got.aggregates["key"].tolist() == ["PK1"]
    assert got.meta["as_of"] == "2025-06-30"


def test_read_result_layers_gpkg(fixture, tmp_path):
    import pyogrio

    parcels, verdicts, zones, aggregates = fixture
    path = tmp_path / "r.gpkg"
    pyogrio.write_dataframe(parcels, path, layer="parcels")
    v = verdicts.assign(threshold=verdicts["threshold"].map(lambda t: json.dumps(t) if t else None))
    pyogrio.write_dataframe(v, path, layer="verdicts", append=True)
    pyogrio.write_dataframe(
        pd.DataFrame([{"ruleset_id": "chengdu-2023", "as_of": "2025-06-30"}]), path, layer="run", append=True
    )
    pyogrio.write_dataframe(zones["red_line"], path, layer="zone_red_line", append=True)
    got = maps.read_result_layers(path)
    assert got.parcels["st_far_bounds"].tolist()[0] == "fail"
    assert len(got.verdicts) == 10
    assert list(got.zones) == ["red_line"]
    assert got.meta["ruleset_id"] == "chengdu-2023"
    # JSON thresholds from the table are formatted like dicts
    enc = md.encode_verdicts(got.parcels["parcel_id"], got.verdicts)
    assert enc["strs"][enc["t"][0]] == "2–4"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.gpkg", None, "结果文件不存在"),
        ("r.csv", "a,b\n", "不支持的结果格式"),
        ("r.geojson", "{not json", "不是有效的 GeoJSON"),
        ("r.geojson", '{"type": "FeatureCollection"}', "缺少 features"),
    ],
)
def test_read_result_layers_errors_are_specific(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match=match) as info:
        maps.read_result_layers(path)
    assert info.value.path == str(path)


def test_gpkg_without_parcels_layer_names_its_layers(fixture, tmp_path):
    path = tmp_path / "z.gpkg"
    fixture[2]["red_line"].to_file(path, layer="red_line")
    with pytest.raises(InputFileError, match="缺少 parcels 图层.*red_line"):
        maps.read_result_layers(path)


def test_static_png_has_status_colours_and_cjk_font(fixture, tmp_path):
    import matplotlib.image as mpimg

    parcels, verdicts, zones, _ = fixture
    path = maps.static_map_png(tmp_path / "map.png", parcels, verdicts, zones, dpi=80)
    img = mpimg.imread(path)[..., :3]
    assert img.shape[0] > 300 and img.shape[1] > 300

    def has(hex_colour: str, alpha: float = 1.0) -> bool:
        rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        return bool((np.abs(img - rgb).max(axis=2) < 0.03).any())

    # fail (P1), warn (P3), missing_data (P4) and pass (P2, P5) fills are all drawn
    assert all(has(md.STATUS_COLORS[s]) for s in ("fail", "warn", "missing_data", "pass"))
    assert "Noto Sans CJK SC" in maps._cjk_font()
    with pytest.raises(ValueError, match="未知规则类别"):
        maps.static_map_png(tmp_path / "x.png", parcels, verdicts, family="nope")
    ARTIFACTS.mkdir(exist_ok=True)
    maps.static_map_png(ARTIFACTS / "static_map.png", parcels, verdicts, zones, family="far")


def test_cli_map_and_zones_propose_on_real_files(fixture, tmp_path):
    import pyogrio
    from typer.testing import CliRunner

    from api.cli import _load_commands, app

    _load_commands()
    parcels, verdicts, zones, _ = fixture
    result = tmp_path / "r.gpkg"
    pyogrio.write_dataframe(parcels, result, layer="parcels")
    v = verdicts.assign(threshold=verdicts["threshold"].map(lambda t: json.dumps(t) if t else None))
    pyogrio.write_dataframe(v, result, layer="verdicts", append=True)
    runner = CliRunner()
    res = runner.invoke(
        app, ["map", str(result), "--out", str(tmp_path / "m.html"), "--png", str(tmp_path / "m.png")]
    )
    assert res.exit_code == 0, res.output
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert offline_violations(html, maps.tile_url_templates()) == []
    assert payload_of(html)["parcels"]["ids"] == ["P1", "P2", "P3", "P4", "P5"]
    assert (tmp_path / "m.png").stat().st_size > 10_000
    res = runner.invoke(app, ["map", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "x.html")])
    assert res.exit_code == 2 and "结果文件不存在" in res.output
    if not (DATA_DIR / "parcels.gpkg").exists():
        pytest.skip("sample data not generated")
    out = tmp_path / "proposal.gpkg"
    res = runner.invoke(
        app,
        [
            "zones",
            "propose",
            "-p",
            str(DATA_DIR / "parcels.gpkg"),
            "-z",
            str(DATA_DIR / "zones.gpkg"),
            "-o",
            str(out),
            "--map",
            str(tmp_path / "z.html"),
        ],
    )
    assert res.exit_code == 0, res.output
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {
        "red_line",
        "blue_line",
        "proposal_parcels",
        "proposed_not_protected",
        "protected_not_industrial",
    } <= layers
    red = gpd.read_file(out, layer="red_line")
    assert red["zone_id"].is_unique and (red["parcel_count"] > 0).all()
    html = (tmp_path / "z.html").read_text(encoding="utf-8")
    assert offline_violations(html, maps.tile_url_templates()) == []
