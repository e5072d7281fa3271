"""The planners' pages over HTTP (TestClient on ``create_app``) with real SpatiaLite and PostGIS stores."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"


_SESSIONS: dict[str, str] = {}  # token -> its web session cookie (the cookie never carries the token)


@pytest.fixture(autouse=True)
def _signed_in(client, tokens):
    """Sign each role in once per store through the form, as a browser does."""
    for token in tokens.values():
        if token not in _SESSIONS:
            r = client.post("/web/login", data={"token": token}, follow_redirects=False)
            assert r.status_code == 303, r.text
            _SESSIONS[token] = r.cookies["mujun_session"]
            client.cookies.clear()


def _cookie(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Cookie": f"mujun_session={_SESSIONS[tokens[role]]}"}


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
    # contract v2: all six overall statuses counted, not applicable and exempt included
    for status in ("fail", "warn", "missing_data", "pass", "exempt", "not_applicable"):
        assert int(_text(html, f"count-{status}")) == int(counts.get(status, 0))
    assert int(counts.get("not_applicable", 0)) > 0
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
    below = v[(v["rule"] == "per_mu.revenue") & (v["status"] == "warn")]
    noted = set(v.loc[(v["rule"] == "data.straddles") & (v["status"] == "warn"), "subject_id"])
    row = below[below["subject_id"].isin(noted)].iloc[0]  # a parcel below the 2025 target with a data note
    pid = str(row["subject_id"])
    html = client.get(f"/web/runs/{sample['run']}/parcels/{pid}", headers=_cookie(tokens, "viewer")).text
    rules = re.findall(r'<tr data-rule="([^"]+)"', html)
    assert sorted(rules) == sorted(v.loc[v["subject_id"] == pid, "rule"])
    assert _text(html, "parcel-id") == pid
    assert "occupants" in html
    # data.* notes in their own 数据提示 table, never among the rules
    verdicts = html[html.index('id="verdicts"'):html.index('id="notes"')]
    notes = html[html.index('id="notes"'):html.index('id="occupants"')]
    assert not [r for r in re.findall(r'<tr data-rule="([^"]+)"', verdicts) if r.startswith("data.")]
    assert 'data-rule="data.straddles" data-status="warn"' in notes and "数据提示" in html
    # below the collective 2025 target: a 预警 (warn) with its gap, worst rows first
    revenue = verdicts[verdicts.index('data-rule="per_mu.revenue"'):]
    revenue = revenue[:revenue.index("</tr>")]
    assert 'data-status="warn"' in revenue and "低于2025年全市目标" in revenue
    assert f"差 {650 - row['value']:.1f}" in revenue  # gap = 650 − value, as the message says
    statuses = re.findall(r'<tr data-rule="[^"]+" data-status="([a-z_]+)"', verdicts)
    order = ["fail", "warn", "missing_data", "pass", "exempt", "not_applicable"]
    assert statuses == sorted(statuses, key=order.index)
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


def test_survey_txt_downloads_of_a_run_and_of_one_parcel(client, tokens, sample, stored, tmp_path):
    """界址点坐标 files: the whole run from the results page, one parcel from its page; read back, each parcel is
    where the store has it (within 1 mm) under its id."""
    import shapely

    from gis.io import read_parcels

    h = _cookie(tokens, "viewer")
    page = client.get(f"/web/runs/{sample['run']}", headers=h).text
    assert 'id="dl-txt"' in page and "界址点坐标 TXT" in page
    whole = client.get(f"/web/runs/{sample['run']}/download/txt", headers=h)
    assert whole.status_code == 200 and whole.headers["content-disposition"].endswith('.txt"')
    (tmp_path / "run.txt").write_bytes(whole.content)
    back, _ = read_parcels(tmp_path / "run.txt")
    want = stored.parcels.set_index("parcel_id").geometry
    assert sorted(back["parcel_id"]) == sorted(want.index)
    off = [shapely.hausdorff_distance(g, want[i]) for i, g in zip(back["parcel_id"], back.geometry, strict=True)]
    assert max(off) < 0.001
    pid = str(stored.parcels["parcel_id"].iloc[0])
    parcel_page = client.get(f"/web/runs/{sample['run']}/parcels/{pid}", headers=h).text
    assert f"/parcels/{pid}/download/txt" in parcel_page
    one = client.get(f"/web/runs/{sample['run']}/parcels/{pid}/download/txt", headers=h)
    assert one.status_code == 200 and "attachment" in one.headers["content-disposition"]
    text = one.content.decode("gbk")
    assert text.startswith("[属性描述]") and "带号=35" in text  # Chengdu is in 3° zone 35
    (tmp_path / "one.txt").write_bytes(one.content)
    single, _ = read_parcels(tmp_path / "one.txt")
    assert single["parcel_id"].tolist() == [pid]
    assert shapely.hausdorff_distance(single.geometry.iloc[0], want[pid]) < 0.001
    missing = client.get(f"/web/runs/{sample['run']}/parcels/NO-SUCH/download/txt", headers=h)
    assert missing.status_code == 404 and "NO-SUCH" in missing.text


def test_print_summary_has_indicators_and_static_map(client, tokens, sample):
    h = _cookie(tokens, "viewer")
    html = client.get(f"/web/runs/{sample['run']}/print", headers=h).text
    assert 'id="print-map"' in html and "@page" in client.get("/web/static/print.css").text
    png = client.get(f"/web/runs/{sample['run']}/download/png", headers=h)
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_print_map_button_downloads_an_a3_landscape_pdf(client, tokens, sample):
    import pypdf

    h = _cookie(tokens, "viewer")
    html = client.get(f"/web/runs/{sample['run']}", headers=h).text
    button = re.search(r'<a[^>]*id="print-map-pdf"[^>]*href="([^"]+)"[^>]*>(.*?)</a>', html, re.S)
    assert button and "打印地图" in button.group(2)
    pdf = client.get(button.group(1), headers=h)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].endswith(f"_run{sample['run']}.pdf\"")
    page = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0]
    assert (round(float(page.mediabox.width) * 25.4 / 72), round(float(page.mediabox.height) * 25.4 / 72)) == (420, 297)
    text = re.sub(r"\s+", "", page.extract_text())
    assert f"工业用地合规评估图（评估{sample['run']}）" in text and "比例尺1:" in text and "不合规（" in text


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
    # industries by their GB/T 4754 names and parks by name, not codes or ids
    from gis.vocabulary import industry_label

    parks = stored.zones["parks"].set_index("park_id")["name"].astype(str)
    industries = re.findall(r'<td class="mj-industry">([^<]*)</td>', html)
    assert industries and all("（C" in i and not i.startswith("C") for i in industries)
    assert set(industries) <= {industry_label(c) for c in ent["industry_code"].dropna()}
    park_cells = set(re.findall(r'<td class="mj-park">([^<]*)</td>', html)) - {"—"}
    assert park_cells and park_cells <= set(parks)
    options = re.findall(r'<option value="(P[^"]*)"[^>]*>([^<]+)</option>', html)
    assert options and all(parks[pid] == name for pid, name in options)
    # ranked by score, highest first
    scores = ent.loc[ent["grade"] == "A", "score"].sort_values(ascending=False).to_numpy()
    first = re.search(r"<tr><td>1</td>.*?</tr>", html, re.S).group(0)
    assert f"{scores[0]:,.2f}" in first


def test_dashboard_counts_flags_by_rule(client, tokens, sample, stored):
    html = client.get("/web/", headers=_cookie(tokens, "viewer")).text
    v = stored.verdicts
    fails = int(((v["rule"] == "far.bounds") & (v["status"] == "fail")).sum())
    # the rule by its Chinese title, the id after it in small grey type
    row = re.search(r'data-rule="far\.bounds">工业用地容积率 <span class="rule-id text-muted small">far\.bounds</span>'
                    r"</a></td><td>(\d+)</td>", html)
    assert row and int(row.group(1)) == fails
    # data-quality notes are not problems: not in the problem table, listed apart as 数据提示
    table = html[html.index('id="by-rule"'):html.index('id="by-district"')]
    problems = re.findall(r'data-rule="([^"]+)"', table[:table.index("</table>")])
    assert problems and not [r for r in problems if r.startswith("data.")]
    notes = table[table.index('id="by-rule-notes"'):]
    straddles = int(((v["rule"] == "data.straddles") & (v["status"] == "warn")).sum())
    assert "数据提示" in notes and f"data.straddles</span> {straddles} 宗" in notes
    # the latest year's land-supply share, in per cent against the 30 % floor
    agg = stored.aggregates
    years = agg[(agg["rule"] == "agg.supply_share") & (agg["scope"] == "year")].sort_values("key")
    last = years.iloc[-1]
    card = re.search(rf"（{last['key']} 年）</div>\s*<div[^>]*>([0-9.,]+)%</div>", html)
    assert card and float(card.group(1)) == pytest.approx(round(last["value"] * 100, 1))
    assert "≥ 30.0%" in html[card.end():card.end() + 300]


# --- rule sets ---------------------------------------------------------------------------------------

def test_ruleset_diff_shows_the_2020_baselines(client, tokens):
    html = client.get("/web/rulesets/diff", params={"a": "chengdu-2020", "b": "chengdu-2023"},
                      headers=_cookie(tokens, "viewer")).text
    table = html[html.index('id="diff-changed"'):]
    # 650 / 1.6 = 406.25 and 30 / 1.5 = 20 (policy.md §1), in words with the rule's unit
    assert re.search(r'per_mu\.revenue</span></td><td>参数 下限</td><td class="diff-old">406.25 万元/亩</td>'
                     r'<td class="diff-new">650 万元/亩</td>', table)
    assert re.search(r'per_mu\.tax</span></td><td>参数 下限</td><td class="diff-old">20 万元/亩</td>', table)
    assert "<td>参数 亩均税收目标</td>" in table  # low_efficiency.tax_target, named


def test_ruleset_page_reads_as_a_table(client, tokens):
    from rules.ruleset import load_ruleset

    html = client.get("/web/rulesets/chengdu-2023", headers=_cookie(tokens, "viewer")).text
    rows = re.findall(r'<tr data-rule="([^"]+)"><td>([^<]+) <span class="rule-id', html)
    rs = load_ruleset("chengdu-2023")
    assert rows == [(r.id, r.title) for r in rs.rules]
    params = html[html.index('id="parameters"'):html.index("</table>", html.index('id="parameters"'))]
    # gap_m → 成片间距 30 米; shares in per cent; money with its unit
    assert "<th>成片间距</th><td>30 米</td>" in params and "<th>空间归属面积比例</th><td>50%</td>" in params
    assert "<th>规上企业营业收入门槛</th><td>2,000 万元</td>" in params
    far = html[html.index('<tr data-rule="far.bounds">'):]
    assert "绕城高速以内</span>：下限 2，上限 4" in far[:far.index("</tr>")]


def test_admin_uploads_a_ruleset_version_and_bad_yaml_is_explained(client, tokens):
    from rules.ruleset import load_ruleset

    base = load_ruleset("chengdu-2023")
    version = f"web-{int(time.time() * 1000)}"
    new = base.yaml_text.replace(f'version: "{base.version}"', f'version: "{version}"').replace(
        "min: 650.0", "min: 700.0")
    assert version in new and "min: 700.0" in new
    r = client.post("/web/rulesets", files={"file": ("mine.yaml", new.encode())},
                    headers=_cookie(tokens, "admin"), follow_redirects=False)
    assert r.status_code == 303, r.text[-1500:]
    html = client.get(f"/web/rulesets/diff?a=chengdu-2023@{base.version}&b=chengdu-2023@{version}",
                      headers=_cookie(tokens, "viewer")).text
    assert re.search(r'diff-old">650 万元/亩</td><td class="diff-new">700 万元/亩<', html)
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
    # codes in words: M1 → 一类工业用地, the park K1 by its name, built → 已建成, the ring unknown → 否/—
    assert "<th class=\"w-50\">用地分类</th><td>一类工业用地（M1）</td>" in html
    assert "<th class=\"w-50\">园区</th><td>测试园区</td>" in html
    assert "<th class=\"w-50\">现状</th><td>已建成</td>" in html
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
    assert "far.bounds" in re.findall(r'<tr data-rule="([^"]+)"', r.text)
    bad = client.post("/web/check", data={"geojson": '{"type": "Point", "coordinates": [104, 30]}'},
                      headers=_cookie(tokens, "viewer"))
    assert bad.status_code == 422 and "Polygon" in _text(bad.text, "check-error")


def test_check_an_uploaded_survey_file(client, tokens, sample):
    survey = Path(__file__).parent / "data" / "survey"
    form = {"ruleset": "chengdu-2023", "as_of": "2025-06-30"}
    r = client.post("/web/check", data=form, files={"file": ("郫都.txt", (survey / "gbk.txt").read_bytes())},
                    headers=_cookie(tokens, "viewer"))
    assert r.status_code == 200, r.text[-2000:]
    # the GBK fixture's one parcel: 100 m × 60 m = 6000 m² = 6000 ÷ (10000/15) = 9 亩
    summary = re.search(r"宗地 <strong>郫都-07</strong>(.*?)</p>", r.text, re.S).group(1)
    assert "面积 9.00 亩" in summary
    bad = client.post("/web/check", data=form, files={"file": ("bad.txt", (survey / "malformed.txt").read_bytes())},
                      headers=_cookie(tokens, "viewer"))
    assert bad.status_code == 422 and "第 9 行" in _text(bad.text, "check-error")


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


# --- the counter check grades a proposed firm against the dataset's firms ----------------------------

def _square(x0: float, y0: float) -> object:
    import shapely

    return shapely.box(x0, y0, x0 + 100, y0 + 100)  # 100 m × 100 m in EPSG:4544 = 10 000 m² = 15 亩


@pytest.fixture(scope="module")
def firms_dataset(store, tmp_path_factory):
    """Four hand-made firms, each alone on a 15-亩 parcel, with revenue and tax only (万元).

    per 亩:   F1 100 / 5   F2 200 / 10   F3 300 / 15   F4 400 / 20   (营收 / 税收)
    Only 亩均营收 and 亩均税收 (weight 20 each) can be scored: the other five indicators have no data in the
    dataset, so no benchmark and 0 points for everyone. Benchmarks are the medians: 250 and 12.5 万元/亩.
    Scores = 20 × min(v / 250, 2) + 20 × min(t / 12.5, 2): F1 8 + 8 = 16, F2 32, F3 48, F4 64.
    """
    import geopandas as gpd
    import pandas as pd

    from api.store.importer import import_files

    folder = tmp_path_factory.mktemp("firms")
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["G1", "G2", "G3", "G4"], "land_use": ["1001"] * 4, "status": ["built"] * 4,
         "floor_area_m2": [20000.0] * 4, "enterprise_id": ["F1", "F2", "F3", "F4"]},
        geometry=[_square(402000 + 200 * i, 3392000) for i in range(4)], crs="EPSG:4544")
    parcels.to_file(folder / "parcels.gpkg", driver="GPKG")
    pd.DataFrame({"enterprise_id": ["F1", "F2", "F3", "F4"], "name": ["甲厂", "乙厂", "丙厂", "丁厂"],
                  "industry_code": ["C3981"] * 4, "revenue_10k": [1500.0, 3000.0, 4500.0, 6000.0],
                  "tax_10k": [75.0, 150.0, 225.0, 300.0]}).to_csv(folder / "enterprises.csv", index=False)
    outcome = import_files(store.engine, folder / "parcels.gpkg", folder / "enterprises.csv", actor="pytest",
                           name="四家企业")
    return outcome.dataset_id


def _check_feature() -> dict:
    import geopandas as gpd
    import shapely

    box = gpd.GeoSeries([_square(402000, 3393000)], crs=4544).to_crs(4326).iloc[0]
    return {"type": "Feature", "geometry": shapely.geometry.mapping(box),
            "properties": {"parcel_id": "NEW", "land_use": "1001", "status": "built", "floor_area_m2": 30000}}


def test_check_grades_a_proposed_firm_among_the_datasets_firms(client, tokens, store, firms_dataset):
    """A proposed firm on a 15-亩 parcel with revenue 5250 and tax 262.5 万元 → 350 / 17.5 万元/亩.

    Score = 20 × 350/250 + 20 × 17.5/12.5 = 28 + 28 = 56. Dataset scores 16, 32, 48, 64: three are lower →
    percentile 3/4 = 75.0 %. Among the four plus itself it ranks 2nd of 5: rank share 2/5 = 0.4, past A's
    30 % and within A+B's 90 % → grade B. (Alone, as before, it would rank 1st of 1: share 1.0 → D.)
    A second firm with 500 / 25 万元/亩 hits the cap (2 × 20 × 2 = 80): above all four, rank 1 of 5 → A.
    """
    from api.store.evaluations import create_run, execute_run

    firm = {"name": "拟入驻企业", "industry_code": "C3981", "revenue_10k": 5250.0, "tax_10k": 262.5}
    body = {"feature": _check_feature(), "as_of": "2025-06-30", "dataset": firms_dataset, "enterprise": firm}
    # 1) the dataset was never evaluated: its firms are evaluated for the check
    r = client.post("/check", json=body, headers=client.as_role("viewer"))
    assert r.status_code == 200, r.text
    g = r.json()["grading"][0]
    assert g["run"] is None and g["firms"] == 4
    assert g["benchmarks"]["亩均营收"] == pytest.approx(250.0) and g["benchmarks"]["亩均税收"] == pytest.approx(12.5)
    assert g["score"] == pytest.approx(56.0) and g["percentile"] == pytest.approx(75.0)
    assert (g["rank"], g["grade"], g["grade_label"], g["status"]) == (2, "B", "B 类（提升发展类）", "pass")
    # 2) after an evaluation of the dataset, the same answer from its stored verdicts
    with store.engine.begin() as conn:
        run_id = create_run(conn, firms_dataset, "chengdu-2023", dt.date(2025, 6, 30), actor="pytest")
    execute_run(store.engine, run_id)
    top = {**firm, "revenue_10k": 7500.0, "tax_10k": 375.0}
    for f, expected in ((firm, (56.0, 75.0, 2, "B")), (top, (80.0, 100.0, 1, "A"))):
        g = client.post("/check", json={**body, "enterprise": f}, headers=client.as_role("viewer")).json()[
            "grading"][0]
        assert g["run"] == run_id
        assert (g["score"], g["percentile"], g["rank"], g["grade"]) == pytest.approx(expected)
    # 3) the web check page calls the same grading: same grade and percentile, named in Chinese
    html = client.post("/web/check", data={"geojson": json.dumps(_check_feature()["geometry"]), "land_use": "1001",
                                           "status": "built", "floor_area_m2": "30000", "as_of": "2025-06-30",
                                           "dataset": str(firms_dataset), "enterprise_name": "拟入驻企业",
                                           "industry_code": "C3981", "revenue_10k": "5250", "tax_10k": "262.5"},
                       headers=_cookie(tokens, "viewer")).text
    grade = re.search(r'id="check-grade" data-grade="([A-D])" data-percentile="([0-9.]+)"', html)
    assert grade and grade.group(1) == "B" and float(grade.group(2)) == pytest.approx(75.0)
    assert "B 类（提升发展类）" in html and _text(html, "check-score") == "56.00"
    row = re.search(r'<tr data-rule="mujun\.grade" data-status="([a-z_]+)">', html)
    assert row and row.group(1) == "pass"  # the lone firm's own-rank D is replaced by its grade among the four
