"""Contract v2 (data-contract.md, 2026-11-30): overall not_applicable / exempt, data.* notes, per-mu warnings.

Fixtures are the hand-built 100 m squares of ``test_rules_parcels`` (10 000 m² = 15 亩 each, 200 m apart along x),
with every zone layer given so that no rule reports a missing layer.
"""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from rules.vocabulary import STATUS_ORDER, code_label, threshold_text
from tests.test_rules_parcels import RULES, X0, Y0, layer, parcels, rect, run, verdict

# Everything inside the ring, the urban development boundary, the planned construction area and one park;
# a red line over x ∈ [0, 30] covers 30 % of parcel P0 (x ∈ [0, 100]) only.
ALL_ZONES = {
    "ring": layer([rect(-10, 10_000)]),
    "parks": layer([rect(-10, 10_000)], park_id=["K1"], name=["园区甲"]),
    "urban_dev_boundary": layer([rect(-10, 10_000)]),
    "planned_construction_area": layer([rect(-10, 10_000)]),
    "red_line": layer([rect(0, 30)], zone_id=["R1"], name=["红线一"]),
    "blue_line": layer([rect(5_000, 5_100)], zone_id=["B1"], name=["蓝线一"]),
    "districts": layer([rect(-10, 10_000)], name=["双流区"], construction_land_m2=[1e6]),
}
# An enterprise table whose only firm occupies none of the parcels (so the per-mu and industry rules know there
# is no occupant rather than missing data).
OTHER_FIRM = pd.DataFrame(
    {"enterprise_id": ["E9"], "name": ["乙"], "industry_code": ["C3981"], "revenue_10k": [1.0], "tax_10k": [1.0]}
)


def test_residential_land_is_overall_not_applicable_and_its_straddle_is_not_checked():
    # P0 residential (0701), 30 % inside the red line: no rule applies, so overall not_applicable (never pass),
    # and data.straddles does not apply either (no zone rule applies to residential land).
    r = run([{"land_use": "0701", "floor_area_m2": 25_000}], ALL_ZONES, enterprises=OTHER_FIRM)
    parcel = r.parcels.set_index("parcel_id").loc["P0"]
    assert parcel["status"] == "not_applicable"
    straddle = verdict(r, "data.straddles", "P0")
    assert straddle["status"] == "not_applicable"
    assert r.summary["by_status"]["not_applicable"] == 1 and r.summary["by_status"]["pass"] == 0
    assert list(r.summary["by_status"]) == list(STATUS_ORDER)


def test_planned_industrial_use_brings_a_straddling_parcel_into_scope():
    # Residential land proposed for industry (planned_use 100101): the zone rules concern it, so the 30 %
    # straddle of the red line is reported as a note.
    r = run([{"land_use": "0701", "planned_use": "100101"}], ALL_ZONES)
    straddle = verdict(r, "data.straddles", "P0")
    assert (straddle["status"], straddle["code"]) == ("warn", "straddles")
    assert straddle["value"] == pytest.approx(0.30)


def test_a_data_note_alone_never_makes_the_overall_status_worse():
    # Two identical built industrial parcels with FAR 2.5 (inside the ring's 2.0–4.0), footprint 50 %, no
    # occupants; P0 straddles the red line (30 %), P1 (x ∈ [200, 300]) lies in no red line. Their verdicts differ
    # only by the data.straddles note, so their overall statuses must be equal.
    rows = [{"floor_area_m2": 25_000, "footprint_m2": 5_000, "transfer_date": "2010-01-01"}] * 2
    r = run(rows, ALL_ZONES)
    assert verdict(r, "data.straddles", "P0")["status"] == "warn"
    assert verdict(r, "data.straddles", "P1")["status"] == "pass"
    status = r.parcels.set_index("parcel_id")["status"]
    assert status["P0"] == status["P1"]
    non_note = r.verdicts[(r.verdicts["subject_id"] == "P0") & ~r.verdicts["rule"].str.startswith("data.")]
    assert "warn" not in set(non_note["status"]) and status["P0"] != "warn"


def test_only_exempt_verdicts_make_the_parcel_exempt():
    # A rule set reduced to far.bounds: a special-process parcel is exempt, a residential one not_applicable,
    # FAR 1.0 inside the ring (below 2.0) fails.
    only_far = RULES.model_copy(update={"rules": [RULES.rule("far.bounds")]})
    rows = [
        {"special_process": True, "floor_area_m2": 5_000},
        {"land_use": "0701", "floor_area_m2": 5_000},
        {"floor_area_m2": 10_000},
    ]
    r = run(rows, ALL_ZONES, ruleset=only_far)
    assert r.parcels["status"].tolist() == ["exempt", "not_applicable", "fail"]


def test_per_mu_below_the_collective_target_is_a_warning_with_the_gap():
    # One above-scale firm on P0 (15 亩): revenue 7 000 → 466.7 万元/亩 (gap 650 − 466.67 = 183.3); tax 300 →
    # 20.0 万元/亩 (gap 10.0). Both below the 2025 targets: warn below_target, never fail.
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1"],
            "name": ["甲"],
            "industry_code": ["C3981"],
            "revenue_10k": [7_000.0],
            "tax_10k": [300.0],
        }
    )
    r = run([{"enterprise_id": "E1", "floor_area_m2": 25_000}], ALL_ZONES, enterprises=ent)
    rev, tax = verdict(r, "per_mu.revenue", "P0"), verdict(r, "per_mu.tax", "P0")
    assert (rev["status"], rev["code"]) == ("warn", "below_target")
    assert rev["value"] == pytest.approx(7_000 / 15)
    assert "低于2025年全市目标 650 万元/亩，差 183.3" in rev["message"]
    assert (tax["status"], tax["code"]) == ("warn", "below_target") and "差 10.0" in tax["message"]
    assert code_label(rev["code"]) == "低于2025年全市目标"
    assert threshold_text(rev["threshold"], "万元/亩") == "≥ 650.0 万元/亩"
    firm = r.verdicts[(r.verdicts["level"] == "enterprise") & (r.verdicts["rule"] == "per_mu.revenue")].iloc[0]
    assert (firm["status"], firm["code"]) == ("warn", "below_target")
    assert set(r.verdicts.loc[r.verdicts["rule"].str.startswith("per_mu."), "status"]) == {"warn"}


def test_a_parcel_in_no_block_is_outside_park_management():
    # Outside every park: one 15 亩 industrial parcel alone (no block of ≥ 50 亩 within 30 m gaps) → not_applicable,
    # code not_block; four parcels 20 m apart (60 亩) → a block, warn one_park_multi_site (no park within 50 m).
    zones = {**ALL_ZONES, "parks": layer([rect(20_000, 21_000)], park_id=["K1"], name=["园区甲"])}
    lone = run([{}], zones)
    v = verdict(lone, "zone.park_management", "P0")
    assert (v["status"], v["code"]) == ("not_applicable", "not_block")
    # x-offsets 120 m apart: 100 m squares with 20 m gaps
    boxes = [shapely.box(X0 + i * 120, Y0, X0 + i * 120 + 100, Y0 + 100) for i in range(4)]
    close = parcels([{}] * 4).set_geometry(boxes)
    r = run(close, zones)
    v = verdict(r, "zone.park_management", "P0")
    assert (v["status"], v["code"]) == ("warn", "one_park_multi_site") and v["value"] == pytest.approx(60.0)


def test_rule_sets_say_warn_for_per_mu_and_cite_the_2020_arithmetic_right():
    from rules.ruleset import load_ruleset

    for rs in (load_ruleset("chengdu-2023"), load_ruleset("chengdu-2020")):
        assert "fail" not in rs.rule("per_mu.revenue").messages and "below_target" in rs.rule("per_mu.tax").messages
    text = load_ruleset("chengdu-2020").citations["plan6_targets"]
    assert "提高 60%、50%" in text and "低 60%" not in text
