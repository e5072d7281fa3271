"""Generated maps opened in Debian's headless Chromium with every network request blocked."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_maps import make_fixture  # noqa: E402

from gis import maps  # noqa: E402

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/setup.sh (APT_PACKAGES has chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Opened:
    """A page opened offline, with its console errors, failed and blocked requests."""

    def __init__(self, browser: object, html: Path, viewport: tuple[int, int] = (1200, 800)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.blocked: list[str] = []
        self.errors: list[str] = []

        def route(r: object) -> None:
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(html.resolve().as_uri())
        self.page.wait_for_function(
            "document.documentElement.getAttribute('data-mujun-ready') === '1'", timeout=30000
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def opened(browser, tmp_path, request):
    pages: list[Opened] = []

    def _open(html: Path, **kw) -> Opened:
        o = Opened(browser, html, **kw)
        pages.append(o)
        return o

    yield _open
    for o in pages:
        o.close()


def _click_parcel(o: Opened, parcel_id: str) -> None:
    """A real mouse click at the centre of a parcel's box (container pixels → page pixels)."""
    x, y = o.page.evaluate(
        """(pid) => { const a = window.mujunMaps[0]; const i = a.index[pid];
        const c = a.parcels.featureBounds(i).getCenter(); const p = a.map.latLngToContainerPoint(c);
        const r = a.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
        parcel_id,
    )
    o.page.mouse.click(x, y)
    o.page.wait_for_selector(".leaflet-popup-content .mj-popup", timeout=5000)
    o.page.wait_for_timeout(300)  # let the popup fade in before a screenshot


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "folder"])
def test_compliance_map_opens_offline_and_shows_verdicts(opened, tmp_path, inline):
    parcels, verdicts, zones, aggregates = make_fixture()
    html = maps.save_compliance_map(
        tmp_path / "map.html", parcels, verdicts, zones, aggregates, inline=inline
    )
    o = opened(html)
    page = o.page
    assert page.evaluate("typeof window.L === 'object' && window.L.version") == "1.9.3"
    # every parcel is drawn on the canvas (all five are in view after fitBounds)
    assert page.evaluate("window.mujunMaps[0].parcels.drawnCount") == len(parcels)
    legend = page.inner_text(".mj-legend")
    assert "总体合规状态" in legend and "不合规 1" in legend and "合规 2" in legend
    control = page.inner_text(".leaflet-control-layers")
    assert "按规则着色：容积率" in control and "工业红线区" in control
    _click_parcel(o, "P1")
    popup = page.inner_text(".leaflet-popup-content")
    assert "宗地 P1" in popup
    assert "容积率 1.00，低于绕城高速以内下限 2.0" in popup and "1 / 2–4" in popup
    assert (
        "亩均营收 500 万元，低于 650" in popup and "依据：成都市支持制造业产业功能区提能升级行动计划" in popup
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"compliance_{'inline' if inline else 'folder'}.png"))
    assert o.errors == [] and o.blocked == []


def test_family_toggle_search_tooltip_and_measure(opened, tmp_path):
    parcels, verdicts, zones, aggregates = make_fixture()
    html = maps.save_compliance_map(tmp_path / "map.html", parcels, verdicts, zones, aggregates, inline=True)
    o = opened(html)
    page = o.page
    page.locator(".leaflet-control-layers").get_by_text("按规则着色：亩均效益").click()
    assert page.evaluate("window.mujunMaps[0].state.family") == "per_mu"
    legend = page.inner_text(".mj-legend")
    # per_mu: P1 fail, P2 pass, the rest have no per_mu verdict
    assert "按规则着色：亩均效益" in legend and "不合规 1" in legend and "合规 1" in legend
    page.locator(".leaflet-control-layers").get_by_text("按规则着色：容积率").click()  # one at a time
    assert page.evaluate("window.mujunMaps[0].state.family") == "far"
    checked = page.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".filter(l => l.querySelector('input').checked).map(l => l.textContent.trim())"
    )
    assert "按规则着色：容积率" in checked and "按规则着色：亩均效益" not in checked
    control = page.locator(".leaflet-control-layers")
    control.get_by_text("园区亩均营收（万元/亩）", exact=True).click()
    assert "园区亩均营收（万元/亩）（占目标比例）" in page.inner_text(".mj-legend")
    control.get_by_text("园区亩均营收（万元/亩）", exact=True).click()
    # search
    box = page.get_by_placeholder("搜索宗地编号")
    box.fill("P4")
    box.press("Enter")
    page.wait_for_selector(".leaflet-popup-content .mj-popup")
    assert "缺少计容建筑面积，无法计算容积率" in page.inner_text(".leaflet-popup-content")
    box.fill("NOPE")
    box.press("Enter")
    assert "未找到宗地：NOPE" in page.inner_text(".mj-search")
    page.keyboard.press("Escape")
    page.evaluate("window.mujunMaps[0].map.closePopup()")
    page.evaluate("window.mujunMaps[0].map.fitBounds(window.mujunMaps[0].data.bounds, {animate: false})")
    # hover tooltip over P2
    x, y = page.evaluate(
        """() => { const a = window.mujunMaps[0];
        const c = a.parcels.featureBounds(a.index['P2']).getCenter();
        const p = a.map.latLngToContainerPoint(c); const r = a.map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }"""
    )
    page.mouse.move(x, y)
    page.mouse.move(x + 2, y + 1)
    page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    assert "P2" in page.inner_text(".leaflet-tooltip") and "15 亩" in page.inner_text(".leaflet-tooltip")
    # measure: two clicks 100 px apart
    page.locator(".mj-measure a").click()
    page.mouse.click(x - 150, y + 200)
    page.mouse.click(x - 50, y + 200)
    out = page.inner_text(".mj-measure-out")
    assert out.startswith("距离") and "米" in out
    assert page.locator(".leaflet-popup").count() == 0  # clicks while measuring open no popup
    page.screenshot(path=str(ARTIFACTS / "compliance_controls.png"))
    assert o.errors == [] and o.blocked == []


def test_zone_map_highlights_differences(opened, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from test_zone_proposal import b, layer

    from gis.zone_proposal import compare_zones, propose_zones

    parcels = layer(
        [b(10, 10, 110, 110), b(120, 10, 220, 110), b(500, 500, 600, 600), b(10, 150, 110, 250)],
        parcel_id=["A1", "A2", "C", "G"],
        land_use=["1001", "M1", "100101", "0701"],
    )
    industrial = parcels["land_use"] != "0701"
    parks = layer([b(0, 0, 300, 300)], park_id=["PK1"], name=["测试园区"])
    boundary = layer([b(0, 0, 2000, 1000)])
    proposal = propose_zones(parcels, parks, boundary, is_industrial=industrial)
    existing = {"blue_line": layer([b(0, 140, 120, 260)], zone_id=["B-old"], name=["现状蓝线"])}
    diff = compare_zones(proposal, existing, parcels, industrial)
    m = maps.zone_map(proposal, existing, diff, parcels, industrial, {"parks": parks}, inline=True)
    html = maps.save_map(m, tmp_path / "zones.html")
    o = opened(html)
    assert o.page.evaluate("window.mujunMaps[0].parcels.drawnCount") == 4
    control = o.page.inner_text(".leaflet-control-layers")
    assert "建议红线区（1）" in control and "建议划入但尚未保护（2）" in control
    assert "已保护但已非工业用地（1）" in control
    assert "用地类型" in o.page.inner_text(".mj-legend")
    o.page.screenshot(path=str(ARTIFACTS / "zone_map.png"))
    assert o.errors == [] and o.blocked == []


def test_two_thousand_parcels_all_drawn_and_clickable(opened, tmp_path):
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from maps import grid_parcels  # benchmarks/maps.py

    parcels = grid_parcels(2000)
    html = maps.save_compliance_map(tmp_path / "big.html", parcels, None, None, inline=True)
    o = opened(html)
    assert o.page.evaluate("window.mujunMaps[0].parcels.drawnCount") == 2000
    assert o.page.evaluate("window.mujunReady") < 5000
    o.page.evaluate(
        "const a = window.mujunMaps[0]; "
        "a.map.setView(a.parcels.featureBounds(1234).getCenter(), 17, {animate: false})"
    )
    _click_parcel(o, "P001234")
    assert "宗地 P001234" in o.page.inner_text(".leaflet-popup-content")
    assert o.errors == []
