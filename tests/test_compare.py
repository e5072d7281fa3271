"""The policy sandbox: the same parcels judged under two rule sets, compared (rules.compare), through the API, the
web pages and the XLSX — on the committed sample, with the expected changes counted from the data itself."""

from __future__ import annotations

import re
import secrets
import time

import numpy as np
import pytest

from tests.conftest import DATA_DIR, SAMPLE_AS_OF

# "What if the FAR minimum outside the ring were 1.5?" (chengdu-2023 has 1.2): the edit a planner makes.
OUTSIDE_OLD, OUTSIDE_NEW = "outside_ring: {min: 1.2, max: 3.0}", "outside_ring: {min: 1.5, max: 3.0}"


def _edited_yaml(ruleset_id: str = "sandbox-far") -> str:
    from rules.ruleset import load_ruleset

    text = load_ruleset("chengdu-2023").yaml_text
    assert OUTSIDE_OLD in text
    text = text.replace(OUTSIDE_OLD, OUTSIDE_NEW)
    text = re.sub(r"(?m)^id:.*$", f"id: {ruleset_id}", text, count=1)
    return re.sub(r"(?m)^version:.*$", f'version: "t-{secrets.token_hex(3)}"', text, count=1)


@pytest.fixture(scope="module")
def two_results():
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset, parse_ruleset

    inputs = load_inputs(DATA_DIR / "parcels.gpkg", DATA_DIR / "enterprises.csv", DATA_DIR / "occupancy.csv",
                         DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv")
    a = evaluate(inputs, load_ruleset("chengdu-2023"), SAMPLE_AS_OF)
    b = evaluate(inputs, parse_ruleset(_edited_yaml(), source="edited.yaml"), SAMPLE_AS_OF)
    return a, b


def _expected_far_changes(a) -> set[str]:
    """Parcels outside the ring that passed FAR under 1.2 and fall below 1.5: the rule judges the FAR rounded to
    two decimals (``decimals: 2``), so 1.495 counts as 1.50 and still passes."""
    p = a.parcels
    far = np.round(p["far"].astype(float), 2)
    hit = (p["inside_ring"] == False) & (far >= 1.2) & (far < 1.5) & (p["st_far_bounds"] == "pass")  # noqa: E712
    return set(p.loc[hit, "parcel_id"].astype(str))


def test_a_far_minimum_raised_changes_exactly_the_parcels_between_the_old_and_new_minimum(two_results):
    from rules.compare import compare

    a, b = two_results
    c = compare(a, b)
    expected = _expected_far_changes(a)
    assert len(expected) > 50  # the sample has such parcels: the test could fail
    far = c.changes[c.changes["rule"] == "far.bounds"]
    assert set(far["subject_id"]) == expected
    assert (far["status_a"] == "pass").all() and (far["status_b"] == "fail").all()
    row = c.by_rule.set_index("rule").loc["far.bounds"]
    assert (row["changed"], row["to_fail"], row["from_fail"], row["worse"], row["better"]) == \
        (len(expected), len(expected), 0, len(expected), 0)
    # every parcel whose overall status changed has a changed rule, and got stricter (only a minimum rose)
    assert set(c.parcels["parcel_id"]) <= set(c.changes.loc[c.changes["level"] == "parcel", "subject_id"])
    assert (c.parcels["direction"] == "worse").all() and len(c.parcels) > 0
    # the district counts add up to the changed parcels
    assert c.by_district["changed"].sum() == len(c.parcels) and c.compared == len(a.parcels)


def test_a_result_compared_with_itself_changes_nothing_and_other_data_is_refused(two_results):
    from rules.compare import CompareError, compare

    a, _ = two_results
    same = compare(a, a)
    assert same.parcels.empty and same.changes.empty and same.firms.empty and same.compared == len(a.parcels)
    other = a.parcels.copy()
    other["parcel_id"] = "X-" + other["parcel_id"].astype(str)
    from dataclasses import replace

    with pytest.raises(CompareError, match="不是同一数据集"):
        compare(a, replace(a, parcels=other))


def test_the_comparison_workbook_lists_every_change_in_chinese(two_results, tmp_path):
    import openpyxl

    from rules.compare import compare, write_comparison_xlsx

    a, b = two_results
    c = compare(a, b)
    path = write_comparison_xlsx(c, tmp_path / "diff.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames == ["对比汇总", "按规则", "按行政区", "按园区", "状态变化宗地", "规则变化明细", "等级变化企业"]
    rows = list(wb["状态变化宗地"].iter_rows(values_only=True))
    assert rows[0][:7] == ("宗地编号", "行政区", "园区", "面积（亩）", "A 结论", "B 结论", "变化")
    assert len(rows) - 1 == len(c.parcels) and {r[6] for r in rows[1:]} == {"趋严"}
    detail = list(wb["规则变化明细"].iter_rows(values_only=True))
    far_rows = [r for r in detail[1:] if r[2] == "工业用地容积率"]
    assert len(far_rows) == len(_expected_far_changes(a))
    assert {(r[3], r[4]) for r in far_rows} == {("合规", "不合规")}


def _wait_done(client, run_id: int, headers) -> None:
    deadline = time.monotonic() + 120
    while client.get(f"/evaluations/{run_id}", headers=headers).json()["status"] != "done":
        assert time.monotonic() < deadline, f"run {run_id} did not finish"
        time.sleep(0.2)


def test_compare_two_runs_through_the_api_and_the_web(client, store, sample, tokens):
    h = client.as_role("analyst")
    admin = {**client.as_role("admin"), "Content-Type": "application/yaml"}
    r = client.post("/rulesets", content=_edited_yaml().encode(), headers=admin)
    assert r.status_code == 201, r.text
    ref = f"{r.json()['ruleset_id']}@{r.json()['version']}"
    run_b = client.post("/evaluations", json={"dataset": sample["dataset"], "ruleset": ref,
                                              "as_of": SAMPLE_AS_OF.isoformat(), "wait": True}, headers=h).json()["id"]
    a_parcels = client.get(f"/evaluations/{sample['run']}/export.json", headers=h).json()["parcels"]
    far_by_id = {p["parcel_id"]: p for p in a_parcels}

    r = client.get(f"/evaluations/{sample['run']}/compare/{run_b}", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    far = [c for c in body["changes"] if c["rule"] == "far.bounds"]
    # each changed FAR verdict is a parcel outside the ring whose (rounded) FAR lies in [1.2, 1.5)
    assert far and all(far_by_id[c["subject_id"]]["inside_ring"] is False
                       and 1.2 <= round(far_by_id[c["subject_id"]]["far"], 2) < 1.5 for c in far)
    assert body["changed_parcels"] == len(body["parcels"]) and body["compared"] == len(a_parcels)
    assert {"export_xlsx", "export_html"} == set(body["links"])

    x = client.get(f"/evaluations/{sample['run']}/compare/{run_b}/export.xlsx", headers=h)
    assert x.status_code == 200 and x.content[:2] == b"PK"
    m = client.get(f"/evaluations/{sample['run']}/compare/{run_b}/export.html", headers=h)
    assert m.status_code == 200 and "结论变化的宗地" in m.text
    assert client.get(f"/evaluations/{sample['run']}/compare/{run_b}/export.pdf", headers=h).status_code == 400
    assert client.get(f"/evaluations/{sample['run']}/compare/999999", headers=h).status_code == 404

    # the web: the run page offers the comparison, the comparison page shows the counts and the changed parcels
    signed = client.post("/web/login", data={"token": tokens["analyst"]}, follow_redirects=False)
    cookie = {"Cookie": f"mujun_session={signed.cookies['mujun_session']}"}
    client.cookies.clear()
    page = client.get(f"/web/runs/{sample['run']}", headers=cookie).text
    assert 'id="compare-form"' in page and f'value="{run_b}"' in page
    page = client.get(f"/web/compare?a={sample['run']}&b={run_b}", headers=cookie)
    assert page.status_code == 200
    assert re.search(r'id="changed-parcels">([\d,]+)<', page.text).group(1).replace(",", "") == \
        str(body["changed_parcels"])
    assert page.text.count('class="changed-parcel"') == min(body["changed_parcels"], 500)
    assert 'data-rule="far.bounds"' in page.text and "工业用地容积率" in page.text


def test_preview_from_the_ruleset_comparison_page_starts_two_runs(client, sample, tokens):
    signed = client.post("/web/login", data={"token": tokens["analyst"]}, follow_redirects=False)
    cookie = {"Cookie": f"mujun_session={signed.cookies['mujun_session']}"}
    client.cookies.clear()
    page = client.get("/web/rulesets/diff?a=chengdu-2020&b=chengdu-2023", headers=cookie).text
    assert 'id="preview-form"' in page
    r = client.post("/web/rulesets/preview", data={"a": "chengdu-2020", "b": "chengdu-2023",
                                                   "dataset": sample["dataset"], "as_of": "2025-06-30"},
                    headers=cookie, follow_redirects=False)
    assert r.status_code == 303
    a, b = (int(v) for v in re.search(r"a=(\d+)&b=(\d+)", r.headers["location"]).groups())
    for run_id in (a, b):
        _wait_done(client, run_id, client.as_role("viewer"))
    page = client.get(f"/web/compare?a={a}&b={b}", headers=cookie).text
    # 2020's per-mu targets (406.25 / 20 万元/亩) are below 2023's (650 / 30): the per-mu verdicts only get better
    assert 'data-rule="per_mu.revenue"' in page
    body = client.get(f"/evaluations/{a}/compare/{b}", headers=client.as_role("viewer")).json()
    per_mu = [c for c in body["changes"] if c["rule"] == "per_mu.revenue"]
    assert per_mu and all(c["direction"] == "worse" for c in per_mu)
