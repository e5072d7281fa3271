"""gis.crs: reprojection to EPSG:4544 and refusal of coordinates that contradict their CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from gis.crs import WORKING_CRS, cgcs2000_gk_epsg, check_coordinates, to_working_crs
from gis.errors import CrsError, GisError

# 天府广场 104.066°E 30.657°N. Expected EPSG:4544 (GK, CM 105°E, false easting 500 000) by hand:
#   Δλ = 104.066 − 105 = −0.934° = −0.016301 rad, φ = 30.657°
#   N ≈ meridian arc M(φ) + ν·tanφ·(Δλ·cosφ)²/2
#     M ≈ 111132.95·φ° − 16038.5·sin 2φ + 16.8·sin 4φ ≈ 3 406 999 − 14 069 + 14 = 3 392 944
#     ν ≈ 6 382 000 m, tanφ = 0.5928, Δλ·cosφ = 0.014022 → +372 m → N ≈ 3 393 316
#   E ≈ 500 000 + ν·cosφ·Δλ·(1 + …) ≈ 500 000 − 89 490 + higher-order ≈ 410 480
# (policy.md quotes N 3 383 928, which is ~9.4 km south of this: that figure is wrong, the series is not.)
TIANFU_LONLAT = (104.066, 30.657)
TIANFU_4544 = (410_479.4, 3_393_319.2)


def _pt(x: float, y: float, crs: str | None, pid: str = "P1") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"parcel_id": [pid]}, geometry=[shapely.Point(x, y)], crs=crs)


def _box(x: float, y: float, crs: str | None, size: float = 100.0, pid: str = "P1") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"parcel_id": [pid]}, geometry=[shapely.box(x, y, x + size, y + size)], crs=crs)


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4326"])
def test_tianfu_square_lands_within_metres(crs: str) -> None:
    notes: list = []
    out = to_working_crs(_pt(*TIANFU_LONLAT, crs), source="t.gpkg", notes=notes)
    assert out.crs.to_epsg() == 4544
    x, y = out.geometry.iloc[0].x, out.geometry.iloc[0].y
    # hand series above agrees to ~5 m; the full projection to the decimetre
    assert abs(x - 410_480) < 5 and abs(y - 3_393_316) < 5
    assert abs(x - TIANFU_4544[0]) < 0.5 and abs(y - TIANFU_4544[1]) < 0.5
    assert any("重投影" in m and crs in m for m, _ in notes)


def test_working_crs_input_is_untouched() -> None:
    g = _box(*TIANFU_4544, "EPSG:4544")
    notes: list = []
    out = to_working_crs(g, source="t.gpkg", notes=notes)
    assert out.geometry.iloc[0].equals(g.geometry.iloc[0])
    assert notes == []
    assert WORKING_CRS == "EPSG:4544"


def test_4523_labelled_right_is_reprojected_by_dropping_the_prefix() -> None:
    # EPSG:4523 is the same GK zone with 35 000 000 added to x: x − 35 000 000 must equal the EPSG:4544 x
    g = _box(35_000_000 + TIANFU_4544[0], TIANFU_4544[1], "EPSG:4523")
    out = to_working_crs(g, source="t.gpkg")
    minx, miny, maxx, maxy = out.total_bounds
    assert minx == pytest.approx(TIANFU_4544[0], abs=1e-3)
    assert miny == pytest.approx(TIANFU_4544[1], abs=1e-3)
    assert maxx - minx == pytest.approx(100.0, abs=1e-3)


def test_4523_trap_zone_prefixed_x_labelled_4544_names_4523() -> None:
    g = _box(35_000_000 + TIANFU_4544[0], TIANFU_4544[1], "EPSG:4544", pid="P007")
    with pytest.raises(CrsError) as ei:
        to_working_crs(g, source="parcels.gpkg", id_col="parcel_id")
    msg = str(ei.value)
    assert "EPSG:4523" in msg and "parcels.gpkg" in msg and "P007" in msg
    assert ei.value.ids == ["P007"]


def test_6_digit_x_labelled_4523_names_4544() -> None:
    with pytest.raises(CrsError, match="EPSG:4544"):
        to_working_crs(_box(*TIANFU_4544, "EPSG:4523"), source="t.gpkg")


def test_degrees_labelled_as_metres_names_4490() -> None:
    with pytest.raises(CrsError) as ei:
        to_working_crs(_pt(*TIANFU_LONLAT, "EPSG:4544", pid="A1"), source="p.shp", id_col="parcel_id")
    assert "EPSG:4490" in str(ei.value) and "A1" in str(ei.value) and "p.shp" in str(ei.value)


@pytest.mark.parametrize(
    ("x", "expected"),
    [(TIANFU_4544[0], "EPSG:4544"), (35_000_000 + TIANFU_4544[0], "EPSG:4523")],
)
def test_metres_labelled_as_degrees_names_projected_crs(x: float, expected: str) -> None:
    with pytest.raises(CrsError) as ei:
        to_working_crs(_pt(x, TIANFU_4544[1], "EPSG:4490"), source="p.geojson")
    assert expected in str(ei.value)


def test_swapped_lon_lat_is_refused() -> None:
    lon, lat = TIANFU_LONLAT
    with pytest.raises(CrsError) as ei:
        to_working_crs(_pt(lat, lon, "EPSG:4490", pid="S1"), source="p.gpkg", id_col="parcel_id")
    assert "swapped" in str(ei.value) and "颠倒" in str(ei.value) and "S1" in str(ei.value)


def test_no_crs_refused_unless_named() -> None:
    g = _box(*TIANFU_4544, None)
    with pytest.raises(CrsError) as ei:
        to_working_crs(g, source="nocrs.fgb")
    assert "nocrs.fgb" in str(ei.value) and "crs=" in str(ei.value)
    out = to_working_crs(g, source="nocrs.fgb", crs="EPSG:4544")
    assert out.crs.to_epsg() == 4544
    # naming a geographic CRS for degree coordinates works the same way
    out = to_working_crs(_pt(*TIANFU_LONLAT, None), source="x", crs=4490)
    assert abs(out.geometry.iloc[0].x - TIANFU_4544[0]) < 0.5


def test_given_crs_overrides_a_wrong_label_with_a_note() -> None:
    g = _box(35_000_000 + TIANFU_4544[0], TIANFU_4544[1], "EPSG:4544")
    notes: list = []
    out = to_working_crs(g, source="t.gpkg", crs="EPSG:4523", notes=notes)
    assert out.total_bounds[0] == pytest.approx(TIANFU_4544[0], abs=1e-3)
    assert any("EPSG:4523" in m for m, _ in notes)


def test_far_west_chengdu_zone_34_reprojects_without_error() -> None:
    # 大邑 west of 103.5°E lies in GK zone 34 (EPSG:4543 without prefix, EPSG:4522 with prefix)
    lon, lat = 103.3, 30.6
    x34, y34 = Transformer.from_crs("EPSG:4490", "EPSG:4543", always_xy=True).transform(lon, lat)
    direct = to_working_crs(_pt(lon, lat, "EPSG:4490"), source="w.gpkg").geometry.iloc[0]
    via_34 = to_working_crs(_pt(x34, y34, "EPSG:4543"), source="w.gpkg").geometry.iloc[0]
    via_34p = to_working_crs(_pt(x34 + 34_000_000, y34, "EPSG:4522"), source="w.gpkg").geometry.iloc[0]
    assert direct.distance(via_34) < 0.01 and direct.distance(via_34p) < 0.01
    # 1.7° west of CM 105°E: x ≈ 500 000 − 1.7·cos(30.6°)·111 km ≈ 337 600
    assert abs(direct.x - 337_600) < 1_500


def test_zone_34_prefixed_labelled_without_prefix_names_4522() -> None:
    with pytest.raises(CrsError, match="EPSG:4522"):
        to_working_crs(_box(34_337_600, 3_386_000, "EPSG:4543"), source="w.gpkg")


def test_outside_sichuan_is_a_warning_not_an_error() -> None:
    g = gpd.GeoDataFrame({"parcel_id": ["BJ", "CD"]},
                         geometry=[shapely.Point(116.4, 39.9), shapely.Point(*TIANFU_LONLAT)],
                         crs="EPSG:4490")
    notes: list = []
    out = to_working_crs(g, source="p.gpkg", id_col="parcel_id", notes=notes)
    assert len(out) == 2
    sichuan = [(m, ids) for m, ids in notes if "四川" in m]
    assert sichuan and sichuan[0][1] == ["BJ"]


def test_only_offending_features_are_named_and_mixed_problems_combined() -> None:
    g = gpd.GeoDataFrame(
        {"parcel_id": ["OK1", "DEG", "OK2"]},
        geometry=[shapely.Point(*TIANFU_4544), shapely.Point(*TIANFU_LONLAT),
                  shapely.Point(400_000, 3_390_000)],
        crs="EPSG:4544")
    problems = check_coordinates(g, source="p.gpkg", id_col="parcel_id")
    assert len(problems) == 1 and problems[0].ids == ["DEG"]
    assert isinstance(problems[0], GisError)


def test_gk_epsg_table() -> None:
    assert cgcs2000_gk_epsg(35, prefixed=True) == 4523
    assert cgcs2000_gk_epsg(35, prefixed=False) == 4544
    assert cgcs2000_gk_epsg(34, prefixed=True) == 4522
    assert cgcs2000_gk_epsg(34, prefixed=False) == 4543
    assert cgcs2000_gk_epsg(60, prefixed=True) is None


def test_many_features_vectorised_and_ids_capped_in_message() -> None:
    n = 25
    xs = np.full(n, 35_000_000 + TIANFU_4544[0])
    g = gpd.GeoDataFrame({"parcel_id": [f"Q{i:02d}" for i in range(n)]},
                         geometry=shapely.points(xs, np.full(n, TIANFU_4544[1])), crs="EPSG:4544")
    with pytest.raises(CrsError) as ei:
        to_working_crs(g, source="p.gpkg", id_col="parcel_id")
    assert len(ei.value.ids) == 25
    assert "Q19" in str(ei.value) and "Q20" not in str(ei.value) and "共 25 个" in str(ei.value)


def test_given_crs_does_not_spoil_a_correctly_labelled_layer() -> None:
    # one --crs for several files: a layer labelled EPSG:4490 with degree coordinates keeps its own label
    notes: list = []
    out = to_working_crs(_pt(*TIANFU_LONLAT, "EPSG:4490"), source="z.gpkg", crs="EPSG:4544", notes=notes)
    assert abs(out.geometry.iloc[0].x - TIANFU_4544[0]) < 0.5
    # and a wrong label with a named CRS that does not fit either is still refused, naming the likely CRS
    g = _box(35_000_000 + TIANFU_4544[0], TIANFU_4544[1], "EPSG:4544")
    with pytest.raises(CrsError, match="EPSG:4523"):
        to_working_crs(g, source="t.gpkg", crs="EPSG:4490")


def test_zone_34_prefix_labelled_as_zone_35_names_4522() -> None:
    with pytest.raises(CrsError, match="EPSG:4522"):
        to_working_crs(_box(34_337_600, 3_386_000, "EPSG:4523", pid="W1"), source="w.gpkg")
