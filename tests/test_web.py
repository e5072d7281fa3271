"""The planners' pages over HTTP (TestClient on ``create_app``) with real SpatiaLite and PostGIS stores."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"


def _cookie(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Cookie": f"mujun_session={tokens[role]}"}


def _text(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert m, f"no element #{element_id}"
    return m.group(1).strip()


def _wait_done(client, tokens, run_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/web/runs/{run_id}/status.json", headers=_cookie(tokens, "viewer")).json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


@pytest.fixture(scope="module")
def stored(store, sample):
    """The sample run rebuilt from the store: the reference the pages must agree with."""
    from api.store.evaluations import result_from_store

    with store.engine.connect() as conn:
        return result_from_store(conn, sample["run"])


# --- sign-in and roles -------------------------------------------------------------------------------

def test_pages_need_sign_in_and_redirect_back(client):
    r = client.get("/web/runs?x=1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/web/login?next=%2Fweb%2Fruns%3Fx%3D1"


def test_sign_in_sets_httponly_strict_cookie_and_rejects_bad_tokens(client, tokens):
    bad = client.post("/web/login", data={"token": "mj_not-a-token"}, follow_redirects=False)
    assert bad.status_code == 401
    assert "令牌无效" in _text(bad.text, "login-error")
    assert "set-cookie" not in bad.headers
    ok = client.post("/web/login", data={"token": tokens["viewer"], "next": "/web/rulesets"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/web/rulesets"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    # an open redirect to another site is not followed
    evil = client.post("/web/login", data={"token": tokens["viewer"], "next": "https://evil.example/"},
                       follow_redirects=False)
    assert evil.headers["location"] == "/web/"
    client.cookies.clear()


def test_viewer_is_not_offered_what_they_may_not_do(client, tokens, sample):
    viewer = client.get("/web/", headers=_cookie(tokens, "viewer"))
    assert viewer.status_code == 200
    assert 'id="nav-import"' not in viewer.text and 'id="nav-evaluate"' not in viewer.text
    analyst = client.get("/web/", headers=_cookie(tokens, "analyst"))
    assert 'id="nav-import"' in analyst.text and 'id="nav-evaluate"' in analyst.text
    assert client.get("/web/import", headers=_cookie(tokens, "viewer")).status_code == 403
    r = client.post("/web/evaluate", data={"dataset": sample["dataset"]}, headers=_cookie(tokens, "viewer"))
    assert r.status_code == 403 and "无权" in r.text
    # rule-set upload is for admins only
    assert 'id="ruleset-upload"' not in client.get("/web/rulesets", headers=_cookie(tokens, "analyst")).text
    assert 'id="ruleset-upload"' in client.get("/web/rulesets", headers=_cookie(tokens, "admin")).text


# --- results -----------------------------------------------------------------------------------------

def test_run_page_counts_match_the_store(client, tokens, sample, stored):
    html = client.get(f"/web/runs/{sample['run']}", headers=_cookie(tokens, "viewer")).text
    counts = stored.parcels["status"].value_counts()
    for status in ("fail", "warn", "missing_data", "pass"):
        assert int(_text(html, f"count-{status}")) == int(counts.get(status, 0))
    flagged = int(stored.parcels["status"].isin(["fail", "warn", "missing_data"]).sum())
    assert int(_text(html, "table-total")) == flagged


@pytest.mark.parametrize("rule,status", [("far.bounds", "fail"), ("idle.order53", ""), ("zone.red_line", "fail")])
def test_flagged_table_filters_by_rule_and_status(client, tokens, sample, stored, rule, status):
    col = "st_" + rule.replace(".", "_")
    wanted = [status] if status else ["fail", "warn", "missing_data"]
    expected = int(stored.parcels[col].isin(wanted).sum())
    html = client.get(f"/web/runs/{sample['run']}", params={"rule": rule, "status": status},
                      headers=_cookie(tokens, "viewer")).text
    assert int(_text(html, "table-total")) == expected
    ids = re.findall(r'class="parcel-link">([^<]+)<', html)
    assert len(ids) == min(expected, 50)
    got = stored.parcels.set_index("parcel_id").loc[ids, col]
    assert got.isin(wanted).all()


def test_flagged_table_filters_by_district_sorts_and_pages(client, tokens, sample, stored):
    p = stored.parcels
    district = p.loc[p["status"] == "fail", "district"].dropna().value_counts().index[0]
    sel = p[(p["district"] == district) & p["status"].isin(["fail", "warn", "missing_data"])]
    html = client.get(f"/web/runs/{sample['run']}", params={"district": district, "sort": "area_mu", "desc": 1},
                      headers=_cookie(tokens, "viewer")).text
    assert int(_text(html, "table-total")) == len(sel)
    ids = re.findall(r'class="parcel-link">([^<]+)<', html)
    areas = sel.set_index("parcel_id").loc[ids, "area_mu"].to_numpy()
    assert areas[0] == pytest.approx(sel["area_mu"].max())
    assert all(areas[:-1] >= areas[1:])  # descending
    if len(sel) > 50:
        page2 = client.get(f"/web/runs/{sample['run']}", params={"district": district, "sort": "area_mu",
                                                                 "desc": 1, "page": 2},
                           headers=_cookie(tokens, "viewer")).text
        ids2 = re.findall(r'class="parcel-link">([^<]+)<', page2)
        assert ids2 and not set(ids2) & set(ids)


def test_parcel_page_lists_every_verdict_and_occupants(client, tokens, sample, stored):
    v = stored.verdicts[stored.verdicts["level"] == "parcel"]
    pid = str(v.loc[v["rule"] == "per_mu.revenue", "subject_id"].iloc[0])
    html = client.get(f"/web/runs/{sample['run']}/parcels/{pid}", headers=_cookie(tokens, "viewer")).text
    rules = re.findall(r'<tr data-rule="([^"]+)">', html)
    assert sorted(rules) == sorted(v.loc[v["subject_id"] == pid, "rule"])
    assert _text(html, "parcel-id") == pid
    assert "occupants" in html
    missing = client.get(f"/web/runs/{sample['run']}/parcels/NO-SUCH", headers=_cookie(tokens, "viewer"))
    assert missing.status_code == 404 and "NO-SUCH" in missing.text


def test_downloads_open_as_real_files(client, tokens, sample, stored):
    import openpyxl

    h = _cookie(tokens, "viewer")
    x = client.get(f"/web/runs/{sample['run']}/download/xlsx", headers=h)
    assert x.status_code == 200 and "attachment" in x.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(x.content), read_only=False)
    assert len(wb.sheetnames) >= 4
    sheets = [wb[n] for n in wb.sheetnames]
    assert any(ws.max_row - 1 == len(stored.parcels) for ws in sheets)  # one row per parcel below the header
    assert all(ws.freeze_panes for ws in sheets[1:])
    csv = client.get(f"/web/runs/{sample['run']}/download/csv", headers=h).content
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    gj = client.get(f"/web/runs/{sample['run']}/download/geojson", headers=h).json()
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == len(stored.parcels)
    assert client.get(f"/web/runs/{sample['run']}/download/exe", headers=h).status_code == 404


def test_print_summary_has_indicators_and_static_map(client, tokens, sample):
    h = _cookie(tokens, "viewer")
    html = client.get(f"/web/runs/{sample['run']}/print", headers=h).text
    assert 'id="print-map"' in html and "@page" in client.get("/web/static/print.css").text
    png = client.get(f"/web/runs/{sample['run']}/download/png", headers=h)
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_compliance_map_page_is_offline(client, tokens, sample):
    html = client.get(f"/web/runs/{sample['run']}/map", headers=_cookie(tokens, "viewer")).text
    assert "/web/static/map/leaflet/leaflet.js" in html
    assert not re.search(r'(src|href)="https?://', html)
    assert client.get("/web/static/map/leaflet/leaflet.js").status_code == 200
    assert client.get("/web/static/vendor/bootstrap/css/bootstrap.min.css").status_code == 200


def test_mujun_ranking_filters_by_grade_and_draws_charts(client, tokens, sample, stored):
    ent = stored.enterprises
    html = client.get(f"/web/runs/{sample['run']}/mujun", params={"grade": "A"},
                      headers=_cookie(tokens, "viewer")).text
    grades = re.findall(r'class="badge grade-([A-D])"', html)
    assert grades and set(grades) == {"A"}
    assert f"共 {int((ent['grade'] == 'A').sum())} 家" in html
    assert html.count("<svg") == 3 and "2025 目标 650" in html
    # ranked by score, highest first
    scores = ent.loc[ent["grade"] == "A", "score"].sort_values(ascending=False).to_numpy()
    first = re.search(r"<tr><td>1</td>.*?</tr>", html, re.S).group(0)
    assert f"{scores[0]:,.2f}" in first


def test_dashboard_counts_flags_by_rule(client, tokens, sample, stored):
    html = client.get("/web/", headers=_cookie(tokens, "viewer")).text
    v = stored.verdicts
    fails = int(((v["rule"] == "far.bounds") & (v["status"] == "fail")).sum())
    row = re.search(r'\?rule=far\.bounds">far\.bounds</a></td><td>(\d+)</td>', html)
    assert row and int(row.group(1)) == fails
    # the latest year's land-supply share, shown in per cent against the 30 % floor
    agg = stored.aggregates
    years = agg[(agg["rule"] == "agg.supply_share") & (agg["scope"] == "year")].sort_values("key")
    last = years.iloc[-1]
    card = re.search(rf"工业用地供应占比（{last['key']} 年）</div>\s*<div[^>]*>([0-9.,]+) <span", html)
    assert card and float(card.group(1)) == pytest.approx(last["value"] * 100, abs=0.01)
    assert "≥ 30.00 %" in html[card.end():card.end() + 300]


# --- rule sets ---------------------------------------------------------------------------------------

def test_ruleset_diff_shows_the_2020_baselines(client, tokens):
    html = client.get("/web/rulesets/diff", params={"a": "chengdu-2020", "b": "chengdu-2023"},
                      headers=_cookie(tokens, "viewer")).text
    table = html[html.index('id="diff-changed"'):]
    # 650 / 1.6 = 406.25 and 30 / 1.5 = 20 (policy.md §1)
    assert re.search(r"<code>per_mu.revenue</code>.*?参数 min</td><td class=\"diff-old\">406.25</td>"
                     r"<td class=\"diff-new\">650.0</td>", table, re.S)
    assert re.search(r"<code>per_mu.tax</code>.*?参数 min</td><td class=\"diff-old\">20.0</td>", table, re.S)


def test_ruleset_page_reads_as_a_table(client, tokens):
    from rules.ruleset import load_ruleset

    html = client.get("/web/rulesets/chengdu-2023", headers=_cookie(tokens, "viewer")).text
    rows = re.findall(r'<td class="font-monospace">([a-z_.0-9]+)</td>', html)
    assert rows == [r.id for r in load_ruleset("chengdu-2023").rules]


def test_admin_uploads_a_ruleset_version_and_bad_yaml_is_explained(client, tokens):
    from rules.ruleset import load_ruleset

    text = load_ruleset("chengdu-2023").yaml_text
    version = f"web-{int(time.time() * 1000)}"
    new = text.replace('version: "2023.1"', f'version: "{version}"').replace("min: 650", "min: 700")
    r = client.post("/web/rulesets", files={"file": ("mine.yaml", new.encode())},
                    headers=_cookie(tokens, "admin"), follow_redirects=False)
    assert r.status_code == 303
    html = client.get(f"/web/rulesets/diff?a=chengdu-2023@2023.1&b=chengdu-2023@{version}",
                      headers=_cookie(tokens, "viewer")).text
    assert re.search(r'diff-old">650.0</td><td class="diff-new">700.0<', html)
    bad = client.post("/web/rulesets", files={"file": ("bad.yaml", b"id: x\nversion: 1\nrules: 3\n")},
                      headers=_cookie(tokens, "admin"))
    assert bad.status_code == 422 and 'id="ruleset-problems"' in bad.text
    assert client.post("/web/rulesets", files={"file": ("mine.yaml", new.encode())},
                       headers=_cookie(tokens, "analyst")).status_code == 403


# --- import, evaluate, check -------------------------------------------------------------------------

def test_import_lists_problems_per_row_and_stores_nothing(client, tokens, store):
    from api.store.repository import list_datasets

    with store.engine.connect() as conn:
        before = len(list_datasets(conn))
    bad = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"parcel_id": "B1"}},
        {"type": "Feature", "properties": {"parcel_id": "B2"},
         "geometry": {"type": "Polygon", "coordinates": [[[104, 30.7], [104.001, 30.7], [104.001, 30.701],
                                                          [104, 30.7]]]}},
        {"type": "Feature", "properties": {"parcel_id": "B2"},
         "geometry": {"type": "Polygon", "coordinates": [[[104.01, 30.7], [104.011, 30.7], [104.011, 30.701],
                                                          [104.01, 30.7]]]}}]}
    r = client.post("/web/import", files={"parcels": ("bad.geojson", json.dumps(bad).encode())},
                    headers=_cookie(tokens, "analyst"))
    assert r.status_code == 422
    rows = re.findall(r'<tr class="problem-row">(.*?)</tr>', r.text, re.S)
    assert len(rows) == 2
    assert any("B1" in row for row in rows) and any("B2" in row and "重复" in row for row in rows)
    assert all("bad.geojson" in row for row in rows)
    with store.engine.connect() as conn:
        assert len(list_datasets(conn)) == before


def test_import_confirm_then_evaluate_through_the_pages(client, tokens, tiny_files):
    h = _cookie(tokens, "analyst")
    files = {k: (p.name, p.read_bytes()) for k, p in tiny_files.items()}
    r = client.post("/web/import", files=files, data={"name": "小样例"}, headers=h)
    assert r.status_code == 200 and 'id="import-preview"' in r.text
    token = re.search(r'name="token" value="([0-9a-f]{32})"', r.text).group(1)
    r = client.post("/web/import/confirm", data={"token": token, "name": "小样例"}, headers=h,
                    follow_redirects=False)
    assert r.status_code == 303
    dataset = int(re.search(r"dataset=(\d+)", r.headers["location"]).group(1))
    # the staged upload is used up
    again = client.post("/web/import/confirm", data={"token": token}, headers=h)
    assert again.status_code == 404
    r = client.post("/web/evaluate", data={"dataset": dataset, "ruleset": "chengdu-2023", "as_of": "2025-06-30"},
                    headers=h, follow_redirects=False)
    run_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert _wait_done(client, tokens, run_id)["status"] == "done"
    html = client.get(f"/web/runs/{run_id}/parcels/T2", headers=h).text
    # T2: 100 m × 100 m = 10000 m² = 15 亩; FAR = 5000 / 10000 = 0.50
    assert "<th class=\"w-50\">面积（亩）</th><td>15.00</td>" in html
    assert "<th class=\"w-50\">容积率</th><td>0.50</td>" in html
    bad_date = client.post("/web/evaluate", data={"dataset": dataset, "as_of": "2025-13-01"}, headers=h)
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.text


def test_check_a_drawn_parcel(client, tokens, sample):
    import geopandas as gpd
    import shapely

    # 100 m × 100 m in EPSG:4544 → 10000 m² = 15 亩; floor area 30000 m² → FAR 3.0
    box = gpd.GeoSeries([shapely.box(410000, 3383000, 410100, 3383100)], crs=4544).to_crs(4326)
    geojson = json.dumps(shapely.geometry.mapping(box.iloc[0]))
    r = client.post("/web/check", data={"geojson": geojson, "land_use": "100101", "status": "built",
                                        "floor_area_m2": "30000", "ruleset": "chengdu-2023", "as_of": "2025-06-30"},
                    headers=_cookie(tokens, "viewer"))
    assert r.status_code == 200, r.text[-2000:]
    summary = re.search(r"宗地 <strong>CHECK-1</strong>(.*?)</p>", r.text, re.S).group(1)
    assert "面积 15.00 亩" in summary and "容积率 3.00" in summary
    assert "far.bounds" in re.findall(r'<tr data-rule="([^"]+)">', r.text)
    bad = client.post("/web/check", data={"geojson": '{"type": "Point", "coordinates": [104, 30]}'},
                      headers=_cookie(tokens, "viewer"))
    assert bad.status_code == 422 and "Polygon" in _text(bad.text, "check-error")


def test_zone_proposal_page_generates_and_downloads(client, tokens, sample):
    import pyogrio

    r = client.post("/web/zones/propose", data={"dataset": sample["dataset"]}, headers=_cookie(tokens, "analyst"),
                    follow_redirects=False)
    assert r.status_code == 303
    gpkg = client.get(f"/web/zones/{sample['dataset']}/download", headers=_cookie(tokens, "viewer"))
    assert gpkg.status_code == 200
    path = Path(__file__).parent / "artifacts" / f"web_zones_{sample['dataset']}.gpkg"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(gpkg.content)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"red_line", "blue_line", "proposal_parcels"} <= layers
    assert client.get(f"/web/zones/{sample['dataset']}/map", headers=_cookie(tokens, "viewer")).status_code == 200
