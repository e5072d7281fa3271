"""Generated maps opened in Debian's headless Chromium with every network request blocked."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_maps import (  # noqa: E402
    DATA_DIR,
    EXPECTED_LAYERS,
    REPR,
    RULE_ID,
    SNAKE,
    legend,
    make_fixture,
    map_inputs,
)

from gis import maps  # noqa: E402
from tests.browser import CHROMIUM, launch, offline_context  # noqa: E402

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
TITLES = {
    "overall": "总体合规状态",
    "far.bounds": "工业用地容积率",
    "zone.park_management": "园区外成板块工业用地纳入园区管理",
    "per_mu.revenue": "园内规上工业企业亩均营收",
    "data.straddles": "跨界宗地",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/setup.sh (APT_PACKAGES has chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


class Opened:
    """A page opened offline, with its console errors, failed and blocked requests."""

    def __init__(self, browser: object, html: Path, viewport: tuple[int, int] = (1200, 800)):
        self.context, self.blocked = offline_context(browser, "file://",
                                                     viewport={"width": viewport[0], "height": viewport[1]})
        self.errors: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(html.resolve().as_uri())
        self.page.wait_for_function("document.documentElement.getAttribute('data-mujun-ready') === '1'", timeout=30000)

    def eval(self, js: str, arg: object = None) -> object:
        return self.page.evaluate(js, arg)

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


def fixture_map(tmp_path: Path, **kw) -> Path:
    return maps.save_compliance_map(tmp_path / "map.html", **map_inputs(), **{"inline": True, **kw})


def _page_point(o: Opened, parcel_id: str, fx: float = 0.5) -> tuple[float, float]:
    """The page pixel at the middle height of a parcel's box, ``fx`` of the way from its west edge."""
    return o.eval(
        """([pid, fx]) => { const a = window.mujunMaps[0]; const b = a.parcels.featureBounds(a.index[pid]);
        const c = L.latLng(b.getCenter().lat, b.getWest() + fx * (b.getEast() - b.getWest()));
        const p = a.map.latLngToContainerPoint(c);
        const r = a.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
        [parcel_id, fx],
    )


def _click_parcel(o: Opened, parcel_id: str) -> None:
    """A real mouse click at the centre of a parcel's box."""
    x, y = _page_point(o, parcel_id)
    o.page.mouse.click(x, y)
    o.page.wait_for_selector(".leaflet-popup-content .mj-popup", timeout=5000)
    o.page.wait_for_timeout(300)  # let the popup fade in before a screenshot


def _legend_lines(o: Opened) -> list[str]:
    return [line.strip() for line in o.page.inner_text(".mj-legend").splitlines() if line.strip()]


def _checked_parcel_layers(o: Opened) -> list[str]:
    return o.eval(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".filter(l => ['overall', 'rule', 'note'].includes(l.dataset.group) && l.querySelector('input').checked)"
        ".map(l => l.textContent.trim())"
    )


def _pixel(o: Opened, parcel_id: str) -> list[int]:
    """RGBA of the active parcel canvas at the centre of a parcel (what the layer drew there)."""
    x, y = _page_point(o, parcel_id)
    return o.eval(
        """([x, y]) => { const c = document.querySelector('canvas.mj-parcels');
        const r = c.getBoundingClientRect(), k = c.width / r.width;
        const px = c.getContext('2d').getImageData(Math.round((x - r.left) * k), Math.round((y - r.top) * k), 1, 1);
        return [...px.data]; }""",
        [x, y],
    )


def _visible_text(o: Opened) -> str:
    """The page's visible text without the small grey rule ids (the one place ids are meant to show)."""
    return o.eval(
        """() => { const ids = [...document.querySelectorAll('.mj-id')];
        ids.forEach(e => e.style.display = 'none'); const text = document.body.innerText;
        ids.forEach(e => e.style.display = ''); return text; }"""
    )


def _bad_words(text: str) -> list[str]:
    return RULE_ID.findall(text) + SNAKE.findall(text) + REPR.findall(text)


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "folder"])
def test_compliance_map_opens_offline_and_shows_verdicts(opened, tmp_path, inline):
    o = opened(fixture_map(tmp_path, inline=inline))
    page = o.page
    assert o.eval("typeof window.L === 'object' && window.L.version") == "1.9.3"
    # every parcel is drawn on the canvas (all six are in view after fitBounds)
    assert o.eval("window.mujunMaps[0].parcels.drawnCount") == 6
    lines = _legend_lines(o)
    assert "总体合规状态" in lines
    assert {"不合规 1", "预警 1", "数据缺失 1", "合规 1", "豁免 1", "不适用 1"} <= set(lines)
    control = page.inner_text(".leaflet-control-layers")
    assert "按规则着色" in control and "工业用地容积率" in control and "工业红线区（1）" in control
    assert "数据提示" in control and "跨界宗地" in control
    assert not page.is_visible(".mj-offline")  # no basemap chosen: nothing to miss
    _click_parcel(o, "P1")
    popup = page.inner_text(".leaflet-popup-content")
    assert "宗地 P1" in popup and "总体：不合规" in popup
    assert "数值：1.00　标准：2.00–4.00" in popup and "容积率 1.00，低于绕城高速以内下限 2.0" in popup
    assert "数值：500.0 万元/亩　标准：≥ 650.0 万元/亩" in popup
    assert "依据：《成都市支持制造业产业功能区提能升级行动计划》四（七）" in popup
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"compliance_{'inline' if inline else 'folder'}.png"))
    assert o.errors == [] and o.blocked == []


def test_each_rule_layer_draws_alone(opened, tmp_path):
    """Ticking a rule layer in the control draws every parcel it has a verdict for, coloured by that rule."""
    o = opened(fixture_map(tmp_path))
    control = o.page.locator(".leaflet-control-layers")
    statuses = o.eval("window.mujunMaps[0].data.statuses")
    colors = o.eval("window.mujunMaps[0].data.colors")
    for key, expected in EXPECTED_LAYERS.items():
        control.get_by_text(TITLES[key], exact=True).click()
        assert o.eval("window.mujunMaps[0].state.layer") == key
        # alone: the overall layer and every other rule layer are off, one parcel canvas on the map
        assert _checked_parcel_layers(o) == [TITLES[key]]
        assert o.eval("window.mujunMaps[0].map.hasLayer(window.mujunMaps[0].parcels)") is False
        assert o.eval("[...document.querySelectorAll('canvas.mj-parcels')].map(c => c.dataset.layer)") == [key]
        drawn_by = o.eval(f"window.mujunMaps[0].layers['{key}'].drawnBy")
        assert {statuses[i]: c for i, c in enumerate(drawn_by) if c} == expected, key
        assert o.eval(f"window.mujunMaps[0].layers['{key}'].drawnCount") == sum(expected.values())
        lines = _legend_lines(o)
        title = ("数据提示：" if key.startswith("data.") else "") + TITLES[key]
        assert f"按规则着色：{title}" in lines
        assert {f"{o.eval('window.mujunMaps[0].data.labels')[s]} {c}" for s, c in expected.items()} <= set(lines)
    # the canvas really holds each rule's colour: P1 fails FAR but passes park management
    for key, status in (("far.bounds", "fail"), ("zone.park_management", "pass"), ("per_mu.revenue", "warn")):
        control.get_by_text(TITLES[key], exact=True).click()
        r, g, b, a = _pixel(o, "P1")
        want = [int(colors[status][i : i + 2], 16) for i in (1, 3, 5)]
        assert max(abs(r - want[0]), abs(g - want[1]), abs(b - want[2])) <= 3 and 190 <= a <= 205, (key, r, g, b, a)
    # unticking the last colouring leaves no parcel drawn, and the legend says how to get them back
    control.get_by_text(TITLES["per_mu.revenue"], exact=True).click()
    assert o.eval("document.querySelectorAll('canvas.mj-parcels').length") == 0
    assert any("未显示宗地" in line for line in _legend_lines(o))
    control.get_by_text("总体合规状态（6 宗）", exact=True).click()
    assert o.eval("window.mujunMaps[0].parcels.drawnCount") == 6
    o.page.screenshot(path=str(ARTIFACTS / "compliance_overall.png"))
    assert o.errors == [] and o.blocked == []


def test_popup_lists_fails_warns_notes_then_the_rest(opened, tmp_path):
    o = opened(fixture_map(tmp_path))
    _click_parcel(o, "P1")
    items = o.eval(
        """() => [...document.querySelector('.mj-verdicts').children].map(e =>
        e.classList.contains('mj-v') ? e.dataset.rule + ':' + e.dataset.status :
        e.classList.contains('mj-group-head') ? 'head:' + e.textContent :
        e.tagName === 'DETAILS' ? 'rest:' + [...e.querySelectorAll('.mj-v')].map(v => v.dataset.rule).join(',') :
        '?')"""
    )
    assert items == [
        "far.bounds:fail",
        "per_mu.revenue:warn",
        "head:数据提示",
        "data.straddles:warn",
        "rest:zone.park_management",
    ]
    first = o.page.locator(".mj-verdicts > .mj-v").first
    assert first.locator(".mj-v-title").inner_text() == "工业用地容积率"
    assert first.locator(".mj-id").inner_text() == "far.bounds"  # the id follows the name, small and grey
    assert first.locator(".mj-code").inner_text() == "低于下限"
    assert o.eval("getComputedStyle(document.querySelector('.mj-id')).color") == "rgb(153, 153, 153)"
    summary = o.page.locator(".mj-rest > summary")
    assert summary.inner_text() == "其余 1 条（合规 1）"
    assert not o.page.locator(".mj-rest .mj-v").first.is_visible()  # collapsed until asked for
    summary.click()
    assert o.page.locator(".mj-rest .mj-v").first.is_visible()
    o.page.screenshot(path=str(ARTIFACTS / "compliance_popup.png"))
    o.eval("window.mujunMaps[0].map.closePopup()")
    # P5 (its box centre is its hole): the exemption is shown, its two n/a verdicts collapsed
    o.eval("window.mujunMaps[0].openParcel(window.mujunMaps[0].index['P5'])")
    assert o.page.locator(".mj-verdicts > .mj-v").evaluate_all("vs => vs.map(v => v.dataset.status)") == ["exempt"]
    assert o.page.locator(".mj-rest > summary").inner_text() == "其余 2 条（不适用 2）"
    o.eval("window.mujunMaps[0].map.closePopup()")
    _click_parcel(o, "P6")  # residential: nothing applies
    popup = o.page.inner_text(".leaflet-popup-content")
    assert "总体：不适用" in popup and "没有不合规、预警或数据缺失的规则" in popup and "其余 3 条（不适用 3）" in popup
    assert o.errors == [] and o.blocked == []


def _scan_map(o: Opened, parcel_ids: list[str]) -> list[str]:
    """Open every layer's legend, each parcel's popup (the rest expanded) and tooltip; the bad words seen."""
    bad: list[str] = []
    for key in o.eval("window.mujunMaps[0].data.layers.map(l => l.key)"):
        o.eval("(k) => window.mujunMaps[0].setLayer(k)", key)
        bad += _bad_words(_visible_text(o))
    o.eval("window.mujunMaps[0].setLayer('overall')")
    o.page.locator(".leaflet-control-layers-overlays label").filter(has_text="园区：").first.click()
    for pid in parcel_ids:
        o.eval(
            "(p) => { const a = window.mujunMaps[0]; a.map.setView(a.parcels.featureBounds(a.index[p]).getCenter(), 17,"
            " {animate: false}); a.openParcel(a.index[p]); }",
            pid,
        )
        o.eval("document.querySelectorAll('.mj-rest').forEach(d => d.open = true)")
        bad += _bad_words(_visible_text(o))
        o.eval("window.mujunMaps[0].map.closePopup()")
        x, y = _page_point(o, pid, 0.2)  # off the centre: a parcel may have a hole there
        o.page.mouse.move(x, y)
        o.page.mouse.move(x + 1, y + 1)
        o.page.wait_for_selector(".mj-tip", state="visible", timeout=5000)
        bad += _bad_words(_visible_text(o))
    return bad


def test_visible_text_has_no_rule_ids_keys_or_reprs(opened, tmp_path):
    o = opened(fixture_map(tmp_path))
    assert _scan_map(o, ["P1", "P2", "P3", "P4", "P5", "P6"]) == []
    assert o.errors == [] and o.blocked == []


@pytest.fixture(scope="module")
def sample_map(tmp_path_factory) -> Path:
    """The sample data evaluated with chengdu-2023, mapped as `mujun map` and the web app do."""
    if not (DATA_DIR / "parcels.gpkg").exists():
        pytest.skip("sample data not generated")
    from api.cli_maps import map_args
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    inputs = load_inputs(
        DATA_DIR / "parcels.gpkg",
        enterprises=DATA_DIR / "enterprises.csv",
        occupancy=DATA_DIR / "occupancy.csv",
        zones=DATA_DIR / "zones.gpkg",
        land_supply=DATA_DIR / "land_supply.csv",
    )
    rs = load_ruleset("chengdu-2023")
    result = evaluate(inputs, rs, dt.date(2025, 6, 30))
    path = tmp_path_factory.mktemp("sample") / "sample.html"
    return maps.save_compliance_map(path, **map_args(result, rs), inline=True)


def test_sample_map_text_has_no_rule_ids_keys_or_reprs(opened, sample_map):
    o = opened(sample_map)
    # one parcel of each overall status that occurs (the first in file order)
    ids = o.eval(
        """() => { const a = window.mujunMaps[0], st = a.data.parcels.st.overall, seen = {}, out = [];
        for (let i = 0; i < st.length; i++) {
          const c = st.charCodeAt(i); if (!seen[c]) { seen[c] = 1; out.push(a.data.parcels.ids[i]); } }
        return out; }"""
    )
    assert len(ids) >= 4
    assert _scan_map(o, ids) == []
    assert o.errors == [] and o.blocked == []


def test_first_view_fits_every_parcel(opened, tmp_path):
    parcels, verdicts, zones, aggregates = make_fixture()
    # spread the parcels over 30 km × 20 km: P4 20 km north, P6 30 km east
    for pid, dx, dy in (("P4", 0, 20_000), ("P6", 30_000, 0)):
        at = parcels["parcel_id"] == pid
        parcels.loc[at, "geometry"] = parcels.loc[at].translate(dx, dy)
    html = maps.save_compliance_map(tmp_path / "wide.html", parcels, verdicts, legend=legend(), inline=True)
    for viewport in ((1200, 800), (640, 900)):
        o = opened(html, viewport=viewport)
        inside = o.eval(
            """() => { const a = window.mujunMaps[0], view = a.map.getBounds();
            return a.data.parcels.ids.map((id, i) => view.contains(a.parcels.featureBounds(i))); }"""
        )
        assert inside == [True] * 6, viewport
        # and the fit is tight: the parcels span at least a third of the narrower side of the view
        span = o.eval(
            """() => { const a = window.mujunMaps[0], m = a.map, b = L.latLngBounds(a.data.bounds);
            const p = m.latLngToContainerPoint(b.getNorthEast()), q = m.latLngToContainerPoint(b.getSouthWest());
            const s = m.getSize(); return Math.max((p.x - q.x) / s.x, (q.y - p.y) / s.y); }"""
        )
        assert span > 0.6, (viewport, span)
        assert o.eval("window.mujunMaps[0].parcels.drawnCount") == 6


def test_tooltips_stay_on_screen_near_every_edge(opened, tmp_path):
    o = opened(fixture_map(tmp_path), viewport=(640, 420))
    # a small map keeps the long layer list folded behind its button, so the parcels stay readable
    assert o.page.locator(".leaflet-control-layers-expanded").count() == 0
    size = o.eval("(() => { const s = window.mujunMaps[0].map.getSize(); return [s.x, s.y]; })()")
    for cx, cy in ((8, 8), (size[0] - 8, 8), (8, size[1] - 8), (size[0] - 8, size[1] - 8)):
        # bring P1's centre to (cx, cy), then hover there
        o.eval(
            """([cx, cy]) => { const a = window.mujunMaps[0], m = a.map;
            m.setView(a.parcels.featureBounds(a.index['P1']).getCenter(), 18, {animate: false});
            const s = m.getSize(); m.panBy([s.x / 2 - cx, s.y / 2 - cy], {animate: false}); }""",
            [cx, cy],
        )
        box = o.eval("window.mujunMaps[0].map.getContainer().getBoundingClientRect().toJSON()")
        o.page.mouse.move(box["left"] + cx, box["top"] + cy)
        o.page.mouse.move(box["left"] + cx + 1, box["top"] + cy)
        o.page.wait_for_selector(".mj-tip", state="visible", timeout=5000)
        tip = o.eval("document.querySelector('.mj-tip').getBoundingClientRect().toJSON()")
        assert "P1" in o.page.inner_text(".mj-tip")
        assert tip["left"] >= box["left"] and tip["right"] <= box["right"], (cx, cy, tip)
        assert tip["top"] >= box["top"] and tip["bottom"] <= box["bottom"], (cx, cy, tip)
        # the tooltip never covers the point being read
        assert not (tip["left"] <= box["left"] + cx <= tip["right"] and tip["top"] <= box["top"] + cy <= tip["bottom"])
    assert o.errors == [] and o.blocked == []


def test_basemap_without_internet_says_so(opened, tmp_path):
    o = opened(fixture_map(tmp_path, basemap="osm"))
    o.page.wait_for_selector(".mj-offline", state="visible", timeout=10000)
    assert o.page.inner_text(".mj-offline") == "离线，底图不可用"
    assert o.blocked and all(u.startswith("https://tile.openstreetmap.org/") for u in o.blocked)
    assert all("Failed to load resource" in e for e in o.errors), o.errors
    o.page.screenshot(path=str(ARTIFACTS / "compliance_offline_basemap.png"))
    control = o.page.locator(".leaflet-control-layers")
    control.get_by_text("无底图（离线）").click()
    assert not o.page.is_visible(".mj-offline")
    control.get_by_text("OpenStreetMap").click()
    o.page.wait_for_selector(".mj-offline", state="visible", timeout=10000)
    assert o.eval("window.mujunMaps[0].parcels.drawnCount") == 6  # the parcels are still there


def test_layer_control_search_tooltip_and_measure(opened, tmp_path):
    o = opened(fixture_map(tmp_path))
    page = o.page
    control = page.locator(".leaflet-control-layers")
    control.get_by_text(TITLES["per_mu.revenue"], exact=True).click()
    assert o.eval("window.mujunMaps[0].state.layer") == "per_mu.revenue"
    lines = _legend_lines(o)
    # per_mu.revenue: P1 warn (below the 2025 target), P2 pass, P3..P6 not applicable
    assert "按规则着色：园内规上工业企业亩均营收" in lines and {"预警 1", "合规 1", "不适用 4"} <= set(lines)
    control.get_by_text(TITLES["far.bounds"], exact=True).click()  # one colouring at a time
    assert o.eval("window.mujunMaps[0].state.layer") == "far.bounds"
    assert _checked_parcel_layers(o) == ["工业用地容积率"]
    control.get_by_text("园区：园区规上工业亩均效益（亩均营收）", exact=True).click()
    assert "园区：园区规上工业亩均效益（亩均营收）" in _legend_lines(o)
    control.get_by_text("园区：园区规上工业亩均效益（亩均营收）", exact=True).click()
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
    o.eval("window.mujunMaps[0].map.closePopup()")
    page.wait_for_selector(".leaflet-popup", state="detached")  # the search's popup gone before measuring
    o.eval("window.mujunMaps[0].map.fitBounds(window.mujunMaps[0].data.bounds, {animate: false})")
    # hover tooltip over P2: its area and its status in the layer shown
    x, y = _page_point(o, "P2")
    page.mouse.move(x, y)
    page.mouse.move(x + 2, y + 1)
    page.wait_for_selector(".mj-tip", state="visible", timeout=5000)
    tip = page.inner_text(".mj-tip")
    assert "P2" in tip and "15 亩" in tip and "工业用地容积率：● 合规" in tip
    # measure: two clicks 100 px apart
    page.locator(".mj-measure a").click()
    page.mouse.click(x - 150, y + 200)
    page.mouse.click(x - 50, y + 200)
    out = page.inner_text(".mj-measure-out")
    assert out.startswith("距离") and "米" in out
    assert page.locator(".leaflet-popup").count() == 0  # clicks while measuring open no popup
    assert re.fullmatch(r"\d+ (米|公里)", page.inner_text(".leaflet-control-scale-line"))
    page.screenshot(path=str(ARTIFACTS / "compliance_controls.png"))
    assert o.errors == [] and o.blocked == []


def test_zone_map_highlights_differences(opened, tmp_path):
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
    assert o.eval("window.mujunMaps[0].parcels.drawnCount") == 4
    control = o.page.inner_text(".leaflet-control-layers")
    assert "建议红线区（1）" in control and "建议划入但尚未保护（2）" in control
    assert "已保护但已非工业用地（1）" in control
    lines = _legend_lines(o)
    assert "用地类型" in lines and {"工业用地 3", "非工业用地 1"} <= set(lines)
    o.page.screenshot(path=str(ARTIFACTS / "zone_map.png"))
    assert o.errors == [] and o.blocked == []


def test_two_thousand_parcels_all_drawn_and_clickable(opened, tmp_path):
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from maps import grid_parcels  # benchmarks/maps.py

    parcels = grid_parcels(2000)
    html = maps.save_compliance_map(tmp_path / "big.html", parcels, legend=legend(), inline=True)
    o = opened(html)
    assert o.eval("window.mujunMaps[0].parcels.drawnCount") == 2000
    assert o.eval("window.mujunReady") < 5000
    o.eval(
        "const a = window.mujunMaps[0]; a.map.setView(a.parcels.featureBounds(1234).getCenter(), 17, {animate: false})"
    )
    _click_parcel(o, "P001234")
    assert "宗地 P001234" in o.page.inner_text(".leaflet-popup-content")
    assert o.errors == []
