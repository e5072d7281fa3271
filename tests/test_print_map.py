"""Print maps (``gis.print_map``): page size, true scale, text layer, embedded fonts, and ``mujun map --out x.pdf``.

The PDFs are real files read back with pypdf. Expected scales are computed by hand in the comments from the
layout constants of ``gis.print_map`` (margins 10 mm, grid labels 11 mm left / 7 mm below, title 16 mm, panel
80 mm, gap 5 mm) and the fixture of ``tests/test_maps.py`` (parcels from X0 to X0 + 700 m and Y0 to Y0 + 210 m).
"""

from __future__ import annotations

import re

import pypdf
import pytest

from gis import print_map as pm
from tests.test_maps import _write_gpkg_result, legend, make_fixture

MM = 72 / 25.4  # PDF points per millimetre


def _pdf(path) -> tuple[pypdf.PageObject, str]:
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    return page, page.extract_text()


def _size_mm(page: pypdf.PageObject) -> tuple[float, float]:
    box = page.mediabox
    return round(float(box.width) / MM, 1), round(float(box.height) / MM, 1)


def test_scale_is_the_smallest_round_fraction_that_fits():
    # 11 000 m over 250 mm = 44 m/mm → 1:44 000 → the next round denominator (4, 5, 6 × 10^4) is 50 000
    assert pm.print_scale((11_000.0, 4_000.0), (250.0, 180.0)) == 50_000
    # the height decides when it is tighter: 9 000 m over 180 mm = 50 m/mm exactly → 1:50 000, not 60 000
    assert pm.print_scale((1_000.0, 9_000.0), (250.0, 180.0)) == 50_000
    # 1 000 m over 400 mm = 2.5 m/mm → 1:2 500 (a round step itself)
    assert pm.print_scale((1_000.0, 100.0), (400.0, 280.0)) == 2_500
    # 3 010 m over 1 000 mm = 3.01 m/mm → 1:3 010 → 1:4 000
    assert pm.print_scale((3_010.0, 10.0), (1_000.0, 1_000.0)) == 4_000
    assert pm.scale_text(50_000) == "1:50,000"


def test_layout_frames_by_paper_and_orientation():
    # A3 landscape: 420 − 10 − 11 − 5 − 80 − 10 = 304 mm wide; 297 − 10 − 7 − 16 − 10 = 254 mm high
    assert pm.print_layout("A3", landscape=True)["frame"] == (21.0, 17.0, 304.0, 254.0)
    # A3 portrait: 297 − 10 − 11 − 10 = 266 mm wide; 420 − 10 − 80 − 5 − 7 − 16 − 10 = 292 mm high
    assert pm.print_layout("a3", landscape=False)["frame"][2:] == (266.0, 292.0)
    assert pm.paper_size("A4", landscape=True) == (297.0, 210.0)
    with pytest.raises(ValueError, match="不支持的纸张"):
        pm.paper_size("B5")


@pytest.mark.parametrize(
    ("paper", "landscape", "size", "scale", "cm"),
    [
        # padded extent 700 × 1.08 = 756 m by 210 × 1.08 = 226.8 m; A3 landscape frame 304 × 254 mm:
        # 756 / 304 = 2.49 m/mm → 1:2 500; 1 cm on paper = 2 500 / 100 = 25 m
        ("A3", True, (420.0, 297.0), 2_500, "25 米"),
        # A4 landscape frame 297 − 10 − 11 − 5 − 80 − 10 = 181 mm: 756 / 181 = 4.18 m/mm → 1:5 000 (50 m per cm)
        ("A4", True, (297.0, 210.0), 5_000, "50 米"),
        # A3 portrait frame 266 mm wide: 756 / 266 = 2.84 m/mm → 1:3 000 (30 m per cm)
        ("A3", False, (297.0, 420.0), 3_000, "30 米"),
    ],
)
def test_print_map_page_scale_and_text_layer(tmp_path, paper, landscape, size, scale, cm):
    parcels, verdicts, zones, _ = make_fixture()
    out = pm.print_map_pdf(tmp_path / "map.pdf", parcels, verdicts, zones, legend=legend(), paper=paper,
                           landscape=landscape, title="测试打印地图", unit="测试制图单位", source="测试数据来源")
    assert out.scale == scale and out.page_mm == size
    page, text = _pdf(out.path)
    assert _size_mm(page) == size
    flat = re.sub(r"\s+", "", text)
    # the title, the legend words with the fixture's counts (one parcel of each overall status), the scale
    assert "测试打印地图" in flat
    for word in ("不合规（1）", "预警（1）", "数据缺失（1）", "合规（1）", "豁免（1）", "不适用（1）"):
        assert word in flat, word
    assert "合规（1）" in flat.replace("不合规（1）", "")  # 合规 on its own, not only inside 不合规
    assert f"比例尺{pm.scale_text(scale)}" in flat and f"图上1厘米=实地{cm.replace(' ', '')}" in flat
    for word in ("图例", "北", "指北针", "制图单位", "测试制图单位", "制图日期", "数据来源", "测试数据来源",
                 "CGCS2000", "EPSG:4544", "工业红线区", "工业园区"):
        assert word in flat, word
    # the park and district names of the fixture, at their representative points in the frame
    assert "测试园区" in flat and "武侯区" in flat
    # grid labels in metres of EPSG:4544: the frame spans X0 = 410 000 and Y0 = 3 383 000, lines every 100 m
    assert "410 000" in text and "3 383 000" in text


def test_a_single_small_parcel_is_shown_with_its_surroundings(tmp_path):
    parcels, verdicts, zones, _ = make_fixture()
    one = parcels.iloc[:1]  # P1, a 100 m square: padded 108 m, raised to the 200 m least extent
    out = pm.print_map_pdf(tmp_path / "one.pdf", one, verdicts, zones, legend=legend(), paper="A4", landscape=True)
    # 200 m over the A4 landscape frame's 181 mm = 1.10 m/mm → 1:1 105 → the round 1:1 500
    assert out.scale == 1_500


def test_print_map_is_vector_with_embedded_truetype_cjk_fonts(tmp_path):
    parcels, verdicts, zones, _ = make_fixture()
    out = pm.print_map_pdf(tmp_path / "map.pdf", parcels, verdicts, zones, legend=legend(), paper="A4")
    page, _ = _pdf(out.path)
    assert list(page.images) == []  # no raster anywhere: parcels, zones and text are vector
    fonts = page["/Resources"]["/Font"]
    kinds = set()
    for ref in fonts.values():
        font = ref.get_object()
        for desc in font.get("/DescendantFonts", []):
            d = desc.get_object()
            kinds.add((str(font["/BaseFont"]).split("+")[-1], str(d["/Subtype"]), "/FontFile2" in d["/FontDescriptor"]))
    assert any(name.startswith("NotoSansCJK") and sub == "/CIDFontType2" and embedded for name, sub, embedded in kinds)


def test_cli_map_writes_a_pdf_on_the_paper_asked(tmp_path):
    from typer.testing import CliRunner

    from api.cli import _load_commands, app

    _load_commands()
    parcels, verdicts, zones, _ = make_fixture()
    result = tmp_path / "r.gpkg"
    _write_gpkg_result(result, parcels, verdicts, zones)
    runner = CliRunner()
    res = runner.invoke(app, ["map", str(result), "--out", str(tmp_path / "m.pdf"), "--paper", "A4", "--landscape",
                              "--title", "武侯区工业用地打印图", "--unit", "测试局"])
    assert res.exit_code == 0, res.output
    assert "1:5,000" in res.output  # as for A4 landscape above
    page, text = _pdf(tmp_path / "m.pdf")
    assert _size_mm(page) == (297.0, 210.0)
    flat = re.sub(r"\s+", "", text)
    assert "武侯区工业用地打印图" in flat and "测试局" in flat
    assert "r.gpkg；规则集chengdu-2023" in flat  # the default 数据来源 names the result file and its rule set
    res = runner.invoke(app, ["map", str(result), "--out", str(tmp_path / "p.pdf")])  # A3 portrait by default
    assert res.exit_code == 0, res.output
    assert _size_mm(_pdf(tmp_path / "p.pdf")[0]) == (297.0, 420.0)
    res = runner.invoke(app, ["map", str(result), "--out", str(tmp_path / "x.pdf"), "--paper", "B5"])
    assert res.exit_code == 2 and "不支持的纸张" in res.output
    assert not (tmp_path / "x.pdf").exists()
