"""The XLSX report read back with openpyxl: formats, dates, 是/否, Chinese words, 问题宗地, print setup, and text
from user data that stays text (XLSX and CSV); on a hand-built fixture and on the sample."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from rules.export import FLAGGED, csv_safe, write_result
from rules.vocabulary import STATUS_LABELS, STATUS_ORDER, is_note
from tests.test_rules_parcels import layer, parcels, rect, run, square

HYPERLINK = '=HYPERLINK("http://x","y")'
PARCEL_LINK = '=HYPERLINK("http://x","p")'
FAR_AWAY = rect(50_000, 50_100)
# Every layer the rules ask for, so that the verdicts below are decided by the parcels, not by missing layers:
# the ring, the park K1, the urban boundary, the construction area and the district cover every parcel; the red
# and blue zones lie 50 km away.
ZONES = {
    "ring": layer([rect(-10, 10_000)]),
    "parks": layer([rect(-10, 10_000)], park_id=["K1"], name=["高新西区电子信息产业园"]),
    "red_line": layer([FAR_AWAY], zone_id=["R1"], name=["远处红线区"]),
    "blue_line": layer([FAR_AWAY], zone_id=["B1"], name=["远处蓝线区"]),
    "urban_dev_boundary": layer([rect(-10, 10_000)], name=["城镇开发边界"]),
    "planned_construction_area": layer([rect(-10, 10_000)], name=["集中建设区"]),
    "districts": layer([rect(-10, 10_000)], name=["高新区"], construction_land_m2=[1_000_000.0]),
}


@pytest.fixture(scope="module")
def fixture_result():
    """Seven parcels (100 m × 100 m = 15 亩 each, P5 150 m wide = 22.5 亩), all in park K1 inside the ring.

    By hand, against chengdu-2023 (FAR inside the ring 2.0–4.0; per-mu targets 650 / 30 万元/亩; low efficiency
    below half the tax target, 15 万元/亩, or FAR below its minimum, or coverage below 30 %):
    - P0  E1 (12 000 / 600 万元 on 15 亩 → 800 / 40 per 亩), FAR 2.5, coverage 40 %           → 合规
    - P1  no firm (tax 0), FAR 0.5                       → far.bounds 不合规 (below_min), low_efficiency 不合规
    - P2  E3, no floor area                              → FAR 数据缺失, low_efficiency 数据缺失           → 数据缺失
    - P3  0701 residential                               → every rule 不适用                              → 不适用
    - P4  E2 cement C3011 (6 000 / 300 → 400 / 20 per 亩), FAR 3.0 → per-mu 预警 ×2, industry 预警       → 预警
    - P5  22.5 亩, no firm, FAR 10 000 / 15 000 = 0.67   → 不合规 (larger than P1, so listed first)
    - P6  two firms without floor areas (equal split: a 数据提示 only), FAR 2.5 → 合规, not a 问题宗地
    Firm names and P6's id start with =, @, +, -: they must stay literal text.
    """
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1", "E2", "E3", "E4", "E5"],
            "name": [HYPERLINK, "成都乙水泥有限公司", "@成都丙公司", "+成都丁公司", "-成都戊公司"],
            "industry_code": ["C3981", "C3011", "C3981", "C3981", "C3981"],
            "revenue_10k": [12_000.0, 6_000.0, 12_000.0, 6_000.0, 6_000.0],
            "tax_10k": [600.0, 300.0, 600.0, 300.0, 300.0],
        }
    )
    base = {"transfer_date": "2015-01-01", "footprint_m2": 4_000}
    rows = [
        {**base, "enterprise_id": "E1", "floor_area_m2": 25_000},
        {**base, "floor_area_m2": 5_000},
        {**base, "enterprise_id": "E3", "floor_area_m2": None},
        {**base, "land_use": "0701", "floor_area_m2": 9_000},
        {**base, "enterprise_id": "E2", "floor_area_m2": 30_000},
        {**base, "floor_area_m2": 10_000},
        {**base, "floor_area_m2": 25_000},
    ]
    gdf = parcels(rows)
    gdf.loc[5, "geometry"] = square(5, 150)
    gdf.loc[6, "parcel_id"] = PARCEL_LINK
    occ = pd.DataFrame({"enterprise_id": ["E4", "E5"], "parcel_id": [PARCEL_LINK, PARCEL_LINK]})
    return run(gdf, ZONES, enterprises=ent, occupancy=occ)


@pytest.fixture(scope="module")
def book(fixture_result, tmp_path_factory):
    path = write_result(fixture_result, tmp_path_factory.mktemp("xlsx") / "report.xlsx")
    return path, openpyxl.load_workbook(path)


def _header(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[1] if c.value is not None}


def _column(ws, header: str) -> list:
    col = _header(ws)[header]
    return [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]


def test_fixture_statuses_are_as_computed_by_hand(fixture_result):
    status = dict(zip(fixture_result.parcels["parcel_id"], fixture_result.parcels["status"], strict=True))
    assert status == {
        "P0": "pass",
        "P1": "fail",
        "P2": "missing_data",
        "P3": "not_applicable",
        "P4": "warn",
        "P5": "fail",
        PARCEL_LINK: "pass",
    }


def test_sheets_and_chinese_headers(book):
    _, wb = book
    assert wb.sheetnames == ["汇总", "问题宗地", "宗地", "企业", "汇总指标", "核查结论"]
    for name in wb.sheetnames[1:]:
        ws = wb[name]
        heads = [c.value for c in ws[1] if c.value is not None]
        assert heads and all(re.search(r"[\u4e00-\u9fff]", h) for h in heads), (name, heads)
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    verdicts = wb["核查结论"]
    assert [c.value for c in verdicts[1]][:5] == ["对象", "对象编号", "规则名称", "规则编号", "结论"]


def test_number_formats_per_column(book):
    _, wb = book
    expected = {
        "问题宗地": {"面积（亩）": "0.00", "容积率": "0.00"},
        "宗地": {"面积（平方米）": "0.00", "面积（亩）": "0.00", "容积率": "0.00"},
        "企业": {
            "用地（平方米）": "0.00",
            "用地（亩）": "0.00",
            "营业收入（万元）": "#,##0.0",
            "实缴税金（万元）": "#,##0.0",
            "亩均营收（万元/亩）": "#,##0.0",
            "亩均税收（万元/亩）": "#,##0.0",
            "综合得分": "0.0",
        },
    }
    for sheet, columns in expected.items():
        for header, fmt in columns.items():
            cells = [c for c in _column(wb[sheet], header) if c.value is not None]
            assert cells, (sheet, header)
            assert {c.number_format for c in cells} == {fmt}, (sheet, header)
            assert all(c.data_type == "n" for c in cells), (sheet, header)


def test_value_columns_take_the_format_of_their_rule_unit(book, fixture_result):
    _, wb = book
    ws = wb["核查结论"]
    rules, values = _column(ws, "规则编号"), _column(ws, "测算值")
    # far.bounds (a ratio): 0.00; per_mu.* (万元/亩): #,##0.0; data.occupancy (家): 0; mujun.grade (分): 0.0
    want = {
        "far.bounds": "0.00",
        "per_mu.revenue": "#,##0.0",
        "per_mu.tax": "#,##0.0",
        "data.occupancy": "0",
        "mujun.grade": "0.0",
    }
    seen = set()
    for rule, value in zip(rules, values, strict=True):
        if rule.value in want and value.value is not None:
            assert value.number_format == want[rule.value], rule.value
            seen.add(rule.value)
    assert seen == set(want)
    # P1's FAR is 5 000 / 10 000 = 0.5, a number shown as 0.50
    row = next(
        i
        for i, (r, s) in enumerate(zip(rules, _column(ws, "对象编号"), strict=True))
        if r.value == "far.bounds" and s.value == "P1"
    )
    assert values[row].value == pytest.approx(0.5)
    agg = wb["汇总指标"]
    for rule, value in zip(_column(agg, "规则编号"), _column(agg, "测算值"), strict=True):
        if value.value is not None:
            assert value.number_format == {"agg.park_per_mu": "#,##0.0"}.get(rule.value, "0.0%"), rule.value


def test_summary_dates_counts_and_one_page(book, fixture_result):
    _, wb = book
    ws = wb["汇总"]
    cells = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in range(1, 8)}
    as_of = cells["评估基准日"]
    assert as_of.is_date and as_of.value == dt.datetime(2025, 6, 30) and as_of.number_format == "yyyy-mm-dd"
    assert cells["宗地数"].value == 7 and cells["宗地数"].number_format == "0"
    assert cells["宗地面积（亩）"].value == pytest.approx(6 * 15 + 22.5)
    # the status table: label, count, share of parcels (0.0%), area (0.00), in display order
    start = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "总体结论")
    table = [[ws.cell(row=start + 1 + i, column=c) for c in range(1, 5)] for i in range(len(STATUS_ORDER))]
    assert [row[0].value for row in table] == [STATUS_LABELS[s] for s in STATUS_ORDER]
    # by hand: fail P1, P5; warn P4; missing P2; pass P0, P6; n/a P3
    assert [row[1].value for row in table] == [2, 1, 1, 2, 0, 1]
    assert [row[2].number_format for row in table] == ["0.0%"] * 6 and table[0][2].value == pytest.approx(2 / 7)
    assert table[0][3].value == pytest.approx(37.5) and table[0][3].number_format == "0.00"  # P1 15 + P5 22.5
    assert ws.page_setup.fitToHeight in (None, 1) and ws.page_setup.fitToWidth in (None, 1)
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.page_setup.paperSize == 9  # A4


def test_yes_no_and_names_instead_of_codes(book, fixture_result):
    _, wb = book
    parcels_ws = wb["宗地"]
    ring = [c.value for c in _column(parcels_ws, "绕城高速以内")]
    assert ring == ["是"] * 7  # the ring layer covers every parcel
    assert {c.value for c in _column(parcels_ws, "园区")} == {"高新西区电子信息产业园"}
    uses = [c.value for c in _column(parcels_ws, "用地分类")]
    assert uses[0] == "一类工业用地（100101）" and uses[3] == "城镇住宅用地（0701）"
    ent = wb["企业"]
    assert {c.value for c in _column(ent, "规上企业")} == {"是"}
    assert {c.value for c in _column(ent, "园内企业")} == {"是"}
    industries = [c.value for c in _column(ent, "行业")]
    assert industries[1] == "水泥制造（C3011）"
    assert all(v in STATUS_LABELS.values() for v in (c.value for c in _column(ent, "总体结论")))
    verdicts = wb["核查结论"]
    thresholds = {
        (r.value, s.value): t.value
        for r, s, t in zip(
            _column(verdicts, "规则编号"), _column(verdicts, "对象编号"), _column(verdicts, "阈值"), strict=True
        )
    }
    assert thresholds[("far.bounds", "P1")] == "2.00–4.00"
    assert thresholds[("per_mu.revenue", "P4")] == "≥ 650.0 万元/亩"
    kinds = {
        (r.value, s.value): k.value
        for r, s, k in zip(
            _column(verdicts, "规则编号"), _column(verdicts, "对象编号"), _column(verdicts, "结论类型"), strict=True
        )
    }
    assert kinds[("far.bounds", "P1")] == "低于下限" and kinds[("per_mu.tax", "P4")] == "低于2025年全市目标"
    # a data.* warning is a note (数据提示), never 预警
    notes = [
        s.value
        for r, s in zip(_column(verdicts, "规则编号"), _column(verdicts, "结论"), strict=True)
        if r.value == "data.occupancy"
    ]
    assert "数据提示" in notes and "预警" not in notes


def test_flagged_sheet_lists_exactly_the_flagged_parcels(book, fixture_result):
    _, wb = book
    ws = wb["问题宗地"]
    p = fixture_result.parcels
    flagged = p[p["status"].isin(["fail", "warn", "missing_data"])]
    # independently: severity (fail, warn, missing_data), then area descending, then id
    rank = flagged["status"].map({"fail": 0, "warn": 1, "missing_data": 2})
    want = flagged.assign(rank=rank).sort_values(["rank", "area_mu", "parcel_id"], ascending=[True, False, True])
    got = [c.value for c in _column(ws, "宗地编号")]
    assert got == want["parcel_id"].tolist() == ["P5", "P1", "P4", "P2"]
    assert [c.value for c in _column(ws, "总体结论")] == ["不合规", "不合规", "预警", "数据缺失"]
    fails = [c.value or "" for c in _column(ws, "不合规规则")]
    assert fails[1].split("\n") == ["工业用地容积率（低于下限）", "低效工业用地（亩均税收偏低、容积率偏低）"]
    assert fails[2] == "" and fails[3] == ""
    warns = [c.value or "" for c in _column(ws, "预警规则")]
    assert warns[2].split("\n") == ["园内规上工业企业亩均营收", "园内规上工业企业亩均税收", "传统产业严控"]
    assert [c.value or "" for c in _column(ws, "待补数据的规则")][3].split("\n") == ["工业用地容积率", "低效工业用地"]
    assert [c.value for c in _column(ws, "面积（亩）")] == pytest.approx([22.5, 15.0, 15.0, 15.0])
    assert [c.value for c in _column(ws, "入驻企业")] == [None, None, "成都乙水泥有限公司", "@成都丙公司"]
    assert {c.value for c in _column(ws, "园区")} == {"高新西区电子信息产业园"}
    assert {c.value for c in _column(ws, "行政区")} == {"高新区"}
    # the parcel with only a data note (P6, equal split) is not listed
    assert PARCEL_LINK not in got


def test_print_setup_on_every_sheet(book, fixture_result):
    _, wb = book
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize == 9, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        assert ws.page_setup.fitToWidth in (None, 1), ws.title  # absent = 1 page wide (ECMA-376)
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.oddFooter.center.text == "第 &P 页，共 &N 页", ws.title
        assert ws.oddHeader.left.text == "成都市工业用地合规评估报告", ws.title
        assert ws.oddHeader.center.text.startswith(ws.title), ws.title
        assert ws.oddHeader.right.text == "评估基准日 2025-06-30", ws.title
        if ws.title != "汇总":
            assert ws.page_setup.fitToHeight == 0, ws.title  # as many pages long as needed
    # 核查结论 prints only the verdicts to act on, which it lists first
    v = fixture_result.verdicts
    act = int((~v["rule"].astype(object).map(is_note) & v["status"].astype(object).isin(FLAGGED)).sum())
    ws = wb["核查结论"]
    assert ws.print_area == f"'核查结论'!$A$1:$K${act + 1}"
    assert f"打印前 {act:,} 条" in ws.oddHeader.center.text
    statuses = [c.value for c in _column(ws, "结论")]
    assert set(statuses[:act]) <= {"不合规", "预警", "数据缺失"}
    assert not set(statuses[act:]) & {"不合规", "预警", "数据缺失"}


def test_text_from_user_data_stays_text(book):
    path, wb = book
    names = {c.value: c for c in _column(wb["企业"], "企业名称")}
    for name in (HYPERLINK, "@成都丙公司", "+成都丁公司", "-成都戊公司"):
        cell = names[name]
        assert cell.data_type == "s" and cell.quotePrefix, name
    pid = next(c for c in _column(wb["宗地"], "宗地编号") if c.value == PARCEL_LINK)
    assert pid.data_type == "s" and pid.quotePrefix
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(re.search(rb"<f[ >]", z.read(n)) for n in sheets)  # no formula anywhere


def test_csv_prefixes_formula_text_and_keeps_numbers(fixture_result, tmp_path):
    out = write_result(fixture_result, tmp_path / "r.csv")
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype={"subject_id": str})
    assert "'" + PARCEL_LINK in set(frame["subject_id"]) and PARCEL_LINK not in set(frame["subject_id"])
    assert frame["value"].dtype == "float64" and len(frame) == len(fixture_result.verdicts)
    safe = csv_safe(pd.DataFrame({"t": ["=1+1", "-2", "+3", "@x", "\tA", "甲", None], "n": [-1.5, 2, 3, 4, 5, 6, 7]}))
    assert safe["t"].tolist()[:6] == ["'=1+1", "'-2", "'+3", "'@x", "'\tA", "甲"] and pd.isna(safe["t"].iloc[6])
    assert safe["n"].tolist() == [-1.5, 2, 3, 4, 5, 6, 7]


REPR = re.compile(r"^(None|True|False|nan|NaN|NaT|<NA>|inf)$|^[\[{]|\b(None|nan|NaT)\b|\{'|\['")
RULE_ID = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:[._][a-z0-9]+)+(?![\w.])")


def _scan(path: Path) -> list[tuple[str, str, str]]:
    """Cells showing a Python repr, or a rule id / snake_case key outside the small grey id cells."""
    wb = openpyxl.load_workbook(path)
    bad = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if not isinstance(c.value, str):
                    continue
                grey_id = c.font.sz == 8 and c.font.color is not None and c.font.color.rgb == "FF808080"
                text = c.value.replace("\n", " ")
                if REPR.search(text) or (RULE_ID.search(text.replace("http://x", "")) and not grey_id):
                    bad.append((ws.title, c.coordinate, c.value))
    return bad


def test_no_python_reprs_or_bare_ids(book):
    path, _ = book
    assert _scan(path) == []


# ---- the sample ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_book(tmp_path_factory):
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset
    from tests.conftest import DATA_DIR, SAMPLE_AS_OF

    d = DATA_DIR
    inputs = load_inputs(
        d / "parcels.gpkg", d / "enterprises.csv", d / "occupancy.csv", d / "zones.gpkg", d / "land_supply.csv"
    )
    result = evaluate(inputs, load_ruleset("chengdu-2023"), SAMPLE_AS_OF)
    path = write_result(result, tmp_path_factory.mktemp("sample") / "result.xlsx")
    return result, path


def test_sample_report(sample_book):
    result, path = sample_book
    wb = openpyxl.load_workbook(path, read_only=True)
    p = result.parcels
    flagged = p[p["status"].isin(["fail", "warn", "missing_data"])]
    rows = list(wb["问题宗地"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(flagged) and {r[0] for r in rows} == set(flagged["parcel_id"])
    # severity first, then area descending within a status
    order = {"不合规": 0, "预警": 1, "数据缺失": 2}
    keys = [(order[r[1]], -r[5]) for r in rows]
    assert keys == sorted(keys)
    # every flagged row names at least one rule (a failing, warning or waiting-for-data rule), in Chinese
    assert all(any(r[2:5]) for r in rows)
    assert len(list(wb["宗地"].iter_rows(min_row=2))) == len(p)
    # the park names replace the ids
    parks = set(result.zones["parks"]["name"])
    assert {r[8] for r in rows if r[8]} <= parks
    wb.close()
    assert _scan(path) == []


def test_a_result_without_titles_units_or_occupants_still_reads_in_chinese(fixture_result, tmp_path):
    # A result rebuilt from the store carries no rule titles, units or occupants: the titles and units come
    # from the built-in rule set with the same SHA-256; the 入驻企业 column is then empty, never "nan".
    bare = dataclasses.replace(
        fixture_result, rule_titles={}, rule_units={}, occupants=pd.DataFrame(columns=["parcel_id", "enterprise_id"])
    )
    path = write_result(bare, tmp_path / "bare.xlsx")
    wb = openpyxl.load_workbook(path)
    names = {c.value for c in _column(wb["核查结论"], "规则名称")}
    assert "工业用地容积率" in names and not any(n and RULE_ID.search(n) for n in names)
    assert {c.value for c in _column(wb["问题宗地"], "入驻企业")} == {None}
    assert _scan(path) == []
