"""The planners' pages in Debian's headless Chromium against uvicorn with a fresh SpatiaLite store.

Sign in, upload the sample data, run an evaluation, open the map and a parcel, filter the table, download
the XLSX and open it with openpyxl, and check a drawn parcel. Every request not to 127.0.0.1 is aborted.
Screenshots go to tests/artifacts/web_*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, launch, offline_context
from tests.conftest import serving

pytestmark = pytest.mark.browser
DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """uvicorn on a free port with a fresh SpatiaLite store; yields (base URL, admin token)."""
    from api.app import create_app
    from api.settings import Settings
    from api.store.engine import dispose_engine
    from api.store.repository import add_user

    data_dir = tmp_path_factory.mktemp("web-browser")
    settings = Settings(database_url=f"sqlite:///{data_dir / 'mujun.sqlite'}", data_dir=data_dir)
    app = create_app(settings)
    with app.state.engine.begin() as conn:
        token = add_user(conn, "规划员", "admin")
    with serving(app) as base:
        yield base, token
    dispose_engine(settings)


@pytest.fixture(scope="module")
def page(server: tuple[str, str]) -> Iterator[object]:
    """One signed-out Chromium page; records blocked requests and page errors."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/setup.sh (APT_PACKAGES has chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        context, blocked = offline_context(browser, "http://127.0.0.1:", viewport={"width": 1400, "height": 900},
                                           accept_downloads=True, locale="zh-CN")
        pg = context.new_page()
        pg.errors = []  # type: ignore[attr-defined]
        pg.blocked = blocked  # type: ignore[attr-defined]
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        yield pg
        context.close()
        browser.close()


def _shot(page: object, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"web_{name}.png"), full_page=False)


def test_planner_workflow(server: tuple[str, str], page: object) -> None:
    import openpyxl

    base, token = server
    # sign in
    page.goto(f"{base}/web/")
    assert "/web/login" in page.url
    page.fill("#token", token)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/web/")
    assert "规划员" in page.inner_text("#whoami")
    _shot(page, "01_dashboard_empty")

    # upload the sample, see the preview, confirm
    page.click("#nav-import")
    for kind, name in (("parcels", "parcels.gpkg"), ("enterprises", "enterprises.csv"),
                       ("occupancy", "occupancy.csv"), ("zones", "zones.gpkg"), ("land_supply", "land_supply.csv")):
        page.set_input_files(f"#file-{kind}", str(DATA_DIR / name))
    page.click("#import-check")
    page.wait_for_selector("#import-preview", timeout=60_000)
    _shot(page, "02_import_preview")
    page.click("#import-confirm")
    page.wait_for_selector("#imported-ok")

    # run an evaluation: the progress page turns into the result page by itself
    page.fill("#as_of", "2025-06-30")
    page.click("#evaluate-start")
    page.wait_for_selector("#summary-cards", timeout=120_000)
    assert int(page.inner_text("#count-fail")) > 0
    frame = page.frame_locator("#compliance-map")
    frame.locator(".leaflet-container").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    _shot(page, "03_run")

    # filter the table by rule and status
    page.select_option("#f-rule", "far.bounds")
    page.select_option("#f-status", "fail")
    page.click("#f-apply")
    page.wait_for_load_state()
    statuses = page.locator("#flagged tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses and set(statuses) <= {"fail", "warn", "missing_data", "pass", "exempt", "not_applicable"}
    flags = page.locator("#flagged tbody tr td:last-child").all_inner_texts()
    assert flags and all("工业用地容积率" in f for f in flags)  # the rule by its title (its id in small grey type)
    assert page.locator("#flagged .mj-flag .rule-id").first.inner_text() == "far.bounds"
    _shot(page, "04_filtered")

    # download the XLSX and open it
    with page.expect_download() as info:
        page.click("#dl-xlsx")
    xlsx = ARTIFACTS / "web_report.xlsx"
    info.value.save_as(str(xlsx))
    wb = openpyxl.load_workbook(xlsx)
    assert len(wb.sheetnames) >= 4 and wb[wb.sheetnames[1]].freeze_panes

    # open a parcel: verdict table and mini-map
    first = page.locator(".parcel-link").first
    pid = first.inner_text()
    first.click()
    page.wait_for_selector("#verdicts")
    assert page.inner_text("#parcel-id") == pid
    assert page.locator("#verdicts tbody tr").count() >= 5
    page.locator("#parcel-map path.leaflet-interactive").first.wait_for()
    _shot(page, "05_parcel")

    # 亩产论英雄 with charts
    page.goto(f"{base}/web/mujun")
    page.wait_for_selector("#ranking")
    assert page.locator("#charts svg").count() == 2
    _shot(page, "06_mujun")

    # check a drawn parcel: four clicks on the map, finish, attributes, submit
    page.goto(f"{base}/web/check")
    page.wait_for_selector("#draw-map.leaflet-container")
    page.wait_for_timeout(800)
    # zoom to ~1 m per pixel so the 80 × 60 px square is a plausible parcel (≈ 80 m × 60 m)
    page.evaluate("window.mujunDrawMap.setView([30.70, 104.00], 17, {animate: false})")
    page.wait_for_timeout(300)
    box = page.locator("#draw-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-40, -30), (40, -30), (40, 30), (-40, 30)):
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(350)  # not a double click
    page.click("#draw-finish")
    assert '"Polygon"' in page.input_value("#geojson")
    page.fill("#c-land_use", "100101")
    page.fill("#c-floor_area_m2", "50000")
    page.fill("#c-as_of", "2025-06-30")
    _shot(page, "07_check_drawn")
    page.click("#check-submit")
    page.wait_for_selector("#check-result", timeout=60_000)
    assert "工业用地容积率" in page.inner_text("#check-verdicts")
    # 80 px × 60 px at zoom 17, 30.7°N: 1.194 m/px × cos(30.7°) ≈ 1.03 m/px → ≈ 82 m × 62 m ≈ 5100 m² ≈ 7.6 亩
    summary = page.inner_text("#check-result p")
    area_mu = float(summary.split("面积 ")[1].split(" 亩")[0].replace(",", ""))
    assert 5.5 < area_mu < 10
    _shot(page, "08_check_result")

    # the printable summary
    page.goto(page.url.replace("/web/check", "/web/runs/1/print"))
    page.wait_for_selector("#print-map")
    page.wait_for_function("document.getElementById('print-map').naturalWidth > 0")
    _shot(page, "09_print")

    assert page.blocked == [], f"requests left 127.0.0.1: {page.blocked[:5]}"
    assert page.errors == [], page.errors
