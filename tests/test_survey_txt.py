"""界址点坐标 text files (勘测定界 / 部备案 format): the hand-made files of tests/data/survey/ read, written back and
taken wherever parcels are taken (the CLI, the API upload).

The fixtures lie in CGCS2000 3° zone 35 (CM 105°E). EPSG:4523 (zone-prefixed) and EPSG:4544 (the working CRS) are
the same projection with false eastings 35 500 000 and 500 000, so a prefixed easting Y = 35 400 000 is
x = 400 000 in the working CRS: the reader takes the prefix off, nothing is reprojected, and areas and coordinates
below are worked out by hand from the files.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity

from gis.errors import CrsError, InputFileError, ValidationError
from gis.io import read_layer, read_parcels, read_table
from gis.survey_txt import is_survey_txt, write_survey_txt

SURVEY = Path(__file__).parent / "data" / "survey"


def _by_id(gdf: gpd.GeoDataFrame) -> dict[str, object]:
    return dict(zip(gdf["parcel_id"], gdf.geometry, strict=True))


def test_several_parcels_a_hole_and_a_multipart_parcel():
    parcels, report = read_parcels(SURVEY / "parcels.txt")
    assert parcels.crs.to_epsg() == 4544
    assert parcels["parcel_id"].tolist() == ["CD-001", "CD-002", "CD-003", "CD-004"]
    geoms = _by_id(parcels)
    # CD-001: a 100 m × 100 m square = 10 000 m² (header 1.0000 公顷).
    # CD-002: 200 × 100 = 20 000 m² with a 50 × 40 = 2 000 m² hole (圈号 2, inside 圈号 1) → 18 000 m².
    # CD-003: two 60 × 50 = 3 000 m² parts (圈号 1 and 2, side by side) → 6 000 m².
    # CD-004: a right trapezoid, parallel sides 60 m and 120 m, 100 m apart: (60 + 120) / 2 × 100 = 9 000 m².
    assert [geoms[i].area for i in ("CD-001", "CD-002", "CD-003", "CD-004")] == pytest.approx(
        [10000.0, 18000.0, 6000.0, 9000.0], abs=1e-4)
    hole = shapely.get_parts(geoms["CD-002"])
    assert len(hole) == 1 and shapely.get_num_interior_rings(hole[0]) == 1
    hole_ring = shapely.get_parts(geoms["CD-002"])[0].interiors[0]
    assert hole_ring.bounds == pytest.approx((400250.0, 3390030.0, 400300.0, 3390070.0), abs=1e-6)
    assert len(shapely.get_parts(geoms["CD-003"])) == 2
    # X is the northing, Y the prefixed easting: J1 of CD-001 (X 3390100, Y 35400000) is (400000, 3390100)
    assert geoms["CD-001"].bounds == pytest.approx((400000.0, 3390000.0, 400100.0, 3390100.0), abs=1e-6)
    assert parcels["land_use"].tolist() == ["100101", "100102", "0601", "1101"]
    assert parcels["地块名称"].tolist() == ["一号地块", "二号地块（有洞）", "三号地块（两块）", "四号地块（梯形）"]
    assert parcels["图幅号"].tolist()[:2] == ["H48G001001", "H48G001001"]
    # every header area matches its coordinates: no area warning; zone 35 is the working CRS: nothing reprojected
    texts = [i.message for i in report.warnings]
    assert not any("面积" in t and "相差" in t for t in texts)
    assert not any("重投影" in t for t in texts)


def test_gbk_file_without_prefix_is_read_in_the_zone_it_names():
    raw = (SURVEY / "gbk.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is GBK
    parcels, report = read_parcels(SURVEY / "gbk.txt")
    # 带号=35 and eastings without the prefix (393 000) → EPSG:4544 itself, nothing reprojected
    assert not any("重投影" in i.message for i in report.warnings)
    row = parcels.iloc[0]
    assert row["parcel_id"] == "郫都-07" and row["地块名称"] == "郫都区德源镇工业地块"
    assert row["land_use"] == "100102" and row["地块用途"] == "二类工业用地"
    # 100 m (393 000 → 393 100) × 60 m (3 395 020 → 3 395 080) = 6 000 m² = 0.6 公顷 as the header says
    assert row.geometry.area == pytest.approx(6000.0)
    assert row.geometry.bounds == pytest.approx((393000.0, 3395020.0, 393100.0, 3395080.0), abs=1e-6)


def test_a_header_area_off_by_more_than_one_percent_is_a_warning_naming_the_parcel():
    parcels, report = read_parcels(SURVEY / "wrong_area.txt")
    assert len(parcels) == 2  # a warning, not an error
    area = [i for i in report.warnings if "相差超过 1%" in i.message]
    # both squares are 100 × 100 m = 1.0000 公顷: WA-001 says 1.0200 (2 % off), WA-002 says 1.0050 (0.5 %)
    assert len(area) == 1 and len(area[0].ids) == 1
    assert area[0].ids[0].startswith("WA-001") and "1.0200" in area[0].ids[0] and "1.0000" in area[0].ids[0]


def test_missing_zone_number_is_inferred_from_the_prefix_or_refused():
    parcels, report = read_parcels(SURVEY / "no_zone.txt")
    assert any("推定为 35 带" in i.message for i in report.warnings)
    assert parcels.geometry.iloc[0].bounds == pytest.approx((400000.0, 3390000.0, 400100.0, 3390100.0), abs=1e-6)
    with pytest.raises(CrsError) as err:
        read_parcels(SURVEY / "no_zone_no_prefix.txt")
    assert err.value.path == "no_zone_no_prefix.txt"
    assert "带号" in err.value.message and "带号=35" in err.value.hint


def test_malformed_lines_are_named_by_line_number_and_nothing_is_read():
    with pytest.raises(ValidationError) as err:
        read_parcels(SURVEY / "malformed.txt")
    found = {p.message.split(" (")[0]: p.ids for p in err.value.problems}
    # line 8 has X "abc", line 9 only three fields, line 10 圈号 "x" (counted from the file's first line)
    assert found["X 或 Y 坐标不是数字"] == ["第 8 行“J2,1,abc,35400100.000”"]
    assert found["界址点行应有 4 项：点号,圈号,X,Y"] == ["第 9 行“J3,1,3390000.000”"]
    assert found["圈号不是正整数"] == ["第 10 行“J4,x,3390000.000,35400000.000”"]


def test_point_count_zone_and_swapped_axes_are_checked(tmp_path):
    text = (SURVEY / "parcels.txt").read_text(encoding="utf-8")
    wrong_count = tmp_path / "count.txt"
    wrong_count.write_text(text.replace("5,1.0000,CD-001", "6,1.0000,CD-001"), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        read_parcels(wrong_count)
    assert err.value.ids == ["第 13 行 地块 CD-001：写 6 个，实有 5 个"]
    # a count without the closing point (4 corners + the repeated J1 = 5 lines, 4 points) is accepted
    without_closing = tmp_path / "four.txt"
    without_closing.write_text(text.replace("5,1.0000,CD-001", "4,1.0000,CD-001"), encoding="utf-8")
    assert read_parcels(without_closing)[0]["parcel_id"].iloc[0] == "CD-001"
    line = tmp_path / "line.txt"
    line.write_text(text.replace("CD-001,一号地块,面,", "CD-001,一号地块,线,"), encoding="utf-8")
    with pytest.raises(ValidationError, match="记录图形属性不是“面”") as err:
        read_parcels(line)
    assert err.value.ids == ["第 13 行“5,1.0000,CD-001,一号地块,线,H48G001001,工业用地,100101,@”"]
    only_headers = tmp_path / "headers.txt"
    only_headers.write_text(text.split("J1,1")[0], encoding="utf-8")
    with pytest.raises(ValidationError, match="没有界址点"):
        read_parcels(only_headers)
    other_zone = tmp_path / "zone.txt"
    other_zone.write_text(text.replace("带号=35", "带号=36"), encoding="utf-8")
    with pytest.raises(CrsError, match="带号 36 与坐标的带号前缀 35 不符"):
        read_parcels(other_zone)
    swapped = tmp_path / "swapped.txt"
    lines = [",".join([*ln.split(",")[:2], ln.split(",")[3], ln.split(",")[2]]) if ln.startswith("J") else ln
             for ln in text.splitlines()]
    swapped.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(CrsError, match="X、Y 坐标颠倒"):
        read_parcels(swapped)


def test_round_trip_keeps_geometries_and_ids(tmp_path):
    parcels, _ = read_parcels(SURVEY / "parcels.txt")
    out = write_survey_txt(parcels, tmp_path / "out.txt")
    text = out.read_bytes().decode("gbk")  # GBK, as the ministry's system reads it
    lines = text.splitlines()
    assert lines[0] == "[属性描述]" and "带号=35" in lines and "[地块坐标]" in lines
    # CD-002: 10 point lines (outer ring 4 + closing, hole 4 + closing), 1.8000 公顷, the hole as 圈号 2 whose
    # closing point repeats its first point J5; X (northing) before Y (prefixed easting), 3 decimals
    at = lines.index("10,1.8000,CD-002,二号地块（有洞）,面,H48G001001,工业用地,100102,@")
    assert lines[at + 1] == "J1,1,3390100.000,35400200.000" and lines[at + 5] == lines[at + 1]
    assert lines[at + 6].startswith("J5,2,") and lines[at + 10] == lines[at + 6]
    again, _ = read_parcels(out)
    assert again["parcel_id"].tolist() == parcels["parcel_id"].tolist()
    for a, b in zip(parcels.geometry, again.geometry, strict=True):
        assert shapely.hausdorff_distance(a, b) < 0.001 and abs(a.area - b.area) < 0.01


def test_round_trip_of_irregular_parcels_in_another_zone(tmp_path):
    """Off-grid coordinates near 117°E: the writer picks zone 39 (CM 117°E) and 1 mm survives."""
    from gis.crs import cgcs2000_gk_epsg

    zone39 = cgcs2000_gk_epsg(39, prefixed=True)  # EPSG:4527, CM 117°E, x prefixed with 39
    rng = np.random.default_rng(7)
    centre = gpd.GeoSeries.from_xy([117.02], [31.80], crs="EPSG:4490").to_crs(zone39).iloc[0]
    shapes = [shapely.Point(centre.x + dx, centre.y + dy).buffer(r, 5)
              for dx, dy, r in zip(rng.uniform(-900, 900, 3), rng.uniform(-900, 900, 3), (40.3, 55.7, 61.1),
                                   strict=True)]
    with_hole = shapes[2].difference(shapes[2].centroid.buffer(12.345, 3))
    two_parts = shapely.MultiPolygon([shapes[1], shapely.affinity.translate(shapes[1], 300.0, 0.0)])
    gdf = gpd.GeoDataFrame({"parcel_id": ["a1", "a2", "a3"], "land_use": ["1001", None, "0601"]},
                           geometry=[shapes[0], two_parts, with_hole],
                           crs=zone39).to_crs("EPSG:4544")
    out = write_survey_txt(gdf, tmp_path / "z39.txt", encoding="utf-8")
    assert "带号=39" in out.read_text(encoding="utf-8").splitlines()
    back = read_layer(out)
    assert back.crs.to_epsg() == 4544 and back["parcel_id"].tolist() == ["a1", "a2", "a3"]
    for a, b in zip(gdf.geometry, back.geometry, strict=True):
        assert shapely.hausdorff_distance(a, b) < 0.001


def test_a_table_txt_stays_a_table_and_a_survey_txt_is_no_table(tmp_path):
    table = tmp_path / "enterprises.txt"
    table.write_text("enterprise_id\trevenue_10k\ttax_10k\nE1\t100\t5\n", encoding="utf-8")
    assert not is_survey_txt(table) and is_survey_txt(SURVEY / "gbk.txt")
    ent, _ = read_table(table, "enterprises")
    assert ent["enterprise_id"].tolist() == ["E1"]
    with pytest.raises(InputFileError, match="界址点坐标文件"):
        read_table(SURVEY / "parcels.txt", "enterprises")
    with pytest.raises(InputFileError, match="不是界址点坐标文件"):
        read_parcels(table)


def test_cli_evaluates_a_survey_file_and_writes_one(tmp_path):
    from typer.testing import CliRunner

    from api.cli import _load_commands, app

    if not app.registered_commands:
        _load_commands()
    out = tmp_path / "back.txt"
    res = CliRunner().invoke(app, ["evaluate", "--parcels", str(SURVEY / "parcels.txt"), "--out", str(out),
                                   "--out", str(tmp_path / "r.json"), "--as-of", "2025-06-30", "-q"])
    assert res.exit_code == 0, res.output
    back, _ = read_parcels(out)
    assert sorted(_by_id(back)) == ["CD-001", "CD-002", "CD-003", "CD-004"]
    assert _by_id(back)["CD-002"].area == pytest.approx(18000.0)
    # a result has no 地块名称: empty; 地块用途 is the class name of the code (100101 一类工业用地)
    assert "5,1.0000,CD-001,,面,,一类工业用地,100101,@" in out.read_bytes().decode("gbk").splitlines()
    bad = CliRunner().invoke(app, ["evaluate", "--parcels", str(SURVEY / "malformed.txt"), "--out",
                                   str(tmp_path / "x.json"), "-q"])
    assert bad.exit_code == 2 and "第 8 行“J2,1,abc" in bad.output.replace("\n", "")  # the console wraps lines


def test_upload_of_a_survey_file_through_the_api(client):
    with (SURVEY / "gbk.txt").open("rb") as fh:
        up = client.post("/datasets", headers=client.as_role("analyst"), files={"parcels": ("郫都.txt", fh.read())})
    assert up.status_code in (200, 201), up.text
    ds = up.json()["id"]
    item = client.get(f"/collections/parcels/items/郫都-07?dataset={ds}", headers=client.as_role("viewer"))
    assert item.status_code == 200, item.text
    props = item.json()["properties"]
    assert props["land_use"] == "100102" and props["area_m2"] == pytest.approx(6000.0)  # 100 m × 60 m
    bad = client.post("/datasets", headers=client.as_role("analyst"),
                      files={"parcels": ("bad.txt", (SURVEY / "malformed.txt").read_bytes())})
    assert bad.status_code == 422 and "第 9 行" in bad.text


def _survey_text(parcels: dict[str, list[list[tuple[float, float]]]]) -> str:
    """A 界址点 file of local (x, y) rings (metres east/north of Y 35 400 000, X 3 390 000), each ring its own 圈号."""
    lines = ["[属性描述]", "坐标系=2000国家大地坐标系", "几度分带=3", "带号=35", "[地块坐标]"]
    for pid, rings in parcels.items():
        points = [f"J{k + 1},{r + 1},{3390000 + y:.3f},{35400000 + x:.3f}"
                  for r, ring in enumerate(rings) for k, (x, y) in enumerate([*ring, ring[0]])]
        lines += [f"{len(points)},,{pid},,面,,,1001,@", *points]
    return "\n".join(lines)


def test_containment_decides_holes_and_parts(tmp_path):
    square = lambda a, b: [(a, a), (b, a), (b, b), (a, b)]  # noqa: E731
    path = tmp_path / "nested.txt"
    path.write_text(_survey_text({
        # 圈号 1 a 300 m square, 2 a 100 m square inside it (a hole), 3 a 40 m square inside the hole (a part):
        # 300² − 100² + 40² = 90 000 − 10 000 + 1 600 = 81 600 m² in two parts
        "N": [square(0, 300), square(100, 200), square(130, 170)],
        # a triangular hole touching its outer ring at (0, 50): base 60 m at x = 50, height 50 m → 1 500 m²;
        # 100² − 1 500 = 8 500 m², one valid polygon (no repair)
        "T": [square(0, 100), [(0, 50), (50, 20), (50, 80)]],
    }), encoding="utf-8")
    parcels, report = read_parcels(path)
    geoms = _by_id(parcels)
    assert geoms["N"].area == pytest.approx(81600.0) and len(shapely.get_parts(geoms["N"])) == 2
    assert geoms["T"].area == pytest.approx(8500.0) and len(shapely.get_parts(geoms["T"])) == 1
    assert shapely.get_num_interior_rings(shapely.get_parts(geoms["T"])[0]) == 1
    assert not any("make_valid" in i.message for i in report.warnings)
