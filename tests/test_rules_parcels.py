"""Hand-computed fixtures for every parcel rule, including the edges the policy draws.

Geometry: parcels are axis-aligned 100 m × 100 m squares in EPSG:4544 (area 10 000 m² = 15 亩 exactly),
placed 200 m apart along x from X0 so they never touch. Zones are rectangles chosen per test, so the
share of a parcel inside a zone is (overlap width ÷ 100).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis.io import Inputs
from rules.engine import evaluate
from rules.ruleset import load_ruleset

X0, Y0 = 400_000.0, 3_380_000.0
RULES = load_ruleset("chengdu-2023")


def square(i: int, width: float = 100.0) -> shapely.Polygon:
    x = X0 + i * 200
    return shapely.box(x, Y0, x + width, Y0 + 100)


def rect(x0: float, x1: float) -> shapely.Polygon:
    """A zone covering x in [X0+x0, X0+x1] and all the parcels' y range."""
    return shapely.box(X0 + x0, Y0 - 50, X0 + x1, Y0 + 150)


def layer(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs="EPSG:4544")


def parcels(rows: list[dict]) -> gpd.GeoDataFrame:
    base = {"land_use": "100101", "status": "built"}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["parcel_id"] = [f"P{i}" for i in range(len(rows))]
    for col in frame.columns:
        if col.endswith("_date") or col == "halted_since":
            frame[col] = pd.to_datetime(frame[col])
    return gpd.GeoDataFrame(frame, geometry=[square(i) for i in range(len(rows))], crs="EPSG:4544")


def run(rows, zones=None, as_of="2025-06-30", enterprises=None, occupancy=None, ruleset=RULES, **kw):
    gdf = rows if isinstance(rows, gpd.GeoDataFrame) else parcels(rows)
    result = evaluate(
        Inputs(parcels=gdf, zones=zones or {}, enterprises=enterprises, occupancy=occupancy, **kw), ruleset, as_of
    )
    return result


def verdict(result, rule, pid):
    v = result.verdicts
    row = v[(v["rule"] == rule) & (v["subject_id"] == pid)]
    assert len(row) == 1, (rule, pid)
    return row.iloc[0]


WHOLE_RING = {"ring": layer([rect(-10, 10_000)])}
NO_RING = {"ring": layer([rect(50_000, 60_000)])}


# ---- far.bounds ------------------------------------------------------------------------------------
# FAR = floor_area ÷ 10 000 m², so floor area 20 000 → exactly 2.0.
@pytest.mark.parametrize(
    ("floor", "zones", "status", "code"),
    [
        (20_000, WHOLE_RING, "pass", None),  # 2.0 inside: lower bound inclusive
        (40_000, WHOLE_RING, "pass", None),  # 4.0 inside: upper bound inclusive
        (19_940, WHOLE_RING, "fail", "below_min"),  # 1.994 → 1.99 as reported
        (40_060, WHOLE_RING, "fail", "above_max"),  # 4.006 → 4.01
        (19_950, WHOLE_RING, "pass", None),  # 1.995 → 2.00: judged as reported (two decimals)
        (40_040, WHOLE_RING, "pass", None),  # 4.004 → 4.00, e.g. digitising noise on a 4.0 parcel
        (12_000, NO_RING, "pass", None),  # 1.2 outside: lower bound inclusive
        (30_000, NO_RING, "pass", None),  # 3.0 outside
        (11_000, NO_RING, "fail", "below_min"),
        (35_000, NO_RING, "fail", "above_max"),  # 3.5 passes inside, fails outside
    ],
)
def test_far_bounds_edges(floor, zones, status, code):
    r = run([{"floor_area_m2": floor}], zones)
    v = verdict(r, "far.bounds", "P0")
    assert v["status"] == status
    assert v["code"] == code or (code is None and pd.isna(v["code"]))
    assert v["value"] == pytest.approx(floor / 10_000)
    inside = zones is WHOLE_RING
    assert v["threshold"] == ({"min": 2.0, "max": 4.0} if inside else {"min": 1.2, "max": 3.0})
    assert "容积率" in v["message"]
    assert "推动土地集约高效利用" in v["citation"]


def test_far_applicability():
    r = run(
        [
            {"floor_area_m2": 5_000, "special_process": True},
            {"floor_area_m2": 0, "status": "vacant"},
            {"floor_area_m2": 5_000, "land_use": "0701"},
            {"floor_area_m2": None},
            {"floor_area_m2": 30_000, "land_use": "M2"},
            {"floor_area_m2": 30_000, "land_use": "0601"},
        ],
        WHOLE_RING,
    )
    assert [verdict(r, "far.bounds", f"P{i}")["status"] for i in range(6)] == [
        "exempt",
        "not_applicable",
        "not_applicable",
        "missing_data",
        "pass",
        "pass",
    ]


def test_far_without_ring_layer_is_missing_data_not_pass():
    r = run([{"floor_area_m2": 30_000}], {})
    assert verdict(r, "far.bounds", "P0")["status"] == "missing_data"


def test_missing_column_gives_missing_data():
    # No floor_area_m2 column at all: FAR and per-rule need it → missing_data, never a crash or a pass.
    r = run([{"status": "built"}], WHOLE_RING)
    assert verdict(r, "far.bounds", "P0")["status"] == "missing_data"
    assert r.parcels.loc[0, "status"] in ("missing_data", "warn", "fail")


# ---- ring straddling and membership ----------------------------------------------------------------
def test_parcel_straddling_the_ring():
    # Ring edge at x = X0 + 60: 60 % of P0 inside → member (≥ 50 %), straddles warning names the share.
    r = run([{"floor_area_m2": 25_000}], {"ring": layer([rect(-1000, 60)])})
    assert bool(r.parcels.loc[0, "inside_ring"]) is True
    v = verdict(r, "data.straddles", "P0")
    assert v["status"] == "warn" and v["code"] == "straddles"
    assert v["value"] == pytest.approx(0.6)
    assert "绕城高速 60%" in v["message"]
    # 40 % inside → outside the ring: FAR 2.5 judged against 1.2–3.0.
    r = run([{"floor_area_m2": 35_000}], {"ring": layer([rect(-1000, 40)])})
    assert bool(r.parcels.loc[0, "inside_ring"]) is False
    assert verdict(r, "far.bounds", "P0")["code"] == "above_max"


# ---- protection lines ------------------------------------------------------------------------------
def test_red_and_blue_lines_and_their_overlap():
    # P0 (x 0–100) in red; P1 (x 200–300) in blue; P2 (x 400–500) in both (overlap 400–500) → red wins.
    red = layer([rect(-10, 110), rect(390, 510)], zone_id=["R1", "R2"], name=["红线一", "红线二"])
    blue = layer([rect(190, 510)], zone_id=["B1"], name=["蓝线一"])
    rows = [{"planned_use": "0701"}, {"planned_use": "R2"}, {"planned_use": "B1"}, {"planned_use": "100102"}]
    r = run(rows, {"red_line": red, "blue_line": blue})
    assert r.parcels["zone"].tolist()[:3] == ["red_line", "blue_line", "red_line"]
    red_v = verdict(r, "zone.red_line", "P0")
    assert (red_v["status"], red_v["code"]) == ("fail", "conversion") and "红线一" in red_v["message"]
    blue_v = verdict(r, "zone.blue_line", "P1")
    assert (blue_v["status"], blue_v["code"]) == ("fail", "conversion")
    assert verdict(r, "zone.blue_line", "P2")["status"] == "not_applicable"  # red wins
    assert verdict(r, "zone.red_line", "P2")["status"] == "fail"
    overlap = verdict(r, "data.straddles", "P2")
    assert overlap["code"] == "red_blue_overlap" and overlap["value"] == pytest.approx(1.0)
    assert verdict(r, "zone.red_line", "P3")["status"] == "not_applicable"  # outside both (x 600–700)


def test_blue_line_after_2035_is_a_review_warning():
    blue = layer([rect(-10, 110)], zone_id=["B1"], name=["蓝线一"])
    before = run([{"planned_use": "0701"}], {"blue_line": blue}, as_of="2035-12-31")
    after = run([{"planned_use": "0701"}], {"blue_line": blue}, as_of="2036-01-01")
    assert verdict(before, "zone.blue_line", "P0")["status"] == "fail"
    v = verdict(after, "zone.blue_line", "P0")
    assert (v["status"], v["code"]) == ("warn", "review")


def test_zone_outside_retain_exit_unknown():
    parks = layer([rect(590, 710)], park_id=["K1"], name=["园区一"])
    pca = layer([rect(790, 910)])
    rows = [
        {"retainable": True},
        {"retainable": False},
        {"retainable": None},
        {"retainable": False},
        {"retainable": False},
    ]
    r = run(rows, {"parks": parks, "planned_construction_area": pca})
    got = [
        (verdict(r, "zone.outside", f"P{i}")["status"], verdict(r, "zone.outside", f"P{i}")["code"]) for i in range(5)
    ]
    assert got == [
        ("pass", "retain"),
        ("fail", "exit"),
        ("missing_data", None),
        ("not_applicable", None),
        ("not_applicable", None),
    ]


def test_park_management_blocks():
    # Three 15-亩 parcels chained by 100 m gaps are NOT a block at gap 30 m; make touching parcels instead.
    geoms = [shapely.box(X0 + i * 100, Y0, X0 + i * 100 + 100, Y0 + 100) for i in range(4)]  # 4 × 15 = 60 亩
    geoms += [shapely.box(X0 + 5000 + i * 120, Y0, X0 + 5100 + i * 120, Y0 + 100) for i in range(4)]  # gaps 20 m
    geoms += [shapely.box(X0 + 9000, Y0, X0 + 9100, Y0 + 100)]  # alone: 15 亩
    gdf = gpd.GeoDataFrame(
        {"parcel_id": [f"P{i}" for i in range(9)], "land_use": "100101", "status": "built"},
        geometry=geoms,
        crs="EPSG:4544",
    )
    park = layer([shapely.box(X0 + 440, Y0, X0 + 1000, Y0 + 100)], park_id=["K1"], name=["园区"])  # 40 m from P3
    boundary = layer([shapely.box(X0 - 1000, Y0 - 1000, X0 + 20_000, Y0 + 1000)])
    r = run(gdf, {"parks": park, "urban_dev_boundary": boundary})
    codes = [verdict(r, "zone.park_management", f"P{i}")["code"] for i in range(9)]
    assert codes[:4] == ["include_in_park"] * 4
    assert codes[4:8] == ["one_park_multi_site"] * 4
    assert codes[8] == "not_block"
    assert verdict(r, "zone.park_management", "P0")["value"] == pytest.approx(60.0)
    assert verdict(r, "zone.park_management", "P4")["status"] == "warn"


# ---- idle.order53 ----------------------------------------------------------------------------------
# Agreed start 2023-03-01: 满一年 on 2024-03-01 (calendar year, not day 365 = 2024-02-29), 满两年 2025-03-01,
# early warning from 2023-03-01 + 270 days = 2023-11-26.
@pytest.mark.parametrize(
    ("as_of", "status", "code"),
    [
        ("2023-11-25", "pass", "not_idle"),
        ("2023-11-26", "warn", "idle_risk"),
        ("2024-02-29", "warn", "idle_risk"),  # day 365 is not yet 满一年 (2024 is a leap year)
        ("2024-03-01", "fail", "idle_fee_20pct"),
        ("2025-02-28", "fail", "idle_fee_20pct"),
        ("2025-03-01", "fail", "idle_recover"),
    ],
)
def test_idle_calendar_years(as_of, status, code):
    r = run([{"status": "vacant", "agreed_start_date": "2023-03-01"}], as_of=as_of)
    v = verdict(r, "idle.order53", "P0")
    assert (v["status"], v["code"]) == (status, code)
    assert v["threshold"]["fee_date"] == "2024-03-01" and v["threshold"]["recover_date"] == "2025-03-01"


@pytest.mark.parametrize("cause", ["government", "force_majeure"])
def test_idle_government_cause_negotiates(cause):
    r = run([{"status": "vacant", "agreed_start_date": "2022-01-01", "delay_cause": cause}])
    v = verdict(r, "idle.order53", "P0")
    assert (v["status"], v["code"]) == ("warn", "idle_negotiate")


@pytest.mark.parametrize(
    ("developed", "invested", "code"),
    [
        (1000, 250, "not_idle"),  # exactly 1/3 of 3000 m² and exactly 25 % of 1000 万元: not 不足
        (999, 250, "idle_recover"),  # area just under 1/3
        (1000, 249, "idle_recover"),  # investment just under 25 %
    ],
)
def test_idle_halted_project_thresholds(developed, invested, code):
    row = {
        "status": "under_construction",
        "actual_start_date": "2021-01-01",
        "halted_since": "2023-01-01",
        "planned_dev_area_m2": 3000,
        "developed_area_m2": developed,
        "total_investment_10k": 1000,
        "invested_10k": invested,
    }
    r = run([row], as_of="2025-06-30")  # halted 2.5 years → 满两年 since halted_since
    assert verdict(r, "idle.order53", "P0")["code"] == code


def test_idle_halted_counts_from_halted_since():
    row = {
        "status": "under_construction",
        "actual_start_date": "2021-01-01",
        "halted_since": "2024-07-01",
        "planned_dev_area_m2": 3000,
        "developed_area_m2": 100,
        "total_investment_10k": 1000,
        "invested_10k": 10,
    }
    assert verdict(run([row], as_of="2025-06-30"), "idle.order53", "P0")["code"] == "not_idle"  # 364 days
    assert verdict(run([row], as_of="2025-07-01"), "idle.order53", "P0")["code"] == "idle_fee_20pct"


# ---- occupancy apportioning and per-mu -------------------------------------------------------------
PARK_ALL = {"parks": layer([rect(-10, 10_000)], park_id=["K1"], name=["园区"])}


def test_two_tenants_split_by_floor_area_and_equal_split_fallback():
    # P0: floor area 20 000 m²; E1 occupies 12 000, E2 6 000 → land 10 000 × 0.6 = 6 000 m² (9 亩) and
    # 3 000 m² (4.5 亩); 2 000 m² vacant floor goes to nobody. P1: no floor areas → 5 000 m² each (7.5 亩).
    rows = [{"floor_area_m2": 20_000}, {"floor_area_m2": 20_000}]
    occ = pd.DataFrame(
        {
            "enterprise_id": ["E1", "E2", "E3", "E4"],
            "parcel_id": ["P0", "P0", "P1", "P1"],
            "floor_area_m2": [12_000, 6_000, None, None],
        }
    )
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1", "E2", "E3", "E4"],
            "name": list("甲乙丙丁"),
            "industry_code": ["C3981"] * 4,
            "revenue_10k": [9_000.0, 2_250.0, 7_500.0, 3_000.0],
            "tax_10k": [450.0, 90.0, 300.0, 150.0],
        }
    )
    r = run(rows, PARK_ALL, enterprises=ent, occupancy=occ)
    firms = r.enterprises.set_index("enterprise_id")
    assert firms.loc["E1", "land_mu"] == pytest.approx(9.0)
    assert firms.loc["E2", "land_mu"] == pytest.approx(4.5)
    assert firms.loc["E3", "land_mu"] == pytest.approx(7.5)
    # E1: 9000/9 = 1000 万元/亩; E2: 2250/4.5 = 500 → parcel value (9×1000 + 4.5×500) / 13.5 = 833.33
    assert firms.loc["E1", "revenue_per_mu_10k"] == pytest.approx(1000.0)
    v = verdict(r, "per_mu.revenue", "P0")
    assert v["status"] == "pass" and v["value"] == pytest.approx((9 * 1000 + 4.5 * 500) / 13.5)
    # E4 revenue 3000/7.5 = 400 < 650: below the city's collective target, a warning (v2), gap 650 − 400 = 250;
    # P1 = (7.5×1000 + 7.5×400)/15 = 700.
    ev = r.verdicts[(r.verdicts["level"] == "enterprise") & (r.verdicts["rule"] == "per_mu.revenue")]
    e4 = ev.set_index("subject_id").loc["E4"]
    assert (e4["status"], e4["code"], e4["value"]) == ("warn", "below_target", pytest.approx(400.0))
    assert "低于2025年全市目标 650 万元/亩，差 250.0" in e4["message"]
    assert verdict(r, "per_mu.revenue", "P1")["value"] == pytest.approx(700.0)
    split = verdict(r, "data.occupancy", "P1")
    assert (split["status"], split["code"]) == ("warn", "equal_split")
    assert verdict(r, "data.occupancy", "P0")["code"] == "by_floor_area"


def test_per_mu_scope_below_scale_and_outside_park():
    rows = [{"enterprise_id": "E1"}, {"enterprise_id": "E2"}]
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1", "E2"],
            "name": ["甲", "乙"],
            "industry_code": ["C39", "C39"],
            "revenue_10k": [1500.0, 30_000.0],
            "tax_10k": [10.0, 900.0],
        }
    )
    park = {"parks": layer([rect(-10, 110)], park_id=["K1"], name=["园区"])}  # only P0 in the park
    r = run(rows, park, enterprises=ent)
    assert verdict(r, "per_mu.tax", "P0")["code"] == "below_scale"  # 1500 < 2000 万元
    assert verdict(r, "per_mu.tax", "P1")["code"] == "outside_park"
    # E2 tax per mu = 900 / 15 = 60 ≥ 30, but it is outside parks → not_applicable
    ev = r.verdicts[(r.verdicts["level"] == "enterprise") & (r.verdicts["rule"] == "per_mu.tax")].set_index(
        "subject_id"
    )
    assert ev.loc["E2", "status"] == "not_applicable" and ev.loc["E2", "value"] != ev.loc["E2", "value"]


def test_per_mu_without_enterprises_is_missing_data():
    r = run([{"enterprise_id": "E1"}], PARK_ALL)
    assert verdict(r, "per_mu.revenue", "P0")["status"] == "missing_data"


# ---- low efficiency --------------------------------------------------------------------------------
def test_low_efficiency_criteria_and_disposal_routes():
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1", "E2"],
            "name": ["甲", "乙"],
            "industry_code": ["C39", "C39"],
            "revenue_10k": [5000.0, 9000.0],
            "tax_10k": [150.0, 600.0],
        }
    )
    rows = [
        # tax 150/15 = 10 < 15 (50 % of 30); FAR 1.5 < 2.0; coverage 2500/10000 = 25 % < 30 %; supplied 2010
        {"enterprise_id": "E1", "floor_area_m2": 15_000, "footprint_m2": 2_500, "transfer_date": "2010-05-01"},
        # tax 600/15 = 40; FAR 2.5; coverage 40 % → pass
        {"enterprise_id": "E2", "floor_area_m2": 25_000, "footprint_m2": 4_000, "transfer_date": "2018-05-01"},
    ]
    r = run(rows, WHOLE_RING, enterprises=ent)
    v = verdict(r, "low_efficiency", "P0")
    assert v["status"] == "fail" and v["code"] == "tax+far+coverage"
    assert v["value"] == pytest.approx(10.0)
    assert "收购收储" in v["message"]  # supplied before 2015-11-10 → disposal routes listed
    assert verdict(r, "low_efficiency", "P1")["status"] == "pass"


def test_idle_land_is_not_also_low_efficiency():
    row = {
        "status": "under_construction",
        "actual_start_date": "2021-01-01",
        "halted_since": "2022-01-01",
        "planned_dev_area_m2": 3000,
        "developed_area_m2": 100,
        "total_investment_10k": 1000,
        "invested_10k": 10,
        "floor_area_m2": 100,
        "footprint_m2": 100,
    }
    r = run([row], WHOLE_RING)
    assert verdict(r, "idle.order53", "P0")["status"] == "fail"
    assert verdict(r, "low_efficiency", "P0")["code"] == "idle"


# ---- 标准地 ------------------------------------------------------------------------------------------
def test_standard_land_required_and_performance():
    full = {
        "standard_land": True,
        "committed_investment_per_mu_10k": 400.0,
        "committed_revenue_per_mu_10k": 600.0,
        "committed_tax_per_mu_10k": 30.0,
    }
    rows = [
        {"transfer_date": "2024-01-01", **full},  # on the day: applies, complete
        {"transfer_date": "2024-02-01", "standard_land": False},  # not 标准地
        {"transfer_date": "2024-02-01", "standard_land": True, "committed_tax_per_mu_10k": 30.0},  # commitments missing
        {"transfer_date": "2023-12-31", "standard_land": False},  # before the date
        {
            "transfer_date": "2024-03-01",
            "production_due_date": "2025-01-01",
            "enterprise_id": "E1",
            "invested_10k": 6_000.0,
            **full,
        },  # 6000/15 = 400 invested per mu
    ]
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1"],
            "name": ["甲"],
            "industry_code": ["C39"],
            "revenue_10k": [7_500.0],
            "tax_10k": [300.0],
        }
    )  # 500 and 20 per mu: below 600 / 30
    r = run(rows, PARK_ALL, enterprises=ent)
    req = [verdict(r, "standard_land.required", f"P{i}") for i in range(5)]
    assert [v["status"] for v in req] == ["pass", "fail", "fail", "not_applicable", "pass"]
    assert req[1]["code"] == "not_standard_land" and req[2]["code"] == "missing_commitments"
    perf = verdict(r, "standard_land.performance", "P4")
    assert (perf["status"], perf["code"]) == ("fail", "below_commitment")
    assert perf["value"] == pytest.approx(20 / 30)  # worst ratio: tax 20 of 30
    assert "亩均营收" in perf["message"] and "亩均投资" not in perf["message"]  # investment met exactly
    assert verdict(r, "standard_land.performance", "P0")["status"] == "missing_data"  # no due date


# ---- industry.restricted ---------------------------------------------------------------------------
def test_restricted_industries_new_and_existing():
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1", "E2", "E3"],
            "name": ["钢", "纸", "芯"],
            "industry_code": ["C3120", "C2221", "C3973"],
            "revenue_10k": [1e4, 1e4, 1e4],
            "tax_10k": [300.0, 300.0, 300.0],
        }
    )
    rows = [
        {"enterprise_id": "E1", "status": "under_construction", "transfer_date": "2023-03-23"},  # new → fail
        {"enterprise_id": "E2", "status": "built", "transfer_date": "2010-01-01"},  # existing → warn
        {"enterprise_id": "E3", "status": "vacant", "transfer_date": "2024-01-01"},  # not restricted
        {"enterprise_id": "E1", "status": "under_construction", "transfer_date": "2023-03-22"},  # supplied before
    ]
    r = run(rows, enterprises=ent)
    got = [verdict(r, "industry.restricted", f"P{i}") for i in range(4)]
    assert [(v["status"], v["code"]) for v in got] == [
        ("fail", "restricted_new"),
        ("warn", "restricted_existing"),
        ("pass", None),
        ("warn", "restricted_existing"),
    ]
    assert "钢铁" in got[0]["message"] and "造纸" in got[1]["message"]


# ---- overall status --------------------------------------------------------------------------------
def test_overall_status_is_most_severe():
    r = run([{"floor_area_m2": 10_000}, {"floor_area_m2": 25_000, "retainable": True}], WHOLE_RING)
    assert r.parcels.loc[0, "status"] == "fail"
    statuses = r.verdicts[r.verdicts["subject_id"] == "P1"]["status"].astype(str)
    expected = (
        "fail"
        if (statuses == "fail").any()
        else "warn"
        if (statuses == "warn").any()
        else ("missing_data" if (statuses == "missing_data").any() else "pass")
    )
    assert r.parcels.loc[1, "status"] == expected
    assert set(np.unique(r.parcels["status"])) <= {"pass", "warn", "fail", "missing_data"}
