"""Vector tiles of the OGC collections on both stores, decoded with ``mapbox_vector_tile``; the tiled web map in
headless Chromium (offline). Real app, real SpatiaLite and PostGIS, the sample data evaluated."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import shape

from tests.browser import CHROMIUM, launch, offline_context
from tests.conftest import serving

TILE = "/collections/{cid}/tiles/WebMercatorQuad/{z}/{x}/{y}"
MVT = "application/vnd.mapbox-vector-tile"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, float, float]:
    """The WebMercatorQuad tile holding (lon, lat) at zoom ``z`` and the point's position in it in MVT grid units
    (0–4096, y down), by the textbook formulas: x = (lon + 180) / 360 · 2^z, y = (1 − asinh(tan φ) / π) / 2 · 2^z."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    fy = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return int(fx), int(fy), (fx - int(fx)) * 4096, (fy - int(fy)) * 4096


def _decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


@pytest.fixture(scope="module")
def parcel(client, sample) -> dict:
    """A flagged parcel of the sample run, as the OGC items route gives it (status and st_* of the run)."""
    h = client.as_role("viewer")
    # under the dataset's own root: the bare /collections root serves the newest dataset, which other tests may add
    r = client.get(f"/datasets/{sample['dataset']}/ogc/collections/parcels/items",
                   params={"status": "fail", "limit": 1, "run": sample["run"]}, headers=h)
    assert r.status_code == 200
    return r.json()["features"][0]


def test_a_tile_over_a_parcel_holds_it_with_its_statuses_where_it_lies(client, sample, parcel):
    h = client.as_role("viewer")
    point = shape(parcel["geometry"]).representative_point()  # inside the parcel, in CRS84
    z = 17
    x, y, px, py = tile_of(point.x, point.y, z)
    r = client.get(TILE.format(cid="parcels", z=z, x=x, y=y), params={"run": sample["run"]}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == MVT
    layer = _decode(r.content)["parcels"]
    found = [f for f in layer["features"] if f["properties"]["parcel_id"] == parcel["id"]]
    assert len(found) == 1
    props = found[0]["properties"]
    assert props["status"] == parcel["properties"]["status"] == "fail"
    rule_cols = [k for k in parcel["properties"] if k.startswith("st_")]
    assert rule_cols and {k: props.get(k) for k in rule_cols} == {k: parcel["properties"][k] for k in rule_cols}
    # drawn where it is: the point inside the parcel is inside the tile's polygon (grid units; 2 units of rounding)
    assert shape(found[0]["geometry"]).buffer(2).contains(shapely.Point(px, py))
    # every feature of the tile touches the tile (plus its 64-unit buffer)
    box = shapely.box(-64, -64, 4160, 4160)
    assert all(shape(f["geometry"]).intersects(box) for f in layer["features"])


def test_same_tile_from_the_dataset_root_and_by_default_the_latest_run(client, sample, parcel):
    h = client.as_role("viewer")
    point = shape(parcel["geometry"]).representative_point()
    x, y, _, _ = tile_of(point.x, point.y, 15)
    path = TILE.format(cid="parcels", z=15, x=x, y=y)
    pinned = client.get(path, params={"run": sample["run"]}, headers=h)
    per_dataset = client.get(f"/datasets/{sample['dataset']}/ogc{path}", params={"run": sample["run"]}, headers=h)
    assert pinned.status_code == per_dataset.status_code == 200

    def by_id(data: bytes) -> dict:
        return {f["properties"]["parcel_id"]: f["properties"] for f in _decode(data)["parcels"]["features"]}

    assert by_id(pinned.content) == by_id(per_dataset.content) and parcel["id"] in by_id(pinned.content)
    latest = client.get(path, params={"dataset": sample["dataset"]}, headers=h)
    assert latest.status_code == 200
    # without ?run the dataset's newest finished run (other tests may have evaluated the sample again)
    runs = client.get("/evaluations", params={"dataset": sample["dataset"]}, headers=h).json()["evaluations"]
    newest = max(r["id"] for r in runs if r["status"] == "done")
    assert latest.headers["etag"] == pinned.headers["etag"].replace(f"-r{sample['run']}-", f"-r{newest}-")
    assert "no-cache" in latest.headers["cache-control"] and "max-age=86400" in pinned.headers["cache-control"]


def test_far_away_tiles_are_empty_and_bad_addresses_are_400(client, sample):
    h = client.as_role("viewer")
    root = f"/datasets/{sample['dataset']}/ogc"  # the sample's collections (it has an enterprise table)
    x, y, _, _ = tile_of(0.0, 0.0, 10)  # the Gulf of Guinea: no Chengdu parcel there
    r = client.get(root + TILE.format(cid="parcels", z=10, x=x, y=y), headers=h)
    assert r.status_code == 204 and r.content == b""
    for z, x, y, word in ((25, 0, 0, "z=25"), (3, 8, 0, "x=8"), (3, 0, -1, "y=-1"), (0, 0, 1, "y=1")):
        r = client.get(root + TILE.format(cid="parcels", z=z, x=x, y=y), headers=h)
        assert r.status_code == 400, (z, x, y)
        assert r.json()["code"] == "invalid_tile" and word in r.json()["message"] and "超出范围" in r.json()["message"]
    r = client.get(root + TILE.format(cid="enterprises", z=10, x=0, y=0), headers=h)
    assert r.status_code == 404 and "不提供矢量瓦片" in r.json()["message"]
    r = client.get(TILE.format(cid="parcels", z=10, x=0, y=0), params={"run": 987654}, headers=h)
    assert r.status_code == 404


def test_tiles_need_the_same_auth_as_items_and_are_revalidated_by_etag(client, sample, parcel):
    point = shape(parcel["geometry"]).representative_point()
    x, y, _, _ = tile_of(point.x, point.y, 15)
    path = TILE.format(cid="parcels", z=15, x=x, y=y)
    assert client.get(path).status_code == client.get("/collections/parcels/items").status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    h = client.as_role("viewer")
    first = client.get(path, params={"run": sample["run"]}, headers=h)
    etag = first.headers["etag"]
    assert f"r{sample['run']}" in etag and f"d{sample['dataset']}" in etag and f"-15-{x}-{y}" in etag
    again = client.get(path, params={"run": sample["run"]}, headers={**h, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = client.get(TILE.format(cid="parcels", z=15, x=x + 1, y=y), params={"run": sample["run"]}, headers=h)
    assert other.headers["etag"] != etag


def test_zone_layer_tiles(client, sample):
    h = client.as_role("viewer")
    root = f"/datasets/{sample['dataset']}/ogc"
    park = client.get(root + "/collections/zone_parks/items", params={"limit": 1}, headers=h).json()["features"][0]
    point = shape(park["geometry"]).representative_point()
    x, y, px, py = tile_of(point.x, point.y, 14)
    r = client.get(root + TILE.format(cid="zone_parks", z=14, x=x, y=y), headers=h)
    assert r.status_code == 200
    layer = _decode(r.content)["zone_parks"]
    found = [f for f in layer["features"] if f["properties"]["zone_id"] == park["properties"]["zone_id"]]
    assert found and found[0]["properties"]["layer"] == "parks"
    assert any(shape(f["geometry"]).buffer(2).contains(shapely.Point(px, py)) for f in found)


def test_small_parcels_are_left_out_at_small_scales_only():
    from api.store.tiles import min_area_m2

    # zoom 10: a 256-pixel tile is 2·20037508.34 / 2^10 / 256 = 152.87 Web Mercator m a pixel, × cos 30° =
    # 132.39 ground m; a quarter of that pixel is 132.39² / 4 ≈ 4382 m²
    assert min_area_m2(10) == pytest.approx(4382, abs=1)
    assert min_area_m2(11) == pytest.approx(4382 / 4, abs=1)
    assert min_area_m2(14) == 0.0


# --- the web map ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def viewer_cookie(client, tokens) -> dict[str, str]:
    r = client.post("/web/login", data={"token": tokens["viewer"]}, follow_redirects=False)
    assert r.status_code == 303
    cookie = {"Cookie": f"mujun_session={r.cookies['mujun_session']}"}
    client.cookies.clear()
    return cookie


def test_web_tiles_and_verdicts_for_the_signed_in_planner(client, sample, parcel, viewer_cookie):
    point = shape(parcel["geometry"]).representative_point()
    x, y, _, _ = tile_of(point.x, point.y, 15)
    web = f"/web/runs/{sample['run']}/tiles/parcels/15/{x}/{y}"
    assert client.get(web, follow_redirects=False).status_code == 303  # signed out: to the sign-in page
    r = client.get(web, headers=viewer_cookie)
    api = client.get(TILE.format(cid="parcels", z=15, x=x, y=y), params={"run": sample["run"]},
                     headers=client.as_role("viewer"))
    assert r.status_code == 200 and r.content == api.content and r.headers["etag"] == api.headers["etag"]
    v = client.get(f"/web/runs/{sample['run']}/parcels/{parcel['id']}/verdicts.json", headers=viewer_cookie)
    assert v.status_code == 200
    body = v.json()
    listed = client.get(f"/evaluations/{sample['run']}/verdicts", params={"level": "parcel", "subject": parcel["id"]},
                        headers=client.as_role("viewer")).json()
    assert len(body["rules"]) + len(body["notes"]) == listed["numberMatched"] > 0
    assert any(row["status"] == "fail" and row["title"] and row["title"] != "规则" for row in body["rules"])
    missing = client.get(f"/web/runs/{sample['run']}/parcels/NO-SUCH/verdicts.json", headers=viewer_cookie)
    assert missing.status_code == 404
    page = client.get(f"/web/runs/{sample['run']}/tiled-map", headers=viewer_cookie)
    assert page.status_code == 200 and "Leaflet.VectorGrid.bundled.min.js" in page.text and "总体合规状态" in page.text


@pytest.fixture(scope="module")
def browser_page(store, tokens) -> Iterator[tuple[object, list[str], str]]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/setup.sh (APT_PACKAGES has chromium)")
    from playwright.sync_api import sync_playwright

    from api.app import create_app

    with serving(create_app(store.settings)) as base, sync_playwright() as p:
        browser = launch(p)
        context, blocked = offline_context(browser, base, viewport={"width": 1000, "height": 700}, locale="zh-CN")
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(f"{base}/web/login")
        page.fill("#token", tokens["viewer"])
        page.click("#login-submit")
        page.wait_for_url(f"{base}/web/")
        yield page, blocked, base
        context.close()
        browser.close()


@pytest.mark.browser
def test_the_tiled_map_draws_parcels_offline_and_shows_verdicts_on_click(browser_page, sample, parcel):
    page, blocked, base = browser_page
    page.goto(f"{base}/web/runs/{sample['run']}/tiled-map")
    page.wait_for_function("window.mujunTiles && window.mujunTiles.firstLoadMs !== null", timeout=60_000)
    state = page.evaluate("({styled: mujunTiles.styled, tiles: mujunTiles.tilesLoaded})")
    assert state["tiles"] > 0 and state["styled"] > 0  # features were styled, i.e. drawn, from the tiles
    canvases = page.locator(".leaflet-tile-container canvas")
    assert canvases.count() > 0
    # the canvases hold colour: some pixel of a drawn tile has the overall-status fill of a flagged parcel
    from rules.vocabulary import STATUS_COLORS, STATUS_LABELS

    colors = page.evaluate("""() => { const seen = new Set();
        document.querySelectorAll('.leaflet-tile-container canvas').forEach(c => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < d.length; i += 4 * 7) { if (d[i + 3] > 180) seen.add(
            '#' + [d[i], d[i + 1], d[i + 2]].map(v => v.toString(16).padStart(2, '0')).join('')); } });
        return Array.from(seen); }""")

    def near(a: str, b: str) -> bool:
        return all(abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)) <= 4 for i in (1, 3, 5))

    # parcel fills are the vocabulary's colours (a fail parcel is in the sample run: its red is drawn)
    assert any(near(c, STATUS_COLORS["fail"]) for c in colors), colors[:20]
    # a rule selected: tiles drawn again (from the browser cache) with that rule's statuses
    page.select_option("#tiled-rule", index=1)
    page.wait_for_function("mujunTiles.styled > 0", timeout=30_000)
    # a click on a drawn parcel opens the popup with its verdicts in Chinese
    page.select_option("#tiled-rule", "status")
    point = shape(parcel["geometry"]).representative_point()
    page.evaluate("""([lat, lon]) => new Promise(res => { mujunTiles.parcels.once('load', res);
        mujunTiles.map.setView([lat, lon], 17, {animate: false}); })""", [point.y, point.x])
    at = page.evaluate("([lat, lon]) => mujunTiles.map.latLngToContainerPoint([lat, lon])", [point.y, point.x])
    box = page.locator("#tiled-map").bounding_box()
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
    page.wait_for_selector(".mj-popup table tr", timeout=10_000)
    text = page.inner_text(".mj-popup")
    assert f"宗地 {parcel['id']}" in text and STATUS_LABELS["fail"] in text  # the flagged parcel, in Chinese
    legend = page.inner_text("#tiled-legend")
    assert all(label in legend for label in STATUS_LABELS.values())
    assert not blocked and not page.errors, (blocked, page.errors)
