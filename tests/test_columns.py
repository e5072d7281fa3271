"""Chinese headers as bureaus export them are read as the contract's columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gis.columns import alias_renames, canonical_name
from gis.errors import GisError
from gis.io import read_parcels, read_table, write_layer
from tests.test_io import EXPECTED_AREA, _parcels


def test_parcels_with_chinese_headers(tmp_path: Path) -> None:
    g = _parcels().rename(columns={"parcel_id": "宗地编号", "land_use": "用地分类", "status": "现状",
                                   "floor_area_m2": "计容建筑面积（平方米）", "transfer_date": "供地日期"})
    write_layer(g, tmp_path / "zh.gpkg", "parcels")
    gdf, report = read_parcels(tmp_path / "zh.gpkg")
    # The same values as the English-headed file: ids, land use, 现状 mapped, floor areas, dates.
    assert gdf["parcel_id"].tolist() == ["001", "P002", "0003"]
    assert gdf["land_use"].tolist() == ["100101", "M1", "0601"]
    assert gdf["status"].tolist() == ["built", "under_construction", "vacant"]
    assert gdf["floor_area_m2"].tolist()[:2] == [10_000.0, 25_000.0]
    assert dict(zip(gdf["parcel_id"], gdf.geometry.area.round(6), strict=True)) == EXPECTED_AREA
    assert "floor_area_m2" not in gdf.attrs["missing_columns"]
    renamed = next(i for i in report.warnings if "中文表头" in i.message)
    assert "宗地编号→parcel_id" in renamed.ids and "计容建筑面积（平方米）→floor_area_m2" in renamed.ids


def test_enterprise_csv_with_chinese_headers_below_a_title_row(tmp_path: Path) -> None:
    path = tmp_path / "企业.csv"
    path.write_text(
        "2024年规上工业企业名单,,,,\n"
        "企业编号,企业名称,行业代码,营业收入（万元）,实缴税金（万元）\n"
        "E1,成都甲公司,C3981,12000,600\n"
        "E2,成都乙公司,C3011,1500,20\n",
        encoding="gbk",
    )
    df, _ = read_table(path, "enterprises")
    assert df["enterprise_id"].tolist() == ["E1", "E2"]
    assert df["revenue_10k"].tolist() == [12000.0, 1500.0]
    # above_scale derived from revenue ≥ 2000 万元: 12000 yes, 1500 no
    assert df["above_scale"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("header", "schema", "expected"),
    [
        ("宗地编号", ["parcel_id"], "parcel_id"),
        ("  Parcel_ID ", ["parcel_id"], "parcel_id"),
        ("营业收入(万元)", ["revenue_10k"], "revenue_10k"),
        ("计容建筑面积（平方米）", ["floor_area_m2"], "floor_area_m2"),
        ("面积", ["area_m2"], "area_m2"),
        ("面积", ["parcel_id"], None),  # only columns of the schema being read
        ("备注", ["parcel_id"], None),
    ],
)
def test_canonical_names(header, schema, expected):
    assert canonical_name(header, schema) == expected


def test_an_existing_contract_column_is_never_overwritten():
    cols = pd.Index(["parcel_id", "宗地编号", "用地分类", "用地性质"])
    # parcel_id is already there; two headers claim land_use, so neither is taken.
    assert alias_renames(cols, ["parcel_id", "land_use"]) == {}
    assert alias_renames(pd.Index(["用地性质"]), ["land_use"]) == {"用地性质": "land_use"}


def test_a_bad_value_is_named_by_the_users_own_header(tmp_path: Path) -> None:
    # E2's revenue "约1500" is not a number: the error speaks of 营业收入（万元）, the header the bureau wrote.
    path = tmp_path / "企业.csv"
    path.write_text(
        "企业编号,企业名称,行业代码,营业收入（万元）,实缴税金（万元）\nE1,成都甲公司,C3981,12000,600\nE2,成都乙公司,C3011,约1500,20\n",
        encoding="utf-8",
    )
    with pytest.raises(GisError) as err:
        read_table(path, "enterprises")
    text = str(err.value)
    assert "“营业收入（万元）”无法识别" in text and "E2" in text and "企业.csv" in text


def test_english_headers_get_the_chinese_name_beside_them(tmp_path: Path) -> None:
    path = tmp_path / "ent.csv"
    path.write_text("enterprise_id,name,industry_code,revenue_10k,tax_10k\nE1,甲,C3981,x,1\n", encoding="utf-8")
    with pytest.raises(GisError) as err:
        read_table(path, "enterprises")
    assert "“营业收入（万元）（revenue_10k）”无法识别" in str(err.value)
