"""Many clients at once on a live server (issue 9): no server error, and every answer the one a lone client gets.

Before the fix, 24 concurrent readers each held one pooled connection in the route and waited for a second
one for the token lookup: the 8 + 8 pool ran dry and every request waited 30 s and returned 500. Bounded:
127.0.0.1 only, 40 readers for 4 s, 8 checks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import httpx
import numpy as np
import pytest
import shapely

from tests.conftest import DATA_DIR, SAMPLE_AS_OF

READERS = 40
SECONDS = 4.0


def _boxes(count: int) -> list[str]:
    """CRS84 boxes 300 m – 5 km a side centred on sample parcels spread over the dataset."""
    import geopandas as gpd
    from pyproj import Transformer

    parcels = gpd.read_file(DATA_DIR / "parcels.gpkg", columns=["parcel_id"]).to_crs("EPSG:4544")
    pick = parcels.geometry.iloc[np.linspace(0, len(parcels) - 1, count).astype(int)].representative_point()
    half = np.resize([200.0, 800.0, 2500.0], count)  # small, middling and large (full pages) boxes
    to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
    x0, y0 = to84.transform(pick.x.to_numpy() - half, pick.y.to_numpy() - half)
    x1, y1 = to84.transform(pick.x.to_numpy() + half, pick.y.to_numpy() + half)
    return [",".join(f"{v:.7f}" for v in b) for b in zip(x0, y0, x1, y1, strict=True)]


def _ids(body: dict) -> list[str]:
    return [f["id"] for f in body["features"]]


def test_concurrent_readers_get_no_server_error_and_the_same_answers(live_server, sample, tokens):
    """40 readers with a token, back to back for 4 s on bbox pages of the sample dataset: every answer is 200
    and equals what one client got for the same box before (ids, numberMatched); each reader got answers."""
    root = f"{live_server}/datasets/{sample['dataset']}/ogc"
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    boxes = _boxes(12)
    with httpx.Client(timeout=30, headers=auth) as c:
        expected = {}
        for b in boxes:
            body = c.get(f"{root}/collections/parcels/items", params={"bbox": b, "limit": 100}).json()
            expected[b] = (_ids(body), body["numberMatched"])
    assert sum(1 for ids, _ in expected.values() if ids) >= 10  # the boxes do hit parcels
    assert any(n > 100 for _, n in expected.values())  # and some pages are full (numberMatched counted)

    async def load() -> tuple[Counter, list[str], Counter]:
        statuses: Counter = Counter()
        per_reader: Counter = Counter()
        wrong: list[str] = []
        limits = httpx.Limits(max_connections=READERS, max_keepalive_connections=READERS)
        async with httpx.AsyncClient(timeout=25, headers=auth, limits=limits) as client:
            stop = time.monotonic() + SECONDS

            async def reader(i: int) -> None:
                k = i
                while time.monotonic() < stop:
                    b = boxes[k % len(boxes)]
                    k += 1
                    r = await client.get(f"{root}/collections/parcels/items", params={"bbox": b, "limit": 100})
                    statuses[r.status_code] += 1
                    per_reader[i] += 1
                    if r.status_code == 200:
                        body = r.json()
                        if (_ids(body), body["numberMatched"]) != expected[b]:
                            wrong.append(b)

            await asyncio.gather(*(reader(i) for i in range(READERS)))
        return statuses, wrong, per_reader

    statuses, wrong, per_reader = asyncio.run(load())
    assert set(statuses) == {200}, statuses
    assert wrong == []
    assert len(per_reader) == READERS and min(per_reader.values()) >= 1


def test_number_matched_at_the_end_of_the_matches(client, sample):
    """numberMatched is counted for full pages and read off short ones: both give the same total.

    A box around the whole sample matches all 1,800 parcels: a full page of 100 at offset 0, a short page
    of 2 at offset 1,798, and an empty page past the end all report 1,800.
    """
    h = client.as_role("viewer")
    url = f"/datasets/{sample['dataset']}/ogc/collections/parcels/items"
    everything = "100,25,110,35"  # the sample lies around 103.6–104.5°E, 30.3–31.0°N
    pages = {off: client.get(url, params={"bbox": everything, "limit": 100, "offset": off}, headers=h).json()
             for off in (0, 1798, 1900)}
    assert [pages[o]["numberReturned"] for o in (0, 1798, 1900)] == [100, 2, 0]
    assert {pages[o]["numberMatched"] for o in pages} == {1800}
    assert "next" not in {link["rel"] for link in pages[1798]["links"]}


def test_concurrent_checks_agree(live_server, sample, tokens):
    """8 simultaneous POST /check of one parcel (with a firm to grade) all answer 200 with the same body as a
    lone request: the rule set, zone layers and grading kept between requests are shared, not mixed up."""
    from pyproj import Transformer

    to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
    import geopandas as gpd

    ring = gpd.read_file(DATA_DIR / "zones.gpkg", layer="ring").to_crs("EPSG:4544").geometry.union_all()
    c = ring.representative_point()
    geom = shapely.transform(shapely.box(c.x - 50, c.y - 50, c.x + 50, c.y + 50),
                             lambda xy: np.column_stack(to84.transform(xy[:, 0], xy[:, 1])))
    body = {"feature": {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
                        "properties": {"parcel_id": "C-1", "land_use": "1001", "floor_area_m2": 5000,
                                       "status": "built"}},
            "as_of": SAMPLE_AS_OF.isoformat(), "dataset": sample["dataset"],
            "enterprise": {"enterprise_id": "C-FIRM", "revenue_10k": 12000, "tax_10k": 600}}
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    lone = httpx.post(f"{live_server}/check", json=body, headers=auth, timeout=60)
    assert lone.status_code == 200, lone.text
    # 5000 m² on 1 ha inside the ring: FAR 0.5 < 2.0, so far.bounds fails whatever else is shared.
    assert "far.bounds" in lone.json()["failing_rules"]

    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120, headers=auth) as client:
            return await asyncio.gather(*(client.post(f"{live_server}/check", json=body) for _ in range(8)))

    answers = asyncio.run(many())
    assert [r.status_code for r in answers] == [200] * 8
    assert all(r.json() == lone.json() for r in answers)


@pytest.mark.parametrize("dataset", [2**31 - 1])
def test_check_names_a_missing_dataset(client, dataset):
    """A dataset id that does not exist is a 404 naming it, not a check without zones (200)."""
    feature = {"type": "Feature", "properties": {"parcel_id": "X", "land_use": "1001"},
               "geometry": {"type": "Polygon", "coordinates": [[[104.0, 30.6], [104.001, 30.6], [104.001, 30.601],
                                                               [104.0, 30.6]]]}}
    r = client.post("/check", json={"feature": feature, "dataset": dataset}, headers=client.as_role("viewer"))
    assert r.status_code == 404, r.text
    assert str(dataset) in r.json()["message"]


def test_mujun_serve_answers_and_stops_on_sigterm(tmp_path):
    """``mujun serve --threads 4`` on a fresh SpatiaLite store: answers (401 without a token, an empty list of
    collections with one), and SIGTERM shuts it down gracefully within 20 s: uvicorn finishes the application's
    shutdown, then re-raises the signal, so the exit status is the signal's; no traceback."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from api.settings import Settings
    from api.store.engine import dispose_engine, get_engine
    from api.store.repository import add_user
    from tests.conftest import free_port

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'mujun.sqlite'}", data_dir=tmp_path)
    with get_engine(settings).begin() as conn:
        token = add_user(conn, "serve-test", "viewer")
    dispose_engine(settings)
    port = free_port()
    env = {**os.environ, "MUJUN_DATABASE_URL": settings.database_url, "MUJUN_DATA_DIR": str(tmp_path),
           "MUJUN_ALLOW_ANONYMOUS_READ": "false"}
    mujun = Path(sys.executable).with_name("mujun")
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([str(mujun), "serve", "--port", str(port), "--threads", "4"], env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                first = httpx.get(f"http://127.0.0.1:{port}/collections", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        assert first.status_code == 401
        r = httpx.get(f"http://127.0.0.1:{port}/collections", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["collections"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    text = log.read_text()
    assert code == -signal.SIGTERM and "Application shutdown complete" in text, text
    assert "Traceback" not in text
