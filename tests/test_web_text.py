"""Every page a planner opens reads as Chinese: no rule ids, snake_case keys or Python values in its visible text.

Debian's headless Chromium against uvicorn with a fresh SpatiaLite store holding the sample (imported and
evaluated). The test signs in, visits every page (dashboard, import and its preview, evaluate, runs, run results
and filters, parcels, print, 亩产论英雄, the check page with a result, rule sets, a rule-set page, the diff, zones)
and scans ``document.body.innerText`` with the elements meant to show ids hidden (``.rule-id``, ``code``, the
YAML source, form inputs). Parcel and enterprise ids (P0001, E00001) are fine. Every request not to 127.0.0.1
is aborted. Screenshots go to tests/artifacts/web_text_*.png.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, launch, offline_context
from tests.conftest import serving

pytestmark = pytest.mark.browser
DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"
ARTIFACTS = Path(__file__).parent / "artifacts"
# Elements meant to show ids or raw input: hidden while the text is read.
ID_ELEMENTS = ".rule-id, code, pre.mj-source, input, textarea, script, style"
SNAKE = re.compile(r"(?<![A-Za-z0-9_])[a-z]+_[a-z_]+")
REPRS = re.compile(r"(?<![A-Za-z])(?:None|True|False|nan|NaN|NaT|<NA>)(?![A-Za-z])|\['|\{'")


def _rule_pattern() -> re.Pattern[str]:
    from rules.ruleset import load_ruleset

    ids = sorted({r.id for name in ("chengdu-2023", "chengdu-2020") for r in load_ruleset(name).rules},
                 key=len, reverse=True)
    return re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(i) for i in ids) + r")(?![\w.])")


RULE_IDS = _rule_pattern()


def offending(text: str) -> list[str]:
    """The snippets of ``text`` that show a rule id, a snake_case key or a Python repr (with some context)."""
    out = []
    for pattern in (RULE_IDS, SNAKE, REPRS):
        for m in pattern.finditer(text):
            out.append(text[max(0, m.start() - 25):m.end() + 25].replace("\n", " ⏎ "))
    return out


def test_the_scan_finds_what_it_must():
    # the scan itself: ids, keys and reprs are caught, Chinese with parcel/enterprise ids and dates is not
    assert len(offending("规则 far.bounds 不合规")) == 1
    assert offending("阈值 {'min': 2.0}")
    assert offending("启用 True") and offending("测算值 nan") and offending("代码 ['1001', 'M1']")
    assert offending("图层 red_line") and offending("code below_target")
    assert offending("宗地 P0001，企业 E00001，2025-06-30，容积率 2.00，工业用地容积率") == []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """uvicorn on a free port over a fresh SpatiaLite store with the sample imported and evaluated."""
    from api.app import create_app
    from api.settings import Settings
    from api.store.engine import dispose_engine
    from api.store.evaluations import create_run, execute_run, result_from_store
    from api.store.importer import import_files
    from api.store.repository import add_user

    data_dir = tmp_path_factory.mktemp("web-text")
    settings = Settings(database_url=f"sqlite:///{data_dir / 'mujun.sqlite'}", data_dir=data_dir)
    app = create_app(settings)
    engine = app.state.engine
    with engine.begin() as conn:
        token = add_user(conn, "规划员", "admin")
    outcome = import_files(engine, DATA_DIR / "parcels.gpkg", DATA_DIR / "enterprises.csv",
                           DATA_DIR / "occupancy.csv", DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv",
                           actor="pytest")
    with engine.begin() as conn:
        run_id = create_run(conn, outcome.dataset_id, "chengdu-2023", dt.date(2025, 6, 30), actor="pytest")
    execute_run(engine, run_id)
    with engine.connect() as conn:
        result = result_from_store(conn, run_id)
    with serving(app) as base:
        yield {"base": base, "token": token, "run": run_id, "dataset": outcome.dataset_id, "result": result}
    dispose_engine(settings)


def _parcels_to_visit(result) -> list[str]:
    """A failing parcel with a data note and occupants, a not-applicable one, an exempt one."""
    p = result.parcels
    occupied = set(result.verdicts.loc[(result.verdicts["rule"] == "data.occupancy")
                                       & (result.verdicts["status"] != "not_applicable"), "subject_id"])
    busy = p[(p["status"] == "fail") & (p["st_data_straddles"] == "warn") & p["parcel_id"].isin(occupied)]
    picks = [busy["parcel_id"].iloc[0]]
    for status in ("not_applicable", "exempt", "warn"):
        sel = p.loc[p["status"] == status, "parcel_id"]
        if len(sel):
            picks.append(sel.iloc[0])
    return [str(x) for x in picks]


def _check_polygon() -> str:
    """An 80 m × 80 m square inside the sample's first park (EPSG:4326 GeoJSON)."""
    import geopandas as gpd
    import shapely

    parks = gpd.read_file(DATA_DIR / "zones.gpkg", layer="parks")
    c = parks.geometry.iloc[0].representative_point()
    square = gpd.GeoSeries([shapely.box(c.x - 40, c.y - 40, c.x + 40, c.y + 40)], crs=parks.crs).to_crs(4326)
    return json.dumps(shapely.geometry.mapping(square.iloc[0]))


def test_every_page_reads_as_chinese(site: dict) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/setup.sh (APT_PACKAGES has chromium)")
    from playwright.sync_api import sync_playwright

    from rules.vocabulary import STATUS_COLORS

    ARTIFACTS.mkdir(exist_ok=True)
    base, run = site["base"], site["run"]
    found: dict[str, list[str]] = {}
    visited: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        context, blocked = offline_context(browser, "http://127.0.0.1:", viewport={"width": 1400, "height": 900},
                                           locale="zh-CN")
        errors: list[str] = []
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))

        def scan(name: str) -> None:
            page.wait_for_load_state("load")
            assert "/web/login" not in page.url, f"{name}: not signed in"
            text = page.evaluate(
                """(sel) => {
                    const hidden = [...document.querySelectorAll(sel)];
                    const before = hidden.map(e => e.style.display);
                    hidden.forEach(e => { e.style.display = 'none'; });
                    const text = document.body.innerText;
                    hidden.forEach((e, i) => { e.style.display = before[i]; });
                    return text;
                }""",
                ID_ELEMENTS,
            )
            assert len(text) > 50, f"{name}: the page is empty"
            visited.append(name)
            bad = offending(text)
            if bad:
                found[f"{name} ({page.url.removeprefix(base)})"] = bad
            page.screenshot(path=str(ARTIFACTS / f"web_text_{len(visited):02d}_{name}.png"))

        def visit(name: str, path: str) -> None:
            page.goto(base + path)
            scan(name)

        page.goto(f"{base}/web/login")
        page.fill("#token", site["token"])
        page.click("#login-submit")
        page.wait_for_url(f"{base}/web/")
        scan("dashboard")

        visit("import", "/web/import")
        page.set_input_files("#file-parcels", str(DATA_DIR / "parcels.gpkg"))
        page.set_input_files("#file-zones", str(DATA_DIR / "zones.gpkg"))
        page.set_input_files("#file-enterprises", str(DATA_DIR / "enterprises.csv"))
        page.click("#import-check")
        page.wait_for_selector("#import-preview", timeout=60_000)
        scan("import_preview")

        visit("evaluate", "/web/evaluate")
        visit("runs", "/web/runs")
        visit("run", f"/web/runs/{run}")
        # v2 on the page: six statuses counted; not applicable and exempt drawn grey/blue, never green
        for status in ("not_applicable", "exempt"):
            dot = page.locator(f'.mj-count[data-status="{status}"] .mj-dot').evaluate(
                "e => getComputedStyle(e).backgroundColor")
            rgb = "rgb({}, {}, {})".format(*(int(STATUS_COLORS[status][i:i + 2], 16) for i in (1, 3, 5)))
            assert dot == rgb, (status, dot)
        assert STATUS_COLORS["not_applicable"] != STATUS_COLORS["pass"]
        counts = site["result"].parcels["status"].value_counts()
        for status in ("not_applicable", "exempt", "fail", "warn"):
            assert int(page.inner_text(f"#count-{status}")) == int(counts.get(status, 0))
        assert int(counts.get("not_applicable", 0)) > 0
        visit("run_far_fail", f"/web/runs/{run}?rule=far.bounds&status=fail")
        park = site["result"].parcels["park_id"].dropna().iloc[0]
        visit("run_park", f"/web/runs/{run}?park={park}&sort=status&desc=1")
        for pid in _parcels_to_visit(site["result"]):
            visit(f"parcel_{pid}", f"/web/runs/{run}/parcels/{pid}")
        visit("print", f"/web/runs/{run}/print")
        visit("mujun", f"/web/runs/{run}/mujun")
        industry = site["result"].enterprises["industry_code"].dropna().astype(str).str[:3].iloc[0]
        visit("mujun_filtered", f"/web/runs/{run}/mujun?industry={industry}&park={park}")

        visit("check", "/web/check")
        page.fill("#geojson", _check_polygon())
        page.fill("#c-land_use", "100101")
        page.fill("#c-floor_area_m2", "6000")
        page.fill("#c-as_of", "2025-06-30")
        page.fill("#c-enterprise_name", "拟入驻企业")
        page.fill("#c-industry_code", "C3981")
        page.fill("#c-revenue_10k", "8000")
        page.fill("#c-tax_10k", "300")
        page.click("#check-submit")
        page.wait_for_selector("#check-result", timeout=60_000)
        assert page.locator("#check-grade").get_attribute("data-grade") in ("A", "B", "C", "D")
        page.locator("#check-result").scroll_into_view_if_needed()
        scan("check_result")

        visit("rulesets", "/web/rulesets")
        visit("ruleset_2023", "/web/rulesets/chengdu-2023")
        visit("ruleset_2020", "/web/rulesets/chengdu-2020")
        visit("ruleset_diff", "/web/rulesets/diff?a=chengdu-2020&b=chengdu-2023")
        visit("zones", "/web/zones")
        context.close()
        browser.close()

    assert blocked == [], f"requests left 127.0.0.1: {blocked[:5]}"
    assert errors == [], errors
    assert len(visited) >= 20, visited
    report = "\n".join(f"{page_name}:\n  " + "\n  ".join(sorted(set(snips))[:15])
                       for page_name, snips in found.items())
    assert not found, "ids, keys or Python values in the visible text of these pages:\n" + report
