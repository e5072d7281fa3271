"""gis.io: every input format, normalised dtypes, every refusal, zones, all-or-nothing load_inputs."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from gis import _validate
from gis.errors import CrsError, GisError, InputFileError, ValidationError
from gis.io import (
    PARCEL_COLUMNS,
    Inputs,
    LoadReport,
    load_inputs,
    read_layer,
    read_parcels,
    read_table,
    read_zones,
    write_layer,
)

DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"

# Near 天府广场 in EPSG:4544 (see test_crs.py for the hand computation)
X0, Y0 = 410_000.0, 3_393_000.0
MU = 10000 / 15  # m² per 亩


def _parcels() -> gpd.GeoDataFrame:
    """Three hand-built parcels. Areas by hand:
    001: 100 m × 50 m = 5 000 m² = 7.5 亩; P002: 100 m × 100 m = 10 000 m² = 15 亩;
    0003: two 20 m × 30 m pieces = 1 200 m² = 1.8 亩.
    """
    return gpd.GeoDataFrame(
        {
            "parcel_id": ["001", "P002", "0003"],
            "land_use": ["100101", "M1", "0601"],
            "floor_area_m2": [10_000.0, 25_000.0, np.nan],
            "status": ["built", "在建", "空地"],
            "transfer_date": ["2020-05-01", "2024/03/01", None],
            "special_process": ["否", "是", None],
            "owner_note": ["甲", "乙", "丙"],
        },
        geometry=[
            shapely.box(X0, Y0, X0 + 100, Y0 + 50),
            shapely.box(X0 + 200, Y0, X0 + 300, Y0 + 100),
            shapely.MultiPolygon([shapely.box(X0, Y0 + 200, X0 + 20, Y0 + 230),
                                  shapely.box(X0 + 50, Y0 + 200, X0 + 70, Y0 + 230)]),
        ],
        crs="EPSG:4544",
    )


EXPECTED_AREA = {"001": 5000.0, "P002": 10000.0, "0003": 1200.0}


def _write_format(gdf: gpd.GeoDataFrame, tmp_path: Path, fmt: str) -> Path:
    """Write ``gdf`` the way a user's file would arrive in format ``fmt``."""
    if fmt == "zip":
        shp_dir = tmp_path / "export" / "宗地"
        shp_dir.mkdir(parents=True)
        write_layer(gdf, shp_dir / "parcels.shp")
        out = tmp_path / "parcels.zip"
        with zipfile.ZipFile(out, "w") as zf:
            for f in shp_dir.iterdir():
                zf.write(f, f"export/宗地/{f.name}")  # a subfolder, as zipped by Windows Explorer
        return out
    path = tmp_path / f"parcels.{fmt}"
    write_layer(gdf, path, layer="parcels")
    return path


FORMATS = ["gpkg", "geojson", "shp", "zip", "fgb", "parquet"]


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
@pytest.mark.parametrize("fmt", FORMATS)
def test_read_parcels_every_format(tmp_path: Path, fmt: str) -> None:
    path = _write_format(_parcels(), tmp_path, fmt)
    gdf, report = read_parcels(path)
    gdf = gdf.set_index("parcel_id", drop=False)
    assert sorted(gdf.index) == ["0003", "001", "P002"]  # leading zeros kept
    assert gdf.crs.to_epsg() == 4544
    assert set(gdf.geom_type) == {"MultiPolygon"}
    for pid, area in EXPECTED_AREA.items():
        assert gdf.loc[pid, "geometry"].area == pytest.approx(area, abs=1e-6)
    assert gdf.loc["001", "geometry"].area / MU == pytest.approx(7.5)
    assert gdf.loc["P002", "land_use"] == "M1" and gdf.loc["001", "land_use"] == "100101"
    assert gdf["land_use"].dtype != float and gdf["parcel_id"].dtype != float
    assert gdf["floor_area_m2"].dtype == np.float64
    assert gdf.loc["P002", "floor_area_m2"] == 25_000.0 and pd.isna(gdf.loc["0003", "floor_area_m2"])
    assert gdf["transfer_date"].dtype == "datetime64[ns]"
    assert gdf.loc["P002", "transfer_date"] == pd.Timestamp("2024-03-01")
    assert pd.isna(gdf.loc["0003", "transfer_date"])
    assert str(gdf["special_process"].dtype) == "boolean"
    assert gdf.loc["P002", "special_process"] is True or bool(gdf.loc["P002", "special_process"]) is True
    assert list(gdf["status"].loc[["001", "P002", "0003"]]) == ["built", "under_construction", "vacant"]
    # every contract column present, absent ones all-NA of the right dtype and listed
    assert set(PARCEL_COLUMNS) <= set(gdf.columns)
    assert "retainable" in gdf.attrs["missing_columns"] and "land_use" not in gdf.attrs["missing_columns"]
    assert str(gdf["retainable"].dtype) == "boolean" and gdf["retainable"].isna().all()
    assert gdf["halted_since"].dtype == "datetime64[ns]" and gdf["invested_10k"].dtype == np.float64
    assert "owner_note" in gdf.columns  # extra columns kept
    assert not report.errors


def test_geojson_in_wgs84_is_reprojected(tmp_path: Path) -> None:
    path = tmp_path / "parcels.geojson"
    write_layer(_parcels().to_crs("EPSG:4326"), path)
    gdf, report = read_parcels(path)
    areas = dict(zip(gdf["parcel_id"], gdf.area, strict=True))
    for pid, area in EXPECTED_AREA.items():
        assert areas[pid] == pytest.approx(area, rel=1e-6)
    assert any("重投影" in i.message for i in report.warnings)


def test_numeric_ids_never_become_floats(tmp_path: Path) -> None:
    g = _parcels()
    g["parcel_id"] = [1, 2, 3]
    g["land_use"] = [100101.0, 1001.0, 601.0]  # a careless export typed the codes as numbers
    path = tmp_path / "p.gpkg"
    write_layer(g, path)
    gdf, _ = read_parcels(path)
    assert gdf["parcel_id"].tolist() == ["1", "2", "3"]
    assert gdf["land_use"].tolist() == ["100101", "1001", "601"]


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_gbk_shapefile_without_cpg_reads_chinese(tmp_path: Path) -> None:
    g = _parcels()
    pyogrio.write_dataframe(g, tmp_path / "p.shp", encoding="GBK")
    (tmp_path / "p.cpg").unlink(missing_ok=True)
    assert "甲".encode("gbk") in (tmp_path / "p.dbf").read_bytes()
    gdf, _ = read_parcels(tmp_path / "p.shp")
    assert sorted(gdf["owner_note"]) == ["丙", "乙", "甲"]


# --- parcel refusals --------------------------------------------------------------------------------


def _refused(tmp_path: Path, g: gpd.GeoDataFrame, name: str = "bad.gpkg", **kw) -> GisError:
    path = tmp_path / name
    write_layer(g, path)
    with pytest.raises(GisError) as ei:
        read_parcels(path, **kw)
    assert name in str(ei.value)
    return ei.value


def test_null_and_empty_geometries_refused(tmp_path: Path) -> None:
    g = _parcels()
    g.loc[1, "geometry"] = None
    g.loc[2, "geometry"] = shapely.Polygon()
    err = _refused(tmp_path, g)
    assert isinstance(err, ValidationError)
    assert err.ids == ["P002", "0003"] and "没有几何" in str(err)


def test_missing_parcel_id_column_refused(tmp_path: Path) -> None:
    err = _refused(tmp_path, _parcels().rename(columns={"parcel_id": "地块名"}))
    assert "parcel_id" in str(err) and "地块名" in str(err)  # says what is missing, lists what is there


def test_empty_and_duplicate_ids_refused_together(tmp_path: Path) -> None:
    g = pd.concat([_parcels(), _parcels()], ignore_index=True)
    g.loc[5, "parcel_id"] = "  "
    err = _refused(tmp_path, gpd.GeoDataFrame(g, crs="EPSG:4544"))
    text = str(err)
    assert len(err.problems) == 2
    assert "#6" in text  # the empty id is named by its feature number
    dup = next(p for p in err.problems if "重复" in p.message)
    assert dup.ids == ["001", "P002"]


def test_non_polygon_geometries_refused(tmp_path: Path) -> None:
    g = _parcels()
    g.loc[0, "geometry"] = shapely.Point(X0, Y0)
    g.loc[2, "geometry"] = shapely.LineString([(X0, Y0), (X0 + 5, Y0 + 5)])
    g = g.set_geometry(gpd.GeoSeries(g.geometry.to_numpy(), crs="EPSG:4544"))
    err = _refused(tmp_path, g, name="bad.geojson")
    assert err.ids == ["001", "0003"] and "Point" in str(err) and "LineString" in str(err)


@pytest.mark.parametrize(
    ("column", "values", "bad_ids", "needle"),
    [
        ("transfer_date", ["2024-13-45", "2024/03/01", "下个月"], ["001", "0003"], "transfer_date"),
        ("floor_area_m2", [-5.0, 100.0, 1.0], ["001"], "负数"),
        ("total_investment_10k", ["12a", "3", "-1"], ["001", "0003"], "total_investment_10k"),
        ("status", ["built", "demolished", "已建成"], ["P002"], "demolished"),
        ("delay_cause", ["none", "weather", "government"], ["P002"], "delay_cause"),
        ("retainable", ["是", "maybe", "0"], ["P002"], "retainable"),
    ],
)
def test_bad_values_refused_naming_ids(
    tmp_path: Path, column: str, values: list, bad_ids: list[str], needle: str
) -> None:
    g = _parcels()
    g[column] = values
    err = _refused(tmp_path, g)
    found = [p for p in (err.problems or [err]) if column in p.message]
    assert [i for p in found for i in p.ids] == bad_ids
    assert needle in str(err)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    g = _parcels()
    g["status"] = ["built", "ruin", "vacant"]
    g["transfer_date"] = ["2024-01-01", "2024-01-01", "someday"]
    g.loc[0, "geometry"] = None
    err = _refused(tmp_path, g)
    assert len(err.problems) == 3
    assert {tuple(p.ids) for p in err.problems} == {("P002",), ("0003",), ("001",)}


def test_more_than_20_ids_are_capped_with_a_count(tmp_path: Path) -> None:
    n = 25
    g = gpd.GeoDataFrame({"parcel_id": [f"D{i:02d}" for i in range(n)], "status": ["gone"] * n},
                         geometry=[shapely.box(X0 + i * 10, Y0, X0 + i * 10 + 5, Y0 + 5) for i in range(n)],
                         crs="EPSG:4544")
    err = _refused(tmp_path, g)
    assert len(err.ids) == 25 and "D19" in str(err) and "D20" not in str(err) and "共 25 个" in str(err)


def test_values_accepted_and_mapped(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame(
        {
            "parcel_id": list("ABCDEFGH"),
            "status": ["built", "under_construction", "vacant", "已建成", "在建", "空地", " Built ", None],
            "standard_land": ["true", "FALSE", "1", "0", "是", "否", "Y", ""],
            "retainable": ["yes", "no", "n", "y", None, "t", "f", "否"],
            "agreed_start_date": ["2024-03-01", "2024/03/01", "2024-3-1", "2024/3/1", "2024-03-01T00:00:00",
                                  "", None, "2023-12-31"],
            "delay_cause": ["none", "government", "force_majeure", "不可抗力", "政府原因", "无", None, ""],
            "invested_10k": ["1,234.5", "0", "", "7", None, "3.25", "1e3", "  12 "],
        },
        geometry=[shapely.box(X0 + i * 10, Y0, X0 + i * 10 + 5, Y0 + 5) for i in range(8)],
        crs="EPSG:4544",
    )
    path = tmp_path / "ok.gpkg"
    write_layer(g, path)
    gdf, _ = read_parcels(path)
    assert gdf["status"].tolist()[:7] == ["built", "under_construction", "vacant"] * 2 + ["built"]
    assert pd.isna(gdf["status"].iloc[7])
    assert gdf["standard_land"].tolist()[:7] == [True, False, True, False, True, False, True]
    assert pd.isna(gdf["standard_land"].iloc[7])
    assert gdf["retainable"].isna().sum() == 1
    assert (gdf["agreed_start_date"].iloc[:5] == pd.Timestamp("2024-03-01")).all()
    assert gdf["agreed_start_date"].iloc[5:7].isna().all()
    assert gdf["delay_cause"].tolist()[:6] == ["none", "government", "force_majeure", "force_majeure",
                                                "government", "none"]
    assert gdf["invested_10k"].tolist()[:2] == [1234.5, 0.0] and gdf["invested_10k"].iloc[6] == 1000.0
    assert gdf["invested_10k"].iloc[7] == 12.0


def test_bow_tie_repaired_and_reported(tmp_path: Path) -> None:
    g = _parcels()
    # bow-tie over a 100 m square: two triangles with base 100 m and height 50 m → 2 × 2 500 = 5 000 m²
    g.loc[0, "geometry"] = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    assert not g.geometry.iloc[0].is_valid
    path = tmp_path / "p.gpkg"
    write_layer(g, path)
    gdf, report = read_parcels(path)
    bow = gdf.set_index("parcel_id").loc["001", "geometry"]
    assert bow.is_valid and bow.geom_type == "MultiPolygon" and len(bow.geoms) == 2
    assert bow.area == pytest.approx(5000.0)
    repaired = [i for i in report.warnings if "make_valid" in i.message]
    assert repaired and repaired[0].ids[0].startswith("001") and "Self-intersection" in repaired[0].ids[0]


def test_repair_drops_non_polygon_parts_and_reports(tmp_path: Path) -> None:
    g = _parcels()
    # a 10 m square with a 10 m spike out and back along x = X0+10: the spike becomes a line when repaired
    g.loc[2, "geometry"] = shapely.Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0 + 20),
                                            (X0 + 10, Y0 + 10), (X0, Y0 + 10)])
    path = tmp_path / "p.gpkg"
    write_layer(g, path)
    gdf, report = read_parcels(path)
    spike = gdf.set_index("parcel_id").loc["0003", "geometry"]
    assert spike.geom_type == "MultiPolygon" and spike.area == pytest.approx(100.0)
    dropped = [i for i in report.warnings if "丢弃" in i.message]
    assert dropped and dropped[0].ids == ["0003"]


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs_refused_unless_named(tmp_path: Path) -> None:
    g = _parcels().set_crs(None, allow_override=True)
    path = tmp_path / "nocrs.gpkg"
    write_layer(g, path)
    with pytest.raises(CrsError, match="nocrs.gpkg"):
        read_parcels(path)
    gdf, _ = read_parcels(path, crs="EPSG:4544")
    assert gdf.crs.to_epsg() == 4544 and gdf.area.sum() == pytest.approx(16200.0)


def test_4523_trap_in_a_file(tmp_path: Path) -> None:
    g = _parcels().translate(xoff=35_000_000)
    g = gpd.GeoDataFrame(_parcels().drop(columns="geometry"), geometry=g, crs="EPSG:4544")
    path = tmp_path / "prefixed.gpkg"
    write_layer(g, path)
    with pytest.raises(CrsError) as ei:
        read_parcels(path)
    assert "EPSG:4523" in str(ei.value) and "prefixed.gpkg" in str(ei.value)
    assert sorted(ei.value.ids) == ["0003", "001", "P002"]
    g = g.set_crs("EPSG:4523", allow_override=True)
    write_layer(g, path)
    gdf, _ = read_parcels(path)
    assert gdf.total_bounds[0] == pytest.approx(X0, abs=1e-3)  # x − 35 000 000 = the EPSG:4544 x


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_parcels(tmp_path / "nope.gpkg")
    (tmp_path / "p.dwg").write_bytes(b"AC1027")
    with pytest.raises(InputFileError, match="p.dwg"):
        read_parcels(tmp_path / "p.dwg")
    (tmp_path / "broken.gpkg").write_bytes(b"not a database")
    with pytest.raises(InputFileError, match="broken.gpkg"):
        read_parcels(tmp_path / "broken.gpkg")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(InputFileError, match=r"\.shp"):
        read_parcels(tmp_path / "empty.zip")


def test_read_layer_picks_gpkg_layer(tmp_path: Path) -> None:
    path = tmp_path / "multi.gpkg"
    write_layer(_parcels(), path, layer="parcels")
    write_layer(_parcels().to_crs("EPSG:4490").iloc[:1], path, layer="other")
    assert set(pyogrio.list_layers(path)[:, 0]) == {"parcels", "other"}  # write_layer keeps other layers
    other = read_layer(path, layer="other")
    assert other.crs.to_epsg() == 4544 and other.area.iloc[0] == pytest.approx(5000.0, rel=1e-6)
    with pytest.raises(InputFileError, match="nope"):
        read_layer(path, layer="nope")


# --- tables -----------------------------------------------------------------------------------------

ENTERPRISES_CSV = (
    "enterprise_id,name,industry_code,revenue_10k,tax_10k\n"
    "007,成都甲精密制造有限公司,C3981,2500,100\n"
    "008,四川乙食品有限公司,C1431,1500.5,20\n"
    "E09,成都丙科技,C3011,2000,\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_enterprises_csv_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "enterprises.csv"
    path.write_bytes(ENTERPRISES_CSV.encode(encoding))
    df, report = read_table(path, "enterprises")
    assert df["enterprise_id"].tolist() == ["007", "008", "E09"]
    assert df["name"].tolist()[0] == "成都甲精密制造有限公司"
    assert df["revenue_10k"].tolist() == [2500.0, 1500.5, 2000.0]
    assert pd.isna(df["tax_10k"].iloc[2])
    # 规上: revenue ≥ 2000 万元, boundary inclusive
    assert df["above_scale"].tolist() == [True, False, True]
    assert str(df["above_scale"].dtype) == "boolean" and df["revenue_10k"].dtype == np.float64
    assert "above_scale" not in df.attrs["missing_columns"] and "energy_tce" in df.attrs["missing_columns"]
    assert any("above_scale" in i.message for i in report.warnings)


def test_above_scale_threshold_is_a_parameter(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(ENTERPRISES_CSV, encoding="utf-8")
    df, _ = read_table(path, "enterprises", above_scale_revenue_10k=1500.0)
    assert df["above_scale"].tolist() == [True, True, True]


def test_explicit_above_scale_is_kept_and_blanks_derived(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("enterprise_id,revenue_10k,tax_10k,above_scale\nA,100,1,是\nB,3000,1,\nC,3000,1,否\n",
                    encoding="utf-8")
    df, _ = read_table(path, "enterprises")
    assert df["above_scale"].tolist() == [True, True, False]


def test_enterprises_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "企业.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "enterprises"
    ws.append(["enterprise_id", "name", "industry_code", "revenue_10k", "tax_10k", "year", "employees"])
    ws.append(["007", "成都甲公司", "C3981", 2600, 120.5, 2024, 300])
    ws.append([1001, "成都乙公司", "C2110", 100.0, 3, 2024, None])  # an id typed as a number in Excel
    wb.save(path)
    df, _ = read_table(path, "enterprises")
    assert df["enterprise_id"].tolist() == ["007", "1001"]
    assert df["year"].dtype == "Int64" and df["year"].tolist() == [2024, 2024]
    assert df["tax_10k"].tolist() == [120.5, 3.0] and pd.isna(df["employees"].iloc[1])
    assert df["above_scale"].tolist() == [True, False]


def test_land_supply_xlsx_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "supply.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["year", "land_use", "area_m2"])
    ws.append([2023, "100101", 12000])
    ws.append([2023, 701, 5000.5])  # 0701 lost its leading zero in Excel: stays text "701", not 701.0
    wb.save(path)
    df, _ = read_table(path, "land_supply")
    assert df["year"].tolist() == [2023, 2023] and df["land_use"].tolist() == ["100101", "701"]
    assert df["area_m2"].sum() == 17000.5
    ws.append([2023.5, "1001", -3])
    ws.append([None, "1001", 3])
    wb.save(path)
    with pytest.raises(ValidationError) as ei:
        read_table(path, "land_supply")
    text = str(ei.value)
    assert "supply.xlsx" in text and "#4" in text and "#5" in text  # spreadsheet rows (header = row 1)
    assert len(ei.value.problems) == 3  # non-integer year, negative area, empty year


def test_excel_serial_dates_and_datetimes() -> None:
    # 45352 days after 1899-12-30 is 2024-03-01 (Excel's serial for that date)
    s = pd.Series([45352, dt.datetime(2024, 3, 1), "2024/03/01", None], dtype=object)
    c = _validate.convert(s, "date", excel=True)
    assert (c.values.iloc[:3] == pd.Timestamp("2024-03-01")).all() and pd.isna(c.values.iloc[3])
    assert not c.bad.any()
    c = _validate.convert(pd.Series(["45352"]), "date", excel=False)  # not from Excel: a number is no date
    assert c.bad.all()


def test_geometryless_gpkg_table(tmp_path: Path) -> None:
    path = tmp_path / "inputs.gpkg"
    write_layer(_parcels(), path, layer="parcels")
    write_layer(pd.DataFrame({"enterprise_id": ["E1", "E2"], "parcel_id": ["001", "P002"],
                              "floor_area_m2": [100.0, None]}), path, layer="occupancy")
    df, _ = read_table(path, "occupancy")
    assert df["enterprise_id"].tolist() == ["E1", "E2"] and df["floor_area_m2"].iloc[0] == 100.0


def test_table_refusals(tmp_path: Path) -> None:
    path = tmp_path / "enterprises.csv"
    path.write_text("enterprise_id,name,revenue_10k,tax_10k\nE1,a,100,1\nE1,b,-5,x\n,c,1,1\n",
                    encoding="utf-8")
    with pytest.raises(ValidationError) as ei:
        read_table(path, "enterprises")
    text = str(ei.value)
    assert "enterprises.csv" in text and "E1" in text and "#4" in text
    assert len(ei.value.problems) == 4  # duplicate id, empty id, negative revenue, bad tax
    path.write_text("enterprise_id,name\nE1,a\n", encoding="utf-8")
    with pytest.raises(InputFileError) as ei2:
        read_table(path, "enterprises")
    assert "revenue_10k" in str(ei2.value) and "tax_10k" in str(ei2.value)
    occ = tmp_path / "occupancy.csv"
    occ.write_text("enterprise_id,宗地\nE1,001\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="parcel_id"):
        read_table(occ, "occupancy")
    occ.write_text("enterprise_id,parcel_id,floor_area_m2\nE1,001,5\nE1,001,6\nE2,,1\n", encoding="utf-8")
    with pytest.raises(ValidationError) as ei3:
        read_table(occ, "occupancy")
    assert "E1/001" in str(ei3.value) and "#4" in str(ei3.value)


# --- zones ------------------------------------------------------------------------------------------


def _zones_gpkg(tmp_path: Path, ring_closed: bool = True) -> Path:
    path = tmp_path / "zones.gpkg"
    # ring: a closed 1 000 m square line → 1 000 000 m² once polygonised
    coords = [(X0, Y0), (X0 + 1000, Y0), (X0 + 1000, Y0 + 1000), (X0, Y0 + 1000)]
    ring = shapely.LineString([*coords, coords[0]] if ring_closed else coords)
    write_layer(gpd.GeoDataFrame({"name": ["绕城高速"]}, geometry=[ring], crs="EPSG:4544"), path, "ring")
    write_layer(gpd.GeoDataFrame({"zone_id": ["R1"], "name": ["红线一"]},
                                 geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 500)], crs="EPSG:4544"),
                path, "red_line")
    write_layer(gpd.GeoDataFrame({"name": ["园区甲", "园区乙"]},
                                 geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300),
                                           shapely.box(X0 + 600, Y0, X0 + 900, Y0 + 300)],
                                 crs="EPSG:4544").to_crs("EPSG:4490"), path, "parks")
    write_layer(gpd.GeoDataFrame({"name": ["武侯区"], "construction_land_m2": ["1200000"]},
                                 geometry=[shapely.box(X0 - 100, Y0 - 100, X0 + 2000, Y0 + 2000)],
                                 crs="EPSG:4544"), path, "districts")
    write_layer(gpd.GeoDataFrame({"kind": ["road"]}, geometry=[shapely.box(X0, Y0, X0 + 1, Y0 + 1)],
                                 crs="EPSG:4544"), path, "roads")
    return path


def test_read_zones(tmp_path: Path) -> None:
    zones, report = read_zones(_zones_gpkg(tmp_path))
    assert set(zones) == {"ring", "red_line", "parks", "districts"}
    assert all(z.crs.to_epsg() == 4544 for z in zones.values())
    assert zones["ring"].geom_type.tolist() == ["MultiPolygon"]
    assert zones["ring"].area.iloc[0] == pytest.approx(1_000_000.0)
    assert zones["red_line"]["zone_id"].tolist() == ["R1"]
    # park_id absent → numbered, with a warning; parks came in EPSG:4490 → 300 m × 300 m = 90 000 m² each
    assert zones["parks"]["park_id"].tolist() == ["parks_1", "parks_2"]
    assert zones["parks"].area.to_numpy() == pytest.approx([90_000.0, 90_000.0], rel=1e-6)
    assert zones["districts"]["construction_land_m2"].tolist() == [1_200_000.0]
    texts = [i.message for i in report.warnings]
    assert any("roads" in t for t in texts) and any("park_id" in t for t in texts)


def test_open_ring_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as ei:
        read_zones(_zones_gpkg(tmp_path, ring_closed=False))
    assert "ring" in str(ei.value) and "1000" in str(ei.value)  # names the gap: 1 000 m between the ends


# --- load_inputs ------------------------------------------------------------------------------------


def _good_inputs(tmp_path: Path) -> dict[str, Path]:
    parcels = tmp_path / "parcels.gpkg"
    g = _parcels()
    g["enterprise_id"] = ["007", None, "X99"]
    write_layer(g, parcels)
    ent = tmp_path / "enterprises.csv"
    ent.write_bytes(ENTERPRISES_CSV.encode("gbk"))
    occ = tmp_path / "occupancy.csv"
    occ.write_text("enterprise_id,parcel_id,floor_area_m2\n007,001,6000\n008,P002,\nE77,P404,10\n",
                   encoding="utf-8-sig")
    supply = tmp_path / "land_supply.csv"
    supply.write_text("year,land_use,area_m2\n2023,100101,1000\n2023,0701,3000\n", encoding="utf-8")
    return {"parcels": parcels, "enterprises": ent, "occupancy": occ, "zones": _zones_gpkg(tmp_path),
            "land_supply": supply}


def test_load_inputs_ok(tmp_path: Path) -> None:
    paths = _good_inputs(tmp_path)
    inputs = load_inputs(**paths)
    assert isinstance(inputs, Inputs) and isinstance(inputs.report, LoadReport)
    assert len(inputs.parcels) == 3 and inputs.enterprises is not None and len(inputs.enterprises) == 3
    assert inputs.land_supply is not None and inputs.land_supply["land_use"].tolist() == ["100101", "0701"]
    assert set(inputs.zones) == {"ring", "red_line", "parks", "districts"}
    assert not inputs.report.errors
    for key, path in paths.items():
        src = inputs.sources[key]
        assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and src.size == path.stat().st_size
    warn = {tuple(i.ids): i for i in inputs.report.warnings}
    assert ("P404",) in warn and warn[("P404",)].file == "occupancy.csv"  # unknown parcel in occupancy
    assert ("E77",) in warn  # unknown enterprise in occupancy
    assert ("0003",) in warn  # parcel naming unknown enterprise X99
    assert "occupancy.csv" in inputs.report.to_text()


def test_load_inputs_all_or_nothing(tmp_path: Path) -> None:
    paths = _good_inputs(tmp_path)
    paths["enterprises"].write_text("enterprise_id,revenue_10k,tax_10k\nA,1,1\nA,-2,1\n", encoding="utf-8")
    (tmp_path / "z").mkdir()
    bad_zones = tmp_path / "bad_zones.gpkg"
    shutil.copy(_zones_gpkg(tmp_path / "z", ring_closed=False), bad_zones)
    paths["zones"] = bad_zones
    with pytest.raises(GisError) as ei:
        load_inputs(**paths)
    err = ei.value
    files = {p.path.split(":")[0] for p in err.problems}
    assert files == {"enterprises.csv", "bad_zones.gpkg"}
    assert len(err.problems) == 3  # duplicate id, negative revenue, open ring
    assert "enterprises.csv" in str(err) and "bad_zones.gpkg" in str(err) and "未载入" in str(err)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed sample data, or the same generated afresh when it is not there yet."""
    if (DATA_DIR / "parcels.gpkg").exists():
        return DATA_DIR
    from data.sample_parcels._sample import write_sample

    out = tmp_path_factory.mktemp("sample_parcels")
    write_sample(out)
    return out


def test_sample_data_loads(sample_dir: Path) -> None:
    kw = {k: sample_dir / f for k, f in [("enterprises", "enterprises.csv"), ("occupancy", "occupancy.csv"),
                                         ("zones", "zones.gpkg"), ("land_supply", "land_supply.csv")]
          if (sample_dir / f).exists()}
    inputs = load_inputs(sample_dir / "parcels.gpkg", **kw)
    assert inputs.parcels.crs.to_epsg() == 4544 and inputs.parcels["parcel_id"].is_unique
    assert not inputs.report.errors and set(inputs.sources) == {"parcels", *kw}
    assert set(inputs.parcels.geom_type) == {"MultiPolygon"}
    # the same parcels as GeoJSON (EPSG:4490) read back to the same attributes
    if (sample_dir / "parcels.geojson").exists():
        gj, _ = read_parcels(sample_dir / "parcels.geojson")
        gj = gj.set_index("parcel_id").loc[inputs.parcels["parcel_id"]]
        gp = inputs.parcels.set_index("parcel_id")
        pd.testing.assert_frame_equal(gj.drop(columns="geometry"), gp.drop(columns="geometry"))
    if (sample_dir / "enterprises.xlsx").exists() and inputs.enterprises is not None:
        xl, _ = read_table(sample_dir / "enterprises.xlsx", "enterprises")
        pd.testing.assert_frame_equal(xl, inputs.enterprises)


def test_xlsx_with_title_rows_above_the_header(tmp_path: Path) -> None:
    path = tmp_path / "企业名单.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年规上工业企业名单"])  # the title row Chinese offices put above a table
    ws.append([])
    ws.append(["enterprise_id", "name", "revenue_10k", "tax_10k"])
    ws.append(["E1", "甲", 100, 1])
    ws.append(["E2", "乙", -1, 1])
    wb.save(path)
    with pytest.raises(ValidationError) as ei:
        read_table(path, "enterprises")
    assert ei.value.ids == ["E2"]
    ws.delete_rows(5)
    ws.append(["", "丙", 1, 1])
    wb.save(path)
    with pytest.raises(ValidationError) as ei:
        read_table(path, "enterprises")
    assert ei.value.ids == ["#5"]  # the spreadsheet row the planner sees


def test_zone_layers_must_be_polygons_and_ring_may_come_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    # the ring as two halves of a 1 000 m square → noded and polygonised to 1 000 000 m²
    a = shapely.LineString([(X0, Y0), (X0 + 1000, Y0), (X0 + 1000, Y0 + 1000)])
    b = shapely.LineString([(X0 + 1000, Y0 + 1000), (X0, Y0 + 1000), (X0, Y0)])
    write_layer(gpd.GeoDataFrame(geometry=[a, b], crs="EPSG:4544"), path, "ring")
    zones, _ = read_zones(path)
    assert zones["ring"].area.sum() == pytest.approx(1_000_000.0)
    write_layer(gpd.GeoDataFrame({"park_id": ["K1"]}, geometry=[shapely.Point(X0, Y0)], crs="EPSG:4544"),
                path, "parks")
    with pytest.raises(ValidationError) as ei:
        read_zones(path)
    assert "zones.gpkg:parks" in str(ei.value) and "Point" in str(ei.value)


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_write_layer_overwrites_files(tmp_path: Path) -> None:
    for fmt in ("shp", "geojson", "fgb", "parquet"):
        path = tmp_path / f"p.{fmt}"
        write_layer(_parcels(), path)
        write_layer(_parcels().iloc[:1], path)
        assert len(read_layer(path)) == 1, fmt
