"""The planner's year: the sample's three statistics years (2022–2024) side by side, each year's published lists,
the trend workbook, and the trend and year pages over the real app."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.conftest import DATA_DIR, SAMPLE_AS_OF

YEAR_FILES = {2022: "enterprises_2022.csv", 2023: "enterprises_2023.csv", 2024: "enterprises.csv"}


@pytest.fixture(scope="module")
def yearly():
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    rs = load_ruleset("chengdu-2023")
    out = {}
    for year, name in YEAR_FILES.items():
        inputs = load_inputs(DATA_DIR / "parcels.gpkg", DATA_DIR / name, DATA_DIR / "occupancy.csv",
                             DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv")
        out[year] = evaluate(inputs, rs, SAMPLE_AS_OF)
    return out


def test_each_result_knows_its_statistics_year(yearly):
    assert {y: r.year for y, r in yearly.items()} == {2022: 2022, 2023: 2023, 2024: 2024}
    assert yearly[2024].summary["year"] == 2024 and yearly[2024].to_dict()["year"] == 2024


def test_every_firm_is_on_exactly_one_list(yearly):
    from rules.trend import annual_lists

    result = yearly[2024]
    lists = annual_lists(result)
    firms = pd.read_csv(DATA_DIR / "enterprises.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(lists["enterprise_id"]) == sorted(firms["enterprise_id"])  # each once, none missing
    # tenants, counted from the occupancy file: firms every parcel of which has more than one occupant
    occ = pd.read_csv(DATA_DIR / "occupancy.csv", dtype=str)
    shared = occ["parcel_id"].map(occ["parcel_id"].value_counts()) > 1
    tenants = set(shared.groupby(occ["enterprise_id"]).all().pipe(lambda s: s[s].index))
    assert set(lists.loc[lists["list"] == "tenant", "enterprise_id"]) == tenants & set(firms["enterprise_id"])
    # the others: a grade puts a firm on its list; without one it is T 类 with the grade rule's reason
    rest = lists[lists["list"] != "tenant"]
    graded = rest["grade"].isin(["A", "B", "C", "D"])
    assert (rest.loc[graded, "list"] == rest.loc[graded, "grade"]).all()
    t = rest[~graded]
    assert (t["list"] == "T").all() and len(t) > 0
    reasons = {"规下企业用地不足 3 亩或无用地，不参评", "缺少营业收入或税收，无法评价", "无用地记录，不参评"}
    assert set(t["reason"]) <= reasons


def test_the_trend_over_three_years(yearly):
    from rules.trend import trend

    t = trend([yearly[2024], yearly[2022], yearly[2023]])  # any order: years come out ascending
    assert t.years == [2022, 2023, 2024]
    # E00001's 亩均营收 change 2023 → 2024 by hand: its revenue in each year's file over its land (the same
    # occupancy every year, so the same 亩)
    rev = {y: float(pd.read_csv(DATA_DIR / f, dtype={"enterprise_id": str}, encoding="utf-8-sig")
                    .set_index("enterprise_id").loc["E00001", "revenue_10k"]) for y, f in YEAR_FILES.items()}
    land = float(yearly[2024].enterprises.set_index("enterprise_id").loc["E00001", "land_mu"])
    row = t.firms[(t.firms["enterprise_id"] == "E00001") & (t.firms["year"] == 2024)].iloc[0]
    assert row["revenue_per_mu_10k_change"] == pytest.approx((rev[2024] - rev[2023]) / land, rel=1e-9)
    first = t.firms[(t.firms["enterprise_id"] == "E00001") & (t.firms["year"] == 2022)].iloc[0]
    assert pd.isna(first["revenue_per_mu_10k_change"])  # no year before 2022
    # grade moves: each is a firm present in both years with a different grade, year_to the year after year_from
    grades = {y: r.enterprises.set_index("enterprise_id")["grade"].astype("string").fillna("—") for y, r in
              yearly.items()}
    moved = t.grade_moves
    assert len(moved) > 20 and set(moved["year_to"] - moved["year_from"]) == {1}
    for m in moved.head(30).itertuples():
        assert grades[m.year_from][m.enterprise_id] == m.grade_from != m.grade_to == grades[m.year_to][m.enterprise_id]
    expected = 0
    for y in (2022, 2023):
        both = grades[y].index.intersection(grades[y + 1].index)
        expected += int((grades[y][both] != grades[y + 1][both]).sum())
    assert len(moved) == expected
    # each year's list counts add up to the firms of that year's table
    for y, f in YEAR_FILES.items():
        n = len(pd.read_csv(DATA_DIR / f, encoding="utf-8-sig"))
        assert int(t.lists.set_index("year").loc[y].sum()) == n


def test_a_trend_needs_distinct_years(yearly):
    from dataclasses import replace

    from rules.trend import TrendError, trend

    with pytest.raises(TrendError, match="2024 出现了不止一次"):
        trend([yearly[2024], yearly[2024]])
    with pytest.raises(TrendError, match="没有统计年度"):
        trend([yearly[2023], replace(yearly[2024], year=None)])


def test_years_judged_by_different_rule_sets_carry_a_warning(yearly):
    from dataclasses import replace

    from rules.trend import trend

    assert trend([yearly[2023], yearly[2024]]).mixed_rulesets == ""
    other = replace(yearly[2024], ruleset={"id": "chengdu-2020", "version": "x", "sha256": "0" * 64})
    assert "不同的规则集" in trend([yearly[2023], other]).mixed_rulesets


def test_the_trend_and_lists_workbooks(yearly, tmp_path):
    import openpyxl

    from rules.trend import LIST_LABELS, trend, write_annual_lists_xlsx, write_trend_xlsx

    t = trend(list(yearly.values()))
    wb = openpyxl.load_workbook(write_trend_xlsx(t, tmp_path / "trend.xlsx"), read_only=True)
    assert wb.sheetnames == ["年度名单统计", "等级变动企业", "园区趋势", "园区达标变化", "区县趋势", "企业趋势"]
    assert len(list(wb["等级变动企业"].iter_rows(values_only=True))) - 1 == len(t.grade_moves)
    lists = openpyxl.load_workbook(write_annual_lists_xlsx(yearly[2024], tmp_path / "lists.xlsx"), read_only=True)
    assert lists.sheetnames == [LIST_LABELS[k].split("（")[0] for k in ("A", "B", "C", "D", "T", "tenant")]
    rows = sum(len(list(lists[s].iter_rows(values_only=True))) - 1 for s in lists.sheetnames)
    assert rows == len(yearly[2024].enterprises)


def test_trend_through_the_api_and_the_pages(client, store, sample, tokens):
    from api.store.evaluations import create_run, execute_run
    from api.store.importer import import_files

    outcome = import_files(store.engine, DATA_DIR / "parcels.gpkg", DATA_DIR / "enterprises_2023.csv",
                           DATA_DIR / "occupancy.csv", DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv",
                           actor="pytest")
    h = client.as_role("viewer")
    # the sample run's own rule set version, by its SHA-256 (other tests may store newer chengdu-2023 versions)
    sha = client.get(f"/evaluations/{sample['run']}", headers=h).json()["ruleset"]["sha256"]
    with store.engine.begin() as conn:
        run_2023 = create_run(conn, outcome.dataset_id, sha, SAMPLE_AS_OF, actor="pytest")
    execute_run(store.engine, run_2023)
    assert client.get(f"/evaluations/{run_2023}", headers=h).json()["summary"]["year"] == 2023
    r = client.get(f"/trends?runs={sample['run']},{run_2023}", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["years"] == [2023, 2024] and body["grade_moves"]
    assert {r["year"] for r in body["lists"]} == {2023, 2024}
    assert client.get(f"/trends?runs={sample['run']}", headers=h).status_code == 400  # one year is no trend
    r = client.get(f"/trends?runs={sample['run']},{sample['run']}", headers=h)
    assert r.status_code == 422 and "出现了不止一次" in r.json()["message"]
    x = client.get(f"/trends/export.xlsx?runs={sample['run']},{run_2023}", headers=h)
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert client.get(f"/evaluations/{sample['run']}/lists.xlsx", headers=h).content[:2] == b"PK"

    # a parcel's timeline shows its firm's grade in each statistics year: E00003 (alone on its parcel) is
    # graded A in 2023 and B in 2024 — read from each year's own result, not from the trend
    occ = pd.read_csv(DATA_DIR / "occupancy.csv", dtype=str)
    parcel = occ.loc[occ["enterprise_id"] == "E00003", "parcel_id"].iloc[0]
    grade = {y: client.get(f"/evaluations/{rid}/export.json", headers=h).json() for y, rid in
             ((2023, run_2023), (2024, sample["run"]))}
    grade = {y: next(e["grade"] for e in doc["enterprises"] if e["enterprise_id"] == "E00003")
             for y, doc in grade.items()}
    events = client.get(f"/evaluations/{sample['run']}/parcels/{parcel}/timeline", headers=h).json()["events"]
    yearly = {e["date"][:4]: e["detail"] for e in events if e["event"] == "grade"}
    assert set(yearly) == {"2023", "2024"} and grade[2023] != grade[2024]
    assert all(f"{y} 年度：" in yearly[str(y)] and f"{grade[y]} 类" in yearly[str(y)] for y in (2023, 2024))

    signed = client.post("/web/login", data={"token": tokens["viewer"]}, follow_redirects=False)
    cookie = {"Cookie": f"mujun_session={signed.cookies['mujun_session']}"}
    client.cookies.clear()
    page = client.get(f"/web/trend?runs={run_2023},{sample['run']}", headers=cookie).text
    assert "统计年度 2023、2024" in page
    charts = re.findall(r'class="border rounded p-1 trend-chart"[^>]*>(.*?)</div>', page, re.S)
    # one small chart per park and figure, each a drawing with a point per year
    assert len(charts) == len({(p["park_id"], p["figure"]) for p in body["parks"]}) >= 2
    assert all(c.startswith("<svg") and c.count('class="mj-point"') == 2 for c in charts)
    assert page.count('class="grade-move"') == min(len(body["grade_moves"]), 300)
    mujun = client.get(f"/web/runs/{sample['run']}/mujun", headers=cookie).text
    assert 'id="mujun-year"' in mujun and re.search(rf'value="{run_2023}"[^>]*>2023 年', mujun)


def test_trend_and_compare_from_the_command_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("mujun"))
    env = {**os.environ, "MUJUN_DATA_DIR": str(tmp_path / "var")}

    def mujun(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300, env=env)

    files = ["-p", str(DATA_DIR / "parcels.gpkg"), "--occupancy", str(DATA_DIR / "occupancy.csv"),
             "--zones", str(DATA_DIR / "zones.gpkg"), "--as-of", SAMPLE_AS_OF.isoformat(), "-q"]
    for year in (2023, 2024):
        r = mujun("evaluate", *files, "--enterprises", str(DATA_DIR / YEAR_FILES[year]), "--out",
                  str(tmp_path / f"r{year}.gpkg"))
        assert r.returncode == 0, r.stderr
    r = mujun("evaluate", *files, "--enterprises", str(DATA_DIR / "enterprises.csv"), "--ruleset", "chengdu-2020",
              "--out", str(tmp_path / "r2020rules.geojson"))
    assert r.returncode == 0, r.stderr
    r = mujun("trend", str(tmp_path / "r2024.gpkg"), str(tmp_path / "r2023.gpkg"), "--out", str(tmp_path / "t.xlsx"))
    assert r.returncode == 0, r.stderr
    assert "统计年度 2023、2024" in r.stdout and (tmp_path / "t.xlsx").stat().st_size > 0
    r = mujun("trend", str(tmp_path / "r2024.gpkg"), str(tmp_path / "r2024.gpkg"), "--out", str(tmp_path / "u.xlsx"))
    assert r.returncode == 2 and "出现了不止一次" in r.stderr and not (tmp_path / "u.xlsx").exists()
    r = mujun("compare", str(tmp_path / "r2024.gpkg"), str(tmp_path / "r2020rules.geojson"),
              "--out", str(tmp_path / "d.xlsx"))
    assert r.returncode == 0, r.stderr
    # the rules are named by their titles, never by id, also when read back from result files
    assert "园内规上工业企业亩均营收" in r.stdout and "per_mu.revenue" not in r.stdout


def test_a_park_that_reaches_the_target_is_listed_as_reached(yearly):
    """The sample's parks never cross 650 万元/亩 between its years; move one park's 2024 figure over the target
    (by hand: P01's 645.7 → 700 with status pass) and it is the one park listed as reached."""
    from dataclasses import replace

    from rules.trend import trend

    agg = yearly[2024].aggregates.copy()
    hit = (agg["rule"] == "agg.park_per_mu") & (agg["scope"] == "park") & (agg["key"] == "P01") & \
        (agg["code"] == "revenue")
    assert agg.loc[hit, "status"].tolist() == ["fail"]
    agg.loc[hit, ["value", "status"]] = [700.0, "pass"]
    moves = trend([yearly[2023], replace(yearly[2024], aggregates=agg)]).park_moves
    assert moves[["park_id", "figure", "year_from", "year_to", "move"]].values.tolist() == \
        [["P01", "revenue", 2023, 2024, "reached"]]
