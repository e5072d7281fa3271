"""Old and odd office files: Excel 97–2003 (.xls) tables, shapefiles with Chinese text in UTF-8 or GBK and the
.cpg that names it, written and read."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from gis.errors import InputFileError
from gis.io import load_inputs, read_layer, read_parcels, read_table, write_layer

SURVEY = Path(__file__).parent / "data" / "survey"
DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"


def _xls(path: Path, rows: list[list[object]], *, title: str | None = None, merge_data: bool = False) -> Path:
    """An Excel 97–2003 workbook written with xlwt: an optional merged title row above the rows."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("企业")
    top = 0
    if title:
        ws.write_merge(0, 0, 0, len(rows[0]) - 1, title)
        top = 1
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if merge_data and r == 1 and c == 1:
                ws.write_merge(top + 1, top + 2, 1, 1, value)  # B3:B4 with the title, B2:B3 without
            elif merge_data and r == 2 and c == 1:
                continue
            else:
                ws.write(top + r, c, value)
    wb.save(str(path))
    return path


_ROWS = [["企业编号", "企业名称", "营业收入（万元）", "实缴税金（万元）", "年度"],
         ["007", "成都郫都精密制造有限公司", 2600.0, 120.25, 2024],
         ["E2", "青白江物流装备", 1500.5, 80.0, 2024]]


def test_xls_table_with_title_row_and_chinese_headers(tmp_path):
    path = _xls(tmp_path / "企业.xls", _ROWS, title="2024 年度规上工业企业亩均数据")
    ent, report = read_table(path, "enterprises")
    assert ent["enterprise_id"].tolist() == ["007", "E2"]  # text ids keep their leading zeros
    assert ent["name"].tolist() == ["成都郫都精密制造有限公司", "青白江物流装备"]
    assert ent["revenue_10k"].tolist() == [2600.0, 1500.5] and ent["tax_10k"].tolist() == [120.25, 80.0]
    assert ent["year"].tolist() == [2024, 2024]
    # 规上 derived from revenue ≥ 2000 万元: 2600 yes, 1500.5 no
    assert ent["above_scale"].tolist() == [True, False]
    assert any("企业编号→enterprise_id" in i.ids for i in report.warnings)


def test_xls_merged_cells_in_the_data_and_web_pages_named_xls_are_refused(tmp_path):
    merged = _xls(tmp_path / "merged.xls", _ROWS, merge_data=True)
    with pytest.raises(InputFileError, match="合并单元格") as err:
        read_table(merged, "enterprises")
    assert err.value.ids == ["B2:B3"]  # the merged name cell of the first two data rows (row 1 is the header)
    page = tmp_path / "导出.xls"
    page.write_text("<html><body><table><tr><td>企业编号</td></tr></table></body></html>", encoding="utf-8")
    with pytest.raises(InputFileError, match="网页") as err:
        read_table(page, "enterprises")
    assert err.value.path == "导出.xls" and "另存为 .xlsx" in err.value.hint
    broken = tmp_path / "broken.xls"
    broken.write_bytes(b"\xd0\xcf\x11\xe0 not really a compound document")
    with pytest.raises(InputFileError, match="无法读取 Excel 97–2003 文件"):
        read_table(broken, "enterprises")


def test_xls_tables_load_with_the_parcels(tmp_path):
    """The sample's enterprise table as .xls gives the same enterprises as its CSV."""
    import pandas as pd

    csv = pd.read_csv(DATA_DIR / "enterprises.csv", dtype=str, keep_default_na=False)
    rows = [list(csv.columns)] + csv.head(40).to_numpy().tolist()
    path = _xls(tmp_path / "enterprises.xls", rows)
    inputs = load_inputs(DATA_DIR / "parcels.gpkg", enterprises=path)
    want, _ = read_table(DATA_DIR / "enterprises.csv", "enterprises")
    got = inputs.enterprises
    assert got["enterprise_id"].tolist() == want["enterprise_id"].head(40).tolist()
    assert got["revenue_10k"].tolist() == want["revenue_10k"].head(40).tolist()
    assert inputs.sources["enterprises"].path.endswith("enterprises.xls")


@pytest.fixture(scope="module")
def survey_result():
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    return evaluate(load_inputs(SURVEY / "parcels.txt"), load_ruleset("chengdu-2023"), dt.date(2025, 6, 30))


@pytest.mark.parametrize(("choice", "cpg", "codec"), [("utf-8", "UTF-8", "utf-8"), ("gbk", "936", "gbk")])
def test_shapefile_export_names_its_encoding_in_a_cpg(survey_result, tmp_path, choice, cpg, codec):
    from rules.export import write_result
    from rules.vocabulary import STATUS_LABELS

    out = write_result(survey_result, tmp_path / "结果.shp", shp_encoding=choice)
    assert out.with_suffix(".cpg").read_text(encoding="ascii") == cpg
    dbf = out.with_suffix(".dbf").read_bytes()
    labels = {STATUS_LABELS[s] for s in survey_result.parcels["status"]}
    # the Chinese status words are in the .dbf in the chosen encoding (and not in the other one)
    assert all(w.encode(codec) in dbf for w in labels)
    other = "gbk" if codec == "utf-8" else "utf-8"
    assert not any(w.encode(other) in dbf for w in labels)
    assert dbf[29] == (0x4D if choice == "gbk" else 0)  # the language driver id: CP936 for GBK
    back = read_layer(out)
    assert back["parcel_id"].tolist() == survey_result.parcels["parcel_id"].tolist()
    assert back["status_zh"].tolist() == [STATUS_LABELS[s] for s in survey_result.parcels["status"]]
    # without its .cpg, a GBK file is still read right (its bytes are not UTF-8)
    out.with_suffix(".cpg").unlink()
    assert read_layer(out)["status_zh"].tolist() == back["status_zh"].tolist()


def test_cli_shp_encoding_option(tmp_path):
    from typer.testing import CliRunner

    from api.cli import _load_commands, app

    if not app.registered_commands:
        _load_commands()
    args = ["evaluate", "--parcels", str(SURVEY / "gbk.txt"), "--out", str(tmp_path / "r.shp"), "-q"]
    res = CliRunner().invoke(app, [*args, "--shp-encoding", "GBK"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.cpg").read_text() == "936"
    bad = CliRunner().invoke(app, [*args, "--shp-encoding", "latin1"])
    assert bad.exit_code == 2 and "latin1" in bad.output and "UTF-8 或 GBK" in bad.output


def _chinese_shapefile(folder: Path, encoding: str, headers: tuple[str, str]) -> Path:
    """A parcel shapefile written by GDAL itself in ``encoding``, with Chinese column headers and values."""
    folder.mkdir()
    gdf = gpd.GeoDataFrame({headers[0]: ["郫都-01", "新都-02"], headers[1]: ["100102", "0601"],
                            "备注": ["德源镇", "大丰街道"]},
                           geometry=[shapely.box(400000, 3390000, 400100, 3390100),
                                     shapely.box(400200, 3390000, 400260, 3390050)], crs="EPSG:4544")
    path = folder / "宗地.shp"
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    return path


@pytest.mark.parametrize(("encoding", "cpg", "headers"), [
    ("GBK", None, ("宗地编号", "用地分类")),  # GDAL's own .cpg: "GBK"
    ("CP936", "936", ("宗地编号", "用地分类")),  # ArcGIS writes the code page number
    ("UTF-8", None, ("宗地号", "地类")),  # UTF-8 field names: 3 bytes a character, at most 10 bytes
])
def test_shapefiles_with_chinese_headers_are_read_through_their_cpg(tmp_path, encoding, cpg, headers):
    path = _chinese_shapefile(tmp_path / "shp", encoding, headers)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    raw = path.with_suffix(".dbf").read_bytes()
    assert "郫都".encode("gbk" if encoding != "UTF-8" else "utf-8") in raw
    parcels, report = read_parcels(path)
    # 宗地编号/宗地号 → parcel_id, 用地分类/地类 → land_use (Chinese header aliases); values decoded
    assert parcels["parcel_id"].tolist() == ["郫都-01", "新都-02"]
    assert parcels["land_use"].tolist() == ["100102", "0601"]
    assert parcels["备注"].tolist() == ["德源镇", "大丰街道"]
    assert parcels.geometry.area.tolist() == pytest.approx([10000.0, 3000.0])  # 100 × 100 and 60 × 50 m
    zipped = tmp_path / "宗地.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in path.parent.iterdir():
            zf.write(part, f"成果/{part.name}")
    assert read_parcels(zipped)[0]["备注"].tolist() == ["德源镇", "大丰街道"]


def test_write_layer_refuses_an_unknown_shapefile_encoding(tmp_path):
    gdf = gpd.GeoDataFrame({"parcel_id": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4544")
    with pytest.raises(InputFileError, match="不支持的 Shapefile 编码 big5"):
        write_layer(gdf, tmp_path / "a.shp", encoding="big5")
    assert not (tmp_path / "a.shp").exists()
