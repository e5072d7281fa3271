"""Red/blue-line proposal from parcels, parks and boundaries, and the comparison with existing lines."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from gis.errors import ValidationError
from gis.zone_proposal import compare_zones, propose_zones

X0, Y0 = 400000.0, 3380000.0
CRS = "EPSG:4544"


def b(x0: float, y0: float, x1: float, y1: float):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=CRS)


@pytest.fixture()
def scene():
    """Hand-built scene; every parcel is 100 m × 100 m = 15 亩 unless said otherwise.

    boundary 0–2000 × 0–1000; 规划集中建设区 0–1500 (so x > 1500 is 弹性建设区); park 0–300 × 0–300.
    A1, A2: in the park (gap 10 m)                          → red, one zone 10–220 × 10–110 = 31.5 亩
    B1–B4: a row at x = 500, 620, 740, 860 (gaps 20 m), 60 亩 → red block, zone 500–960 × 10–110 = 69 亩
    C: alone at (500, 500)                                   → blue (零散)
    D1, D2: at x = 800 and 940, y = 500 (gap 40 m > 30 m)     → blue, two zones
    E1–E4: a 2 × 2 group in the 弹性 strip (gaps 20 m), 60 亩   → blue, zone 1550–1770 × 10–230 = 72.6 亩
    F: outside the boundary                                  → no line
    G: in the park but not industrial                        → no line
    """
    parcels = layer(
        [
            b(10, 10, 110, 110),
            b(120, 10, 220, 110),
            b(500, 10, 600, 110),
            b(620, 10, 720, 110),
            b(740, 10, 840, 110),
            b(860, 10, 960, 110),
            b(500, 500, 600, 600),
            b(800, 500, 900, 600),
            b(940, 500, 1040, 600),
            b(1550, 10, 1650, 110),
            b(1670, 10, 1770, 110),
            b(1550, 130, 1650, 230),
            b(1670, 130, 1770, 230),
            b(2100, 10, 2200, 110),
            b(10, 150, 110, 250),
        ],
        parcel_id=["A1", "A2", "B1", "B2", "B3", "B4", "C", "D1", "D2", "E1", "E2", "E3", "E4", "F", "G"],
    )
    industrial = parcels["parcel_id"] != "G"
    parks = layer([b(0, 0, 300, 300)], park_id=["PK1"], name=["测试园区"])
    boundary = layer([b(0, 0, 2000, 1000)])
    planned = layer([b(0, 0, 1500, 1000)])
    return parcels, industrial, parks, boundary, planned


def test_red_and_blue_lines_follow_policy_section_4(scene):
    parcels, industrial, parks, boundary, planned = scene
    out = propose_zones(
        parcels, parks, boundary, planned, is_industrial=industrial, block_gap_m=30, block_min_mu=50
    )
    red, blue, summary = out["red_line"], out["blue_line"], out["parcels"]
    assert red.crs.to_epsg() == 4544
    # largest zone first: the B row (69 亩) is R001, the park pair (31.5 亩) R002
    assert red["zone_id"].tolist() == ["R001", "R002"]
    assert red["parcel_ids"].tolist() == ["B1,B2,B3,B4", "A1,A2"]
    assert red["parcel_count"].tolist() == [4, 2]
    np.testing.assert_allclose(red["area_mu"], [69.0, 31.5])
    np.testing.assert_allclose(red["parcels_mu"], [60.0, 30.0])
    assert blue["zone_id"].tolist()[0] == "B001"
    assert blue["parcel_ids"].iloc[0] == "E1,E2,E3,E4"
    np.testing.assert_allclose(blue["area_mu"].iloc[0], 72.6)
    assert sorted(blue["parcel_ids"].iloc[1:]) == ["C", "D1", "D2"]
    np.testing.assert_allclose(blue["area_mu"].iloc[1:], [15.0, 15.0, 15.0])
    assert list(red.columns[:6]) == ["zone_id", "name", "area_mu", "parcels_mu", "parcel_count", "parcel_ids"]
    assert red["name"].iloc[0] == "建议工业红线区 R001"
    by_id = summary.set_index("parcel_id")
    assert "G" not in by_id.index  # not industrial
    assert by_id.loc["F", "proposed"] == "" and "城镇开发边界外" in by_id.loc["F", "reason"]
    assert by_id.loc["A1", "reason"] == "现状工业园区内"
    assert by_id.loc["B2", "block_mu"] == pytest.approx(60.0)
    assert by_id.loc["E1", "reason"] == "城镇弹性建设区内的工业用地"
    assert by_id.loc["D1", "zone_id"].startswith("B")


def test_block_parameters_change_the_result(scene):
    parcels, industrial, parks, boundary, planned = scene
    # gap 50 m joins D1 and D2 (40 m apart) into one 30 亩 block; min 70 亩 demotes the 60 亩 B row to blue
    out = propose_zones(
        parcels, parks, boundary, planned, is_industrial=industrial, block_gap_m=50, block_min_mu=70
    )
    assert out["red_line"]["parcel_ids"].tolist() == ["A1,A2"]
    assert "D1,D2" in out["blue_line"]["parcel_ids"].tolist()
    assert "B1,B2,B3,B4" in out["blue_line"]["parcel_ids"].tolist()


def test_without_planned_area_the_elastic_block_is_red(scene):
    parcels, industrial, parks, boundary, _ = scene
    out = propose_zones(parcels, parks, boundary, None, is_industrial=industrial)
    assert "E1,E2,E3,E4" in out["red_line"]["parcel_ids"].tolist()


def test_bad_inputs_are_refused(scene):
    parcels, industrial, parks, boundary, planned = scene
    with pytest.raises(ValidationError, match="城镇开发边界"):
        propose_zones(parcels, parks, None, is_industrial=industrial)
    with pytest.raises(ValidationError, match="is_industrial"):
        propose_zones(parcels, parks, boundary, is_industrial=industrial[:3])


def test_compare_with_existing_lines(scene):
    parcels, industrial, parks, boundary, planned = scene
    proposed = propose_zones(parcels, parks, boundary, planned, is_industrial=industrial)
    existing = {
        "red_line": layer([b(0, 0, 230, 120)], zone_id=["R-old"], name=["现状红线"]),  # covers A1, A2
        "blue_line": layer([b(0, 140, 120, 260)], zone_id=["B-old"], name=["现状蓝线"]),  # covers G
    }
    diff = compare_zones(proposed, existing, parcels, industrial)
    npp = diff["proposed_not_protected"]
    # every proposed zone except the park pair lies outside the old lines: 69 + 72.6 + 3 × 15 = 186.6 亩
    assert len(npp) == 5
    assert npp["area_mu"].sum() == pytest.approx(186.6)
    assert set(",".join(npp["parcel_ids"]).split(",")) == {
        "B1",
        "B2",
        "B3",
        "B4",
        "C",
        "D1",
        "D2",
        "E1",
        "E2",
        "E3",
        "E4",
    }
    pni = diff["protected_not_industrial"]
    assert pni["parcel_id"].tolist() == ["G"]
    assert pni["existing_zone"].tolist() == ["blue_line:B-old"]
    assert pni["area_mu"].tolist() == [15.0]
