"""The parcel timeline, the 预警清单 and the Word notices, on hand-made parcels whose dates are known by hand.

Parcels are 100 m × 100 m squares (10 000 m² = 15 亩) from ``tests.test_rules_parcels``; the as-of date is
2025-06-30 throughout. Dates by hand (Order 53 counts calendar years, the early warning 270 days):

- P0 vacant, agreed start 2023-03-01: warning 2023-03-01 + 270 d = 2023-11-26 (Mar 31 is +30, Apr +60, May +91,
  Jun +121, Jul +152, Aug +183, Sep +213, Oct +244, Nov 26 +270); 满一年 2024-03-01; 满两年 2025-03-01.
- P1 vacant, agreed start 2024-02-29 (a leap day): 满一年 2025-02-28, 满两年 2026-02-28 (no 29 February in
  2026); 满两年 is 243 days after the as-of date (Jul 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31 + Jan 31
  + Feb 28 = 243).
- P2 under construction, started 2021-01-01, halted 2023-05-10 with 100 of 3000 m² developed and 10 of 1000 万元
  invested: the clock runs from halted_since, 满两年 2025-05-10; no early warning (that is for land not started).
- P3 built, 达产 due 2025-08-01: 32 days after the as-of date (Jul 1 is +1, Jul 31 +31, Aug 1 +32). No firm
  on it, so its per-mu tax is 0.0 < 15.0: 低效 by tax.
- P4 residential (0701) vacant, agreed start 2023-03-01: the idle rule does not apply, so no idle deadlines.
- P5 built, floor area 9 000 m² → FAR 0.90 outside the ring (minimum 1.2): 低效 by FAR.
"""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from gis.io import Inputs
from rules.engine import evaluate
from rules.ruleset import load_ruleset
from rules.timeline import timeline, warning_list
from tests.test_rules_parcels import X0, Y0, parcels

RULES = load_ruleset("chengdu-2023")
AS_OF = "2025-06-30"
ROWS = [
    {"status": "vacant", "agreed_start_date": "2023-03-01", "transfer_date": "2022-09-15"},
    {"status": "vacant", "agreed_start_date": "2024-02-29"},
    {"status": "under_construction", "actual_start_date": "2021-01-01", "halted_since": "2023-05-10",
     "planned_dev_area_m2": 3000, "developed_area_m2": 100, "total_investment_10k": 1000, "invested_10k": 10},
    {"status": "built", "production_due_date": "2025-08-01"},
    {"status": "vacant", "land_use": "0701", "agreed_start_date": "2023-03-01"},
    {"status": "built", "floor_area_m2": 9000.0, "enterprise_id": "E1"},
]
# the ring far away from the parcels: every parcel is outside it
RING = gpd.GeoDataFrame(geometry=[shapely.box(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1_000)], crs="EPSG:4544")
FIRMS = pd.DataFrame({"enterprise_id": ["E1"], "name": ["成都测试<精工>&研发有限公司"], "revenue_10k": [100.0],
                      "tax_10k": [np.nan]})


def _events():
    gdf = parcels(ROWS)
    result = evaluate(Inputs(parcels=gdf, zones={"ring": RING}), RULES, AS_OF)
    return gdf, result, timeline(gdf, RULES, AS_OF, result)


def _date(events, pid, event):
    rows = events[(events["parcel_id"] == pid) & (events["event"] == event)]
    return [str(d.date()) for d in rows["date"]]


def test_order53_dates_known_by_hand_and_as_the_rule_computes_them():
    gdf, result, events = _events()
    assert _date(events, "P0", "idle_warning") == ["2023-11-26"]
    assert _date(events, "P0", "idle_fee") == ["2024-03-01"]
    assert _date(events, "P0", "idle_recover") == ["2025-03-01"]
    assert _date(events, "P1", "idle_fee") == ["2025-02-28"]
    assert _date(events, "P1", "idle_recover") == ["2026-02-28"]
    assert _date(events, "P2", "idle_recover") == ["2025-05-10"]
    assert _date(events, "P2", "idle_warning") == []
    assert _date(events, "P4", "idle_recover") == [] and _date(events, "P4", "agreed_start") == ["2023-03-01"]
    # the same dates the idle verdicts carry
    v = result.verdicts
    idle = v[(v["rule"] == "idle.order53") & v["subject_id"].isin(["P0", "P1", "P2"])]
    for pid, thr in zip(idle["subject_id"], idle["threshold"], strict=True):
        assert _date(events, pid, "idle_recover") == [thr["recover_date"]]
        assert _date(events, pid, "idle_fee") == [thr["fee_date"]]


def test_order_phases_and_days():
    _, _, events = _events()
    p0 = events[events["parcel_id"] == "P0"]
    assert p0["event"].tolist() == ["transfer", "agreed_start", "idle_warning", "idle_fee", "idle_recover",
                                    "evaluation"]
    assert p0["phase"].tolist() == ["past"] * 5 + ["today"]
    p1 = events[(events["parcel_id"] == "P1") & (events["event"] == "idle_recover")].iloc[0]
    assert (p1["phase"], p1["days"], p1["deadline"]) == ("upcoming", 243, True)
    p3 = events[(events["parcel_id"] == "P3") & (events["event"] == "production_due")].iloc[0]
    assert (p3["phase"], p3["days"], p3["label"]) == ("upcoming", 32, "达产/到期")
    assert events.loc[events["event"] == "evaluation", "detail"].str.startswith("总体结论：").all()
    # a parcel that started keeps its agreed start date, but not as a deadline
    started = parcels([{"status": "built", "agreed_start_date": "2025-09-01", "actual_start_date": "2025-05-01"}])
    ev = timeline(started, RULES, AS_OF)
    assert ev[["event", "deadline"]].values.tolist() == [["actual_start", False], ["agreed_start", False]]


def test_warning_list_horizon_is_inclusive():
    _, _, events = _events()
    assert warning_list(events, 90)[["parcel_id", "event"]].values.tolist() == [["P3", "production_due"]]
    assert warning_list(events, 243)["parcel_id"].tolist() == ["P3", "P1"]  # soonest first
    assert warning_list(events, 242)["parcel_id"].tolist() == ["P3"]
    assert warning_list(events, 31).empty
    with pytest.raises(ValueError):
        warning_list(events, -1)


# ---- through the CLI, on real files ---------------------------------------------------------------------
@pytest.fixture
def files(tmp_path):
    gdf = parcels(ROWS)
    gdf["parcel_id"] = [*gdf["parcel_id"].iloc[:3], "=P3", *gdf["parcel_id"].iloc[4:]]  # a formula-like id
    p = tmp_path / "parcels.gpkg"
    gdf.to_file(p, layer="parcels", driver="GPKG")
    z = tmp_path / "zones.gpkg"
    RING.to_file(z, layer="ring", driver="GPKG")
    e = tmp_path / "enterprises.csv"
    FIRMS.to_csv(e, index=False)
    return {"parcels": p, "zones": z, "enterprises": e, "dir": tmp_path}


def mujun(*args: str):
    from api.cli import _load_commands, app

    _load_commands()
    res = CliRunner().invoke(app, [str(a) for a in args])
    res.said = " ".join(res.output.split())  # rich wraps long lines: the text with single spaces
    return res


def _evaluate(files) -> str:
    out = files["dir"] / "result.gpkg"
    res = mujun("evaluate", "-q", "-p", files["parcels"], "--zones", files["zones"], "--enterprises",
                files["enterprises"], "--as-of", AS_OF, "-o", out)
    assert res.exit_code == 0, res.output
    return out


def test_warnings_cli_writes_a_print_ready_xlsx(files):
    import openpyxl

    result = _evaluate(files)
    xlsx = files["dir"] / "warn.xlsx"
    res = mujun("warnings", result, "-p", files["parcels"], "--within", 243, "--out", xlsx)
    assert res.exit_code == 0, res.output
    assert "243 天内到期 2 项" in res.said
    ws = openpyxl.load_workbook(xlsx)["预警清单"]
    assert [c.value for c in ws[1]][:4] == ["到期日期", "剩余天数", "宗地编号", "事项"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [r[:4] for r in rows] == [[datetime(2025, 8, 1), 32, "=P3", "达产/到期"],
                                     [datetime(2026, 2, 28), 243, "P1", "满两年（收回）"]]
    assert ws["C2"].data_type == "s"  # the formula-like parcel id stays text
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
    assert ws.print_title_rows == "$1:$1"  # the header row on every printed page
    # no inputs: a clear error, exit 2
    res = mujun("warnings", result, "--within", 90)
    assert res.exit_code == 2 and "--parcels" in res.said


def test_notices_cli_one_docx_per_flagged_parcel(files):
    import docx
    import pyogrio

    result = _evaluate(files)
    out = files["dir"] / "notices"
    res = mujun("notices", result, "-p", files["parcels"], "--out", out)
    assert res.exit_code == 0, res.output
    written = sorted(p.name for p in out.glob("*.docx"))
    # counted from the result: idle 预警/不合规, low efficiency 不合规, 标准地 performance 不合规
    layer = pyogrio.read_dataframe(result, layer="parcels", read_geometry=False)
    expected = (int(layer["st_idle_order53"].isin(["warn", "fail"]).sum())
                + int((layer["st_low_efficiency"] == "fail").sum())
                + int((layer["st_standard_land_performance"] == "fail").sum()))
    # by hand: P0, P1, P2 idle; P5 low efficiency by FAR 0.90; P3 (built, no firm on it: per-mu tax 0.0 < 15.0)
    # low efficiency by tax
    assert len(written) == expected == 5
    assert written == ["低效用地整改告知书_=P3.docx", "低效用地整改告知书_P5.docx", "闲置土地调查通知书_P0.docx",
                       "闲置土地调查通知书_P1.docx", "闲置土地调查通知书_P2.docx"]

    doc = docx.Document(out / "低效用地整改告知书_P5.docx")
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    assert "成都测试<精工>&研发有限公司：" in text  # escaped into the XML, read back as written
    assert "宗地编号 P5" in text and "面积 15.00 亩" in text
    assert "容积率低于下限（0.90 < 1.2）" in text  # the verdict's finding
    assert ["工业用地容积率", "0.90", "1.20–3.00"] in cells  # the measured FAR against its bounds
    assert "文号：＿" in text and "（盖章）" in text
    assert "对已动工建设但未构成闲置的低效工业用地" in text  # 四（八） cited in full
    sec = doc.sections[0]
    mm = [round(x / 36000) for x in (sec.page_width, sec.page_height, sec.top_margin, sec.bottom_margin,
                                      sec.left_margin, sec.right_margin)]
    assert mm == [210, 297, 37, 35, 28, 26]  # A4, 公文 margins (top, bottom, left, right)
    from docx.oxml.ns import qn

    def east_asian(run_or_style) -> str:
        return run_or_style.element.rPr.rFonts.get(qn("w:eastAsia"))

    assert east_asian(doc.styles["Normal"]) == "仿宋"
    title = next(p for p in doc.paragraphs if p.text == "低效用地整改告知书")
    assert east_asian(title.runs[0]) == "黑体" and title.runs[0].font.size.pt == 22

    idle = docx.Document(out / "闲置土地调查通知书_P0.docx")
    cells = [[c.text for c in row.cells] for t in idle.tables for row in t.rows]
    assert ["满两年（收回）", "2025年3月1日", "已过"] in cells
    assert ["闲置土地认定与处置", "852 天", "起算日 2023-03-01，满一年 2024-03-01，满两年 2025-03-01，满 270 天预警"] \
        in cells  # 2023-03-01 → 2025-06-30: 366 + 365 + 121 = 852 days (2024 is a leap year)
    assert "第十四条" in "\n".join(p.text for p in idle.paragraphs)

    res = mujun("notices", result, "-p", files["parcels"], "--out", out, "--kind", "standard_land")
    assert res.exit_code == 0 and "0 份告知书" in res.said
    empty = files["dir"] / "empty"
    empty.mkdir()
    res = mujun("notices", result, "-p", files["parcels"], "--out", out, "--templates", empty)
    assert res.exit_code == 2 and "idle.docx" in res.said


def test_committed_templates_are_what_the_script_builds(tmp_path):
    import importlib.util
    import zipfile
    from pathlib import Path

    from rules.notices import NOTICE_KINDS, TEMPLATES

    script = Path(__file__).parents[1] / "scripts" / "build_notice_templates.py"
    spec = importlib.util.spec_from_file_location("build_notice_templates", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["build", str(tmp_path)])
    for kind in NOTICE_KINDS:
        shipped, built = zipfile.ZipFile(TEMPLATES / f"{kind}.docx"), zipfile.ZipFile(tmp_path / f"{kind}.docx")
        assert shipped.namelist() == built.namelist()
        assert all(shipped.read(n) == built.read(n) for n in shipped.namelist()), kind
