"""Grades, aggregates, rule-set files, exports and the CLI, on small hand-computed fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import yaml

from gis.io import Inputs
from rules.errors import RuleSetError
from rules.export import write_result
from rules.ruleset import load_ruleset, parse_ruleset
from tests.test_rules_parcels import PARK_ALL, RULES, WHOLE_RING, layer, parcels, rect, run

REPO = Path(__file__).parents[1]
DATA_DIR = REPO / "data" / "sample_parcels"


# ---- mujun.grade -----------------------------------------------------------------------------------
def test_grade_scores_and_shares():
    # Ten firms on one 15-亩 parcel each; only revenue and tax vary. With all other indicators missing, the
    # score is 20 × min(rev/median_rev, 2) + 20 × min(tax/median_tax, 2). Revenue = tax × 20 for every firm,
    # so both ratios are equal: score = 40 × min(k / median, 2). k = 1..10 → median 5.5.
    n = 10
    rows = [{"enterprise_id": f"E{i}"} for i in range(n)]
    tax = [float(k) * 100 for k in range(1, n + 1)]
    ent = pd.DataFrame(
        {
            "enterprise_id": [f"E{i}" for i in range(n)],
            "name": [f"企业{i}" for i in range(n)],
            "industry_code": "C39",
            "revenue_10k": [t * 20 for t in tax],
            "tax_10k": tax,
        }
    )
    r = run(rows, PARK_ALL, enterprises=ent)
    firms = r.enterprises.set_index("enterprise_id")
    assert firms.loc["E9", "score"] == pytest.approx(40 * min(10 / 5.5, 2))
    assert firms.loc["E0", "score"] == pytest.approx(40 * 1 / 5.5)
    # Shares A 30 %, B 60 %, C 5 %, D 5 % of 10 firms: ranks 1–3 A, 4–9 B, none C (9.5 rounds into B), 10 D.
    assert firms["grade"].tolist() == ["D"] + ["B"] * 6 + ["A"] * 3
    g = r.verdicts[(r.verdicts["rule"] == "mujun.grade")].set_index("subject_id")
    assert g.loc["E0", "status"] == "fail" and g.loc["E9", "status"] == "pass"
    assert g.loc["E9", "threshold"]["benchmarks"]["亩均税收"] == pytest.approx(550 / 15)


# ---- aggregates ------------------------------------------------------------------------------------
def test_aggregates_industrial_share_park_per_mu_and_supply():
    # Two industrial parcels (30 亩 = 20 000 m²) and one residential in a district of 80 000 m² construction
    # land → 25 % exactly: pass. The park holds P0 only: E1 revenue 9 750 / 15 亩 = 650 → pass; tax 435/15 = 29 → fail.
    rows = [{"enterprise_id": "E1"}, {}, {"land_use": "R2"}]
    districts = layer([rect(-10, 10_000)], name=["高新区"], construction_land_m2=[80_000.0])
    parks = layer([rect(-10, 110)], park_id=["K1"], name=["园区一"])
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1"],
            "name": ["甲"],
            "industry_code": ["C39"],
            "revenue_10k": [9_750.0],
            "tax_10k": [435.0],
        }
    )
    supply = pd.DataFrame(
        {
            "year": [2023, 2023, 2024, 2024],
            "land_use": ["100101", "R2", "M1", "B1"],
            "area_m2": [30.0, 70.0, 40.0, 60.0],
        }
    )
    r = run(rows, {"districts": districts, "parks": parks}, enterprises=ent, land_supply=supply)
    agg = r.aggregates
    share = agg[(agg["rule"] == "agg.industrial_share") & (agg["key"] == "高新区")].iloc[0]
    assert share["value"] == pytest.approx(0.25) and share["status"] == "pass"
    per_mu = agg[(agg["rule"] == "agg.park_per_mu") & (agg["key"] == "K1")].set_index("code")
    assert per_mu.loc["revenue", "value"] == pytest.approx(650.0) and per_mu.loc["revenue", "status"] == "pass"
    assert per_mu.loc["tax", "value"] == pytest.approx(29.0) and per_mu.loc["tax", "status"] == "fail"
    supply_rows = agg[agg["rule"] == "agg.supply_share"].set_index("key")
    assert supply_rows.loc["2023", "status"] == "pass" and supply_rows.loc["2023", "value"] == pytest.approx(0.3)
    assert supply_rows.loc["2024", "status"] == "pass" and supply_rows.loc["2024", "value"] == pytest.approx(0.4)
    assert r.summary["city"]["agg.park_per_mu.tax"]["status"] == "fail"


def test_aggregates_without_tables_are_missing_data():
    r = run([{}])
    assert set(r.aggregates["status"]) == {"missing_data"}


# ---- rule sets as data -----------------------------------------------------------------------------
def test_changing_a_threshold_in_a_copy_changes_the_verdict(tmp_path):
    data = yaml.safe_load(RULES.yaml_text)
    far = next(r for r in data["rules"] if r["id"] == "far.bounds")
    far["params"]["inside_ring"]["min"] = 1.5
    data["id"] = "my-rules"
    path = tmp_path / "my-rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    mine = load_ruleset(path)
    row = [{"floor_area_m2": 18_000}]  # FAR 1.8
    v_std = run(row, WHOLE_RING)
    v_mine = run(row, WHOLE_RING, ruleset=mine)
    get = lambda r: r.verdicts[(r.verdicts["rule"] == "far.bounds")].iloc[0]["status"]  # noqa: E731
    assert (get(v_std), get(v_mine)) == ("fail", "pass")
    assert mine.sha256 != RULES.sha256


def test_rule_set_problems_are_all_reported_with_paths():
    data = yaml.safe_load(RULES.yaml_text)
    data["rules"][0]["params"]["inside_ring"]["min"] = "two"
    data["rules"][1]["kind"] = "no_such_kind"
    data["rules"][2]["messages"]["conversion"] = "拟调整为 {no_such_field}"
    data["rules"][3]["bogus"] = 1
    with pytest.raises(RuleSetError) as info:
        parse_ruleset(yaml.safe_dump(data, allow_unicode=True), source="bad.yaml")
    paths = " ".join(p for p, _ in info.value.problems)
    # pydantic stops at model level first: the unknown key is reported; fix it and the rest appear together.
    assert "rules[3].bogus" in paths
    del data["rules"][3]["bogus"]
    with pytest.raises(RuleSetError) as info:
        parse_ruleset(yaml.safe_dump(data, allow_unicode=True), source="bad.yaml")
    problems = dict(info.value.problems)
    text = "\n".join(f"{p}: {m}" for p, m in problems.items())
    assert "rules[0].params.inside_ring.min" in text
    assert "rules[1].kind" in text and "no_such_kind" in text
    assert "rules[2].messages.conversion" in text and "no_such_field" in text
    assert "行" in text  # line numbers point into the YAML


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(RuleSetError) as info:
        parse_ruleset("id: x\nrules: [\n  - a: 1\n", source="broken.yaml")
    assert "YAML" in str(info.value) and "行" in str(info.value)


def test_both_builtin_rule_sets_load():
    r2020 = load_ruleset("chengdu-2020")
    assert r2020.rule("per_mu.revenue").p.min == pytest.approx(650 / 1.6)
    assert r2020.rule("per_mu.tax").p.min == pytest.approx(30 / 1.5)
    assert {r.id for r in r2020.rules} == {r.id for r in RULES.rules}


# ---- exports ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_result():
    ent = pd.DataFrame(
        {
            "enterprise_id": ["E1"],
            "name": ["成都甲公司"],
            "industry_code": ["C3981"],
            "revenue_10k": [12_000.0],
            "tax_10k": [600.0],
        }
    )
    rows = [{"enterprise_id": "E1", "floor_area_m2": 25_000, "footprint_m2": 4_000}, {"floor_area_m2": 5_000}]
    zones = {**WHOLE_RING, **PARK_ALL}
    return run(rows, zones, enterprises=ent)


def test_json_export_matches_contract(tmp_path, small_result):
    out = write_result(small_result, tmp_path / "r.json")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert set(doc) >= {"ruleset", "as_of", "crs", "parcels", "enterprises", "aggregates", "summary"}
    assert doc["ruleset"]["id"] == "chengdu-2023" and len(doc["ruleset"]["sha256"]) == 64
    p0 = doc["parcels"][0]
    assert p0["area_mu"] == pytest.approx(15.0) and p0["far"] == pytest.approx(2.5)
    far = next(v for v in p0["verdicts"] if v["rule"] == "far.bounds")
    assert far == {**far, "status": "pass", "value": 2.5, "threshold": {"min": 2.0, "max": 4.0}}
    # v2: the overall status may also be not_applicable (no rule applies) or exempt
    assert set(doc["summary"]["by_status"]) == {"pass", "warn", "fail", "missing_data", "exempt", "not_applicable"}
    assert doc["enterprises"][0]["land_mu"] == pytest.approx(15.0)


def test_geojson_gpkg_csv_xlsx_exports(tmp_path, small_result):
    gj = write_result(small_result, tmp_path / "r.geojson")
    back = gpd.read_file(gj)
    assert back.crs.to_epsg() == 4326 and len(back) == 2
    assert back.total_bounds[0] == pytest.approx(103.9, abs=0.2)
    doc = json.loads(gj.read_text(encoding="utf-8"))
    assert doc["features"][0]["properties"]["verdicts"][0]["rule"] == "far.bounds"

    gp = write_result(small_result, tmp_path / "r.gpkg")
    layers = dict(pyogrio.list_layers(gp))
    assert {"parcels", "verdicts", "enterprises", "aggregates", "run", "zone_ring", "zone_parks"} <= set(layers)
    verdicts = pyogrio.read_dataframe(gp, layer="verdicts")
    assert len(verdicts) == len(small_result.verdicts)
    assert pyogrio.read_dataframe(gp, layer="parcels").crs.to_epsg() == 4544

    csv = write_result(small_result, tmp_path / "r.csv")
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM for Excel
    assert len(pd.read_csv(csv)) == len(small_result.verdicts)

    xl = write_result(small_result, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(xl)
    assert wb.sheetnames == ["汇总", "问题宗地", "宗地", "企业", "汇总指标", "核查结论"]  # more: test_report_xlsx.py
    assert wb["核查结论"]["C1"].value == "规则名称" and wb["核查结论"]["D1"].value == "规则编号"
    assert wb["宗地"]["A1"].value == "宗地编号" and wb["宗地"].freeze_panes == "A2"
    assert wb["企业"]["G1"].value is not None and "万元" in "".join(str(c.value) for c in wb["企业"][1])


def test_unknown_suffix_is_refused(tmp_path, small_result):
    with pytest.raises(ValueError, match="不支持"):
        write_result(small_result, tmp_path / "r.docx")
    assert not (tmp_path / "r.docx").exists()


# ---- CLI -------------------------------------------------------------------------------------------
def _mujun(*args, cwd=REPO, columns=None):
    exe = Path(sys.executable).with_name("mujun")
    env = {**os.environ, **({"COLUMNS": str(columns)} if columns else {})}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, timeout=300, env=env)


def test_cli_rules_validate_and_show(tmp_path):
    ok = _mujun("rules", "validate", str(REPO / "rules" / "rulesets" / "chengdu-2023.yaml"))
    assert ok.returncode == 0 and "有效" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.yaml_text.replace("kind: far_bounds", "kind: far_bound"), encoding="utf-8")
    res = _mujun("rules", "validate", str(bad))
    assert res.returncode == 1 and "rules[0].kind" in res.stderr and "far_bound" in res.stderr
    show = _mujun("rules", "show", "chengdu-2023")
    assert show.returncode == 0 and "far.bounds" in show.stdout and "zone.park_management" in show.stdout


def test_cli_evaluate_small_files(tmp_path):
    gdf = parcels([{"floor_area_m2": 25_000, "parcel_id": None}, {"floor_area_m2": 10_000}])
    gdf.to_file(tmp_path / "p.gpkg", layer="parcels")
    zones = tmp_path / "z.gpkg"
    WHOLE_RING["ring"].to_file(zones, layer="ring")
    out = tmp_path / "out.json"
    res = _mujun(
        "evaluate",
        "--parcels",
        str(tmp_path / "p.gpkg"),
        "--zones",
        str(zones),
        "--as-of",
        "2025-06-30",
        "--out",
        str(out),
        "--out",
        str(tmp_path / "out.csv"),
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [p["far"] for p in doc["parcels"]] == [2.5, 1.0]
    assert "总体结论" in res.stdout and "不合规 1" in res.stdout
    # Each rule's row is named in Chinese with its counts (P1: FAR 1.0 < 2.0 fails, P0 2.5 passes); in a wide
    # terminal the id follows in its own column, in an 80-column one it is left out rather than squeezing the counts.
    def far_cells(stdout: str) -> list[str]:
        row = next(line for line in stdout.splitlines() if "工业用地容积率" in line)
        return row.split()

    # rule, subject, 不合规 预警 数据缺失 合规 豁免 不适用
    assert far_cells(res.stdout) == ["工业用地容积率", "宗地", "1", "0", "0", "1", "0", "0"]
    wide = _mujun(*res.args[1:], columns=160)
    assert far_cells(wide.stdout) == ["工业用地容积率", "宗地", "1", "0", "0", "1", "0", "0", "far.bounds"]
    # the straddle note is listed apart as 数据提示, not in the rule table
    assert any(line.startswith("数据提示 跨界宗地") for line in res.stdout.splitlines())
    # the same run written twice: one CSV row per verdict of the JSON
    rows = pd.read_csv(tmp_path / "out.csv")
    assert len(rows) == sum(len(p["verdicts"]) for p in doc["parcels"]) + sum(
        len(e["verdicts"]) for e in doc["enterprises"]
    )


def test_cli_evaluate_bad_input_names_the_file(tmp_path):
    gdf = parcels([{}, {}])
    gdf["parcel_id"] = ["P1", "P1"]
    gdf.to_file(tmp_path / "dup.gpkg", layer="parcels")
    out = tmp_path / "never.json"
    res = _mujun("evaluate", "--parcels", str(tmp_path / "dup.gpkg"), "--out", str(out))
    assert res.returncode == 2
    assert "dup.gpkg" in res.stderr and "P1" in res.stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def sample_result():
    """The committed sample evaluated once at 2025-06-30 (shared by the sample-data tests)."""
    from gis.io import load_inputs
    from rules.engine import evaluate

    names = ("parcels.gpkg", "enterprises.csv", "occupancy.csv", "zones.gpkg", "land_supply.csv")
    return evaluate(load_inputs(*(DATA_DIR / n for n in names)), RULES, "2025-06-30")


@pytest.mark.skipif(not (DATA_DIR / "parcels.gpkg").exists(), reason="sample data not generated")
def test_sample_data_every_rule_passes_and_fails_somewhere(sample_result):
    r = sample_result
    by_rule = r.summary["by_rule"]
    # The statuses that show a rule both accepting and rejecting something.
    bad = {
        "data.straddles": "warn",
        "zone.park_management": "warn",
        "data.occupancy": "warn",
        "industry.restricted": "fail",
        "idle.order53": "fail",
    }
    # v2: a parcel in no block is outside zone.park_management (not_applicable), never a pass
    good = {"zone.park_management": "not_applicable", "data.straddles": "pass"}
    for rule in RULES.rules:
        counts = by_rule.get(rule.id, {})
        assert counts.get(good.get(rule.id, "pass"), 0) > 0, (rule.id, counts)
        assert counts.get(bad.get(rule.id, "fail"), 0) + counts.get("warn", 0) > 0, (rule.id, counts)


@pytest.mark.skipif(not (DATA_DIR / "examples.csv").exists(), reason="sample data not generated")
def test_sample_examples_get_their_documented_verdicts(sample_result):
    """data/sample_parcels/examples.csv names a parcel per case and the verdict the policy gives it."""
    r = sample_result
    verdicts = r.verdicts[r.verdicts["level"] == "parcel"].set_index(["subject_id", "rule"])
    examples = pd.read_csv(DATA_DIR / "examples.csv", encoding="utf-8-sig")
    assert len(examples) >= 40
    wrong = []
    for ex in examples.to_dict("records"):
        got = verdicts.loc[(ex["parcel_id"], ex["rule"])]
        if ex["expected"] not in (got["status"], got["code"]):
            wrong.append((ex["parcel_id"], ex["rule"], ex["expected"], got["status"], got["code"]))
    assert wrong == []


@pytest.mark.skipif(not (DATA_DIR / "parcels.gpkg").exists(), reason="sample data not generated")
def test_cli_evaluate_from_the_store_equals_from_files(tmp_path, monkeypatch):
    """mujun import into a fresh SpatiaLite store, then evaluate --dataset: same verdicts as from the files."""
    import os

    env = {**os.environ, "MUJUN_DATA_DIR": str(tmp_path / "var")}
    env.pop("MUJUN_DATABASE_URL", None)
    exe = str(Path(sys.executable).with_name("mujun"))
    files = [
        "--parcels",
        str(DATA_DIR / "parcels.gpkg"),
        "--enterprises",
        str(DATA_DIR / "enterprises.csv"),
        "--occupancy",
        str(DATA_DIR / "occupancy.csv"),
        "--zones",
        str(DATA_DIR / "zones.gpkg"),
        "--land-supply",
        str(DATA_DIR / "land_supply.csv"),
    ]
    imp = subprocess.run([exe, "import", *files], env=env, capture_output=True, text=True, timeout=300)
    assert imp.returncode == 0, imp.stderr
    common = ["--as-of", "2025-06-30", "--quiet"]
    a = subprocess.run(
        [exe, "evaluate", "--dataset", "1", *common, "--out", str(tmp_path / "a.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert a.returncode == 0, a.stderr
    b = subprocess.run(
        [exe, "evaluate", *files, *common, "--out", str(tmp_path / "b.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert b.returncode == 0, b.stderr
    da, db = (json.loads((tmp_path / f).read_text(encoding="utf-8")) for f in ("a.json", "b.json"))
    assert da["summary"]["by_rule"] == db["summary"]["by_rule"]
    assert [p["status"] for p in da["parcels"]] == [p["status"] for p in db["parcels"]]
    missing = subprocess.run(
        [exe, "evaluate", "--dataset", "99", "--out", str(tmp_path / "c.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 2 and "99" in missing.stderr and not (tmp_path / "c.json").exists()


@pytest.mark.skipif(not (DATA_DIR / "parcels.geojson").exists(), reason="sample data not generated")
def test_sample_geojson_in_degrees_and_gpkg_in_metres_give_the_same_verdicts():
    """The EPSG:4490 GeoJSON copy reprojects onto the EPSG:4544 GeoPackage closely enough for every verdict."""
    from gis.io import load_inputs
    from rules.engine import evaluate

    tables = [
        DATA_DIR / "enterprises.csv",
        DATA_DIR / "occupancy.csv",
        DATA_DIR / "zones.gpkg",
        DATA_DIR / "land_supply.csv",
    ]
    a = evaluate(load_inputs(DATA_DIR / "parcels.gpkg", *tables), RULES, "2025-06-30")
    b = evaluate(load_inputs(DATA_DIR / "parcels.geojson", *tables), RULES, "2025-06-30")
    key = ["subject_id", "rule"]
    va = a.verdicts.set_index(key)["status"].astype(str)
    vb = b.verdicts.set_index(key)["status"].astype(str).reindex(va.index)
    assert (va != vb).sum() == 0, va[va != vb].head().to_dict()
    # 7-decimal degrees (about 1 cm) move a 1-hectare parcel's area by up to a few 1e-5 of itself
    assert a.parcels["area_m2"].to_numpy() == pytest.approx(b.parcels["area_m2"].to_numpy(), rel=1e-4)


def test_the_engine_knows_no_rule_kind_or_rule_by_name():
    """Kinds declare what they provide and need (KindSpec.provides/needs/firm_columns); the engine names none."""
    from rules.kinds import KINDS

    source = (REPO / "rules" / "engine.py").read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith((">>>", "...", "#")))
    named = [k for k in KINDS if f'"{k}"' in code] + [r.id for r in RULES.rules if f'"{r.id}"' in code]
    assert named == []
    # the one dependency there is, declared: low_efficiency reads the idle land idle_order53 provides
    assert KINDS["low_efficiency"].needs == ("idle_land",) and "idle_land" in KINDS["idle_order53"].provides


def test_a_rule_set_without_the_idle_rule_still_judges_low_efficiency():
    # Without idle.order53 nothing provides "idle_land": low_efficiency judges every started parcel itself.
    from rules.engine import evaluate

    no_idle = RULES.model_copy(update={"rules": [r for r in RULES.rules if r.id != "idle.order53"]})
    gdf = parcels([{"floor_area_m2": 5_000, "footprint_m2": 5_000}])  # FAR 0.5: below every minimum
    result = evaluate(Inputs(parcels=gdf, zones=WHOLE_RING), no_idle, "2025-06-30")
    v = result.verdicts.set_index("rule").loc["low_efficiency"]
    assert v["status"] == "fail" and "far" in v["code"]
